//! `ssm-keeper plan`: observe, diff, render; optionally save the plan.

use anyhow::{Context as _, Result};
use std::process::ExitCode;

use super::{Session, compute_plan};
use crate::cli::{Format, PlanArgs, RemovalArgs};
use crate::core::diff::DiffOptions;
use crate::core::plan::PlanDocument;
use crate::core::render;
use crate::shell::printer::Printer;

pub fn diff_options(removal: &RemovalArgs) -> DiffOptions {
    DiffOptions {
        destroy_removed_buckets: removal.destroy_removed_buckets,
        destroy_bucket_objects: removal.destroy_bucket_objects,
    }
}

/// A plan in the format asked for (the text colored if `color`).
pub fn render_plan(doc: &PlanDocument, format: Format, color: bool) -> Result<String> {
    Ok(match format {
        Format::Text => render::text::render(doc, color),
        Format::Json => render::json::render(doc)?,
        Format::Markdown => render::markdown::render(doc),
    })
}

pub async fn run(session: &Session, printer: &Printer, args: PlanArgs) -> Result<ExitCode> {
    let file = session.load_stack(&args.stack)?;
    let doc = compute_plan(session, &file, &diff_options(&args.removal)).await?;
    if let Some(path) = &args.out {
        std::fs::write(path, render::json::render(&doc)?)
            .with_context(|| format!("saving the plan to {}", path.display()))?;
    }
    printer.out(&render_plan(&doc, args.format, printer.color())?)?;
    if let Some(path) = &args.out {
        printer.status(&format!(
            "Plan saved to {}; apply it with `ssm-keeper apply --plan {}`.",
            path.display(),
            path.display()
        ))?;
    }
    Ok(if args.detailed_exitcode && doc.summary.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
