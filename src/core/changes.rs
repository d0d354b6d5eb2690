//! `changes`: the environment's Parameter Store changes in a window, from the journal (what was
//! created, updated, labelled, deleted, and when), joined with each parameter's current version
//! and who wrote it; with `--history`, every version in the window and which attributes it
//! changed. Never a value, not even a hash: the types here have no place for one. Pure: the
//! shell reads the journal, the listing and the history.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::desired::backup_prefix;
use super::journal::{EVENT_DETAIL_TYPE, EVENT_SOURCE};
use super::selection::Selection;

/// One Parameter Store change event the journal recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEvent {
    pub time: OffsetDateTime,
    pub region: String,
    pub name: String,
    /// `Create`, `Update`, `Delete`, `LabelParameterVersion`, ...
    pub operation: String,
    /// The parameter's type as the event gives it.
    pub kind: String,
}

/// A journal message (the event as EventBridge delivered it) as a change event; `None` for
/// anything else (another source or detail type, or not JSON).
pub fn parse_event(message: &str) -> Option<JournalEvent> {
    let event: serde_json::Value = serde_json::from_str(message).ok()?;
    if event["source"] != EVENT_SOURCE || event["detail-type"] != EVENT_DETAIL_TYPE {
        return None;
    }
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    // Anyone who may write the log group may write it anything: only what Parameter Store
    // itself could have sent is read (a name SSM accepts, an operation and a region that are
    // words).
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let name = text(&event["detail"]["name"]).filter(|n| ssm_name(n))?;
    let operation = text(&event["detail"]["operation"]).filter(|o| word(o))?;
    let region = text(&event["region"]).filter(|r| word(r))?;
    let kind = text(&event["detail"]["type"])
        .filter(|k| word(k))
        .unwrap_or_default();
    Some(JournalEvent {
        time: OffsetDateTime::parse(event["time"].as_str()?, &Rfc3339).ok()?,
        region,
        name,
        operation,
        kind,
    })
}

/// A name Parameter Store accepts: `a-zA-Z0-9_.-` and `/` between levels, at most 2048
/// characters.
fn ssm_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 2048
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

/// A parameter as DescribeParameters lists it now: no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub name: String,
    pub version: i64,
    pub kind: String,
    pub modified: Option<OffsetDateTime>,
    pub modified_by: Option<String>,
}

/// One version as GetParameterHistory returns it, its value left out where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMeta {
    pub version: i64,
    pub modified: Option<OffsetDateTime>,
    pub modified_by: Option<String>,
    pub kind: String,
    pub tier: String,
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub policies: Vec<String>,
    pub labels: Vec<String>,
}

/// Where a row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A change event the journal recorded.
    Journal,
    /// No journal: the parameter's last modification, from its metadata (deletions unseen).
    Metadata,
    /// The parameter's last modification, from its metadata, which the journal has no record
    /// of: its rule was disabled, its delivery refused or rewritten, or the event is late.
    Unrecorded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRow {
    #[serde(serialize_with = "rfc3339")]
    pub time: OffsetDateTime,
    pub region: String,
    pub name: String,
    pub operation: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The version live now; `None`: the parameter is gone.
    pub current_version: Option<i64>,
    /// Who wrote the version live now (change events name nobody; who deleted a parameter is
    /// only in CloudTrail).
    pub modified_by: Option<String>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub region: String,
    pub name: String,
    pub version: i64,
    #[serde(serialize_with = "rfc3339_opt")]
    pub time: Option<OffsetDateTime>,
    pub modified_by: Option<String>,
    /// `created`, or the attributes that differ from the version before (`value` when none
    /// does: a new version with the same attributes changed its value, which is never shown).
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionJournal {
    pub region: String,
    /// Whether the region has a journal to read.
    pub journal: bool,
}

/// The report `changes` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesReport {
    pub format_version: u32,
    pub project_name: String,
    pub environment: String,
    #[serde(serialize_with = "rfc3339")]
    pub since: OffsetDateTime,
    #[serde(serialize_with = "rfc3339")]
    pub until: OffsetDateTime,
    pub regions: Vec<RegionJournal>,
    pub changes: Vec<ChangeRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryRow>>,
}

/// Seconds between a change event's time and its version's LastModifiedDate that still match
/// (the event's time has whole seconds; both are AWS's clock). Changes closer together than this
/// are told apart by their count, not their time.
pub const SLACK_SECONDS: i64 = 2;

/// The version of the JSON report (`changes --format json`).
pub const CHANGES_FORMAT_VERSION: u32 = 1;

fn rfc3339<S: serde::Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&utc(*t))
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&utc(*t)),
        None => s.serialize_none(),
    }
}

/// A moment in UTC, to the second: `2026-12-07T14:00:00Z`.
pub fn utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&format).unwrap_or_default()
}

/// What `changes` shows of the environment: its selection, without ssm-keeper's own names (the
/// environment's metadata; locks and drills are never in a selection), under `only` if given.
pub struct Scope<'a> {
    pub selection: &'a Selection,
    pub environment: &'a str,
    pub only: Option<&'a str>,
}

impl Scope<'_> {
    pub fn shows(&self, name: &str) -> bool {
        let own = format!("{}/", backup_prefix(self.environment));
        self.selection.contains(name)
            && !name.starts_with(&own)
            && self.only.is_none_or(|prefix| name.starts_with(prefix))
    }
}

/// A region's rows: each journal event in the window (when the region has a journal), else
/// each parameter last modified in the window; joined with what is live now.
pub fn region_rows(
    region: &str,
    scope: &Scope,
    window: (OffsetDateTime, OffsetDateTime),
    journal: Option<&[JournalEvent]>,
    current: &[Current],
) -> Vec<ChangeRow> {
    let now = |name: &str| current.iter().find(|c| c.name == name);
    let within = |t: OffsetDateTime| window.0 <= t && t <= window.1;
    let mut rows: Vec<ChangeRow> = match journal {
        Some(events) => events
            .iter()
            .filter(|e| e.region == region && within(e.time) && scope.shows(&e.name))
            .map(|e| {
                let live = now(&e.name);
                ChangeRow {
                    time: e.time,
                    region: region.to_string(),
                    name: e.name.clone(),
                    operation: e.operation.clone(),
                    kind: e.kind.clone(),
                    current_version: live.map(|c| c.version),
                    modified_by: live.and_then(|c| c.modified_by.clone()),
                    source: Source::Journal,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    // Each live parameter's last modification in the window: from its metadata without a
    // journal, and with one wherever the journal has no record of it (a rule disabled, a
    // delivery refused: a change is never hidden by a journal that stopped recording).
    let recorded = |c: &Current, t: OffsetDateTime| {
        journal.into_iter().flatten().any(|e| {
            e.name == c.name
                && e.region == region
                && matches!(e.operation.as_str(), "Create" | "Update")
                && (e.time.unix_timestamp() - t.unix_timestamp()).abs() <= SLACK_SECONDS
        })
    };
    rows.extend(
        current
            .iter()
            .filter(|c| scope.shows(&c.name))
            .filter_map(|c| {
                let time = c.modified.filter(|t| within(*t))?;
                let source = match journal {
                    None => Source::Metadata,
                    Some(_) if recorded(c, time) => return None,
                    Some(_) => Source::Unrecorded,
                };
                Some(ChangeRow {
                    time,
                    region: region.to_string(),
                    name: c.name.clone(),
                    operation: if c.version == 1 { "Create" } else { "Update" }.into(),
                    kind: c.kind.clone(),
                    current_version: Some(c.version),
                    modified_by: c.modified_by.clone(),
                    source,
                })
            }),
    );
    rows.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
    rows
}

/// The versions of one parameter written in the window, each with what it changed.
pub fn history_rows(
    region: &str,
    name: &str,
    window: (OffsetDateTime, OffsetDateTime),
    versions: &[VersionMeta],
) -> Vec<HistoryRow> {
    let mut sorted: Vec<&VersionMeta> = versions.iter().collect();
    sorted.sort_by_key(|v| v.version);
    sorted
        .iter()
        .enumerate()
        .filter(|(_, v)| v.modified.is_some_and(|t| window.0 <= t && t <= window.1))
        .map(|(i, v)| {
            let before = i.checked_sub(1).map(|j| sorted[j]);
            HistoryRow {
                region: region.to_string(),
                name: name.to_string(),
                version: v.version,
                time: v.modified,
                modified_by: v.modified_by.clone(),
                changed: changed_attributes(before, v),
            }
        })
        .collect()
}

/// What a version changed from the one before it: `unknown` for the oldest version Parameter
/// Store still keeps when it is not the first (the one before it is gone: 100 versions kept).
fn changed_attributes(before: Option<&VersionMeta>, v: &VersionMeta) -> Vec<String> {
    let Some(b) = before else {
        return vec![if v.version == 1 { "created" } else { "unknown" }.into()];
    };
    let mut changed: Vec<String> = [
        ("type", b.kind != v.kind),
        ("tier", b.tier != v.tier),
        ("key", b.key_id != v.key_id),
        ("description", b.description != v.description),
        ("policies", b.policies != v.policies),
    ]
    .into_iter()
    .filter(|(_, differs)| *differs)
    .map(|(a, _)| a.to_string())
    .collect();
    if changed.is_empty() {
        changed.push("value".into());
    }
    changed
}

/// The report as a table (text), one change a line.
pub fn render_text(report: &ChangesReport) -> String {
    let mut out = format!(
        "Changes of `{}` ({}) from {} to {} (UTC):\n",
        report.environment,
        report.project_name,
        utc(report.since),
        utc(report.until)
    );
    for r in report.regions.iter().filter(|r| !r.journal) {
        out.push_str(&format!(
            "  {}: no journal (add `journal:` to the stack and apply): each parameter's last change from its metadata only; deletions are not seen\n",
            r.region
        ));
    }
    if report.changes.is_empty() {
        out.push_str("No changes.\n");
    } else {
        let header = [
            "TIME (UTC)",
            "REGION",
            "NAME",
            "OPERATION",
            "NOW",
            "WRITTEN BY",
        ];
        let rows: Vec<[String; 6]> = report
            .changes
            .iter()
            .map(|c| {
                [
                    utc(c.time),
                    c.region.clone(),
                    c.name.clone(),
                    operation_text(c),
                    c.current_version
                        .map_or_else(|| "deleted".to_string(), |v| format!("v{v}")),
                    c.modified_by.clone().unwrap_or_else(|| "unknown".into()),
                ]
            })
            .collect();
        out.push_str(&table(&header, &rows));
    }
    if let Some(history) = &report.history {
        out.push_str("\nVersions written in the window:\n");
        if history.is_empty() {
            out.push_str("None.\n");
        } else {
            let header = [
                "TIME (UTC)",
                "REGION",
                "NAME",
                "VERSION",
                "WRITTEN BY",
                "CHANGED",
            ];
            let rows: Vec<[String; 6]> = history
                .iter()
                .map(|h| {
                    [
                        h.time.map(utc).unwrap_or_default(),
                        h.region.clone(),
                        h.name.clone(),
                        format!("v{}", h.version),
                        h.modified_by.clone().unwrap_or_else(|| "unknown".into()),
                        h.changed.join(", "),
                    ]
                })
                .collect();
            out.push_str(&table(&header, &rows));
        }
    }
    out.push_str(&format!(
        "{} change(s). Change events name nobody: WRITTEN BY is who wrote the version live now; who deleted a parameter is only in CloudTrail.\n",
        report.changes.len()
    ));
    out
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A row's operation, marked when the journal has no record of it.
fn operation_text(c: &ChangeRow) -> String {
    match c.source {
        Source::Unrecorded => format!("{} (NOT IN THE JOURNAL)", c.operation),
        Source::Journal | Source::Metadata => c.operation.clone(),
    }
}

/// The report as a pull-request comment.
pub fn render_markdown(report: &ChangesReport) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
    let mut out = format!(
        "### Parameter Store changes of `{}` ({})\n\n{} to {} (UTC)\n\n",
        cell(&report.environment),
        cell(&report.project_name),
        utc(report.since),
        utc(report.until)
    );
    for r in report.regions.iter().filter(|r| !r.journal) {
        out.push_str(&format!(
            "> {}: no journal: each parameter's last change from its metadata only; deletions are not seen.\n\n",
            r.region
        ));
    }
    if report.changes.is_empty() {
        out.push_str("No changes.\n");
    } else {
        out.push_str("| Time (UTC) | Region | Name | Operation | Now | Written by |\n|---|---|---|---|---|---|\n");
        for c in &report.changes {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} | {} |\n",
                utc(c.time),
                c.region,
                cell(&c.name),
                cell(&operation_text(c)),
                c.current_version
                    .map_or_else(|| "deleted".to_string(), |v| format!("v{v}")),
                cell(c.modified_by.as_deref().unwrap_or("unknown"))
            ));
        }
    }
    if let Some(history) = &report.history {
        out.push_str("\n| Time (UTC) | Region | Name | Version | Written by | Changed |\n|---|---|---|---|---|---|\n");
        for h in history {
            out.push_str(&format!(
                "| {} | {} | `{}` | v{} | {} | {} |\n",
                h.time.map(utc).unwrap_or_default(),
                h.region,
                cell(&h.name),
                h.version,
                cell(h.modified_by.as_deref().unwrap_or("unknown")),
                h.changed.join(", ")
            ));
        }
    }
    out
}

/// A moment given on the command line: RFC 3339 (`2026-12-07T14:00:00Z`,
/// `2026-12-07T23:00:00+09:00`), or a local time with its zone's offset
/// (`2026-12-07 23:00 +09:00`, `2026-12-07 14:00:00 Z`).
pub fn parse_moment(text: &str) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let formats = [
        time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
        ),
        time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] [offset_hour sign:mandatory]:[offset_minute]"
        ),
    ];
    let zulu = text
        .strip_suffix(" Z")
        .or_else(|| text.strip_suffix(" UTC"))
        .map(|t| format!("{t} +00:00"));
    let candidate = zulu.as_deref().unwrap_or(text);
    formats
        .iter()
        .find_map(|f| OffsetDateTime::parse(candidate, f).ok())
        .ok_or_else(|| {
            format!(
                "`{text}` is not a moment with its zone: write RFC 3339 (2026-12-07T14:00:00Z, 2026-12-07T23:00:00+09:00) or a local time with its offset (2026-12-07 23:00 +09:00)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn event(time: OffsetDateTime, name: &str, operation: &str) -> JournalEvent {
        JournalEvent {
            time,
            region: "us-east-1".into(),
            name: name.into(),
            operation: operation.into(),
            kind: "String".into(),
        }
    }

    fn scope_of(selection: &Selection) -> Scope<'_> {
        Scope {
            selection,
            environment: "dev",
            only: None,
        }
    }

    #[test]
    fn a_delivered_event_is_read_and_anything_else_is_not() {
        let message = r#"{"version":"0","id":"1","detail-type":"Parameter Store Change","source":"aws.ssm","account":"1","time":"2026-12-07T20:05:29Z","region":"us-east-1","resources":[],"detail":{"name":"/app/dev/db","type":"SecureString","operation":"Create","description":""}}"#;
        let e = parse_event(message).unwrap();
        assert_eq!(e.time, datetime!(2026-12-07 20:05:29 UTC));
        assert_eq!(
            (e.name.as_str(), e.operation.as_str()),
            ("/app/dev/db", "Create")
        );
        assert_eq!(e.kind, "SecureString");
        assert!(parse_event(&message.replace("aws.ssm", "aws.ec2")).is_none());
        // What Parameter Store could not have sent is not read: a name with markup or a line
        // break, an operation that is no word.
        assert!(parse_event(&message.replace("/app/dev/db", "/app/dev/x\\n| y")).is_none());
        assert!(parse_event(&message.replace("/app/dev/db", "/app/dev/<b>")).is_none());
        assert!(parse_event(&message.replace("\"Create\"", "\"Cre ate\"")).is_none());
        assert!(parse_event("not json").is_none());
    }

    #[test]
    fn rows_come_from_the_journal_within_the_window_and_the_selection() {
        let selection = Selection::segment("dev");
        let t = datetime!(2026-12-07 12:00 UTC);
        let events = [
            event(t, "/app/dev/a", "Update"),
            event(t - time::Duration::days(2), "/app/dev/old", "Update"),
            event(t, "/app/prod/a", "Update"),
            event(t, "/jenkins/dev/backup/region-list", "Update"),
            event(t, "/drills/ssm-keeper/dev/x", "Create"),
            event(t + time::Duration::minutes(1), "/app/dev/gone", "Delete"),
        ];
        let current = [Current {
            name: "/app/dev/a".into(),
            version: 3,
            kind: "String".into(),
            modified: Some(t),
            modified_by: Some("arn:aws:iam::1:user/alice".into()),
        }];
        let window = (t - time::Duration::hours(1), t + time::Duration::hours(1));
        let rows = region_rows(
            "us-east-1",
            &scope_of(&selection),
            window,
            Some(&events),
            &current,
        );
        let got: Vec<(&str, &str, Option<i64>, Option<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.operation.as_str(),
                    r.current_version,
                    r.modified_by.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/app/dev/a",
                    "Update",
                    Some(3),
                    Some("arn:aws:iam::1:user/alice")
                ),
                ("/app/dev/gone", "Delete", None, None),
            ]
        );
        let only = Scope {
            only: Some("/app/dev/g"),
            ..scope_of(&selection)
        };
        assert_eq!(
            region_rows("us-east-1", &only, window, Some(&events), &current).len(),
            1
        );
    }

    #[test]
    fn a_change_the_journal_did_not_record_is_listed_as_such() {
        let selection = Selection::segment("dev");
        let t = datetime!(2026-12-07 12:00 UTC);
        let current = [Current {
            name: "/app/dev/quiet".into(),
            version: 5,
            kind: "String".into(),
            modified: Some(t),
            modified_by: Some("arn:aws:iam::1:user/mallory".into()),
        }];
        let window = (t - time::Duration::hours(1), t + time::Duration::hours(1));
        let rows = region_rows(
            "us-east-1",
            &scope_of(&selection),
            window,
            Some(&[]),
            &current,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].source, Source::Unrecorded);
        // Recorded: listed once, from the journal.
        let events = [event(t, "/app/dev/quiet", "Update")];
        let rows = region_rows(
            "us-east-1",
            &scope_of(&selection),
            window,
            Some(&events),
            &current,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].source, Source::Journal);
    }

    #[test]
    fn without_a_journal_the_last_change_comes_from_the_metadata() {
        let selection = Selection::segment("dev");
        let t = datetime!(2026-12-07 12:00 UTC);
        let current = [
            Current {
                name: "/app/dev/new".into(),
                version: 1,
                kind: "String".into(),
                modified: Some(t),
                modified_by: None,
            },
            Current {
                name: "/app/dev/old".into(),
                version: 4,
                kind: "String".into(),
                modified: Some(t - time::Duration::days(3)),
                modified_by: None,
            },
        ];
        let window = (t - time::Duration::hours(1), t);
        let rows = region_rows("us-east-1", &scope_of(&selection), window, None, &current);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].operation.as_str(), rows[0].source),
            ("Create", Source::Metadata)
        );
    }

    #[test]
    fn history_names_what_each_version_changed_never_its_value() {
        let t = datetime!(2026-12-07 12:00 UTC);
        let v = |version, kind: &str, description: Option<&str>| VersionMeta {
            version,
            modified: Some(t + time::Duration::minutes(version)),
            modified_by: Some("u".into()),
            kind: kind.into(),
            tier: "Standard".into(),
            key_id: None,
            description: description.map(str::to_string),
            policies: Vec::new(),
            labels: Vec::new(),
        };
        let versions = [
            v(1, "String", None),
            v(2, "String", None),
            v(3, "SecureString", Some("d")),
        ];
        let rows = history_rows("r", "/a", (t, t + time::Duration::hours(1)), &versions);
        let changed: Vec<Vec<String>> = rows.iter().map(|r| r.changed.clone()).collect();
        assert_eq!(
            changed,
            [
                vec!["created".to_string()],
                vec!["value".into()],
                vec!["type".into(), "description".into()]
            ]
        );
        let rows = history_rows(
            "r",
            "/a",
            (t + time::Duration::minutes(2), t + time::Duration::hours(1)),
            &versions,
        );
        assert_eq!(rows.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 3]);
        // The versions before the oldest kept are gone (past 100): what it changed is unknown.
        let rows = history_rows("r", "/a", (t, t + time::Duration::hours(1)), &versions[1..]);
        assert_eq!(rows[0].changed, ["unknown"]);
    }

    #[test]
    fn moments_are_rfc3339_or_a_local_time_with_its_offset() {
        let want = datetime!(2026-12-07 14:00 UTC);
        for text in [
            "2026-12-07T14:00:00Z",
            "2026-12-07T23:00:00+09:00",
            "2026-12-07 23:00 +09:00",
            "2026-12-07 23:00:00 +09:00",
            "2026-12-07 14:00 Z",
        ] {
            assert_eq!(parse_moment(text), Ok(want), "{text}");
        }
        for bad in ["2026-12-07 14:00", "yesterday", "2026-12-07"] {
            assert!(
                parse_moment(bad)
                    .unwrap_err()
                    .contains("not a moment with its zone"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_table_says_deleted_and_unknown_and_the_json_has_its_schema() {
        let t = datetime!(2026-12-07 12:00 UTC);
        let report = ChangesReport {
            format_version: CHANGES_FORMAT_VERSION,
            project_name: "p".into(),
            environment: "dev".into(),
            since: t,
            until: t,
            regions: vec![RegionJournal {
                region: "us-east-1".into(),
                journal: true,
            }],
            changes: vec![ChangeRow {
                time: t,
                region: "us-east-1".into(),
                name: "/app/dev/gone".into(),
                operation: "Delete".into(),
                kind: "SecureString".into(),
                current_version: None,
                modified_by: None,
                source: Source::Journal,
            }],
            history: None,
        };
        let text = render_text(&report);
        assert!(
            text.contains("deleted") && text.contains("unknown"),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["changes"][0]["time"], "2026-12-07T12:00:00Z");
        assert_eq!(
            json["changes"][0]["currentVersion"],
            serde_json::Value::Null
        );
        assert_eq!(json["changes"][0]["source"], "journal");
        assert!(json.get("history").is_none());
        assert!(render_markdown(&report).contains("| `/app/dev/gone` |"));
    }
}
