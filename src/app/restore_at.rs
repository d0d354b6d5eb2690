//! `restore --at TIME`: the restore plan of each parameter's state at a moment since a backup.
//! The newest backup stored at or before TIME (checked as any restore checks it), the journal's
//! events since it, the source region's live listing, and the history of the names changed in
//! between (decrypted in memory only) decide each state (`core::at`); restore then plans and
//! writes them as it does a backup's.

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

use crate::cli::RestoreArgs;
use crate::core::at::{
    Decision, Facts, HistoryVersion, NotWritten, as_backup_entry, decide, is_backed_up,
    origin_of_backup, origin_of_history, pick,
};
use crate::core::backup::BackupParameter;
use crate::core::changes::utc;
use crate::core::document::DocumentFormat;
use crate::core::journal::log_group_name;
use crate::core::restore::{
    BackupSource, ParameterSpec, RestoreAttribute, RestoreItem, RestoreOptions, RestorePlan, plan,
    unknown_attributes, wanted,
};
use crate::core::selection::Selection;
use crate::core::stack::{Stack, bucket_name};
use crate::core::store::{COPY_PREFIX, Layout, backup_layout};
use crate::shell::aws::Aws;
use crate::shell::journal::{journal_span, read_events};
use crate::shell::printer::Printer;
use crate::shell::restore::{KeyCheck, Located, check_keys, locate_checked, read_live, refusal};
use crate::shell::ssm::{describe_selected, history_values};
use crate::shell::store::{Place, list_backups_in};
use crate::shell::tags::{Tags, tags_of};

/// Parameters whose history is read at once (each paced in the GetParameterHistory lane).
const HISTORIES_IN_FLIGHT: usize = 4;

/// A name whose state history will give: only its name matters before then (where restore
/// would write it).
fn placeholder(name: &str) -> BackupParameter {
    BackupParameter {
        name: name.to_string(),
        kind: "String".into(),
        value: crate::core::backup::Secret::new(String::new()),
        data_type: None,
        version: 0,
        last_modified_date: None,
        key_id: None,
        tier: None,
        description: None,
        allowed_pattern: None,
        policies: Vec::new(),
        tags: None,
    }
}

/// The state of `region`'s parameters at a moment, as backup entries restore plans and writes.
pub struct AtState {
    /// The base backup's label (`s3://bucket/key`).
    pub label: String,
    pub format: DocumentFormat,
    /// What the base backup does not decide (`unknown_attributes` of its entries).
    pub unknown: Vec<RestoreAttribute>,
    pub entries: Vec<BackupParameter>,
    /// Each entry's origin, and whether it came from history (its tags: the live ones).
    pub origins: BTreeMap<String, (String, bool)>,
    pub not_written: Vec<NotWritten>,
    /// With a target region: its live parameters that restore may write, read beside the
    /// histories.
    pub live_target: BTreeMap<String, ParameterSpec>,
    /// With a target region other than `region`: the live tags, in `region`, of the
    /// parameters taken from history (tags have no history: the parameter's own stand).
    pub history_tags: BTreeMap<String, Tags>,
}

/// Where `state_at` reads and what it may write.
pub struct AtRequest<'a> {
    pub region: &'a str,
    pub from_copy: bool,
    pub max_document_bytes: u64,
    pub at: OffsetDateTime,
    pub options: &'a RestoreOptions,
    /// The region whose live parameters to read beside the histories (`None`: none).
    pub live_in: Option<&'a str>,
}

/// Each parameter's state at `request.at`: the base backup, the journal, the live listing and
/// the histories decided (`core::at`).
pub async fn state_at(
    aws: &Aws,
    printer: &Printer,
    stack: &Stack,
    request: &AtRequest<'_>,
) -> Result<AtState> {
    let AtRequest {
        region,
        from_copy,
        max_document_bytes: max,
        at,
        options,
        live_in,
    } = *request;
    let env = &stack.environment;
    let selection = &options.selection;
    if stack.journal.is_none() {
        bail!(
            "the stack `{env}` keeps no journal: restore --at needs one (add `journal:` to the stack and apply), or restore a backup with --from"
        );
    }
    let account = aws.account_id(&stack.ssm_home_region).await?;
    let bucket = bucket_name(&stack.project_name, env, &account, region);
    let copy = stack.copies.get(region).map(|to| {
        (
            to.as_str(),
            bucket_name(&stack.project_name, env, &account, to),
        )
    });
    let place = match (&copy, from_copy) {
        (Some((to, to_bucket)), true) => Place {
            region: to,
            bucket: to_bucket,
            under: COPY_PREFIX,
        },
        (None, true) => bail!(
            "{region} has no copy to restore from: the stack's `copies` names no region for it"
        ),
        (_, false) => Place {
            region,
            bucket: &bucket,
            under: "",
        },
    };
    // The base: the newest backup S3 stored at or before TIME.
    let stored = list_backups_in(aws, &place, region, env, None).await?;
    let base = stored
        .iter()
        .filter(|b| {
            b.key
                .strip_prefix(place.under)
                .and_then(|k| backup_layout(k, region, env))
                == Some(Layout::Ours)
        })
        .filter(|b| b.last_modified.is_some_and(|s| s <= at.unix_timestamp()))
        .max_by(|a, b| (a.last_modified, &a.key).cmp(&(b.last_modified, &b.key)))
        .with_context(|| {
            format!(
                "no backup of {region} in {} was stored at or before {}: `ssm-keeper snapshots --stack {}` lists the recovery points",
                place.bucket,
                utc(at),
                stack.environment
            )
        })?;
    let from = BackupSource::Key(base.key.clone());
    let (label, document) =
        match locate_checked(aws, printer, region, &place, stack, &from, max).await? {
            Located::Checked(label, document) => (label, document),
            Located::Refused(label, failures) => bail!("{}", refusal(&label, &failures)),
        };
    let taken = document
        .taken_utc()
        .with_context(|| format!("{label} says no time it was taken"))?;
    // A document cannot be taken after S3 stored it (5 minutes allowed for the runner's clock),
    // nor after TIME: one that says so would hide every change since (a misused backup
    // credential can write one).
    let stored_at = base
        .last_modified
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if taken > at || taken > stored_at + time::Duration::minutes(5) {
        bail!(
            "{label} says it was taken at {}, after {} ({} it was stored): a document that claims so is not trusted, so nothing was planned; restore a backup by its key with --from, or a TIME after it",
            utc(taken),
            if taken > at { "TIME" } else { "when" },
            utc(stored_at)
        );
    }

    // The journal must cover everything since the backup was taken.
    let group = log_group_name(&stack.project_name, env);
    let reading = format!(
        "restore --at reads the journal and the parameter history of {region} (the state between backups is kept only there)"
    );
    let span = journal_span(aws, region, &group)
        .await
        .with_context(|| reading.clone())?
        .with_context(|| {
            format!(
                "{region} keeps no journal: restore --at needs one (add `journal:` to the stack and apply), or restore a backup with --from"
            )
        })?;
    let now = OffsetDateTime::now_utc();
    let kept_since = span
        .retention_days
        .map(|d| now - time::Duration::days(i64::from(d)));
    let journal_since = kept_since.map_or(span.created, |k| k.max(span.created));
    if journal_since > taken {
        bail!(
            "the journal of {region} holds events from {} only, after {label} was taken ({}): what changed between them is unknown, so nothing was planned; restore --at reaches from {} (`ssm-keeper snapshots`)",
            utc(journal_since),
            utc(taken),
            utc(journal_since)
        );
    }
    let window = (taken - time::Duration::seconds(1), now);
    let (events, live) = tokio::try_join!(
        read_events(aws, region, &group, window),
        describe_selected(aws, region, selection),
    )
    .with_context(|| reading.clone())?;
    // This region's events only (a bus may forward another region's).
    let mut events = events.unwrap_or_default();
    events.retain(|e| e.region == region);

    // Every name the backup, the journal or the live listing knows, decided.
    let in_backup: BTreeMap<&str, &BackupParameter> = document
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let live_by: BTreeMap<&str, _> = live.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut names: BTreeSet<&str> = in_backup.keys().copied().collect();
    names.extend(live_by.keys().copied());
    names.extend(
        events
            .iter()
            .filter(|e| selection.contains(&e.name))
            .map(|e| e.name.as_str()),
    );
    let facts: Vec<Facts> = names
        .iter()
        .map(|name| {
            let mut of_name: Vec<_> = events.iter().filter(|e| e.name == *name).collect();
            of_name.sort_by_key(|e| e.time);
            Facts {
                name,
                backup: in_backup.get(name).copied(),
                events: of_name,
                live: live_by.get(name).copied(),
            }
        })
        .collect();
    let decisions: Vec<(&Facts, Decision)> =
        facts.iter().map(|f| (f, decide(f, taken, at))).collect();
    // Only the histories of names restore may write (`--only`, the environment's boundary).
    let writable = |name: &str| {
        options.only.as_deref().is_none_or(|o| name.starts_with(o)) && selection.contains(name)
    };
    let needed: Vec<&str> = decisions
        .iter()
        .filter(|(f, d)| *d == Decision::History && f.live.is_some() && writable(f.name))
        .map(|(f, _)| f.name)
        .collect();
    // The names restore may write, known before the histories are read: their live state in
    // the target region is read beside the histories (each waits on a quota of its own).
    let provisional: Vec<BackupParameter> = decisions
        .iter()
        .filter_map(|(f, d)| match d {
            Decision::Backup => f.backup.cloned(),
            Decision::History => Some(placeholder(f.name)),
            _ => None,
        })
        .collect();
    let candidates: Vec<String> = wanted(&provisional, document.format, options)
        .into_iter()
        .filter(|i| i.spec.is_some())
        .map(|i| i.target)
        .collect();
    let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
    let histories = async {
        futures::stream::iter(needed.iter().copied().map(|name| async move {
            let versions = history_values(aws, region, name).await?;
            Ok::<_, anyhow::Error>((name, versions))
        }))
        .buffered(HISTORIES_IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await
        .with_context(|| reading.clone())
    };
    let live = async {
        match live_in {
            Some(target) => read_live(aws, target, &candidates).await,
            None => Ok(BTreeMap::new()),
        }
    };
    // Into another region: the tags of the parameters taken from history are their own, live
    // in `region` (the target's, if any, are another parameter's).
    let history_tags = async {
        match live_in {
            Some(target) if target != region && !needed.is_empty() => {
                let account = aws.account_id(region).await?;
                let tags = tags_of(aws, region, &account, &needed).await?;
                Ok::<_, anyhow::Error>(needed.iter().map(|n| (n.to_string(), tags.of(n))).collect())
            }
            _ => Ok(BTreeMap::new()),
        }
    };
    let (histories, live_target, history_tags) = tokio::try_join!(histories, live, history_tags)?;
    let histories: BTreeMap<&str, Option<Vec<HistoryVersion>>> = histories.into_iter().collect();

    let mut entries = Vec::new();
    let mut origins: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let mut not_written = Vec::new();
    let mut skip = |name: &str, reason: String| {
        not_written.push(NotWritten {
            name: name.to_string(),
            reason,
        })
    };
    for (f, decision) in &decisions {
        match decision {
            Decision::Backup => {
                if let Some(b) = f.backup {
                    entries.push(b.clone());
                    origins.insert(f.name.to_string(), (origin_of_backup(&base.key), false));
                }
            }
            Decision::History => {
                let history = histories.get(f.name).and_then(|h| h.as_deref());
                match (pick(f, history, taken, at), f.backup) {
                    // The backed-up version itself: the backup's entry, with its tags.
                    (Ok(v), Some(b)) if is_backed_up(v, b) => {
                        entries.push(b.clone());
                        origins.insert(f.name.to_string(), (origin_of_backup(&base.key), false));
                    }
                    (Ok(v), _) => {
                        entries.push(as_backup_entry(f.name, v));
                        origins.insert(f.name.to_string(), (origin_of_history(v), true));
                    }
                    (Err(why), _) => skip(f.name, why),
                }
            }
            Decision::CreatedLater => skip(
                f.name,
                format!(
                    "created after {}: left alone (restore never deletes)",
                    utc(at)
                ),
            ),
            Decision::Absent(when) => skip(
                f.name,
                format!(
                    "the journal says it was deleted at {} and absent at {}: not written{}",
                    utc(*when),
                    utc(at),
                    if f.live.is_some() {
                        ", and the live one left alone (restore never deletes)"
                    } else {
                        ""
                    }
                ),
            ),
            Decision::Unplaced(why) => skip(f.name, why.clone()),
            Decision::Nothing => {}
        }
    }
    // Only the names restore may write, as a restore of a backup lists them.
    not_written.retain(|n| {
        options
            .only
            .as_deref()
            .is_none_or(|o| n.name.starts_with(o))
            && options.selection.contains(&n.name)
    });
    let unknown = unknown_attributes(
        document.format,
        &document.parameters,
        options.kms_key_id.as_deref(),
    );
    Ok(AtState {
        label,
        format: document.format,
        unknown,
        entries,
        origins,
        not_written,
        live_target,
        history_tags,
    })
}

/// `state`'s entries as restore items, each naming its origin; one taken from history gets the
/// parameter's own live tags (tags have no history): in place, its target's; into another
/// region, the source's.
pub fn items_at(state: &AtState, options: &RestoreOptions) -> Vec<RestoreItem> {
    let mut items = wanted(&state.entries, state.format, options);
    for item in &mut items {
        let Some(spec) = item.spec.as_mut() else {
            continue;
        };
        let Some((origin, from_history)) = state.origins.get(&item.source) else {
            continue;
        };
        item.origin = Some(origin.clone());
        if *from_history {
            spec.tags = match state.history_tags.get(&item.source) {
                Some(tags) => tags.clone(),
                None => state
                    .live_target
                    .get(&item.target)
                    .map(|l| l.tags.clone())
                    .unwrap_or_default(),
            };
        }
    }
    items
}

/// The restore plan of the source region's state at `at`, and the KMS keys it lacks in the
/// target region.
pub async fn preview_at(
    aws: &Aws,
    printer: &Printer,
    args: &RestoreArgs,
    stack: &Stack,
    selection: Selection,
    at: OffsetDateTime,
) -> Result<(RestorePlan, KeyCheck)> {
    let region = args
        .region
        .as_ref()
        .context("--region is required: the region whose state to restore")?;
    let target = args.target_region.as_ref().unwrap_or(region);
    let options = RestoreOptions {
        environment: stack.environment.clone(),
        selection,
        only: args.only.clone(),
        to_prefix: args.to_prefix.clone(),
        kms_key_id: args.kms_key_id.clone(),
        include_metadata: args.include_metadata,
        overwrite: args.overwrite,
    };
    let request = AtRequest {
        region,
        from_copy: args.from_copy,
        max_document_bytes: args.max_document_bytes,
        at,
        options: &options,
        live_in: Some(target),
    };
    let state = state_at(aws, printer, stack, &request).await?;
    let items = items_at(&state, &options);
    let restore = RestorePlan {
        items: plan(
            items,
            &state.live_target,
            &state.unknown,
            (args.overwrite, args.recreate),
        ),
        source: state.label,
        source_region: region.clone(),
        target_region: target.clone(),
        unknown_attributes: state.unknown,
        at: Some(utc(at)),
        not_written: state.not_written,
    };
    let keys = check_keys(aws, target, &restore.items).await?;
    Ok((restore, keys))
}
