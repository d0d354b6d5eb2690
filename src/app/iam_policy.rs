//! `ssm-keeper iam-policy`: the least-privilege policy document of a role, scoped to the stack.

use anyhow::{Context as _, Result};
use std::process::ExitCode;

use super::Session;
use crate::cli::IamPolicyArgs;
use crate::core::iam::{Role, policy};
use crate::shell::term;

pub async fn run(session: &Session, args: IamPolicyArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let role = Role::parse(&args.role).context("unknown role")?;
    let account_id = match args.account_id {
        Some(id) => id,
        None => {
            session
                .aws()
                .await?
                .account_id(&stack.ssm_home_region)
                .await?
        }
    };
    let document = policy(&stack, &account_id, role, &args.to_prefix);
    term::out(&(serde_json::to_string_pretty(&document)? + "\n"))?;
    Ok(ExitCode::SUCCESS)
}
