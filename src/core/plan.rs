//! A plan: the ordered changes that turn live AWS into the desired state, and the saved-plan
//! document (`--out`) that `apply --plan` executes only while live state has not moved.

use serde::{Deserialize, Serialize};

use super::model::{LiveState, Resource, ResourceId};
use super::stack::Stack;

/// The version of the JSON plan document (`--format json`, `--out`). Bumped on any change
/// that is not a pure addition.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Change {
    /// The resource is absent and will be created with `desired`.
    Create { id: ResourceId, desired: Resource },
    /// The resource exists; `fields` differ and are set from `desired`.
    Update {
        id: ResourceId,
        fields: Vec<FieldChange>,
        desired: Resource,
    },
    /// The resource will be deleted (a parameter of a removed region, or a removed region's
    /// bucket when explicitly asked for, with `objects` objects destroyed with it).
    Delete {
        id: ResourceId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        objects: Option<u64>,
    },
    /// The resource is no longer in the stack but is kept (a bucket holding backups).
    Retain {
        id: ResourceId,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        objects: Option<u64>,
    },
}

impl Change {
    pub fn id(&self) -> &ResourceId {
        match self {
            Change::Create { id, .. }
            | Change::Update { id, .. }
            | Change::Delete { id, .. }
            | Change::Retain { id, .. } => id,
        }
    }
}

/// One attribute that differs. Values are JSON; a `sensitive` change never carries values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub attribute: String,
    pub live: Option<serde_json::Value>,
    pub desired: Option<serde_json::Value>,
    #[serde(default)]
    pub sensitive: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    pub delete: usize,
    pub retained: usize,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.create + self.change + self.delete > 0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c {
                Change::Create { .. } => s.create += 1,
                Change::Update { .. } => s.change += 1,
                Change::Delete { .. } => s.delete += 1,
                Change::Retain { .. } => s.retained += 1,
            }
        }
        s
    }
}

/// The plan as `--format json` prints it and `--out` saves it. `observed` is the live state the
/// plan was computed from; `apply --plan` refuses to run once live state differs from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanDocument {
    pub format_version: u32,
    pub tool_version: String,
    pub stack_file: String,
    pub stack: Stack,
    pub account_id: String,
    pub summary: Summary,
    pub changes: Vec<Change>,
    #[serde(default)]
    pub warnings: Vec<String>,
    pub observed: LiveState,
}

impl PlanDocument {
    pub fn plan(&self) -> Plan {
        Plan {
            changes: self.changes.clone(),
            warnings: self.warnings.clone(),
        }
    }
}

/// The resources whose live state differs between two observations, each with a short reason.
pub fn moved(before: &LiveState, now: &LiveState) -> Vec<String> {
    let mut out = Vec::new();
    let ids: std::collections::BTreeSet<&ResourceId> = before
        .resources
        .keys()
        .chain(now.resources.keys())
        .collect();
    for id in ids {
        let a = before.resources.get(id).cloned().flatten();
        let b = now.resources.get(id).cloned().flatten();
        if a != b {
            let what = match (&a, &b) {
                (None, Some(_)) => "now exists",
                (Some(_), None) => "is gone",
                _ => "was changed",
            };
            out.push(format!("{id} {what}"));
        }
    }
    if before.managed_regions != now.managed_regions {
        out.push(format!(
            "managed regions were [{}], now [{}]",
            before.managed_regions.join(", "),
            now.managed_regions.join(", ")
        ));
    }
    for (bucket, n) in &now.bucket_objects {
        if before.bucket_objects.get(bucket) != Some(n) {
            out.push(format!("bucket {bucket} now holds {n} objects"));
        }
    }
    out
}
