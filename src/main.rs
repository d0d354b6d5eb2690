//! ssm-keeper's entry point: parse the command line, run, map the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use ssm_keeper::{app, cli::Cli, shell::term};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match runtime.block_on(app::run(cli)) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            term::err(&format!("error: {e:#}\n"));
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
