//! The restore drill's cleanup: every parameter under the environment's drill path in a
//! region (this run's, and whatever a killed drill left) listed by path and deleted in batches.
//! Names only: no value is read here.

use anyhow::{Context, Result};
use aws_sdk_ssm::types::ParameterStringFilter;

use super::aws::Aws;
use crate::core::drill::drill_prefix;

/// DeleteParameters takes at most ten names.
const DELETE_BATCH: usize = 10;

/// The names under the environment's drill path in `region` (DescribeParameters, recursive
/// path filter, every page).
pub async fn drill_parameters(aws: &Aws, region: &str, environment: &str) -> Result<Vec<String>> {
    let prefix = drill_prefix(environment);
    // A path filter names the path without its trailing `/`.
    let filter = ParameterStringFilter::builder()
        .key("Path")
        .option("Recursive")
        .values(prefix.trim_end_matches('/'))
        .build()
        .context("building the DescribeParameters path filter")?;
    let pages: Vec<_> = aws
        .ssm(region)
        .describe_parameters()
        .parameter_filters(filter)
        .max_results(50)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .with_context(|| {
            format!("listing the drill parameters {prefix}* in {region} (DescribeParameters)")
        })?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.parameters.unwrap_or_default())
        .filter_map(|p| p.name)
        .filter(|name| name.starts_with(&prefix))
        .collect())
}

/// Deletes every parameter under the environment's drill path in `region`; how many were
/// deleted. One already gone counts as deleted: a re-run converges.
pub async fn clean_up(aws: &Aws, region: &str, environment: &str) -> Result<usize> {
    let names = drill_parameters(aws, region, environment).await?;
    let ssm = aws.ssm(region);
    for batch in names.chunks(DELETE_BATCH) {
        ssm.delete_parameters()
            .set_names(Some(batch.to_vec()))
            .send()
            .await
            .with_context(|| {
                format!(
                    "deleting {} drill parameters under {} in {region} (DeleteParameters)",
                    batch.len(),
                    drill_prefix(environment)
                )
            })?;
    }
    Ok(names.len())
}
