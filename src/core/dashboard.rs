//! The dashboard a stack with `dashboard:` keeps: one CloudWatch dashboard per environment
//! (dashboards are global to the account; apply writes it through the SSM home region's
//! CloudWatch), named as the buckets and keys are, whose widgets read the metrics backup and the
//! drill publish in the home region (one line per region, by the `Region` dimension) and the
//! states of the alarms apply keeps. Its name, ARN, body and desired resource. Pure.
//!
//! The hours since a region's last successful backup are metric math on `BackupSuccess`, drawn
//! when the dashboard is looked at, not a metric the backup publishes: a job that stopped
//! running publishes nothing, and exactly then the line must keep rising. Per region, with `s`
//! the hourly maximum of `BackupSuccess`:
//!
//! - `last = FILL(IF(s == 1, EPOCH(s)), REPEAT)`: the start of the last hour with a successful
//!   backup, carried forward through every later hour, whether it holds a failure or nothing;
//! - `age = (EPOCH(last) - last) / 3600`: the hours from then to each hour of the graph.
//!
//! So the line climbs by one an hour from the last success, to the graph's right edge (now).
//! A region with no success in the dashboard's range has no line: older than the range.

use serde_json::{Value, json};

use super::alarm::{
    DIMENSION_ENVIRONMENT, DIMENSION_REGION, METRIC_DRILL_DURATION, METRIC_DRILL_SUCCESS,
    METRIC_DURATION, METRIC_NAMESPACE, METRIC_PARAMETER_COUNT, METRIC_SUCCESS, alarm_name,
    drill_alarm_name,
};
use super::model::{Resource, ResourceId};
use super::region::partition;
use super::resource::{DashboardSettings, Kind};
use super::stack::{DashboardConfig, NAME_SEPARATOR, Stack};

/// CloudWatch's limit on a dashboard's name (its characters: `A-Za-z0-9`, `-` and `_`).
pub const MAX_DASHBOARD_NAME: usize = 255;

/// The widgets' titles: what a plan matches them by, and what docs/deployment.md describes.
pub const TITLE_AGE: &str = "Hours since the last successful backup";
pub const TITLE_ALARMS: &str = "Alarms";
pub const TITLE_FAILURES: &str = "Failed backups per day";
pub const TITLE_PARAMETERS: &str = "Parameters in the last backup";
pub const TITLE_DURATION: &str = "Backup duration (seconds)";
pub const TITLE_DRILLS: &str = "Restore drills (1 passed, 0 failed)";
pub const TITLE_DRILL_DURATION: &str = "Restore drill duration (seconds)";

const HOUR: u32 = 3600;
const DAY: u32 = 86_400;

/// `<project>-ssm-backup-<env>`: the buckets' and keys' rule, so no two stacks share it (the
/// separator can occur in neither name).
pub fn dashboard_name(project: &str, environment: &str) -> String {
    format!("{project}{NAME_SEPARATOR}{environment}")
}

/// Whether CloudWatch accepts `name` as a dashboard's name.
pub fn is_valid_dashboard_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DASHBOARD_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `arn:<partition>:cloudwatch::<account>:dashboard/<name>`: no region, dashboards are global.
pub fn dashboard_arn(partition: &str, account_id: &str, name: &str) -> String {
    format!("arn:{partition}:cloudwatch::{account_id}:dashboard/{name}")
}

/// The id of the stack's dashboard, whether the stack asks for it or not (observe reads it to
/// remove one the stack no longer names).
pub fn dashboard_id(stack: &Stack) -> ResourceId {
    ResourceId::new(
        Kind::Dashboard,
        stack.ssm_home_region.clone(),
        dashboard_name(&stack.project_name, &stack.environment),
    )
}

/// One metric of the environment in `region`, with its rendering options.
fn metric(stack: &Stack, name: &str, region: &str, options: Value) -> Value {
    json!([
        METRIC_NAMESPACE,
        name,
        DIMENSION_ENVIRONMENT,
        stack.environment,
        DIMENSION_REGION,
        region,
        options
    ])
}

/// A graph of `metrics` over time, in the home region (where the metrics are).
fn graph(stack: &Stack, place: (u32, u32), title: &str, period: u32, metrics: Vec<Value>) -> Value {
    json!({
        "type": "metric",
        "x": place.0,
        "y": place.1,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": stack.ssm_home_region,
            "period": period,
            "metrics": metrics,
            "yAxis": { "left": { "min": 0 } },
            "legend": { "position": "bottom" }
        }
    })
}

/// One line a region of `name`'s `stat` per `period`.
fn per_region(stack: &Stack, name: &str, stat: &str, period: u32) -> Vec<Value> {
    stack
        .regions
        .iter()
        .map(|r| {
            metric(
                stack,
                name,
                r,
                json!({ "stat": stat, "period": period, "label": r }),
            )
        })
        .collect()
}

fn age_widget(stack: &Stack) -> Value {
    let mut metrics = Vec::new();
    for (i, r) in stack.regions.iter().enumerate() {
        metrics.push(metric(
            stack,
            METRIC_SUCCESS,
            r,
            json!({ "id": format!("s{i}"), "stat": "Maximum", "period": HOUR, "visible": false }),
        ));
        metrics.push(json!([{
            "expression": format!("FILL(IF(s{i} == 1, EPOCH(s{i})), REPEAT)"),
            "id": format!("last{i}"),
            "label": format!("last success {r}"),
            "visible": false
        }]));
        metrics.push(json!([{
            "expression": format!("(EPOCH(last{i}) - last{i}) / 3600"),
            "id": format!("age{i}"),
            "label": r
        }]));
    }
    let mut widget = graph(stack, (0, 0), TITLE_AGE, HOUR, metrics);
    if let Some(alarm) = &stack.alarm {
        widget["properties"]["annotations"] = json!({
            "horizontal": [{
                "label": format!("the alarm fires at {} hours", alarm.max_age_hours),
                "value": alarm.max_age_hours
            }]
        });
    }
    widget
}

fn failures_widget(stack: &Stack) -> Value {
    let mut metrics = Vec::new();
    for (i, r) in stack.regions.iter().enumerate() {
        for (id, stat) in [
            (format!("runs{i}"), "SampleCount"),
            (format!("ok{i}"), "Sum"),
        ] {
            metrics.push(metric(
                stack,
                METRIC_SUCCESS,
                r,
                json!({ "id": id, "stat": stat, "period": DAY, "visible": false }),
            ));
        }
        metrics.push(json!([{
            "expression": format!("runs{i} - ok{i}"),
            "id": format!("failed{i}"),
            "label": r
        }]));
    }
    graph(stack, (0, 6), TITLE_FAILURES, DAY, metrics)
}

/// The alarms apply keeps for the stack, in the home region: each region's, then its drill's.
fn alarm_widget(stack: &Stack, account_id: &str) -> Option<Value> {
    let config = stack.alarm.as_ref()?;
    let home = &stack.ssm_home_region;
    let arn = |name: String| {
        format!(
            "arn:{}:cloudwatch:{home}:{account_id}:alarm:{name}",
            partition(home)
        )
    };
    let mut alarms = Vec::new();
    for r in &stack.regions {
        alarms.push(arn(alarm_name(&stack.project_name, &stack.environment, r)));
        if config.drill_max_age_days.is_some() {
            alarms.push(arn(drill_alarm_name(
                &stack.project_name,
                &stack.environment,
                r,
            )));
        }
    }
    Some(json!({
        "type": "alarm",
        "x": 12,
        "y": 0,
        "width": 12,
        "height": 6,
        "properties": { "title": TITLE_ALARMS, "alarms": alarms }
    }))
}

/// The dashboard's body: what it shows over the last `rangeDays`.
pub fn dashboard_body(stack: &Stack, config: &DashboardConfig, account_id: &str) -> Value {
    let mut widgets = vec![age_widget(stack)];
    widgets.extend(alarm_widget(stack, account_id));
    widgets.push(failures_widget(stack));
    widgets.push(graph(
        stack,
        (12, 6),
        TITLE_PARAMETERS,
        DAY,
        per_region(stack, METRIC_PARAMETER_COUNT, "Maximum", DAY),
    ));
    widgets.push(graph(
        stack,
        (0, 12),
        TITLE_DURATION,
        DAY,
        per_region(stack, METRIC_DURATION, "Maximum", DAY),
    ));
    let mut drills = graph(
        stack,
        (0, 18),
        TITLE_DRILLS,
        DAY,
        per_region(stack, METRIC_DRILL_SUCCESS, "Minimum", DAY),
    );
    drills["properties"]["yAxis"]["left"]["max"] = json!(1);
    widgets.push(drills);
    widgets.push(graph(
        stack,
        (12, 18),
        TITLE_DRILL_DURATION,
        DAY,
        per_region(stack, METRIC_DRILL_DURATION, "Maximum", DAY),
    ));
    json!({
        "start": format!("-P{}D", config.range_days),
        "periodOverride": "inherit",
        "widgets": widgets
    })
}

/// The dashboard the stack asks for.
pub fn dashboard_resource(
    stack: &Stack,
    config: &DashboardConfig,
    account_id: &str,
) -> (ResourceId, Resource) {
    (
        dashboard_id(stack),
        Resource::Dashboard(DashboardSettings {
            body: dashboard_body(stack, config, account_id),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::resource::dashboard::widgets_by_title;
    use crate::core::stack::{AlarmConfig, sample};

    const ACCOUNT: &str = "123456789012";

    fn stack() -> Stack {
        let mut s = sample(&["us-east-1", "eu-west-1"]);
        s.dashboard = Some(DashboardConfig { range_days: 14 });
        s.alarm = Some(AlarmConfig {
            sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ops".into(),
            max_age_hours: 26,
            drill_max_age_days: Some(7),
        });
        s
    }

    #[test]
    fn the_name_follows_the_stacks_rule_and_cloudwatchs() {
        let s = stack();
        let id = dashboard_id(&s);
        assert_eq!(id.name, "p-ssm-backup-dev");
        assert_eq!(id.region, "us-east-1");
        assert!(is_valid_dashboard_name(&id.name));
        assert!(!is_valid_dashboard_name("a/b"));
        assert!(!is_valid_dashboard_name(&"a".repeat(256)));
        assert_eq!(
            dashboard_arn("aws", ACCOUNT, &id.name),
            "arn:aws:cloudwatch::123456789012:dashboard/p-ssm-backup-dev"
        );
    }

    #[test]
    fn every_widget_reads_the_home_region_one_line_a_region() {
        let s = stack();
        let body = dashboard_body(&s, &DashboardConfig { range_days: 14 }, ACCOUNT);
        assert_eq!(body["start"], "-P14D");
        let titles: Vec<String> = widgets_by_title(&body)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(
            titles,
            [
                TITLE_AGE,
                TITLE_ALARMS,
                TITLE_FAILURES,
                TITLE_PARAMETERS,
                TITLE_DURATION,
                TITLE_DRILLS,
                TITLE_DRILL_DURATION
            ]
        );
        for (title, widget) in widgets_by_title(&body) {
            let p = &widget["properties"];
            if title == TITLE_ALARMS {
                assert_eq!(
                    p["alarms"],
                    json!([
                        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:p-ssm-backup-dev/us-east-1",
                        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:p-ssm-backup-dev/us-east-1/drill",
                        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:p-ssm-backup-dev/eu-west-1",
                        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:p-ssm-backup-dev/eu-west-1/drill"
                    ])
                );
                continue;
            }
            assert_eq!(p["region"], "us-east-1", "{title}");
            let shown: Vec<&Value> = p["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m.as_array().unwrap().last().unwrap()["visible"] != false)
                .collect();
            assert_eq!(shown.len(), 2, "{title}: a line per region");
            for m in p["metrics"].as_array().unwrap() {
                let m = m.as_array().unwrap();
                if m.len() > 1 {
                    assert_eq!(m[0], METRIC_NAMESPACE);
                    assert_eq!(
                        &m[2..6],
                        [
                            json!("Environment"),
                            json!("dev"),
                            json!("Region"),
                            m[5].clone()
                        ]
                    );
                }
            }
        }
    }

    #[test]
    fn the_age_is_math_on_backup_success_and_marks_the_alarm() {
        let s = stack();
        let body = dashboard_body(&s, &DashboardConfig { range_days: 3 }, ACCOUNT);
        let age = &body["widgets"][0]["properties"];
        assert_eq!(age["title"], TITLE_AGE);
        assert_eq!(age["metrics"][0][1], METRIC_SUCCESS);
        assert_eq!(age["metrics"][0][6]["stat"], "Maximum");
        assert_eq!(
            age["metrics"][1][0]["expression"],
            "FILL(IF(s0 == 1, EPOCH(s0)), REPEAT)"
        );
        assert_eq!(
            age["metrics"][2][0]["expression"],
            "(EPOCH(last0) - last0) / 3600"
        );
        assert_eq!(age["annotations"]["horizontal"][0]["value"], 26);
        // Without the alarm section: no alarm widget, no annotation.
        let mut s = stack();
        s.alarm = None;
        let body = dashboard_body(&s, &DashboardConfig { range_days: 3 }, ACCOUNT);
        assert!(
            body["widgets"][0]["properties"]
                .get("annotations")
                .is_none()
        );
        assert!(
            widgets_by_title(&body)
                .iter()
                .all(|(t, _)| t != TITLE_ALARMS)
        );
    }
}
