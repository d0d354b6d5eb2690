//! The dead-man's switch: the metrics `backup` publishes and the CloudWatch alarm per region that
//! fires when no successful backup of that region was reported in time. Pure.
//!
//! With `alarm.drillMaxAgeDays`, a second alarm per region watches `restore --drill` the same
//! way, on the metrics the drill publishes.
//!
//! Metrics and alarms live in the environment's `ssmHomeRegion` (CloudWatch notifies only SNS
//! topics of the alarm's own region), one alarm per backed-up region, told apart by the `Region`
//! dimension.

use std::collections::BTreeMap;

use super::backup::{RegionStatus, RegionSummary};
use super::model::AlarmSettings;
use super::stack::{AlarmConfig, NAME_SEPARATOR, Stack};

pub const METRIC_NAMESPACE: &str = "SSMKeeper/Backup";
/// 1 when the region's backup succeeded, 0 when it failed or was skipped.
pub const METRIC_SUCCESS: &str = "BackupSuccess";
/// The parameters in the region's backup (successful runs only).
pub const METRIC_PARAMETER_COUNT: &str = "ParameterCount";
/// How long the region's backup took, in seconds (successful runs only).
pub const METRIC_DURATION: &str = "BackupDuration";
/// 1 when the region's restore drill passed, 0 when it did not.
pub const METRIC_DRILL_SUCCESS: &str = "DrillSuccess";
/// How long the region's drill took to restore and read back, in seconds (passed drills only).
pub const METRIC_DRILL_DURATION: &str = "DrillDuration";
pub const DIMENSION_ENVIRONMENT: &str = "Environment";
pub const DIMENSION_REGION: &str = "Region";

/// The alarm evaluates one-hour periods: `maxAgeHours` of them.
pub const ALARM_PERIOD_SECONDS: u32 = 3600;

/// The drill alarm evaluates one-day periods: `drillMaxAgeDays` of them.
pub const DRILL_ALARM_PERIOD_SECONDS: u32 = 86_400;

/// `{projectName}-ssm-backup-{environment}/`: every alarm of the stack's environment starts so
/// (the `/` cannot occur in a project or environment name, so no other stack shares the prefix).
pub fn alarm_prefix(project: &str, environment: &str) -> String {
    format!("{project}{NAME_SEPARATOR}{environment}/")
}

/// The alarm watching `region`'s backups.
pub fn alarm_name(project: &str, environment: &str, region: &str) -> String {
    format!("{}{region}", alarm_prefix(project, environment))
}

/// The alarm watching `region`'s restore drills: under the environment's prefix (so it is
/// listed, and removed, with the others), and never a backup alarm's name (a region holds no
/// `/`).
pub fn drill_alarm_name(project: &str, environment: &str, region: &str) -> String {
    format!("{}/drill", alarm_name(project, environment, region))
}

pub fn dimensions(environment: &str, region: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (DIMENSION_ENVIRONMENT.to_string(), environment.to_string()),
        (DIMENSION_REGION.to_string(), region.to_string()),
    ])
}

/// The alarm of one region: the hourly maximum of `BackupSuccess` below 1 for `maxAgeHours`
/// hours in a row, an hour without data counting as below (missing data is breaching). So it
/// fires `maxAgeHours` after the last successful backup, whether the job failed or never ran.
pub fn alarm_settings(stack: &Stack, config: &AlarmConfig, region: &str) -> AlarmSettings {
    AlarmSettings {
        description: format!(
            "No successful ssm-keeper backup of the `{env}` SSM parameters of {region} in the last {h} hours: the nightly job failed or did not run. See the runbook (docs/runbook.md).",
            env = stack.environment,
            h = config.max_age_hours
        ),
        namespace: METRIC_NAMESPACE.to_string(),
        metric_name: METRIC_SUCCESS.to_string(),
        dimensions: dimensions(&stack.environment, region),
        statistic: "Maximum".to_string(),
        period_seconds: ALARM_PERIOD_SECONDS,
        evaluation_periods: config.max_age_hours,
        datapoints_to_alarm: config.max_age_hours,
        comparison: "LessThanThreshold".to_string(),
        threshold: 1,
        treat_missing_data: "breaching".to_string(),
        alarm_actions: vec![config.sns_topic_arn.clone()],
        ok_actions: vec![config.sns_topic_arn.clone()],
    }
}

/// The drill alarm of one region: the daily maximum of `DrillSuccess` below 1 for
/// `drillMaxAgeDays` days in a row, a day without data counting as below. So it fires that many
/// days after the last passed drill, whether drills failed or stopped running.
pub fn drill_alarm_settings(
    stack: &Stack,
    config: &AlarmConfig,
    days: u32,
    region: &str,
) -> AlarmSettings {
    AlarmSettings {
        description: format!(
            "No passed ssm-keeper restore drill of the `{env}` backups of {region} in the last {days} days: the drill failed or did not run. See the runbook (docs/runbook.md).",
            env = stack.environment,
        ),
        namespace: METRIC_NAMESPACE.to_string(),
        metric_name: METRIC_DRILL_SUCCESS.to_string(),
        dimensions: dimensions(&stack.environment, region),
        statistic: "Maximum".to_string(),
        period_seconds: DRILL_ALARM_PERIOD_SECONDS,
        evaluation_periods: days,
        datapoints_to_alarm: days,
        comparison: "LessThanThreshold".to_string(),
        threshold: 1,
        treat_missing_data: "breaching".to_string(),
        alarm_actions: vec![config.sns_topic_arn.clone()],
        ok_actions: vec![config.sns_topic_arn.clone()],
    }
}

/// One metric value to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: &'static str,
    pub dimensions: BTreeMap<String, String>,
    pub value: f64,
    /// A CloudWatch unit: `Count` or `Seconds`.
    pub unit: &'static str,
}

/// What a run reports: per region `BackupSuccess` (1 or 0), and for a success its parameter
/// count and duration. A dry run reports nothing (it proves nothing about the backups).
pub fn metric_data(environment: &str, summaries: &[(String, RegionSummary)]) -> Vec<Datum> {
    let mut out = Vec::new();
    for (region, summary) in summaries {
        let dimensions = dimensions(environment, region);
        let datum = |metric, value, unit| Datum {
            metric,
            dimensions: dimensions.clone(),
            value,
            unit,
        };
        match summary.status {
            RegionStatus::DryRun => {}
            RegionStatus::Failed | RegionStatus::Skipped => {
                out.push(datum(METRIC_SUCCESS, 0.0, "Count"))
            }
            RegionStatus::Success => {
                out.push(datum(METRIC_SUCCESS, 1.0, "Count"));
                out.push(datum(
                    METRIC_PARAMETER_COUNT,
                    summary.parameter_count as f64,
                    "Count",
                ));
                out.push(datum(METRIC_DURATION, summary.duration_sec, "Seconds"));
            }
        }
    }
    out
}

/// What a drill reports per region: `DrillSuccess` (1 passed, 0 not), and for a pass its
/// duration. `(region, passed, seconds)`.
pub fn drill_metric_data(environment: &str, drills: &[(String, bool, f64)]) -> Vec<Datum> {
    let mut out = Vec::new();
    for (region, passed, seconds) in drills {
        let datum = |metric, value, unit| Datum {
            metric,
            dimensions: dimensions(environment, region),
            value,
            unit,
        };
        out.push(datum(
            METRIC_DRILL_SUCCESS,
            if *passed { 1.0 } else { 0.0 },
            "Count",
        ));
        if *passed {
            out.push(datum(METRIC_DRILL_DURATION, *seconds, "Seconds"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stack::sample;

    fn summary(status: RegionStatus, count: u64) -> RegionSummary {
        RegionSummary {
            status,
            parameter_count: count,
            artifact_path: None,
            failure_message: None,
            duration_sec: 2.5,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn an_alarm_fires_max_age_hours_after_the_last_success_also_when_nothing_runs() {
        let stack = sample(&["us-east-1", "eu-west-1"]);
        let config = AlarmConfig {
            sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ops".into(),
            max_age_hours: 26,
            drill_max_age_days: None,
        };
        let a = alarm_settings(&stack, &config, "eu-west-1");
        assert_eq!(
            (a.namespace.as_str(), a.metric_name.as_str()),
            (METRIC_NAMESPACE, METRIC_SUCCESS)
        );
        assert_eq!(a.dimensions["Environment"], "dev");
        assert_eq!(a.dimensions["Region"], "eu-west-1");
        assert_eq!((a.period_seconds, a.evaluation_periods), (3600, 26));
        assert_eq!(a.datapoints_to_alarm, 26);
        assert_eq!(
            (a.statistic.as_str(), a.comparison.as_str(), a.threshold),
            ("Maximum", "LessThanThreshold", 1)
        );
        assert_eq!(a.treat_missing_data, "breaching");
        assert_eq!(a.alarm_actions, std::slice::from_ref(&config.sns_topic_arn));
        assert_eq!(a.ok_actions, [config.sns_topic_arn]);
        assert!(a.description.contains("26 hours"));
        assert_eq!(
            alarm_name("p", "dev", "eu-west-1"),
            "p-ssm-backup-dev/eu-west-1"
        );
    }

    #[test]
    fn success_reports_three_metrics_a_failure_one_zero_a_dry_run_nothing() {
        let data = metric_data(
            "dev",
            &[
                ("us-east-1".into(), summary(RegionStatus::Success, 7)),
                ("eu-west-1".into(), summary(RegionStatus::Failed, 0)),
                ("ap-south-1".into(), summary(RegionStatus::Skipped, 0)),
                ("sa-east-1".into(), summary(RegionStatus::DryRun, 3)),
            ],
        );
        let seen: Vec<(&str, &str, f64)> = data
            .iter()
            .map(|d| (d.dimensions["Region"].as_str(), d.metric, d.value))
            .collect();
        assert_eq!(
            seen,
            [
                ("us-east-1", METRIC_SUCCESS, 1.0),
                ("us-east-1", METRIC_PARAMETER_COUNT, 7.0),
                ("us-east-1", METRIC_DURATION, 2.5),
                ("eu-west-1", METRIC_SUCCESS, 0.0),
                ("ap-south-1", METRIC_SUCCESS, 0.0),
            ]
        );
        assert!(data.iter().all(|d| d.dimensions["Environment"] == "dev"));
        assert_eq!(data[2].unit, "Seconds");
    }

    #[test]
    fn a_drill_alarm_fires_days_after_the_last_passed_drill_and_a_pass_reports_its_duration() {
        let stack = sample(&["us-east-1"]);
        let config = AlarmConfig {
            sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ops".into(),
            max_age_hours: 26,
            drill_max_age_days: Some(7),
        };
        let a = drill_alarm_settings(&stack, &config, 7, "us-east-1");
        assert_eq!(a.metric_name, METRIC_DRILL_SUCCESS);
        assert_eq!(
            (
                a.period_seconds,
                a.evaluation_periods,
                a.datapoints_to_alarm
            ),
            (86_400, 7, 7)
        );
        assert_eq!(
            a.period_seconds * a.evaluation_periods,
            604_800,
            "CloudWatch's most"
        );
        assert_eq!(a.treat_missing_data, "breaching");
        assert!(a.description.contains("7 days"), "{}", a.description);
        let name = drill_alarm_name("p", "dev", "us-east-1");
        assert_eq!(name, "p-ssm-backup-dev/us-east-1/drill");
        assert!(name.starts_with(&alarm_prefix("p", "dev")));
        let data = drill_metric_data(
            "dev",
            &[
                ("us-east-1".into(), true, 4.5),
                ("eu-west-1".into(), false, 1.0),
            ],
        );
        let seen: Vec<(&str, &str, f64, &str)> = data
            .iter()
            .map(|d| (d.dimensions["Region"].as_str(), d.metric, d.value, d.unit))
            .collect();
        assert_eq!(
            seen,
            [
                ("us-east-1", METRIC_DRILL_SUCCESS, 1.0, "Count"),
                ("us-east-1", METRIC_DRILL_DURATION, 4.5, "Seconds"),
                ("eu-west-1", METRIC_DRILL_SUCCESS, 0.0, "Count"),
            ]
        );
    }
}
