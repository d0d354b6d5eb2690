//! verify against the emulator: a fresh backup passes; a missing pointer, a pointer to a
//! missing object, an overwritten object, a wrong count and an old backup each fail with exit 2
//! naming the region and the check. No value is printed.

use crate::common::*;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
const SECRET: &str = "VERIFY-SECRET-8d1f";

/// A stack of A (default) and B, applied, with parameters, backed up once.
async fn backed_up(env: &str) -> Workspace {
    let ws = Workspace::new(env, &[A, B], A);
    ws.apply();
    for region in [A, B] {
        put_string(region, &format!("/app/{env}/host"), "h").await;
        put_secure(region, &format!("/app/{env}/password"), SECRET).await;
    }
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    ws
}

fn verify(ws: &Workspace, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--stack", ws.env.as_str()];
    args.extend_from_slice(extra);
    let run = ws.run(&args);
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "a value was printed: {run:#?}"
    );
    run
}

/// Runs verify expecting exactly one failed check, in `region`, named `check`.
fn fails_with(ws: &Workspace, region: &str, check: &str, found: &str) {
    let run = verify(ws, &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    let line = format!("  {region} {check}: {found}");
    assert!(
        run.stdout.contains(&line),
        "expected `{line}` in:\n{}",
        run.stdout
    );
}

async fn pointer_target(ws: &Workspace, region: &str) -> String {
    let pointer = format!("latest-{region}.txt");
    String::from_utf8(object_bytes(region, &ws.bucket(region), &pointer).await).unwrap()
}

#[tokio::test]
async fn a_fresh_backup_passes_every_check() {
    let ws = backed_up("vfresh").await;
    let run = verify(&ws, &[]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("Every check holds."), "{}", run.stdout);
    let run = verify(&ws, &["--format", "json", "--region", B]);
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["regions"].as_array().unwrap().len(), 1);
    assert_eq!(report["regions"][0]["region"], B);
    assert_eq!(
        report["regions"][0]["parameterCount"], 3,
        "two seeded + B's bucket parameter"
    );
    assert_eq!(report["regions"][0]["liveCount"], 3);
}

#[tokio::test]
async fn a_missing_pointer_fails() {
    let ws = backed_up("vnoptr").await;
    s3(B)
        .await
        .delete_object()
        .bucket(ws.bucket(B))
        .key(format!("latest-{B}.txt"))
        .send()
        .await
        .unwrap();
    fails_with(
        &ws,
        B,
        "pointer",
        &format!("latest-{B}.txt does not exist in {}", ws.bucket(B)),
    );
}

#[tokio::test]
async fn a_pointer_to_a_missing_object_fails() {
    let ws = backed_up("vnoobj").await;
    store_object(
        B,
        &ws.bucket(B),
        &format!("latest-{B}.txt"),
        b"2026-01-01/gone.json",
        true,
    )
    .await;
    fails_with(
        &ws,
        B,
        "object",
        &format!("latest-{B}.txt names 2026-01-01/gone.json, which does not exist"),
    );
}

#[tokio::test]
async fn an_overwritten_object_fails() {
    let ws = backed_up("vover").await;
    let key = pointer_target(&ws, B).await;
    let body = object_bytes(B, &ws.bucket(B), &key).await;
    store_object(B, &ws.bucket(B), &key, &body, true).await;
    fails_with(
        &ws,
        B,
        "single-version",
        "the key has 2 versions: a backup is written once, so it was overwritten",
    );
}

/// A document of this environment and region, as a backup writes it, with `count` claimed.
fn document(ws: &Workspace, region: &str, timestamp: &str, count: usize) -> Vec<u8> {
    serde_json::json!({
        "format_version": 2,
        "backup_timestamp": timestamp,
        "environment": ws.env,
        "region": region,
        "parameters": [{"Name": format!("/app/{}/host", ws.env), "Type": "String", "Value": "h", "Version": 1}],
        "parameter_count": count,
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_wrong_count_fails() {
    let ws = backed_up("vcount").await;
    let key = format!("2026-11-24/{B}/ssm-backup-vcount-{B}-20261124_000000.json");
    store_object(
        B,
        &ws.bucket(B),
        &key,
        &document(&ws, B, "20261124_000000", 7),
        true,
    )
    .await;
    store_object(
        B,
        &ws.bucket(B),
        &format!("latest-{B}.txt"),
        key.as_bytes(),
        true,
    )
    .await;
    let run = verify(&ws, &["--max-age", "8760"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {B} document: parameter_count says 7 but the document holds 1 parameters"
        )),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn an_old_backup_fails() {
    let ws = backed_up("vold").await;
    let key = format!("2026-01-01/{B}/ssm-backup-vold-{B}-20260101_130000.json");
    store_object(
        B,
        &ws.bucket(B),
        &key,
        &document(&ws, B, "20260101_130000", 1),
        true,
    )
    .await;
    store_object(
        B,
        &ws.bucket(B),
        &format!("latest-{B}.txt"),
        key.as_bytes(),
        true,
    )
    .await;
    let run = verify(&ws, &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("  {B} fresh: the newest backup is ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("hours old (more than 26)"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_cannot_run_without_a_region_list() {
    let ws = Workspace::new("vnothing", &[A], A);
    let run = ws.run(&["verify", "--stack", "vnothing"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("Region list parameter"),
        "{}",
        run.stderr
    );
}
