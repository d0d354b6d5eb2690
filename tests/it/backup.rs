//! backup against the emulator: the right parameters of the environment, decrypted, in each
//! region's bucket with pointers and encryption; dry runs; fail fast; Slack; no secret printed.

use crate::common::*;
use aws_sdk_ssm::types::ParameterType;
use std::collections::BTreeMap;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
const C: &str = "ap-south-1";

/// Seeds, in `region`, parameters of `env` (String, StringList, SecureString), of another
/// environment, and decoys that merely contain the environment's name. Returns what a backup of
/// `env` must hold: name -> (type, value).
async fn seed(region: &str, env: &str) -> BTreeMap<String, (String, String)> {
    let ssm = ssm(region).await;
    let put = |name: String, value: String, kind: ParameterType| {
        let ssm = ssm.clone();
        async move {
            ssm.put_parameter()
                .name(name)
                .value(value)
                .r#type(kind)
                .overwrite(true)
                .send()
                .await
                .unwrap();
        }
    };
    let mut expected = BTreeMap::new();
    for (name, value, kind) in [
        (
            format!("/app/{env}/db/host"),
            format!("db.{region}.internal"),
            ParameterType::String,
        ),
        (
            format!("/app/{env}/hosts"),
            "a,b,c".to_string(),
            ParameterType::StringList,
        ),
        (
            format!("/jenkins/{env}/db/password"),
            format!("TOPSECRET-{env}-{region}"),
            ParameterType::SecureString,
        ),
    ] {
        put(name.clone(), value.clone(), kind.clone()).await;
        expected.insert(name, (kind.as_str().to_string(), value));
    }
    for decoy in [
        format!("/prod/{env}ices/serial"), // for `dev`: /prod/devices/serial
        format!("/jenkins/{env}ops/token"), // for `dev`: /jenkins/devops/token
        format!("/app/other{env}/y"),
        format!("/app/{env}-other/z"),
    ] {
        put(decoy, "decoy".into(), ParameterType::String).await;
    }
    expected
}

/// The parameters of the backup `env`'s own metadata in `region`, as apply wrote them.
async fn metadata(region: &str, ws: &Workspace) -> BTreeMap<String, (String, String)> {
    let ssm = ssm(region).await;
    let out = ssm
        .get_parameters_by_path()
        .path(format!("/jenkins/{}/backup", ws.env))
        .recursive(true)
        .send()
        .await
        .unwrap();
    out.parameters()
        .iter()
        .map(|p| {
            (
                p.name().unwrap().to_string(),
                (
                    p.r#type().unwrap().as_str().to_string(),
                    p.value().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

async fn object_text(region: &str, bucket: &str, key: &str) -> String {
    String::from_utf8(object_bytes(region, bucket, key).await).unwrap()
}

async fn pointer_version(region: &str, bucket: &str, key: &str) -> Option<String> {
    match s3(region)
        .await
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => out.version_id().map(str::to_string),
        Err(_) => None,
    }
}

fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "secret {s} printed:\n{run:#?}"
        );
    }
}

#[tokio::test]
async fn backup_holds_exactly_the_environments_parameters_decrypted() {
    // `dev` and `prod`, so the decoys are exactly those the old `Contains dev` filter caught.
    let ws = Workspace::new("dev", &[A, B], B);
    ws.apply();
    let mut expected = BTreeMap::new();
    for region in [A, B] {
        let mut want = seed(region, "dev").await;
        want.extend(metadata(region, &ws).await);
        expected.insert(region, want);
        seed(region, "prod").await; // another environment
    }

    let run = ws.run(&["backup", "--stack", "dev"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_no_secret(&run, &["TOPSECRET"]);
    let summary_text =
        std::fs::read_to_string(ws.path("backup-work/region_summaries.json")).unwrap();
    assert!(!summary_text.contains("TOPSECRET"), "{summary_text}");
    assert!(
        !run.stderr.contains("legacy parameter"),
        "no warning when consistent: {}",
        run.stderr
    );

    let summary = ws.summary();
    for region in [A, B] {
        let s = &summary[region];
        assert_eq!(s["status"], "SUCCESS", "{summary}");
        assert_eq!(
            s["parameterCount"],
            expected[region].len() as u64,
            "{summary}"
        );
        let bucket = ws.bucket(region);
        let artifact = s["artifactPath"].as_str().unwrap();
        let key = artifact.strip_prefix(&format!("s3://{bucket}/")).unwrap();
        let prefix = format!("{region}/ssm-backup-dev-{region}-");
        assert!(key.split_once('/').unwrap().1.starts_with(&prefix), "{key}");
        assert!(key.ends_with(".json"));

        // Pointers: only written to the new object; latest.txt only for the default region.
        assert_eq!(
            object_text(region, &bucket, &format!("latest-{region}.txt")).await,
            key
        );
        let legacy = pointer_version(region, &bucket, "latest.txt").await;
        assert_eq!(legacy.is_some(), region == B, "latest.txt in {region}");

        // Encryption and checksum, read back by another client.
        let head = s3(region)
            .await
            .head_object()
            .bucket(&bucket)
            .key(key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some("AES256")
        );
        assert!(head.checksum_sha256().is_some(), "SHA-256 checksum stored");

        let doc: serde_json::Value =
            serde_json::from_str(&object_text(region, &bucket, key).await).unwrap();
        assert_eq!(doc["environment"], "dev");
        assert_eq!(doc["region"], region);
        assert_eq!(doc["account"], ACCOUNT);
        assert_eq!(doc["parameter_count"], expected[region].len() as u64);
        assert!(doc["backup_date"].is_string() && doc["backup_timestamp"].is_string());
        let got: BTreeMap<String, (String, String)> = doc["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert!(p["Version"].as_i64().unwrap() >= 1);
                assert!(p["LastModifiedDate"].is_string());
                (
                    p["Name"].as_str().unwrap().to_string(),
                    (
                        p["Type"].as_str().unwrap().to_string(),
                        p["Value"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        assert_eq!(got, expected[region], "backup of {region}");
        for decoy in ["/prod/devices/serial", "/jenkins/devops/token"] {
            assert!(!got.contains_key(decoy), "{decoy} is not part of `dev`");
        }
    }
}

#[tokio::test]
async fn dry_run_collects_and_writes_nothing() {
    let ws = Workspace::new("bkdry", &[A], A);
    ws.apply();
    let expected = seed(A, "bkdry").await.len() + metadata(A, &ws).await.len();
    let run = ws.run(&[
        "backup",
        "--stack",
        "bkdry",
        "--dry-run",
        "--summary-file",
        "out/s.json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("[DRY RUN] Skipped upload for {A}")),
        "{}",
        run.stderr
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("out/s.json")).unwrap()).unwrap();
    assert_eq!(summary[A]["status"], "DRY_RUN");
    assert_eq!(summary[A]["parameterCount"], expected as u64);
    assert_eq!(
        object_count(A, &ws.bucket(A)).await,
        0,
        "a dry run uploads nothing"
    );

    // DRY_RUN as Jenkins sets it, in any case and spelling.
    for value in ["YES", "1", "True"] {
        let run = ws.run_with(&["backup", "--stack", "bkdry"], &[("DRY_RUN", Some(value))]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            run.stderr.contains("[DRY RUN] Skipped upload"),
            "{value}: {}",
            run.stderr
        );
    }
    assert_eq!(
        object_count(A, &ws.bucket(A)).await,
        0,
        "still nothing uploaded"
    );
    // Empty (a blank parameter) and `no` are a real run.
    for value in ["", "no"] {
        let run = ws.run_with(&["backup", "--stack", "bkdry"], &[("DRY_RUN", Some(value))]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(!run.stderr.contains("[DRY RUN]"), "{value}: {}", run.stderr);
    }
}

#[tokio::test]
async fn unset_notification_secrets_warn_and_never_fail_the_backup() {
    let ws = Workspace::new("bkunset", &[A], A);
    ws.apply();
    seed(A, "bkunset").await;
    let run = ws.run_with(
        &[
            "backup",
            "--stack",
            "bkunset",
            "--notify-email",
            "",
            "--notify-email",
            "ops@example.com",
        ],
        &[
            ("SLACK_WEBHOOK_URL", Some("")),
            ("SMTP_HOST", Some("")),
            ("SMTP_FROM", None),
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    for warning in [
        "WARNING: SLACK_WEBHOOK_URL is empty (an unset secret?): no Slack notification is sent",
        "WARNING: --notify-email was given an empty address (an unset variable?): it is skipped",
        "WARNING: --notify-email needs SMTP_HOST, which is unset or empty: no e-mail is sent",
    ] {
        assert!(run.stderr.contains(warning), "{warning}: {}", run.stderr);
    }
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "SUCCESS");
}

#[tokio::test]
async fn a_failing_region_stops_the_run_and_moves_no_pointer() {
    let ws = Workspace::new("bkfail", &[A, B, C], A);
    ws.apply();
    for r in [A, B, C] {
        seed(r, "bkfail").await;
    }
    let run = ws.run(&["backup", "--stack", "bkfail"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let pointer_b = pointer_version(B, &ws.bucket(B), &format!("latest-{B}.txt")).await;
    let pointer_c = pointer_version(C, &ws.bucket(C), &format!("latest-{C}.txt")).await;
    let pointer_a = pointer_version(A, &ws.bucket(A), &format!("latest-{A}.txt")).await;
    assert!(pointer_b.is_some() && pointer_c.is_some());

    delete_param(B, &ws.param(&format!("{B}/s3-bucket-name"))).await;
    next_second();
    let run = ws.run(&["backup", "--stack", "bkfail"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("Bucket definition missing for {B}")),
        "{}",
        run.stderr
    );
    let summary = ws.summary();
    let order: Vec<&String> = summary.as_object().unwrap().keys().collect();
    assert_eq!(order, [A, B, C], "regions in run order");
    assert_eq!(summary[A]["status"], "SUCCESS");
    assert_eq!(summary[B]["status"], "FAILED");
    assert!(
        summary[B]["failureMessage"]
            .as_str()
            .unwrap()
            .contains(&format!("Bucket definition missing for {B}"))
    );
    assert_eq!(summary[C]["status"], "SKIPPED");
    assert_ne!(
        pointer_version(A, &ws.bucket(A), &format!("latest-{A}.txt")).await,
        pointer_a,
        "earlier region ran"
    );
    assert_eq!(
        pointer_version(B, &ws.bucket(B), &format!("latest-{B}.txt")).await,
        pointer_b,
        "failed region's pointer unmoved"
    );
    assert_eq!(
        pointer_version(C, &ws.bucket(C), &format!("latest-{C}.txt")).await,
        pointer_c,
        "skipped region untouched"
    );
}

#[tokio::test]
async fn region_timeout_fails_the_region_and_skips_the_rest() {
    let ws = Workspace::new("bktime", &[A, B], A);
    ws.apply();
    // 25 parameters take at least four SSM requests (one listing, three batches); at one
    // request a second the region cannot finish within one second.
    for i in 0..25 {
        put_string(A, &format!("/app/bktime/p{i:02}"), "v").await;
    }
    let run = ws.run(&[
        "backup",
        "--stack",
        "bktime",
        "--region-timeout",
        "1s",
        "--max-rps",
        "1",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "FAILED");
    assert!(
        summary[A]["failureMessage"]
            .as_str()
            .unwrap()
            .contains("did not finish within its timeout"),
        "{summary}"
    );
    assert_eq!(summary[B]["status"], "SKIPPED");
    assert_eq!(
        pointer_version(A, &ws.bucket(A), &format!("latest-{A}.txt")).await,
        None
    );
}

/// `--timeout 1s` is reported as one second, not "0 min".
#[tokio::test]
async fn the_overall_timeout_is_reported_as_given() {
    let ws = Workspace::new("bkoverall", &[A], A);
    ws.apply();
    for i in 0..25 {
        put_string(A, &format!("/app/bkoverall/p{i:02}"), "v").await;
    }
    let run = ws.run(&[
        "backup",
        "--stack",
        "bkoverall",
        "--timeout",
        "1s",
        "--max-rps",
        "1",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    let message = ws.summary()[A]["failureMessage"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        format!("the overall timeout (1s) ran out during {A}")
    );
    assert!(run.stderr.contains(&message), "{}", run.stderr);
}

#[tokio::test]
async fn legacy_key_pointing_elsewhere_is_a_warning() {
    let ws = Workspace::new("bklegacy", &[A], A);
    ws.apply();
    put_string(A, &ws.param("s3-bucket-name"), "some-old-bucket").await;
    let run = ws.run(&["backup", "--stack", "bklegacy", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("WARNING: the legacy parameter /jenkins/bklegacy/backup/s3-bucket-name holds some-old-bucket"), "{}", run.stderr);
    let summary = ws.summary();
    assert!(
        summary[A]["warnings"][0].as_str().unwrap().starts_with(
            "the legacy parameter /jenkins/bklegacy/backup/s3-bucket-name holds some-old-bucket"
        ),
        "the summary tells the whole truth: {summary}"
    );
}

#[tokio::test]
async fn a_malformed_default_region_is_a_warning_not_an_abort() {
    let ws = Workspace::new("bkdefault", &[A, B], A);
    ws.apply();
    put_string(A, &ws.param("default-region"), "tokyo").await;
    let run = ws.run(&["backup", "--stack", "bkdefault"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "SUCCESS");
    assert_eq!(summary[B]["status"], "SUCCESS");
    assert!(
        summary[A]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("holds `tokyo`, which is not a region name: latest.txt is not written"),
        "{summary}"
    );
    assert_eq!(pointer_version(A, &ws.bucket(A), "latest.txt").await, None);
    assert!(
        pointer_version(A, &ws.bucket(A), &format!("latest-{A}.txt"))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn keep_going_backs_up_every_healthy_region_and_still_fails() {
    let ws = Workspace::new("bkgoing", &[A, B, C], A);
    ws.apply();
    delete_param(B, &ws.param(&format!("{B}/s3-bucket-name"))).await;
    let run = ws.run(&["backup", "--stack", "bkgoing", "--keep-going"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "SUCCESS");
    assert_eq!(summary[B]["status"], "FAILED");
    assert_eq!(summary[C]["status"], "SUCCESS", "{summary}");
    assert!(
        pointer_version(C, &ws.bucket(C), &format!("latest-{C}.txt"))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn sigterm_stops_the_run_moves_no_pointer_and_exits_143() {
    let ws = Workspace::new("bkterm", &[A, B], A);
    ws.apply();
    for i in 0..25 {
        put_string(A, &format!("/app/bkterm/p{i:02}"), "v").await;
    }
    // The signal comes while the first values are read: under the lock, collecting.
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let held = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.GetParameters",
        "\"WithDecryption\":true",
    );
    let (mut child, lines) = ws.spawn(
        &["backup", "--stack", "bkterm"],
        &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
        std::process::Stdio::null(),
    );
    std::thread::spawn(move || lines.for_each(drop));
    held.held.recv().unwrap();
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    held.release.send(()).unwrap();
    assert_eq!(status.code(), Some(143), "{status:?}");
    let summary = ws.summary();
    assert_eq!(summary[A]["status"], "FAILED");
    assert_eq!(summary[A]["failureMessage"], "interrupted");
    assert_eq!(summary[B]["status"], "SKIPPED");
    assert_eq!(
        summary[B]["failureMessage"],
        "skipped: the run was interrupted"
    );
    for (region, key) in [(A, format!("latest-{A}.txt")), (A, "latest.txt".into())] {
        assert_eq!(
            pointer_version(region, &ws.bucket(region), &key).await,
            None
        );
    }
}

#[tokio::test]
async fn missing_region_list_is_reported_as_the_runbook_says() {
    let ws = Workspace::new("bknone", &[A], A);
    let run = ws.run(&["backup", "--stack", "bknone"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("Region list parameter /jenkins/bknone/backup/region-list is missing"),
        "{}",
        run.stderr
    );

    put_string(A, "/jenkins/bknone/backup/region-list", "[]").await;
    let run = ws.run(&["backup", "--stack", "bknone"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("No regions configured"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn slack_gets_one_message_without_values() {
    let ws = Workspace::new("bkslack", &[A], A);
    ws.apply();
    seed(A, "bkslack").await;
    let (url, payload) = slack_receiver();
    let run = ws.run(&["backup", "--stack", "bkslack", "--notify-slack", &url]);
    assert_eq!(run.code, 0, "{run:#?}");
    let body = payload.recv().unwrap();
    assert!(!body.contains("TOPSECRET"), "{body}");
    let message: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["status"], "SUCCESS");
    assert_eq!(message["regions"][A]["status"], "SUCCESS");
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains(&format!("`{A}` SUCCESS")),
        "{message}"
    );
    assert!(
        !run.stderr.contains("T000/B000"),
        "the webhook URL is a credential: {}",
        run.stderr
    );

    // A receiver that is not there: a warning, not a failed backup.
    let run = ws.run(&[
        "backup",
        "--stack",
        "bkslack",
        "--notify-slack",
        "http://127.0.0.1:9/hook",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("WARNING: the Slack notification failed"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn email_goes_over_starttls_with_fail_in_the_subject_and_no_value() {
    let ws = Workspace::new("bkmail", &[A, B], A);
    ws.apply();
    for r in [A, B] {
        seed(r, "bkmail").await;
    }
    let sink = SmtpSink::start();
    let mail = [
        "backup",
        "--stack",
        "bkmail",
        "--notify-email",
        "ops@example.com",
        "--notify-email",
        "Oncall <oncall@example.com>",
    ];
    let run = ws.run_with(&mail, &sink.env());
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("E-mail sent."), "{}", run.stderr);

    delete_param(B, &ws.param(&format!("{B}/s3-bucket-name"))).await;
    let run = ws.run_with(&mail, &sink.env());
    assert_eq!(run.code, 1, "{run:#?}");

    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "one message per run");
    for m in &messages {
        assert!(m.contains("X-Sink-TLS: yes"), "STARTTLS: {m}");
        assert!(m.contains("X-Sink-Auth: yes"), "{m}");
        assert!(
            m.contains("X-Sink-Rcpt-To: ops@example.com, oncall@example.com"),
            "{m}"
        );
        assert!(!m.contains("TOPSECRET"), "a value in the e-mail: {m}");
    }
    let subject = |m: &str| {
        m.lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        subject(&messages[0]),
        "SSM Parameter Store backup `bkmail`: succeeded"
    );
    assert_eq!(
        subject(&messages[1]),
        "[FAIL] SSM Parameter Store backup `bkmail`: FAILED"
    );
    assert!(messages[1].contains(&format!("{B} failed: Bucket definition missing for {B}")));
    assert!(
        messages[1]
            .lines()
            .any(|l| l.starts_with(A) && l.contains("SUCCESS"))
    );
    for run_output in [&run.stdout, &run.stderr] {
        assert!(!run_output.contains(SMTP_PASSWORD), "{run_output}");
    }

    // A wrong password, a server that is not there, one that never answers: a warning each
    // time, and the backup is not affected.
    ws.apply();
    let warned = |env: &[(&str, Option<&str>)], why: &str| {
        let run = ws.run_with(&mail, env);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            run.stderr
                .contains("WARNING: the e-mail notification failed")
                && run.stderr.contains(why),
            "{}",
            run.stderr
        );
    };
    let mut env = sink.env();
    env[4] = ("SMTP_PASSWORD", Some("wrong"));
    warned(&env, "");
    assert_eq!(sink.messages().len(), 2, "nothing accepted without AUTH");
    env[1] = ("SMTP_PORT", Some("9"));
    warned(&env, "127.0.0.1:9");
    // Given up after SMTP_TIMEOUT.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    env[1] = ("SMTP_PORT", Some(&port));
    env.push(("SMTP_TIMEOUT", Some("2")));
    warned(&env, "did not answer within 2s (SMTP_TIMEOUT)");
}

#[tokio::test]
async fn parameter_paths_select_exactly_those_paths() {
    let ws = Workspace::new("bkpaths", &[A], A);
    let stack = std::fs::read_to_string(ws.path("stacks/bkpaths.yaml")).unwrap();
    ws.write_raw(
        "bkpaths",
        &format!("{stack}parameterPaths: [/app/bkpaths/]\n"),
    );
    ws.apply();
    seed(A, "bkpaths").await;
    // The segment rule would take this one (it holds `/bkpaths/`); the paths do not.
    put_string(A, "/jenkins/prod/bkpaths/api-key", "another-environment").await;
    let run = ws.run(&["backup", "--stack", "bkpaths"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let bucket = ws.bucket(A);
    let key = object_text(A, &bucket, &format!("latest-{A}.txt")).await;
    let doc: serde_json::Value =
        serde_json::from_str(&object_text(A, &bucket, &key).await).unwrap();
    let mut names: Vec<&str> = doc["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["/app/bkpaths/db/host", "/app/bkpaths/hosts"]);
}

#[tokio::test]
async fn backup_follows_every_page_of_the_listing() {
    let ws = Workspace::new("bkpages", &[A], A);
    ws.apply();
    let expected = seed(A, "bkpages").await.len() + metadata(A, &ws).await.len();
    // AWS may page DescribeParameters as it likes: an empty first page, then one at a time.
    let proxy = crate::proxy::Proxy::start(13);
    proxy.partial_pages();
    let run = ws.run_with(
        &[
            "backup",
            "--stack",
            "bkpages",
            "--summary-file",
            "out/s.json",
        ],
        &proxy.env(),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("out/s.json")).unwrap()).unwrap();
    assert_eq!(summary[A]["parameterCount"], expected as u64);
}

/// The key of the document a region's backup stored, from the default summary file.
fn stored_key(ws: &Workspace, region: &str) -> String {
    let summary = ws.summary();
    let artifact = summary[region]["artifactPath"].as_str().unwrap();
    let bucket = ws.bucket(region);
    artifact
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_pointer_whose_answer_was_lost_is_found_moved_by_this_run() {
    let ws = Workspace::new("bkptrlost", &[A], A);
    ws.apply();
    seed(A, "bkptrlost").await;
    let pointer = format!("latest-{A}.txt");
    // The first pointer write (create-only, the pointer is new) is carried out but its answer
    // is lost: the SDK's retry is refused (412), and the pointer already names this backup.
    let proxy = crate::proxy::Proxy::start(17);
    proxy.lose_next_answer_at("s3:PutObject", &pointer);
    let run = ws.run_with(&["backup", "--stack", "bkptrlost"], &proxy.env());
    assert_eq!(run.code, 0, "{run:#?}");
    let faulted = proxy
        .record()
        .iter()
        .filter(|r| r.operation == "s3:PutObject" && r.fault.is_some())
        .count();
    assert_eq!(faulted, 1, "the pointer's answer was lost once");
    let first = stored_key(&ws, A);
    assert_eq!(object_text(A, &ws.bucket(A), &pointer).await, first);

    // Again, now moving an existing pointer (If-Match on its ETag), the answer lost again.
    next_second();
    proxy.lose_next_answer_at("s3:PutObject", &pointer);
    let run = ws.run_with(&["backup", "--stack", "bkptrlost"], &proxy.env());
    assert_eq!(run.code, 0, "{run:#?}");
    let second = stored_key(&ws, A);
    assert_ne!(second, first);
    assert_eq!(object_text(A, &ws.bucket(A), &pointer).await, second);
}

#[tokio::test]
async fn a_pointer_moved_by_another_writer_during_the_run_is_left_as_it_is() {
    let ws = Workspace::new("bkptrrace", &[A], A);
    ws.apply();
    seed(A, "bkptrrace").await;
    let run = ws.run(&["backup", "--stack", "bkptrrace"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let pointer = format!("latest-{A}.txt");
    let bucket = ws.bucket(A);

    // Just before this run moves the pointer, another writer moves it.
    next_second();
    let proxy = crate::proxy::Proxy::start(19);
    let (hook_bucket, hook_key) = (bucket.clone(), pointer.clone());
    proxy.before_next("s3:PutObject", &pointer, move || async move {
        store_object(A, &hook_bucket, &hook_key, b"someone-else.json", true).await;
    });
    let run = ws.run_with(&["backup", "--stack", "bkptrrace"], &proxy.env());
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("another writer moved it (to someone-else.json) since this run read it"),
        "{run:#?}"
    );
    assert_eq!(object_text(A, &bucket, &pointer).await, "someone-else.json");
}

/// `--parallel-regions N` starts up to N regions at once: a region running beside one that
/// fails still finishes (both were started before the failure), the summary keeps the list's
/// order, and the exit code says a region failed. A region not yet started is skipped.
#[tokio::test(flavor = "multi_thread")]
async fn parallel_regions_run_side_by_side_and_a_failure_skips_only_those_not_started() {
    let ws = Workspace::new("bkpar", &[A, B, C], A);
    ws.apply();
    for r in [A, B, C] {
        seed(r, "bkpar").await;
    }
    delete_param(A, &ws.param(&format!("{A}/s3-bucket-name"))).await;
    // One after the other (the default): A fails first, B and C are skipped.
    let run = ws.run(&["backup", "--stack", "bkpar"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    assert_eq!(
        [
            &summary[A]["status"],
            &summary[B]["status"],
            &summary[C]["status"]
        ],
        ["FAILED", "SKIPPED", "SKIPPED"]
    );
    // All three at once: A fails, B and C were running beside it and finish.
    let run = ws.run(&["backup", "--stack", "bkpar", "--parallel-regions", "3"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let summary = ws.summary();
    let order: Vec<&String> = summary.as_object().unwrap().keys().collect();
    assert_eq!(order, [A, B, C], "regions in list order");
    assert_eq!(
        [
            &summary[A]["status"],
            &summary[B]["status"],
            &summary[C]["status"]
        ],
        ["FAILED", "SUCCESS", "SUCCESS"]
    );
    for r in [B, C] {
        assert!(
            pointer_version(r, &ws.bucket(r), &format!("latest-{r}.txt"))
                .await
                .is_some(),
            "{r}"
        );
    }
    let run = ws.run(&["backup", "--stack", "bkpar", "--parallel-regions", "0"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("--parallel-regions"), "{}", run.stderr);
}

/// Two runs of an environment in one second with different content: the second's document is
/// named to the next second (the seeds' key has seconds), both are stored, nothing overwritten.
/// The clock decides whether two runs share a second: tried until they did.
#[tokio::test]
async fn a_second_backup_in_the_same_second_is_named_to_the_next_one() {
    let ws = Workspace::new("bksamesec", &[A], A);
    ws.apply();
    let name = "/app/bksamesec/changing";
    for attempt in 0..10 {
        next_second();
        put_string(A, name, &format!("first-{attempt}")).await;
        let first = ws.run(&["backup", "--stack", "bksamesec"]);
        assert_eq!(first.code, 0, "{first:#?}");
        let first_key = stored_key(&ws, A);
        put_string(A, name, &format!("second-{attempt}")).await;
        let second = ws.run(&["backup", "--stack", "bksamesec"]);
        assert_eq!(second.code, 0, "{second:#?}");
        let second_key = stored_key(&ws, A);
        let started = |run: &Run| {
            let line = run.stderr.lines().find(|l| l.starts_with("Backup of"));
            line.unwrap_or_default().to_string()
        };
        let stamp = |line: String| line.rsplit(", ").next().unwrap_or_default().to_string();
        if stamp(started(&first)) != stamp(started(&second)) {
            continue; // two seconds: nothing to prove this time
        }
        assert_ne!(first_key, second_key);
        assert!(second_key > first_key, "{second_key} after {first_key}");
        assert!(
            second
                .stderr
                .contains("this one is named to the next second"),
            "{}",
            second.stderr
        );
        let bucket = ws.bucket(A);
        let stored = |key: String| {
            let bucket = bucket.clone();
            async move {
                serde_json::from_slice::<serde_json::Value>(&object_bytes(A, &bucket, &key).await)
                    .unwrap()
            }
        };
        let (a, b) = (
            stored(first_key.clone()).await,
            stored(second_key.clone()).await,
        );
        let value = |doc: &serde_json::Value| {
            doc["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["Name"] == name)
                .map(|p| p["Value"].as_str().unwrap().to_string())
        };
        assert_eq!(value(&a), Some(format!("first-{attempt}")));
        assert_eq!(value(&b), Some(format!("second-{attempt}")));
        assert!(second_key.contains(b["backup_timestamp"].as_str().unwrap()));
        let pointer = object_text(A, &bucket, &format!("latest-{A}.txt")).await;
        assert_eq!(
            pointer.trim(),
            second_key,
            "the pointer names the newer one"
        );
        return;
    }
    panic!("no two backups started in the same second in ten tries");
}

/// The first region's listing goes out while the region list is read (from the stack file's
/// regions), not a round trip after it: the read of the list is held until a listing request
/// arrives, which a listing started after it never does. A region of the stack file that the
/// list does not name (apply not run since it was added) is listed ahead, then dropped: the
/// run backs up the list's regions, each from its own listing.
#[tokio::test]
async fn the_first_listing_starts_while_the_region_list_is_read() {
    let env = "bkahead";
    let ws = Workspace::new(env, &[A], A);
    ws.apply();
    seed(A, env).await;
    let proxy = crate::proxy::Proxy::start(31);
    let limit = std::time::Duration::from_secs(30);
    let arrived = proxy.arrival_of("ssm:DescribeParameters", "", limit);
    let (told, seen) = std::sync::mpsc::channel();
    proxy.before_next("ssm:GetParameters", "/", move || async move {
        told.send(arrived.await).unwrap();
    });
    let run = ws.run_with(&["backup", "--stack", env], &proxy.env());
    assert_eq!(run.code, 0, "{run:#?}");
    // The run is over: the hook ran before the held read went on, or never.
    assert_eq!(
        seen.try_recv(),
        Ok(true),
        "no listing went out while the region list was read: {:#?}",
        proxy.record()
    );
    let count = ws.summary()[A]["parameterCount"].clone();
    assert!(count.as_u64().unwrap() >= 4, "{count}");

    // The stack file names a region first that the region list does not.
    ws.write_stack(&[B, A], A, A);
    next_second();
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let summary = ws.summary();
    let regions: Vec<&String> = summary.as_object().unwrap().keys().collect();
    assert_eq!(regions, [A], "the list's regions, not the stack file's");
    assert_eq!(summary[A]["status"], "SUCCESS");
    assert_eq!(summary[A]["parameterCount"], count, "A's own listing");
    assert_no_secret(&run, &["TOPSECRET"]);
}
