//! `ssm-keeper apply`: compute (or load a saved) plan, show it, confirm, execute.

use anyhow::{Context as _, Result, bail};
use std::process::ExitCode;

use super::plan::diff_options;
use super::{Session, cancelled, compute_plan, confirm, load_stack};
use crate::cli::ApplyArgs;
use crate::core::desired::desired_state;
use crate::core::diff::{diff, foreign_owner};
use crate::core::plan::{PlanDocument, claim_mismatch, moved, read_plan};
use crate::core::render;
use crate::core::stack::Stack;
use crate::shell::interrupt::Interrupt;
use crate::shell::{apply::apply, lock, observe::observe, term};

pub async fn run(session: &Session, args: ApplyArgs) -> Result<ExitCode> {
    // Input first: the stack file, or the saved plan's format and stack, before any AWS call.
    let source = match (&args.plan, &args.stack) {
        (Some(path), _) => Source::Saved(Box::new(read_saved_plan(path)?)),
        (None, Some(stack)) => Source::Stack(load_stack(stack)?),
        (None, None) => bail!("name a stack (--stack) or a saved plan (--plan)"),
    };
    let interrupt = Interrupt::listen()?;
    let stack = source.stack();
    let aws = session.aws().await?;
    let log = |line: &str| term::err(&format!("{line}\n"));
    let acquire = lock::acquire(
        aws,
        &stack.ssm_home_region,
        &stack.environment,
        "apply",
        args.lock_timeout,
        &log,
    );
    let lock = tokio::select! {
        lock = acquire => lock?,
        signal = interrupt.wait() => return Ok(cancelled("Apply", signal)),
    };
    let result = plan_and_apply(session, &args, source, &interrupt).await;
    if let Err(e) = lock.release().await {
        log(&format!(
            "WARNING: the lock was not released (it expires by itself): {e:#}"
        ));
    }
    result
}

/// Where the plan comes from: the stack file, or a saved plan (with its validated stack).
enum Source {
    Stack((String, Stack)),
    Saved(Box<SavedPlan>),
}

impl Source {
    fn stack(&self) -> &Stack {
        match self {
            Source::Stack((_, stack)) => stack,
            Source::Saved(saved) => &saved.stack,
        }
    }
}

/// Plans (or checks the saved plan), shows it, confirms and executes it, under the lock.
async fn plan_and_apply(
    session: &Session,
    args: &ApplyArgs,
    source: Source,
    interrupt: &Interrupt,
) -> Result<ExitCode> {
    let planned = async {
        match source {
            Source::Saved(saved) => check_saved_plan(session, *saved).await,
            Source::Stack((file, stack)) => {
                compute_plan(session, &file, &stack, &diff_options(&args.removal)).await
            }
        }
    };
    let doc = tokio::select! {
        doc = planned => doc?,
        signal = interrupt.wait() => return Ok(cancelled("Apply", signal)),
    };
    term::out(&render::text::render(&doc, term::stdout_color()))?;
    if !doc.summary.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve
        && let Some(code) = confirm("Apply", interrupt).await?
    {
        return Ok(code);
    }
    let aws = session.aws().await?;
    term::out("\n")?;
    let on_step = |line: &str| {
        let _ = term::out(&format!("  {line}\n"));
    };
    let report = apply(
        aws,
        &doc.plan(),
        &doc.stack.environment,
        interrupt,
        &on_step,
    )
    .await;
    let total = report.done.len() + report.failed.len() + report.skipped.len();
    if let Some(signal) = report.interrupted {
        term::err(&format!(
            "\nInterrupted by {}: stopped after {} of {total} changes (the steps in flight finished; {} failed, {} not started). Run apply again to finish: every step is idempotent.\n",
            signal.name(),
            report.done.len(),
            report.failed.len(),
            report.skipped.len()
        ));
        return Ok(ExitCode::from(signal.exit_code()));
    }
    if !report.failed.is_empty() {
        let failures: Vec<String> = report.failed.iter().map(|f| format!("  - {f}")).collect();
        bail!(
            "{} of {total} changes failed; fix the cause and run apply again (it picks up where this run stopped):\n{}",
            report.failed.len(),
            failures.join("\n")
        );
    }
    term::out(&format!(
        "Apply complete: {} changes made.\n",
        report.done.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// A saved plan as read from its file: format checked, stack validated; nothing observed yet.
struct SavedPlan {
    path: std::path::PathBuf,
    stack: Stack,
    doc: PlanDocument,
}

fn read_saved_plan(path: &std::path::Path) -> Result<SavedPlan> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading the saved plan {shown}"))?;
    let (doc, stack) = read_plan(&shown, &text).map_err(anyhow::Error::msg)?;
    Ok(SavedPlan {
        path: path.to_path_buf(),
        stack,
        doc,
    })
}

/// A saved plan, only if it is exactly what its stack and live AWS call for now: the diff is
/// recomputed from the validated saved stack (with the saved options) and a fresh observation,
/// and it must equal the saved changes. A plan is a claim, not a program.
async fn check_saved_plan(session: &Session, saved: SavedPlan) -> Result<PlanDocument> {
    let SavedPlan { path, stack, doc } = saved;
    let shown = path.display();
    let aws = session.aws().await?;
    let account_id = aws.account_id(&stack.ssm_home_region).await?;
    if account_id != doc.account_id {
        bail!(
            "the saved plan {shown} is for account {}, but the credentials are for account {account_id}",
            doc.account_id
        );
    }
    let desired = desired_state(&stack, &account_id);
    let now = observe(aws, &desired).await?;
    if let Some(refusal) = foreign_owner(&desired, &now) {
        bail!("{refusal}");
    }
    let moved = moved(&doc.observed, &now);
    if !moved.is_empty() {
        bail!(
            "the saved plan {shown} is stale: live AWS changed since it was made, so it was not applied:\n  - {}\nRun `ssm-keeper plan` again and review the new plan.",
            moved.join("\n  - ")
        );
    }
    let plan = diff(&desired, &now, &doc.diff_options);
    let mismatch = claim_mismatch(&doc.changes, &plan.changes);
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
        ..doc
    })
}
