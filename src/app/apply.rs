//! `ssm-keeper apply`: compute (or load a saved) plan, show it, confirm, execute.

use anyhow::{Context as _, Result, bail};
use std::process::ExitCode;

use super::plan::diff_options;
use super::{Context, compute_plan, load_stack};
use crate::cli::ApplyArgs;
use crate::core::desired::desired_state;
use crate::core::diff::diff;
use crate::core::plan::{PLAN_FORMAT_VERSION, PlanDocument, claim_mismatch, moved};
use crate::core::render;
use crate::core::stack;
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

/// A saved plan, only if it is exactly what its stack and live AWS call for now: the saved
/// stack is validated as a stack file, the diff recomputed from it (with the saved options) and
/// a fresh observation, and it must equal the saved changes. A plan is a claim, not a program.
async fn load_saved_plan(ctx: &Context, path: &std::path::Path) -> Result<PlanDocument> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading the saved plan {shown}"))?;
    let not_a_plan = || format!("{shown} is not a plan saved by `ssm-keeper plan --out`");
    let value: serde_json::Value = serde_json::from_str(&text).with_context(not_a_plan)?;
    let version = value.get("formatVersion").and_then(|v| v.as_u64());
    if version != Some(u64::from(PLAN_FORMAT_VERSION)) {
        bail!(
            "{shown} has plan format {}, this ssm-keeper reads format {PLAN_FORMAT_VERSION}: plan again",
            version.map_or("(none)".to_string(), |v| v.to_string())
        );
    }
    let saved: PlanDocument = serde_json::from_value(value).with_context(not_a_plan)?;
    let stack = stack::parse(
        &format!("the stack saved in {shown}"),
        &serde_json::to_string(&saved.stack)?,
    )?;

    let aws = ctx.aws().await?;
    let account_id = aws.account_id(&stack.ssm_home_region).await?;
    if account_id != saved.account_id {
        bail!(
            "the saved plan {shown} is for account {}, but the credentials are for account {account_id}",
            saved.account_id
        );
    }
    let desired = desired_state(&stack, &account_id);
    let now = observe(aws, &desired).await?;
    let moved = moved(&saved.observed, &now);
    if !moved.is_empty() {
        bail!(
            "the saved plan {shown} is stale: live AWS changed since it was made, so it was not applied:\n  - {}\nRun `ssm-keeper plan` again and review the new plan.",
            moved.join("\n  - ")
        );
    }
    let plan = diff(&desired, &now, &saved.diff_options);
    let mismatch = claim_mismatch(&saved.changes, &plan.changes);
    if !mismatch.is_empty() {
        bail!(
            "the saved plan {shown} does not match what its stack calls for against live AWS (was it edited?), so it was not applied:\n  - {}\nRun `ssm-keeper plan` again and review the new plan.",
            mismatch.join("\n  - ")
        );
    }
    Ok(PlanDocument {
        stack,
        summary: plan.summary(),
        changes: plan.changes,
        warnings: plan.warnings,
        observed: now,
        ..saved
    })
}
