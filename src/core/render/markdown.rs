//! `--format markdown`: the plan as a pull-request comment (a table, then collapsible diffs).

use std::fmt::{self, Write};

use super::{
    ORPHAN_NOTE, SENSITIVE, inline, is_scalar_change, json_diff, options_line, retained_backups,
    summary_line,
};
use crate::core::plan::{Change, FieldChange, PlanDocument, key_id};

pub fn render(doc: &PlanDocument) -> String {
    super::text(|out| write_plan(out, doc))
}

fn write_plan(out: &mut impl Write, doc: &PlanDocument) -> fmt::Result {
    writeln!(
        out,
        "### ssm-keeper plan: `{}` (`{}`)\n\n**{}**\n",
        doc.stack.environment,
        doc.stack_file,
        summary_line(&doc.summary)
    )?;
    if let Some(line) = options_line(doc) {
        writeln!(out, "**{line}**\n")?;
    }
    if !doc.changes.is_empty() {
        write_changes(out, doc)?;
    }
    write_orphans(out, doc)?;
    if !doc.warnings.is_empty() {
        out.write_char('\n')?;
        for w in &doc.warnings {
            writeln!(out, "> **Warning:** {w}")?;
        }
    }
    Ok(())
}

/// The keys tagged for the stack that nothing names, each with the command that removes it.
fn write_orphans(out: &mut impl Write, doc: &PlanDocument) -> fmt::Result {
    if doc.orphan_keys.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n**Orphan KMS keys** ({ORPHAN_NOTE}):\n")?;
    for o in &doc.orphan_keys {
        writeln!(
            out,
            "- `{}` ({}), created {}: `{}`",
            o.key_id,
            o.region,
            o.created,
            o.removal_command()
        )?;
    }
    Ok(())
}

/// The table, then each update's diff.
fn write_changes(out: &mut impl Write, doc: &PlanDocument) -> fmt::Result {
    write_table(out, doc)?;
    for change in &doc.changes {
        if let Change::Update { id, fields, .. } | Change::Replace { id, fields, .. } = change
            && !fields.is_empty()
        {
            writeln!(
                out,
                "\n<details><summary>{} <code>{}</code> ({})</summary>\n\n```diff",
                id.kind.as_str(),
                id.name(),
                id.region()
            )?;
            write_diff(out, fields)?;
            out.write_str("```\n\n</details>\n")?;
        }
    }
    Ok(())
}

/// One row per change.
fn write_table(out: &mut impl Write, doc: &PlanDocument) -> fmt::Result {
    out.write_str("| Action | Resource | Region | Details |\n|---|---|---|---|\n")?;
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
            Change::Replace {
                pinned,
                replacement,
                ..
            } => (
                "**replace**",
                format!(
                    "pinned key `{}` (the bucket's default encryption) -> `{}` (the key the alias names now)",
                    key_id(pinned),
                    key_id(replacement)
                ),
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
                match retained_backups(doc, id.kind, *expires_after_days) {
                    Some(note) => format!("{reason}. {note}"),
                    None => format!("{reason}."),
                },
            ),
        };
        writeln!(
            out,
            "| {action} | {} `{}` | {} | {} |",
            id.kind.as_str(),
            id.name(),
            id.region(),
            details.replace('|', "\\|")
        )?;
    }
    Ok(())
}

/// The lines of an update's ```diff block.
fn write_diff(out: &mut impl Write, fields: &[FieldChange]) -> fmt::Result {
    for f in fields {
        if f.sensitive {
            writeln!(out, "! {}: {SENSITIVE}", f.attribute)?;
        } else if is_scalar_change(f) {
            writeln!(out, "- {}: {}", f.attribute, inline(&f.live))?;
            writeln!(out, "+ {}: {}", f.attribute, inline(&f.desired))?;
        } else {
            writeln!(out, "# {}", f.attribute)?;
            for (tag, line) in json_diff(f) {
                writeln!(out, "{tag} {line}")?;
            }
        }
    }
    Ok(())
}
