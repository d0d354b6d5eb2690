//! `ssm-keeper verify`: the monitor after the nightly job. For every region, the newest backup
//! is there, whole, encrypted, written once, of this environment and fresh. Exit 0 when every
//! check holds, 2 when one fails, 1 when it cannot run. Read-only; prints no value.

use anyhow::{Context as _, Result, bail};
use futures::future::try_join_all;
use std::process::ExitCode;

use super::session::Session;
use crate::cli::{ReportFormat, VerifyArgs};
use crate::core::desired::{default_region_parameter, region_list_parameter};
use crate::core::selection::Selection;
use crate::core::stack::bucket_name;
use crate::core::verify::{Expected, render_text, verify_region};
use crate::shell::observe::parse_region_list;
use crate::shell::printer::Printer;
use crate::shell::ssm::read_values;
use crate::shell::verify::region_facts;

pub async fn run(session: &Session, printer: &Printer, args: VerifyArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let aws = session.aws().await?;
    let env = &stack.environment;
    let home = &stack.ssm_home_region;
    let account = aws.account_id(home).await?;
    let names = [region_list_parameter(env), default_region_parameter(env)];
    let [region_list, default_region] = read_values(aws, home, &names)
        .await?
        .try_into()
        .map_err(|_| anyhow::anyhow!("reading the metadata of `{env}` in {home}"))?;
    let regions = if args.regions.is_empty() {
        let list = region_list.with_context(|| {
            format!(
                "Region list parameter {} is missing (in {home}): run `ssm-keeper apply` for this stack, or name the regions with --region",
                names[0]
            )
        })?;
        parse_region_list(&list)
            .with_context(|| format!("reading the region list parameter {} in {home}", names[0]))?
    } else {
        args.regions.clone()
    };
    if regions.is_empty() {
        bail!(
            "No regions configured: the region list parameter {} is empty",
            names[0]
        );
    }

    let selection = Selection::of(&stack);
    let facts =
        try_join_all(
            regions.iter().map(|region| {
                let bucket = bucket_name(&stack.project_name, env, &account, region);
                let is_default = default_region.as_deref() == Some(region.as_str());
                let selection = &selection;
                let limit = args.max_document_bytes;
                async move {
                    region_facts(aws, region, &bucket, (env, selection), is_default, limit).await
                }
            }),
        )
        .await?;
    let now = time::OffsetDateTime::now_utc();
    let expected = Expected {
        environment: env,
        selection: &selection,
        max_age_hours: args.max_age,
        max_document_bytes: args.max_document_bytes,
        max_count_drop_percent: args.max_count_drop,
    };
    let verdicts: Vec<_> = facts
        .iter()
        .map(|f| verify_region(f, &expected, now))
        .collect();
    let ok = verdicts.iter().all(|v| v.ok());
    let text = match args.format {
        ReportFormat::Text => render_text(&verdicts),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "environment": env,
                "maxAgeHours": args.max_age,
                "ok": ok,
                "regions": verdicts,
            }))? + "\n"
        }
    };
    printer.out(&text)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
