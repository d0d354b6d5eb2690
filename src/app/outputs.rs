//! `ssm-keeper outputs`: the region -> bucket map of a stack (the seeds' `bucketMap`).

use anyhow::Result;
use std::process::ExitCode;

use super::session::Session;
use crate::cli::OutputsArgs;
use crate::core::desired::bucket_map;
use crate::shell::printer::Printer;

pub async fn run(session: &Session, printer: &Printer, args: OutputsArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let account_id = session
        .aws()
        .await?
        .account_id(&stack.ssm_home_region)
        .await?;
    let map = bucket_map(&stack, &account_id);
    let text = if args.json {
        let object: serde_json::Map<String, serde_json::Value> =
            map.into_iter().map(|(r, b)| (r, b.into())).collect();
        serde_json::to_string_pretty(&serde_json::json!({ "bucketMap": object }))? + "\n"
    } else {
        map.iter().map(|(r, b)| format!("{r}\t{b}\n")).collect()
    };
    printer.out(&text)?;
    Ok(ExitCode::SUCCESS)
}
