//! The plan for humans: one block per change, attribute differences with live and desired
//! values, JSON diffs for documents, and the summary line. Colors only when asked for.

use console::Style;
use std::fmt::{self, Write};

use super::{
    SENSITIVE, inline, is_scalar_change, json_diff, options_line, retained_backups, summary_line,
};
use strum::VariantArray;

use crate::core::plan::{Change, FieldChange, PlanDocument};
use crate::core::resource::{
    AlarmSettings, BucketAttribute, BucketSettings, KeySettings, ParameterKind, Resource,
};

struct Palette {
    create: Style,
    change: Style,
    delete: Style,
    retain: Style,
    dim: Style,
    bold: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        let s = || Style::new().force_styling(color);
        Palette {
            create: s().green(),
            change: s().yellow(),
            delete: s().red(),
            retain: s().cyan(),
            dim: s().dim(),
            bold: s().bold(),
        }
    }
}

pub fn render(doc: &PlanDocument, color: bool) -> String {
    let p = Palette::new(color);
    super::text(|out| write_plan(out, doc, &p))
}

fn write_plan(out: &mut impl Write, doc: &PlanDocument, p: &Palette) -> fmt::Result {
    writeln!(
        out,
        "{} stack {} ({}), account {}\n",
        p.bold.apply_to("Plan for"),
        p.bold.apply_to(&doc.stack.environment),
        doc.stack_file,
        doc.account_id
    )?;
    if let Some(line) = options_line(doc) {
        writeln!(out, "{}\n", p.delete.apply_to(line))?;
    }
    for change in &doc.changes {
        render_change(out, doc, change, p)?;
    }
    for w in &doc.warnings {
        writeln!(out, "{} {w}", p.delete.apply_to("Warning:"))?;
    }
    if !doc.changes.is_empty() || !doc.warnings.is_empty() {
        out.write_char('\n')?;
    }
    writeln!(out, "{}", p.bold.apply_to(summary_line(&doc.summary)))
}

fn render_change(
    out: &mut impl Write,
    doc: &PlanDocument,
    change: &Change,
    p: &Palette,
) -> fmt::Result {
    match change {
        Change::Create { id, desired } => {
            writeln!(out, "  {} {id}", p.create.apply_to("+ create"))?;
            for (attribute, value) in attributes(desired) {
                writeln!(out, "        {attribute}: {value}")?;
            }
        }
        Change::Update { id, fields, .. } => {
            writeln!(out, "  {} {id}", p.change.apply_to("~ change"))?;
            for f in fields {
                render_field(out, f, p)?;
            }
        }
        Change::Delete { id, objects } => {
            write!(out, "  {} {id}", p.delete.apply_to("- delete"))?;
            match objects {
                Some(n) if *n > 0 => writeln!(
                    out,
                    " {}",
                    p.delete.apply_to(format!("and its {n} objects"))
                )?,
                _ => out.write_char('\n')?,
            }
        }
        Change::Retain {
            id,
            reason,
            expires_after_days,
            ..
        } => {
            writeln!(out, "  {} {id}", p.retain.apply_to("= retain"))?;
            writeln!(out, "        {}", p.dim.apply_to(reason))?;
            if let Some(note) = retained_backups(doc, id.kind, *expires_after_days) {
                writeln!(out, "        {}", p.dim.apply_to(note))?;
            }
        }
    }
    Ok(())
}

/// One attribute of an update: masked, `live -> desired` on one line, or a JSON diff.
fn render_field(out: &mut impl Write, f: &FieldChange, p: &Palette) -> fmt::Result {
    if f.sensitive {
        return writeln!(out, "      ~ {}: {SENSITIVE}", f.attribute);
    }
    if is_scalar_change(f) {
        return writeln!(
            out,
            "      ~ {}: {} -> {}",
            f.attribute,
            p.delete.apply_to(inline(&f.live)),
            p.create.apply_to(inline(&f.desired))
        );
    }
    writeln!(out, "      ~ {}:", f.attribute)?;
    for (tag, line) in json_diff(f) {
        let styled = match tag {
            '-' => p.delete.apply_to(format!("- {line}")),
            '+' => p.create.apply_to(format!("+ {line}")),
            _ => p.dim.apply_to(format!("  {line}")),
        };
        writeln!(out, "          {styled}")?;
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
    }
}

fn key_attributes(k: &KeySettings) -> Vec<(&'static str, String)> {
    let statements = k.policy["Statement"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|s| s["Sid"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let tags: Vec<String> = k.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        ("key-description", k.description.clone()),
        (
            "key-rotation",
            if k.rotation { "yearly" } else { "off" }.into(),
        ),
        ("key-policy", format!("statements {statements}")),
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
        let text = render(&doc(with_removed_region()), false);
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
        let text = render(&doc(converged()), false);
        assert_eq!(
            text,
            "Plan for stack dev (stacks/dev.yaml), account 123456789012\n\nNo changes. Live AWS matches the stack.\n"
        );
    }

    #[test]
    fn creation_lists_attributes_and_summary() {
        let text = render(&doc(LiveState::default()), false);
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
        assert!(!text.contains('\u{1b}'), "no color codes when color is off");
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
        let text = render(&doc(live), false);
        assert!(text.contains("      ~ policy:\n"), "{text}");
        assert!(
            text.contains("+       \"Sid\": \"DenyRestampingBackups\""),
            "{text}"
        );
        assert!(text.ends_with("Plan: 0 to create, 1 to change, 0 to delete, 0 retained.\n"));
    }

    #[test]
    fn secure_values_are_masked_and_colors_appear_when_asked() {
        let mut live = converged();
        live.resources.insert(
            ResourceId::parameter("us-east-1", "/jenkins/dev/backup/default-region"),
            Some(crate::core::model::Resource::Parameter(ParameterState {
                kind: ParameterKind::SecureString,
                value: None,
            })),
        );
        let text = render(&doc(live), true);
        assert!(text.contains("~ value: (sensitive value hidden)"), "{text}");
        assert!(text.contains('\u{1b}'));
    }
}
