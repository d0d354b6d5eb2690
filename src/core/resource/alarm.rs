//! The CloudWatch alarm as the stack manages it: its settings (`PutMetricAlarm` writes them
//! all at once), the attributes a plan tells apart, and their comparison. Pure. What the
//! alarm watches (metrics, names, one per region) is core/alarm.rs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strum::VariantArray;

use super::{Attribute, FieldChange};

/// A CloudWatch metric alarm reduced to what the stack manages. Observed alarms hold what
/// `DescribeAlarms` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSettings {
    pub description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub comparison: String,
    /// Whole numbers only here (the stack's threshold is 1); an observed fractional threshold
    /// is kept as `i64::MIN`, so that it shows as a change.
    pub threshold: i64,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

/// An alarm setting the plan tells apart (the plan says which differ; apply writes them all).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
pub enum AlarmAttribute {
    /// Namespace, metric name, dimensions, statistic and period.
    Metric,
    /// Evaluation periods, datapoints to alarm, comparison and threshold.
    Evaluation,
    TreatMissingData,
    /// The SNS topics notified on ALARM and on OK.
    Actions,
    Description,
}

impl AlarmAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmAttribute::Metric => "metric",
            AlarmAttribute::Evaluation => "evaluation",
            AlarmAttribute::TreatMissingData => "treat-missing-data",
            AlarmAttribute::Actions => "actions",
            AlarmAttribute::Description => "description",
        }
    }
}

/// The attribute's part of the settings, as a plan shows it. Names every field of
/// `AlarmSettings`, so a new one fails to compile here until an attribute holds it.
pub fn value(a: &AlarmSettings, attribute: AlarmAttribute) -> serde_json::Value {
    let AlarmSettings {
        description,
        namespace,
        metric_name,
        dimensions,
        statistic,
        period_seconds,
        evaluation_periods,
        datapoints_to_alarm,
        comparison,
        threshold,
        treat_missing_data,
        alarm_actions,
        ok_actions,
    } = a;
    match attribute {
        AlarmAttribute::Metric => serde_json::json!({
            "namespace": namespace,
            "metricName": metric_name,
            "dimensions": dimensions,
            "statistic": statistic,
            "periodSeconds": period_seconds,
        }),
        AlarmAttribute::Evaluation => serde_json::json!({
            "evaluationPeriods": evaluation_periods,
            "datapointsToAlarm": datapoints_to_alarm,
            "comparison": comparison,
            "threshold": threshold,
        }),
        AlarmAttribute::TreatMissingData => serde_json::json!(treat_missing_data),
        AlarmAttribute::Actions => serde_json::json!({
            "alarmActions": alarm_actions,
            "okActions": ok_actions,
        }),
        AlarmAttribute::Description => serde_json::json!(description),
    }
}

/// The attributes of `h` (live) that differ from `w` (desired).
pub fn compare(h: &AlarmSettings, w: &AlarmSettings) -> Vec<FieldChange> {
    super::changed(
        AlarmAttribute::VARIANTS,
        |a| (value(h, a), value(w, a)),
        Attribute::Alarm,
    )
}
