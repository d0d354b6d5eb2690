//! The backup bucket: its settings, the attributes the stack manages, and their comparison.
//! Every attribute reads its value in `value`, which names every field of `BucketSettings`: a new
//! field fails to compile there until it is an attribute (or deliberately not one). Pure.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strum::VariantArray;

use super::{Attribute, FieldChange, json};
use crate::core::policy;

/// The settings of a backup bucket. In observed state `None` means "not configured"
/// (for example NoSuchLifecycleConfiguration), never an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketSettings {
    pub versioning: Option<String>,
    pub encryption: Option<Encryption>,
    pub lifecycle: Option<Vec<LifecycleRule>>,
    pub public_access_block: Option<PublicAccessBlock>,
    /// The bucket policy document as JSON (compared semantically, see `policy`).
    pub policy: Option<serde_json::Value>,
    pub tags: Option<BTreeMap<String, String>>,
    /// S3 Object Lock's default retention (`None`: Object Lock not enabled, or not managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLock>,
}

/// Object Lock on, with this default retention for new versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectLock {
    /// `GOVERNANCE` or `COMPLIANCE` (`None`: enabled without a default retention).
    pub mode: Option<String>,
    pub days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encryption {
    pub algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: bool,
}

/// A lifecycle rule reduced to what this stack manages. An absent filter and an empty prefix
/// filter are the same rule: both are stored as `prefix: ""`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    pub id: Option<String>,
    pub enabled: bool,
    pub prefix: String,
    pub expiration_days: Option<i32>,
    pub noncurrent_expiration_days: Option<i32>,
    /// Anything else the rule does (transitions, tag filters, ...), summarised; empty here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
}

impl BucketSettings {
    /// Names the KMS key `to` wherever the settings name `from` (the default encryption and
    /// the policy's conditions).
    pub fn replace_key(&mut self, from: &str, to: &str) {
        if let Some(e) = &mut self.encryption
            && e.kms_key_id.as_deref() == Some(from)
        {
            e.kms_key_id = Some(to.to_string());
        }
        if let Some(policy) = &mut self.policy {
            replace_string(policy, from, to);
        }
    }
}

fn replace_string(value: &mut serde_json::Value, from: &str, to: &str) {
    match value {
        serde_json::Value::String(s) if s == from => *s = to.to_string(),
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| replace_string(v, from, to))
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(|v| replace_string(v, from, to))
        }
        _ => {}
    }
}

/// A bucket setting the stack manages. Declared in the order plans show them;
/// `VARIANTS` is the list every loop over attributes uses.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
pub enum BucketAttribute {
    Versioning,
    Encryption,
    Lifecycle,
    PublicAccessBlock,
    Policy,
    Tags,
    /// S3 Object Lock and its default retention (only ever turned on: S3 cannot turn it off).
    ObjectLock,
}

impl BucketAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketAttribute::Versioning => "versioning",
            BucketAttribute::Encryption => "encryption",
            BucketAttribute::Lifecycle => "lifecycle",
            BucketAttribute::PublicAccessBlock => "public-access-block",
            BucketAttribute::Policy => "policy",
            BucketAttribute::Tags => "tags",
            BucketAttribute::ObjectLock => "object-lock",
        }
    }

    /// When apply sets it, lowest first: the public access block before anything else.
    pub fn apply_rank(self) -> u8 {
        match self {
            BucketAttribute::PublicAccessBlock => 0,
            BucketAttribute::Encryption => 1,
            BucketAttribute::Versioning => 2,
            // Object Lock needs versioning on first.
            BucketAttribute::ObjectLock => 3,
            BucketAttribute::Lifecycle => 4,
            BucketAttribute::Policy => 5,
            BucketAttribute::Tags => 6,
        }
    }

    /// The IAM actions that read it (plan, observe) and set it (apply).
    pub fn iam_actions(self) -> (&'static str, &'static str) {
        match self {
            BucketAttribute::Versioning => ("s3:GetBucketVersioning", "s3:PutBucketVersioning"),
            BucketAttribute::Encryption => (
                "s3:GetEncryptionConfiguration",
                "s3:PutEncryptionConfiguration",
            ),
            BucketAttribute::Lifecycle => (
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
            ),
            BucketAttribute::PublicAccessBlock => (
                "s3:GetBucketPublicAccessBlock",
                "s3:PutBucketPublicAccessBlock",
            ),
            BucketAttribute::Policy => ("s3:GetBucketPolicy", "s3:PutBucketPolicy"),
            BucketAttribute::Tags => ("s3:GetBucketTagging", "s3:PutBucketTagging"),
            BucketAttribute::ObjectLock => (
                "s3:GetBucketObjectLockConfiguration",
                "s3:PutBucketObjectLockConfiguration",
            ),
        }
    }

    /// Every attribute, in the order apply sets them.
    pub fn apply_order() -> Vec<BucketAttribute> {
        let mut all = BucketAttribute::VARIANTS.to_vec();
        all.sort_by_key(|a| a.apply_rank());
        all
    }
}

/// The attribute's value as a plan compares and shows it; `None`: not configured (in desired
/// state: not managed). The policy is normalized, so that equal meanings compare equal.
pub fn value(settings: &BucketSettings, attribute: BucketAttribute) -> Option<serde_json::Value> {
    let BucketSettings {
        versioning,
        encryption,
        lifecycle,
        public_access_block,
        policy: bucket_policy,
        tags,
        object_lock,
    } = settings;
    match attribute {
        BucketAttribute::Versioning => json(versioning),
        BucketAttribute::Encryption => json(encryption),
        BucketAttribute::Lifecycle => json(lifecycle),
        BucketAttribute::PublicAccessBlock => json(public_access_block),
        BucketAttribute::Policy => bucket_policy.as_ref().map(policy::normalize),
        BucketAttribute::Tags => json(tags),
        BucketAttribute::ObjectLock => json(object_lock),
    }
}

/// The managed attributes of `h` (live) that differ from `w` (desired).
pub fn compare(h: &BucketSettings, w: &BucketSettings) -> Vec<FieldChange> {
    BucketAttribute::VARIANTS
        .iter()
        .filter_map(|&attribute| {
            let want = value(w, attribute)?;
            let have = value(h, attribute);
            (have.as_ref() != Some(&want)).then(|| FieldChange {
                attribute: Attribute::Bucket(attribute),
                live: have,
                desired: Some(want),
                sensitive: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_sets_the_public_access_block_first_and_every_attribute_once() {
        let order = BucketAttribute::apply_order();
        assert_eq!(order[0], BucketAttribute::PublicAccessBlock);
        assert_eq!(order.len(), BucketAttribute::VARIANTS.len());
        let mut ranks: Vec<u8> = order.iter().map(|a| a.apply_rank()).collect();
        ranks.dedup();
        assert_eq!(ranks.len(), order.len(), "two attributes share a rank");
    }

    #[test]
    fn an_unmanaged_attribute_is_never_a_change() {
        let live = BucketSettings {
            versioning: Some("Suspended".into()),
            ..Default::default()
        };
        assert!(compare(&live, &BucketSettings::default()).is_empty());
        let want = BucketSettings {
            versioning: Some("Enabled".into()),
            ..Default::default()
        };
        let fields = compare(&live, &want);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].live, Some(serde_json::json!("Suspended")));
    }

    #[test]
    fn policies_of_equal_meaning_are_no_change() {
        let statement = |a: &str, b: &str| {
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Sid": a, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
                {"Sid": b, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
        };
        let have = BucketSettings {
            policy: Some(statement("A", "B")),
            ..Default::default()
        };
        let want = BucketSettings {
            policy: Some(statement("B", "A")),
            ..Default::default()
        };
        assert_eq!(
            policy::equivalent(&statement("A", "B"), &statement("B", "A")),
            compare(&have, &want).is_empty()
        );
    }
}
