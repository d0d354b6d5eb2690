//! `ssm-keeper force-unlock`: remove the lock of an environment whose run is gone, by its ID,
//! after showing it and asking on a terminal (`--force` without one).

use anyhow::Result;
use std::process::ExitCode;

use super::prompt::ask;
use super::session::Session;
use crate::cli::ForceUnlockArgs;
use crate::shell::interrupt::Interrupt;
use crate::shell::lock;
use crate::shell::printer::Printer;

pub async fn run(session: &Session, printer: &Printer, args: ForceUnlockArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let interrupt = Interrupt::listen(printer)?;
    let aws = session.aws().await?;
    let (region, env) = (&stack.ssm_home_region, &stack.environment);
    let held = lock::find_lock(aws, region, env, &args.lock_id).await?;
    printer.status(&held.holder(env))?;
    if !args.force
        && let Some(code) = ask(
            printer,
            "Remove this lock? If its run is still going, two runs will write at once.".into(),
            "Force-unlock",
            "refusing to remove the lock without a terminal to confirm on: check that its run is gone, then pass --force",
            &interrupt,
        )
        .await?
    {
        return Ok(code);
    }
    lock::force_unlock(aws, region, env, &args.lock_id).await?;
    printer.out(&format!(
        "Removed the lock {} of `{env}` (held by {} on {}, pid {}, `ssm-keeper {}`).\n",
        held.id, held.who, held.host, held.pid, held.command
    ))?;
    Ok(ExitCode::SUCCESS)
}
