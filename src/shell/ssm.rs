//! SSM calls more than one command makes, with "not found" as data.

use anyhow::{Context, Result};
use aws_sdk_ssm::error::SdkError;
use aws_sdk_ssm::types::ParameterStringFilter;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

use crate::core::at::HistoryVersion;
use crate::core::backup::BackupParameter;
use crate::core::backup::Secret;
use crate::core::changes::{Current, VersionMeta};
use crate::core::live::{AtVersion, LiveMeta, NAMES_PER_CALL, selector, value_sha256};
use crate::core::selection::Selection;

use super::aws::Aws;
use super::resource;
use super::restore::READS_IN_FLIGHT;

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

/// The environment's parameters live in a region now (metadata only, no value read): name,
/// version, when last modified.
pub async fn list_selected(
    aws: &Aws,
    region: &str,
    selection: &Selection,
) -> Result<Vec<LiveMeta>> {
    Ok(describe_selected(aws, region, selection)
        .await?
        .into_iter()
        .map(|c| LiveMeta {
            name: c.name,
            version: c.version,
            last_modified: c
                .modified
                .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)),
        })
        .collect())
}

/// `list_selected` with who wrote each parameter's live version and its type.
pub async fn describe_selected(
    aws: &Aws,
    region: &str,
    selection: &Selection,
) -> Result<Vec<Current>> {
    let mut pages = aws
        .ssm(region)
        .describe_parameters()
        .parameter_filters(selection_filter(selection)?)
        .max_results(50)
        .into_paginator()
        .send();
    let mut listed = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!(
                "listing the parameters of the environment ({}) in {region} (DescribeParameters)",
                selection.describe()
            )
        })?;
        listed.extend(page.parameters().iter().filter_map(|p| {
            let name = p.name().filter(|n| selection.contains(n))?;
            Some(Current {
                name: name.to_string(),
                version: p.version(),
                kind: p
                    .r#type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                modified: p.last_modified_date().and_then(moment),
                modified_by: p.last_modified_user().map(str::to_string),
            })
        }));
    }
    Ok(listed)
}

/// An SDK time as a moment.
fn moment(t: &aws_smithy_types::DateTime) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(t.secs()) * 1_000_000_000 + i128::from(t.subsec_nanos()),
    )
    .ok()
}

/// Every version SSM keeps of a parameter, with who wrote each, its value never decrypted and
/// dropped as it is read; `None` when the parameter does not exist (SSM forgets a deleted
/// parameter's history). Paced in its own lane (`GetParameterHistory`).
pub async fn history_meta(aws: &Aws, region: &str, name: &str) -> Result<Option<Vec<VersionMeta>>> {
    Ok(history(aws, region, name, false)
        .await?
        .map(|versions| versions.into_iter().map(|v| v.meta).collect()))
}

/// `history_meta` with each version's value, decrypted (in memory only: `restore --at`).
pub async fn history_values(
    aws: &Aws,
    region: &str,
    name: &str,
) -> Result<Option<Vec<HistoryVersion>>> {
    history(aws, region, name, true).await
}

async fn history(
    aws: &Aws,
    region: &str,
    name: &str,
    decrypt: bool,
) -> Result<Option<Vec<HistoryVersion>>> {
    let mut pages = aws
        .ssm(region)
        .get_parameter_history()
        .name(name)
        .with_decryption(decrypt)
        .max_results(50)
        .into_paginator()
        .send();
    let mut versions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(SdkError::ServiceError(e)) if e.err().is_parameter_not_found() => {
                return Ok(None);
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "reading the history of {name} in {region} (GetParameterHistory)"
                )));
            }
        };
        for v in page.parameters.unwrap_or_default() {
            let meta = VersionMeta {
                version: v.version,
                modified: v.last_modified_date.as_ref().and_then(moment),
                modified_by: v.last_modified_user,
                kind: v.r#type.map(|t| t.as_str().to_string()).unwrap_or_default(),
                tier: v.tier.map(|t| t.as_str().to_string()).unwrap_or_default(),
                key_id: v.key_id,
                description: v.description,
                policies: v
                    .policies
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.policy_text)
                    .collect(),
                labels: v.labels.unwrap_or_default(),
            };
            versions.push(HistoryVersion {
                meta,
                value: Secret::new(v.value.unwrap_or_default()),
                data_type: v.data_type,
                allowed_pattern: v.allowed_pattern,
            });
        }
    }
    Ok(Some(versions))
}

/// An SDK time in milliseconds since the epoch.
fn epoch_millis(t: &aws_smithy_types::DateTime) -> Option<i64> {
    t.to_millis().ok()
}

/// Each parameter read at the version the backup holds (`name:version`, ten a call, a few calls
/// at once, paced with the run's other reads), decrypted, its value hashed at once and dropped:
/// `None` where SSM holds no such version (the parameter deleted, or the version no longer kept).
pub async fn read_at_versions(
    aws: &Aws,
    region: &str,
    parameters: &[&BackupParameter],
) -> Result<BTreeMap<String, Option<AtVersion>>> {
    let ssm = aws.ssm(region);
    let batches: Vec<Vec<(String, Option<AtVersion>)>> = futures::stream::iter(
        parameters
            .chunks(NAMES_PER_CALL)
            .map(|chunk| read_batch_at_versions(&ssm, region, chunk)),
    )
    .buffer_unordered(READS_IN_FLIGHT)
    .try_collect()
    .await?;
    Ok(batches.into_iter().flatten().collect())
}

async fn read_batch_at_versions(
    ssm: &aws_sdk_ssm::Client,
    region: &str,
    chunk: &[&BackupParameter],
) -> Result<Vec<(String, Option<AtVersion>)>> {
    let out = ssm
        .get_parameters()
        .set_names(Some(chunk.iter().map(|p| selector(p)).collect()))
        .with_decryption(true)
        .send()
        .await
        .with_context(|| {
            format!(
                "reading {} parameters of the backup at their versions in {region} (GetParameters), from {}",
                chunk.len(),
                chunk[0].name
            )
        })?;
    // SSM answers with the name alone: the version tells which one came back.
    let mut found: BTreeMap<(String, i64), AtVersion> = out
        .parameters()
        .iter()
        .filter_map(|p| {
            let at = AtVersion {
                kind: p
                    .r#type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                value_sha256: value_sha256(p.value().unwrap_or_default()),
                last_modified: p.last_modified_date().and_then(epoch_millis),
            };
            Some(((p.name()?.to_string(), p.version()), at))
        })
        .collect();
    Ok(chunk
        .iter()
        .map(|p| (p.name.clone(), found.remove(&(p.name.clone(), p.version))))
        .collect())
}
