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

/// Stores a format-2 document of `ws`'s environment in `region` holding `parameters` (name,
/// value, type), taken at `timestamp`, and moves the pointer to it.
async fn plant(
    ws: &Workspace,
    region: &str,
    timestamp: &str,
    parameters: &[(&str, &str, &str)],
) -> String {
    let env = ws.env.as_str();
    let entries: Vec<serde_json::Value> = parameters
        .iter()
        .map(|(name, value, kind)| {
            serde_json::json!({"Name": name, "Type": kind, "Value": value, "Version": 1,
                "DataType": "text", "Tier": "Standard"})
        })
        .collect();
    let doc = serde_json::json!({
        "format_version": 2, "tool_version": "0", "backup_date": "2099-12-31",
        "backup_timestamp": timestamp, "environment": env, "region": region, "account": ACCOUNT,
        "parameters": entries, "parameter_count": parameters.len(),
    });
    let key = format!("2099-12-31/{region}/ssm-backup-{env}-{region}-20991231_235959.json");
    let bucket = ws.bucket(region);
    // A key is written once: a test that plants twice deletes the first.
    s3(region)
        .await
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    store_object(region, &bucket, &key, doc.to_string().as_bytes(), true).await;
    store_object(
        region,
        &bucket,
        &format!("latest-{region}.txt"),
        key.as_bytes(),
        false,
    )
    .await;
    key
}

fn now_timestamp(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .format(time::macros::format_description!(
            "[year][month][day]_[hour][minute][second]"
        ))
        .unwrap()
}

#[tokio::test]
async fn a_document_restore_would_refuse_or_fail_on_fails_verify() {
    let ws = backed_up("vdoc").await;
    let now = now_timestamp(time::Duration::ZERO);
    let host = "/app/vdoc/host";
    let password = "/app/vdoc/password";
    // A name of another environment, planted with the backup role's rights.
    plant(
        &ws,
        A,
        &now,
        &[
            (host, "h", "String"),
            (password, "p", "SecureString"),
            ("/jenkins/prod/token", "x", "String"),
        ],
    )
    .await;
    fails_with(
        &ws,
        A,
        "selection",
        "1 names outside the environment (names holding the segment /vdoc/), which restore skips: /jenkins/prod/token",
    );
    // Entries restore would fail on: restore refuses the document before writing.
    let key = plant(
        &ws,
        A,
        &now,
        &[
            (host, "h", "String"),
            (host, "h", "String"),
            (password, "", "SecureString"),
        ],
    )
    .await;
    fails_with(
        &ws,
        A,
        "entries",
        "restore would fail on: /app/vdoc/host is in the document twice; /app/vdoc/password has an empty value",
    );
    let run = ws.run(&[
        "restore",
        "--stack",
        "vdoc",
        "--region",
        A,
        "--from",
        &key,
        "--apply",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("entries: restore would fail on"),
        "{}",
        run.stderr
    );
    // A timestamp in the future would be fresh forever.
    let later = now_timestamp(time::Duration::hours(3));
    plant(
        &ws,
        A,
        &later,
        &[
            (host, "h", "String"),
            (password, "p", "SecureString"),
            (&ws.param(&format!("{A}/s3-bucket-name")), "b", "String"),
        ],
    )
    .await;
    let run = verify(&ws, &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {A} not-future: the backup says it was taken at"
        )),
        "{}",
        run.stdout
    );
    // Larger than the limit: not read at all.
    let run = verify(&ws, &["--max-document-bytes", "100"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!("  {A} size: the object is ")),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_count_that_fell_by_more_than_half_fails() {
    let ws = backed_up("vdrop").await;
    // B's real backup holds three parameters; the next one, one.
    let now = now_timestamp(time::Duration::ZERO);
    plant(&ws, B, &now, &[("/app/vdrop/host", "h", "String")]).await;
    let run = verify(&ws, &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {B} count-drop: the backup holds 1 parameters, 2 fewer than the previous one ("
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("more than --max-count-drop 50%"),
        "{}",
        run.stdout
    );
    // An operator who removed most parameters on purpose says so.
    let run = verify(&ws, &["--max-count-drop", "100", "--region", B]);
    assert_eq!(run.code, 0, "{run:#?}");
}
