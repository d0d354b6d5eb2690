//! `--format markdown`: the plan as a pull-request comment (a table, then collapsible diffs).

use std::fmt::Write;

use super::{
    SENSITIVE, inline, is_scalar_change, json_diff, options_line, retained_backups, summary_line,
};
use crate::core::plan::{Change, PlanDocument};

pub fn render(doc: &PlanDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### ssm-keeper plan: `{}` (`{}`)\n\n**{}**\n",
        doc.stack.environment,
        doc.stack_file,
        summary_line(&doc.summary)
    );
    if let Some(line) = options_line(doc) {
        let _ = writeln!(out, "**{line}**\n");
    }
    if doc.changes.is_empty() {
        return out;
    }
    out.push_str("| Action | Resource | Region | Details |\n|---|---|---|---|\n");
    for change in &doc.changes {
        let id = change.id();
        let (action, details) = match change {
            Change::Create { .. } => ("create", String::new()),
            Change::Update { fields, .. } => (
                "change",
                fields
                    .iter()
                    .map(|f| format!("`{}`", f.attribute))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Change::Delete { objects, .. } => (
                "**delete**",
                objects
                    .filter(|n| *n > 0)
                    .map(|n| format!("destroys {n} objects"))
                    .unwrap_or_default(),
            ),
            Change::Retain {
                reason,
                expires_after_days,
                ..
            } => (
                "retain",
                format!("{reason}. {}", retained_backups(doc, *expires_after_days)),
            ),
        };
        let _ = writeln!(
            out,
            "| {action} | {} `{}` | {} | {} |",
            id.kind(),
            id.name(),
            id.region(),
            details.replace('|', "\\|")
        );
    }
    for change in &doc.changes {
        let Change::Update { id, fields, .. } = change else {
            continue;
        };
        let _ = writeln!(
            out,
            "\n<details><summary>{} <code>{}</code> ({})</summary>\n\n```diff",
            id.kind(),
            id.name(),
            id.region()
        );
        for f in fields {
            if f.sensitive {
                let _ = writeln!(out, "! {}: {SENSITIVE}", f.attribute);
            } else if is_scalar_change(f) {
                let _ = writeln!(out, "- {}: {}", f.attribute, inline(&f.live));
                let _ = writeln!(out, "+ {}: {}", f.attribute, inline(&f.desired));
            } else {
                let _ = writeln!(out, "# {}", f.attribute);
                for (tag, line) in json_diff(f) {
                    let _ = writeln!(out, "{tag} {line}");
                }
            }
        }
        out.push_str("```\n\n</details>\n");
    }
    if !doc.warnings.is_empty() {
        out.push('\n');
        for w in &doc.warnings {
            let _ = writeln!(out, "> **Warning:** {w}");
        }
    }
    out
}
