//! ssm-keeper's entry point: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use ssm_keeper::{app, cli::Cli, shell::term};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    ssm_keeper::shell::log::init(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            term::err(&format!("error: starting the async runtime: {e}\n"));
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(app::run(cli));
    // A confirmation prompt cancelled by a signal leaves a thread blocked on stdin: do not
    // wait for it.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            term::err(&format!("error: {e:#}\n"));
            ExitCode::from(1)
        }
    }
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
