//! One writer at a time: apply and backup take the environment's lock in AWS; a second run is
//! refused naming the holder; a stale lock expires or is removed with force-unlock; plan takes
//! none; the lock is never backed up.

use crate::common::*;

const A: &str = "us-east-1";

fn lock_name(env: &str) -> String {
    format!("/locks/ssm-keeper/{env}")
}

/// Writes a lock as another run would have, `minutes_ago` minutes ago by AWS's clock (a lock
/// lasts 15 minutes unrenewed).
async fn hold(env: &str, id: &str, minutes_ago: u64) {
    hold_with_clock(env, id, minutes_ago, 15 - minutes_ago as i64).await;
}

/// `hold`, with the holder's own clock saying the lock expires `expires_in_minutes` from now.
async fn hold_with_clock(env: &str, id: &str, minutes_ago: u64, expires_in_minutes: i64) {
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let value = serde_json::json!({
        "id": id,
        "who": "arn:aws:iam::123456789012:user/someone-else",
        "host": "other-host",
        "pid": 99,
        "command": "apply",
        "created": rfc(now - time::Duration::minutes(60)),
        "expires": rfc(now + time::Duration::minutes(expires_in_minutes)),
    });
    put_string_aged(A, &lock_name(env), &value.to_string(), minutes_ago * 60).await;
}

#[tokio::test]
async fn a_second_writer_is_refused_naming_the_holder() {
    let ws = Workspace::new("lkbusy", &[A], A);
    ws.apply();
    assert_eq!(
        parameter(A, &lock_name("lkbusy")).await,
        None,
        "apply released it"
    );
    for i in 0..25 {
        put_string(A, &format!("/app/lkbusy/p{i:02}"), "v").await;
    }
    // The backup is held reading its first values: it holds the lock by then.
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let held = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.GetParameters",
        "\"WithDecryption\":true",
    );
    let (mut backup, lines) = ws.spawn(
        &["backup", "--stack", "lkbusy"],
        &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
        std::process::Stdio::null(),
    );
    std::thread::spawn(move || lines.for_each(drop));
    held.held.recv().unwrap();

    let run = ws.run(&["apply", "--stack", "lkbusy", "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:#?}");
    for part in [
        "the `lkbusy` environment is locked by arn:aws:",
        "`ssm-keeper backup`",
        &format!("pid {}", backup.id()),
        "force-unlock --stack lkbusy",
    ] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    let run = ws.run(&["backup", "--stack", "lkbusy", "--lock-timeout", "0s"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("is locked by"), "{}", run.stderr);
    // plan takes no lock
    let run = ws.run(&["plan", "--stack", "lkbusy"]);
    assert_eq!(run.code, 0, "{run:#?}");

    held.release.send(()).unwrap();
    assert!(backup.wait().unwrap().success());
    assert_eq!(parameter(A, &lock_name("lkbusy")).await, None, "released");
    let run = ws.run(&["apply", "--stack", "lkbusy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
}

#[tokio::test]
async fn a_stale_lock_waits_gives_up_and_is_removed_by_its_id() {
    let ws = Workspace::new("lkstale", &[A], A);
    hold("lkstale", "held-by-test", 1).await;

    let run = ws.run(&[
        "apply",
        "--stack",
        "lkstale",
        "--auto-approve",
        "--lock-timeout",
        "1s",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("gave up waiting for the lock after 1s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("ssm-keeper force-unlock --stack lkstale held-by-test"),
        "{}",
        run.stderr
    );
    assert!(
        !bucket_exists(A, &ws.bucket(A)).await,
        "nothing was applied"
    );

    let run = ws.run(&["force-unlock", "--stack", "lkstale", "not-the-id"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("has ID held-by-test, not not-the-id"),
        "{}",
        run.stderr
    );
    assert!(parameter(A, &lock_name("lkstale")).await.is_some());

    // Without a terminal to confirm on, it shows the lock and needs --force.
    let run = ws.run(&["force-unlock", "--stack", "lkstale", "held-by-test"]);
    assert_eq!(run.code, 1, "{run:#?}");
    for part in [
        "the `lkstale` environment is locked by arn:aws:iam::123456789012:user/someone-else on other-host (pid 99, `ssm-keeper apply`) since ",
        "refusing to remove the lock without a terminal to confirm on: check that its run is gone, then pass --force",
    ] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    assert!(parameter(A, &lock_name("lkstale")).await.is_some());

    let run = ws.run(&[
        "force-unlock",
        "--stack",
        "lkstale",
        "held-by-test",
        "--force",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("Removed the lock held-by-test"),
        "{}",
        run.stdout
    );
    assert_eq!(parameter(A, &lock_name("lkstale")).await, None);
    ws.apply();
}

#[tokio::test]
async fn an_expired_lock_is_taken_over() {
    let ws = Workspace::new("lkexpired", &[A], A);
    hold("lkexpired", "long-gone", 16).await;
    let run = ws.run(&["apply", "--stack", "lkexpired", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("The lock long-gone of `lkexpired` expired"),
        "{}",
        run.stderr
    );
    assert_eq!(parameter(A, &lock_name("lkexpired")).await, None);
}

#[tokio::test]
async fn a_lock_expires_by_aws_clock_not_by_the_holders() {
    let ws = Workspace::new("lkclock", &[A], A);
    // Written a minute ago by a holder whose clock runs an hour behind: by its own field it
    // expired long ago, but AWS wrote it a minute ago, so it is held.
    hold_with_clock("lkclock", "slow-clock", 1, -60).await;
    let run = ws.run(&["apply", "--stack", "lkclock", "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("the `lkclock` environment is locked by"),
        "{}",
        run.stderr
    );
    assert!(!bucket_exists(A, &ws.bucket(A)).await, "nothing applied");
    // Written 16 minutes ago by a holder whose clock runs ahead: expired by AWS's clock.
    hold_with_clock("lkclock", "fast-clock", 16, 600).await;
    let run = ws.run(&["apply", "--stack", "lkclock", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("The lock fast-clock of `lkclock` expired"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_run_that_loses_its_lock_stops_before_its_next_write() {
    let ws = Workspace::new("lklost", &[A], A);
    ws.apply();
    put_string(A, "/app/lklost/p", "v").await;
    // The backup is held reading its first values, which it reads only once it holds the lock,
    // before it writes.
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let held = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.GetParameters",
        "\"WithDecryption\":true",
    );
    let (mut backup, mut stderr) = ws.spawn(
        &["--lock-renew-every", "1s", "backup", "--stack", "lklost"],
        &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
        std::process::Stdio::null(),
    );
    held.held.recv().unwrap();
    // Someone removes the lock meanwhile: the next renewal finds it gone.
    delete_param(A, &lock_name("lklost")).await;
    wait_for_line(&mut stderr, "WARNING: this run lost its lock");
    held.release.send(()).unwrap();
    let said: Vec<String> = stderr.map(Result::unwrap).collect();
    assert_eq!(backup.wait().unwrap().code(), Some(1), "{said:#?}");
    assert!(
        said.iter().any(|l| l.contains("this run lost its lock")
            && l.contains("(/locks/ssm-keeper/lklost in us-east-1): it was removed")),
        "{said:#?}"
    );
    assert_eq!(
        object_count(A, &ws.bucket(A)).await,
        0,
        "nothing written after the lock was lost"
    );
}

#[tokio::test]
async fn the_lock_is_released_when_a_backup_fails() {
    let ws = Workspace::new("lkfail", &[A], A);
    ws.apply();
    delete_param(A, &ws.param(&format!("{A}/s3-bucket-name"))).await;
    let run = ws.run(&["backup", "--stack", "lkfail"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(parameter(A, &lock_name("lkfail")).await, None);
}

#[tokio::test]
async fn the_lock_is_never_backed_up_even_for_an_environment_named_locks() {
    let ws = Workspace::new("locks", &[A], A);
    ws.apply();
    hold("someother", "other-run", 1).await;
    put_string(A, "/app/locks/x", "v").await;
    let run = ws.run(&["backup", "--stack", "locks"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let summary = ws.summary();
    let path = summary[A]["artifactPath"].as_str().unwrap();
    let (bucket, key) = path["s3://".len()..].split_once('/').unwrap();
    let body = object_bytes(A, bucket, key).await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = doc["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"/app/locks/x"), "{names:?}");
    assert!(
        names.iter().all(|n| !n.starts_with("/locks/ssm-keeper/")),
        "{names:?}"
    );
}

#[tokio::test]
async fn sigint_while_waiting_for_the_lock_cancels_with_130_and_changes_nothing() {
    let ws = Workspace::new("lkwait", &[A], A);
    hold("lkwait", "held-by-test", 1).await;
    let mut apply = ws.spawn_until(
        &[
            "apply",
            "--stack",
            "lkwait",
            "--auto-approve",
            "--lock-timeout",
            "10m",
        ],
        &[],
        "Waiting for the lock:",
    );
    signal(&apply, "INT");
    assert_eq!(apply.wait().unwrap().code(), Some(130));
    assert!(
        !bucket_exists(A, &ws.bucket(A)).await,
        "nothing was applied"
    );
    let lock = parameter(A, &lock_name("lkwait")).await.unwrap();
    assert!(
        lock.contains("held-by-test"),
        "the holder's lock is untouched"
    );
}

#[tokio::test]
async fn two_runs_finding_the_same_expired_lock_do_not_both_take_it_over() {
    let ws = Workspace::new("lkrace", &[A], A);
    ws.apply();
    hold("lkrace", "long-gone", 16).await;
    // The first run is held just as it deletes the expired lock (after claiming the takeover).
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let held = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.DeleteParameter",
        "/locks/ssm-keeper/lkrace\"",
    );
    let (mut first, first_err) = ws.spawn(
        &["apply", "--stack", "lkrace", "--auto-approve"],
        &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
        std::process::Stdio::piped(),
    );
    held.held.recv().unwrap();

    // The second found the same expired lock: it may not delete it (nor, later, the first's).
    let run = ws.run(&["apply", "--stack", "lkrace", "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("the lock long-gone of `lkrace` expired and another run is taking it over"),
        "{}",
        run.stderr
    );
    held.release.send(()).unwrap();
    let said: Vec<String> = first_err.map(Result::unwrap).collect();
    assert_eq!(first.wait().unwrap().code(), Some(0), "{said:#?}");
    assert!(
        said.iter()
            .any(|l| l.contains("The lock long-gone of `lkrace` expired")),
        "{said:#?}"
    );
    assert_eq!(parameter(A, &lock_name("lkrace")).await, None, "released");
    assert_eq!(
        parameter(A, "/locks/ssm-keeper/lkrace.takeover.long-gone").await,
        None,
        "the claim is gone with the expired lock"
    );
}

#[tokio::test]
async fn backup_reads_while_it_takes_the_lock_and_neither_writes_nor_decrypts_before() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let ws = Workspace::new("lkorder", &[A], A);
    ws.apply();
    put_secure(A, "/app/lkorder/secret", "s3cr3t-lkorder").await;
    let proxy = crate::proxy::Proxy::start(21);
    proxy.watch_for("\"WithDecryption\":true");
    // The lock's PutParameter is held until the listing and the bucket's checks are answered:
    // all the run does before it holds the lock is then in the record before that request.
    let limit = std::time::Duration::from_secs(60);
    let listed = proxy.answered("ssm:DescribeParameters", limit);
    let checked = proxy.answered("s3:GetBucketEncryption", limit);
    let overlapped = std::sync::Arc::new(AtomicBool::new(false));
    let seen = overlapped.clone();
    proxy.before_next("ssm:PutParameter", "", move || async move {
        let (listed, checked) = tokio::join!(listed, checked);
        seen.store(listed && checked, SeqCst);
    });
    let run = ws.run_with(&["backup", "--stack", "lkorder"], &proxy.env());
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        overlapped.load(SeqCst),
        "the listing and the bucket's checks were answered while the lock was being taken"
    );
    let record = proxy.record();
    let lock_at = record
        .iter()
        .position(|r| r.operation == "ssm:PutParameter" && r.resource == lock_name("lkorder"))
        .expect("the lock was taken through the proxy");
    let (before, after) = record.split_at(lock_at);
    let operations: Vec<&str> = before.iter().map(|r| r.operation.as_str()).collect();
    assert!(
        before.iter().all(|r| !r.mutating && !r.carries_marker),
        "nothing written and no value decrypted before the lock: {operations:?}"
    );
    for read in ["ssm:DescribeParameters", "s3:GetBucketEncryption"] {
        assert!(operations.contains(&read), "{read}: {operations:?}");
    }
    assert!(after.iter().any(|r| r.carries_marker), "values read after");
    assert!(after.iter().any(|r| r.operation == "s3:PutObject"));
}

#[tokio::test]
async fn a_backup_that_waited_for_the_lock_reads_again_under_it() {
    let ws = Workspace::new("lkreread", &[A], A);
    ws.apply();
    put_string(A, "/app/lkreread/before", "v").await;
    hold("lkreread", "held-by-test", 1).await;
    let proxy = crate::proxy::Proxy::start(22);
    let (mut backup, mut stderr) = ws.spawn(
        &["backup", "--stack", "lkreread", "--lock-timeout", "5m"],
        &proxy.env(),
        std::process::Stdio::null(),
    );
    wait_for_line(&mut stderr, "Waiting for the lock:");
    // What the run listed while the lock was another's is older than what that run writes
    // before it lets go.
    let limit = std::time::Duration::from_secs(60);
    assert!(proxy.answered("ssm:DescribeParameters", limit).await);
    put_string(A, "/app/lkreread/written-by-the-holder", "v").await;
    delete_param(A, &lock_name("lkreread")).await;
    let said: Vec<String> = stderr.map(Result::unwrap).collect();
    assert_eq!(backup.wait().unwrap().code(), Some(0), "{said:#?}");
    assert!(
        said.iter()
            .any(|l| l.starts_with("The lock is ours now: reading again")),
        "{said:#?}"
    );
    let summary = ws.summary();
    let path = summary[A]["artifactPath"].as_str().unwrap();
    let (bucket, key) = path["s3://".len()..].split_once('/').unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&object_bytes(A, bucket, key).await).unwrap();
    let names: Vec<&str> = doc["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"/app/lkreread/written-by-the-holder"),
        "{names:?}"
    );
}

/// The lock's release reads it beside the run's last writes, the last region's pointer moves,
/// not after them: the release is then the delete alone, and the lock is still read once.
#[tokio::test]
async fn the_lock_is_read_beside_the_last_pointer_moves_then_deleted() {
    let env = "lkbeside";
    let ws = Workspace::new(env, &[A], A);
    ws.apply();
    put_string(A, &format!("/app/{env}/x"), "v").await;
    let lock = ssm_keeper::core::lock::lock_parameter(env);
    let proxy = crate::proxy::Proxy::start(29);
    // The region's pointer move is held until the lock's read arrives: were the read made
    // after the pointers, it would never come while the move is held.
    let limit = std::time::Duration::from_secs(30);
    let arrived = proxy.arrival_of("ssm:GetParameter", &lock, limit);
    let (told, seen) = std::sync::mpsc::channel();
    proxy.before_next(
        "s3:PutObject",
        &format!("latest-{A}.txt"),
        move || async move {
            told.send(arrived.await).unwrap();
        },
    );
    let run = ws.run_with(&["backup", "--stack", env], &proxy.env());
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        seen.recv().unwrap(),
        "the lock's read went out while the pointer's move was held"
    );
    let record = proxy.record();
    let about_lock = |op: &str| {
        record
            .iter()
            .filter(|r| r.operation == op && r.resource.contains(&lock))
            .count()
    };
    assert_eq!(about_lock("ssm:GetParameter"), 1, "read once");
    assert_eq!(about_lock("ssm:DeleteParameter"), 1, "then deleted");
    assert_eq!(parameter(A, &lock).await, None, "the lock is gone");
}
