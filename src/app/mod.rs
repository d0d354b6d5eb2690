//! Commands: flags -> options -> core and shell calls, one file per command. This module only
//! routes; what commands share is in `session` and `prompt`, what a run's end explains in
//! `explain`.

pub mod apply;
pub mod backup;
pub mod changes;
pub mod completions;
pub mod drill;
mod explain;
pub mod force_unlock;
pub mod iam_policy;
pub mod outputs;
pub mod plan;
pub mod prompt;
pub mod restore;
mod restore_at;
pub mod session;
pub mod show;
pub mod snapshots;
pub mod validate;
pub mod verify;

use anyhow::Result;
use std::process::ExitCode;

use crate::cli::{Cli, Commands};
use crate::shell::printer::Printer;
use session::Session;

/// Runs the command of `cli`, its output through `printer`.
pub async fn run(printer: &Printer, cli: Cli) -> Result<ExitCode> {
    let session = Session::of(&cli);
    crate::shell::lock::set_renew_every(cli.lock_renew_every);
    let context = explain::command_context(&cli.command);
    tracing::info!(stack = %context.1, role = ?context.0, "starting");
    let result = match cli.command {
        Commands::Plan(args) => plan::run(&session, printer, args).await,
        Commands::Apply(args) => apply::run(&session, printer, args).await,
        Commands::Show(args) => show::run(&session, printer, args),
        Commands::Validate(args) => validate::run(&session, printer, args),
        Commands::Outputs(args) => outputs::run(&session, printer, args).await,
        Commands::Backup(args) => backup::run(&session, printer, args).await,
        Commands::Verify(args) => verify::run(&session, printer, args).await,
        Commands::Changes(args) => changes::run(&session, printer, args).await,
        Commands::Snapshots(args) => snapshots::run(&session, printer, args).await,
        Commands::Restore(args) => restore::run(&session, printer, args).await,
        Commands::ForceUnlock(args) => force_unlock::run(&session, printer, args).await,
        Commands::IamPolicy(args) => iam_policy::run(&session, printer, args).await,
        Commands::Completions(args) => completions::run(printer, args),
    };
    // A write that failed where nobody could be told (a progress line, a background task's
    // warning) fails the run that went well otherwise.
    let result = result.and_then(|code| printer.finish().map(|()| code));
    let result = explain::explain(&session, printer, &context, result);
    if let Some(path) = &cli.api_stats {
        session.write_api_stats(path)?;
    }
    result
}
