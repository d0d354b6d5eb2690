//! The plan document matches its published JSON Schema (docs/plan.schema.json): real plans of a
//! stack with an `alarm` section, printed (`--format json`) and saved (`--out`), with every
//! kind of change (create, update with a sensitive field, delete, retain), validated by the
//! `jsonschema` package of the emulator's Python.

use crate::common::*;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops-alerts";

/// Validates each JSON file against docs/plan.schema.json; the errors, one a line, if any.
const VALIDATE: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
errors = []
for path in sys.argv[2:]:
    for e in validator.iter_errors(json.load(open(path))):
        errors.append(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
print("\n".join(errors))
sys.exit(1 if errors else 0)
"#;

/// The schema's verdict on `plans` (written into the workspace): the errors it found.
pub(crate) fn schema_errors(
    ws: &Workspace,
    plans: &[(&str, &serde_json::Value)],
) -> Result<(), String> {
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json");
    let mut command = std::process::Command::new(python());
    command.arg("-c").arg(VALIDATE).arg(schema);
    for (name, plan) in plans {
        let path = ws.path(name);
        std::fs::write(&path, serde_json::to_string_pretty(plan).unwrap()).unwrap();
        command.arg(path);
    }
    let out = command.output().expect("running the emulator's python");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn write_stack(ws: &Workspace, regions: &[&str], retention_days: u32, max_age_hours: u32) {
    // A retention CloudWatch Logs accepts, changed with the backups'.
    let journal_days = if retention_days >= 30 { 30 } else { 60 };
    let list: String = regions.iter().map(|r| format!("  - {r}\n")).collect();
    ws.write_raw(
        &ws.env,
        &format!(
            "projectName: {PROJECT}\nenvironment: {env}\nregions:\n{list}defaultRegion: {A}\nssmHomeRegion: {A}\nretentionDays: {retention_days}\njournal: {{retentionDays: {journal_days}}}\nalarm:\n  snsTopicArn: {TOPIC}\n  maxAgeHours: {max_age_hours}\n  drillMaxAgeDays: 7\ndashboard: {{}}\n",
            env = ws.env
        ),
    );
}

/// The plan saved with `--out` (exit code 2: there are changes).
fn saved_plan(ws: &Workspace) -> serde_json::Value {
    let run = ws.run(&[
        "plan",
        "--stack",
        &ws.env,
        "--detailed-exitcode",
        "--out",
        "saved.json",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    serde_json::from_str(&std::fs::read_to_string(ws.path("saved.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn real_plans_with_alarms_and_every_kind_of_change_match_the_published_schema() {
    let ws = Workspace::new("schema", &[A, B], A);
    write_stack(&ws, &[A, B], 30, 26);
    // Everything to create, against an observed state of absences.
    let fresh = ws.plan_json(2);
    let kinds: Vec<String> = changes(&fresh).into_iter().map(|c| c.1).collect();
    for kind in [
        "bucket",
        "parameter",
        "alarm",
        "log-group",
        "logs-policy",
        "event-rule",
        "dashboard",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    let fresh_saved = saved_plan(&ws);
    ws.apply();

    // Then updates (the lifecycle, an alarm's evaluation, a parameter turned SecureString by
    // hand: a sensitive field), and a removed region: its parameter and alarm deleted, its
    // bucket retained.
    put_secure(A, &ws.param("default-region"), A).await;
    write_stack(&ws, &[A], 20, 30);
    let changed = ws.plan_json(2);
    let actions: Vec<(String, String)> = changes(&changed)
        .into_iter()
        .map(|(action, kind, ..)| (action, kind))
        .collect();
    for (action, kind) in [
        ("update", "bucket"),
        ("update", "alarm"),
        ("update", "parameter"),
        ("delete", "parameter"),
        ("delete", "alarm"),
        ("retain", "bucket"),
        ("update", "log-group"),
        ("delete", "event-rule"),
        ("retain", "log-group"),
        ("update", "dashboard"),
    ] {
        assert!(
            actions.iter().any(|(a, k)| a == action && k == kind),
            "no {action} of a {kind} in {actions:?}"
        );
    }
    assert!(
        changed["changes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["fields"].as_array().cloned().unwrap_or_default())
            .any(|f| f["sensitive"] == true),
        "no sensitive field: {changed:#}"
    );
    let changed_saved = saved_plan(&ws);

    let plans = [
        ("fresh.json", &fresh),
        ("fresh-saved.json", &fresh_saved),
        ("changed.json", &changed),
        ("changed-saved.json", &changed_saved),
    ];
    if let Err(errors) = schema_errors(&ws, &plans) {
        panic!("a real plan does not match docs/plan.schema.json:\n{errors}");
    }

    // The schema is no formality: a plan that leaks a SecureString's value, or of another
    // format, or with an unknown attribute, is refused.
    let mut leaking = changed.clone();
    for change in leaking["changes"].as_array_mut().unwrap() {
        for field in change["fields"].as_array_mut().into_iter().flatten() {
            if field["sensitive"] == true {
                field["desired"] = serde_json::json!("plaintext");
            }
        }
    }
    let mut old = fresh.clone();
    old["formatVersion"] = serde_json::json!(2);
    let mut unknown = changed.clone();
    unknown["changes"][0]["fields"][0]["attribute"] = serde_json::json!("acl");
    for (name, bad) in [("leaking", &leaking), ("old", &old), ("unknown", &unknown)] {
        assert!(
            schema_errors(&ws, &[(&format!("{name}.json"), bad)]).is_err(),
            "the schema accepts the {name} plan"
        );
    }
}
