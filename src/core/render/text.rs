//! The plan for humans: one block per change, attribute differences with live and desired
//! values, JSON diffs for documents, and the summary line. Painted in tones: the printer
//! colours them on a terminal.

use std::fmt::{self, Write};

use super::{
    ORPHAN_NOTE, SENSITIVE, inline, is_scalar_change, json_diff, options_line, retained_backups,
    summary_line,
};
use strum::VariantArray;

use crate::core::plan::{Change, FieldChange, PlanDocument, key_id};
use crate::core::resource::{
    AlarmSettings, BucketAttribute, BucketSettings, KeySettings, ParameterKind, Resource,
};
use crate::core::terminal::{Painted, Tone};

/// The plan, its actions and values painted in tones (the printer colours them, or not).
pub fn render(doc: &PlanDocument) -> Painted {
    Painted::of(|out| write_plan(out, doc))
}

fn write_plan(out: &mut Painted, doc: &PlanDocument) -> fmt::Result {
    out.paint(Tone::Bold, "Plan for")?;
    write!(out, " stack ")?;
    out.paint(Tone::Bold, &doc.stack.environment)?;
    writeln!(out, " ({}), account {}\n", doc.stack_file, doc.account_id)?;
    if let Some(line) = options_line(doc) {
        out.paint(Tone::Delete, line)?;
        writeln!(out, "\n")?;
    }
    for change in &doc.changes {
        render_change(out, doc, change)?;
    }
    for orphan in &doc.orphan_keys {
        write!(out, "  ")?;
        out.paint(Tone::Retain, "? orphan")?;
        writeln!(
            out,
            " KMS key {} ({}), created {}",
            orphan.key_id, orphan.region, orphan.created
        )?;
        write!(out, "        ")?;
        out.paint(Tone::Dim, ORPHAN_NOTE)?;
        writeln!(out, ":\n        {}", orphan.removal_command())?;
    }
    for w in &doc.warnings {
        out.paint(Tone::Delete, "Warning:")?;
        writeln!(out, " {w}")?;
    }
    if !doc.changes.is_empty() || !doc.warnings.is_empty() || !doc.orphan_keys.is_empty() {
        out.write_char('\n')?;
    }
    out.paint(Tone::Bold, summary_line(&doc.summary))?;
    out.write_char('\n')
}

/// `  <action> <id>` and the newline.
fn action_line(out: &mut Painted, tone: Tone, action: &str, id: impl fmt::Display) -> fmt::Result {
    write!(out, "  ")?;
    out.paint(tone, action)?;
    writeln!(out, " {id}")
}

fn render_change(out: &mut Painted, doc: &PlanDocument, change: &Change) -> fmt::Result {
    match change {
        Change::Create { id, desired } => {
            action_line(out, Tone::Create, "+ create", id)?;
            for (attribute, value) in attributes(desired) {
                writeln!(out, "        {attribute}: {value}")?;
            }
        }
        Change::Update { id, fields, .. } => {
            action_line(out, Tone::Change, "~ change", id)?;
            for f in fields {
                render_field(out, f)?;
            }
        }
        Change::Replace {
            id,
            pinned,
            replacement,
            fields,
            ..
        } => {
            action_line(out, Tone::Delete, "! replace", id)?;
            write!(
                out,
                "        pinned key (the bucket's default encryption): "
            )?;
            out.paint(Tone::Delete, key_id(pinned))?;
            write!(out, "\n        the key the alias names now:              ")?;
            out.paint(Tone::Create, key_id(replacement))?;
            out.write_char('\n')?;
            for f in fields {
                render_field(out, f)?;
            }
        }
        Change::Delete { id, objects } => {
            write!(out, "  ")?;
            out.paint(Tone::Delete, "- delete")?;
            write!(out, " {id}")?;
            if let Some(n) = objects.filter(|n| *n > 0) {
                write!(out, " ")?;
                out.paint(Tone::Delete, format!("and its {n} objects"))?;
            }
            out.write_char('\n')?;
        }
        Change::Retain {
            id,
            reason,
            expires_after_days,
            ..
        } => {
            action_line(out, Tone::Retain, "= retain", id)?;
            write!(out, "        ")?;
            out.paint(Tone::Dim, reason)?;
            out.write_char('\n')?;
            if let Some(note) = retained_backups(doc, id.kind, *expires_after_days) {
                write!(out, "        ")?;
                out.paint(Tone::Dim, note)?;
                out.write_char('\n')?;
            }
        }
    }
    Ok(())
}

/// One attribute of an update: masked, `live -> desired` on one line, or a JSON diff.
fn render_field(out: &mut Painted, f: &FieldChange) -> fmt::Result {
    if f.sensitive {
        return writeln!(out, "      ~ {}: {SENSITIVE}", f.attribute);
    }
    if is_scalar_change(f) {
        write!(out, "      ~ {}: ", f.attribute)?;
        out.paint(Tone::Delete, inline(&f.live))?;
        write!(out, " -> ")?;
        out.paint(Tone::Create, inline(&f.desired))?;
        return out.write_char('\n');
    }
    writeln!(out, "      ~ {}:", f.attribute)?;
    for (tag, line) in json_diff(f) {
        write!(out, "          ")?;
        match tag {
            '-' => out.paint(Tone::Delete, format!("- {line}"))?,
            '+' => out.paint(Tone::Create, format!("+ {line}"))?,
            _ => out.paint(Tone::Dim, format!("  {line}"))?,
        }
        out.write_char('\n')?;
    }
    Ok(())
}

/// How a bucket attribute of one to be created reads: the policy by its statements.
fn bucket_attribute(b: &BucketSettings, attribute: BucketAttribute) -> String {
    fn json<T: serde::Serialize>(v: &T) -> String {
        inline(&serde_json::to_value(v).ok())
    }
    match attribute {
        BucketAttribute::Policy => {
            let sids = b
                .policy
                .as_ref()
                .and_then(|p| p["Statement"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|s| s["Sid"].as_str().map(str::to_string))
                .collect::<Vec<_>>();
            format!("statements {}", sids.join(", "))
        }
        BucketAttribute::Versioning => json(&b.versioning),
        BucketAttribute::Encryption => json(&b.encryption),
        BucketAttribute::Lifecycle => json(&b.lifecycle),
        BucketAttribute::PublicAccessBlock => json(&b.public_access_block),
        BucketAttribute::Tags => json(&b.tags),
        BucketAttribute::ObjectLock => json(&b.object_lock),
    }
}

/// The attributes of a resource to be created, one line each.
pub fn attributes(resource: &Resource) -> Vec<(&'static str, String)> {
    match resource {
        Resource::Bucket(b) => BucketAttribute::VARIANTS
            .iter()
            .filter(|&&a| crate::core::resource::bucket::value(b, a).is_some())
            .map(|&a| (a.as_str(), bucket_attribute(b, a)))
            .collect(),
        Resource::Parameter(p) => {
            let value = match (&p.kind, &p.value) {
                (ParameterKind::SecureString, _) | (_, None) => SENSITIVE.to_string(),
                (_, Some(v)) => format!("{v:?}"),
            };
            vec![("type", p.kind.as_str().to_string()), ("value", value)]
        }
        Resource::Alarm(a) => alarm_attributes(a),
        Resource::Key(k) => key_attributes(k),
        Resource::LogGroup(g) => vec![(
            "log-retention",
            g.retention_days
                .map_or_else(|| "kept forever".to_string(), |d| format!("{d} days")),
        )],
        Resource::LogsPolicy(p) => vec![("logs-policy", statements(&p.document))],
        Resource::EventRule(r) => vec![
            ("rule-state", r.state.clone()),
            ("event-pattern", r.event_pattern.to_string()),
            ("rule-targets", r.targets.join(", ")),
            ("rule-description", r.description.clone()),
        ],
        Resource::Dashboard(d) => {
            let titles: Vec<String> = crate::core::resource::dashboard::widgets_by_title(&d.body)
                .into_iter()
                .map(|(title, _)| title)
                .collect();
            vec![
                ("dashboard-widgets", titles.join(", ")),
                (
                    "dashboard-settings",
                    crate::core::resource::dashboard::settings(&d.body).to_string(),
                ),
            ]
        }
    }
}

/// A policy's statements by Sid.
fn statements(policy: &serde_json::Value) -> String {
    let sids = policy["Statement"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|s| s["Sid"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!("statements {sids}")
}

fn key_attributes(k: &KeySettings) -> Vec<(&'static str, String)> {
    let tags: Vec<String> = k.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        ("key-description", k.description.clone()),
        (
            "key-rotation",
            if k.rotation { "yearly" } else { "off" }.into(),
        ),
        ("key-policy", statements(&k.policy)),
        ("key-tags", tags.join(", ")),
    ]
}

fn alarm_attributes(a: &AlarmSettings) -> Vec<(&'static str, String)> {
    let dimensions: Vec<String> = a
        .dimensions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    vec![
        (
            "metric",
            format!(
                "{}/{} ({}) {} per {}s",
                a.namespace,
                a.metric_name,
                dimensions.join(", "),
                a.statistic,
                a.period_seconds
            ),
        ),
        (
            "evaluation",
            format!(
                "{} {} for {} of {} periods",
                a.comparison, a.threshold, a.datapoints_to_alarm, a.evaluation_periods
            ),
        ),
        ("treat-missing-data", a.treat_missing_data.clone()),
        ("actions", a.alarm_actions.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::desired::desired_state;
    use crate::core::diff::diff;
    use crate::core::model::{LiveState, ParameterKind, ParameterState, ResourceId};
    use crate::core::plan::DiffOptions;
    use crate::core::plan::PLAN_FORMAT_VERSION;
    use crate::core::stack::Stack;

    fn stack() -> Stack {
        crate::core::stack::sample(&["us-east-1"])
    }

    fn doc(live: LiveState) -> PlanDocument {
        let d = desired_state(&stack(), "123456789012");
        let plan = diff(&d, &live, &DiffOptions::default());
        PlanDocument {
            format_version: PLAN_FORMAT_VERSION,
            tool_version: "test".into(),
            stack_file: "stacks/dev.yaml".into(),
            stack_sha256: "0".repeat(64),
            stack: stack(),
            account_id: "123456789012".into(),
            created_at: time::macros::datetime!(2026-11-24 13:00 UTC),
            diff_options: Default::default(),
            summary: plan.summary(),
            changes: plan.changes,
            warnings: plan.warnings,
            orphan_keys: plan.orphan_keys,
            observed: live,
        }
    }

    fn converged() -> LiveState {
        let d = desired_state(&stack(), "123456789012");
        LiveState {
            resources: d.resources.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            managed_regions: vec!["us-east-1".into()],
            ..Default::default()
        }
    }

    /// Converged, plus the bucket of a region removed from the stack, holding 4 objects.
    fn with_removed_region() -> LiveState {
        let mut live = converged();
        let two = crate::core::stack::sample(&["us-east-1", "eu-west-1"]);
        let old = desired_state(&two, "123456789012");
        for (id, r) in old.resources {
            if id.region() == "eu-west-1" {
                live.resources.insert(id, Some(r));
            }
        }
        live.managed_regions.push("eu-west-1".into());
        live.bucket_objects
            .insert("p-ssm-backup-dev-123456789012-eu-west-1".into(), 4);
        live
    }

    #[test]
    fn a_retained_bucket_says_when_its_last_backup_is_gone() {
        let text = render(&doc(with_removed_region())).plain();
        assert!(
            text.contains(
                "  = retain bucket p-ssm-backup-dev-123456789012-eu-west-1 (eu-west-1)\n        region removed from the stack; the bucket holds 4 objects and is kept (delete it with --destroy-removed-buckets)\n        No more backups go there; its lifecycle rule removes the last one within 37 days: gone by 2026-12-31.\n"
            ),
            "{text}"
        );
        let md = crate::core::render::markdown::render(&doc(with_removed_region()));
        assert!(
            md.contains("| retain | bucket `p-ssm-backup-dev-123456789012-eu-west-1` | eu-west-1 | region removed from the stack; the bucket holds 4 objects and is kept (delete it with --destroy-removed-buckets). No more backups go there; its lifecycle rule removes the last one within 37 days: gone by 2026-12-31. |"),
            "{md}"
        );
    }

    #[test]
    fn no_changes_says_so() {
        let text = render(&doc(converged())).plain();
        assert_eq!(
            text,
            "Plan for stack dev (stacks/dev.yaml), account 123456789012\n\nNo changes. Live AWS matches the stack.\n"
        );
    }

    #[test]
    fn creation_lists_attributes_and_summary() {
        let text = render(&doc(LiveState::default())).plain();
        assert!(
            text.contains(
                "  + create bucket p-ssm-backup-dev-123456789012-us-east-1 (us-east-1)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "        policy: statements DenyInsecureConnections, DenyUnencryptedObjectUploads, DenyReplacingBackups, DenyRestampingBackups\n"
            ),
            "{text}"
        );
        assert!(text.contains("  + create parameter /jenkins/dev/backup/region-list (us-east-1)\n        type: String\n        value: \"[\\\"us-east-1\\\"]\"\n"), "{text}");
        assert!(
            text.ends_with("Plan: 5 to create, 0 to change, 0 to delete, 0 retained.\n"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour code in the core");
    }

    #[test]
    fn policy_change_is_a_json_diff() {
        let mut live = converged();
        for r in live.resources.values_mut() {
            if let Some(crate::core::model::Resource::Bucket(b)) = r {
                b.policy.as_mut().unwrap()["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }
        }
        let text = render(&doc(live)).plain();
        assert!(text.contains("      ~ policy:\n"), "{text}");
        assert!(
            text.contains("+       \"Sid\": \"DenyRestampingBackups\""),
            "{text}"
        );
        assert!(text.ends_with("Plan: 0 to create, 1 to change, 0 to delete, 0 retained.\n"));
    }

    #[test]
    fn secure_values_are_masked_and_actions_painted() {
        let mut live = converged();
        live.resources.insert(
            ResourceId::parameter("us-east-1", "/jenkins/dev/backup/default-region"),
            Some(crate::core::model::Resource::Parameter(ParameterState {
                kind: ParameterKind::SecureString,
                value: None,
            })),
        );
        let painted = render(&doc(live));
        let text = painted.plain();
        assert!(text.contains("~ value: (sensitive value hidden)"), "{text}");
        assert!(!text.contains('\u{1b}'), "the core holds no colour code");
        let tones: Vec<_> = painted.spans().filter_map(|(t, s)| Some((t?, s))).collect();
        assert!(tones.contains(&(Tone::Change, "~ change")), "{tones:?}");
        assert!(tones.contains(&(Tone::Bold, "Plan for")), "{tones:?}");
    }

    /// A kms stack whose alias moved from `key/pinned` to `key/new`, with an orphan `key/lost`.
    fn moved_alias() -> PlanDocument {
        use crate::core::resource::Resource;
        let mut kms = stack();
        kms.encryption = crate::core::stack::EncryptionMode::Kms;
        let d = desired_state(&kms, "123456789012");
        let arn = |id: &str| format!("arn:aws:kms:us-east-1:123456789012:key/{id}");
        let alias = crate::core::desired::key_alias("p", "dev");
        let alias_arn = crate::core::desired::key_alias_arn("us-east-1", "123456789012", &alias);
        let mut live = LiveState {
            managed_regions: vec!["us-east-1".into()],
            ..Default::default()
        };
        for (id, r) in &d.resources {
            let mut r = r.clone();
            match &mut r {
                Resource::Key(k) => k.arn = Some(arn("new")),
                Resource::Bucket(b) => b.replace_key(&alias_arn, &arn("pinned")),
                Resource::Parameter(_)
                | Resource::Alarm(_)
                | Resource::LogGroup(_)
                | Resource::LogsPolicy(_)
                | Resource::EventRule(_)
                | Resource::Dashboard(_) => {}
            }
            live.resources.insert(id.clone(), Some(r));
        }
        live.tagged_keys = ["pinned", "new", "lost"]
            .map(|id| crate::core::resource::key::TaggedKey {
                region: "us-east-1".into(),
                key_id: id.into(),
                arn: arn(id),
                created: "2026-12-01T10:00:00Z".into(),
                state: "Enabled".into(),
            })
            .to_vec();
        let plan = diff(&d, &live, &DiffOptions::default());
        PlanDocument {
            stack: kms,
            summary: plan.summary(),
            changes: plan.changes,
            warnings: plan.warnings,
            orphan_keys: plan.orphan_keys,
            observed: live,
            ..doc(LiveState::default())
        }
    }

    #[test]
    fn a_replaced_key_names_both_keys_and_an_orphan_its_removal() {
        let doc = moved_alias();
        let text = render(&doc).plain();
        assert!(
            text.starts_with(
                "Plan for stack dev (stacks/dev.yaml), account 123456789012\n\n  ! replace key alias/p-ssm-backup-dev (us-east-1)\n        pinned key (the bucket's default encryption): pinned\n        the key the alias names now:              new\n  ~ change bucket "
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  ? orphan KMS key lost (us-east-1), created 2026-12-01T10:00:00Z\n        tagged for this stack, but neither its alias nor a bucket names it: never used by apply. If no backup is encrypted with it, schedule its deletion:\n        aws kms schedule-key-deletion --region us-east-1 --key-id lost\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Warning: the KMS alias alias/p-ssm-backup-dev (us-east-1) names the key new, not the pinned key pinned"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Plan: 0 to create, 1 to change, 1 to replace, 0 to delete, 0 retained.\n"
            ),
            "{text}"
        );
        let md = crate::core::render::markdown::render(&doc);
        assert!(
            md.contains("| **replace** | key `alias/p-ssm-backup-dev` | us-east-1 | pinned key `pinned` (the bucket's default encryption) -> `new` (the key the alias names now) |"),
            "{md}"
        );
        assert!(
            md.contains("- `lost` (us-east-1), created 2026-12-01T10:00:00Z: `aws kms schedule-key-deletion --region us-east-1 --key-id lost`"),
            "{md}"
        );
        assert!(md.contains("> **Warning:** the KMS alias alias/p-ssm-backup-dev (us-east-1) names the key new, not the pinned key pinned"), "{md}");
        let json: serde_json::Value =
            serde_json::from_str(&crate::core::render::json::render(&doc).unwrap()).unwrap();
        let replace = &json["changes"][0];
        assert_eq!(replace["action"], "replace");
        assert_eq!(
            replace["pinnedKey"],
            "arn:aws:kms:us-east-1:123456789012:key/pinned"
        );
        assert_eq!(
            replace["aliasKey"],
            "arn:aws:kms:us-east-1:123456789012:key/new"
        );
        assert_eq!(json["summary"]["replace"], 1);
        assert_eq!(json["orphanKeys"][0]["keyId"], "lost");
        assert_eq!(json["orphanKeys"][0]["created"], "2026-12-01T10:00:00Z");
        assert!(
            json["warnings"][0]
                .as_str()
                .unwrap()
                .contains("not the pinned key pinned"),
            "{json}"
        );
        // Apply refuses it, unless the plan was made with --accept-key-change.
        let refusal = doc.key_change_refusal().unwrap();
        assert!(
            refusal.contains(
                "alias/p-ssm-backup-dev (us-east-1) names the key new, not the pinned key pinned"
            ) && refusal.contains("apply with --accept-key-change"),
            "{refusal}"
        );
        let accepted = PlanDocument {
            diff_options: DiffOptions {
                accept_key_change: true,
                ..DiffOptions::default()
            },
            ..doc
        };
        assert_eq!(accepted.key_change_refusal(), None);
        // Acceptance is no destroy option: the preview's destroy line stays away.
        assert!(!render(&accepted).plain().contains("Destroy options"));
        // A key these credentials may not read cannot be accepted: its settings are unknown.
        let mut unreadable = accepted;
        for state in unreadable.observed.resources.values_mut() {
            if let Some(Resource::Key(k)) = state {
                *k = KeySettings::unreadable(k.arn.clone().unwrap());
            }
        }
        let refusal = unreadable.key_change_refusal().expect("refused");
        assert!(
            refusal.contains("names the key new, which these credentials may not read (--accept-key-change cannot accept a key whose settings are unknown)"),
            "{refusal}"
        );
    }
}
