//! Observe live AWS: the LiveState for a desired state, read-only calls only, every region in
//! one parallel wave (a second, small wave only for regions being removed). SDK types are
//! converted to model types here and only here.

use anyhow::{Context, Result, bail};
use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet};

use super::aws::Aws;
use crate::core::alarm::alarm_prefix;
use crate::core::desired::{
    MANAGED_BY, region_bucket_parameter, region_list_parameter, stray_metadata_ids,
};
use crate::core::model::{
    AlarmSettings, BucketSettings, DesiredState, Encryption, LifecycleRule, LiveState,
    ParameterKind, ParameterState, PublicAccessBlock, Resource, ResourceId,
};
use crate::core::region::check_region;
use crate::core::stack::{bucket_name, bucket_prefix};

/// S3 error codes that mean "this setting is not configured" (data, not an error).
const ABSENT: &[&str] = &[
    "NoSuchBucket",
    "NoSuchLifecycleConfiguration",
    "NoSuchBucketPolicy",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchTagSet",
    "ServerSideEncryptionConfigurationNotFoundError",
];

/// Reads everything `diff` needs about `desired` (and the regions it no longer names).
pub async fn observe(aws: &Aws, desired: &DesiredState) -> Result<LiveState> {
    let stack = &desired.stack;
    let mut live = LiveState::default();

    let mut ids: Vec<ResourceId> = desired.resources.keys().cloned().collect();
    ids.extend(stray_metadata_ids(stack, &stack.regions));
    // One wave: every desired resource, and the stack's buckets found by name and tag (which
    // also finds regions whose parameters are gone, and buckets retained earlier).
    let mut alarm_regions = vec![stack.ssm_home_region.clone()];
    alarm_regions.extend(
        stack
            .regions
            .iter()
            .filter(|r| **r != stack.ssm_home_region)
            .cloned(),
    );
    let prefix = alarm_prefix(&stack.project_name, &stack.environment);
    let (read, discovered, alarms) = tokio::join!(
        read_resources(aws, &ids, &mut live),
        discover_regions(aws, desired),
        read_alarms(aws, &alarm_regions, &prefix)
    );
    read?;
    let discovered = discovered?;
    // Every alarm of the environment, wanted or not (so removed ones become deletions), and the
    // wanted ones that are absent.
    for id in desired.resources.keys() {
        if let ResourceId::Alarm { .. } = id {
            live.resources.insert(id.clone(), None);
        }
    }
    for (id, settings) in alarms? {
        live.resources.insert(id, Some(Resource::Alarm(settings)));
    }

    let region_list_id = ResourceId::Parameter {
        region: stack.ssm_home_region.clone(),
        name: region_list_parameter(&stack.environment),
    };
    // A region list that cannot be read (edited by hand, say) names no region: the buckets found
    // by name and tag still do, and the plan shows the list's live value being replaced.
    let listed = match live.get(&region_list_id) {
        Some(Resource::Parameter(p)) => {
            parse_region_list(p.value.as_deref().unwrap_or_default()).unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    live.managed_regions = listed
        .iter()
        .chain(&discovered)
        .chain(&stack.regions)
        .filter(|r| seen.insert(r.to_string()))
        .cloned()
        .collect();

    let removed: Vec<String> = live
        .managed_regions
        .iter()
        .filter(|r| !stack.regions.contains(r))
        .cloned()
        .collect();
    if !removed.is_empty() {
        let mut ids = stray_metadata_ids(stack, &removed);
        for region in &removed {
            ids.push(ResourceId::Parameter {
                region: region.clone(),
                name: region_bucket_parameter(&stack.environment, region),
            });
            ids.push(ResourceId::Bucket {
                region: region.clone(),
                name: bucket_name(
                    &stack.project_name,
                    &stack.environment,
                    &desired.account_id,
                    region,
                ),
            });
        }
        read_resources(aws, &ids, &mut live).await?;
        let present: Vec<(String, String)> = ids
            .iter()
            .filter(|id| matches!(id, ResourceId::Bucket { .. }) && live.get(id).is_some())
            .map(|id| (id.region().to_string(), id.name().to_string()))
            .collect();
        let counts = try_join_all(
            present
                .iter()
                .map(|(region, name)| count_objects(aws, region, name)),
        )
        .await?;
        for ((_, name), n) in present.into_iter().zip(counts) {
            live.bucket_objects.insert(name, n);
        }
    }
    Ok(live)
}

/// Reads the given resources, all at once: each bucket's settings in parallel and each region's
/// parameters in batches of ten.
async fn read_resources(aws: &Aws, ids: &[ResourceId], live: &mut LiveState) -> Result<()> {
    let mut parameters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut buckets = Vec::new();
    for id in ids {
        match id {
            ResourceId::Bucket { region, name } => buckets.push((region.as_str(), name.as_str())),
            ResourceId::Parameter { region, name } => {
                parameters.entry(region).or_default().push(name)
            }
            // Read by name prefix, all of the environment at once: see `read_alarms`.
            ResourceId::Alarm { .. } => {}
        }
    }
    let bucket_reads = try_join_all(
        buckets
            .iter()
            .map(|(region, name)| read_bucket(aws, region, name)),
    );
    let parameter_reads = try_join_all(parameters.iter().flat_map(|(region, names)| {
        names
            .chunks(10)
            .map(move |chunk| read_parameters(aws, region, chunk))
    }));
    let (bucket_states, parameter_states) = tokio::try_join!(bucket_reads, parameter_reads)?;
    for ((region, name), state) in buckets.iter().zip(bucket_states) {
        live.resources.insert(
            ResourceId::Bucket {
                region: region.to_string(),
                name: name.to_string(),
            },
            state.map(Resource::Bucket),
        );
    }
    for (region, found) in parameter_states {
        for (name, state) in found {
            live.resources.insert(
                ResourceId::Parameter {
                    region: region.clone(),
                    name,
                },
                state.map(Resource::Parameter),
            );
        }
    }
    Ok(())
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
                let id = ResourceId::Alarm {
                    region: region.clone(),
                    name,
                };
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

fn absent<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code().is_some_and(|c| ABSENT.contains(&c))
}

/// `Ok(None)` for "not configured"; an error for anything else, with what was being read.
fn setting<T, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
    what: &str,
    bucket: &str,
    region: &str,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if absent(&e) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("reading the {what} of bucket {bucket} in {region}"))),
    }
}

/// The bucket's settings, or `None` when the bucket does not exist.
pub async fn read_bucket(aws: &Aws, region: &str, bucket: &str) -> Result<Option<BucketSettings>> {
    let s3 = aws.s3(region);
    let (head, versioning, encryption, lifecycle, pab, policy, tags) = tokio::join!(
        s3.head_bucket().bucket(bucket).send(),
        s3.get_bucket_versioning().bucket(bucket).send(),
        s3.get_bucket_encryption().bucket(bucket).send(),
        s3.get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send(),
        s3.get_public_access_block().bucket(bucket).send(),
        s3.get_bucket_policy().bucket(bucket).send(),
        s3.get_bucket_tagging().bucket(bucket).send(),
    );
    match head {
        Ok(out) => {
            if let Some(actual) = out.bucket_region().filter(|r| *r != region) {
                bail!(
                    "bucket {bucket} exists in {actual}, not in {region}: it cannot be managed as the backup bucket of {region}; remove or rename it"
                );
            }
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => bail!(
            "bucket {bucket} in {region} exists but this account may not read it (403 to HeadBucket): most often the credentials lack the IAM action s3:ListBucket on it (a policy written for another stack: see the hint below); else another account may own it (bucket names are global) and it can never be this stack's"
        ),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "checking whether bucket {bucket} exists in {region} (HeadBucket)"
            )));
        }
    }

    let versioning = setting(
        versioning,
        "versioning (GetBucketVersioning)",
        bucket,
        region,
    )?
    .and_then(|v| v.status().map(|s| s.as_str().to_string()));
    let encryption = setting(
        encryption,
        "default encryption (GetBucketEncryption)",
        bucket,
        region,
    )?
    .and_then(|out| out.server_side_encryption_configuration)
    .and_then(|c| c.rules.into_iter().next())
    .map(|rule| {
        let default = rule.apply_server_side_encryption_by_default;
        Encryption {
            algorithm: default
                .as_ref()
                .map(|d| d.sse_algorithm().as_str().to_string())
                .unwrap_or_default(),
            kms_key_id: default.and_then(|d| d.kms_master_key_id),
            bucket_key_enabled: rule.bucket_key_enabled.unwrap_or(false),
        }
    });
    let lifecycle = setting(
        lifecycle,
        "lifecycle configuration (GetBucketLifecycleConfiguration)",
        bucket,
        region,
    )?
    .map(|out| {
        out.rules
            .unwrap_or_default()
            .into_iter()
            .map(lifecycle_rule)
            .collect()
    });
    let public_access_block = setting(
        pab,
        "public access block (GetPublicAccessBlock)",
        bucket,
        region,
    )?
    .and_then(|out| out.public_access_block_configuration)
    .map(|c| PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    });
    let policy = match setting(policy, "bucket policy (GetBucketPolicy)", bucket, region)?
        .and_then(|o| o.policy)
    {
        None => None,
        Some(text) => Some(serde_json::from_str(&text).with_context(|| {
            format!("the bucket policy of {bucket} in {region} is not valid JSON")
        })?),
    };
    let tags = setting(tags, "tags (GetBucketTagging)", bucket, region)?.map(|out| {
        out.tag_set
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect::<BTreeMap<_, _>>()
    });
    Ok(Some(BucketSettings {
        versioning,
        encryption,
        lifecycle,
        public_access_block,
        policy,
        tags,
    }))
}

fn lifecycle_rule(rule: aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    use aws_sdk_s3::types::ExpirationStatus;
    let mut other = Vec::new();
    #[allow(deprecated)]
    let mut prefix = rule.prefix.clone().unwrap_or_default();
    if let Some(filter) = &rule.filter {
        if let Some(p) = &filter.prefix {
            prefix = p.clone();
        }
        if filter.tag.is_some() || filter.and.is_some() {
            other.push("filter by tag or combined conditions".to_string());
        }
        if filter.object_size_greater_than.is_some() || filter.object_size_less_than.is_some() {
            other.push("filter by object size".to_string());
        }
    }
    if rule.transitions.as_ref().is_some_and(|t| !t.is_empty()) {
        other.push("transitions".to_string());
    }
    if rule.abort_incomplete_multipart_upload.is_some() {
        other.push("abort incomplete multipart uploads".to_string());
    }
    LifecycleRule {
        id: rule.id.clone(),
        enabled: rule.status == ExpirationStatus::Enabled,
        prefix,
        expiration_days: rule.expiration.as_ref().and_then(|e| e.days),
        noncurrent_expiration_days: rule
            .noncurrent_version_expiration
            .as_ref()
            .and_then(|n| n.noncurrent_days),
        other,
    }
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
        let kind = match kind.as_str() {
            "StringList" => ParameterKind::StringList,
            "SecureString" => ParameterKind::SecureString,
            _ => ParameterKind::String,
        };
        let value = if kind == ParameterKind::SecureString {
            None
        } else {
            p.value
        };
        found.insert(name, ParameterState { kind, value });
    }
    let states = names
        .iter()
        .map(|n| (n.to_string(), found.remove(*n)))
        .collect();
    Ok((region.to_string(), states))
}

pub fn parse_region_list(text: &str) -> Result<Vec<String>> {
    let regions: Vec<String> = serde_json::from_str(text)
        .context("the region list is not a JSON array of region names")?;
    for r in &regions {
        check_region(r).map_err(|m| anyhow::anyhow!("the region list holds {m}"))?;
    }
    Ok(regions)
}

/// With no live region list: the regions, other than the stack's, of this stack's buckets that carry the ManagedBy tag
/// (ours, or the Pulumi stack's that ssm-keeper adopts).
async fn discover_regions(aws: &Aws, desired: &DesiredState) -> Result<Vec<String>> {
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
        let tags = aws
            .s3(region)
            .get_bucket_tagging()
            .bucket(name)
            .send()
            .await;
        let managed = setting(tags, "tags (GetBucketTagging)", name, region)?.is_some_and(|t| {
            t.tag_set
                .iter()
                .any(|t| t.key == "ManagedBy" && (t.value == MANAGED_BY || t.value == "Pulumi"))
        });
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

/// Objects in a bucket, every version and delete marker counted.
pub async fn count_objects(aws: &Aws, region: &str, bucket: &str) -> Result<u64> {
    let s3 = aws.s3(region);
    let mut count = 0u64;
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let out = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .with_context(|| {
                format!("counting the objects in bucket {bucket} in {region} (ListObjectVersions)")
            })?;
        count += out.versions().len() as u64 + out.delete_markers().len() as u64;
        if !out.is_truncated().unwrap_or(false) {
            return Ok(count);
        }
        key_marker = out.next_key_marker;
        version_marker = out.next_version_id_marker;
        if key_marker.is_none() {
            return Ok(count);
        }
    }
}
