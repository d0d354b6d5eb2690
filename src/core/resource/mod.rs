//! The resource kinds the stack manages, each in its own module (settings, attributes,
//! comparison), and the closed sets that tie them together: `Kind`, `ResourceId`, `Resource`,
//! `Attribute`. Every match over these is exhaustive, so a new kind or attribute fails to
//! compile until each place that must decide about it does (docs/architecture.md). Pure.

pub mod alarm;
pub mod bucket;
pub mod dashboard;
pub mod journal;
pub mod key;
pub mod parameter;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use alarm::{AlarmAttribute, AlarmSettings};
pub use bucket::{BucketAttribute, BucketSettings, Encryption, LifecycleRule, PublicAccessBlock};
pub use dashboard::{DashboardAttribute, DashboardSettings};
pub use journal::{JournalAttribute, LogGroupSettings, LogsPolicySettings, RuleSettings};
pub use key::{KeyAttribute, KeySettings};
pub use parameter::{ParameterAttribute, ParameterKind, ParameterState};

/// A kind of managed resource. Declared in plan order: each region's key before the bucket
/// encrypted with it, and the bucket before the parameter that names it.
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
pub enum Kind {
    /// A customer-managed KMS key (`encryption: kms`), found by its alias.
    Key,
    Bucket,
    Parameter,
    /// A CloudWatch alarm (in the SSM home region) watching one region's backups.
    Alarm,
    /// The change journal's CloudWatch Logs group in a region.
    LogGroup,
    /// The account's CloudWatch Logs resource policy that lets EventBridge write the journals
    /// of a region (one for every stack there).
    LogsPolicy,
    /// The EventBridge rule sending the environment's Parameter Store changes to the journal:
    /// after the log group and the policy it needs.
    EventRule,
    /// The environment's CloudWatch dashboard: global to the account, written through the SSM
    /// home region's CloudWatch (its id names that region).
    Dashboard,
}

/// How the live resources of a kind are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// Read one by one by the ids the stack names (and the ids of removed regions).
    ById,
    /// Listed: every resource named with the environment's prefix is the stack's, so one the
    /// stack no longer asks for is deleted.
    Listing,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Key => "key",
            Kind::Bucket => "bucket",
            Kind::Parameter => "parameter",
            Kind::Alarm => "alarm",
            Kind::LogGroup => "log-group",
            Kind::LogsPolicy => "logs-policy",
            Kind::EventRule => "event-rule",
            Kind::Dashboard => "dashboard",
        }
    }

    pub fn observation(self) -> Observation {
        match self {
            Kind::Key
            | Kind::Bucket
            | Kind::Parameter
            | Kind::LogGroup
            | Kind::LogsPolicy
            | Kind::EventRule
            | Kind::Dashboard => Observation::ById,
            Kind::Alarm => Observation::Listing,
        }
    }
}

/// Identifies one managed resource. Ordered by kind, then region, then name, so that plans
/// list buckets before the parameters that name them. In JSON `{"type", "region", "name"}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub region: String,
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: Kind, region: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceId {
            kind,
            region: region.into(),
            name: name.into(),
        }
    }
    pub fn key(region: impl Into<String>, alias: impl Into<String>) -> Self {
        Self::new(Kind::Key, region, alias)
    }
    pub fn bucket(region: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(Kind::Bucket, region, name)
    }
    pub fn parameter(region: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(Kind::Parameter, region, name)
    }
    pub fn alarm(region: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(Kind::Alarm, region, name)
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.kind.as_str(), self.name, self.region)
    }
}

/// One resource's settings, desired or observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Resource {
    Key(KeySettings),
    Bucket(BucketSettings),
    Parameter(ParameterState),
    Alarm(AlarmSettings),
    LogGroup(LogGroupSettings),
    LogsPolicy(LogsPolicySettings),
    EventRule(RuleSettings),
    Dashboard(DashboardSettings),
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Key(_) => Kind::Key,
            Resource::Bucket(_) => Kind::Bucket,
            Resource::Parameter(_) => Kind::Parameter,
            Resource::Alarm(_) => Kind::Alarm,
            Resource::LogGroup(_) => Kind::LogGroup,
            Resource::LogsPolicy(_) => Kind::LogsPolicy,
            Resource::EventRule(_) => Kind::EventRule,
            Resource::Dashboard(_) => Kind::Dashboard,
        }
    }

    /// The attributes that differ between `self` (live) and `want`, in the kind's order.
    pub fn compare(&self, want: &Resource) -> Vec<FieldChange> {
        match (self, want) {
            (Resource::Bucket(h), Resource::Bucket(w)) => bucket::compare(h, w),
            (Resource::Parameter(h), Resource::Parameter(w)) => parameter::compare(h, w),
            (Resource::Alarm(h), Resource::Alarm(w)) => alarm::compare(h, w),
            (Resource::Key(h), Resource::Key(w)) => key::compare(h, w),
            (Resource::LogGroup(h), Resource::LogGroup(w)) => journal::compare_log_groups(h, w),
            (Resource::LogsPolicy(h), Resource::LogsPolicy(w)) => journal::compare_policies(h, w),
            (Resource::EventRule(h), Resource::EventRule(w)) => journal::compare_rules(h, w),
            (Resource::Dashboard(h), Resource::Dashboard(w)) => dashboard::compare(h, w),
            // Another kind under the same id: only a hand-edited document pairs them so. Shown
            // as a change of type, with no values.
            (
                Resource::Key(_)
                | Resource::Bucket(_)
                | Resource::Parameter(_)
                | Resource::Alarm(_)
                | Resource::LogGroup(_)
                | Resource::LogsPolicy(_)
                | Resource::EventRule(_)
                | Resource::Dashboard(_),
                _,
            ) => {
                vec![FieldChange {
                    attribute: Attribute::Parameter(ParameterAttribute::Type),
                    live: None,
                    desired: None,
                    sensitive: false,
                }]
            }
        }
    }
}

/// The attribute a field change is about; in JSON its plain name (`policy`, `value`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Attribute {
    Bucket(BucketAttribute),
    Parameter(ParameterAttribute),
    Alarm(AlarmAttribute),
    Key(KeyAttribute),
    Journal(JournalAttribute),
    Dashboard(DashboardAttribute),
}

impl Attribute {
    pub fn as_str(&self) -> &'static str {
        match self {
            Attribute::Bucket(a) => a.as_str(),
            Attribute::Parameter(a) => a.as_str(),
            Attribute::Alarm(a) => a.as_str(),
            Attribute::Key(a) => a.as_str(),
            Attribute::Journal(a) => a.as_str(),
            Attribute::Dashboard(a) => a.as_str(),
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attribute that differs. Values are JSON; a `sensitive` change never carries values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub attribute: Attribute,
    pub live: Option<serde_json::Value>,
    pub desired: Option<serde_json::Value>,
    #[serde(default)]
    pub sensitive: bool,
}

/// The attributes (of `variants`) whose values differ between live and desired, each a field
/// change: for kinds whose every attribute is always set (alarms, keys).
fn changed<A: Copy>(
    variants: &[A],
    value: impl Fn(A) -> (serde_json::Value, serde_json::Value),
    attribute: impl Fn(A) -> Attribute,
) -> Vec<FieldChange> {
    variants
        .iter()
        .filter_map(|&a| {
            let (have, want) = value(a);
            (have != want).then(|| FieldChange {
                attribute: attribute(a),
                live: Some(have),
                desired: Some(want),
                sensitive: false,
            })
        })
        .collect()
}

/// A value as a plan shows it: `None` for "not configured".
fn json<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok().filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn names_in_text_are_the_names_in_json() {
        for kind in Kind::VARIANTS {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        let attributes = BucketAttribute::VARIANTS
            .iter()
            .map(|a| Attribute::Bucket(*a))
            .chain(
                ParameterAttribute::VARIANTS
                    .iter()
                    .map(|a| Attribute::Parameter(*a)),
            )
            .chain(
                AlarmAttribute::VARIANTS
                    .iter()
                    .map(|a| Attribute::Alarm(*a)),
            )
            .chain(KeyAttribute::VARIANTS.iter().map(|a| Attribute::Key(*a)))
            .chain(journal::attributes().iter().map(|a| Attribute::Journal(*a)))
            .chain(
                dashboard::attributes()
                    .iter()
                    .map(|a| Attribute::Dashboard(*a)),
            );
        for attribute in attributes {
            let text = serde_json::to_value(attribute).unwrap();
            assert_eq!(text, serde_json::json!(attribute.as_str()));
            assert_eq!(
                serde_json::from_value::<Attribute>(text).unwrap(),
                attribute
            );
        }
        assert!(serde_json::from_str::<Attribute>("\"acl\"").is_err());
    }

    #[test]
    fn an_id_keeps_its_json_shape_and_order() {
        let id = ResourceId::bucket("eu-west-1", "b");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#"{"type":"bucket","region":"eu-west-1","name":"b"}"#
        );
        let mut ids = [
            ResourceId::alarm("a", "x"),
            ResourceId::key("b", "alias/x"),
            ResourceId::parameter("a", "x"),
            ResourceId::bucket("b", "x"),
            ResourceId::bucket("a", "y"),
        ];
        ids.sort();
        let kinds: Vec<_> = ids.iter().map(|i| (i.kind.as_str(), i.region())).collect();
        assert_eq!(
            kinds,
            [
                ("key", "b"),
                ("bucket", "a"),
                ("bucket", "b"),
                ("parameter", "a"),
                ("alarm", "a")
            ]
        );
    }

    #[test]
    fn a_resource_of_another_kind_under_an_id_shows_as_a_type_change() {
        let have = Resource::Parameter(ParameterState::string("v"));
        let want = Resource::Bucket(BucketSettings::default());
        let fields = have.compare(&want);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].attribute.as_str(), "type");
    }
}
