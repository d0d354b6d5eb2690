//! `ssm-keeper completions bash|zsh|fish`: the shell completion script, from the CLI itself.

use anyhow::Result;
use clap::CommandFactory;
use std::process::ExitCode;

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::shell::printer::Printer;

pub fn run(printer: &Printer, args: CompletionsArgs) -> Result<ExitCode> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ssm-keeper", &mut script);
    printer.out(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
