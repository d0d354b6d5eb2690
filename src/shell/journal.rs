//! Reads a stack's change journal: the events of its CloudWatch Logs group in a window
//! (FilterLogEvents, every page), each message parsed as a Parameter Store change; `None`
//! when the region has no journal.

use anyhow::Result;
use aws_sdk_cloudwatchlogs::error::SdkError;
use time::OffsetDateTime;

use super::aws::Aws;
use crate::core::changes::{JournalEvent, parse_event};
use crate::core::snapshots::JournalSpan;

/// The journal's change events from `since` to `until`; `None` when its log group does not
/// exist (the stack keeps no journal there).
pub async fn read_events(
    aws: &Aws,
    region: &str,
    group: &str,
    (since, until): (OffsetDateTime, OffsetDateTime),
) -> Result<Option<Vec<JournalEvent>>> {
    let millis =
        |t: OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let mut pages = aws
        .logs(region)
        .filter_log_events()
        .log_group_name(group)
        .start_time(millis(since))
        .end_time(millis(until))
        .into_paginator()
        .send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => {
                return Ok(None);
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "reading the journal {group} in {region} (FilterLogEvents)"
                )));
            }
        };
        events.extend(
            page.events
                .unwrap_or_default()
                .into_iter()
                .filter_map(|e| e.message.as_deref().and_then(parse_event)),
        );
    }
    Ok(Some(events))
}

/// When the journal's log group was created and how long it keeps events; `None` when the
/// region has no journal.
pub async fn journal_span(aws: &Aws, region: &str, group: &str) -> Result<Option<JournalSpan>> {
    let mut pages = aws
        .logs(region)
        .describe_log_groups()
        .log_group_name_prefix(group)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "reading the journal's log group {group} in {region} (DescribeLogGroups)"
            ))
        })?;
        if let Some(g) = page
            .log_groups
            .unwrap_or_default()
            .into_iter()
            .find(|g| g.log_group_name.as_deref() == Some(group))
        {
            // Without it the journal's start is unknown: never taken as "always".
            let created = g
                .creation_time
                .and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "the journal's log group {group} in {region} says no creation time: when it started is unknown"
                    )
                })?;
            return Ok(Some(JournalSpan {
                created,
                retention_days: g.retention_in_days.and_then(|d| u32::try_from(d).ok()),
            }));
        }
    }
    Ok(None)
}
