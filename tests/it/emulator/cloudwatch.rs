//! CloudWatch dashboards (emulator/keeper_emulator/cloudwatch.py): global to the account as AWS
//! keeps them, GetDashboard and DeleteDashboards of a missing one `ResourceNotFound` (HTTP 404),
//! PutDashboard refusing the names and bodies AWS refuses, and the ARN AWS gives a dashboard.

use crate::common::*;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use serde_json::json;

fn body(title: &str) -> String {
    json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
        "properties": {"title": title, "region": "us-east-1", "view": "timeSeries",
            "metrics": [["SSMKeeper/Backup", "BackupSuccess", "Region", "us-east-1",
                         {"id": "s0", "stat": "Maximum", "visible": false}],
                        [{"expression": "FILL(IF(s0 == 1, EPOCH(s0)), REPEAT)", "id": "last0"}]]}},
        {"type": "alarm", "x": 12, "y": 0, "width": 12, "height": 6,
         "properties": {"title": "Alarms", "alarms": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"]}},
        {"type": "text", "x": 0, "y": 6, "width": 6, "height": 2, "properties": {"markdown": "hi"}}]})
    .to_string()
}

/// moto kept dashboards per region: one written through us-east-1 was not there through
/// eu-west-1. AWS has one set per account.
#[tokio::test]
async fn a_dashboard_is_global_to_the_account_with_the_arn_aws_gives_it() {
    let (a, b) = (cloudwatch("us-east-1").await, cloudwatch("eu-west-1").await);
    let name = "emu-dash-global";
    a.put_dashboard()
        .dashboard_name(name)
        .dashboard_body(body("t"))
        .send()
        .await
        .unwrap();
    let got = b.get_dashboard().dashboard_name(name).send().await.unwrap();
    assert_eq!(
        got.dashboard_arn(),
        Some(format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/{name}").as_str())
    );
    assert_eq!(got.dashboard_body(), Some(body("t").as_str()));
    let listed = b
        .list_dashboards()
        .dashboard_name_prefix("emu-dash-global")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.dashboard_entries().len(), 1);
    // Replaced through one region, deleted through the other.
    b.put_dashboard()
        .dashboard_name(name)
        .dashboard_body(body("u"))
        .send()
        .await
        .unwrap();
    let got = a.get_dashboard().dashboard_name(name).send().await.unwrap();
    assert_eq!(got.dashboard_body(), Some(body("u").as_str()));
    b.delete_dashboards()
        .dashboard_names(name)
        .send()
        .await
        .unwrap();
    let e = a
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .is_some_and(|e| e.is_dashboard_not_found_error()),
        "{e:?}"
    );
}

/// AWS answers a missing dashboard `ResourceNotFound` (its DashboardNotFoundError) with HTTP
/// 404, to GetDashboard and to DeleteDashboards.
#[tokio::test]
async fn a_missing_dashboard_is_resource_not_found() {
    let cw = cloudwatch("us-east-1").await;
    let e = cw
        .get_dashboard()
        .dashboard_name("emu-dash-missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFound"), "{e:?}");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let e = cw
        .delete_dashboards()
        .dashboard_names("emu-dash-missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFound"), "{e:?}");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
}

/// moto accepted any name and any JSON. AWS refuses, with `InvalidParameterInput`: a name of
/// other characters than `A-Za-z0-9-_` or longer than 255, a body that is no JSON object, has
/// no `widgets`, or a widget without what its type needs.
#[tokio::test]
async fn put_dashboard_refuses_what_aws_refuses() {
    let cw = cloudwatch("us-east-1").await;
    let long = "a".repeat(256);
    let widget = |w: serde_json::Value| json!({ "widgets": [w] }).to_string();
    let cases = [
        ("emu/dash", body("t"), "DashboardName"),
        (long.as_str(), body("t"), "DashboardName"),
        ("emu-dash-bad", "not json".to_string(), "valid JSON object"),
        ("emu-dash-bad", "[]".to_string(), "Should be object"),
        (
            "emu-dash-bad",
            "{}".to_string(),
            "required property 'widgets'",
        ),
        (
            "emu-dash-bad",
            widget(json!({"type": "metric", "properties": {"metrics": []}})),
            "required property 'region'",
        ),
        (
            "emu-dash-bad",
            widget(json!({"type": "graph", "properties": {}})),
            "allowed values",
        ),
        (
            "emu-dash-bad",
            widget(json!({"type": "alarm", "properties": {"alarms": []}})),
            "required property 'alarms'",
        ),
        (
            "emu-dash-bad",
            widget(json!({"type": "text", "width": 25, "properties": {"markdown": "x"}})),
            "/widgets/0/width",
        ),
        (
            "emu-dash-bad",
            widget(
                json!({"type": "metric", "properties": {"region": "us-east-1",
                "metrics": [[{"expression": "m1", "id": "E1"}]]}}),
            ),
            "lowercase",
        ),
    ];
    for (name, text, said) in cases {
        let e = cw
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(text.clone())
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            Some("InvalidParameterInput"),
            "{name} {text}: {e:?}"
        );
        assert!(
            e.message().unwrap_or_default().contains(said),
            "{name} {text}: {e:?}"
        );
    }
    let listed = cw
        .list_dashboards()
        .dashboard_name_prefix("emu-dash-bad")
        .send()
        .await
        .unwrap();
    assert!(listed.dashboard_entries().is_empty());
    // What the stack's dashboard holds is accepted, without validation messages.
    let out = cw
        .put_dashboard()
        .dashboard_name("emu-dash-good_1")
        .dashboard_body(body("t"))
        .send()
        .await
        .unwrap();
    assert!(out.dashboard_validation_messages().is_empty());
}
