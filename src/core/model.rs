//! The resource model shared by desired state, live state and plans: ids, resource kinds and
//! their settings. Plain data, no I/O; the shell converts SDK types into these and back.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::stack::Stack;

/// Identifies one managed resource. Ordered so that plans list buckets before the parameters
/// that name them, region by region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ResourceId {
    Bucket {
        region: String,
        name: String,
    },
    Parameter {
        region: String,
        name: String,
    },
    /// A CloudWatch alarm (in the SSM home region) watching one region's backups.
    Alarm {
        region: String,
        name: String,
    },
}

impl ResourceId {
    pub fn region(&self) -> &str {
        match self {
            ResourceId::Bucket { region, .. }
            | ResourceId::Parameter { region, .. }
            | ResourceId::Alarm { region, .. } => region,
        }
    }
    pub fn name(&self) -> &str {
        match self {
            ResourceId::Bucket { name, .. }
            | ResourceId::Parameter { name, .. }
            | ResourceId::Alarm { name, .. } => name,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            ResourceId::Bucket { .. } => "bucket",
            ResourceId::Parameter { .. } => "parameter",
            ResourceId::Alarm { .. } => "alarm",
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.kind(), self.name(), self.region())
    }
}

/// One resource's settings, desired or observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Resource {
    Bucket(BucketSettings),
    Parameter(ParameterState),
    Alarm(AlarmSettings),
}

/// A CloudWatch metric alarm reduced to what the stack manages (`PutMetricAlarm` sets all of it
/// at once). Observed alarms hold what `DescribeAlarms` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSettings {
    pub description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
    pub period_seconds: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub comparison: String,
    /// Whole numbers only here (the stack's threshold is 1); an observed fractional threshold
    /// is kept as `i64::MIN`, so that it shows as a change.
    pub threshold: i64,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParameterKind {
    String,
    StringList,
    SecureString,
}

impl ParameterKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ParameterKind::String => "String",
            ParameterKind::StringList => "StringList",
            ParameterKind::SecureString => "SecureString",
        }
    }
}

/// An SSM parameter. The value of a SecureString is never read while planning, so it is
/// `None` there: such a value cannot leak into a plan, a saved plan or a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterState {
    pub kind: ParameterKind,
    pub value: Option<String>,
}

impl ParameterState {
    pub fn string(value: impl Into<String>) -> Self {
        ParameterState {
            kind: ParameterKind::String,
            value: Some(value.into()),
        }
    }
}

/// What the stack asks for, for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredState {
    pub stack: Stack,
    pub account_id: String,
    pub resources: BTreeMap<ResourceId, Resource>,
}

/// What AWS holds now, for every resource the plan considers. A key mapped to `None` was
/// looked for and is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveState {
    /// In JSON, a list of `{"id": .., "state": ..}` (a JSON object cannot have ids as keys).
    #[serde(with = "entries")]
    pub resources: BTreeMap<ResourceId, Option<Resource>>,
    /// Regions managed now or before: the live region list, then regions where a bucket of
    /// this stack tagged ManagedBy was found, then the stack's own.
    pub managed_regions: Vec<String>,
    /// Object count (all versions and delete markers) of buckets in regions being removed.
    pub bucket_objects: BTreeMap<String, u64>,
}

impl LiveState {
    pub fn get(&self, id: &ResourceId) -> Option<&Resource> {
        self.resources.get(id).and_then(|r| r.as_ref())
    }
}

/// A map with structured keys as a JSON list of `{"id", "state"}` entries.
mod entries {
    use super::{Resource, ResourceId};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize)]
    struct Entry {
        id: ResourceId,
        state: Option<Resource>,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<ResourceId, Option<Resource>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter().map(|(id, state)| Entry {
            id: id.clone(),
            state: state.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<ResourceId, Option<Resource>>, D::Error> {
        let entries = Vec::<Entry>::deserialize(deserializer)?;
        Ok(entries.into_iter().map(|e| (e.id, e.state)).collect())
    }
}
