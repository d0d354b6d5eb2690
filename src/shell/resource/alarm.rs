//! The CloudWatch alarm's SDK calls: listed by the environment's name prefix (every alarm found
//! is the stack's), written with PutMetricAlarm (create and update are the same call), deleted.

use anyhow::{Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::future::try_join_all;

use crate::core::resource::{AlarmSettings, Resource, ResourceId};
use crate::shell::aws::Aws;

/// Where alarms are listed: the regions, and the name prefix of the environment's alarms.
pub struct Listing<'a> {
    pub regions: &'a [String],
    pub prefix: &'a str,
}

/// The wanted `ids` (absent unless found), and every alarm the listing finds.
pub async fn observe(
    aws: &Aws,
    ids: &[&ResourceId],
    listing: &Listing<'_>,
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    let found = read_alarms(aws, listing.regions, listing.prefix).await?;
    Ok(ids
        .iter()
        .map(|id| ((*id).clone(), None))
        .chain(
            found
                .into_iter()
                .map(|(id, settings)| (id, Some(Resource::Alarm(settings)))),
        )
        .collect())
}

/// The metric alarms whose names start with `prefix`, in each of `regions` (DescribeAlarms).
async fn read_alarms(
    aws: &Aws,
    regions: &[String],
    prefix: &str,
) -> Result<Vec<(ResourceId, AlarmSettings)>> {
    let per_region = try_join_all(regions.iter().map(|region| async move {
        let mut pages = aws
            .cloudwatch(region)
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| {
                format!("reading the CloudWatch alarms {prefix}* in {region} (DescribeAlarms)")
            })?;
            for alarm in page.metric_alarms.unwrap_or_default() {
                let Some(name) = alarm.alarm_name.clone() else {
                    continue;
                };
                let id = ResourceId::alarm(region.clone(), name);
                found.push((id, observed_alarm(alarm)));
            }
        }
        Ok::<_, anyhow::Error>(found)
    }))
    .await?;
    Ok(per_region.into_iter().flatten().collect())
}

/// The settings of an alarm as DescribeAlarms returned it.
fn observed_alarm(a: aws_sdk_cloudwatch::types::MetricAlarm) -> AlarmSettings {
    let threshold = a.threshold.unwrap_or(f64::NAN);
    AlarmSettings {
        description: a.alarm_description.unwrap_or_default(),
        namespace: a.namespace.unwrap_or_default(),
        metric_name: a.metric_name.unwrap_or_default(),
        dimensions: a
            .dimensions
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.name.unwrap_or_default(), d.value.unwrap_or_default()))
            .collect(),
        statistic: a
            .statistic
            .map(|s| s.as_str().to_string())
            .or(a.extended_statistic)
            .unwrap_or_default(),
        period_seconds: a.period.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
        evaluation_periods: a
            .evaluation_periods
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0),
        // Absent means "the same as the evaluation periods" (AWS's default).
        datapoints_to_alarm: a
            .datapoints_to_alarm
            .or(a.evaluation_periods)
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0),
        comparison: a
            .comparison_operator
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        threshold: if threshold.fract() == 0.0 && threshold.abs() < 1e15 {
            threshold as i64
        } else {
            i64::MIN
        },
        treat_missing_data: a.treat_missing_data.unwrap_or_else(|| "missing".into()),
        alarm_actions: a.alarm_actions.unwrap_or_default(),
        ok_actions: a.ok_actions.unwrap_or_default(),
    }
}

/// Creates or replaces a metric alarm with exactly `a` (PutMetricAlarm is both).
pub async fn put(aws: &Aws, region: &str, name: &str, a: &AlarmSettings) -> Result<()> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    let to_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let mut request = aws
        .cloudwatch(region)
        .put_metric_alarm()
        .alarm_name(name)
        .alarm_description(&a.description)
        .namespace(&a.namespace)
        .metric_name(&a.metric_name)
        .statistic(Statistic::from(a.statistic.as_str()))
        .period(to_i32(a.period_seconds))
        .evaluation_periods(to_i32(a.evaluation_periods))
        .datapoints_to_alarm(to_i32(a.datapoints_to_alarm))
        .comparison_operator(ComparisonOperator::from(a.comparison.as_str()))
        .threshold(a.threshold as f64)
        .treat_missing_data(&a.treat_missing_data)
        .actions_enabled(true)
        .set_alarm_actions(Some(a.alarm_actions.clone()))
        .set_ok_actions(Some(a.ok_actions.clone()));
    for (key, value) in &a.dimensions {
        request = request.dimensions(Dimension::builder().name(key).value(value).build());
    }
    request.send().await.with_context(|| {
        format!("writing the CloudWatch alarm {name} in {region} (PutMetricAlarm)")
    })?;
    Ok(())
}

/// Deletes a metric alarm; one already gone counts as deleted.
pub async fn delete(aws: &Aws, region: &str, name: &str) -> Result<()> {
    let result = aws
        .cloudwatch(region)
        .delete_alarms()
        .alarm_names(name)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceNotFound") => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "deleting the CloudWatch alarm {name} in {region} (DeleteAlarms)"
        ))),
    }
}
