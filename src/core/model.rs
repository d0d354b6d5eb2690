//! The desired and the live state: resources keyed by id. Plain data, no I/O; the kinds, their
//! settings and attributes are in `core::resource` (re-exported here).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::resource::key::TaggedKey;
use super::stack::Stack;

pub use super::resource::{
    AlarmSettings, BucketSettings, Encryption, Kind, LifecycleRule, ParameterKind, ParameterState,
    PublicAccessBlock, Resource, ResourceId,
};

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
    /// Every KMS key tagged with the stack's alias in the regions whose key apply manages
    /// (found by tag, not by the alias): what tells an orphan from the alias's key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tagged_keys: Vec<TaggedKey>,
    /// Per region read, the journal log groups of every stack found there (under
    /// `/ssm-keeper/`): the shared Logs resource policy goes only with the last of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub journal_groups: BTreeMap<String, Vec<String>>,
}

impl LiveState {
    pub fn get(&self, id: &ResourceId) -> Option<&Resource> {
        self.resources.get(id).and_then(|r| r.as_ref())
    }

    /// The ARN of the key `id`'s alias names when these credentials may not read it
    /// (`KeySettings::unreadable`).
    pub fn unreadable_key(&self, id: &ResourceId) -> Option<&str> {
        match self.get(id) {
            Some(Resource::Key(k)) if k.unreadable => k.arn.as_deref(),
            _ => None,
        }
    }
}

/// A map with structured keys as a JSON list of `{"id", "state"}` entries.
mod entries {
    use super::{Resource, ResourceId};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize)]
    struct IdState {
        id: ResourceId,
        state: Option<Resource>,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<ResourceId, Option<Resource>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter().map(|(id, state)| IdState {
            id: id.clone(),
            state: state.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<ResourceId, Option<Resource>>, D::Error> {
        let entries = Vec::<IdState>::deserialize(deserializer)?;
        Ok(entries.into_iter().map(|e| (e.id, e.state)).collect())
    }
}
