//! `snapshots`: the recovery points of each region: every stored backup (when S3 stored it, its
//! key, parameter count and size from its stamp and the listing, whether its copy is there) and
//! the window `restore --at` can reach (from the oldest backup still kept, or the journal's
//! start if later, to now). Pure: the shell lists the buckets, reads the stamps and the journal.

use serde::Serialize;
use time::OffsetDateTime;

use super::changes::utc;
use super::newest::StoredBackup;
use super::stamp::Stamp;
use super::store::copy_document_key;

/// What a backup's stamp says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StampState {
    /// Every tag of the stamp is there.
    Stamped,
    /// No stamp (written before stamps, or by the old script).
    Unstamped,
    /// Tags of a stamp that cannot be read: why.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub key: String,
    /// When S3 stored it (UTC).
    pub stored: Option<String>,
    /// From the stamp; `None` without one.
    pub parameter_count: Option<u64>,
    pub bytes: u64,
    pub stamp: StampState,
    /// Whether the copy is in the copy region's bucket; `None` when the region keeps no copy.
    pub copy: Option<bool>,
}

/// The journal of a region as DescribeLogGroups shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSpan {
    pub created: OffsetDateTime,
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub from: String,
    pub to: String,
    /// What bounds its start: `oldest-backup` or `journal`.
    pub from_bound: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionSnapshots {
    pub region: String,
    pub bucket: String,
    pub backups: Vec<Snapshot>,
    /// The oldest moment the journal still holds events of; `None` without a journal.
    pub journal_since: Option<String>,
    /// What `restore --at` can reach; `None` without a journal or without a backup.
    pub window: Option<Window>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotsReport {
    pub format_version: u32,
    pub project_name: String,
    pub environment: String,
    pub regions: Vec<RegionSnapshots>,
}

/// The version of the JSON report (`snapshots --format json`).
pub const SNAPSHOTS_FORMAT_VERSION: u32 = 1;

/// A region's recovery points, oldest first. `stamps` is each backup's stamp as read (by key),
/// `copies` the keys listed where the copies are kept (`None`: the region keeps none).
pub fn region_snapshots(
    region: &str,
    bucket: &str,
    backups: &[StoredBackup],
    stamps: &[(String, Option<Result<Stamp, String>>)],
    copies: Option<&[String]>,
    journal: Option<JournalSpan>,
    now: OffsetDateTime,
) -> RegionSnapshots {
    let mut sorted: Vec<&StoredBackup> = backups.iter().collect();
    sorted.sort_by(|a, b| (a.last_modified, &a.key).cmp(&(b.last_modified, &b.key)));
    let stored = |b: &StoredBackup| {
        b.last_modified
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
    };
    let snapshots = sorted
        .iter()
        .map(|b| {
            let stamp = stamps
                .iter()
                .find(|(k, _)| *k == b.key)
                .and_then(|(_, s)| s.as_ref());
            Snapshot {
                key: b.key.clone(),
                stored: stored(b).map(utc),
                parameter_count: stamp
                    .and_then(|s| s.as_ref().ok())
                    .map(|s| s.parameter_count),
                bytes: b.size,
                stamp: match stamp {
                    None => StampState::Unstamped,
                    Some(Ok(_)) => StampState::Stamped,
                    Some(Err(why)) => StampState::Invalid(why.clone()),
                },
                copy: copies.map(|keys| keys.contains(&copy_document_key(&b.key))),
            }
        })
        .collect();
    let journal_since = journal.map(|j| {
        let kept = j
            .retention_days
            .map(|d| now - time::Duration::days(i64::from(d)));
        kept.map_or(j.created, |k| k.max(j.created))
    });
    // restore --at starts from a backup taken once the journal was recording: the oldest such
    // backup's stored time bounds the window (a backup taken before the journal's start cannot
    // be followed by it).
    let window = journal_since.and_then(|since| {
        let first = sorted
            .iter()
            .find(|b| taken_of(&b.key).is_some_and(|t| t >= since))?;
        let from = stored(first)?;
        Some(Window {
            from: utc(from),
            to: utc(now),
            from_bound: if sorted.first().is_some_and(|o| o.key == first.key) {
                "oldest-backup"
            } else {
                "journal"
            },
        })
    });
    RegionSnapshots {
        region: region.to_string(),
        bucket: bucket.to_string(),
        backups: snapshots,
        journal_since: journal_since.map(utc),
        window,
    }
}

/// When a backup of this tool's layout was taken, from its key
/// (`...-YYYYMMDD_HHMMSS.json`, UTC).
fn taken_of(key: &str) -> Option<OffsetDateTime> {
    let stem = key.strip_suffix(".json")?;
    let timestamp = stem.get(stem.len().checked_sub(15)?..)?;
    super::document::parse_backup_timestamp(timestamp)
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn stamp_text(s: &StampState) -> String {
    match s {
        StampState::Stamped => "stamped".into(),
        StampState::Unstamped => "none".into(),
        StampState::Invalid(why) => format!("invalid ({why})"),
    }
}

fn copy_text(c: Option<bool>) -> &'static str {
    match c {
        None => "-",
        Some(true) => "yes",
        Some(false) => "MISSING",
    }
}

fn window_text(r: &RegionSnapshots) -> String {
    match (&r.window, &r.journal_since) {
        (Some(w), _) => format!(
            "restore --at reaches from {} ({}) to now",
            w.from,
            if w.from_bound == "journal" {
                "the first backup taken once the journal was recording"
            } else {
                "the oldest backup kept"
            }
        ),
        (None, None) => {
            "restore --at: no journal here (add `journal:` to the stack and apply)".into()
        }
        (None, Some(_)) => {
            "restore --at: no backup taken since the journal started to start from".into()
        }
    }
}

pub fn render_text(report: &SnapshotsReport) -> String {
    let mut out = format!(
        "Recovery points of `{}` ({}):\n",
        report.environment, report.project_name
    );
    for r in &report.regions {
        out.push_str(&format!("\n{} (bucket {}):\n", r.region, r.bucket));
        if r.backups.is_empty() {
            out.push_str("  No backup.\n");
        } else {
            let width = r.backups.iter().map(|b| b.key.len()).max().unwrap_or(3);
            out.push_str(&format!(
                "  {:<20}  {:<width$}  {:>10}  {:>10}  {:<8}  COPY\n",
                "STORED (UTC)", "KEY", "PARAMETERS", "SIZE", "STAMP"
            ));
            for b in &r.backups {
                out.push_str(&format!(
                    "  {:<20}  {:<width$}  {:>10}  {:>10}  {:<8}  {}\n",
                    b.stored.as_deref().unwrap_or("-"),
                    b.key,
                    b.parameter_count
                        .map_or_else(|| "-".to_string(), |n| n.to_string()),
                    size(b.bytes),
                    stamp_text(&b.stamp),
                    copy_text(b.copy)
                ));
            }
        }
        out.push_str(&format!("  {}\n", window_text(r)));
    }
    out
}

pub fn render_markdown(report: &SnapshotsReport) -> String {
    let mut out = format!(
        "### Recovery points of `{}` ({})\n",
        report.environment, report.project_name
    );
    for r in &report.regions {
        out.push_str(&format!(
            "\n#### {}\n\n{}\n\n| Stored (UTC) | Key | Parameters | Size | Stamp | Copy |\n|---|---|---|---|---|---|\n",
            r.region,
            window_text(r)
        ));
        for b in &r.backups {
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} | {} |\n",
                b.stored.as_deref().unwrap_or("-"),
                b.key,
                b.parameter_count
                    .map_or_else(|| "-".to_string(), |n| n.to_string()),
                size(b.bytes),
                stamp_text(&b.stamp).replace('|', "\\|"),
                copy_text(b.copy)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn backup(key: &str, at: OffsetDateTime) -> StoredBackup {
        StoredBackup {
            key: key.into(),
            size: 2048,
            last_modified: Some(at.unix_timestamp()),
        }
    }

    #[test]
    fn backups_are_listed_oldest_first_with_stamp_and_copy() {
        let now = datetime!(2026-12-07 12:00 UTC);
        let (old, new) = ("2026-12-01/r/a.json", "2026-12-06/r/b.json");
        let backups = [
            backup(new, now - time::Duration::days(1)),
            backup(old, now - time::Duration::days(6)),
        ];
        let stamps = vec![
            (
                old.to_string(),
                Some(Err("the object's tags lack x".to_string())),
            ),
            (new.to_string(), None),
        ];
        let copies = vec![copy_document_key(new)];
        let r = region_snapshots("r", "b", &backups, &stamps, Some(&copies), None, now);
        let keys: Vec<&str> = r.backups.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(keys, [old, new]);
        assert_eq!(r.backups[0].copy, Some(false));
        assert_eq!(r.backups[1].copy, Some(true));
        assert!(matches!(r.backups[0].stamp, StampState::Invalid(_)));
        assert_eq!(r.backups[1].stamp, StampState::Unstamped);
        // No journal: no window.
        assert_eq!(r.window, None);
        let text = render_text(&SnapshotsReport {
            format_version: 1,
            project_name: "p".into(),
            environment: "dev".into(),
            regions: vec![r],
        });
        assert!(
            text.contains("MISSING") && text.contains("no journal"),
            "{text}"
        );
    }

    #[test]
    fn the_window_starts_at_the_first_backup_taken_once_the_journal_was_recording() {
        let now = datetime!(2026-12-07 12:00 UTC);
        let key = |t: OffsetDateTime| {
            let f = time::macros::format_description!("[year][month][day]_[hour][minute][second]");
            format!("d/r/ssm-backup-dev-r-{}.json", t.format(&f).unwrap())
        };
        let taken = |days: i64| now - time::Duration::days(days);
        let backups = [
            backup(&key(taken(20)), taken(20)),
            backup(&key(taken(2)), taken(2)),
        ];
        // The journal started 3 days ago: the backup taken 2 days ago is the first it follows.
        let young = JournalSpan {
            created: now - time::Duration::days(3),
            retention_days: Some(30),
        };
        let r = region_snapshots("r", "b", &backups, &[], None, Some(young), now);
        let w = r.window.unwrap();
        assert_eq!(
            (w.from.as_str(), w.from_bound),
            ("2026-12-05T12:00:00Z", "journal")
        );
        // An old journal whose retention reaches past every backup: the oldest bounds it.
        let old = JournalSpan {
            created: now - time::Duration::days(400),
            retention_days: Some(60),
        };
        let r = region_snapshots("r", "b", &backups, &[], None, Some(old), now);
        let w = r.window.unwrap();
        assert_eq!(
            (w.from.as_str(), w.from_bound),
            ("2026-11-17T12:00:00Z", "oldest-backup")
        );
        assert_eq!(r.journal_since.as_deref(), Some("2026-10-08T12:00:00Z"));
        // No backup taken since the journal started: no window.
        let r = region_snapshots("r", "b", &backups[..1], &[], None, Some(young), now);
        assert_eq!(r.window, None);
    }
}
