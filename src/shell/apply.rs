//! Apply a plan: ordered, parallel, idempotent SDK calls. Each region's bucket before the
//! parameter that names it (regions in parallel), then the home-region metadata, then the
//! removals. "Already exists" on create and "not found" on delete count as success, so a run
//! that died anywhere converges when re-run.

use anyhow::{Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use futures::future::join_all;
use std::collections::BTreeMap;

use super::aws::Aws;
use crate::core::desired::region_bucket_parameter;
use crate::core::model::{BucketSettings, ParameterState, Resource, ResourceId};
use crate::core::plan::{Change, Plan};

/// Bucket attributes in the order they are set: the public access block before anything else.
const BUCKET_ATTRIBUTES: [&str; 6] = [
    "public-access-block",
    "encryption",
    "versioning",
    "lifecycle",
    "policy",
    "tags",
];

/// What happened to each change.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub done: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
}

/// Executes `plan` for the environment `environment`, telling `on_step` about each step as it
/// ends (a line such as `done     created bucket ...`).
pub async fn apply(
    aws: &Aws,
    plan: &Plan,
    environment: &str,
    on_step: &(dyn Fn(&str) + Sync),
) -> ApplyReport {
    let mut report = ApplyReport::default();
    let mut by_region: BTreeMap<&str, (Option<&Change>, Option<&Change>)> = BTreeMap::new();
    let mut metadata = Vec::new();
    let mut removals = Vec::new();
    let mut bucket_removals = Vec::new();
    for change in &plan.changes {
        match change {
            Change::Retain { .. } => {}
            Change::Delete {
                id: ResourceId::Bucket { .. },
                ..
            } => bucket_removals.push(change),
            Change::Delete { .. } => removals.push(change),
            Change::Create { id, .. } | Change::Update { id, .. } => match id {
                ResourceId::Bucket { region, .. } => {
                    by_region.entry(region).or_default().0 = Some(change)
                }
                ResourceId::Parameter { region, name }
                    if *name == region_bucket_parameter(environment, region) =>
                {
                    by_region.entry(region).or_default().1 = Some(change)
                }
                ResourceId::Parameter { .. } => metadata.push(change),
            },
        }
    }

    // 1. Each region: its bucket, then the parameter naming it. Regions in parallel.
    let regional = join_all(by_region.values().map(|(bucket, param)| async move {
        let mut outcomes = Vec::new();
        if let Some(change) = bucket {
            let result = step(aws, change, on_step).await;
            let failed = result.is_err();
            outcomes.push((*change, result));
            if failed {
                return (outcomes, *param);
            }
        }
        if let Some(change) = param {
            outcomes.push((*change, step(aws, change, on_step).await));
        }
        (outcomes, None)
    }))
    .await;
    for (outcomes, not_run) in regional {
        record(&mut report, outcomes.into_iter());
        if let Some(change) = not_run {
            let line = format!("{} (its bucket failed)", change.id());
            on_step(&format!("skipped  {line}"));
            report.skipped.push(line);
        }
    }

    // 2. The home-region metadata names the buckets: only once every bucket is in place.
    // 3. Then what the stack no longer names: parameters first, then buckets.
    for stage in [metadata, removals, bucket_removals] {
        if !report.failed.is_empty() {
            for change in stage {
                let line = format!("{} (an earlier step failed)", change.id());
                on_step(&format!("skipped  {line}"));
                report.skipped.push(line);
            }
            continue;
        }
        let results = join_all(
            stage
                .iter()
                .map(|c| async move { (*c, step(aws, c, on_step).await) }),
        )
        .await;
        record(&mut report, results.into_iter());
    }
    report
}

fn record<'a>(
    report: &mut ApplyReport,
    outcomes: impl Iterator<Item = (&'a Change, Result<String>)>,
) {
    for (change, outcome) in outcomes {
        match outcome {
            Ok(done) => report.done.push(done),
            Err(e) => report.failed.push(format!("{}: {e:#}", change.id())),
        }
    }
}

async fn step(aws: &Aws, change: &Change, on_step: &(dyn Fn(&str) + Sync)) -> Result<String> {
    let result = execute(aws, change).await;
    match &result {
        Ok(done) => on_step(&format!("done     {done}")),
        Err(e) => on_step(&format!("FAILED   {}: {e:#}", change.id())),
    }
    result
}

async fn execute(aws: &Aws, change: &Change) -> Result<String> {
    match change {
        Change::Create { id, desired } => {
            match (id, desired) {
                (ResourceId::Bucket { region, name }, Resource::Bucket(settings)) => {
                    create_bucket(aws, region, name).await?;
                    configure_bucket(aws, region, name, settings, &BUCKET_ATTRIBUTES).await?;
                }
                (ResourceId::Parameter { region, name }, Resource::Parameter(p)) => {
                    put_parameter(aws, region, name, p).await?
                }
                _ => anyhow::bail!("{id}: the plan pairs it with a resource of another type"),
            }
            Ok(format!("created {id}"))
        }
        Change::Update {
            id,
            fields,
            desired,
        } => {
            match (id, desired) {
                (ResourceId::Bucket { region, name }, Resource::Bucket(settings)) => {
                    let attributes: Vec<&str> =
                        fields.iter().map(|f| f.attribute.as_str()).collect();
                    configure_bucket(aws, region, name, settings, &attributes).await?;
                }
                (ResourceId::Parameter { region, name }, Resource::Parameter(p)) => {
                    put_parameter(aws, region, name, p).await?
                }
                _ => anyhow::bail!("{id}: the plan pairs it with a resource of another type"),
            }
            Ok(format!("updated {id}"))
        }
        Change::Delete { id, objects } => {
            match id {
                ResourceId::Parameter { region, name } => {
                    delete_parameter(aws, region, name).await?
                }
                ResourceId::Bucket { region, name } => {
                    delete_bucket(aws, region, name, objects.unwrap_or(0) > 0).await?
                }
            }
            Ok(format!("deleted {id}"))
        }
        Change::Retain { id, .. } => Ok(format!("retained {id}")),
    }
}

async fn create_bucket(aws: &Aws, region: &str, bucket: &str) -> Result<()> {
    let mut request = aws.s3(region).create_bucket().bucket(bucket);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
        Err(e) if e.code() == Some("BucketAlreadyExists") => Err(anyhow::Error::new(e).context(format!(
            "creating bucket {bucket} in {region}: the name is taken by another account; bucket names are global"
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating bucket {bucket} in {region}"))),
    }
}

/// Sets the named attributes of a bucket to their desired values, public access block first.
async fn configure_bucket(
    aws: &Aws,
    region: &str,
    bucket: &str,
    settings: &BucketSettings,
    attributes: &[&str],
) -> Result<()> {
    let s3 = aws.s3(region);
    for attribute in BUCKET_ATTRIBUTES.iter().filter(|a| attributes.contains(a)) {
        let context = || format!("setting the {attribute} of bucket {bucket} in {region}");
        match *attribute {
            "public-access-block" => {
                let Some(p) = &settings.public_access_block else {
                    continue;
                };
                s3.put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(p.block_public_acls)
                            .ignore_public_acls(p.ignore_public_acls)
                            .block_public_policy(p.block_public_policy)
                            .restrict_public_buckets(p.restrict_public_buckets)
                            .build(),
                    )
                    .send()
                    .await
                    .with_context(context)?;
            }
            "encryption" => {
                let Some(e) = &settings.encryption else {
                    continue;
                };
                let default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::from(e.algorithm.as_str()))
                    .set_kms_master_key_id(e.kms_key_id.clone())
                    .build()
                    .with_context(context)?;
                let config = ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default)
                            .bucket_key_enabled(e.bucket_key_enabled)
                            .build(),
                    )
                    .build()
                    .with_context(context)?;
                s3.put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(config)
                    .send()
                    .await
                    .with_context(context)?;
            }
            "versioning" => {
                let Some(status) = &settings.versioning else {
                    continue;
                };
                s3.put_bucket_versioning()
                    .bucket(bucket)
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::from(status.as_str()))
                            .build(),
                    )
                    .send()
                    .await
                    .with_context(context)?;
            }
            "lifecycle" => {
                let Some(rules) = &settings.lifecycle else {
                    continue;
                };
                let mut config = BucketLifecycleConfiguration::builder();
                for r in rules {
                    let mut rule = LifecycleRule::builder()
                        .set_id(r.id.clone())
                        .status(if r.enabled {
                            ExpirationStatus::Enabled
                        } else {
                            ExpirationStatus::Disabled
                        })
                        .filter(LifecycleRuleFilter::builder().prefix(&r.prefix).build());
                    if let Some(days) = r.expiration_days {
                        rule = rule.expiration(LifecycleExpiration::builder().days(days).build());
                    }
                    if let Some(days) = r.noncurrent_expiration_days {
                        rule = rule.noncurrent_version_expiration(
                            NoncurrentVersionExpiration::builder()
                                .noncurrent_days(days)
                                .build(),
                        );
                    }
                    config = config.rules(rule.build().with_context(context)?);
                }
                s3.put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(config.build().with_context(context)?)
                    .send()
                    .await
                    .with_context(context)?;
            }
            "policy" => {
                let Some(policy) = &settings.policy else {
                    continue;
                };
                s3.put_bucket_policy()
                    .bucket(bucket)
                    .policy(serde_json::to_string(policy)?)
                    .send()
                    .await
                    .with_context(context)?;
            }
            "tags" => {
                let Some(tags) = &settings.tags else { continue };
                let mut tagging = Tagging::builder();
                for (k, v) in tags {
                    tagging = tagging.tag_set(
                        Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .with_context(context)?,
                    );
                }
                s3.put_bucket_tagging()
                    .bucket(bucket)
                    .tagging(tagging.build().with_context(context)?)
                    .send()
                    .await
                    .with_context(context)?;
            }
            _ => {}
        }
    }
    Ok(())
}

async fn put_parameter(aws: &Aws, region: &str, name: &str, p: &ParameterState) -> Result<()> {
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
        .with_context(|| format!("writing SSM parameter {name} in {region}"))?;
    Ok(())
}

async fn delete_parameter(aws: &Aws, region: &str, name: &str) -> Result<()> {
    match aws.ssm(region).delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(())
        }
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("deleting SSM parameter {name} in {region}")))
        }
    }
}

/// Deletes a bucket; with `destroy_objects`, every object version and delete marker first.
async fn delete_bucket(aws: &Aws, region: &str, bucket: &str, destroy_objects: bool) -> Result<()> {
    let s3 = aws.s3(region);
    if destroy_objects {
        loop {
            let out = match s3.list_object_versions().bucket(bucket).send().await {
                Ok(out) => out,
                Err(e) if e.code() == Some("NoSuchBucket") => return Ok(()),
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "listing the objects of bucket {bucket} in {region} to destroy them"
                    )));
                }
            };
            let mut ids = Vec::new();
            for v in out.versions() {
                ids.push((
                    v.key().unwrap_or_default().to_string(),
                    v.version_id().map(str::to_string),
                ));
            }
            for m in out.delete_markers() {
                ids.push((
                    m.key().unwrap_or_default().to_string(),
                    m.version_id().map(str::to_string),
                ));
            }
            if ids.is_empty() {
                break;
            }
            let objects = ids
                .into_iter()
                .map(|(key, version)| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            s3.delete_objects()
                .bucket(bucket)
                .delete(
                    aws_sdk_s3::types::Delete::builder()
                        .set_objects(Some(objects))
                        .build()?,
                )
                .send()
                .await
                .with_context(|| format!("destroying objects of bucket {bucket} in {region}"))?;
        }
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(()),
        Err(e) if e.code() == Some("BucketNotEmpty") => Err(anyhow::Error::new(e).context(format!(
            "deleting bucket {bucket} in {region}: it is not empty (objects arrived after the plan?); plan again"
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("deleting bucket {bucket} in {region}"))),
    }
}
