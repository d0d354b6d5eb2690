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
