//! A plan: the ordered changes that turn live AWS into the desired state, and the saved-plan
//! document (`--out`) that `apply --plan` executes only while live state has not moved.

use serde::{Deserialize, Serialize};

use super::model::{LiveState, Resource, ResourceId};
pub use super::resource::{Attribute, FieldChange};
use super::stack::{ParseOptions, Stack};

/// The version of the JSON plan document (`--format json`, `--out`). Bumped on any change
/// that is not a pure addition.
pub const PLAN_FORMAT_VERSION: u32 = 4;

/// Choices the operator makes about removed regions' buckets. Saved with a plan, so that
/// `apply --plan` recomputes the same diff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffOptions {
    /// Delete (instead of retain) the buckets of regions removed from the stack.
    pub destroy_removed_buckets: bool,
    /// With `destroy_removed_buckets`: also delete buckets that still hold objects.
    pub destroy_bucket_objects: bool,
    /// Schedule the deletion of managed KMS keys the stack no longer uses.
    #[serde(default)]
    pub destroy_removed_keys: bool,
    /// Let apply switch the buckets to the key the alias names now, away from the key their
    /// default encryption is pinned to (a `replace` change).
    #[serde(default)]
    pub accept_key_change: bool,
    /// Delete (instead of retain) the journal log groups the stack no longer names.
    #[serde(default)]
    pub destroy_removed_journals: bool,
}

impl DiffOptions {
    /// The command-line flags that set these options, as `plan` and `apply` take them.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = self.destroy_flags();
        if self.accept_key_change {
            flags.push("--accept-key-change");
        }
        flags
    }

    /// The flags that delete what the stack no longer names.
    pub fn destroy_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.destroy_removed_buckets {
            flags.push("--destroy-removed-buckets");
        }
        if self.destroy_bucket_objects {
            flags.push("--destroy-bucket-objects");
        }
        if self.destroy_removed_keys {
            flags.push("--destroy-removed-keys");
        }
        if self.destroy_removed_journals {
            flags.push("--destroy-removed-journals");
        }
        flags
    }
}

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
    /// The managed key's alias names another key than the one its region's bucket encrypts
    /// with (`pinned`, the bucket's live default encryption key): the stack's key would be
    /// replaced by `replacement`, a key apply did not choose. Apply refuses it unless accepted
    /// (`--accept-key-change`); then `fields` of the alias's key are set from `desired`.
    Replace {
        id: ResourceId,
        /// The ARN of the key the bucket's default encryption names now.
        #[serde(rename = "pinnedKey")]
        pinned: String,
        /// The ARN of the key the alias names now.
        #[serde(rename = "aliasKey")]
        replacement: String,
        fields: Vec<FieldChange>,
        desired: Resource,
    },
    /// The resource is no longer in the stack but is kept (a bucket holding backups).
    Retain {
        id: ResourceId,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        objects: Option<u64>,
        /// No more backups go there; its lifecycle rule removes the last one this many days
        /// after the plan (`None`: no rule expires them).
        #[serde(
            default,
            rename = "expiresAfterDays",
            skip_serializing_if = "Option::is_none"
        )]
        expires_after_days: Option<u32>,
    },
}

impl Change {
    pub fn id(&self) -> &ResourceId {
        match self {
            Change::Create { id, .. }
            | Change::Update { id, .. }
            | Change::Replace { id, .. }
            | Change::Delete { id, .. }
            | Change::Retain { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    /// Keys whose alias names another key than the pinned one (each refused unless accepted).
    pub replace: usize,
    pub delete: usize,
    pub retained: usize,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.create + self.change + self.replace + self.delete > 0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphan_keys: Vec<OrphanKey>,
}

/// A key tagged for the stack that its alias does not name and no bucket is pinned to: listed,
/// never adopted nor used; removing it is the operator's call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrphanKey {
    pub region: String,
    pub key_id: String,
    pub arn: String,
    /// When KMS created it (RFC 3339).
    pub created: String,
}

impl OrphanKey {
    /// The command that schedules its deletion.
    pub fn removal_command(&self) -> String {
        format!(
            "aws kms schedule-key-deletion --region {} --key-id {}",
            self.region, self.key_id
        )
    }
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c {
                Change::Create { .. } => s.create += 1,
                Change::Update { .. } => s.change += 1,
                Change::Replace { .. } => s.replace += 1,
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
    /// The stack file the plan was made from, as named on the command line.
    pub stack_file: String,
    /// The SHA-256 of that file's bytes (hex): `apply --plan` applies the plan only to a stack
    /// file byte-identical to the one reviewed.
    pub stack_sha256: String,
    pub stack: Stack,
    pub account_id: String,
    /// When the plan was made: dates in the plan count from it.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// The options the diff was computed with; `apply --plan` recomputes it with them.
    pub diff_options: DiffOptions,
    pub summary: Summary,
    pub changes: Vec<Change>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Keys tagged for the stack that nothing names (see `OrphanKey`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphan_keys: Vec<OrphanKey>,
    pub observed: LiveState,
}

impl PlanDocument {
    /// The date by which the last backup of a retained bucket is gone, `days` after the plan.
    pub fn date_after(&self, days: u32) -> String {
        let date = self.created_at.date() + time::Duration::days(i64::from(days));
        date.format(time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap_or_else(|_| date.to_string())
    }

    pub fn plan(&self) -> Plan {
        Plan {
            changes: self.changes.clone(),
            warnings: self.warnings.clone(),
            orphan_keys: self.orphan_keys.clone(),
        }
    }

    /// Why apply refuses this plan: a key replacement not accepted with `--accept-key-change`
    /// (the plan's own options), or one to a key these credentials may not read, whose settings
    /// are unknown: that one only `kmsKeyIds` can name. `None` when it has none, or they are
    /// accepted.
    pub fn key_change_refusal(&self) -> Option<String> {
        let unreadable = |id: &ResourceId| self.observed.unreadable_key(id).is_some();
        let accepted = self.diff_options.accept_key_change;
        let refused: Vec<String> = self
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Replace {
                    id,
                    pinned,
                    replacement,
                    ..
                } if !accepted || unreadable(id) => Some(format!(
                    "{} ({}) names the key {}{}, not the pinned key {} the bucket encrypts with; to undo the move: aws kms update-alias --region {} --alias-name {} --target-key-id {}",
                    id.name,
                    id.region,
                    key_id(replacement),
                    if unreadable(id) {
                        ", which these credentials may not read (--accept-key-change cannot accept a key whose settings are unknown)"
                    } else {
                        ""
                    },
                    key_id(pinned),
                    id.region,
                    id.name,
                    key_id(pinned)
                )),
                Change::Replace { .. } => None,
                Change::Create { .. }
                | Change::Update { .. }
                | Change::Delete { .. }
                | Change::Retain { .. } => None,
            })
            .collect();
        (!refused.is_empty()).then(|| {
            format!(
                "nothing was applied: the stack's KMS alias was moved to another key, and the buckets would encrypt every new backup with it:\n  - {}\nIf the move was intended, apply with --accept-key-change (not for a key these credentials may not read), or name the new key in kmsKeyIds.",
                refused.join("\n  - ")
            )
        })
    }
}

/// The key ID of a key ARN, or the ARN itself when it is not one.
pub fn key_id(arn: &str) -> &str {
    super::resource::key::key_id_of(arn).unwrap_or(arn)
}

/// Reads a saved plan (`label` names it in messages): its format version first, then the
/// document, then its stack validated exactly as a stack file. Any input gives a value or an
/// error, never a panic.
pub fn read_plan(
    label: &str,
    text: &str,
    options: ParseOptions,
) -> Result<(PlanDocument, Stack), String> {
    let not_a_plan = || format!("{label} is not a plan saved by `ssm-keeper plan --out`");
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| not_a_plan())?;
    let version = value.get("formatVersion").and_then(|v| v.as_u64());
    if version != Some(u64::from(PLAN_FORMAT_VERSION)) {
        return Err(format!(
            "{label} has plan format {}, this ssm-keeper reads format {PLAN_FORMAT_VERSION}: plan again",
            version.map_or("(none)".to_string(), |v| v.to_string())
        ));
    }
    let doc: PlanDocument =
        serde_json::from_value(value).map_err(|e| format!("{} ({e})", not_a_plan()))?;
    if let Some(id) = doc.changes.iter().find_map(|c| match c {
        Change::Create { id, desired }
        | Change::Update { id, desired, .. }
        | Change::Replace { id, desired, .. } => (id.kind != desired.kind()).then_some(id),
        Change::Delete { .. } | Change::Retain { .. } => None,
    }) {
        return Err(format!(
            "{} (its change of {id} holds a resource of another type)",
            not_a_plan()
        ));
    }
    let saved = serde_json::to_string(&doc.stack).map_err(|e| e.to_string())?;
    let stack = super::stack::parse_with(&format!("the stack saved in {label}"), &saved, options)
        .map_err(|e| e.to_string())?;
    Ok((doc, stack))
}

/// The SHA-256 of a stack file's bytes, in hex, as `stackSha256` records it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The command that makes a fresh plan of the same stack file, with the same options, into
/// the same file: what to run when a saved plan is refused.
pub fn fresh_plan_command(doc: &PlanDocument, plan_file: &str) -> String {
    let unknown_regions = doc
        .stack
        .regions
        .iter()
        .chain(std::iter::once(&doc.stack.ssm_home_region))
        .any(|r| !super::region::is_known(r));
    let mut words = vec!["ssm-keeper"];
    if unknown_regions {
        words.push("--allow-unknown-region");
    }
    words.extend(["plan", "--stack", doc.stack_file.as_str()]);
    words.extend(doc.diff_options.flags());
    words.extend(["--out", plan_file]);
    shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" "))
}

/// Why a saved plan may not be applied to the stack file it names: the file differs from the
/// one reviewed (`sha256` of its bytes now), or it does, but the plan's own copy of the stack
/// was edited. `None` when the plan is bound to exactly this file.
pub fn binding_mismatch(
    doc: &PlanDocument,
    saved: &Stack,
    sha256: &str,
    file_stack: &Stack,
) -> Option<String> {
    if doc.stack_sha256 != sha256 {
        return Some(format!(
            "{} is not the file this plan was made from (its SHA-256 is {}, the plan's {})",
            doc.stack_file,
            short(sha256),
            short(&doc.stack_sha256)
        ));
    }
    (saved != file_stack).then(|| {
        format!(
            "the stack saved in the plan differs from {} although the file is the one reviewed (was the plan edited?)",
            doc.stack_file
        )
    })
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// What differs between the changes a saved plan claims and the changes recomputed from its
/// stack and a fresh observation, one line each; empty when they are the same.
pub fn claim_mismatch(claimed: &[Change], recomputed: &[Change]) -> Vec<String> {
    let mut out = Vec::new();
    for c in claimed {
        if !recomputed.contains(c) {
            out.push(format!(
                "the plan holds a change the stack does not call for: {}",
                describe(c)
            ));
        }
    }
    for c in recomputed {
        if !claimed.contains(c) {
            out.push(format!(
                "the plan lacks a change the stack calls for: {}",
                describe(c)
            ));
        }
    }
    if out.is_empty() && claimed != recomputed {
        out.push("the plan holds its changes in another order".to_string());
    }
    out
}

fn describe(change: &Change) -> String {
    let action = match change {
        Change::Create { .. } => "create",
        Change::Update { .. } => "change",
        Change::Replace { .. } => "replace",
        Change::Delete { .. } => "delete",
        Change::Retain { .. } => "retain",
    };
    format!("{action} {}", change.id())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn delete(name: &str) -> Change {
        Change::Delete {
            id: ResourceId::parameter("us-east-1", name),
            objects: None,
        }
    }

    #[test]
    fn a_claimed_change_must_be_exactly_a_recomputed_one() {
        let a = delete("/a");
        let b = delete("/b");
        assert!(claim_mismatch(std::slice::from_ref(&a), std::slice::from_ref(&a)).is_empty());
        assert_eq!(
            claim_mismatch(&[a.clone(), b.clone()], std::slice::from_ref(&a)),
            [
                "the plan holds a change the stack does not call for: delete parameter /b (us-east-1)"
            ]
        );
        assert_eq!(
            claim_mismatch(&[], std::slice::from_ref(&a)),
            ["the plan lacks a change the stack calls for: delete parameter /a (us-east-1)"]
        );
        assert_eq!(
            claim_mismatch(&[b.clone(), a.clone()], &[a, b]),
            ["the plan holds its changes in another order"]
        );
    }

    fn saved(stack: &Stack, sha256: &str, options: DiffOptions) -> PlanDocument {
        PlanDocument {
            format_version: PLAN_FORMAT_VERSION,
            tool_version: "0".into(),
            stack_file: "stacks/dev.yaml".into(),
            stack_sha256: sha256.into(),
            stack: stack.clone(),
            account_id: "123456789012".into(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            diff_options: options,
            summary: Summary::default(),
            changes: Vec::new(),
            warnings: Vec::new(),
            orphan_keys: Vec::new(),
            observed: LiveState::default(),
        }
    }

    #[test]
    fn a_saved_plan_is_bound_to_the_bytes_of_its_stack_file() {
        let stack = crate::core::stack::sample(&["us-east-1", "eu-west-1"]);
        let sha = sha256_hex(b"projectName: p\n");
        assert_eq!(sha.len(), 64);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let doc = saved(&stack, &sha, DiffOptions::default());
        assert_eq!(binding_mismatch(&doc, &stack, &sha, &stack), None);
        let other = sha256_hex(b"projectName: q\n");
        let why = binding_mismatch(&doc, &stack, &other, &stack).unwrap();
        assert_eq!(
            why,
            format!(
                "stacks/dev.yaml is not the file this plan was made from (its SHA-256 is {}, the plan's {})",
                &other[..12],
                &sha[..12]
            )
        );
        // The file is the reviewed one, but the plan's copy of the stack was edited.
        let edited = crate::core::stack::sample(&["us-east-1"]);
        let why = binding_mismatch(&doc, &edited, &sha, &stack).unwrap();
        assert!(why.contains("was the plan edited?"), "{why}");
    }

    #[test]
    fn the_fresh_plan_command_repeats_the_saved_options() {
        let stack = crate::core::stack::sample(&["us-east-1"]);
        let doc = saved(&stack, "0", DiffOptions::default());
        assert_eq!(
            fresh_plan_command(&doc, "plan.json"),
            "ssm-keeper plan --stack stacks/dev.yaml --out plan.json"
        );
        let options = DiffOptions {
            destroy_removed_buckets: true,
            destroy_bucket_objects: true,
            destroy_removed_keys: false,
            accept_key_change: false,
            destroy_removed_journals: false,
        };
        let doc = PlanDocument {
            stack_file: "my stacks/dev.yaml".into(),
            ..saved(&stack, "0", options)
        };
        assert_eq!(
            fresh_plan_command(&doc, "out/plan.json"),
            "ssm-keeper plan --stack 'my stacks/dev.yaml' --destroy-removed-buckets --destroy-bucket-objects --out out/plan.json"
        );
        // A stack of a region newer than this build was planned with --allow-unknown-region.
        let newer = crate::core::stack::sample(&["ap-newplace-1"]);
        assert_eq!(
            fresh_plan_command(&saved(&newer, "0", DiffOptions::default()), "p.json"),
            "ssm-keeper --allow-unknown-region plan --stack stacks/dev.yaml --out p.json"
        );
    }

    #[test]
    fn a_change_pairing_an_id_with_another_kind_is_no_plan() {
        let stack = crate::core::stack::sample(&["us-east-1"]);
        let mut doc = saved(&stack, "0", DiffOptions::default());
        doc.changes.push(Change::Create {
            id: ResourceId::bucket("us-east-1", "b"),
            desired: Resource::Parameter(crate::core::resource::ParameterState::string("v")),
        });
        let text = serde_json::to_string(&doc).unwrap();
        let err = read_plan("p.json", &text, ParseOptions::default()).unwrap_err();
        assert!(
            err.contains("bucket b (us-east-1) holds a resource of another type"),
            "{err}"
        );
        doc.changes[0] = Change::Create {
            id: ResourceId::bucket("us-east-1", "b"),
            desired: Resource::Bucket(Default::default()),
        };
        let text = serde_json::to_string(&doc).unwrap();
        assert!(read_plan("p.json", &text, ParseOptions::default()).is_ok());
    }
}
