//! The SSM parameter's SDK calls (the backup metadata): read in batches of ten without
//! decryption (a SecureString's value is never kept), written, and deleted.

use anyhow::{Context, Result};
use futures::future::try_join_all;
use std::collections::BTreeMap;

use crate::core::resource::{ParameterKind, ParameterState, Resource, ResourceId};
use crate::shell::aws::Aws;

/// The live state of each of `ids` (parameters): each region's in batches of ten, all at once.
pub async fn observe(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    let mut by_region: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in ids {
        by_region.entry(&id.region).or_default().push(&id.name);
    }
    let batches = try_join_all(by_region.iter().flat_map(|(region, names)| {
        names
            .chunks(10)
            .map(move |chunk| read_parameters(aws, region, chunk))
    }))
    .await?;
    Ok(batches
        .into_iter()
        .flat_map(|(region, found)| {
            found.into_iter().map(move |(name, state)| {
                (
                    ResourceId::parameter(region.clone(), name),
                    state.map(Resource::Parameter),
                )
            })
        })
        .collect())
}

/// Up to ten parameters of one region; SecureString values are not decrypted nor kept.
pub async fn read_parameters(
    aws: &Aws,
    region: &str,
    names: &[&str],
) -> Result<(String, Vec<(String, Option<ParameterState>)>)> {
    let out = aws
        .ssm(region)
        .get_parameters()
        .set_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .with_decryption(false)
        .send()
        .await
        .with_context(|| {
            format!(
                "reading SSM parameters {} in {region} (GetParameters)",
                names.join(", ")
            )
        })?;
    let mut found: BTreeMap<String, ParameterState> = BTreeMap::new();
    for p in out.parameters.unwrap_or_default() {
        let (Some(name), Some(kind)) = (p.name, p.r#type) else {
            continue;
        };
        let kind = ParameterKind::from_name(kind.as_str()).unwrap_or(ParameterKind::String);
        let value = if kind.is_secure() { None } else { p.value };
        found.insert(name, ParameterState { kind, value });
    }
    let states = names
        .iter()
        .map(|n| (n.to_string(), found.remove(*n)))
        .collect();
    Ok((region.to_string(), states))
}

pub async fn put(aws: &Aws, region: &str, name: &str, p: &ParameterState) -> Result<()> {
    let value = p
        .value
        .as_deref()
        .with_context(|| format!("parameter {name} ({region}) has no value to write"))?;
    aws.ssm(region)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::from(p.kind.as_str()))
        .overwrite(true)
        .send()
        .await
        .with_context(|| format!("writing SSM parameter {name} in {region} (PutParameter)"))?;
    Ok(())
}

/// Deletes a parameter; one already gone counts as deleted.
pub async fn delete(aws: &Aws, region: &str, name: &str) -> Result<()> {
    crate::shell::ssm::delete_parameter(aws, region, name, "SSM parameter").await
}
