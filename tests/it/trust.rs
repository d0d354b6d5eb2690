//! Trust boundaries: decrypted parameters go only to the bucket the stack names, and never to a
//! file on disk.

use crate::common::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

const A: &str = "us-east-1";

/// A bucket parameter naming another bucket than the stack computes fails the region before any
/// value is read, naming both; nothing reaches the other bucket, not even a read (the destination's
/// reads go to the computed bucket, beside the parameter's check). The check's failure ends the
/// region at once: with the region's S3 unreachable (its reads retried far longer than the
/// region's time limit), the operator still reads the parameter's message, not a timeout.
#[tokio::test]
async fn backup_refuses_a_bucket_the_stack_does_not_name() {
    let ws = Workspace::new("trbucket", &[A], A);
    ws.apply();
    let rogue = "rogue-bucket-trbucket";
    s3(A)
        .await
        .create_bucket()
        .bucket(rogue)
        .send()
        .await
        .unwrap();
    put_string(A, &ws.param(&format!("{A}/s3-bucket-name")), rogue).await;
    put_string(A, "/app/trbucket/token", "not-for-the-rogue").await;

    let proxy = crate::proxy::Proxy::start(41);
    proxy.watch_for("/app/trbucket/token");
    let run = ws.run_with(&["backup", "--stack", "trbucket"], &proxy.env());
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "FAILED");
    let message = summary[A]["failureMessage"].as_str().unwrap();
    assert!(
        message.contains(rogue) && message.contains(&ws.bucket(A)),
        "names both buckets: {message}"
    );
    assert_eq!(
        object_count(A, rogue).await,
        0,
        "nothing reached the rogue bucket"
    );
    assert_eq!(object_count(A, &ws.bucket(A)).await, 0);
    let record = proxy.record();
    assert!(
        !record.iter().any(|r| r.resource == rogue),
        "no request to the rogue bucket: {record:#?}"
    );
    assert!(
        !record
            .iter()
            .any(|r| r.operation == "ssm:GetParameters" && r.carries_marker),
        "no value read: {record:#?}"
    );

    proxy.make_unreachable("s3", A);
    let mut env = proxy.env().to_vec();
    env.push(("AWS_MAX_ATTEMPTS", Some("10")));
    let run = ws.run_with(
        &["backup", "--stack", "trbucket", "--region-timeout", "10s"],
        &env,
    );
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    let message = summary[A]["failureMessage"].as_str().unwrap();
    assert!(
        message.contains(rogue),
        "the parameter's message: {message}"
    );
}

#[tokio::test]
async fn a_bucket_of_another_account_is_refused_by_s3_itself() {
    // The metadata as apply would write it, but the bucket of that name belongs to another
    // account (squatted): the name check passes, S3's owner check must not.
    let ws = Workspace::new("trowner", &[A], A);
    create_bucket_of_account(A, &ws.bucket(A), "111111111111").await;
    put_string(A, &ws.param("region-list"), &format!("[\"{A}\"]")).await;
    put_string(A, &ws.param("default-region"), A).await;
    put_string(A, &ws.param("s3-bucket-name"), &ws.bucket(A)).await;
    put_string(A, &ws.param(&format!("{A}/s3-bucket-name")), &ws.bucket(A)).await;
    put_string(A, "/app/trowner/token", "not-for-another-account").await;

    let run = ws.run(&["backup", "--stack", "trowner"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("AccessDenied"), "{}", run.stderr);
    assert_eq!(
        object_count(A, &ws.bucket(A)).await,
        0,
        "nothing reached it"
    );

    let run = ws.run(&["plan", "--stack", "trowner"]);
    assert_eq!(run.code, 1, "{run:#?}");
    // The usual cause first (the IAM action, with the command that prints the policy), then
    // a foreign owner.
    let said = &run.stderr;
    let action = said.find("lack the IAM action s3:ListBucket").expect(said);
    let owner = said.find("another account may own it").expect(said);
    assert!(action < owner, "{said}");
    for part in [
        "hint: AWS denied these credentials the IAM action ",
        "s3:ListBucket (s3:HeadBucket)",
        "`ssm-keeper iam-policy --stack trowner --role plan` prints the policy that grants it",
    ] {
        assert!(said.contains(part), "{part}: {said}");
    }
}

/// Every path the process has open, sampled until it exits.
fn open_paths_until_exit(child: &mut std::process::Child) -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let fds = format!("/proc/{}/fd", child.id());
    while child.try_wait().unwrap().is_none() {
        if let Ok(entries) = std::fs::read_dir(&fds) {
            for entry in entries.flatten() {
                if let Ok(target) = std::fs::read_link(entry.path()) {
                    seen.insert(target);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5)); // sampling, not synchronizing
    }
    seen
}

/// Starts a slow backup (25 parameters at 2 requests a second) with its own TMPDIR and returns
/// once it has started on its region.
fn start_slow_backup(ws: &Workspace, tmp: &std::path::Path) -> std::process::Child {
    ws.spawn_until(
        &["backup", "--stack", &ws.env, "--max-rps", "2"],
        &[("TMPDIR", Some(tmp.to_str().unwrap()))],
        "==> Backup",
    )
}

#[tokio::test]
async fn no_file_ever_holds_the_decrypted_document() {
    let ws = Workspace::new("trdisk", &[A], A);
    ws.apply();
    for i in 0..25 {
        put_string(A, &format!("/app/trdisk/p{i:02}"), "v").await;
    }
    let tmp = ws.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();

    let mut child = start_slow_backup(&ws, &tmp);
    let opened = open_paths_until_exit(&mut child);
    assert!(child.wait().unwrap().success());
    let files: Vec<&PathBuf> = opened
        .iter()
        .filter(|p| p.starts_with(&tmp) || p.to_string_lossy().contains("ssm-keeper"))
        .filter(|p| !p.ends_with("ssm-keeper")) // the binary itself
        .collect();
    assert!(files.is_empty(), "files opened: {files:?}");

    // Killed outright in the middle of collecting: nothing is left behind.
    let mut child = start_slow_backup(&ws, &tmp);
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
