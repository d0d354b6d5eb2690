//! The customer-managed KMS key's SDK calls: found by its alias (DescribeKey), created with its
//! policy, tags, rotation and alias, brought back when disabled or pending deletion, and
//! scheduled for deletion (never deleted at once: KMS waits `DELETION_WINDOW_DAYS`).

use anyhow::{Context, Result, bail};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeyMetadata, Tag};
use futures::future::try_join_all;
use std::collections::BTreeMap;

use crate::core::resource::key::{DELETION_WINDOW_DAYS, PENDING_DELETION, TaggedKey};
use crate::core::resource::{BucketSettings, KeyAttribute, KeySettings, Resource, ResourceId};
use crate::shell::aws::Aws;

/// The live state of each of `ids` (keys by alias), all at once.
pub async fn observe(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    try_join_all(ids.iter().map(|id| async move {
        let key = read_key(aws, &id.region, &id.name).await?;
        Ok(((*id).clone(), key.map(Resource::Key)))
    }))
    .await
}

/// Every key of `region` tagged `Name` = `alias` (as create tags them), found by its tag with
/// the Resource Groups Tagging API (one paginated listing of the matching keys only), each
/// with its creation date and state (DescribeKey, allowed on keys carrying that tag).
pub async fn tagged(aws: &Aws, region: &str, alias: &str) -> Result<Vec<TaggedKey>> {
    let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key("Name")
        .values(alias)
        .build();
    let mut pages = aws
        .tagging(region)
        .get_resources()
        .resource_type_filters("kms:key")
        .tag_filters(filter)
        .into_paginator()
        .send();
    let mut arns = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!(
                "listing the KMS keys tagged Name={alias} in {region} (Resource Groups Tagging API GetResources)"
            )
        })?;
        arns.extend(
            page.resource_tag_mapping_list
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.resource_arn),
        );
    }
    let keys = try_join_all(arns.iter().map(|arn| async move {
        // A key deleted since the listing is no orphan.
        let Some(meta) = describe(aws, region, arn).await? else {
            return Ok(None);
        };
        Ok::<_, anyhow::Error>(Some(TaggedKey {
            region: region.to_string(),
            key_id: meta.key_id.clone(),
            arn: meta.arn.clone().unwrap_or_else(|| arn.clone()),
            created: meta
                .creation_date
                .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_default(),
            state: meta
                .key_state
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        }))
    }))
    .await?;
    Ok(keys.into_iter().flatten().collect())
}

/// What DescribeKey says of a key (by id, ARN or alias).
pub enum Described {
    Key(Box<KeyMetadata>),
    /// No such key or alias.
    Missing,
    /// These credentials may not read it (the error, with its context).
    Denied(anyhow::Error),
}

/// DescribeKey, with NotFound and AccessDenied as answers (plan and apply make the denial an
/// error, verify a finding); any other failure is an error.
pub async fn describe_any(aws: &Aws, region: &str, key: &str) -> Result<Described> {
    match aws.kms(region).describe_key().key_id(key).send().await {
        Ok(out) => {
            let meta = out.key_metadata.with_context(|| {
                format!("KMS answered DescribeKey for {key} in {region} without the key's metadata")
            })?;
            Ok(Described::Key(Box::new(meta)))
        }
        Err(e) if e.code() == Some("NotFoundException") => Ok(Described::Missing),
        // The roles may read only keys tagged with the stack's alias: an alias that names any
        // other key was moved to a key apply did not make.
        Err(e) if e.code() == Some("AccessDeniedException") && key.starts_with("alias/") => {
            Ok(Described::Denied(anyhow::Error::new(e).context(format!(
                "reading the KMS key {key} in {region} (DescribeKey): the alias names a key these credentials may not read, and the roles read only keys tagged Name={key}, so it is not a key apply made. Was the alias moved? Look with an administrator's credentials (`aws kms describe-key --region {region} --key-id {key}`); to use that key, name it in the stack's kmsKeyIds"
            ))))
        }
        Err(e) if e.code() == Some("AccessDeniedException") => {
            Ok(Described::Denied(anyhow::Error::new(e).context(format!(
                "reading the KMS key {key} in {region} (DescribeKey)"
            ))))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "reading the KMS key {key} in {region} (DescribeKey)"
        ))),
    }
}

/// What DescribeKey says of the key behind `alias`; `None` when the alias does not exist.
async fn describe(aws: &Aws, region: &str, alias: &str) -> Result<Option<KeyMetadata>> {
    match describe_any(aws, region, alias).await? {
        Described::Key(meta) => Ok(Some(*meta)),
        Described::Missing => Ok(None),
        Described::Denied(e) => Err(e),
    }
}

/// The ARN of the key `alias` names, from the region's aliases (ListAliases: a listing of
/// names and key IDs, which reads no key), `None` when there is no such alias.
async fn aliased_key(aws: &Aws, region: &str, alias: &str) -> Result<Option<String>> {
    let mut pages = aws.kms(region).list_aliases().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!("finding the key the alias {alias} names in {region} (ListAliases)")
        })?;
        let found = page
            .aliases
            .unwrap_or_default()
            .into_iter()
            .find(|a| a.alias_name.as_deref() == Some(alias));
        if let Some(a) = found {
            let (Some(alias_arn), Some(target)) = (a.alias_arn, a.target_key_id) else {
                return Ok(None);
            };
            let prefix = alias_arn
                .strip_suffix(alias)
                .with_context(|| format!("ListAliases named {alias} with the ARN {alias_arn}"))?;
            return Ok(Some(format!("{prefix}key/{target}")));
        }
    }
    Ok(None)
}

/// The key behind `alias` in `region`, `None` when the alias does not exist. A key these
/// credentials may not read (the alias moved to a key apply did not make) is known by its ARN
/// only (`KeySettings::unreadable`): plan shows the replacement, apply refuses it.
pub async fn read_key(aws: &Aws, region: &str, alias: &str) -> Result<Option<KeySettings>> {
    let kms = aws.kms(region);
    let meta = match describe_any(aws, region, alias).await? {
        Described::Key(meta) => *meta,
        Described::Missing => return Ok(None),
        Described::Denied(denied) => {
            return match aliased_key(aws, region, alias).await {
                Ok(Some(arn)) => Ok(Some(KeySettings::unreadable(arn))),
                Ok(None) => Err(denied),
                // Both said: the denial explains what happened, the listing's error what to fix
                // (a policy from before FindMovedBackupKeyAlias, say).
                Err(listing) => Err(denied.context(format!("{listing:#}"))),
            };
        }
    };
    let key_id = meta.key_id.clone();
    let state = meta
        .key_state
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let pending = state == PENDING_DELETION;
    let context = |op: &str| format!("reading the KMS key {alias} in {region} ({op})");
    // A key pending deletion answers KMSInvalidStateException to the rotation status.
    let rotation = if pending {
        false
    } else {
        kms.get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
            .with_context(|| context("GetKeyRotationStatus"))?
            .key_rotation_enabled
    };
    let policy_text = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .with_context(|| context("GetKeyPolicy"))?
        .policy
        .unwrap_or_default();
    let policy =
        serde_json::from_str(&policy_text).unwrap_or(serde_json::Value::String(policy_text));
    Ok(Some(KeySettings {
        description: meta.description.unwrap_or_default(),
        rotation,
        policy,
        tags: read_tags(aws, region, &key_id, alias).await?,
        state,
        arn: meta.arn,
        unreadable: false,
    }))
}

async fn read_tags(
    aws: &Aws,
    region: &str,
    key_id: &str,
    alias: &str,
) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut pages = aws
        .kms(region)
        .list_resource_tags()
        .key_id(key_id)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!("reading the tags of the KMS key {alias} in {region} (ListResourceTags)")
        })?;
        for tag in page.tags.unwrap_or_default() {
            tags.insert(tag.tag_key, tag.tag_value);
        }
    }
    Ok(tags)
}

fn tags(k: &KeySettings) -> Result<Vec<Tag>> {
    k.tags
        .iter()
        .map(|(key, value)| {
            Tag::builder()
                .tag_key(key)
                .tag_value(value)
                .build()
                .context("building a KMS tag")
        })
        .collect()
}

/// Creates the key, turns rotation on and points the alias at it. An alias that already
/// exists (an earlier run's) means the key is there: it is brought to `k` instead.
pub async fn create(aws: &Aws, region: &str, alias: &str, k: &KeySettings) -> Result<()> {
    if let Some(live) = read_key(aws, region, alias).await? {
        let attributes: Vec<KeyAttribute> = crate::core::resource::key::compare(&live, k)
            .iter()
            .filter_map(|f| match f.attribute {
                crate::core::resource::Attribute::Key(a) => Some(a),
                _ => None,
            })
            .collect();
        return update(aws, region, alias, k, &attributes).await;
    }
    let kms = aws.kms(region);
    let context = |op: &str| format!("creating the KMS key {alias} in {region} ({op})");
    let policy = serde_json::to_string(&k.policy).context("writing the key policy")?;
    let created = kms
        .create_key()
        .description(&k.description)
        .policy(policy)
        .set_tags(Some(tags(k)?))
        .send()
        .await
        .with_context(|| context("CreateKey"))?;
    let key_id = created
        .key_metadata
        .map(|m| m.key_id)
        .with_context(|| context("CreateKey answered without the key's id"))?;
    kms.enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .with_context(|| context("EnableKeyRotation"))?;
    match kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("AlreadyExistsException") => {
            // Another run created the alias meanwhile: its key is the stack's; this one is
            // not used by anything and goes.
            kms.schedule_key_deletion()
                .key_id(&key_id)
                .pending_window_in_days(7)
                .send()
                .await
                .with_context(|| context("ScheduleKeyDeletion of the key not used"))?;
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(context("CreateAlias"))),
    }
}

/// Sets the `attributes` of the key behind `alias` to their values in `k`.
pub async fn update(
    aws: &Aws,
    region: &str,
    alias: &str,
    k: &KeySettings,
    attributes: &[KeyAttribute],
) -> Result<()> {
    let Some(live) = read_key(aws, region, alias).await? else {
        bail!("the KMS key {alias} in {region} is gone: plan again");
    };
    let key_id = live.arn.clone().unwrap_or_else(|| alias.to_string());
    let context = |op: &str| format!("updating the KMS key {alias} in {region} ({op})");
    let mut ordered = attributes.to_vec();
    ordered.sort();
    let key = Keyed {
        aws,
        region,
        key_id: &key_id,
        live: &live,
        context: &context,
    };
    for attribute in ordered {
        key.set(attribute, k).await?;
    }
    Ok(())
}

/// One existing key being brought to the stack's settings.
struct Keyed<'a> {
    aws: &'a Aws,
    region: &'a str,
    key_id: &'a str,
    live: &'a KeySettings,
    context: &'a dyn Fn(&str) -> String,
}

impl Keyed<'_> {
    /// Sets one attribute to its value in `k`.
    async fn set(&self, attribute: KeyAttribute, k: &KeySettings) -> Result<()> {
        let (kms, key_id, context) = (self.aws.kms(self.region), self.key_id, self.context);
        match attribute {
            KeyAttribute::State => {
                if self.live.state == PENDING_DELETION {
                    kms.cancel_key_deletion()
                        .key_id(key_id)
                        .send()
                        .await
                        .with_context(|| context("CancelKeyDeletion"))?;
                }
                kms.enable_key()
                    .key_id(key_id)
                    .send()
                    .await
                    .with_context(|| context("EnableKey"))?;
            }
            KeyAttribute::Description => {
                kms.update_key_description()
                    .key_id(key_id)
                    .description(&k.description)
                    .send()
                    .await
                    .with_context(|| context("UpdateKeyDescription"))?;
            }
            KeyAttribute::Rotation if k.rotation => {
                kms.enable_key_rotation()
                    .key_id(key_id)
                    .send()
                    .await
                    .with_context(|| context("EnableKeyRotation"))?;
            }
            KeyAttribute::Rotation => {
                kms.disable_key_rotation()
                    .key_id(key_id)
                    .send()
                    .await
                    .with_context(|| context("DisableKeyRotation"))?;
            }
            KeyAttribute::Policy => {
                let policy = serde_json::to_string(&k.policy).context("writing the key policy")?;
                kms.put_key_policy()
                    .key_id(key_id)
                    .policy_name("default")
                    .policy(policy)
                    .send()
                    .await
                    .with_context(|| context("PutKeyPolicy"))?;
            }
            KeyAttribute::Tags => {
                set_tags(self.aws, self.region, key_id, self.live, k, context).await?
            }
        }
        Ok(())
    }
}

async fn set_tags(
    aws: &Aws,
    region: &str,
    key_id: &str,
    live: &KeySettings,
    k: &KeySettings,
    context: &dyn Fn(&str) -> String,
) -> Result<()> {
    let kms = aws.kms(region);
    let stale: Vec<String> = live
        .tags
        .keys()
        .filter(|t| !k.tags.contains_key(*t))
        .cloned()
        .collect();
    if !stale.is_empty() {
        kms.untag_resource()
            .key_id(key_id)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .with_context(|| context("UntagResource"))?;
    }
    kms.tag_resource()
        .key_id(key_id)
        .set_tags(Some(tags(k)?))
        .send()
        .await
        .with_context(|| context("TagResource"))?;
    Ok(())
}

/// Schedules the deletion of the key behind `alias` (KMS deletes it after
/// `DELETION_WINDOW_DAYS`; until then `apply` of a stack that wants it brings it back). A key
/// already pending deletion, or gone, counts as scheduled.
pub async fn delete(aws: &Aws, region: &str, alias: &str) -> Result<()> {
    let Some(live) = read_key(aws, region, alias).await? else {
        return Ok(());
    };
    if live.state == PENDING_DELETION {
        return Ok(());
    }
    let key_id = live.arn.unwrap_or_else(|| alias.to_string());
    aws.kms(region)
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(DELETION_WINDOW_DAYS)
        .send()
        .await
        .with_context(|| {
            format!(
                "scheduling the deletion of the KMS key {alias} in {region} (ScheduleKeyDeletion)"
            )
        })?;
    Ok(())
}

/// `settings` naming the key's ARN where they name a managed key by its alias ARN (a key
/// created by this apply: the plan could not know its ARN).
pub async fn resolve_alias(
    aws: &Aws,
    region: &str,
    settings: &BucketSettings,
) -> Result<BucketSettings> {
    let mut resolved = settings.clone();
    let Some(alias_arn) = settings
        .encryption
        .as_ref()
        .and_then(|e| e.kms_key_id.as_deref())
        .filter(|k| k.contains(":alias/"))
    else {
        return Ok(resolved);
    };
    let alias = alias_arn
        .split_once(":alias/")
        .map(|(_, name)| format!("alias/{name}"))
        .unwrap_or_default();
    let Some(arn) = describe(aws, region, &alias).await?.and_then(|m| m.arn) else {
        bail!(
            "the KMS key {alias} in {region} does not exist, so the bucket cannot be encrypted with it: apply creates it first; plan again"
        );
    };
    resolved.replace_key(alias_arn, &arn);
    Ok(resolved)
}
