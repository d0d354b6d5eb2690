//! `ssm-keeper validate --stack <env>`: the stack file checked offline, exactly as every other
//! command checks it, with no credentials and no AWS call.

use anyhow::Result;
use std::process::ExitCode;

use super::session::Session;
use crate::cli::ValidateArgs;
use crate::shell::printer::Printer;

pub fn run(session: &Session, printer: &Printer, args: ValidateArgs) -> Result<ExitCode> {
    let file = session.load_stack(&args.stack)?;
    let stack = &file.stack;
    printer.out(&format!(
        "{} is valid: environment `{}` of `{}` in {} (home {}).\n",
        file.label,
        stack.environment,
        stack.project_name,
        stack.regions.join(", "),
        stack.ssm_home_region
    ))?;
    for warning in crate::core::stack::warnings(stack) {
        printer.warn(&warning)?;
    }
    Ok(ExitCode::SUCCESS)
}
