//! `ssm-keeper show FILE`: a saved plan rendered as `plan` renders it, without any AWS call.

use anyhow::{Context as _, Result};
use std::process::ExitCode;

use super::Session;
use super::plan::render_plan;
use crate::cli::ShowArgs;
use crate::core::plan::read_plan;
use crate::shell::term;

pub fn run(session: &Session, args: ShowArgs) -> Result<ExitCode> {
    let shown = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading the saved plan {shown}"))?;
    let (doc, _) = read_plan(&shown, &text, session.stack_options()).map_err(anyhow::Error::msg)?;
    term::out(&render_plan(&doc, args.format)?)?;
    Ok(ExitCode::SUCCESS)
}
