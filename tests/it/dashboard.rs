//! The dashboard as a stack resource: plan and apply create it (global to the account, written
//! through the SSM home region), show drift made outside widget by widget (a reformatted body is
//! no drift), repair it, keep the one dashboard when the home region moves, and delete it with
//! its section; checked in the emulator with the SDK.

use crate::common::*;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use serde_json::{Value, json};

const R1: &str = "ap-southeast-2";
const R2: &str = "eu-north-1";

fn name(env: &str) -> String {
    format!("{PROJECT}-ssm-backup-{env}")
}

/// The live body, `None` when there is no such dashboard (read through `region`).
async fn body(region: &str, name: &str) -> Option<Value> {
    match cloudwatch(region)
        .await
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
    {
        Ok(out) => Some(serde_json::from_str(out.dashboard_body().unwrap()).unwrap()),
        Err(e) if e.code() == Some("ResourceNotFound") => None,
        Err(e) => panic!("{e:?}"),
    }
}

async fn put_body(name: &str, text: String) {
    cloudwatch(R2)
        .await
        .put_dashboard()
        .dashboard_name(name)
        .dashboard_body(text)
        .send()
        .await
        .unwrap();
}

fn stack(ws: &Workspace, home: &str, dashboard: &str) {
    ws.write_raw(
        &ws.env,
        &format!(
            "projectName: {PROJECT}\nenvironment: {env}\nregions:\n  - {R1}\n  - {R2}\ndefaultRegion: {R1}\nssmHomeRegion: {home}\nalarm:\n  snsTopicArn: arn:aws:sns:{home}:{ACCOUNT}:ops\n  maxAgeHours: 26\n  drillMaxAgeDays: 7\n{dashboard}",
            env = ws.env
        ),
    );
}

#[tokio::test]
async fn a_dashboard_is_created_repaired_moved_and_removed_with_its_section() {
    let env = "dash1";
    let ws = Workspace::new(env, &[R1, R2], R1);
    let name = name(env);

    // Without the section: nothing of a dashboard is planned.
    stack(&ws, R1, "");
    let plan = ws.plan_json(2);
    assert!(
        !changes(&plan).iter().any(|c| c.1 == "dashboard"),
        "{plan:#}"
    );

    stack(&ws, R1, "dashboard: {rangeDays: 7}\n");
    let plan = ws.plan_json(2);
    assert!(
        changes(&plan).contains(&change("create", "dashboard", &name, &[])),
        "{plan:#}"
    );
    let text = ws.run(&["plan", "--stack", env]);
    assert!(
        text.stdout
            .contains(&format!("+ create dashboard {name} ({R1})")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("dashboard-widgets: Hours since the last successful backup, Alarms, "),
        "{}",
        text.stdout
    );
    ws.apply();
    assert_eq!(ws.plan_json(0)["changes"], json!([]));
    // Global: read through the other region, the one dashboard.
    let live = body(R2, &name).await.expect("the dashboard");
    assert_eq!(live["start"], "-P7D");
    let widgets = live["widgets"].as_array().unwrap();
    assert_eq!(widgets.len(), 7);
    assert_eq!(widgets[0]["properties"]["region"], R1);
    assert_eq!(
        widgets[1]["properties"]["alarms"][0],
        format!("arn:aws:cloudwatch:{R1}:{ACCOUNT}:alarm:{name}/{R1}")
    );

    // Rewritten outside with its keys in another order and other whitespace: no change.
    let mut reordered = serde_json::Map::new();
    for key in ["widgets", "periodOverride", "start"] {
        reordered.insert(key.to_string(), live[key].clone());
    }
    put_body(&name, serde_json::to_string_pretty(&reordered).unwrap()).await;
    assert_eq!(ws.plan_json(0)["changes"], json!([]));

    // Drift: one widget's statistic changed, a widget added. The plan shows those two widgets
    // only, in every format; apply puts the body back.
    let mut drifted = live.clone();
    drifted["widgets"][4]["properties"]["metrics"][0][6]["stat"] = json!("Average");
    drifted["widgets"].as_array_mut().unwrap().push(json!({
        "type": "text", "x": 0, "y": 24, "width": 6, "height": 2,
        "properties": {"markdown": "added by hand"}
    }));
    put_body(&name, drifted.to_string()).await;
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [change("update", "dashboard", &name, &["dashboard-widgets"])]
    );
    let field = &plan["changes"][0]["fields"][0];
    let titles: Vec<&String> = field["live"].as_object().unwrap().keys().collect();
    assert_eq!(
        titles,
        ["Backup duration (seconds)", "(untitled text widget 1)"]
    );
    assert_eq!(field["desired"]["(untitled text widget 1)"], Value::Null);
    assert_eq!(
        field["live"]["Backup duration (seconds)"]["properties"]["metrics"][0][6]["stat"],
        "Average"
    );
    let text = ws.run(&["plan", "--stack", env]);
    assert!(
        text.stdout
            .contains(&format!("~ change dashboard {name} ({R1})"))
            && text.stdout.contains("~ dashboard-widgets:")
            && text.stdout.contains("\"Average\""),
        "{}",
        text.stdout
    );
    let markdown = ws.run(&["plan", "--stack", env, "--format", "markdown"]);
    assert!(
        markdown.stdout.contains("dashboard-widgets")
            && markdown.stdout.contains("Backup duration (seconds)"),
        "{}",
        markdown.stdout
    );
    ws.apply();
    assert_eq!(ws.plan_json(0)["changes"], json!([]));
    assert_eq!(body(R1, &name).await, Some(live.clone()));

    // The home region moved: the same dashboard (global) is updated through the new home, not
    // deleted and created again.
    stack(&ws, R2, "dashboard: {rangeDays: 7}\n");
    let plan = ws.plan_json(2);
    let dashboards: Vec<_> = changes(&plan)
        .into_iter()
        .filter(|c| c.1 == "dashboard")
        .collect();
    assert_eq!(
        dashboards,
        [change("update", "dashboard", &name, &["dashboard-widgets"])]
    );
    ws.apply();
    assert_eq!(ws.plan_json(0)["changes"], json!([]));
    let moved = body(R1, &name).await.expect("the dashboard");
    assert_eq!(moved["widgets"][0]["properties"]["region"], R2);

    // The section removed: a plain apply deletes it.
    stack(&ws, R2, "");
    let plan = ws.plan_json(2);
    assert_eq!(changes(&plan), [change("delete", "dashboard", &name, &[])]);
    ws.apply();
    assert_eq!(body(R1, &name).await, None);
    assert_eq!(ws.plan_json(0)["changes"], json!([]));
}
