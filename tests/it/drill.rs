//! `restore --drill` against the emulator: each region's latest backup restored under the
//! drill path, read back, and everything there deleted, whether the drill passes, finds a
//! difference or is killed (then the next drill deletes what it left); its metrics are read
//! back from the emulator's CloudWatch. No seeded secret appears in any output.

use crate::common::*;
use crate::restore::{no_secret, seed_every_kind, snapshot};
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_sdk_ssm::types::ParameterStringFilter;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

/// The names under `/drills/ssm-keeper/<env>/` in `region`, listed as another client would.
async fn drill_path(region: &str, env: &str) -> Vec<String> {
    let filter = ParameterStringFilter::builder()
        .key("Path")
        .option("Recursive")
        .values(format!("/drills/ssm-keeper/{env}"))
        .build()
        .unwrap();
    let mut names = Vec::new();
    let mut pages = ssm(region)
        .await
        .describe_parameters()
        .parameter_filters(filter)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        names.extend(
            page.unwrap()
                .parameters()
                .iter()
                .filter_map(|p| p.name().map(str::to_string)),
        );
    }
    names
}

/// A workspace of `env` over A and B, applied, with every kind of parameter in A, one in B, and
/// a name too deep to go under the drill path; backed up.
async fn backed_up(env: &str) -> Workspace {
    let ws = Workspace::new(env, &[A, B], A);
    ws.apply();
    seed_every_kind(A, env).await;
    put_string(B, &format!("/app/{env}/region"), "b").await;
    // 12 levels: 16 under /drills/ssm-keeper/<env>/<run id>/, one more than SSM allows.
    put_string(A, &format!("/app/{env}/3/4/5/6/7/8/9/10/11/deep"), "d").await;
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    ws
}

fn drill(ws: &Workspace, args: &[&str]) -> Run {
    let mut full = vec!["restore", "--stack", ws.env.as_str(), "--drill"];
    full.extend_from_slice(args);
    let run = ws.run(&full);
    no_secret(&run);
    run
}

/// The maxima of `metric` of `region` in the last hour, as CloudWatch serves them.
async fn metric(env: &str, region: &str, metric: &str) -> Vec<f64> {
    let now = std::time::SystemTime::now();
    let out = cloudwatch(A)
        .await
        .get_metric_statistics()
        .namespace("SSMKeeper/Backup")
        .metric_name(metric)
        .dimensions(Dimension::builder().name("Environment").value(env).build())
        .dimensions(Dimension::builder().name("Region").value(region).build())
        .start_time(aws_smithy_types::DateTime::from(
            now - std::time::Duration::from_secs(3600),
        ))
        .end_time(aws_smithy_types::DateTime::from(
            now + std::time::Duration::from_secs(60),
        ))
        .period(3600)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    out.datapoints()
        .iter()
        .filter_map(|d| d.maximum())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passing_drill_reads_every_parameter_back_leaves_nothing_and_publishes_its_metrics() {
    let env = "drillok";
    let ws = backed_up(env).await;
    let before = snapshot(A, &format!("/app/{env}/")).await;

    let run = drill(&ws, &["--format", "json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["putParameterRate"], 3.0);
    let run_id = report["runId"].as_str().unwrap();
    assert_eq!(
        report["drillPath"],
        format!("/drills/ssm-keeper/{env}/{run_id}/")
    );
    let regions = report["regions"].as_array().unwrap();
    let counts: Vec<(&str, &str, u64)> = regions
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap(),
                r["result"].as_str().unwrap(),
                r["parameters"].as_u64().unwrap(),
            )
        })
        .collect();
    // A: the six kinds and the metadata (region list, default region, bucket names); the
    // deep one is not drilled. B: its parameter and its bucket name.
    assert_eq!(counts, [(A, "passed", 10), (B, "passed", 2)], "{report:#}");
    for r in regions {
        let n = r["parameters"].as_f64().unwrap();
        assert_eq!(r["projectedSeconds"].as_f64().unwrap(), n / 3.0);
        assert!(r["durationSeconds"].as_f64().unwrap() > 0.0, "{r}");
        assert_eq!(r["cleanedUp"].as_f64().unwrap(), n, "{r}");
        assert_eq!(r["cleanupError"], serde_json::Value::Null);
    }
    let skipped = regions[0]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].as_str().unwrap().contains(&format!(
            "/app/{env}/3/4/5/6/7/8/9/10/11/deep: 16 levels under the drill path (SSM allows 15)"
        )),
        "{skipped:?}"
    );
    assert!(
        run.stderr
            .contains("Metrics published (SSMKeeper/Backup, us-east-1)."),
        "{}",
        run.stderr
    );

    // Nothing left under the drill path, the environment's parameters untouched, the lock
    // released.
    for region in [A, B] {
        assert_eq!(drill_path(region, env).await, Vec::<String>::new());
        assert_eq!(metric(env, region, "DrillSuccess").await, [1.0], "{region}");
        let duration = metric(env, region, "DrillDuration").await;
        assert_eq!(duration.len(), 1, "{region}: {duration:?}");
    }
    assert_eq!(snapshot(A, &format!("/app/{env}/")).await, before);
    assert_eq!(
        parameter(A, &format!("/locks/ssm-keeper/{env}")).await,
        None
    );

    // One region, as text.
    let run = drill(&ws, &["--region", B]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.starts_with("REGION "), "{}", run.stdout);
    assert!(
        run.stdout.contains("eu-west-1        PASSED"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(A), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Every region's backup restored and read back identical; the drill path is empty."
        ),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_backup_makes_the_drill_exit_2_and_leaves_nothing() {
    let env = "drillbad";
    let ws = backed_up(env).await;
    // Someone rewrites A's latest document (lifting the bucket policy to do it).
    let bucket = ws.bucket(A);
    let key =
        String::from_utf8(object_bytes(A, &bucket, &format!("latest-{A}.txt")).await).unwrap();
    let text = String::from_utf8(object_bytes(A, &bucket, &key).await).unwrap();
    let tampered = text.replace("db.internal", "evil.example");
    assert_ne!(tampered, text);
    store_object(A, &bucket, &key, tampered.as_bytes(), true).await;

    let run = drill(&ws, &["--format", "json"]);
    assert_eq!(run.code, 2, "{run:#?}");
    let report = run.json();
    let a = &report["regions"][0];
    assert_eq!(
        (a["region"].as_str(), a["result"].as_str()),
        (Some(A), Some("differs")),
        "{report:#}"
    );
    let problems = a["problems"].to_string();
    assert!(problems.contains("single-version"), "{problems}");
    assert_eq!(a["parameters"], 0, "nothing restored from it");
    assert_eq!(report["regions"][1]["result"], "passed");
    for region in [A, B] {
        assert_eq!(drill_path(region, env).await, Vec::<String>::new());
    }
    assert_eq!(metric(env, A, "DrillSuccess").await, [0.0]);
    assert_eq!(metric(env, A, "DrillDuration").await, Vec::<f64>::new());
    assert_eq!(metric(env, B, "DrillSuccess").await, [1.0]);

    let run = drill(&ws, &["--region", A]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains("us-east-1        DIFFERS"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("us-east-1 DIFFERS: single-version"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_killed_mid_run_is_cleaned_up_by_the_next() {
    let env = "drillkill";
    let ws = backed_up(env).await;
    // The drill is held at its read-back (every parameter written), and killed there.
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let held = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.GetParameters",
        "/drills/ssm-keeper/drillkill/",
    );
    let (mut child, _stderr) = ws.spawn(
        &["restore", "--stack", env, "--drill", "--region", A],
        &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
        std::process::Stdio::null(),
    );
    held.held.recv().unwrap();
    child.kill().unwrap(); // SIGKILL: no cleanup of its own
    child.wait().unwrap();
    held.release.send(()).unwrap();
    let left = drill_path(A, env).await;
    assert_eq!(left.len(), 10, "{left:?}");

    // Its lock outlives it: removed by its id, as an operator would (or it expires).
    let lock: serde_json::Value = serde_json::from_str(
        &parameter(A, &format!("/locks/ssm-keeper/{env}"))
            .await
            .unwrap(),
    )
    .unwrap();
    let id = lock["id"].as_str().unwrap();
    let run = ws.run(&["force-unlock", "--stack", env, id, "--force"]);
    assert_eq!(run.code, 0, "{run:#?}");

    let run = drill(&ws, &["--region", A]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("Drill of us-east-1: 10 parameters left by an earlier drill deleted."),
        "{}",
        run.stderr
    );
    assert_eq!(drill_path(A, env).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_stopped_by_sigterm_deletes_what_it_wrote_and_exits_143() {
    let env = "drillterm";
    let ws = backed_up(env).await;
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let held = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.GetParameters",
        "/drills/ssm-keeper/drillterm/",
    );
    let (mut child, mut stderr) = ws.spawn(
        &["restore", "--stack", env, "--drill", "--region", A],
        &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
        std::process::Stdio::null(),
    );
    held.held.recv().unwrap();
    assert_eq!(drill_path(A, env).await.len(), 10);
    signal(&child, "TERM");
    wait_for_line(&mut stderr, "SIGTERM received");
    held.release.send(()).unwrap();
    let said: Vec<String> = stderr.map(Result::unwrap).collect();
    assert_eq!(child.wait().unwrap().code(), Some(143), "{said:#?}");
    assert!(
        said.iter().any(|l| l.contains(
            "Interrupted by SIGTERM: the drill of us-east-1 stopped and everything it wrote was deleted; no metrics published."
        )),
        "{said:#?}"
    );
    assert_eq!(drill_path(A, env).await, Vec::<String>::new());
    assert_eq!(metric(env, A, "DrillSuccess").await, Vec::<f64>::new());
    assert_eq!(
        parameter(A, &format!("/locks/ssm-keeper/{env}")).await,
        None
    );
}
