//! SSM calls more than one command makes, with "not found" as data.

use anyhow::{Context, Result};
use aws_sdk_ssm::error::SdkError;
use aws_sdk_ssm::types::ParameterStringFilter;

use crate::core::selection::Selection;

use super::aws::Aws;
use super::resource;

/// Deletes a parameter; one that is already gone counts as deleted (a re-run converges).
/// `what` says what was being deleted, for the error.
pub async fn delete_parameter(aws: &Aws, region: &str, name: &str, what: &str) -> Result<()> {
    match aws.ssm(region).delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e)) if e.err().is_parameter_not_found() => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "deleting {what} {name} in {region} (DeleteParameter)"
        ))),
    }
}

/// Values of the named parameters of one region (up to ten; SecureStrings not decrypted),
/// `None` where absent.
pub async fn read_values(aws: &Aws, region: &str, names: &[String]) -> Result<Vec<Option<String>>> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (_, found) = resource::parameter::read_parameters(aws, region, &names).await?;
    Ok(found
        .into_iter()
        .map(|(_, state)| state.and_then(|p| p.value))
        .collect())
}

/// The DescribeParameters filter that lists an environment's parameters (a superset:
/// `Selection::contains` decides).
pub fn selection_filter(selection: &Selection) -> Result<ParameterStringFilter> {
    let (key, option, values) = selection.listing_filter();
    ParameterStringFilter::builder()
        .key(key)
        .option(option)
        .set_values(Some(values))
        .build()
        .context("building the DescribeParameters filter")
}

/// How many parameters of the environment a region holds now (metadata only, no value read).
pub async fn count_selected(aws: &Aws, region: &str, selection: &Selection) -> Result<u64> {
    let mut pages = aws
        .ssm(region)
        .describe_parameters()
        .parameter_filters(selection_filter(selection)?)
        .max_results(50)
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!(
                "listing the parameters of the environment ({}) in {region} (DescribeParameters)",
                selection.describe()
            )
        })?;
        count += page
            .parameters()
            .iter()
            .filter(|p| p.name().is_some_and(|n| selection.contains(n)))
            .count() as u64;
    }
    Ok(count)
}
