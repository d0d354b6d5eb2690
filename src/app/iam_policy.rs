//! `ssm-keeper iam-policy`: the least-privilege policy document of a role, scoped to the stack.

use anyhow::{Result, bail};
use std::process::ExitCode;

use super::session::Session;
use crate::cli::IamPolicyArgs;
use crate::core::iam::{Role, policy};
use crate::core::selection::forbidden_target;
use crate::shell::printer::Printer;

pub async fn run(session: &Session, printer: &Printer, args: IamPolicyArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let role = args.role;
    if !args.to_prefix.is_empty() && role != Role::Restore {
        bail!(
            "--to-prefix widens only the restore role (a drill's target path); --role {} never writes there",
            role.as_str()
        );
    }
    for prefix in &args.to_prefix {
        if let Some(why) = forbidden_target(prefix) {
            bail!("--to-prefix: {why}");
        }
    }
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
    printer.out(&(serde_json::to_string_pretty(&document)? + "\n"))?;
    Ok(ExitCode::SUCCESS)
}
