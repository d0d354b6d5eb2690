//! The customer-managed KMS key a stack with `encryption: kms` keeps per region: its settings,
//! the attributes a plan tells apart, and their comparison. The key is found by its alias
//! (`alias/<projectName>-ssm-backup-<environment>`, the resource's name). Pure.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strum::VariantArray;

use super::{Attribute, FieldChange};
use crate::core::policy;

/// The state a managed key is kept in.
pub const ENABLED: &str = "Enabled";
/// The state of a key whose deletion is scheduled.
pub const PENDING_DELETION: &str = "PendingDeletion";
/// Days between scheduling a key's deletion and the deletion (AWS's default and maximum).
pub const DELETION_WINDOW_DAYS: i32 = 30;

/// A KMS key reduced to what the stack manages. Observed keys also carry their ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySettings {
    pub description: String,
    /// Automatic yearly rotation of the key material.
    pub rotation: bool,
    /// The key policy (`default`).
    pub policy: serde_json::Value,
    pub tags: BTreeMap<String, String>,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ... (KMS's KeyState).
    pub state: String,
    /// The key's ARN, once it exists: what buckets and documents name. Identity, not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Observed only: the alias names this key, but these credentials may not read it (the
    /// roles read only keys tagged with the stack's alias, so apply did not make it). Only its
    /// `arn` is known (from the alias); nothing else is compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreadable: bool,
}

impl KeySettings {
    /// The key an alias names that these credentials may not read: its ARN, nothing else.
    pub fn unreadable(arn: String) -> KeySettings {
        KeySettings {
            description: String::new(),
            rotation: false,
            policy: serde_json::Value::Null,
            tags: BTreeMap::new(),
            state: String::new(),
            arn: Some(arn),
            unreadable: true,
        }
    }
}

/// A KMS key tagged with the stack's alias (`Name`, as apply tags the keys it creates), found by
/// its tag rather than through the alias: the alias's own key, the key a bucket is pinned to, or
/// an orphan (a run that died between CreateKey and CreateAlias).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaggedKey {
    pub region: String,
    pub key_id: String,
    pub arn: String,
    /// When KMS created it (RFC 3339).
    pub created: String,
    /// KMS's KeyState.
    pub state: String,
}

/// The key ID in a key ARN (`arn:...:key/<id>`); `None` for an alias ARN or anything else.
pub fn key_id_of(arn: &str) -> Option<&str> {
    arn.rsplit_once(":key/").map(|(_, id)| id)
}

/// A key setting the plan tells apart, in the order apply sets them (a key pending deletion
/// or disabled is brought back first: KMS changes nothing else of it before).
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
// Names unique among every kind's attributes: in JSON an attribute is its name alone.
pub enum KeyAttribute {
    #[serde(rename = "key-state")]
    State,
    #[serde(rename = "key-description")]
    Description,
    #[serde(rename = "key-rotation")]
    Rotation,
    #[serde(rename = "key-policy")]
    Policy,
    #[serde(rename = "key-tags")]
    Tags,
}

impl KeyAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAttribute::State => "key-state",
            KeyAttribute::Description => "key-description",
            KeyAttribute::Rotation => "key-rotation",
            KeyAttribute::Policy => "key-policy",
            KeyAttribute::Tags => "key-tags",
        }
    }
}

/// The attribute's part of the settings, as a plan compares and shows it (the policy
/// normalized, so that equal meanings compare equal). Names every field of `KeySettings`, so a
/// new one fails to compile here until it is decided whether it is an attribute.
pub fn value(k: &KeySettings, attribute: KeyAttribute) -> serde_json::Value {
    let KeySettings {
        description,
        rotation,
        policy: key_policy,
        tags,
        state,
        arn: _,
        unreadable: _,
    } = k;
    match attribute {
        KeyAttribute::State => serde_json::json!(state),
        KeyAttribute::Description => serde_json::json!(description),
        KeyAttribute::Rotation => serde_json::json!(rotation),
        KeyAttribute::Policy => policy::normalize(key_policy),
        KeyAttribute::Tags => serde_json::json!(tags),
    }
}

/// The attributes of `h` (live) that differ from `w` (desired): none of a key these
/// credentials may not read, whose attributes are unknown.
pub fn compare(h: &KeySettings, w: &KeySettings) -> Vec<FieldChange> {
    if h.unreadable {
        return Vec::new();
    }
    super::changed(
        KeyAttribute::VARIANTS,
        |a| (value(h, a), value(w, a)),
        Attribute::Key,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeySettings {
        KeySettings {
            description: "d".into(),
            rotation: true,
            policy: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
            tags: BTreeMap::new(),
            state: ENABLED.into(),
            arn: None,
            unreadable: false,
        }
    }

    #[test]
    fn the_key_id_is_the_tail_of_a_key_arn_only() {
        assert_eq!(
            key_id_of("arn:aws:kms:us-west-2:123456789012:key/1234abcd"),
            Some("1234abcd")
        );
        assert_eq!(
            key_id_of("arn:aws:kms:us-west-2:123456789012:alias/p-ssm-backup-dev"),
            None
        );
    }

    #[test]
    fn the_arn_is_identity_and_never_a_change() {
        let live = KeySettings {
            arn: Some("arn:aws:kms:us-west-2:123456789012:key/k".into()),
            ..key()
        };
        assert!(compare(&live, &key()).is_empty());
    }

    #[test]
    fn a_key_pending_deletion_shows_its_state_first() {
        let live = KeySettings {
            state: PENDING_DELETION.into(),
            rotation: false,
            ..key()
        };
        let fields: Vec<_> = compare(&live, &key())
            .into_iter()
            .map(|f| f.attribute.as_str())
            .collect();
        assert_eq!(fields, ["key-state", "key-rotation"]);
    }

    /// A key these credentials may not read has no known attribute to compare, and says so
    /// only when it is one (the flag never appears in a readable key's JSON).
    #[test]
    fn an_unreadable_key_compares_nothing() {
        let arn = "arn:aws:kms:us-west-2:123456789012:key/other";
        let unreadable = KeySettings::unreadable(arn.into());
        assert!(compare(&unreadable, &key()).is_empty());
        let json = serde_json::to_value(&unreadable).unwrap();
        assert_eq!(json["unreadable"], true);
        assert!(
            serde_json::to_value(key())
                .unwrap()
                .get("unreadable")
                .is_none()
        );
        let back: KeySettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, unreadable);
    }
}
