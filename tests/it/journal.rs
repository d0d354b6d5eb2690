//! The change journal as stack resources: plan and apply create, repair and remove the
//! EventBridge rule, the CloudWatch Logs group and the account's shared Logs resource policy,
//! checked in the emulator with the SDK. Each test keeps to a region no other test journals in
//! (the Logs policy is one per region for every stack).

use crate::common::*;

async fn events(region: &str) -> aws_sdk_eventbridge::Client {
    let conf = sdk_config(region, &emulator().endpoint).await;
    aws_sdk_eventbridge::Client::new(&conf)
}

async fn logs(region: &str) -> aws_sdk_cloudwatchlogs::Client {
    let conf = sdk_config(region, &emulator().endpoint).await;
    aws_sdk_cloudwatchlogs::Client::new(&conf)
}

fn rule_name(env: &str) -> String {
    format!("{PROJECT}-ssm-backup-{env}-journal")
}

fn group_name(env: &str) -> String {
    format!("/ssm-keeper/{PROJECT}/{env}/journal")
}

/// The retention of the log group, `None` when it is absent, `Some(None)` when kept forever.
async fn retention(region: &str, group: &str) -> Option<Option<i32>> {
    let out = logs(region)
        .await
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap();
    out.log_groups
        .unwrap_or_default()
        .into_iter()
        .find(|g| g.log_group_name.as_deref() == Some(group))
        .map(|g| g.retention_in_days)
}

/// The names of the account's Logs resource policies in `region`.
async fn logs_policies(region: &str) -> Vec<String> {
    let out = logs(region)
        .await
        .describe_resource_policies()
        .send()
        .await
        .unwrap();
    out.resource_policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_name)
        .collect()
}

/// The rule's event pattern and its targets' (id, ARN), `None` when it is absent.
async fn rule(region: &str, name: &str) -> Option<(serde_json::Value, Vec<(String, String)>)> {
    let client = events(region).await;
    let described = client.describe_rule().name(name).send().await.ok()?;
    let pattern = serde_json::from_str(&described.event_pattern.unwrap()).unwrap();
    let targets = client
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.id, t.arn))
        .collect();
    Some((pattern, targets))
}

#[tokio::test]
async fn a_journal_is_created_repaired_and_removed_with_its_section() {
    const R: &str = "ca-central-1";
    let env = "journal1";
    let ws = Workspace::new(env, &[R], R);
    let journal = "journal: {retentionDays: 30}\nparameterPaths: [/app/journal1/]\n";
    ws.write_stack_with(&[R], journal);
    let plan = ws.plan_json(2);
    let planned = changes(&plan);
    for (kind, name) in [
        ("log-group", group_name(env)),
        ("logs-policy", "ssm-keeper-journal".to_string()),
        ("event-rule", rule_name(env)),
    ] {
        assert!(
            planned.contains(&change("create", kind, &name, &[])),
            "{kind}: {planned:?}"
        );
    }
    ws.apply();
    assert_eq!(ws.plan_json(0)["changes"], serde_json::json!([]));
    assert_eq!(retention(R, &group_name(env)).await, Some(Some(30)));
    assert_eq!(logs_policies(R).await, ["ssm-keeper-journal"]);
    let (pattern, targets) = rule(R, &rule_name(env)).await.expect("the rule");
    assert_eq!(pattern["source"], serde_json::json!(["aws.ssm"]));
    assert_eq!(
        pattern["detail"]["name"],
        serde_json::json!([{ "prefix": "/app/journal1/" }])
    );
    let arn = format!("arn:aws:logs:{R}:{ACCOUNT}:log-group:{}", group_name(env));
    assert_eq!(targets, [("journal".to_string(), arn.clone())]);

    // Drift made outside: a shorter retention and a second target. The plan shows each
    // attribute; apply puts them back.
    logs(R)
        .await
        .put_retention_policy()
        .log_group_name(group_name(env))
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    events(R)
        .await
        .put_targets()
        .rule(rule_name(env))
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("elsewhere")
                .arn(format!("arn:aws:sqs:{R}:{ACCOUNT}:exfiltrate"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let planned = changes(&ws.plan_json(2));
    assert_eq!(
        planned,
        [
            change("update", "event-rule", &rule_name(env), &["rule-targets"]),
            change("update", "log-group", &group_name(env), &["log-retention"]),
        ]
    );
    ws.apply();
    assert_eq!(ws.plan_json(0)["changes"], serde_json::json!([]));
    assert_eq!(retention(R, &group_name(env)).await, Some(Some(30)));
    assert_eq!(
        rule(R, &rule_name(env)).await.unwrap().1,
        [("journal".to_string(), arn)]
    );

    // The section removed: the rule and the policy go with a plain apply; the log group (the
    // history) stays until asked for.
    ws.write_stack_with(&[R], "parameterPaths: [/app/journal1/]\n");
    let planned = changes(&ws.plan_json(2));
    assert_eq!(
        planned,
        [
            change("delete", "event-rule", &rule_name(env), &[]),
            change("delete", "logs-policy", "ssm-keeper-journal", &[]),
            change("retain", "log-group", &group_name(env), &[]),
        ]
    );
    ws.apply();
    assert!(rule(R, &rule_name(env)).await.is_none());
    assert!(logs_policies(R).await.is_empty());
    assert_eq!(retention(R, &group_name(env)).await, Some(Some(30)));
    let run = ws.run(&[
        "apply",
        "--stack",
        env,
        "--auto-approve",
        "--destroy-removed-journals",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(retention(R, &group_name(env)).await, None);
    assert_eq!(ws.plan_json(0)["changes"], serde_json::json!([]));
}

#[tokio::test]
async fn twenty_stacks_in_one_region_each_get_their_journal() {
    const R: &str = "sa-east-1";
    let spaces: Vec<Workspace> = (0..20)
        .map(|i| {
            let env = format!("jr{i:02}");
            let ws = Workspace::new(&env, &[R], R);
            ws.write_stack_with(&[R], "journal: {retentionDays: 60}\n");
            ws
        })
        .collect();
    std::thread::scope(|scope| {
        for chunk in spaces.chunks(5) {
            scope.spawn(move || {
                for ws in chunk {
                    ws.apply();
                }
            });
        }
    });
    for ws in &spaces {
        assert_eq!(retention(R, &group_name(&ws.env)).await, Some(Some(60)));
        assert!(rule(R, &rule_name(&ws.env)).await.is_some(), "{}", ws.env);
    }
    // One account-level policy serves them all (Logs allows 10 a region).
    assert_eq!(logs_policies(R).await, ["ssm-keeper-journal"]);
    // One stack leaves: the others' journals keep the policy.
    let first = &spaces[0];
    first.write_stack_with(&[R], "");
    let planned = changes(&first.plan_json(2));
    assert!(
        !planned.iter().any(|(_, kind, ..)| kind == "logs-policy"),
        "{planned:?}"
    );
    first.apply();
    assert_eq!(logs_policies(R).await, ["ssm-keeper-journal"]);
    for ws in &spaces[1..] {
        assert_eq!(
            ws.plan_json(0)["changes"],
            serde_json::json!([]),
            "{}",
            ws.env
        );
    }
}

/// Runs `changes` with `args` after `--stack`, asserting the exit code; no value of `secrets`
/// may appear in what it printed.
fn changes_of(ws: &Workspace, args: &[&str], code: i32, secrets: &[&str]) -> Run {
    let mut all = vec!["changes", "--stack", ws.env.as_str()];
    all.extend_from_slice(args);
    let run = ws.run(&all);
    assert_eq!(run.code, code, "{run:#?}");
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a value was printed: {run:#?}"
        );
    }
    run
}

#[tokio::test]
async fn changes_lists_who_changed_what_from_the_journal_and_never_a_value() {
    const R: &str = "eu-north-1";
    let env = "chg";
    let ws = Workspace::new(env, &[R], R);
    ws.write_stack_with(&[R], "journal: {retentionDays: 30}\n");
    ws.apply();
    let start = time::OffsetDateTime::now_utc() - time::Duration::seconds(2);
    let (secret, plain) = ("s3cr3t-value-9f2", "plain-value-77a");
    let (db, host, gone) = (
        format!("/app/{env}/db/password"),
        format!("/app/{env}/host"),
        format!("/app/{env}/old"),
    );
    put_secure(R, &db, secret).await;
    put_string(R, &host, plain).await;
    put_string(R, &host, &format!("{plain}-2")).await;
    put_string(R, &gone, plain).await;
    ssm(R)
        .await
        .label_parameter_version()
        .name(&host)
        .labels("release")
        .send()
        .await
        .unwrap();
    delete_param(R, &gone).await;
    // Another environment's parameter and this stack's own metadata are never listed.
    put_string(R, "/app/other/x", plain).await;
    let secrets = [secret, plain];

    let since = ssm_keeper::core::changes::utc(start);
    let run = changes_of(&ws, &["--since", &since, "--format", "json"], 0, &secrets);
    let report = run.json();
    let rows: Vec<(String, String, serde_json::Value)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["operation"].as_str().unwrap().to_string(),
                c["currentVersion"].clone(),
            )
        })
        .collect();
    let expect = |name: &str, op: &str, version: serde_json::Value| {
        assert!(
            rows.contains(&(name.to_string(), op.to_string(), version.clone())),
            "{name} {op} {version}: {rows:?}"
        );
    };
    expect(&db, "Create", serde_json::json!(1));
    expect(&host, "Create", serde_json::json!(2));
    expect(&host, "Update", serde_json::json!(2));
    expect(&host, "LabelParameterVersion", serde_json::json!(2));
    expect(&gone, "Create", serde_json::Value::Null);
    expect(&gone, "Delete", serde_json::Value::Null);
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert_eq!(
        report["regions"],
        serde_json::json!([{"region": R, "journal": true}])
    );
    let host_row = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == host.as_str())
        .unwrap();
    assert!(
        host_row["modifiedBy"]
            .as_str()
            .is_some_and(|u| u.starts_with("arn:")),
        "{host_row}"
    );

    // The table and the PR comment; --detailed-exitcode; --only.
    let text = changes_of(
        &ws,
        &["--since", &since, "--detailed-exitcode"],
        2,
        &secrets,
    )
    .stdout;
    assert!(
        text.contains("LabelParameterVersion") && text.contains("deleted"),
        "{text}"
    );
    let md = changes_of(
        &ws,
        &["--since", &since, "--format", "markdown"],
        0,
        &secrets,
    )
    .stdout;
    assert!(md.contains(&format!("| `{db}` |")), "{md}");
    let only = changes_of(
        &ws,
        &[
            "--since",
            &since,
            "--only",
            &format!("/app/{env}/db/"),
            "--format",
            "json",
        ],
        0,
        &secrets,
    );
    assert_eq!(only.json()["changes"].as_array().unwrap().len(), 1);

    // --history: every version in the window, what it changed, never its value.
    let run = changes_of(
        &ws,
        &["--since", &since, "--history", "--format", "json"],
        0,
        &secrets,
    );
    let history = run.json()["history"].clone();
    let versions: Vec<(String, i64, serde_json::Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["version"].as_i64().unwrap(),
                h["changed"].clone(),
            )
        })
        .collect();
    assert!(
        versions.contains(&(host.clone(), 1, serde_json::json!(["created"]))),
        "{versions:?}"
    );
    assert!(
        versions.contains(&(host.clone(), 2, serde_json::json!(["value"]))),
        "{versions:?}"
    );
    assert!(
        versions.contains(&(db.clone(), 1, serde_json::json!(["created"]))),
        "{versions:?}"
    );

    // A journal that stopped recording (its rule disabled) hides no change: the listing's last
    // modification shows, marked as not in the journal.
    events(R)
        .await
        .disable_rule()
        .name(rule_name(env))
        .send()
        .await
        .unwrap();
    // Past the slack within which an event and a version are taken to match.
    for _ in 0..=ssm_keeper::core::changes::SLACK_SECONDS {
        next_second();
    }
    put_string(R, &host, "while-disabled").await;
    let run = changes_of(&ws, &["--since", &since, "--format", "json"], 0, &secrets);
    let unrecorded: Vec<serde_json::Value> = run.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source"] == "unrecorded")
        .cloned()
        .collect();
    assert_eq!(unrecorded.len(), 1, "{run:#?}");
    assert_eq!(unrecorded[0]["name"], host.as_str());
    let text = changes_of(&ws, &["--since", &since], 0, &secrets).stdout;
    assert!(text.contains("NOT IN THE JOURNAL"), "{text}");
    // The plan shows the disabled rule, and apply enables it again.
    let planned = changes(&ws.plan_json(2));
    assert!(
        planned.contains(&change(
            "update",
            "event-rule",
            &rule_name(env),
            &["rule-state"]
        )),
        "{planned:?}"
    );
    ws.apply();

    // A window before any change: none, exit 0 with --detailed-exitcode.
    let early = ssm_keeper::core::changes::utc(start - time::Duration::hours(2));
    changes_of(
        &ws,
        &["--since", &early, "--until", &early, "--detailed-exitcode"],
        0,
        &secrets,
    );
    // A moment without its zone is refused before any call.
    let run = ws.run(&["changes", "--stack", env, "--since", "2026-12-07 14:00"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("not a moment with its zone"),
        "{run:#?}"
    );
}

#[tokio::test]
async fn without_a_journal_changes_says_so_and_shows_each_last_change() {
    const R: &str = "eu-north-1";
    let env = "chgnoj";
    let ws = Workspace::new(env, &[R], R);
    ws.apply();
    let name = format!("/app/{env}/a");
    put_string(R, &name, "v1").await;
    put_string(R, &name, "v2").await;
    let run = changes_of(&ws, &["--format", "json"], 0, &["v1", "v2"]);
    let report = run.json();
    assert_eq!(
        report["regions"],
        serde_json::json!([{"region": R, "journal": false}])
    );
    let rows = report["changes"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report:#}");
    assert_eq!(rows[0]["operation"], "Update");
    assert_eq!(rows[0]["source"], "metadata");
    let text = changes_of(&ws, &[], 0, &[]).stdout;
    assert!(text.contains("no journal"), "{text}");
}

#[tokio::test]
async fn snapshots_lists_each_backup_its_stamp_and_copy_and_the_window() {
    const R: &str = "ap-south-1";
    const C: &str = "eu-north-1";
    let env = "snaps";
    let ws = Workspace::new(env, &[R, C], R);
    ws.write_stack_with(
        &[R, C],
        &format!("journal: {{retentionDays: 30}}\ncopies:\n  {R}: {C}\n"),
    );
    ws.apply();
    let (secret, plain) = ("snapshot-secret-31c", "snapshot-plain-77e");
    put_secure(R, &format!("/app/{env}/db"), secret).await;
    put_string(R, &format!("/app/{env}/host"), plain).await;
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    next_second();
    put_string(R, &format!("/app/{env}/port"), "1").await;
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");

    let run = ws.run(&["snapshots", "--stack", env, "--format", "json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    for value in [secret, plain] {
        assert!(
            !run.stdout.contains(value) && !run.stderr.contains(value),
            "{run:#?}"
        );
    }
    let report = run.json();
    let region = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == R)
        .unwrap()
        .clone();
    let backups = region["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 2, "{region:#}");
    // The stamps' counts (the environment's metadata is backed up too): one more the second
    // time.
    let counts: Vec<u64> = backups
        .iter()
        .map(|b| b["parameterCount"].as_u64().unwrap())
        .collect();
    assert!(counts[0] >= 2 && counts[1] == counts[0] + 1, "{counts:?}");
    for b in backups {
        assert_eq!(b["stamp"], "stamped", "{b}");
        assert_eq!(b["copy"], true, "{b}");
        assert!(b["bytes"].as_u64().unwrap() > 0, "{b}");
    }
    // The journal was there before the first backup: the oldest backup bounds the window.
    assert_eq!(region["window"]["fromBound"], "oldest-backup", "{region:#}");
    assert_eq!(region["window"]["from"], backups[0]["stored"]);
    // C keeps no copy of its own: `copy` is null; its backups are there too.
    let other = report["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == C)
        .unwrap();
    assert!(
        other["backups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["copy"].is_null())
    );

    // A copy deleted: listed as missing. The table and the markdown say so.
    let key = backups[0]["key"].as_str().unwrap();
    s3(C)
        .await
        .delete_object()
        .bucket(ws.bucket(C))
        .key(format!("copies/{key}"))
        .send()
        .await
        .unwrap();
    let run = ws.run(&["snapshots", "--stack", env, "--region", R]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("MISSING") && run.stdout.contains("restore --at reaches from"),
        "{}",
        run.stdout
    );
    let run = ws.run(&["snapshots", "--stack", env, "--format", "markdown"]);
    assert!(run.stdout.contains(&format!("`{key}`")), "{}", run.stdout);
}

/// A parameter's (type, value decrypted, description) now, `None` when absent.
async fn state(region: &str, name: &str) -> Option<(String, String, Option<String>)> {
    let client = ssm(region).await;
    let p = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .ok()?
        .parameter?;
    let described = client
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values(name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let description = described
        .parameters
        .unwrap_or_default()
        .into_iter()
        .next()
        .and_then(|d| d.description);
    Some((
        p.r#type.unwrap().as_str().to_string(),
        p.value.unwrap(),
        description,
    ))
}

async fn put(region: &str, name: &str, kind: &str, value: &str, description: Option<&str>) {
    ssm(region)
        .await
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::from(kind))
        .set_description(description.map(str::to_string))
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// A moment strictly between what was written before it and what is written after it: the
/// clock moves on a second before and after (events carry whole seconds).
fn moment() -> time::OffsetDateTime {
    next_second();
    let at = time::OffsetDateTime::now_utc();
    next_second();
    at
}

#[tokio::test]
async fn restore_at_gives_each_parameters_exact_state_at_each_moment() {
    const R: &str = "ap-southeast-2";
    let env = "pit";
    let ws = Workspace::new(env, &[R], R);
    ws.write_stack_with(&[R], "journal: {retentionDays: 30}\n");
    ws.apply();
    let name = |n: &str| format!("/app/{env}/{n}");
    let (a, b, c, d, e) = (name("a"), name("b"), name("c"), name("d"), name("e"));
    put(R, &a, "String", "a1", None).await;
    put(R, &b, "SecureString", "b1-secret", Some("first")).await;
    put(R, &c, "String", "c1", None).await;
    next_second();
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let t1 = moment();
    put(R, &a, "String", "a2", None).await;
    put(R, &b, "SecureString", "b2-secret", Some("second")).await;
    let t2 = moment();
    ssm(R)
        .await
        .label_parameter_version()
        .name(&a)
        .labels("release")
        .send()
        .await
        .unwrap();
    put(R, &d, "String", "d1", None).await;
    let t3 = moment();
    put(R, &a, "StringList", "a3,x", Some("list now")).await;
    delete_param(R, &c).await;
    let t4 = moment();
    // B changed after the backup and is deleted now: Parameter Store forgot its history.
    delete_param(R, &b).await;
    put(R, &e, "String", "e1", None).await;
    let t5 = moment();

    // Each moment restored under a scratch prefix of its own, then read back.
    let restore_at = |at: time::OffsetDateTime, k: &str| {
        let at = ssm_keeper::core::changes::utc(at);
        let to = format!("/restored/{env}/{k}/");
        let only = format!("/app/{env}/");
        let preview = ws.run(&[
            "restore",
            "--stack",
            env,
            "--region",
            R,
            "--at",
            &at,
            "--only",
            &only,
            "--to-prefix",
            &to,
        ]);
        assert_eq!(preview.code, 0, "{preview:#?}");
        assert!(!preview.stdout.contains("secret"), "{preview:#?}");
        let run = ws.run(&[
            "restore",
            "--stack",
            env,
            "--region",
            R,
            "--at",
            &at,
            "--only",
            &only,
            "--to-prefix",
            &to,
            "--apply",
            "--auto-approve",
        ]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            !run.stdout.contains("secret") && !run.stderr.contains("secret"),
            "{run:#?}"
        );
        (preview.stdout, to)
    };
    let s = |kind: &str, value: &str, description: Option<&str>| {
        Some((
            kind.to_string(),
            value.to_string(),
            description.map(str::to_string),
        ))
    };

    // t1: every parameter as the backup holds it; D and E were created later.
    let (preview, to) = restore_at(t1, "t1");
    assert_eq!(state(R, &format!("{to}a")).await, s("String", "a1", None));
    assert_eq!(
        state(R, &format!("{to}b")).await,
        s("SecureString", "b1-secret", Some("first")),
        "{preview}"
    );
    assert_eq!(state(R, &format!("{to}c")).await, s("String", "c1", None));
    assert_eq!(state(R, &format!("{to}d")).await, None);
    assert!(
        preview.contains(&format!("{d}: created after")),
        "{preview}"
    );
    assert!(preview.contains("state from backup"), "{preview}");

    // t2: A from its history (version 2, who wrote it); B cannot be placed (its history went
    // with its deletion); C from the backup.
    let (preview, to) = restore_at(t2, "t2");
    assert_eq!(state(R, &format!("{to}a")).await, s("String", "a2", None));
    assert_eq!(state(R, &format!("{to}b")).await, None);
    assert!(
        preview.contains(&format!("{b}: deleted after TIME")),
        "{preview}"
    );
    assert!(
        preview.contains("state from history version 2"),
        "{preview}"
    );
    assert_eq!(state(R, &format!("{to}c")).await, s("String", "c1", None));

    // t3: a label changes no value; D exists.
    let (_, to) = restore_at(t3, "t3");
    assert_eq!(state(R, &format!("{to}a")).await, s("String", "a2", None));
    assert_eq!(state(R, &format!("{to}d")).await, s("String", "d1", None));

    // t4: A's type and description changed; C absent (deleted, not written back).
    let (_, to) = restore_at(t4, "t4");
    assert_eq!(
        state(R, &format!("{to}a")).await,
        s("StringList", "a3,x", Some("list now"))
    );
    assert_eq!(state(R, &format!("{to}c")).await, None);
    assert_eq!(state(R, &format!("{to}e")).await, None);

    // t5: E created before it.
    let (_, to) = restore_at(t5, "t5");
    assert_eq!(state(R, &format!("{to}e")).await, s("String", "e1", None));
    assert_eq!(state(R, &format!("{to}d")).await, s("String", "d1", None));

    // In place: C (deleted since) comes back at t3 as it was; A is only listed as differing
    // without --overwrite; nothing is ever deleted.
    let at = ssm_keeper::core::changes::utc(t3);
    let run = ws.run(&[
        "restore",
        "--stack",
        env,
        "--region",
        R,
        "--at",
        &at,
        "--apply",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(state(R, &c).await, s("String", "c1", None));
    assert_eq!(
        state(R, &a).await,
        s("StringList", "a3,x", Some("list now"))
    );
    assert_eq!(state(R, &e).await, s("String", "e1", None));

    // Into another region (disaster recovery): the source region's journal and history decide;
    // a parameter taken from history gets its own live tags (tags have no history).
    const DR: &str = "ap-southeast-1";
    let at = ssm_keeper::core::changes::utc(t2);
    let tag = aws_sdk_ssm::types::Tag::builder().key("team").value("ops");
    ssm(R)
        .await
        .add_tags_to_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(&a)
        .tags(tag.build().unwrap())
        .send()
        .await
        .unwrap();
    let run = ws.run(&[
        "restore",
        "--stack",
        env,
        "--region",
        R,
        "--at",
        &at,
        "--target-region",
        DR,
        "--only",
        &format!("/app/{env}/a"),
        "--apply",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(state(DR, &a).await, s("String", "a2", None));
    assert!(run.stdout.contains("history version"), "{}", run.stdout);
    let tags = ssm(DR)
        .await
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(&a)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_list()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("team", "ops")]);

    // The drill of a moment: that state written under the drill path, read back, compared and
    // deleted; what cannot be placed is listed as not drilled.
    let at = ssm_keeper::core::changes::utc(t2);
    let run = ws.run(&[
        "restore", "--stack", env, "--drill", "--region", R, "--at", &at, "--format", "json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        !run.stdout.contains("secret") && !run.stderr.contains("secret"),
        "{run:#?}"
    );
    let report = run.json();
    let region = &report["regions"][0];
    assert_eq!(region["result"], "passed", "{report:#}");
    assert!(
        region["source"]
            .as_str()
            .unwrap()
            .contains(&format!("as it was at {at}")),
        "{report:#}"
    );
    assert!(
        region["skipped"].to_string().contains("deleted after TIME"),
        "{report:#}"
    );

    // A moment before any backup, and one in the future, are refused.
    let run = ws.run(&[
        "restore",
        "--stack",
        env,
        "--region",
        R,
        "--at",
        "2020-01-01T00:00:00Z",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("no backup of"), "{run:#?}");
    let run = ws.run(&[
        "restore",
        "--stack",
        env,
        "--region",
        R,
        "--at",
        "2999-01-01T00:00:00Z",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("in the future"), "{run:#?}");
}
