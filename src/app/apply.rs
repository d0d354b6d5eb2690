//! `ssm-keeper apply`: compute (or load a saved) plan, show it, confirm, execute.

use anyhow::{Context as _, Result, bail};
use std::process::ExitCode;

use super::plan::{compute_plan, diff_options, print_plan};
use super::prompt::{cancelled, confirm};
use super::session::{Session, StackFile, read_input_file, read_stack_file, stack_path};
use crate::cli::{ApplyArgs, Format};
use crate::core::desired::desired_state;
use crate::core::diff::{diff, refusal};
use crate::core::plan::{
    PlanDocument, binding_mismatch, claim_mismatch, fresh_plan_command, moved, read_plan,
};
use crate::core::stack::Stack;
use crate::shell::apply::{ApplyReport, apply};
use crate::shell::interrupt::Interrupt;
use crate::shell::lock::{Guard, LockRequest, LockWatch, Locked};
use crate::shell::observe::observe;
use crate::shell::printer::Printer;

pub async fn run(session: &Session, printer: &Printer, args: ApplyArgs) -> Result<ExitCode> {
    // Input first: the stack file, or the saved plan's format and stack, before any AWS call.
    let source = match (&args.plan, &args.stack) {
        (Some(path), stack) => {
            Source::Saved(Box::new(read_saved_plan(session, path, stack.as_deref())?))
        }
        (None, Some(stack)) => Source::Stack(Box::new(session.load_stack(stack)?)),
        (None, None) => bail!("name a stack (--stack) or a saved plan (--plan)"),
    };
    let interrupt = Interrupt::listen(printer)?;
    let stack = source.stack();
    let aws = session.aws().await?;
    let request = LockRequest {
        region: &stack.ssm_home_region,
        environment: &stack.environment,
        command: "apply",
        wait: args.lock_timeout,
    };
    let guard = match Guard::acquire(aws, &request, &interrupt, printer).await? {
        Locked::Held(guard) => guard,
        Locked::Interrupted(signal) => return cancelled(printer, "Apply", signal),
    };
    let watch = guard.watch();
    guard
        .hold(plan_and_apply(
            session, printer, &args, source, &interrupt, &watch,
        ))
        .await
}

/// Where the plan comes from: the stack file, or a saved plan (with the stack file it is bound
/// to).
enum Source {
    Stack(Box<StackFile>),
    Saved(Box<SavedPlan>),
}

impl Source {
    fn stack(&self) -> &Stack {
        match self {
            Source::Stack(file) => &file.stack,
            Source::Saved(saved) => &saved.stack,
        }
    }
}

/// Plans (or checks the saved plan), shows it, confirms and executes it, under the lock.
async fn plan_and_apply(
    session: &Session,
    printer: &Printer,
    args: &ApplyArgs,
    source: Source,
    interrupt: &Interrupt,
    lock: &LockWatch,
) -> Result<ExitCode> {
    let planned = async {
        match source {
            Source::Saved(saved) => check_saved_plan(session, *saved).await,
            Source::Stack(file) => {
                let options = diff_options(&args.removal, args.accept_key_change);
                compute_plan(session, &file, &options).await
            }
        }
    };
    let doc = tokio::select! {
        doc = planned => doc?,
        signal = interrupt.wait() => return cancelled(printer, "Apply", signal),
    };
    print_plan(printer, &doc, Format::Text)?;
    if let Some(refusal) = doc.key_change_refusal() {
        bail!("{refusal}");
    }
    if !doc.summary.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve
        && let Some(code) = confirm(printer, "Apply", interrupt).await?
    {
        return Ok(code);
    }
    let aws = session.aws().await?;
    printer.out("\n")?;
    let report = apply(
        aws,
        &doc.plan(),
        &doc.stack.environment,
        interrupt,
        lock,
        printer,
    )
    .await;
    finish(printer, &report)
}

/// How the apply ended: complete, interrupted, stopped by the lost lock, or with failures.
fn finish(printer: &Printer, report: &ApplyReport) -> Result<ExitCode> {
    let total = report.done.len() + report.failed.len() + report.skipped.len();
    if let Some(signal) = report.interrupted {
        printer.status(&format!(
            "\nInterrupted by {}: stopped after {} of {total} changes (the steps in flight finished; {} failed, {} not started). Run apply again to finish: every step is idempotent.",
            signal.name(),
            report.done.len(),
            report.failed.len(),
            report.skipped.len()
        ))?;
        return Ok(ExitCode::from(signal.exit_code()));
    }
    if let Some(why) = &report.lock_lost {
        bail!(
            "stopped after {} of {total} changes (the steps in flight finished; {} not started): {why}",
            report.done.len(),
            report.skipped.len()
        );
    }
    if !report.failed.is_empty() {
        let failures: Vec<String> = report.failed.iter().map(|f| format!("  - {f}")).collect();
        bail!(
            "{} of {total} changes failed; fix the cause and run apply again (it picks up where this run stopped):\n{}",
            report.failed.len(),
            failures.join("\n")
        );
    }
    printer.out(&format!(
        "Apply complete: {} changes made.\n",
        report.done.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// A saved plan as read from its file: format checked, bound to the stack file it names (byte
/// for byte), that stack validated; nothing observed yet.
struct SavedPlan {
    path: std::path::PathBuf,
    stack: Stack,
    doc: PlanDocument,
}

fn read_saved_plan(
    session: &Session,
    path: &std::path::Path,
    stack_arg: Option<&str>,
) -> Result<SavedPlan> {
    let shown = path.display().to_string();
    let text = String::from_utf8(read_input_file(path, "the saved plan", "")?)
        .map_err(|_| anyhow::anyhow!("{shown} is not a plan saved by `ssm-keeper plan --out`"))?;
    let (doc, saved) =
        read_plan(&shown, &text, session.stack_options()).map_err(anyhow::Error::msg)?;
    let named = std::path::PathBuf::from(&doc.stack_file);
    let fresh = fresh_plan_command(&doc, &shown);
    if let Some(arg) = stack_arg
        && !same_path(&stack_path(arg), &named)
    {
        bail!(
            "--stack {arg} is not the stack file the saved plan {shown} was made from ({}); apply a plan of {arg} made with:\n  {}",
            doc.stack_file,
            fresh_plan_command(
                &PlanDocument {
                    stack_file: stack_path(arg).display().to_string(),
                    ..doc.clone()
                },
                &shown
            )
        );
    }
    let file = read_stack_file(&named, session.stack_options()).with_context(|| {
        format!(
            "the saved plan {shown} was made from {}, which must be here unchanged to apply it",
            doc.stack_file
        )
    })?;
    if let Some(why) = binding_mismatch(&doc, &saved, &file.sha256, &file.stack) {
        bail!(
            "the saved plan {shown} was not applied: {why}. Make a fresh plan of the file as it is now, review it, and apply that:\n  {fresh}"
        );
    }
    Ok(SavedPlan {
        path: path.to_path_buf(),
        stack: file.stack,
        doc,
    })
}

/// Whether two paths name the same file (`./stacks/dev.yaml` is `stacks/dev.yaml`).
fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.components().eq(b.components()),
    }
}

/// A saved plan, only if it is exactly what its stack and live AWS call for now: the diff is
/// recomputed from the validated saved stack (with the saved options) and a fresh observation,
/// and it must equal the saved changes. A plan is a claim, not a program.
async fn check_saved_plan(session: &Session, saved: SavedPlan) -> Result<PlanDocument> {
    let SavedPlan { path, stack, doc } = saved;
    let shown = path.display();
    let fresh = fresh_plan_command(&doc, &shown.to_string());
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
    if let Some(refusal) = refusal(&desired, &now) {
        bail!("{refusal}");
    }
    let moved = moved(&doc.observed, &now);
    if !moved.is_empty() {
        bail!(
            "the saved plan {shown} is stale: live AWS changed since it was made, so it was not applied:\n  - {}\nMake a fresh plan, review it, and apply that:\n  {fresh}",
            moved.join("\n  - ")
        );
    }
    let plan = diff(&desired, &now, &doc.diff_options);
    let mismatch = claim_mismatch(&doc.changes, &plan.changes);
    if !mismatch.is_empty() {
        bail!(
            "the saved plan {shown} does not match what its stack calls for against live AWS (was it edited?), so it was not applied:\n  - {}\nMake a fresh plan, review it, and apply that:\n  {fresh}",
            mismatch.join("\n  - ")
        );
    }
    Ok(PlanDocument {
        stack,
        summary: plan.summary(),
        changes: plan.changes,
        warnings: plan.warnings,
        orphan_keys: plan.orphan_keys,
        observed: now,
        ..doc
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::interrupt::Signal;
    use crate::shell::printer::Input;

    #[test]
    fn each_step_is_a_line_and_the_end_says_how_many_changes_were_made() {
        let (printer, out, err) = Printer::buffered(Input::None);
        printer.step("done     created bucket b (us-east-1)");
        printer.step("done     put parameter /jenkins/dev/backup/region-list (us-east-1)");
        let report = ApplyReport {
            done: vec!["b".into(), "p".into()],
            ..Default::default()
        };
        assert_eq!(finish(&printer, &report).unwrap(), ExitCode::SUCCESS);
        assert_eq!(
            out.text(),
            "  done     created bucket b (us-east-1)\n  done     put parameter /jenkins/dev/backup/region-list (us-east-1)\nApply complete: 2 changes made.\n"
        );
        assert_eq!(err.text(), "");
    }

    #[test]
    fn an_interrupted_apply_says_where_it_stopped_and_exits_by_the_signal() {
        let (printer, out, err) = Printer::buffered(Input::None);
        let report = ApplyReport {
            done: vec!["b".into()],
            failed: vec!["c".into()],
            skipped: vec!["d".into(), "e".into()],
            interrupted: Some(Signal::Interrupt),
            lock_lost: None,
        };
        assert_eq!(finish(&printer, &report).unwrap(), ExitCode::from(130));
        assert_eq!(out.text(), "");
        assert_eq!(
            err.text(),
            "\nInterrupted by SIGINT: stopped after 1 of 4 changes (the steps in flight finished; 1 failed, 2 not started). Run apply again to finish: every step is idempotent.\n"
        );
    }

    #[test]
    fn failed_steps_are_the_error_each_on_its_line() {
        let (printer, out, _) = Printer::buffered(Input::None);
        let report = ApplyReport {
            done: vec!["b".into()],
            failed: vec!["put x: denied".into()],
            ..Default::default()
        };
        let e = finish(&printer, &report).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 of 2 changes failed; fix the cause and run apply again (it picks up where this run stopped):\n  - put x: denied"
        );
        assert_eq!(out.text(), "");
    }
}
