//! EventBridge and CloudWatch Logs (emulator/keeper_emulator/events.py, logs.py, ssm.py): the
//! "Parameter Store Change" events Parameter Store emits on the default bus, their matching with
//! the operators the change journal uses, their delivery to a log group under the account's
//! Logs resource policy, the account-level resource policies themselves, and FilterLogEvents.
//! Each test has a region of its own: resource policies are one set per account and region.

use crate::common::*;
use crate::iam::config_as;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use serde_json::{Value, json};

async fn logs(region: &str) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(
        &config_as(emulator(), ("testing", "testing"), region).await,
    )
}

async fn events(region: &str) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&config_as(emulator(), ("testing", "testing"), region).await)
}

/// The account-level policy the change journal puts in each region.
fn journal_policy(region: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventsWriteJournal",
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("arn:aws:logs:{region}:{ACCOUNT}:log-group:/ssm-keeper/*:*"),
            "Condition": { "StringEquals": { "aws:SourceAccount": ACCOUNT } },
        }],
    })
    .to_string()
}

/// A log group and a rule of the default bus targeting it by the ARN DescribeLogGroups returns
/// (the `:*` form); the log group's ARN.
async fn journal(region: &str, group: &str, rule: &str, pattern: &Value) -> String {
    let logs = logs(region).await;
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    logs.put_retention_policy()
        .log_group_name(group)
        .retention_in_days(30)
        .send()
        .await
        .unwrap();
    let arn = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap()
        .log_groups()[0]
        .arn()
        .unwrap()
        .to_string();
    assert!(arn.ends_with(":*"), "{arn}");
    let events = events(region).await;
    events
        .put_rule()
        .name(rule)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(rule)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("journal")
                .arn(&arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    arn
}

/// Every log event of a group, as FilterLogEvents pages them.
async fn read(region: &str, group: &str) -> Vec<aws_sdk_cloudwatchlogs::types::FilteredLogEvent> {
    let mut out = Vec::new();
    let mut pages = logs(region)
        .await
        .filter_log_events()
        .log_group_name(group)
        .limit(2)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        out.extend(page.unwrap().events().iter().cloned());
    }
    out
}

fn messages(events: &[aws_sdk_cloudwatchlogs::types::FilteredLogEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|e| serde_json::from_str(e.message().unwrap()).unwrap())
        .collect()
}

/// (operation, name) of each delivered event.
fn changes(events: &[aws_sdk_cloudwatchlogs::types::FilteredLogEvent]) -> Vec<(String, String)> {
    messages(events)
        .iter()
        .map(|m| {
            (
                m["detail"]["operation"].as_str().unwrap().to_string(),
                m["detail"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn product_pattern(names: Value) -> Value {
    json!({
        "source": ["aws.ssm"],
        "detail-type": ["Parameter Store Change"],
        "detail": { "name": names },
    })
}

async fn put(ssm: &aws_sdk_ssm::Client, name: &str, value: &str, overwrite: bool) {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(overwrite)
        .send()
        .await
        .unwrap();
}

/// PutParameter (Create, then Update), LabelParameterVersion, DeleteParameters (one event per
/// deleted name) and DeleteParameter emit AWS's "Parameter Store Change" events; each reaches
/// the log group as the whole event's JSON, timestamped with the event's time. Without the
/// resource policy nothing is delivered, and nothing fails.
#[tokio::test]
async fn parameter_store_changes_reach_the_journal_as_aws_delivers_them() {
    let region = "eu-west-3";
    let group = "/ssm-keeper/app/dev/journal";
    journal(
        region,
        group,
        "ssm-keeper-app-dev-journal",
        &product_pattern(json!([{ "prefix": "/app/dev/" }])),
    )
    .await;
    let ssm = ssm(region).await;

    // No resource policy yet: AWS drops the delivery silently; the PutParameter succeeds.
    put(&ssm, "/app/dev/early", "1", false).await;
    assert!(read(region, group).await.is_empty());

    logs(region)
        .await
        .put_resource_policy()
        .policy_name("ssm-keeper-journal")
        .policy_document(journal_policy(region))
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/app/dev/db")
        .value("one")
        .description("the database")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    put(&ssm, "/app/prod/db", "1", false).await; // not this environment's
    ssm.put_parameter()
        .name("/app/dev/db")
        .value("two")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    ssm.label_parameter_version()
        .name("/app/dev/db")
        .parameter_version(1)
        .labels("before")
        .send()
        .await
        .unwrap();
    put(&ssm, "/app/dev/list", "a,b", false).await;
    ssm.delete_parameters()
        .names("/app/dev/list")
        .names("/app/dev/never")
        .send()
        .await
        .unwrap();
    ssm.delete_parameter()
        .name("/app/dev/db")
        .send()
        .await
        .unwrap();

    let delivered = read(region, group).await;
    let ops: Vec<(String, String)> = changes(&delivered);
    let expected: Vec<(String, String)> = [
        ("Create", "/app/dev/db"),
        ("Update", "/app/dev/db"),
        ("LabelParameterVersion", "/app/dev/db"),
        ("Create", "/app/dev/list"),
        ("Delete", "/app/dev/list"),
        ("Delete", "/app/dev/db"),
    ]
    .iter()
    .map(|(o, n)| (o.to_string(), n.to_string()))
    .collect();
    assert_eq!(ops, expected);

    // The event as AWS documents it, field for field and in its order, as one log event.
    let first = &delivered[0];
    let message = first.message().unwrap();
    let parsed: Value = serde_json::from_str(message).unwrap();
    let id = parsed["id"].as_str().unwrap();
    let time = parsed["time"].as_str().unwrap();
    assert_eq!(
        message,
        format!(
            r#"{{"version":"0","id":"{id}","detail-type":"Parameter Store Change","source":"aws.ssm","account":"{ACCOUNT}","time":"{time}","region":"{region}","resources":["arn:aws:ssm:{region}:{ACCOUNT}:parameter/app/dev/db"],"detail":{{"name":"/app/dev/db","type":"SecureString","operation":"Create","description":"the database"}}}}"#
        )
    );
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let when =
        time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(time.ends_with('Z') && time.len() == 20, "{time}");
    assert_eq!(first.timestamp(), Some(when.unix_timestamp() * 1000));
    // Every event is a stream of its own; the events come back in time order.
    let streams: std::collections::HashSet<_> = delivered
        .iter()
        .map(|e| e.log_stream_name().unwrap())
        .collect();
    assert_eq!(streams.len(), delivered.len());
    let stamps: Vec<i64> = delivered.iter().map(|e| e.timestamp().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    let list = &messages(&delivered)[3];
    assert_eq!(list["detail"]["type"], "String");
    assert_eq!(list["detail"]["description"], "");
}

/// The operators of the journal's pattern match as AWS matches them: `prefix` on the name, and
/// `wildcard` whose `*` matches any run of characters, slashes included.
#[tokio::test]
async fn event_patterns_match_prefix_and_wildcard_as_aws() {
    let region = "eu-west-2";
    logs(region)
        .await
        .put_resource_policy()
        .policy_name("ssm-keeper-journal")
        .policy_document(journal_policy(region))
        .send()
        .await
        .unwrap();
    let by_prefix = "/ssm-keeper/prefix/dev/journal";
    let by_wildcard = "/ssm-keeper/wildcard/dev/journal";
    journal(
        region,
        by_prefix,
        "by-prefix",
        &product_pattern(json!([{ "prefix": "/app/dev/" }, { "prefix": "/lib/dev/" }])),
    )
    .await;
    journal(
        region,
        by_wildcard,
        "by-wildcard",
        &product_pattern(json!([{ "wildcard": "/*/dev/*" }])),
    )
    .await;
    // Another source or detail-type is never matched.
    journal(
        region,
        "/ssm-keeper/other/dev/journal",
        "other-source",
        &json!({ "source": ["aws.kms"], "detail": { "name": [{ "prefix": "/" }] } }),
    )
    .await;
    let ssm = ssm(region).await;
    for name in [
        "/app/dev/a",    // both
        "/lib/dev/b",    // both
        "/app/devx",     // neither: not under /app/dev/, no /dev/ level
        "/team/dev/c",   // wildcard only
        "/a/b/dev/d/e",  // wildcard only: * matches slashes
        "/app/prod/dev", // neither: nothing after /dev/... but the wildcard needs "/dev/"
        "/app/prod/f",   // neither
    ] {
        put(&ssm, name, "1", false).await;
    }
    let names = |events: &[aws_sdk_cloudwatchlogs::types::FilteredLogEvent]| -> Vec<String> {
        changes(events).into_iter().map(|(_, n)| n).collect()
    };
    assert_eq!(
        names(&read(region, by_prefix).await),
        ["/app/dev/a", "/lib/dev/b"]
    );
    assert_eq!(
        names(&read(region, by_wildcard).await),
        ["/app/dev/a", "/lib/dev/b", "/team/dev/c", "/a/b/dev/d/e"]
    );
    assert!(
        read(region, "/ssm-keeper/other/dev/journal")
            .await
            .is_empty()
    );
}

/// Delivery needs a resource policy of the account in that region allowing events.amazonaws.com
/// to CreateLogStream and PutLogEvents on the group, its conditions holding (`aws:SourceArn`
/// is the rule's ARN, `aws:SourceAccount` the account); an explicit Deny wins; a disabled rule
/// delivers nothing. Each failure is silent.
#[tokio::test]
async fn delivery_needs_a_resource_policy_allowing_events() {
    let region = "eu-south-1";
    let group = "/ssm-keeper/policy/dev/journal";
    journal(
        region,
        group,
        "policy-journal",
        &product_pattern(json!([{ "prefix": "/policy/" }])),
    )
    .await;
    let logs = logs(region).await;
    let ssm = ssm(region).await;
    let group_arn = format!("arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}:*");
    let statement = |effect: &str, principal: &str, actions: &[&str], condition: Value| {
        json!({
            "Effect": effect,
            "Principal": { "Service": principal },
            "Action": actions,
            "Resource": group_arn,
            "Condition": condition,
        })
    };
    let both = ["logs:CreateLogStream", "logs:PutLogEvents"];
    let cases: Vec<(&str, Vec<Value>, bool)> = vec![
        (
            "another service",
            vec![statement(
                "Allow",
                "delivery.logs.amazonaws.com",
                &both,
                json!({}),
            )],
            false,
        ),
        (
            "PutLogEvents only",
            vec![statement(
                "Allow",
                "events.amazonaws.com",
                &["logs:PutLogEvents"],
                json!({}),
            )],
            false,
        ),
        (
            "another rule",
            vec![statement(
                "Allow",
                "events.amazonaws.com",
                &both,
                json!({ "ArnLike": { "aws:SourceArn": format!("arn:aws:events:{region}:{ACCOUNT}:rule/other-*") } }),
            )],
            false,
        ),
        (
            "another account",
            vec![statement(
                "Allow",
                "events.amazonaws.com",
                &both,
                json!({ "StringEquals": { "aws:SourceAccount": "111122223333" } }),
            )],
            false,
        ),
        (
            "allowed, then denied",
            vec![
                statement("Allow", "events.amazonaws.com", &both, json!({})),
                statement(
                    "Deny",
                    "events.amazonaws.com",
                    &["logs:PutLogEvents"],
                    json!({}),
                ),
            ],
            false,
        ),
        (
            "this rule",
            vec![statement(
                "Allow",
                "events.amazonaws.com",
                &both,
                json!({
                    "ArnLike": { "aws:SourceArn": format!("arn:aws:events:{region}:{ACCOUNT}:rule/policy-*") },
                    "StringEquals": { "aws:SourceAccount": ACCOUNT },
                }),
            )],
            true,
        ),
    ];
    let mut expected = 0;
    for (i, (case, statements, delivered)) in cases.into_iter().enumerate() {
        logs.put_resource_policy()
            .policy_name("ssm-keeper-journal")
            .policy_document(
                json!({ "Version": "2012-10-17", "Statement": statements }).to_string(),
            )
            .send()
            .await
            .unwrap();
        put(&ssm, &format!("/policy/p{i}"), "1", false).await;
        expected += usize::from(delivered);
        assert_eq!(read(region, group).await.len(), expected, "{case}");
    }

    // A disabled rule delivers nothing.
    events(region)
        .await
        .disable_rule()
        .name("policy-journal")
        .send()
        .await
        .unwrap();
    put(&ssm, "/policy/disabled", "1", false).await;
    assert_eq!(read(region, group).await.len(), expected);
}

/// Resource policies are the account's, at most 10 per region: the 11th name is refused with
/// LimitExceededException, replacing an existing one is not counted, deleting one makes room.
#[tokio::test]
async fn logs_resource_policies_are_ten_per_account_and_region() {
    let region = "ap-northeast-2";
    let logs = logs(region).await;
    let policy = journal_policy(region);
    for i in 0..10 {
        logs.put_resource_policy()
            .policy_name(format!("policy-{i}"))
            .policy_document(&policy)
            .send()
            .await
            .unwrap();
    }
    let err = logs
        .put_resource_policy()
        .policy_name("policy-10")
        .policy_document(&policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceededException"), "{err:?}");
    // The same name again replaces it.
    logs.put_resource_policy()
        .policy_name("policy-3")
        .policy_document(journal_policy("eu-west-1"))
        .send()
        .await
        .unwrap();
    let listed = logs.describe_resource_policies().send().await.unwrap();
    assert_eq!(listed.resource_policies().len(), 10);
    let third = listed
        .resource_policies()
        .iter()
        .find(|p| p.policy_name() == Some("policy-3"))
        .unwrap();
    assert!(third.policy_document().unwrap().contains("eu-west-1"));
    logs.delete_resource_policy()
        .policy_name("policy-0")
        .send()
        .await
        .unwrap();
    logs.put_resource_policy()
        .policy_name("policy-10")
        .policy_document(&policy)
        .send()
        .await
        .unwrap();
    let err = logs
        .delete_resource_policy()
        .policy_name("policy-0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
    // Another region has its own ten.
    let elsewhere = self::logs("ap-southeast-1").await;
    assert!(
        elsewhere
            .describe_resource_policies()
            .send()
            .await
            .unwrap()
            .resource_policies()
            .is_empty()
    );
}

/// FilterLogEvents returns the group's events in time order across its streams, in pages
/// (AWS always interleaves; moto went stream by stream unless asked), and finds the group by
/// `logGroupIdentifier` (its ARN) as by its name.
#[tokio::test]
async fn filter_log_events_interleaves_the_streams_in_pages() {
    let region = "me-south-1";
    let group = "/ssm-keeper/filter/dev/journal";
    let logs = logs(region).await;
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    for (stream, stamps) in [("a", [1, 4, 5]), ("b", [2, 3, 6])] {
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        let mut put = logs
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream);
        for s in stamps {
            put = put.log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now + s * 1000)
                    .message(format!("m{s}"))
                    .build()
                    .unwrap(),
            );
        }
        put.send().await.unwrap();
    }
    let all: Vec<String> = read(region, group)
        .await
        .iter()
        .map(|e| e.message().unwrap().to_string())
        .collect();
    assert_eq!(all, ["m1", "m2", "m3", "m4", "m5", "m6"]);
    let by_arn = logs
        .filter_log_events()
        .log_group_identifier(format!("arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}"))
        .start_time(now + 3000)
        .send()
        .await
        .unwrap();
    let later: Vec<&str> = by_arn
        .events()
        .iter()
        .map(|e| e.message().unwrap())
        .collect();
    assert_eq!(later, ["m3", "m4", "m5", "m6"]);
}

/// PutRule refuses the patterns AWS refuses (InvalidEventPatternException): a filter of a kind
/// AWS does not know (moto matched every value with it, so a misspelt `prefix` would have
/// journalled every parameter), a wildcard with consecutive `*`. `$or` and the known kinds pass.
#[tokio::test]
async fn put_rule_refuses_patterns_aws_refuses() {
    let events = events("ap-east-1").await;
    for (pattern, refused) in [
        (product_pattern(json!([{ "prefx": "/app/dev/" }])), true),
        (product_pattern(json!([{ "wildcard": "/app/**/x" }])), true),
        (
            product_pattern(json!([{ "prefix": "/app/dev/" }, { "wildcard": "/*/dev/*" }])),
            false,
        ),
        (
            json!({ "source": ["aws.ssm"], "$or": [
                { "detail": { "name": [{ "prefix": "/a/" }] } },
                { "detail": { "operation": ["Delete"] } },
            ] }),
            false,
        ),
    ] {
        let result = events
            .put_rule()
            .name("patterns")
            .event_pattern(pattern.to_string())
            .send()
            .await;
        match result {
            Err(e) => {
                assert!(refused, "{pattern}: {e:?}");
                assert_eq!(e.code(), Some("InvalidEventPatternException"), "{e:?}");
            }
            Ok(_) => assert!(!refused, "{pattern} was accepted"),
        }
    }
}
