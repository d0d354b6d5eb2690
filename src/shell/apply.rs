//! Apply a plan: ordered, parallel, idempotent SDK calls. Each region's bucket before the
//! parameter that names it (regions in parallel), then the home-region metadata, then the
//! removals. "Already exists" on create and "not found" on delete count as success, so a run
//! that died anywhere converges when re-run.

use anyhow::{Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectIdentifier,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use futures::future::join_all;
use std::collections::BTreeMap;

use super::aws::Aws;
use super::interrupt::{Interrupt, Signal};
use super::lock::LockWatch;
use super::ssm::delete_parameter;
use crate::core::desired::region_bucket_parameter;
use crate::core::model::{
    AlarmSettings, BucketSettings, Encryption, ParameterState, PublicAccessBlock, Resource,
    ResourceId,
};
use crate::core::plan::{Attribute, BucketAttribute, Change, Plan};

/// What happened to each change.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub done: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
    /// The signal that stopped the run: steps in flight finished, no new one started.
    pub interrupted: Option<Signal>,
    /// Why the run's lock was lost, which stopped it the same way.
    pub lock_lost: Option<String>,
}

/// Executes `plan` for the environment `environment`, telling `on_step` about each step as it
/// ends (a line such as `done     created bucket ...`). After SIGINT/SIGTERM, or once the lock
/// is lost, the steps in flight finish and no other starts.
pub async fn apply(
    aws: &Aws,
    plan: &Plan,
    environment: &str,
    interrupt: &Interrupt,
    lock: &LockWatch,
    on_step: &(dyn Fn(&str) + Sync),
) -> ApplyReport {
    // Why no further step may start, if one may not.
    let halted = || {
        if interrupt.received().is_some() {
            Some("interrupted")
        } else if lock.lost().is_some() {
            Some("the lock was lost")
        } else {
            None
        }
    };
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
                // The home-region metadata, and the alarms watching the backups.
                ResourceId::Parameter { .. } | ResourceId::Alarm { .. } => metadata.push(change),
            },
        }
    }

    // 1. Each region: its bucket, then the parameter naming it. Regions in parallel.
    let regional = join_all(by_region.values().map(|(bucket, param)| async move {
        let mut outcomes = Vec::new();
        if let Some(change) = bucket {
            if let Some(why) = halted() {
                return (outcomes, [Some(*change), *param], why);
            }
            let result = step(aws, change, on_step).await;
            let failed = result.is_err();
            outcomes.push((*change, result));
            if failed {
                return (outcomes, [*param, None], "its bucket failed");
            }
        }
        if let Some(change) = param {
            if let Some(why) = halted() {
                return (outcomes, [Some(*change), None], why);
            }
            outcomes.push((*change, step(aws, change, on_step).await));
        }
        (outcomes, [None, None], "")
    }))
    .await;
    for (outcomes, not_run, why) in regional {
        record(&mut report, outcomes.into_iter());
        for change in not_run.into_iter().flatten() {
            let line = format!("{} ({why})", change.id());
            on_step(&format!("skipped  {line}"));
            report.skipped.push(line);
        }
    }

    // 2. The home-region metadata names the buckets: only once every bucket is in place.
    // 3. Then what the stack no longer names: parameters first, then buckets.
    for stage in [metadata, removals, bucket_removals] {
        let halt = halted();
        if !report.failed.is_empty() || halt.is_some() {
            let why = halt.unwrap_or("an earlier step failed");
            for change in stage {
                let line = format!("{} ({why})", change.id());
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
    report.interrupted = interrupt.received();
    report.lock_lost = lock.lost();
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
                    configure_bucket(aws, region, name, settings, &BucketAttribute::APPLY_ORDER)
                        .await?;
                }
                (ResourceId::Parameter { region, name }, Resource::Parameter(p)) => {
                    put_parameter(aws, region, name, p).await?
                }
                (ResourceId::Alarm { region, name }, Resource::Alarm(a)) => {
                    put_alarm(aws, region, name, a).await?
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
                    let attributes = fields
                        .iter()
                        .map(|f| match f.attribute {
                            Attribute::Bucket(a) => Ok(a),
                            Attribute::Parameter(_) | Attribute::Alarm(_) => Err(anyhow::anyhow!(
                                "{id}: the plan asks to change `{}`, which is not a bucket setting",
                                f.attribute
                            )),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    configure_bucket(aws, region, name, settings, &attributes).await?;
                }
                (ResourceId::Parameter { region, name }, Resource::Parameter(p)) => {
                    put_parameter(aws, region, name, p).await?
                }
                // PutMetricAlarm sets every setting at once.
                (ResourceId::Alarm { region, name }, Resource::Alarm(a)) => {
                    put_alarm(aws, region, name, a).await?
                }
                _ => anyhow::bail!("{id}: the plan pairs it with a resource of another type"),
            }
            Ok(format!("updated {id}"))
        }
        Change::Delete { id, objects } => {
            match id {
                ResourceId::Parameter { region, name } => {
                    delete_parameter(aws, region, name, "SSM parameter").await?
                }
                ResourceId::Bucket { region, name } => {
                    delete_bucket(aws, region, name, objects.unwrap_or(0) > 0).await?
                }
                ResourceId::Alarm { region, name } => delete_alarm(aws, region, name).await?,
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
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating bucket {bucket} in {region} (CreateBucket)"))),
    }
}

/// Sets the named attributes of a bucket to their desired values, in apply order (the public
/// access block first).
async fn configure_bucket(
    aws: &Aws,
    region: &str,
    bucket: &str,
    settings: &BucketSettings,
    attributes: &[BucketAttribute],
) -> Result<()> {
    let s3 = aws.s3(region);
    for attribute in BucketAttribute::APPLY_ORDER
        .iter()
        .filter(|a| attributes.contains(a))
    {
        let missing = || {
            anyhow::anyhow!(
                "the plan asks to set the {} of bucket {bucket} but holds no desired value",
                attribute.as_str()
            )
        };
        let result = match attribute {
            BucketAttribute::PublicAccessBlock => {
                let p = settings.public_access_block.as_ref().ok_or_else(missing)?;
                put_public_access_block(&s3, bucket, p).await
            }
            BucketAttribute::Encryption => {
                let e = settings.encryption.as_ref().ok_or_else(missing)?;
                put_encryption(&s3, bucket, e).await
            }
            BucketAttribute::Versioning => {
                let v = settings.versioning.as_ref().ok_or_else(missing)?;
                put_versioning(&s3, bucket, v).await
            }
            BucketAttribute::Lifecycle => {
                let rules = settings.lifecycle.as_ref().ok_or_else(missing)?;
                put_lifecycle(&s3, bucket, rules).await
            }
            BucketAttribute::Policy => {
                let policy = settings.policy.as_ref().ok_or_else(missing)?;
                put_policy(&s3, bucket, policy).await
            }
            BucketAttribute::Tags => {
                let tags = settings.tags.as_ref().ok_or_else(missing)?;
                put_tags(&s3, bucket, tags).await
            }
        };
        result.with_context(|| {
            format!(
                "setting the {} of bucket {bucket} in {region} ({})",
                attribute.as_str(),
                put_operation(*attribute)
            )
        })?;
    }
    Ok(())
}

/// The S3 operation that sets a bucket attribute, for messages.
fn put_operation(attribute: BucketAttribute) -> &'static str {
    match attribute {
        BucketAttribute::PublicAccessBlock => "PutPublicAccessBlock",
        BucketAttribute::Encryption => "PutBucketEncryption",
        BucketAttribute::Versioning => "PutBucketVersioning",
        BucketAttribute::Lifecycle => "PutBucketLifecycleConfiguration",
        BucketAttribute::Policy => "PutBucketPolicy",
        BucketAttribute::Tags => "PutBucketTagging",
    }
}

async fn put_public_access_block(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    p: &PublicAccessBlock,
) -> Result<()> {
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
        .await?;
    Ok(())
}

async fn put_encryption(s3: &aws_sdk_s3::Client, bucket: &str, e: &Encryption) -> Result<()> {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(e.algorithm.as_str()))
        .set_kms_master_key_id(e.kms_key_id.clone())
        .build()?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(default)
                .bucket_key_enabled(e.bucket_key_enabled)
                .build(),
        )
        .build()?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await?;
    Ok(())
}

async fn put_versioning(s3: &aws_sdk_s3::Client, bucket: &str, status: &str) -> Result<()> {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::from(status))
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

async fn put_lifecycle(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    rules: &[crate::core::model::LifecycleRule],
) -> Result<()> {
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
        config = config.rules(rule.build()?);
    }
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config.build()?)
        .send()
        .await?;
    Ok(())
}

async fn put_policy(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    policy: &serde_json::Value,
) -> Result<()> {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(serde_json::to_string(policy)?)
        .send()
        .await?;
    Ok(())
}

async fn put_tags(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let mut tagging = Tagging::builder();
    for (k, v) in tags {
        tagging = tagging.tag_set(Tag::builder().key(k).value(v).build()?);
    }
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging.build()?)
        .send()
        .await?;
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
        .with_context(|| format!("writing SSM parameter {name} in {region} (PutParameter)"))?;
    Ok(())
}

/// Creates or replaces a metric alarm with exactly `a` (PutMetricAlarm is both).
async fn put_alarm(aws: &Aws, region: &str, name: &str, a: &AlarmSettings) -> Result<()> {
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
async fn delete_alarm(aws: &Aws, region: &str, name: &str) -> Result<()> {
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

/// Deletes a bucket; with `destroy_objects`, every object version and delete marker first.
async fn delete_bucket(aws: &Aws, region: &str, bucket: &str, destroy_objects: bool) -> Result<()> {
    let s3 = aws.s3(region);
    if destroy_objects {
        while let Some(page) = object_versions(&s3, region, bucket).await? {
            destroy_page(&s3, region, bucket, page).await?;
        }
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchBucket") => Ok(()),
        Err(e) if e.code() == Some("BucketNotEmpty") => Err(anyhow::Error::new(e).context(format!(
            "deleting bucket {bucket} in {region}: it is not empty (objects arrived after the plan?); plan again"
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("deleting bucket {bucket} in {region} (DeleteBucket)"))),
    }
}

/// The first page of the versions and delete markers left in a bucket; `None` when there are
/// none (or the bucket is gone).
async fn object_versions(
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
) -> Result<Option<Vec<ObjectIdentifier>>> {
    let out = match s3.list_object_versions().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchBucket") => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "listing the objects of bucket {bucket} in {region} to destroy them (ListObjectVersions)"
            )));
        }
    };
    let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = out
        .delete_markers()
        .iter()
        .map(|m| (m.key(), m.version_id()));
    let ids = versions
        .chain(markers)
        .map(|(key, version)| {
            ObjectIdentifier::builder()
                .key(key.unwrap_or_default())
                .set_version_id(version.map(str::to_string))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((!ids.is_empty()).then_some(ids))
}

/// Deletes one page of object versions. S3 answers 200 even when some keys could not be deleted
/// (Object Lock, access denied): those are an error naming the keys, never a reason to list
/// and try again forever.
async fn destroy_page(
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
    objects: Vec<ObjectIdentifier>,
) -> Result<()> {
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(Delete::builder().set_objects(Some(objects)).build()?)
        .send()
        .await
        .with_context(|| {
            format!("destroying objects of bucket {bucket} in {region} (DeleteObjects)")
        })?;
    if out.errors().is_empty() {
        return Ok(());
    }
    let failed: Vec<String> = out
        .errors()
        .iter()
        .map(|e| {
            format!(
                "{} (version {}): {} {}",
                e.key().unwrap_or("?"),
                e.version_id().unwrap_or("null"),
                e.code().unwrap_or("?"),
                e.message().unwrap_or_default()
            )
        })
        .collect();
    anyhow::bail!(
        "destroying objects of bucket {bucket} in {region}: S3 refused to delete {} of them, so the bucket is kept:\n    {}",
        failed.len(),
        failed.join("\n    ")
    )
}
