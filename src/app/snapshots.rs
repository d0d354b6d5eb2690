//! `ssm-keeper snapshots`: each region's recovery points (every stored backup, its stamp and
//! copy) and the window `restore --at` can reach. Read-only, with the verify role: listings,
//! object tags and the journal's log group; no document is read.

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt};
use std::process::ExitCode;
use time::OffsetDateTime;

use super::session::Session;
use crate::cli::{Format, SnapshotsArgs};
use crate::core::journal::log_group_name;
use crate::core::snapshots::{
    SNAPSHOTS_FORMAT_VERSION, SnapshotsReport, region_snapshots, render_markdown, render_text,
};
use crate::core::stack::{Stack, bucket_name};
use crate::core::store::COPY_PREFIX;
use crate::shell::aws::Aws;
use crate::shell::journal::journal_span;
use crate::shell::printer::Printer;
use crate::shell::store::{Place, list_backups, list_backups_in, object_stamp};

/// Stamps read at once.
const STAMPS_IN_FLIGHT: usize = 8;

pub async fn run(session: &Session, printer: &Printer, args: SnapshotsArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    let regions: Vec<String> = match &args.region {
        Some(r) if !stack.regions.contains(r) => bail!(
            "{r} is not a region of the stack `{}` ({})",
            stack.environment,
            stack.regions.join(", ")
        ),
        Some(r) => vec![r.clone()],
        None => stack.regions.clone(),
    };
    let aws = session.aws().await?;
    let account = aws.account_id(&stack.ssm_home_region).await?;
    let now = OffsetDateTime::now_utc();
    let report = SnapshotsReport {
        format_version: SNAPSHOTS_FORMAT_VERSION,
        project_name: stack.project_name.clone(),
        environment: stack.environment.clone(),
        regions: futures::future::try_join_all(
            regions
                .iter()
                .map(|region| region_report(aws, &stack, &account, region, now)),
        )
        .await?,
    };
    let text = match args.format {
        Format::Text => render_text(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Markdown => render_markdown(&report),
    };
    printer.out(&text)?;
    Ok(ExitCode::SUCCESS)
}

async fn region_report(
    aws: &Aws,
    stack: &Stack,
    account: &str,
    region: &str,
    now: OffsetDateTime,
) -> Result<crate::core::snapshots::RegionSnapshots> {
    let env = &stack.environment;
    let bucket = bucket_name(&stack.project_name, env, account, region);
    let group = log_group_name(&stack.project_name, env);
    let copies = async {
        let Some(to) = stack.copies.get(region) else {
            return Ok(None);
        };
        let copy_bucket = bucket_name(&stack.project_name, env, account, to);
        let place = Place {
            region: to,
            bucket: &copy_bucket,
            under: COPY_PREFIX,
        };
        let listed = list_backups_in(aws, &place, region, env, None).await?;
        Ok::<_, anyhow::Error>(Some(listed.into_iter().map(|b| b.key).collect::<Vec<_>>()))
    };
    let (backups, copies, journal) = tokio::try_join!(
        list_backups(aws, region, &bucket, env, None),
        copies,
        journal_span(aws, region, &group),
    )?;
    let stamps: Vec<_> = futures::stream::iter(backups.iter().map(|b| {
        let bucket = &bucket;
        async move {
            let stamp = object_stamp(aws, region, bucket, &b.key).await?;
            Ok::<_, anyhow::Error>((b.key.clone(), stamp))
        }
    }))
    .buffered(STAMPS_IN_FLIGHT)
    .try_collect()
    .await?;
    Ok(region_snapshots(
        region,
        &bucket,
        &backups,
        &stamps,
        copies.as_deref(),
        journal,
        now,
    ))
}
