//! `ssm-keeper show FILE`: a saved plan rendered as `plan` renders it, without any AWS call.

use anyhow::Result;
use std::process::ExitCode;

use super::plan::print_plan;
use super::session::{Session, read_input_file};
use crate::cli::ShowArgs;
use crate::core::plan::read_plan;
use crate::shell::printer::Printer;

pub fn run(session: &Session, printer: &Printer, args: ShowArgs) -> Result<ExitCode> {
    let shown = args.file.display().to_string();
    let text = String::from_utf8(read_input_file(&args.file, "the saved plan", "")?)
        .map_err(|_| anyhow::anyhow!("{shown} is not a plan saved by `ssm-keeper plan --out`"))?;
    let (doc, _) = read_plan(&shown, &text, session.stack_options()).map_err(anyhow::Error::msg)?;
    print_plan(printer, &doc, args.format)?;
    Ok(ExitCode::SUCCESS)
}
