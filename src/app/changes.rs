//! `ssm-keeper changes`: the environment's changes in a window, per region from its journal
//! (or, without one, from the parameters' metadata), joined with what is live now; with
//! `--history`, every version written in the window. Read-only; never a value.

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt};
use std::process::ExitCode;
use time::OffsetDateTime;

use super::session::Session;
use crate::cli::{ChangesArgs, Format};
use crate::core::changes::{
    CHANGES_FORMAT_VERSION, ChangesReport, RegionJournal, Scope, history_rows, parse_moment,
    region_rows, render_markdown, render_text,
};
use crate::core::journal::log_group_name;
use crate::core::selection::Selection;
use crate::shell::journal::read_events;
use crate::shell::printer::Printer;
use crate::shell::ssm::{describe_selected, history_meta};

/// Parameters whose history is read at once.
const HISTORIES_IN_FLIGHT: usize = 4;

pub async fn run(session: &Session, printer: &Printer, args: ChangesArgs) -> Result<ExitCode> {
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
    let moment = |flag: &str, text: &Option<String>| -> Result<Option<OffsetDateTime>> {
        text.as_deref()
            .map(|t| parse_moment(t).map_err(|m| anyhow::anyhow!("--{flag}: {m}")))
            .transpose()
    };
    let until = moment("until", &args.until)?.unwrap_or_else(OffsetDateTime::now_utc);
    let since = moment("since", &args.since)?.unwrap_or(until - time::Duration::days(1));
    if since > until {
        bail!("--since is after --until: nothing lies between them");
    }
    let window = (since, until);
    let selection = Selection::of(&stack);
    let scope = Scope {
        selection: &selection,
        environment: &stack.environment,
        only: args.only.as_deref(),
    };
    let group = log_group_name(&stack.project_name, &stack.environment);
    let journaled = stack.journal.is_some();
    let aws = session.aws().await?;
    let per_region = futures::future::try_join_all(regions.iter().map(|region| {
        let (group, selection) = (&group, &selection);
        async move {
            // A log group left by a removed `journal:` records nothing: not a journal.
            let events = async {
                match journaled {
                    true => read_events(aws, region, group, window).await,
                    false => Ok(None),
                }
            };
            let (events, current) =
                tokio::try_join!(events, describe_selected(aws, region, selection))?;
            Ok::<_, anyhow::Error>((region, events, current))
        }
    }))
    .await?;
    let mut report = ChangesReport {
        format_version: CHANGES_FORMAT_VERSION,
        project_name: stack.project_name.clone(),
        environment: stack.environment.clone(),
        since,
        until,
        regions: Vec::new(),
        changes: Vec::new(),
        history: None,
    };
    for (region, events, current) in &per_region {
        report.regions.push(RegionJournal {
            region: region.to_string(),
            journal: events.is_some(),
        });
        report.changes.extend(region_rows(
            region,
            &scope,
            window,
            events.as_deref(),
            current,
        ));
    }
    report
        .changes
        .sort_by(|a, b| (a.time, &a.region, &a.name).cmp(&(b.time, &b.region, &b.name)));
    if args.history {
        // Every name changed in the window that SSM still holds (a deleted one has no history).
        let mut names: Vec<(String, String)> = report
            .changes
            .iter()
            .filter(|c| c.current_version.is_some())
            .map(|c| (c.region.clone(), c.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        let histories: Vec<_> =
            futures::stream::iter(names.into_iter().map(|(region, name)| async move {
                let versions = history_meta(aws, &region, &name).await?;
                Ok::<_, anyhow::Error>(history_rows(
                    &region,
                    &name,
                    window,
                    versions.as_deref().unwrap_or_default(),
                ))
            }))
            .buffered(HISTORIES_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut rows: Vec<_> = histories.into_iter().flatten().collect();
        rows.sort_by(|a, b| {
            (a.time, &a.region, &a.name, a.version).cmp(&(b.time, &b.region, &b.name, b.version))
        });
        report.history = Some(rows);
    }
    let text = match args.format {
        Format::Text => render_text(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Markdown => render_markdown(&report),
    };
    printer.out(&text)?;
    Ok(if args.detailed_exitcode && !report.changes.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
