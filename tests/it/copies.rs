//! The stack's `copies`: backup writes each region's document a second time into another
//! region's bucket, verify checks every copy, and restore reads the copy when the region's S3
//! cannot be reached (or `--from-copy`).

use crate::common::*;
use crate::proxy::Proxy;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

fn write_stack(ws: &Workspace, extra: &str) {
    ws.write_stack_with(&[A, B], extra);
}

async fn checksum(region: &str, bucket: &str, key: &str) -> Option<String> {
    s3(region)
        .await
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap()
        .checksum_sha256
}

fn checks_of(run: &Run) -> Vec<(String, String, bool)> {
    run.json()["regions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let region = r["region"].as_str().unwrap().to_string();
            r["checks"].as_array().unwrap().iter().map(move |c| {
                (
                    region.clone(),
                    c["check"].as_str().unwrap().to_string(),
                    c["ok"].as_bool().unwrap(),
                )
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_region_is_copied_verified_and_restored_from_its_copy_when_its_s3_is_down() {
    let ws = Workspace::new("copied", &[A, B], A);
    write_stack(&ws, &format!("copies:\n  {A}: {B}\n  {B}: {A}\n"));
    let plan = ws.plan_json(2);
    let copies = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"]["name"] == "/jenkins/copied/backup/copies")
        .expect("the copies parameter is planned");
    assert_eq!(
        copies["desired"]["value"],
        format!("{{\"{B}\":\"{A}\",\"{A}\":\"{B}\"}}")
    );
    ws.apply();
    ws.plan_json(0);

    let secret = "/app/copied/db/password";
    put_secure(A, secret, "copied-s3cret").await;
    put_string(B, "/app/copied/db/host", "db.b").await;
    let run = ws.run(&["backup", "--stack", "copied"]);
    assert_eq!(run.code, 0, "{run:#?}");
    // A's document, byte for byte in B's bucket under copies/, with its own pointer.
    let primary =
        String::from_utf8(object_bytes(A, &ws.bucket(A), &format!("latest-{A}.txt")).await)
            .unwrap();
    let copy =
        String::from_utf8(object_bytes(B, &ws.bucket(B), &format!("copies/latest-{A}.txt")).await)
            .unwrap();
    assert_eq!(copy, format!("copies/{primary}"));
    assert_eq!(
        object_bytes(A, &ws.bucket(A), &primary).await,
        object_bytes(B, &ws.bucket(B), &copy).await
    );
    let sum = checksum(A, &ws.bucket(A), &primary).await;
    assert!(sum.is_some());
    assert_eq!(sum, checksum(B, &ws.bucket(B), &copy).await);

    // verify checks every copy: present, the same, fresh.
    let run = ws.run(&["verify", "--stack", "copied", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let checks = checks_of(&run);
    for region in [A, B] {
        for check in ["copy", "copy-checksum", "copy-fresh"] {
            assert!(
                checks.contains(&(region.to_string(), check.to_string(), true)),
                "{region} {check}: {checks:?}"
            );
        }
    }
    // A copy pointer naming another object than the newest copy fails (exit 2).
    store_object(
        B,
        &ws.bucket(B),
        &format!("copies/latest-{A}.txt"),
        b"copies/2026-01-01/us-east-1/ssm-backup-copied-us-east-1-20260101_000000.json",
        true,
    )
    .await;
    let run = ws.run(&["verify", "--stack", "copied", "--format", "json"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(checks_of(&run).contains(&(A.to_string(), "pointer-newest".to_string(), false)));
    assert!(checks_of(&run).contains(&(A.to_string(), "copy".to_string(), true)));
    store_object(
        B,
        &ws.bucket(B),
        &format!("copies/latest-{A}.txt"),
        copy.as_bytes(),
        true,
    )
    .await;

    // A's S3 is down: restore reads A's copy in B and brings A's parameters into B.
    let proxy = Proxy::start(18);
    proxy.make_unreachable("s3", A);
    let run = ws.run_with(
        &[
            "restore",
            "--stack",
            "copied",
            "--region",
            A,
            "--target-region",
            B,
            "--apply",
            "--auto-approve",
        ],
        &proxy.env(),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains(&format!("{A}'s S3 cannot be reached"))
            && run
                .stderr
                .contains(&format!("reading the copy of its backup kept in {B}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains(&format!("s3://{}/copies/", ws.bucket(B))),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("copied-s3cret") && !run.stderr.contains("copied-s3cret"));
    let restored = ssm(B)
        .await
        .get_parameter()
        .name(secret)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(restored.parameter.unwrap().value(), Some("copied-s3cret"));
    assert!(
        proxy
            .record()
            .iter()
            .any(|r| r.region == A && r.operation.starts_with("s3:") && r.fault.is_some()),
        "A's S3 was never tried"
    );

    // --from-copy reads the copy even when the region is up, and says so.
    let run = ws.run(&["restore", "--stack", "copied", "--region", B, "--from-copy"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("s3://{}/copies/", ws.bucket(A))),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains(&format!("Reading the copy of {B}'s backup kept in {A}"))
    );

    // The copies removed from the stack: their parameter goes.
    write_stack(&ws, "");
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [change(
            "delete",
            "parameter",
            "/jenkins/copied/backup/copies",
            &[]
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_that_cannot_be_written_fails_its_region_and_the_primary_stays() {
    let ws = Workspace::new("copyfail", &[A, B], A);
    write_stack(&ws, &format!("copies:\n  {A}: {B}\n"));
    ws.apply();
    put_string(A, "/app/copyfail/x", "1").await;
    let proxy = Proxy::start(19);
    proxy.make_unreachable("s3", B);
    let run = ws.run_with(&["backup", "--stack", "copyfail"], &proxy.env());
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "FAILED", "{summary:#}");
    let message = summary[A]["failureMessage"].as_str().unwrap();
    assert!(
        message.contains("is stored and its pointers moved")
            && message.contains("no copy was written"),
        "{message}"
    );
    assert_eq!(summary[B]["status"], "SKIPPED", "{summary:#}");
    // The primary is there and pointed to.
    let primary =
        String::from_utf8(object_bytes(A, &ws.bucket(A), &format!("latest-{A}.txt")).await)
            .unwrap();
    assert!(primary.starts_with("20"), "{primary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_backup_whose_copy_passes_names_from_copy() {
    let ws = Workspace::new("copyhint", &[A, B], A);
    write_stack(&ws, &format!("copies:\n  {A}: {B}\n"));
    ws.apply();
    put_string(A, "/app/copyhint/x", "1").await;
    let run = ws.run(&["backup", "--stack", "copyhint"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let primary =
        String::from_utf8(object_bytes(A, &ws.bucket(A), &format!("latest-{A}.txt")).await)
            .unwrap();
    let body = object_bytes(A, &ws.bucket(A), &primary).await;
    // A's own backup written over (a second version): refused, and its copy, intact, named.
    store_object(A, &ws.bucket(A), &primary, &body, true).await;
    let restore = |extra: &[&str]| {
        let mut args = vec!["restore", "--stack", "copyhint", "--region", A];
        args.extend_from_slice(extra);
        ws.run(&args)
    };
    let run = restore(&[]);
    assert_eq!(run.code, 1, "{run:#?}");
    let copy = format!("s3://{}/copies/{primary}", ws.bucket(B));
    for expected in [
        format!(
            "refusing to restore from s3://{}/{primary}: it fails verification",
            ws.bucket(A)
        ),
        "single-version: the key has 2 versions".to_string(),
        format!(
            "hint: its copy {copy} (in {B}) passes the same checks: restore it with `--from-copy`"
        ),
    ] {
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }
    // An S3 key names the copy's key in the hint.
    let run = restore(&["--from", &primary]);
    assert_eq!(run.code, 1, "{run:#?}");
    let flags = format!("`--from-copy --from copies/{primary}`");
    assert!(run.stderr.contains(&flags), "{}", run.stderr);
    // What the hint says works.
    let run = restore(&["--from-copy"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains(&copy), "{}", run.stdout);
    // A copy written over too: no hint to use it, but why not.
    let copy_key = format!("copies/{primary}");
    store_object(B, &ws.bucket(B), &copy_key, &body, true).await;
    let run = restore(&[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(!run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "its copy {copy} (in {B}) fails verification too (single-version: the key has 2 versions"
        )) && run.stderr.contains("`--from-copy` would refuse it"),
        "{}",
        run.stderr
    );
}

/// Every metadata parameter apply writes in the SSM home region, the copies parameter
/// included: after each move of `ssmHomeRegion` all four are in the new home and none is left in
/// the old one, and the next plan is clean.
#[tokio::test(flavor = "multi_thread")]
async fn moving_the_home_region_moves_the_copies_parameter_too() {
    let ws = Workspace::new("movecopies", &[A, B], A);
    let copies = format!("copies:\n  {A}: {B}\n  {B}: {A}\n");
    let stack = |home: &str| {
        ws.write_raw(
            "movecopies",
            &format!(
                "projectName: {PROJECT}\nenvironment: movecopies\nregions:\n  - {A}\n  - {B}\ndefaultRegion: {A}\nssmHomeRegion: {home}\n{copies}"
            ),
        )
    };
    let names = ["copies", "default-region", "region-list", "s3-bucket-name"];
    stack(A);
    ws.apply();
    assert_eq!(changes(&ws.plan_json(0)), vec![]);
    for (from, to) in [(A, B), (B, A)] {
        stack(to);
        let mut expected = Vec::new();
        for tail in names {
            expected.push(change("create", "parameter", &ws.param(tail), &[]));
            expected.push(change("delete", "parameter", &ws.param(tail), &[]));
        }
        expected.sort();
        assert_eq!(changes(&ws.plan_json(2)), expected, "{from} -> {to}");
        ws.apply();
        for tail in names {
            assert_eq!(
                parameter(from, &ws.param(tail)).await,
                None,
                "{tail} left in {from} after moving the home to {to}"
            );
            assert!(
                parameter(to, &ws.param(tail)).await.is_some(),
                "{tail} missing from {to}"
            );
        }
        assert_eq!(
            parameter(to, &ws.param("copies")).await.as_deref(),
            Some(format!("{{\"{B}\":\"{A}\",\"{A}\":\"{B}\"}}").as_str())
        );
        assert_eq!(changes(&ws.plan_json(0)), vec![], "{from} -> {to}");
    }
}
