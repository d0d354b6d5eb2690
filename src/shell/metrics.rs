//! Publish a run's metrics (backup's, the drill's) to CloudWatch, the alarms' input: one
//! PutMetricData call for the whole run, in the SSM home region where the alarms live.

use anyhow::{Context, Result};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use super::aws::Aws;
use crate::core::alarm::{Datum, METRIC_NAMESPACE};

/// PutMetricData takes at most 1,000 metrics per request.
const PER_REQUEST: usize = 1000;

pub async fn publish(aws: &Aws, region: &str, data: &[Datum]) -> Result<()> {
    let client = aws.cloudwatch(region);
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    for chunk in data.chunks(PER_REQUEST) {
        let metrics = chunk
            .iter()
            .map(|d| {
                MetricDatum::builder()
                    .metric_name(d.metric)
                    .set_dimensions(Some(
                        d.dimensions
                            .iter()
                            .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                            .collect(),
                    ))
                    .value(d.value)
                    .unit(StandardUnit::from(d.unit))
                    .timestamp(now)
                    .build()
            })
            .collect();
        client
            .put_metric_data()
            .namespace(METRIC_NAMESPACE)
            .set_metric_data(Some(metrics))
            .send()
            .await
            .with_context(|| {
                format!(
                    "publishing {} metrics ({METRIC_NAMESPACE}) in {region} (PutMetricData)",
                    data.len()
                )
            })?;
    }
    Ok(())
}
