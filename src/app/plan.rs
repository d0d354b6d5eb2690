//! `ssm-keeper plan`: observe, diff, render; optionally save the plan.

use anyhow::{Context as _, Result, bail};
use std::process::ExitCode;

use super::session::{Session, StackFile};
use crate::cli::{Format, PlanArgs, RemovalArgs};
use crate::core::desired::desired_state;
use crate::core::diff::{diff, refusal};
use crate::core::plan::DiffOptions;
use crate::core::plan::{PLAN_FORMAT_VERSION, PlanDocument};
use crate::core::render;
use crate::shell::observe::observe;
use crate::shell::printer::Printer;

pub fn diff_options(removal: &RemovalArgs, accept_key_change: bool) -> DiffOptions {
    DiffOptions {
        destroy_removed_buckets: removal.destroy_removed_buckets,
        destroy_bucket_objects: removal.destroy_bucket_objects,
        destroy_removed_keys: removal.destroy_removed_keys,
        destroy_removed_journals: removal.destroy_removed_journals,
        accept_key_change,
    }
}

/// Observes live AWS and computes the plan for a stack.
pub async fn compute_plan(
    session: &Session,
    file: &StackFile,
    options: &DiffOptions,
) -> Result<PlanDocument> {
    let stack = &file.stack;
    let aws = session.aws().await?;
    let account_id = aws.account_id(&stack.ssm_home_region).await?;
    let desired = desired_state(stack, &account_id);
    let live = observe(aws, &desired).await?;
    if let Some(refusal) = refusal(&desired, &live) {
        bail!("{refusal}");
    }
    let plan = diff(&desired, &live, options);
    Ok(PlanDocument {
        format_version: PLAN_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stack_file: file.label.clone(),
        stack_sha256: file.sha256.clone(),
        stack: stack.clone(),
        account_id,
        created_at: time::OffsetDateTime::now_utc(),
        diff_options: *options,
        summary: plan.summary(),
        changes: plan.changes,
        warnings: plan.warnings,
        orphan_keys: plan.orphan_keys,
        observed: live,
    })
}

/// A plan on stdout, in the format asked for (the text coloured as the printer says).
pub fn print_plan(printer: &Printer, doc: &PlanDocument, format: Format) -> Result<()> {
    match format {
        Format::Text => printer.painted(&render::text::render(doc)),
        Format::Json => printer.out(&render::json::render(doc)?),
        Format::Markdown => printer.out(&render::markdown::render(doc)),
    }
}

pub async fn run(session: &Session, printer: &Printer, args: PlanArgs) -> Result<ExitCode> {
    let file = session.load_stack(&args.stack)?;
    let doc = compute_plan(
        session,
        &file,
        &diff_options(&args.removal, args.accept_key_change),
    )
    .await?;
    if let Some(path) = &args.out {
        std::fs::write(path, render::json::render(&doc)?)
            .with_context(|| format!("saving the plan to {}", path.display()))?;
    }
    print_plan(printer, &doc, args.format)?;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::model::LiveState;
    use crate::shell::printer::Input;

    /// The plan of the sample stack (us-east-1) against `live`.
    pub(crate) fn plan_of(live: LiveState) -> PlanDocument {
        let stack = crate::core::stack::sample(&["us-east-1"]);
        let desired = desired_state(&stack, "123456789012");
        let plan = diff(&desired, &live, &DiffOptions::default());
        PlanDocument {
            format_version: PLAN_FORMAT_VERSION,
            tool_version: "test".into(),
            stack_file: "stacks/dev.yaml".into(),
            stack_sha256: "0".repeat(64),
            stack,
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

    #[test]
    fn the_plan_text_goes_to_stdout_without_colour_off_a_terminal() {
        let (printer, out, err) = Printer::buffered(Input::None);
        print_plan(&printer, &plan_of(LiveState::default()), Format::Text).unwrap();
        let text = out.text();
        assert!(
            text.starts_with(
                "Plan for stack dev (stacks/dev.yaml), account 123456789012\n\n  + create bucket p-ssm-backup-dev-123456789012-us-east-1 (us-east-1)\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("\nPlan: 5 to create, 0 to change, 0 to delete, 0 retained.\n"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "{text}");
        assert_eq!(err.text(), "");
    }

    #[test]
    fn every_format_is_printed_as_rendered() {
        let doc = plan_of(LiveState::default());
        for (format, rendered) in [
            (Format::Text, render::text::render(&doc).plain()),
            (Format::Json, render::json::render(&doc).unwrap()),
            (Format::Markdown, render::markdown::render(&doc)),
        ] {
            let (printer, out, _) = Printer::buffered(Input::None);
            print_plan(&printer, &doc, format).unwrap();
            assert_eq!(out.text(), rendered);
        }
    }
}
