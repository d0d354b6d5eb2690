//! The dead-man's switch against the emulator's CloudWatch: the stack's `alarm` section is a
//! resource kind of its own (planned, applied, drift repaired, removed with the section), and
//! `backup` publishes the metrics the alarms watch.

use crate::common::*;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops-alerts";

fn write_stack(ws: &Workspace, alarm: &str) {
    ws.write_raw(
        &ws.env,
        &format!(
            "projectName: {PROJECT}\nenvironment: {env}\nregions:\n  - {A}\n  - {B}\ndefaultRegion: {A}\nssmHomeRegion: {A}\n{alarm}",
            env = ws.env
        ),
    );
}

async fn alarms(prefix: &str) -> Vec<MetricAlarm> {
    cloudwatch(A)
        .await
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .send()
        .await
        .unwrap()
        .metric_alarms
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_are_planned_applied_repaired_and_removed_with_the_section() {
    let ws = Workspace::new("alarmed", &[A, B], A);
    ws.apply();
    let prefix = format!("{PROJECT}-ssm-backup-alarmed/");
    let name = |region: &str| format!("{prefix}{region}");

    write_stack(&ws, &format!("alarm:\n  snsTopicArn: {TOPIC}\n"));
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [
            change("create", "alarm", &name(B), &[]),
            change("create", "alarm", &name(A), &[]),
        ]
    );
    let text = ws.run(&["plan", "--stack", "alarmed"]);
    assert!(
        text.stdout.contains(&format!("alarm {} ({A})", name(B))),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("treat-missing-data"),
        "{}",
        text.stdout
    );
    ws.apply();
    ws.plan_json(0);

    let live = alarms(&prefix).await;
    assert_eq!(live.len(), 2);
    for alarm in &live {
        let region = alarm.alarm_name().unwrap().strip_prefix(&prefix).unwrap();
        assert_eq!(alarm.namespace(), Some("SSMKeeper/Backup"));
        assert_eq!(alarm.metric_name(), Some("BackupSuccess"));
        let dims: Vec<(&str, &str)> = alarm
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(dims, [("Environment", "alarmed"), ("Region", region)]);
        assert_eq!(alarm.statistic(), Some(&Statistic::Maximum));
        assert_eq!(
            (alarm.period(), alarm.evaluation_periods()),
            (Some(3600), Some(26))
        );
        assert_eq!(
            alarm.comparison_operator(),
            Some(&ComparisonOperator::LessThanThreshold)
        );
        assert_eq!(alarm.threshold(), Some(1.0));
        assert_eq!(alarm.treat_missing_data(), Some("breaching"));
        assert_eq!(alarm.alarm_actions(), [TOPIC]);
    }

    // Someone relaxes one alarm by hand: the plan names the setting, apply puts it back.
    cloudwatch(A)
        .await
        .put_metric_alarm()
        .alarm_name(name(B))
        .namespace("SSMKeeper/Backup")
        .metric_name("BackupSuccess")
        .dimensions(
            Dimension::builder()
                .name("Environment")
                .value("alarmed")
                .build(),
        )
        .dimensions(Dimension::builder().name("Region").value(B).build())
        .statistic(Statistic::Maximum)
        .period(3600)
        .evaluation_periods(26)
        .datapoints_to_alarm(26)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(TOPIC)
        .ok_actions(TOPIC)
        .alarm_description(live[0].alarm_description().unwrap().replace(A, B))
        .send()
        .await
        .unwrap();
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [change("update", "alarm", &name(B), &["treat-missing-data"])]
    );
    ws.apply();
    ws.plan_json(0);

    // A longer maximum age changes the evaluation of both.
    write_stack(
        &ws,
        &format!("alarm:\n  snsTopicArn: {TOPIC}\n  maxAgeHours: 50\n"),
    );
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [
            change("update", "alarm", &name(B), &["evaluation", "description"]),
            change("update", "alarm", &name(A), &["evaluation", "description"]),
        ]
    );
    ws.apply();
    assert!(
        alarms(&prefix)
            .await
            .iter()
            .all(|a| a.evaluation_periods() == Some(50) && a.datapoints_to_alarm() == Some(50))
    );

    // The section removed: the alarms go, nothing else changes.
    write_stack(&ws, "");
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [
            change("delete", "alarm", &name(B), &[]),
            change("delete", "alarm", &name(A), &[]),
        ]
    );
    ws.apply();
    assert!(alarms(&prefix).await.is_empty());
    ws.plan_json(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_publishes_success_count_and_duration_per_region() {
    let ws = Workspace::new("metered", &[A, B], A);
    ws.apply();
    for region in [A, B] {
        put_string(region, "/metered/app/url", "https://example.com").await;
    }
    let run = ws.run(&["backup", "--stack", "metered"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("Metrics published (SSMKeeper/Backup, {A}).")),
        "{}",
        run.stderr
    );

    let summary = ws.summary();
    let cw = cloudwatch(A).await;
    for region in [A, B] {
        let count = summary[region]["parameterCount"].as_f64();
        assert!(count.is_some_and(|c| c >= 1.0), "{summary}");
        let dims = [
            Dimension::builder()
                .name("Environment")
                .value("metered")
                .build(),
            Dimension::builder().name("Region").value(region).build(),
        ];
        for (metric, expected) in [("BackupSuccess", Some(1.0)), ("ParameterCount", count)] {
            let now = std::time::SystemTime::now();
            let out = cw
                .get_metric_statistics()
                .namespace("SSMKeeper/Backup")
                .metric_name(metric)
                .set_dimensions(Some(dims.to_vec()))
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
            let values: Vec<Option<f64>> = out.datapoints().iter().map(|d| d.maximum()).collect();
            assert_eq!(values, [expected], "{metric} of {region}");
        }
    }
    let listed = cw
        .list_metrics()
        .namespace("SSMKeeper/Backup")
        .metric_name("BackupDuration")
        .dimensions(
            aws_sdk_cloudwatch::types::DimensionFilter::builder()
                .name("Environment")
                .value("metered")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed.metrics().len(), 2, "one duration per region");

    // A dry run proves nothing about the backups: it reports nothing.
    let run = ws.run(&["backup", "--stack", "metered", "--dry-run"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stderr.contains("Metrics published"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_max_age_days_adds_a_drill_alarm_per_region_removed_with_the_key() {
    let ws = Workspace::new("drillwatch", &[A, B], A);
    let prefix = format!("{PROJECT}-ssm-backup-drillwatch/");
    let drill = |region: &str| format!("{prefix}{region}/drill");
    write_stack(&ws, &format!("alarm:\n  snsTopicArn: {TOPIC}\n"));
    ws.apply();

    write_stack(
        &ws,
        &format!("alarm:\n  snsTopicArn: {TOPIC}\n  drillMaxAgeDays: 7\n"),
    );
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [
            change("create", "alarm", &drill(B), &[]),
            change("create", "alarm", &drill(A), &[]),
        ]
    );
    ws.apply();
    ws.plan_json(0);
    let live = alarms(&prefix).await;
    assert_eq!(live.len(), 4, "two backup alarms, two drill alarms");
    for region in [A, B] {
        let alarm = live
            .iter()
            .find(|a| a.alarm_name() == Some(drill(region).as_str()))
            .unwrap();
        assert_eq!(alarm.metric_name(), Some("DrillSuccess"));
        assert_eq!(alarm.namespace(), Some("SSMKeeper/Backup"));
        assert_eq!(
            (
                alarm.period(),
                alarm.evaluation_periods(),
                alarm.datapoints_to_alarm()
            ),
            (Some(86_400), Some(7), Some(7))
        );
        assert_eq!(alarm.treat_missing_data(), Some("breaching"));
        assert_eq!(alarm.alarm_actions(), [TOPIC]);
        let dims: Vec<(&str, &str)> = alarm
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(dims, [("Environment", "drillwatch"), ("Region", region)]);
    }

    // More than CloudWatch evaluates: a stack-file error, before any AWS call.
    write_stack(
        &ws,
        &format!("alarm:\n  snsTopicArn: {TOPIC}\n  drillMaxAgeDays: 8\n"),
    );
    let run = ws.run(&["plan", "--stack", "drillwatch"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("alarm.drillMaxAgeDays")
            && run
                .stderr
                .contains("from 1 to 7 (CloudWatch evaluates at most seven days"),
        "{}",
        run.stderr
    );

    // The key removed: the drill alarms go, the backup alarms stay.
    write_stack(&ws, &format!("alarm:\n  snsTopicArn: {TOPIC}\n"));
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [
            change("delete", "alarm", &drill(B), &[]),
            change("delete", "alarm", &drill(A), &[]),
        ]
    );
    ws.apply();
    let mut names: Vec<String> = alarms(&prefix)
        .await
        .iter()
        .map(|a| a.alarm_name().unwrap().to_string())
        .collect();
    // Which alarms are left, in name order (AWS lists them so; the emulator, after a delete,
    // in the order it kept them).
    names.sort();
    assert_eq!(names, [format!("{prefix}{B}"), format!("{prefix}{A}")]);
}
