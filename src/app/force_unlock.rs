//! `ssm-keeper force-unlock`: remove the lock of an environment whose run is gone, by its ID.

use anyhow::Result;
use std::process::ExitCode;

use super::Session;
use crate::cli::ForceUnlockArgs;
use crate::shell::{lock, term};

pub async fn run(session: &Session, args: ForceUnlockArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let aws = session.aws().await?;
    let held = lock::force_unlock(
        aws,
        &stack.ssm_home_region,
        &stack.environment,
        &args.lock_id,
    )
    .await?;
    term::out(&format!(
        "Removed the lock {} of `{}` (held by {} on {}, pid {}, `ssm-keeper {}`).\n",
        held.id, stack.environment, held.who, held.host, held.pid, held.command
    ))?;
    Ok(ExitCode::SUCCESS)
}
