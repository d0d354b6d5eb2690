//! ssm-keeper's entry point: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use ssm_keeper::shell::printer::{Printer, Verbosity};
use ssm_keeper::{app, cli::Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    let printer = Printer::stdio(Verbosity::of(cli.verbose, cli.quiet));
    ssm_keeper::shell::log::init(printer.verbosity());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return failed(
                &printer,
                &anyhow::Error::new(e).context("starting the async runtime"),
            );
        }
    };
    let result = runtime.block_on(app::run(&printer, cli));
    // A confirmation prompt cancelled by a signal leaves a thread blocked on stdin: do not
    // wait for it.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => failed(&printer, &e),
    }
}

/// Exit code 1, after the error. Its write is the run's last word: when stderr cannot take it
/// either, nothing is left to report that to, and the exit code still says the run failed.
fn failed(printer: &Printer, e: &anyhow::Error) -> ExitCode {
    let _ = printer.error(e);
    ExitCode::from(1)
}

/// `--help` and `--version` exit 0; a usage error exits 1, never 2: pipelines read exit code 2
/// of `plan --detailed-exitcode` as "changes to make".
fn usage(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
