//! `ssm-keeper apply`: compute (or load a saved) plan, show it, confirm, execute.

use anyhow::{Context as _, Result, bail};
use std::process::ExitCode;

use super::plan::diff_options;
use super::{Context, compute_plan, load_stack};
use crate::cli::ApplyArgs;
use crate::core::desired::desired_state;
use crate::core::plan::{PLAN_FORMAT_VERSION, PlanDocument, moved};
use crate::core::render;
use crate::shell::{apply::apply, observe::observe, term};

pub async fn run(ctx: &Context, args: ApplyArgs) -> Result<ExitCode> {
    let doc = match (&args.plan, &args.stack) {
        (Some(path), _) => load_saved_plan(ctx, path).await?,
        (None, Some(stack)) => {
            let (file, stack) = load_stack(stack)?;
            compute_plan(ctx, &file, &stack, &diff_options(&args.removal)).await?
        }
        (None, None) => bail!("name a stack (--stack) or a saved plan (--plan)"),
    };
    term::out(&render::text::render(&doc, term::stdout_color()))?;
    if !doc.summary.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve && !term::confirm("\nApply these changes?")? {
        term::err("Apply cancelled; nothing was changed.\n");
        return Ok(ExitCode::from(1));
    }
    let aws = ctx.aws().await?;
    term::out("\n")?;
    let on_step = |line: &str| {
        let _ = term::out(&format!("  {line}\n"));
    };
    let report = apply(aws, &doc.plan(), &doc.stack.environment, &on_step).await;
    if !report.failed.is_empty() {
        let failures: Vec<String> = report.failed.iter().map(|f| format!("  - {f}")).collect();
        bail!(
            "{} of {} changes failed; fix the cause and run apply again (it picks up where this run stopped):\n{}",
            report.failed.len(),
            report.done.len() + report.failed.len() + report.skipped.len(),
            failures.join("\n")
        );
    }
    term::out(&format!(
        "Apply complete: {} changes made.\n",
        report.done.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// A saved plan, if live AWS still is what it was computed from.
async fn load_saved_plan(ctx: &Context, path: &std::path::Path) -> Result<PlanDocument> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the saved plan {}", path.display()))?;
    let doc: PlanDocument = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan saved by `ssm-keeper plan --out`",
            path.display()
        )
    })?;
    if doc.format_version != PLAN_FORMAT_VERSION {
        bail!(
            "{} has plan format {}, this ssm-keeper reads format {PLAN_FORMAT_VERSION}: plan again",
            path.display(),
            doc.format_version
        );
    }
    let aws = ctx.aws().await?;
    let account_id = aws.account_id(&doc.stack.ssm_home_region).await?;
    if account_id != doc.account_id {
        bail!(
            "the saved plan {} is for account {}, but the credentials are for account {account_id}",
            path.display(),
            doc.account_id
        );
    }
    let now = observe(aws, &desired_state(&doc.stack, &account_id)).await?;
    let moved = moved(&doc.observed, &now);
    if !moved.is_empty() {
        bail!(
            "the saved plan {} is stale: live AWS changed since it was made, so it was not applied:\n  - {}\nRun `ssm-keeper plan` again and review the new plan.",
            path.display(),
            moved.join("\n  - ")
        );
    }
    Ok(doc)
}
