//! The backup bucket's SDK calls: observed (HeadBucket and one Get per attribute, in parallel;
//! "not configured" is data), created, configured attribute by attribute in apply order, and
//! deleted (with its objects only when asked). SDK types become model types here and only here.

use anyhow::{Context, Result, bail};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, DefaultRetention, Delete, ExpirationStatus, LifecycleExpiration,
    LifecycleRule as SdkLifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use futures::future::try_join_all;
use std::collections::BTreeMap;

use crate::core::desired::MANAGED_BY;
use crate::core::resource::bucket::{ObjectLock, value as bucket_value};
use crate::core::resource::{
    BucketAttribute, BucketSettings, Encryption, LifecycleRule, PublicAccessBlock, Resource,
    ResourceId,
};
use crate::shell::aws::Aws;

/// The live settings of each of `ids` (buckets), all at once.
pub async fn observe(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    let states = try_join_all(ids.iter().map(|id| read_bucket(aws, &id.region, &id.name))).await?;
    Ok(ids
        .iter()
        .zip(states)
        .map(|(id, state)| ((*id).clone(), state.map(Resource::Bucket)))
        .collect())
}

/// S3 error codes that mean "this setting is not configured" (data, not an error).
const ABSENT: &[&str] = &[
    "NoSuchBucket",
    "NoSuchLifecycleConfiguration",
    "NoSuchBucketPolicy",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchTagSet",
    "ServerSideEncryptionConfigurationNotFoundError",
    "ObjectLockConfigurationNotFoundError",
];

fn absent<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code().is_some_and(|c| ABSENT.contains(&c))
}

/// `Ok(None)` for "not configured"; an error for anything else, with what was being read.
/// One setting of a bucket being read: "not configured" is `Ok(None)`, anything else an error
/// saying what was being read.
struct Setting<'a> {
    what: &'a str,
    bucket: &'a str,
    region: &'a str,
}

impl Setting<'_> {
    fn read<T, E>(
        &self,
        result: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
    ) -> Result<Option<T>>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let Setting {
            what,
            bucket,
            region,
        } = self;
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("reading the {what} of bucket {bucket} in {region}"))),
        }
    }
}

/// The bucket's settings, or `None` when the bucket does not exist. Every setting is read at
/// once; "not configured" is `None`.
pub async fn read_bucket(aws: &Aws, region: &str, bucket: &str) -> Result<Option<BucketSettings>> {
    let s3 = aws.s3(region);
    let (head, versioning, encryption, lifecycle, pab, policy, tags, lock) = tokio::join!(
        s3.head_bucket().bucket(bucket).send(),
        s3.get_bucket_versioning().bucket(bucket).send(),
        s3.get_bucket_encryption().bucket(bucket).send(),
        s3.get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send(),
        s3.get_public_access_block().bucket(bucket).send(),
        s3.get_bucket_policy().bucket(bucket).send(),
        s3.get_bucket_tagging().bucket(bucket).send(),
        s3.get_object_lock_configuration().bucket(bucket).send(),
    );
    if !exists(head, region, bucket)? {
        return Ok(None);
    }
    let s = |what| Setting {
        what,
        bucket,
        region,
    };
    Ok(Some(BucketSettings {
        versioning: s("versioning (GetBucketVersioning)")
            .read(versioning)?
            .and_then(|v| v.status().map(|s| s.as_str().to_string())),
        encryption: s("default encryption (GetBucketEncryption)")
            .read(encryption)?
            .and_then(|out| out.server_side_encryption_configuration)
            .and_then(|c| c.rules.into_iter().next())
            .map(encryption_of),
        lifecycle: s("lifecycle configuration (GetBucketLifecycleConfiguration)")
            .read(lifecycle)?
            .map(|out| {
                out.rules
                    .into_iter()
                    .flatten()
                    .map(lifecycle_rule)
                    .collect()
            }),
        public_access_block: s("public access block (GetPublicAccessBlock)")
            .read(pab)?
            .and_then(|out| out.public_access_block_configuration)
            .map(public_access_block_of),
        policy: bucket_policy(
            s("bucket policy (GetBucketPolicy)")
                .read(policy)?
                .and_then(|o| o.policy),
            region,
            bucket,
        )?,
        tags: s("tags (GetBucketTagging)")
            .read(tags)?
            .map(|out| out.tag_set.into_iter().map(|t| (t.key, t.value)).collect()),
        object_lock: s("Object Lock configuration (GetObjectLockConfiguration)")
            .read(lock)?
            .and_then(|out| out.object_lock_configuration)
            .and_then(object_lock_of),
    }))
}

/// Whether the bucket exists (HeadBucket), refusing one in another region or one this
/// account may not read.
fn exists(
    head: Result<
        aws_sdk_s3::operation::head_bucket::HeadBucketOutput,
        aws_sdk_s3::error::SdkError<
            aws_sdk_s3::operation::head_bucket::HeadBucketError,
            aws_smithy_runtime_api::http::Response,
        >,
    >,
    region: &str,
    bucket: &str,
) -> Result<bool> {
    match head {
        Ok(out) => {
            if let Some(actual) = out.bucket_region().filter(|r| *r != region) {
                bail!(
                    "bucket {bucket} exists in {actual}, not in {region}: it cannot be managed as the backup bucket of {region}; remove or rename it"
                );
            }
            Ok(true)
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => bail!(
            "bucket {bucket} in {region} exists but this account may not read it (403 to HeadBucket): most often the credentials lack the IAM action s3:ListBucket on it (a policy written for another stack: see the hint below); else another account may own it (bucket names are global) and it can never be this stack's"
        ),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "checking whether bucket {bucket} exists in {region} (HeadBucket)"
        ))),
    }
}

fn encryption_of(rule: ServerSideEncryptionRule) -> Encryption {
    let default = rule.apply_server_side_encryption_by_default;
    Encryption {
        algorithm: default
            .as_ref()
            .map(|d| d.sse_algorithm().as_str().to_string())
            .unwrap_or_default(),
        kms_key_id: default.and_then(|d| d.kms_master_key_id),
        bucket_key_enabled: rule.bucket_key_enabled.unwrap_or(false),
    }
}

/// Object Lock as configured: `None` unless enabled.
fn object_lock_of(c: ObjectLockConfiguration) -> Option<ObjectLock> {
    if c.object_lock_enabled != Some(ObjectLockEnabled::Enabled) {
        return None;
    }
    let retention = c.rule.and_then(|r| r.default_retention);
    Some(ObjectLock {
        mode: retention
            .as_ref()
            .and_then(|r| r.mode.as_ref())
            .map(|m| m.as_str().to_string()),
        // A retention in years is shown as days, so that it differs from the stack's unless equal.
        days: retention
            .as_ref()
            .and_then(|r| r.days.or(r.years.map(|y| y.saturating_mul(365)))),
    })
}

fn public_access_block_of(c: PublicAccessBlockConfiguration) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    }
}

fn bucket_policy(
    text: Option<String>,
    region: &str,
    bucket: &str,
) -> Result<Option<serde_json::Value>> {
    text.map(|text| {
        serde_json::from_str(&text)
            .with_context(|| format!("the bucket policy of {bucket} in {region} is not valid JSON"))
    })
    .transpose()
}

fn lifecycle_rule(rule: SdkLifecycleRule) -> LifecycleRule {
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

/// Whether the bucket carries the ManagedBy tag of ssm-keeper (or of the Pulumi stack that
/// ssm-keeper adopts).
pub async fn is_managed(aws: &Aws, region: &str, bucket: &str) -> Result<bool> {
    let tags = aws
        .s3(region)
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await;
    Ok(Setting {
        what: "tags (GetBucketTagging)",
        bucket,
        region,
    }
    .read(tags)?
    .is_some_and(|t| {
        t.tag_set
            .iter()
            .any(|t| t.key == "ManagedBy" && (t.value == MANAGED_BY || t.value == "Pulumi"))
    }))
}

/// Creates the bucket and sets every attribute.
pub async fn create(
    aws: &Aws,
    region: &str,
    bucket: &str,
    settings: &BucketSettings,
) -> Result<()> {
    create_bucket(aws, region, bucket).await?;
    // Every attribute the stack manages (an unmanaged one, such as Object Lock without the
    // section, is left as S3 makes it).
    let managed: Vec<BucketAttribute> = BucketAttribute::apply_order()
        .into_iter()
        .filter(|&a| bucket_value(settings, a).is_some())
        .collect();
    configure_bucket(aws, region, bucket, settings, &managed).await
}

/// Sets the named attributes of an existing bucket.
pub async fn update(
    aws: &Aws,
    region: &str,
    bucket: &str,
    settings: &BucketSettings,
    attributes: &[BucketAttribute],
) -> Result<()> {
    configure_bucket(aws, region, bucket, settings, attributes).await
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
    for attribute in BucketAttribute::apply_order()
        .into_iter()
        .filter(|a| attributes.contains(a))
    {
        put_attribute(&s3, bucket, settings, attribute)
            .await
            .with_context(|| {
                format!(
                    "setting the {} of bucket {bucket} in {region} ({})",
                    attribute.as_str(),
                    put_operation(attribute)
                )
            })?;
    }
    Ok(())
}

/// Sets one attribute to its value in `settings`.
async fn put_attribute(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    settings: &BucketSettings,
    attribute: BucketAttribute,
) -> Result<()> {
    let missing = || {
        anyhow::anyhow!(
            "the plan asks to set the {} of bucket {bucket} but holds no desired value",
            attribute.as_str()
        )
    };
    match attribute {
        BucketAttribute::PublicAccessBlock => {
            let p = settings.public_access_block.as_ref().ok_or_else(missing)?;
            put_public_access_block(s3, bucket, p).await
        }
        BucketAttribute::Encryption => {
            let e = settings.encryption.as_ref().ok_or_else(missing)?;
            put_encryption(s3, bucket, e).await
        }
        BucketAttribute::Versioning => {
            let v = settings.versioning.as_ref().ok_or_else(missing)?;
            put_versioning(s3, bucket, v).await
        }
        BucketAttribute::Lifecycle => {
            let rules = settings.lifecycle.as_ref().ok_or_else(missing)?;
            put_lifecycle(s3, bucket, rules).await
        }
        BucketAttribute::Policy => {
            let policy = settings.policy.as_ref().ok_or_else(missing)?;
            put_policy(s3, bucket, policy).await
        }
        BucketAttribute::Tags => {
            let tags = settings.tags.as_ref().ok_or_else(missing)?;
            put_tags(s3, bucket, tags).await
        }
        BucketAttribute::ObjectLock => {
            let lock = settings.object_lock.as_ref().ok_or_else(missing)?;
            put_object_lock(s3, bucket, lock).await
        }
    }
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
        BucketAttribute::ObjectLock => "PutObjectLockConfiguration",
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
    rules: &[LifecycleRule],
) -> Result<()> {
    let mut config = BucketLifecycleConfiguration::builder();
    for r in rules {
        let mut rule = SdkLifecycleRule::builder()
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

/// Turns Object Lock on (AWS allows it on an existing versioned bucket) with the default
/// retention. It can never be turned off again.
async fn put_object_lock(s3: &aws_sdk_s3::Client, bucket: &str, lock: &ObjectLock) -> Result<()> {
    let mut retention = DefaultRetention::builder();
    if let Some(mode) = &lock.mode {
        retention = retention.mode(ObjectLockRetentionMode::from(mode.as_str()));
    }
    if let Some(days) = lock.days {
        retention = retention.days(days);
    }
    let config = ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(
            ObjectLockRule::builder()
                .default_retention(retention.build())
                .build(),
        )
        .build();
    s3.put_object_lock_configuration()
        .bucket(bucket)
        .object_lock_configuration(config)
        .send()
        .await?;
    Ok(())
}

/// Deletes a bucket; with `destroy_objects`, every object version and delete marker first.
pub async fn delete(aws: &Aws, region: &str, bucket: &str, destroy_objects: bool) -> Result<()> {
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
