//! diff(desired, live) -> Plan: what must be created, changed, deleted or retained. Compares
//! semantically (policies by meaning, absent settings as "missing"). Pure and deterministic.

use super::desired::{copies_parameter_id, home_parameters, region_bucket_parameter, resolve_keys};
use super::journal::journal_ids;
use super::model::{BucketSettings, DesiredState, LiveState, Resource, ResourceId};
use super::plan::{Change, DiffOptions, OrphanKey, Plan, key_id};
use super::resource::key::{DELETION_WINDOW_DAYS, KeySettings, PENDING_DELETION};
use super::resource::{Attribute, BucketAttribute, Kind, Observation};
use super::stack::bucket_name;

/// Changes that turn `live` into `desired`, ordered by resource id, removed regions last.
/// A managed key's alias ARN in `desired` stands for the key once `live` has it.
pub fn diff(desired: &DesiredState, live: &LiveState, options: &DiffOptions) -> Plan {
    let desired = &resolve_keys(desired, live);
    let mut plan = Plan::default();
    plan.changes.extend(desired_changes(desired, live));
    let stack = &desired.stack;
    for region in live
        .managed_regions
        .iter()
        .filter(|r| !stack.regions.contains(r))
    {
        removed_region(desired, live, options, region, &mut plan);
    }
    plan.changes.extend(stray_metadata(desired, live));
    plan.changes.extend(unwanted_copies(desired, live));
    plan.changes.extend(unwanted(desired, live));
    plan.changes
        .extend(unwanted_journal(desired, live, options));
    plan.changes.extend(unwanted_dashboard(desired, live));
    unused_keys(desired, live, options, &mut plan);
    plan.warnings.extend(super::stack::warnings(&desired.stack));
    plan.warnings.extend(object_lock_warnings(&plan.changes));
    plan.warnings
        .extend(replacement_warnings(desired, live, &plan.changes, options));
    plan.orphan_keys = orphan_keys(desired, live);
    plan
}

/// The key a region's bucket is pinned to: the key its live default encryption names (by key
/// ARN or ID; an alias names no key of its own).
fn pinned_key<'a>(desired: &DesiredState, live: &'a LiveState, region: &str) -> Option<&'a str> {
    desired
        .resources
        .keys()
        .filter(|id| id.kind == Kind::Bucket && id.region == region)
        .find_map(|id| match live.get(id) {
            Some(Resource::Bucket(b)) => b
                .encryption
                .as_ref()
                .filter(|e| e.algorithm == "aws:kms")?
                .kms_key_id
                .as_deref()
                .filter(|k| !k.contains("alias/")),
            _ => None,
        })
}

/// A managed key's change when its alias names another key than the one its region's bucket
/// is pinned to: a replacement, never an ordinary update. `None` when the alias names the
/// pinned key, or no bucket is pinned yet.
fn replacement(
    desired: &DesiredState,
    live: &LiveState,
    id: &ResourceId,
    have: &KeySettings,
    want: &Resource,
) -> Option<Change> {
    let pinned = pinned_key(desired, live, &id.region)?;
    let replacement = have.arn.as_deref()?;
    (key_id(pinned) != key_id(replacement)).then(|| Change::Replace {
        id: id.clone(),
        pinned: pinned.to_string(),
        replacement: replacement.to_string(),
        fields: Resource::Key(have.clone()).compare(want),
        desired: want.clone(),
    })
}

/// What each replacement means, naming both keys: refused by apply unless accepted.
fn replacement_warnings(
    desired: &DesiredState,
    live: &LiveState,
    changes: &[Change],
    options: &DiffOptions,
) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Replace {
                id,
                pinned,
                replacement,
                ..
            } => Some((id, key_id(pinned), key_id(replacement))),
            Change::Create { .. }
            | Change::Update { .. }
            | Change::Delete { .. }
            | Change::Retain { .. } => None,
        })
        .map(|(id, pinned, new)| {
            let bucket = bucket_name(
                &desired.stack.project_name,
                &desired.stack.environment,
                &desired.account_id,
                &id.region,
            );
            let verdict = if options.accept_key_change {
                format!("accepted with --accept-key-change: apply switches the bucket to {new}")
            } else {
                format!(
                    "apply refuses this replacement unless --accept-key-change is given or kmsKeyIds names {new}; if nobody meant to move the alias, point it back: aws kms update-alias --region {} --alias-name {} --target-key-id {pinned}",
                    id.region, id.name
                )
            };
            let unreadable = if live.unreadable_key(id).is_some() {
                format!(
                    " (these credentials may not read {new}: the roles read only keys tagged Name={}, so it is not a key apply made, or its key policy shuts them out)",
                    id.name
                )
            } else {
                String::new()
            };
            format!(
                "the KMS alias {} ({}) names the key {new}{unreadable}, not the pinned key {pinned} that the default encryption of the bucket {bucket} names: the alias (or the bucket's encryption) was moved outside apply, and applying would encrypt every new backup with {new}; {verdict}",
                id.name, id.region
            )
        })
        .collect()
}

/// Keys tagged for the stack (`Name` = the alias) that neither the alias nor a bucket names,
/// and that are not pending deletion: a run died between CreateKey and CreateAlias, or a key
/// was replaced. Listed, never adopted.
fn orphan_keys(desired: &DesiredState, live: &LiveState) -> Vec<OrphanKey> {
    let named = |region: &str, arn: &str| {
        let by_alias = live.resources.iter().any(|(id, state)| {
            id.region == region
                && matches!(state, Some(Resource::Key(KeySettings { arn: Some(a), .. })) if key_id(a) == key_id(arn))
        });
        by_alias || pinned_key(desired, live, region).is_some_and(|p| key_id(p) == key_id(arn))
    };
    live.tagged_keys
        .iter()
        .filter(|k| k.state != PENDING_DELETION && !named(&k.region, &k.arn))
        .map(|k| OrphanKey {
            region: k.region.clone(),
            key_id: k.key_id.clone(),
            arn: k.arn.clone(),
            created: k.created.clone(),
        })
        .collect()
}

/// What turning Object Lock on, or changing its retention, cannot undo.
fn object_lock_warnings(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|change| {
            let (id, desired, fields) = match change {
                Change::Create { id, desired } => (id, desired, None),
                Change::Update {
                    id,
                    desired,
                    fields,
                } => (id, desired, Some(fields)),
                Change::Replace { .. } | Change::Delete { .. } | Change::Retain { .. } => {
                    return None;
                }
            };
            let Resource::Bucket(BucketSettings {
                object_lock: Some(lock),
                ..
            }) = desired
            else {
                return None;
            };
            let locking = fields.is_none_or(|f| {
                f.iter()
                    .any(|f| f.attribute == Attribute::Bucket(BucketAttribute::ObjectLock))
            });
            let compliance = if lock.mode.as_deref() == Some("COMPLIANCE") {
                " Under COMPLIANCE nobody, not even the account's root user, can delete a backup or shorten its retention before it ends."
            } else {
                ""
            };
            locking.then(|| {
                format!(
                    "bucket {} ({}): S3 Object Lock can never be turned off once on; every new backup is kept for {} days ({}).{compliance}",
                    id.name,
                    id.region,
                    lock.days.unwrap_or_default(),
                    lock.mode.as_deref().unwrap_or("no default mode")
                )
            })
        })
        .collect()
}

/// Managed keys the stack no longer uses (AES256, `kmsKeyIds`, a region removed): kept, since
/// the backups encrypted with them cannot be read without them, unless the options say to
/// schedule their deletion. A key already pending deletion is left as it is.
fn unused_keys(desired: &DesiredState, live: &LiveState, options: &DiffOptions, plan: &mut Plan) {
    for (id, state) in &live.resources {
        let Some(Resource::Key(key)) = state else {
            continue;
        };
        if desired.resources.contains_key(id) || key.state == PENDING_DELETION {
            continue;
        }
        if key.unreadable {
            // Not the stack's key (the alias moved): never scheduled for deletion.
            plan.changes.push(Change::Retain {
                id: id.clone(),
                reason: format!(
                    "the alias names the key {}, which these credentials may not read (the roles read only keys tagged Name={}): it is not touched; point the alias back at the stack's key, or delete the alias",
                    key.arn.as_deref().map(key_id).unwrap_or_default(),
                    id.name
                ),
                objects: None,
                expires_after_days: None,
            });
            continue;
        }
        if options.destroy_removed_keys {
            plan.warnings.push(format!(
                "the KMS key {} ({}) will be scheduled for deletion: KMS deletes it after {DELETION_WINDOW_DAYS} days, and from then on no backup encrypted with it can be read by anyone (until then, apply of a stack that uses it brings it back)",
                id.name, id.region
            ));
            plan.changes.push(Change::Delete {
                id: id.clone(),
                objects: None,
            });
        } else {
            plan.changes.push(Change::Retain {
                id: id.clone(),
                reason: "the stack no longer encrypts with this key; it is kept, because the backups encrypted with it cannot be read without it (schedule its deletion with --destroy-removed-keys)".into(),
                objects: None,
                expires_after_days: None,
            });
        }
    }
}

/// Resources of listed kinds (alarms) that the stack no longer asks for (the `alarm` section
/// removed, a region removed, `ssmHomeRegion` moved): observe lists only those named with the
/// environment's prefix, so each one found is the stack's.
fn unwanted(desired: &DesiredState, live: &LiveState) -> Vec<Change> {
    live.resources
        .iter()
        .filter(|(id, state)| {
            id.kind.observation() == Observation::Listing
                && state.is_some()
                && !desired.resources.contains_key(id)
        })
        .map(|(id, _)| Change::Delete {
            id: id.clone(),
            objects: None,
        })
        .collect()
}

/// The journal's resources the stack no longer names (the `journal` section or a region
/// removed): the rule goes, so nothing more is written; the log group is the audit history and
/// is kept unless the options say to delete it; the account's Logs policy goes only with the
/// region's last journal (other stacks' journals use it too).
fn unwanted_journal(
    desired: &DesiredState,
    live: &LiveState,
    options: &DiffOptions,
) -> Vec<Change> {
    let [own_group, ..] = journal_ids(&desired.stack, "");
    live.resources
        .iter()
        .filter(|(id, state)| state.is_some() && !desired.resources.contains_key(id))
        .filter_map(|(id, _)| {
            let delete = Change::Delete {
                id: id.clone(),
                objects: None,
            };
            match id.kind {
                Kind::EventRule => Some(delete),
                Kind::LogGroup if options.destroy_removed_journals => Some(delete),
                Kind::LogGroup => Some(Change::Retain {
                    id: id.clone(),
                    reason: "the stack no longer keeps a journal here; the log group holds the history of changes and is kept (delete it with --destroy-removed-journals)".into(),
                    objects: None,
                    expires_after_days: None,
                }),
                Kind::LogsPolicy => {
                    let others = live
                        .journal_groups
                        .get(&id.region)
                        .into_iter()
                        .flatten()
                        .any(|g| *g != own_group.name);
                    let wanted_here = desired
                        .resources
                        .keys()
                        .any(|d| d.kind == Kind::LogsPolicy && d.region == id.region);
                    (!others && !wanted_here).then_some(delete)
                }
                Kind::Key | Kind::Bucket | Kind::Parameter | Kind::Alarm | Kind::Dashboard => {
                    None
                }
            }
        })
        .collect()
}

/// The dashboard the stack no longer names (the `dashboard` section removed): deleted. It holds
/// nothing but its layout; the metrics it showed stay in CloudWatch.
fn unwanted_dashboard(desired: &DesiredState, live: &LiveState) -> Vec<Change> {
    live.resources
        .iter()
        .filter(|(id, state)| {
            id.kind == Kind::Dashboard && state.is_some() && !desired.resources.contains_key(id)
        })
        .map(|(id, _)| Change::Delete {
            id: id.clone(),
            objects: None,
        })
        .collect()
}

/// Creations and updates of what the stack wants.
fn desired_changes(desired: &DesiredState, live: &LiveState) -> Vec<Change> {
    desired
        .resources
        .iter()
        .filter_map(|(id, want)| match live.get(id) {
            None => Some(Change::Create {
                id: id.clone(),
                desired: want.clone(),
            }),
            Some(have) => {
                if let Resource::Key(key) = have
                    && let Some(replace) = replacement(desired, live, id, key, want)
                {
                    return Some(replace);
                }
                let fields = have.compare(want);
                (!fields.is_empty()).then(|| Change::Update {
                    id: id.clone(),
                    fields,
                    desired: want.clone(),
                })
            }
        })
        .collect()
}

/// A region the stack no longer names: its bucket parameter goes; its bucket is retained
/// unless the options say to delete it (and, holding objects, to destroy them too).
fn removed_region(
    desired: &DesiredState,
    live: &LiveState,
    options: &DiffOptions,
    region: &str,
    plan: &mut Plan,
) {
    let stack = &desired.stack;
    let param = ResourceId::parameter(region, region_bucket_parameter(&stack.environment, region));
    if live.get(&param).is_some() {
        plan.changes.push(Change::Delete {
            id: param,
            objects: None,
        });
    }
    let name = bucket_name(
        &stack.project_name,
        &stack.environment,
        &desired.account_id,
        region,
    );
    let bucket = ResourceId::bucket(region, name.clone());
    let Some(Resource::Bucket(settings)) = live.get(&bucket) else {
        return;
    };
    let objects = live.bucket_objects.get(&name).copied();
    let holds = objects.unwrap_or(0);
    let expires_after_days = backup_lifetime_days(settings);
    let change = if !options.destroy_removed_buckets {
        Change::Retain {
            id: bucket,
            reason: format!(
                "region removed from the stack; the bucket holds {holds} objects and is kept (delete it with --destroy-removed-buckets)"
            ),
            objects,
            expires_after_days,
        }
    } else if holds == 0 || options.destroy_bucket_objects {
        Change::Delete {
            id: bucket,
            objects: Some(holds),
        }
    } else {
        plan.warnings.push(format!(
            "refusing to delete bucket {name} ({region}): it holds {holds} objects; add --destroy-bucket-objects to destroy them with it"
        ));
        Change::Retain {
            id: bucket,
            reason: format!(
                "deletion refused: the bucket holds {holds} objects (add --destroy-bucket-objects to destroy them)"
            ),
            objects,
            expires_after_days,
        }
    };
    plan.changes.push(change);
}

/// How many days a backup written today outlives its region's removal: the bucket's own
/// lifecycle rule expires it after `expiration` days and removes that old version
/// `noncurrent` days later. `None` when no enabled whole-bucket rule expires objects.
pub fn backup_lifetime_days(bucket: &BucketSettings) -> Option<u32> {
    bucket
        .lifecycle
        .as_ref()?
        .iter()
        .filter(|r| r.enabled && r.prefix.is_empty() && r.other.is_empty())
        .filter_map(|r| {
            let current = u32::try_from(r.expiration_days?).ok()?;
            let noncurrent = r
                .noncurrent_expiration_days
                .map_or(Some(0), |d| u32::try_from(d).ok())?;
            Some(current.saturating_add(noncurrent))
        })
        .min()
}

/// The copies parameter of a stack that no longer has `copies`.
fn unwanted_copies(desired: &DesiredState, live: &LiveState) -> Option<Change> {
    let id = copies_parameter_id(&desired.stack);
    (live.get(&id).is_some() && !desired.resources.contains_key(&id))
        .then_some(Change::Delete { id, objects: None })
}

/// Metadata left in a region that is no longer the SSM home region.
fn stray_metadata(desired: &DesiredState, live: &LiveState) -> Vec<Change> {
    let stack = &desired.stack;
    let metadata = home_parameters(&stack.environment);
    live.resources
        .iter()
        .filter(|(id, state)| {
            id.kind == Kind::Parameter
                && state.is_some()
                && id.region != stack.ssm_home_region
                && metadata.contains(&id.name)
        })
        .map(|(id, _)| Change::Delete {
            id: id.clone(),
            objects: None,
        })
        .collect()
}

/// Why plan and apply plan nothing at all: the environment belongs to another stack
/// (`foreign_owner`), or the alias of a key the stack wants names a key these credentials may
/// not read and that is no replacement of the pinned key: no bucket is pinned to a key yet, or
/// the bucket is pinned to that very key (`unreadable_unreplaced_key`). Either way nothing
/// about it can be compared, and a silent plan would hide it.
pub fn refusal(desired: &DesiredState, live: &LiveState) -> Option<String> {
    foreign_owner(desired, live).or_else(|| unreadable_unreplaced_key(desired, live))
}

fn unreadable_unreplaced_key(desired: &DesiredState, live: &LiveState) -> Option<String> {
    desired.resources.keys().find_map(|id| {
        let arn = live.unreadable_key(id)?;
        let why = match pinned_key(desired, live, &id.region) {
            None => format!(
                "no bucket of {} is encrypted with a key yet to compare it with",
                id.region
            ),
            // The bucket is pinned to that very key: its settings (state, deletion) unknown.
            Some(pinned) if key_id(pinned) == key_id(arn) => format!(
                "it is the key the bucket {} is pinned to, whose state and settings cannot be compared",
                id.region
            ),
            Some(_) => return None,
        };
        Some(format!(
            "the KMS alias {} ({}) names the key {}, which these credentials may not read (the roles read only keys tagged Name={}: it is not a key apply made, its tag was removed, or its key policy shuts them out), and {why}, so nothing was planned. Was the alias moved? Point it back at the stack's key (or delete the alias, and apply creates the key), give the key its tag back, or name the key to use in the stack's kmsKeyIds",
            id.name,
            id.region,
            key_id(arn),
            id.name,
        ))
    })
}

/// Whether the environment's live metadata belongs to the stack of another `projectName`: its
/// parameters name buckets `{other}-ssm-backup-{env}-{account}-...`. Two stacks sharing an
/// environment would overwrite each other's metadata (the paths depend on the environment
/// only), so plan and apply refuse. Returns the refusal, naming the owner.
fn foreign_owner(desired: &DesiredState, live: &LiveState) -> Option<String> {
    let stack = &desired.stack;
    let marker = format!("-ssm-backup-{}-{}-", stack.environment, desired.account_id);
    live.resources.iter().find_map(|(id, state)| {
        let Some(Resource::Parameter(p)) = state else {
            return None;
        };
        let ResourceId { region, name, .. } = id;
        let value = p.value.as_deref()?;
        let owner = &value[..value.find(&marker)?];
        (owner != stack.project_name).then(|| {
            format!(
                "the `{}` environment belongs to the stack of project `{owner}`: its parameter {name} ({region}) names the bucket {value}. Stacks that share an environment overwrite each other's metadata, so nothing was planned. Use that stack's file (projectName: {owner}), or give this stack its own environment.",
                stack.environment
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::desired::desired_state;
    use crate::core::model::{ParameterKind, ParameterState, PublicAccessBlock};
    use crate::core::stack::sample as stack;

    const ACCOUNT: &str = "123456789012";

    /// Live state that matches `desired` exactly.
    fn converged(d: &DesiredState) -> LiveState {
        LiveState {
            resources: d
                .resources
                .iter()
                .map(|(id, r)| (id.clone(), Some(r.clone())))
                .collect(),
            managed_regions: d.stack.regions.clone(),
            bucket_objects: Default::default(),
            tagged_keys: Vec::new(),
            journal_groups: Default::default(),
        }
    }

    fn bucket_id(region: &str) -> ResourceId {
        ResourceId::bucket(region, bucket_name("p", "dev", ACCOUNT, region))
    }

    fn bucket_mut<'a>(live: &'a mut LiveState, region: &str) -> &'a mut BucketSettings {
        match live.resources.get_mut(&bucket_id(region)) {
            Some(Some(Resource::Bucket(b))) => b,
            _ => panic!("no bucket"),
        }
    }

    fn attributes(plan: &Plan) -> Vec<(String, String)> {
        plan.changes
            .iter()
            .flat_map(|c| match c {
                Change::Update { id, fields, .. } => fields
                    .iter()
                    .map(|f| (id.name().to_string(), f.attribute.to_string()))
                    .collect(),
                other => vec![(
                    other.id().name().to_string(),
                    format!("{other:?}")
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string(),
                )],
            })
            .collect()
    }

    #[test]
    fn empty_account_creates_everything() {
        let d = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let plan = diff(&d, &LiveState::default(), &DiffOptions::default());
        let s = plan.summary();
        assert_eq!((s.create, s.change, s.delete, s.retained), (7, 0, 0, 0));
        assert!(s.has_changes());
    }

    #[test]
    fn converged_state_has_no_changes() {
        let d = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let plan = diff(&d, &converged(&d), &DiffOptions::default());
        assert_eq!(plan.changes, vec![]);
        assert!(!plan.summary().has_changes());
    }

    #[test]
    fn alarms_are_created_changed_and_removed_with_the_section() {
        let mut with_alarm = stack(&["us-east-1", "eu-west-1"]);
        with_alarm.alarm = Some(crate::core::stack::AlarmConfig {
            sns_topic_arn: "arn:aws:sns:us-east-1:123456789012:ops".into(),
            max_age_hours: 26,
            drill_max_age_days: None,
        });
        let d = desired_state(&with_alarm, ACCOUNT);
        let alarm =
            |region: &str| ResourceId::alarm("us-east-1", format!("p-ssm-backup-dev/{region}"));
        // Added to a converged stack: two creations, nothing else.
        let without = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let plan = diff(&d, &converged(&without), &DiffOptions::default());
        let created: Vec<&ResourceId> = plan.changes.iter().map(Change::id).collect();
        assert_eq!(created, [&alarm("eu-west-1"), &alarm("us-east-1")]);
        assert!(
            plan.changes
                .iter()
                .all(|c| matches!(c, Change::Create { .. }))
        );

        // One setting drifted: one attribute, with both values.
        let mut live = converged(&d);
        let Some(Some(Resource::Alarm(a))) = live.resources.get_mut(&alarm("us-east-1")) else {
            panic!("no alarm")
        };
        a.treat_missing_data = "notBreaching".into();
        a.evaluation_periods = 48;
        let plan = diff(&d, &live, &DiffOptions::default());
        let changed = attributes(&plan);
        assert_eq!(
            changed,
            [
                (
                    "p-ssm-backup-dev/us-east-1".to_string(),
                    "evaluation".to_string()
                ),
                (
                    "p-ssm-backup-dev/us-east-1".to_string(),
                    "treat-missing-data".to_string()
                ),
            ]
        );

        // The section removed: both alarms go, nothing else.
        let plan = diff(&without, &converged(&d), &DiffOptions::default());
        assert_eq!(
            plan.changes,
            [
                Change::Delete {
                    id: alarm("eu-west-1"),
                    objects: None
                },
                Change::Delete {
                    id: alarm("us-east-1"),
                    objects: None
                },
            ]
        );
    }

    #[test]
    fn drift_is_listed_attribute_by_attribute() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&d);
        let b = bucket_mut(&mut live, "us-east-1");
        b.public_access_block = None;
        b.lifecycle.as_mut().unwrap()[0].expiration_days = Some(90);
        b.tags
            .as_mut()
            .unwrap()
            .insert("Environment".into(), "prod".into());
        let policy = b.policy.as_mut().unwrap();
        policy["Statement"].as_array_mut().unwrap().pop();
        let plan = diff(&d, &live, &DiffOptions::default());
        let name = bucket_name("p", "dev", ACCOUNT, "us-east-1");
        assert_eq!(
            attributes(&plan),
            vec![
                (name.clone(), "lifecycle".to_string()),
                (name.clone(), "public-access-block".to_string()),
                (name.clone(), "policy".to_string()),
                (name, "tags".to_string()),
            ]
        );
        let Change::Update { fields, .. } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(fields[1].live, None);
        assert_eq!(
            fields[1].desired,
            serde_json::to_value(PublicAccessBlock::ALL).ok()
        );
    }

    #[test]
    fn reordered_policy_is_unchanged() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&d);
        let b = bucket_mut(&mut live, "us-east-1");
        let text = serde_json::to_string_pretty(b.policy.as_ref().unwrap()).unwrap();
        let mut reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        reparsed["Statement"][1]["Resource"] =
            serde_json::json!([reparsed["Statement"][1]["Resource"]]);
        reparsed["Statement"][0]["Action"] = serde_json::json!(["s3:*"]);
        b.policy = Some(reparsed);
        assert_eq!(diff(&d, &live, &DiffOptions::default()).changes, vec![]);
    }

    #[test]
    fn missing_parameter_is_created_and_changed_one_updated() {
        let d = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let mut live = converged(&d);
        let per_region =
            ResourceId::parameter("eu-west-1", "/jenkins/dev/backup/eu-west-1/s3-bucket-name");
        live.resources.insert(per_region.clone(), None);
        let default_region =
            ResourceId::parameter("us-east-1", "/jenkins/dev/backup/default-region");
        live.resources.insert(
            default_region.clone(),
            Some(Resource::Parameter(ParameterState::string("eu-west-1"))),
        );
        let plan = diff(&d, &live, &DiffOptions::default());
        assert_eq!(plan.changes.len(), 2);
        assert!(matches!(&plan.changes[0], Change::Create { id, .. } if *id == per_region));
        let Change::Update { id, fields, .. } = &plan.changes[1] else {
            panic!()
        };
        assert_eq!(*id, default_region);
        assert_eq!(fields[0].live, Some(serde_json::json!("eu-west-1")));
        assert_eq!(fields[0].desired, Some(serde_json::json!("us-east-1")));
    }

    #[test]
    fn secure_string_values_never_enter_a_change() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&d);
        let id = ResourceId::parameter("us-east-1", "/jenkins/dev/backup/default-region");
        live.resources.insert(
            id,
            Some(Resource::Parameter(ParameterState {
                kind: ParameterKind::SecureString,
                value: None,
            })),
        );
        let plan = diff(&d, &live, &DiffOptions::default());
        let Change::Update { fields, .. } = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(fields[0].attribute.as_str(), "type");
        assert!(fields[1].sensitive);
        assert_eq!(
            (fields[1].live.clone(), fields[1].desired.clone()),
            (None, None)
        );
    }

    fn with_removed_region(objects: u64) -> (DesiredState, LiveState) {
        let before = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&before);
        live.bucket_objects
            .insert(bucket_name("p", "dev", ACCOUNT, "eu-west-1"), objects);
        (d, live)
    }

    #[test]
    fn removed_region_deletes_parameter_and_retains_bucket() {
        let (d, live) = with_removed_region(12);
        let plan = diff(&d, &live, &DiffOptions::default());
        let s = plan.summary();
        // region-list changes; the removed region's parameter goes; its bucket stays
        assert_eq!((s.create, s.change, s.delete, s.retained), (0, 1, 1, 1));
        let Change::Retain {
            id,
            reason,
            objects,
            expires_after_days,
        } = plan.changes.last().unwrap()
        else {
            panic!()
        };
        assert_eq!(*id, bucket_id("eu-west-1"));
        assert_eq!(*objects, Some(12));
        assert_eq!(*expires_after_days, Some(30 + 7), "the bucket's own rule");
        assert!(reason.contains("12 objects"), "{reason}");
    }

    #[test]
    fn destroying_a_non_empty_bucket_needs_a_second_flag() {
        let (d, live) = with_removed_region(3);
        let only_bucket = DiffOptions {
            destroy_removed_buckets: true,
            ..DiffOptions::default()
        };
        let plan = diff(&d, &live, &only_bucket);
        assert!(matches!(plan.changes.last(), Some(Change::Retain { .. })));
        assert_eq!(plan.warnings.len(), 1);
        let both = DiffOptions {
            destroy_removed_buckets: true,
            destroy_bucket_objects: true,
            ..DiffOptions::default()
        };
        let plan = diff(&d, &live, &both);
        assert!(matches!(
            plan.changes.last(),
            Some(Change::Delete {
                objects: Some(3),
                ..
            })
        ));
    }

    #[test]
    fn metadata_left_in_an_old_home_region_is_deleted() {
        let before = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let mut moved = stack(&["us-east-1", "eu-west-1"]);
        moved.ssm_home_region = "eu-west-1".into();
        let d = desired_state(&moved, ACCOUNT);
        let mut live = converged(&before);
        for id in crate::core::desired::stray_metadata_ids(&moved, &moved.regions) {
            live.resources.entry(id).or_insert(None);
        }
        let plan = diff(&d, &live, &DiffOptions::default());
        let deleted: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| matches!(c, Change::Delete { .. }))
            .map(|c| c.id().to_string())
            .collect();
        assert_eq!(
            deleted,
            [
                "parameter /jenkins/dev/backup/default-region (us-east-1)",
                "parameter /jenkins/dev/backup/region-list (us-east-1)",
                "parameter /jenkins/dev/backup/s3-bucket-name (us-east-1)",
            ]
        );
        assert_eq!(plan.summary().create, 3, "written in the new home region");
    }

    #[test]
    fn the_copies_parameter_left_in_an_old_home_region_is_deleted_too() {
        let mut before = stack(&["us-east-1", "eu-west-1"]);
        before.copies = [("us-east-1".to_string(), "eu-west-1".to_string())].into();
        let mut moved = before.clone();
        moved.ssm_home_region = "eu-west-1".into();
        let d = desired_state(&moved, ACCOUNT);
        let mut live = converged(&desired_state(&before, ACCOUNT));
        for id in crate::core::desired::stray_metadata_ids(&moved, &moved.regions) {
            live.resources.entry(id).or_insert(None);
        }
        let plan = diff(&d, &live, &DiffOptions::default());
        let ids = |create: bool| -> Vec<String> {
            plan.changes
                .iter()
                .filter(|c| {
                    if create {
                        matches!(c, Change::Create { .. })
                    } else {
                        matches!(c, Change::Delete { .. })
                    }
                })
                .map(|c| c.id().to_string())
                .collect()
        };
        assert_eq!(
            ids(false),
            [
                "parameter /jenkins/dev/backup/copies (us-east-1)",
                "parameter /jenkins/dev/backup/default-region (us-east-1)",
                "parameter /jenkins/dev/backup/region-list (us-east-1)",
                "parameter /jenkins/dev/backup/s3-bucket-name (us-east-1)",
            ]
        );
        assert_eq!(ids(true).len(), 4, "written in the new home region");
    }

    #[test]
    fn a_backups_lifetime_comes_from_the_buckets_lifecycle_rule() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&d);
        let b = bucket_mut(&mut live, "us-east-1");
        assert_eq!(backup_lifetime_days(b), Some(37));
        b.lifecycle.as_mut().unwrap()[0].noncurrent_expiration_days = None;
        assert_eq!(backup_lifetime_days(b), Some(30));
        b.lifecycle.as_mut().unwrap()[0].enabled = false;
        assert_eq!(backup_lifetime_days(b), None, "a disabled rule keeps them");
        b.lifecycle = None;
        assert_eq!(backup_lifetime_days(b), None);
    }

    #[test]
    fn metadata_of_another_project_is_a_refusal_naming_it() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let live = converged(&d);
        assert_eq!(foreign_owner(&d, &live), None);

        let mut other = stack(&["us-east-1"]);
        other.project_name = "billing".into();
        let theirs = converged(&desired_state(&other, ACCOUNT));
        let refusal = foreign_owner(&d, &theirs).expect("refused");
        assert!(
            refusal.starts_with("the `dev` environment belongs to the stack of project `billing`"),
            "{refusal}"
        );
        assert!(refusal.contains("billing-ssm-backup-dev-123456789012-us-east-1"));

        // A hand-edited value that names no stack's bucket is drift, not an owner.
        let mut edited = converged(&d);
        for state in edited.resources.values_mut() {
            if let Some(Resource::Parameter(p)) = state {
                p.value = Some("some-bucket".into());
            }
        }
        assert_eq!(foreign_owner(&d, &edited), None);
    }

    #[test]
    fn empty_removed_bucket_is_deleted_with_the_first_flag() {
        let (d, live) = with_removed_region(0);
        let options = DiffOptions {
            destroy_removed_buckets: true,
            ..DiffOptions::default()
        };
        let plan = diff(&d, &live, &options);
        assert!(matches!(
            plan.changes.last(),
            Some(Change::Delete {
                objects: Some(0),
                ..
            })
        ));
    }

    /// A kms stack's live state once apply made its keys (`key/k-<region>`) and buckets.
    fn kms_converged(regions: &[&str]) -> (DesiredState, LiveState) {
        let mut kms = stack(regions);
        kms.encryption = crate::core::stack::EncryptionMode::Kms;
        let d = desired_state(&kms, ACCOUNT);
        let mut live = converged(&d);
        for (id, state) in live.resources.iter_mut() {
            if let Some(Resource::Key(k)) = state {
                k.arn = Some(format!(
                    "arn:aws:kms:{}:{ACCOUNT}:key/k-{}",
                    id.region, id.region
                ));
            }
        }
        let arns: Vec<(String, String)> = regions
            .iter()
            .map(|r| {
                let alias = crate::core::desired::key_alias("p", "dev");
                (
                    crate::core::desired::key_alias_arn(r, ACCOUNT, &alias),
                    format!("arn:aws:kms:{r}:{ACCOUNT}:key/k-{r}"),
                )
            })
            .collect();
        for r in regions {
            for (from, to) in &arns {
                bucket_mut(&mut live, r).replace_key(from, to);
            }
        }
        (d, live)
    }

    #[test]
    fn a_kms_stack_creates_each_key_before_its_bucket_which_names_it_by_alias_until_it_exists() {
        let (d, _) = kms_converged(&["us-east-1"]);
        let plan = diff(&d, &LiveState::default(), &DiffOptions::default());
        let kinds: Vec<&str> = plan.changes.iter().map(|c| c.id().kind.as_str()).collect();
        assert_eq!(kinds[..2], ["key", "bucket"]);
        let Change::Create {
            desired: Resource::Bucket(b),
            ..
        } = &plan.changes[1]
        else {
            panic!("{:?}", plan.changes[1]);
        };
        let alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/p-ssm-backup-dev";
        let encryption = b.encryption.as_ref().unwrap();
        assert_eq!(
            (
                encryption.algorithm.as_str(),
                encryption.kms_key_id.as_deref()
            ),
            ("aws:kms", Some(alias_arn))
        );
        assert!(b.policy.as_ref().unwrap().to_string().contains(alias_arn));
    }

    #[test]
    fn once_the_key_exists_buckets_are_compared_with_its_arn() {
        let (d, mut live) = kms_converged(&["us-east-1", "eu-west-1"]);
        assert!(diff(&d, &live, &DiffOptions::default()).changes.is_empty());
        // A bucket encrypted with another key: the bucket is pinned to that key, so going back
        // to the alias's key is a replacement (which of the two moved, the plan cannot tell).
        bucket_mut(&mut live, "eu-west-1").replace_key(
            "arn:aws:kms:eu-west-1:123456789012:key/k-eu-west-1",
            "arn:aws:kms:eu-west-1:123456789012:key/other",
        );
        let plan = diff(&d, &live, &DiffOptions::default());
        assert_eq!(
            attributes(&plan),
            [
                (key_alias_name(), "Replace".to_string()),
                (bucket_id("eu-west-1").name, "encryption".to_string()),
                (bucket_id("eu-west-1").name, "policy".to_string())
            ]
        );
        let text = serde_json::to_string(&plan.changes[1..]).unwrap();
        assert!(
            text.contains("key/k-eu-west-1") && !text.contains("alias/"),
            "{text}"
        );
    }

    fn key_alias_name() -> String {
        crate::core::desired::key_alias("p", "dev")
    }

    fn key_arn(region: &str, id: &str) -> String {
        format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}")
    }

    /// The alias of us-east-1's managed key moved to `key/attacker`.
    fn alias_moved() -> (DesiredState, LiveState) {
        let (d, mut live) = kms_converged(&["us-east-1"]);
        let id = ResourceId::key("us-east-1", key_alias_name());
        let Some(Some(Resource::Key(k))) = live.resources.get_mut(&id) else {
            panic!("no key")
        };
        k.arn = Some(key_arn("us-east-1", "attacker"));
        (d, live)
    }

    /// `key`'s alias observed naming `key/<id>` of us-east-1, which these credentials may not
    /// read.
    fn unreadable(live: &mut LiveState, key: &ResourceId, id: &str) {
        let settings = KeySettings::unreadable(key_arn("us-east-1", id));
        live.resources
            .insert(key.clone(), Some(Resource::Key(settings)));
    }

    /// us-east-1's key replaced by `key/attacker`, nothing else of it compared.
    fn replaced_by_attacker(d: &DesiredState, key: &ResourceId) -> Change {
        Change::Replace {
            id: key.clone(),
            pinned: key_arn("us-east-1", "k-us-east-1"),
            replacement: key_arn("us-east-1", "attacker"),
            fields: Vec::new(),
            desired: d.resources[key].clone(),
        }
    }

    #[test]
    fn an_alias_moved_to_another_key_is_a_replacement_naming_both_keys() {
        let (d, live) = alias_moved();
        let plan = diff(&d, &live, &DiffOptions::default());
        let key = ResourceId::key("us-east-1", key_alias_name());
        assert_eq!(plan.changes[0], replaced_by_attacker(&d, &key));
        // The bucket follows the alias's key only once the replacement is accepted.
        assert_eq!(
            attributes(&plan)[1..],
            [
                (bucket_id("us-east-1").name, "encryption".to_string()),
                (bucket_id("us-east-1").name, "policy".to_string())
            ]
        );
        let s = plan.summary();
        assert_eq!((s.create, s.change, s.replace, s.delete), (0, 1, 1, 0));
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        let w = &plan.warnings[0];
        assert!(
            w.contains("names the key attacker, not the pinned key k-us-east-1")
                && w.contains("apply refuses this replacement unless --accept-key-change")
                && w.contains("--target-key-id k-us-east-1"),
            "{w}"
        );
        let accepted = diff(
            &d,
            &live,
            &DiffOptions {
                accept_key_change: true,
                ..DiffOptions::default()
            },
        );
        assert_eq!(accepted.changes, plan.changes);
        assert!(
            accepted.warnings[0].contains("accepted with --accept-key-change"),
            "{:?}",
            accepted.warnings
        );
    }

    /// With the roles' credentials the alias's new key cannot be read (it is not tagged for the
    /// stack): known by its ARN only, it is the same replacement, with nothing else compared,
    /// and the warning says so.
    #[test]
    fn an_alias_moved_to_a_key_these_credentials_may_not_read_is_a_replacement_too() {
        let (d, mut live) = alias_moved();
        let key = ResourceId::key("us-east-1", key_alias_name());
        unreadable(&mut live, &key, "attacker");
        assert_eq!(refusal(&d, &live), None);
        let plan = diff(&d, &live, &DiffOptions::default());
        assert_eq!(plan.changes[0], replaced_by_attacker(&d, &key));
        let w = &plan.warnings[0];
        assert!(
            w.contains("names the key attacker (these credentials may not read attacker: the roles read only keys tagged Name=alias/p-ssm-backup-dev, so it is not a key apply made, or its key policy shuts them out), not the pinned key k-us-east-1"),
            "{w}"
        );

        // The bucket pinned to the very key these credentials may not read (after an accepted
        // replacement, or the key's tag removed): nothing to compare, so nothing is planned.
        let mut pinned_unreadable = live.clone();
        unreadable(&mut pinned_unreadable, &key, "k-us-east-1");
        let refused = refusal(&d, &pinned_unreadable).expect("refused");
        assert!(
            refused.contains("names the key k-us-east-1, which these credentials may not read")
                && refused.contains("it is the key the bucket us-east-1 is pinned to"),
            "{refused}"
        );

        // No bucket pinned to a key yet: nothing to replace, so nothing is planned.
        let bucket = bucket_id("us-east-1");
        if let Some(Some(Resource::Bucket(b))) = live.resources.get_mut(&bucket) {
            b.encryption = None;
        }
        let refused = refusal(&d, &live).expect("refused");
        assert!(
            refused.contains("names the key attacker, which these credentials may not read")
                && refused.contains("kmsKeyIds"),
            "{refused}"
        );
    }

    /// A key the stack no longer uses whose alias names a key these credentials may not read is
    /// never scheduled for deletion, whatever the options.
    #[test]
    fn an_unused_alias_naming_an_unreadable_key_is_never_deleted() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&d);
        let key = ResourceId::key("us-east-1", key_alias_name());
        unreadable(&mut live, &key, "attacker");
        let options = DiffOptions {
            destroy_removed_keys: true,
            ..DiffOptions::default()
        };
        let plan = diff(&d, &live, &options);
        let kept: Vec<&Change> = plan.changes.iter().filter(|c| c.id() == &key).collect();
        assert!(
            matches!(kept[..], [Change::Retain { reason, .. }] if reason.contains("names the key attacker, which these credentials may not read")),
            "{kept:?}"
        );
    }

    #[test]
    fn a_key_tagged_for_the_stack_that_nothing_names_is_an_orphan() {
        let (d, mut live) = kms_converged(&["us-east-1"]);
        let tagged = |id: &str, state: &str| crate::core::resource::key::TaggedKey {
            region: "us-east-1".into(),
            key_id: id.into(),
            arn: key_arn("us-east-1", id),
            created: "2026-12-01T10:00:00Z".into(),
            state: state.into(),
        };
        // The alias's own key is no orphan.
        live.tagged_keys = vec![tagged("k-us-east-1", "Enabled")];
        assert_eq!(diff(&d, &live, &DiffOptions::default()), Plan::default());
        // One more, that no alias names: listed, and nothing else changes.
        live.tagged_keys.push(tagged("lost", "Enabled"));
        // One already scheduled for deletion is not listed again.
        live.tagged_keys.push(tagged("going", PENDING_DELETION));
        let plan = diff(&d, &live, &DiffOptions::default());
        assert_eq!(plan.changes, []);
        assert_eq!(plan.warnings, Vec::<String>::new());
        assert_eq!(
            plan.orphan_keys,
            [OrphanKey {
                region: "us-east-1".into(),
                key_id: "lost".into(),
                arn: key_arn("us-east-1", "lost"),
                created: "2026-12-01T10:00:00Z".into(),
            }]
        );
        assert_eq!(
            plan.orphan_keys[0].removal_command(),
            "aws kms schedule-key-deletion --region us-east-1 --key-id lost"
        );
    }

    #[test]
    fn the_pinned_key_of_a_replacement_is_no_orphan() {
        let (d, mut live) = alias_moved();
        live.tagged_keys = ["k-us-east-1", "attacker"]
            .map(|id| crate::core::resource::key::TaggedKey {
                region: "us-east-1".into(),
                key_id: id.into(),
                arn: key_arn("us-east-1", id),
                created: "2026-12-01T10:00:00Z".into(),
                state: "Enabled".into(),
            })
            .to_vec();
        let plan = diff(&d, &live, &DiffOptions::default());
        assert_eq!(plan.orphan_keys, []);
        assert_eq!(plan.summary().replace, 1);
    }

    #[test]
    fn a_key_pending_deletion_that_the_stack_wants_is_brought_back() {
        let (d, mut live) = kms_converged(&["us-east-1"]);
        for state in live.resources.values_mut() {
            if let Some(Resource::Key(k)) = state {
                k.state = PENDING_DELETION.into();
            }
        }
        let plan = diff(&d, &live, &DiffOptions::default());
        let fields: Vec<&str> = plan
            .changes
            .iter()
            .flat_map(|c| match c {
                Change::Update { fields, .. } => {
                    fields.iter().map(|f| f.attribute.as_str()).collect()
                }
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(fields, ["key-state"]);
    }

    #[test]
    fn turning_object_lock_on_warns_that_it_is_for_good() {
        let mut locked = stack(&["us-east-1"]);
        locked.object_lock = Some(crate::core::stack::ObjectLockConfig {
            mode: crate::core::stack::LockMode::Compliance,
            days: 14,
        });
        let unlocked = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let d = desired_state(&locked, ACCOUNT);
        let plan = diff(&d, &converged(&unlocked), &DiffOptions::default());
        assert_eq!(
            attributes(&plan),
            [(bucket_id("us-east-1").name, "object-lock".to_string())]
        );
        assert_eq!(plan.warnings.len(), 1);
        assert!(
            plan.warnings[0].contains("can never be turned off")
                && plan.warnings[0].contains("not even the account's root user"),
            "{:?}",
            plan.warnings
        );
        // Converged: no warning. Without the section: Object Lock is not managed (no change).
        assert!(
            diff(&d, &converged(&d), &DiffOptions::default())
                .warnings
                .is_empty()
        );
        assert!(
            diff(&unlocked, &converged(&d), &DiffOptions::default())
                .changes
                .is_empty()
        );
    }

    #[test]
    fn an_unused_key_is_kept_unless_its_deletion_is_asked_for() {
        let (kms_desired, mut live) = kms_converged(&["us-east-1"]);
        let key_id = kms_desired
            .resources
            .keys()
            .find(|id| id.kind == Kind::Key)
            .unwrap()
            .clone();
        // The stack back to AES256: the key is retained, the bucket goes back to AES256.
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let plan = diff(&d, &live, &DiffOptions::default());
        assert!(
            plan.changes
                .iter()
                .any(|c| matches!(c, Change::Retain { id, .. } if *id == key_id))
        );
        assert!(plan.warnings.is_empty());
        let destroy = DiffOptions {
            destroy_removed_keys: true,
            ..DiffOptions::default()
        };
        let plan = diff(&d, &live, &destroy);
        assert!(matches!(plan.changes.last(), Some(Change::Delete { id, .. }) if *id == key_id));
        assert!(
            plan.warnings[0].contains("scheduled for deletion"),
            "{:?}",
            plan.warnings
        );
        // Already pending deletion: nothing more to do.
        if let Some(Some(Resource::Key(k))) = live.resources.get_mut(&key_id) {
            k.state = PENDING_DELETION.into();
        }
        let plan = diff(&d, &live, &destroy);
        assert!(!plan.changes.iter().any(|c| c.id() == &key_id));
    }

    fn journaled(regions: &[&str]) -> crate::core::stack::Stack {
        let mut s = stack(regions);
        s.journal = Some(crate::core::stack::JournalConfig { retention_days: 30 });
        s
    }

    fn actions(plan: &Plan) -> Vec<(String, &'static str, String)> {
        plan.changes
            .iter()
            .map(|c| {
                let action = match c {
                    Change::Create { .. } => "create",
                    Change::Update { .. } => "update",
                    Change::Replace { .. } => "replace",
                    Change::Delete { .. } => "delete",
                    Change::Retain { .. } => "retain",
                };
                (
                    c.id().kind.as_str().to_string(),
                    action,
                    c.id().region.clone(),
                )
            })
            .filter(|(kind, ..)| {
                ["log-group", "logs-policy", "event-rule"].contains(&kind.as_str())
            })
            .collect()
    }

    #[test]
    fn a_journal_is_three_resources_per_region_and_none_without_the_section() {
        let d = desired_state(&journaled(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let plan = diff(&d, &LiveState::default(), &DiffOptions::default());
        let created = actions(&plan);
        assert_eq!(created.len(), 6, "{created:?}");
        assert!(created.iter().all(|(_, a, _)| *a == "create"));
        assert!(
            diff(&d, &converged(&d), &DiffOptions::default())
                .changes
                .is_empty()
        );
        // Without the section nothing of a journal is planned.
        let plain = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        assert!(
            actions(&diff(
                &plain,
                &LiveState::default(),
                &DiffOptions::default()
            ))
            .is_empty()
        );
    }

    #[test]
    fn removing_the_section_removes_rule_and_policy_and_keeps_the_log_group() {
        let with = desired_state(&journaled(&["us-east-1"]), ACCOUNT);
        let without = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let live = converged(&with);
        let plan = diff(&without, &live, &DiffOptions::default());
        let mut got = actions(&plan);
        got.sort();
        assert_eq!(
            got,
            [
                ("event-rule".into(), "delete", "us-east-1".into()),
                ("log-group".into(), "retain", "us-east-1".into()),
                ("logs-policy".into(), "delete", "us-east-1".into()),
            ]
        );
        let destroy = DiffOptions {
            destroy_removed_journals: true,
            ..DiffOptions::default()
        };
        let got = actions(&diff(&without, &live, &destroy));
        assert!(got.contains(&("log-group".into(), "delete", "us-east-1".into())));
    }

    #[test]
    fn the_shared_logs_policy_stays_while_another_stacks_journal_is_there() {
        let with = desired_state(&journaled(&["us-east-1"]), ACCOUNT);
        let without = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&with);
        let own = crate::core::journal::log_group_name("p", "dev");
        live.journal_groups.insert(
            "us-east-1".into(),
            vec![own.clone(), "/ssm-keeper/other/prod/journal".into()],
        );
        let got = actions(&diff(&without, &live, &DiffOptions::default()));
        assert!(!got.iter().any(|(k, ..)| k == "logs-policy"), "{got:?}");
        // Only its own journal left: the policy goes.
        live.journal_groups.insert("us-east-1".into(), vec![own]);
        let got = actions(&diff(&without, &live, &DiffOptions::default()));
        assert!(got.contains(&("logs-policy".into(), "delete", "us-east-1".into())));
    }

    #[test]
    fn journal_drift_is_shown_by_attribute() {
        let d = desired_state(&journaled(&["us-east-1"]), ACCOUNT);
        let mut live = converged(&d);
        for (id, state) in live.resources.iter_mut() {
            match state {
                Some(Resource::LogGroup(g)) => g.retention_days = None,
                Some(Resource::EventRule(r)) => {
                    r.event_pattern = serde_json::json!({"source": ["aws.ssm"]});
                    r.targets.push(format!("arn:aws:sqs:{}:1:q", id.region));
                }
                _ => {}
            }
        }
        let fields: Vec<(String, String)> = attributes(&diff(&d, &live, &DiffOptions::default()));
        let names: Vec<&str> = fields.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(names, ["log-retention", "event-pattern", "rule-targets"]);
    }

    fn with_dashboard(regions: &[&str]) -> crate::core::stack::Stack {
        let mut s = stack(regions);
        s.dashboard = Some(crate::core::stack::DashboardConfig { range_days: 14 });
        s
    }

    #[test]
    fn a_dashboard_is_created_compared_by_widget_and_removed_with_the_section() {
        let d = desired_state(&with_dashboard(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let id = crate::core::dashboard::dashboard_id(&d.stack);
        let plan = diff(&d, &LiveState::default(), &DiffOptions::default());
        let created: Vec<&ResourceId> = plan
            .changes
            .iter()
            .filter(|c| c.id().kind == Kind::Dashboard)
            .map(|c| c.id())
            .collect();
        assert_eq!(created, [&id]);
        assert!(
            matches!(plan.changes.last(), Some(Change::Create { id: last, .. }) if *last == id)
        );
        // Converged: reformatted by CloudWatch (keys reordered, 6.0 for 6), no change.
        let mut live = converged(&d);
        let Some(Some(Resource::Dashboard(board))) = live.resources.get_mut(&id) else {
            panic!("no dashboard");
        };
        let text = serde_json::to_string_pretty(&board.body)
            .unwrap()
            .replace(": 6,", ": 6.0,");
        board.body = serde_json::from_str(&text).unwrap();
        assert!(diff(&d, &live, &DiffOptions::default()).changes.is_empty());
        // One widget changed by hand: one field, holding that widget only.
        let Some(Some(Resource::Dashboard(board))) = live.resources.get_mut(&id) else {
            panic!("no dashboard");
        };
        board.body["widgets"][3]["properties"]["stat"] = serde_json::json!("Average");
        board.body["widgets"][3]["properties"]["metrics"][0][6]["stat"] =
            serde_json::json!("Average");
        let plan = diff(&d, &live, &DiffOptions::default());
        let [Change::Update { fields, .. }] = plan.changes.as_slice() else {
            panic!("{:?}", plan.changes);
        };
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].attribute.as_str(), "dashboard-widgets");
        let titles: Vec<&String> = fields[0]
            .live
            .as_ref()
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(titles, [crate::core::dashboard::TITLE_DURATION]);
        // The section removed: the dashboard is deleted.
        let without = desired_state(&stack(&["us-east-1", "eu-west-1"]), ACCOUNT);
        let plan = diff(&without, &live, &DiffOptions::default());
        assert!(
            plan.changes
                .iter()
                .any(|c| matches!(c, Change::Delete { id: gone, .. } if *gone == id)),
            "{:?}",
            plan.changes
        );
    }

    #[test]
    fn a_stack_without_a_dashboard_plans_none() {
        let d = desired_state(&stack(&["us-east-1"]), ACCOUNT);
        assert!(d.resources.keys().all(|id| id.kind != Kind::Dashboard));
        let mut live = converged(&d);
        // Observed absent (it is read, to remove one left from before): nothing to do.
        live.resources
            .insert(crate::core::dashboard::dashboard_id(&d.stack), None);
        assert!(diff(&d, &live, &DiffOptions::default()).changes.is_empty());
    }
}
