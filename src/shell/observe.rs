//! Observe live AWS: the LiveState for a desired state, read-only calls only, every region in
//! one parallel wave (a second, small wave only for regions being removed). Each kind reads
//! itself (shell/resource); this module decides what to read.

use anyhow::Result;
use futures::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet};
use strum::VariantArray;

use super::aws::Aws;
use super::resource::{self, Listing, bucket};
use crate::core::alarm::alarm_prefix;
use crate::core::dashboard::dashboard_id;
use crate::core::desired::{
    copies_parameter_id, key_alias, manages_keys, parse_region_list, region_bucket_parameter,
    region_list_parameter, stray_metadata_ids, unused_key_ids,
};
use crate::core::journal::journal_ids;
use crate::core::model::{DesiredState, LiveState, Resource, ResourceId};
use crate::core::region::check_region;
use crate::core::resource::Kind;
use crate::core::resource::key::TaggedKey;
use crate::core::stack::{Stack, bucket_name, bucket_prefix};

/// Reads everything `diff` needs about `desired` (and the regions it no longer names).
pub async fn observe(aws: &Aws, desired: &DesiredState) -> Result<LiveState> {
    let stack = &desired.stack;
    let mut live = LiveState::default();

    let mut ids: Vec<ResourceId> = desired.resources.keys().cloned().collect();
    ids.extend(stray_metadata_ids(stack, &stack.regions));
    ids.extend(unused_key_ids(stack, &stack.regions));
    // The copies parameter, to delete when the stack has no copies any more.
    let copies = copies_parameter_id(stack);
    if !desired.resources.contains_key(&copies) {
        ids.push(copies);
    }
    ids.extend(absent_journal_ids(desired, &stack.regions));
    // The dashboard, to delete when the stack has none any more.
    let dashboard = dashboard_id(stack);
    if !desired.resources.contains_key(&dashboard) {
        ids.push(dashboard);
    }
    // One wave: every desired resource, every alarm of the environment (so removed ones become
    // deletions), and the stack's buckets found by name and tag (which also finds regions whose
    // parameters are gone, and buckets retained earlier).
    let mut alarm_regions = vec![stack.ssm_home_region.clone()];
    alarm_regions.extend(
        stack
            .regions
            .iter()
            .filter(|r| **r != stack.ssm_home_region)
            .cloned(),
    );
    let prefix = alarm_prefix(&stack.project_name, &stack.environment);
    let listing = Listing {
        regions: &alarm_regions,
        prefix: &prefix,
    };
    let (read, discovered, tagged) = tokio::join!(
        read_resources(aws, &ids, Some(&listing), &mut live),
        discover_regions(aws, desired),
        tagged_keys(aws, stack),
    );
    read?;
    live.tagged_keys = tagged?;
    live.managed_regions = managed_regions(desired, &live, discovered?);

    let removed: Vec<String> = live
        .managed_regions
        .iter()
        .filter(|r| !stack.regions.contains(r))
        .cloned()
        .collect();
    if !removed.is_empty() {
        observe_removed(aws, desired, &removed, &mut live).await?;
    }
    live.journal_groups = journal_groups(aws, desired, &live).await?;
    Ok(live)
}

/// The journal resources of `regions` the stack does not ask for: read so that the ones left
/// from before (the `journal` section removed) are removed.
fn absent_journal_ids(desired: &DesiredState, regions: &[String]) -> Vec<ResourceId> {
    regions
        .iter()
        .flat_map(|region| journal_ids(&desired.stack, region))
        .filter(|id| !desired.resources.contains_key(id))
        .collect()
}

/// Every stack's journal log groups in each region where the account's Logs policy is live and
/// the stack no longer asks for it: the policy goes only with the region's last journal.
async fn journal_groups(
    aws: &Aws,
    desired: &DesiredState,
    live: &LiveState,
) -> Result<BTreeMap<String, Vec<String>>> {
    let regions: Vec<&str> = live
        .resources
        .iter()
        .filter(|(id, state)| {
            id.kind == Kind::LogsPolicy && state.is_some() && !desired.resources.contains_key(id)
        })
        .map(|(id, _)| id.region.as_str())
        .collect();
    let found = try_join_all(
        regions
            .iter()
            .map(|region| resource::journal::journal_groups(aws, region)),
    )
    .await?;
    Ok(regions.into_iter().map(str::to_string).zip(found).collect())
}

/// The keys tagged with the stack's alias in each region whose key apply manages (none for a
/// stack that manages no key): what tells an orphan from the alias's key.
async fn tagged_keys(aws: &Aws, stack: &Stack) -> Result<Vec<TaggedKey>> {
    if !manages_keys(stack) {
        return Ok(Vec::new());
    }
    let alias = key_alias(&stack.project_name, &stack.environment);
    let found = try_join_all(
        stack
            .regions
            .iter()
            .map(|region| resource::key::tagged(aws, region, &alias)),
    )
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// The regions managed now or before: the live region list, then regions where a bucket of
/// this stack was found, then the stack's own. A region list that cannot be read (edited by
/// hand, say) names no region: the buckets found by name and tag still do, and the plan shows
/// the list's live value being replaced.
fn managed_regions(
    desired: &DesiredState,
    live: &LiveState,
    discovered: Vec<String>,
) -> Vec<String> {
    let stack = &desired.stack;
    let region_list_id = ResourceId::parameter(
        stack.ssm_home_region.clone(),
        region_list_parameter(&stack.environment),
    );
    let listed = match live.get(&region_list_id) {
        Some(Resource::Parameter(p)) => {
            parse_region_list(p.value.as_deref().unwrap_or_default()).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    listed
        .iter()
        .chain(&discovered)
        .chain(&stack.regions)
        .filter(|r| seen.insert(r.to_string()))
        .cloned()
        .collect()
}

/// The second wave: what is left in the regions the stack no longer names (metadata, the
/// bucket parameter, the bucket and how many objects it holds).
async fn observe_removed(
    aws: &Aws,
    desired: &DesiredState,
    removed: &[String],
    live: &mut LiveState,
) -> Result<()> {
    let stack = &desired.stack;
    let mut ids = stray_metadata_ids(stack, removed);
    ids.extend(unused_key_ids(stack, removed));
    ids.extend(absent_journal_ids(desired, removed));
    for region in removed {
        ids.push(ResourceId::parameter(
            region.clone(),
            region_bucket_parameter(&stack.environment, region),
        ));
        let name = bucket_name(
            &stack.project_name,
            &stack.environment,
            &desired.account_id,
            region,
        );
        ids.push(ResourceId::bucket(region.clone(), name));
    }
    read_resources(aws, &ids, None, live).await?;
    let present: Vec<&ResourceId> = ids
        .iter()
        .filter(|id| id.kind == Kind::Bucket && live.get(id).is_some())
        .collect();
    let counts = try_join_all(
        present
            .iter()
            .map(|id| bucket::count_objects(aws, &id.region, &id.name)),
    )
    .await?;
    for (id, n) in present.into_iter().zip(counts) {
        live.bucket_objects.insert(id.name.clone(), n);
    }
    Ok(())
}

/// Reads the given resources, every kind at once; listed kinds list only with a `listing`.
async fn read_resources(
    aws: &Aws,
    ids: &[ResourceId],
    listing: Option<&Listing<'_>>,
    live: &mut LiveState,
) -> Result<()> {
    let reads = try_join_all(Kind::VARIANTS.iter().map(|&kind| {
        let of_kind: Vec<&ResourceId> = ids.iter().filter(|id| id.kind == kind).collect();
        async move { resource::observe(aws, kind, &of_kind, listing).await }
    }))
    .await?;
    live.resources.extend(reads.into_iter().flatten());
    Ok(())
}

/// With no live region list: the regions, other than the stack's, of this stack's buckets that
/// carry the ManagedBy tag (ours, or the Pulumi stack's that ssm-keeper adopts).
async fn discover_regions(aws: &Aws, desired: &DesiredState) -> Result<Vec<String>> {
    use anyhow::Context;
    let stack = &desired.stack;
    let prefix = bucket_prefix(&stack.project_name, &stack.environment, &desired.account_id);
    let s3 = aws.s3(&stack.ssm_home_region);
    let mut pages = s3.list_buckets().prefix(&prefix).into_paginator().send();
    let mut candidates = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.context("listing buckets to find regions managed before (ListBuckets)")?;
        for b in page.buckets.unwrap_or_default() {
            let Some(name) = b.name else { continue };
            if let Some(region) = name.strip_prefix(&prefix)
                && check_region(region).is_ok()
                && !stack.regions.iter().any(|r| r == region)
            {
                candidates.push((region.to_string(), name.clone()));
            }
        }
    }
    let tagged = try_join_all(candidates.iter().map(|(region, name)| async move {
        let managed = bucket::is_managed(aws, region, name).await?;
        Ok::<_, anyhow::Error>(managed.then(|| region.clone()))
    }))
    .await?;
    let mut seen = BTreeSet::new();
    Ok(tagged
        .into_iter()
        .flatten()
        .filter(|r| seen.insert(r.clone()))
        .collect())
}
