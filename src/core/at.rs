//! `restore --at TIME`: each parameter's state at a moment since a backup, from three sources
//! kept apart until here: the newest backup stored at or before TIME, the journal's creations,
//! updates and deletions since it, and Parameter Store's history of versions (who wrote each).
//! A parameter that cannot be placed exactly is never written: it is listed with the reason.
//! Pure: the shell reads the backup, the journal, the live listing and the histories.

use serde::Serialize;
use time::OffsetDateTime;

use super::backup::{BackupParameter, Secret};
use super::changes::{Current, JournalEvent, VersionMeta, utc};

/// Seconds a journal event's time may lie from its version's LastModifiedDate (both are AWS's
/// clock; the event's time has whole seconds).
pub use super::changes::SLACK_SECONDS as EVENT_SLACK_SECONDS;

/// One version from GetParameterHistory, its value decrypted in memory only.
#[derive(Debug, Clone)]
pub struct HistoryVersion {
    pub meta: VersionMeta,
    pub value: Secret,
    pub data_type: Option<String>,
    pub allowed_pattern: Option<String>,
}

/// What is known of one name: in the base backup, the journal's events after the backup (in
/// time order), and what is live now in the source region.
pub struct Facts<'a> {
    pub name: &'a str,
    pub backup: Option<&'a BackupParameter>,
    pub events: Vec<&'a JournalEvent>,
    pub live: Option<&'a Current>,
}

/// Where a name's state at TIME comes from, before any history is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Unchanged since the backup: the backup's entry (and its tags).
    Backup,
    /// Changed after the backup and before TIME: its history says which version.
    History,
    /// First created after TIME: left alone (restore never deletes).
    CreatedLater,
    /// Deleted at that moment (before TIME) and not created again by TIME: nothing to write;
    /// left alone if live now.
    Absent(OffsetDateTime),
    /// Cannot be placed exactly: never written.
    Unplaced(String),
    /// Neither at TIME nor now: nothing to say.
    Nothing,
}

fn is_lifecycle(e: &JournalEvent) -> bool {
    matches!(e.operation.as_str(), "Create" | "Update" | "Delete")
}

fn seconds(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// When the backup's entry of this name was written (its version's LastModifiedDate): a
/// backup reads each value after its run started, so its entries can be newer than the time
/// it was taken. `None` when the entry does not say, or the name is not in the backup.
fn backed_up_at(facts: &Facts) -> Option<OffsetDateTime> {
    written_at(facts.backup?)
}

/// When a backup entry's version was written, as the document records it.
fn written_at(b: &BackupParameter) -> Option<OffsetDateTime> {
    let text = b.last_modified_date.as_deref()?;
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Whether history's version `v` is the one the backup holds (same version, written in the
/// same second): then the backup's entry, with its tags, stands for it.
pub fn is_backed_up(v: &HistoryVersion, b: &BackupParameter) -> bool {
    v.meta.version == b.version
        && match (v.meta.modified, written_at(b)) {
            (Some(h), Some(w)) => seconds(h) == seconds(w),
            _ => false,
        }
}

/// From when the journal's events are changes the backup does not hold: after the backed-up
/// version was written, else after the backup was taken.
fn reference(facts: &Facts, taken: OffsetDateTime) -> OffsetDateTime {
    backed_up_at(facts).unwrap_or(taken)
}

/// The first step: from the backup, the journal and the live listing alone.
pub fn decide(facts: &Facts, taken: OffsetDateTime, at: OffsetDateTime) -> Decision {
    let since = reference(facts, taken);
    let lifecycle: Vec<&&JournalEvent> = facts
        .events
        .iter()
        .filter(|e| is_lifecycle(e) && seconds(e.time) >= seconds(since))
        .collect();
    let same_second: Vec<&&&JournalEvent> = lifecycle
        .iter()
        .filter(|e| seconds(e.time) == seconds(since))
        .collect();
    // The backed-up version's own Create or Update is in its second; anything else there may or
    // may not be in the backup.
    let ambiguous = match facts.backup {
        Some(_) => same_second.iter().any(|e| e.operation == "Delete"),
        None => !same_second.is_empty(),
    };
    if ambiguous {
        return Decision::Unplaced(format!(
            "changed in the second the backup read it ({}): whether the backup holds that change is unknown",
            utc(since)
        ));
    }
    let changes: Vec<&&&JournalEvent> = lifecycle
        .iter()
        .filter(|e| seconds(e.time) > seconds(since))
        .collect();
    let before: Vec<&&&&JournalEvent> = changes.iter().filter(|e| e.time <= at).collect();
    let after: Vec<&&&&JournalEvent> = changes.iter().filter(|e| e.time > at).collect();
    // The backed-up version was written after TIME: the one in effect then is in its history.
    if backed_up_at(facts).is_some_and(|m| m > at) {
        return Decision::History;
    }
    if let Some(last) = before.last() {
        // A deletion and a creation in the same second: their order is unknown.
        let second: Vec<&&&&&JournalEvent> = before
            .iter()
            .filter(|e| seconds(e.time) == seconds(last.time))
            .collect();
        if second.iter().any(|e| e.operation == "Delete")
            && second.iter().any(|e| e.operation != "Delete")
        {
            return Decision::Unplaced(format!(
                "deleted and written in the same second ({}): which came last is unknown",
                utc(last.time)
            ));
        }
        if last.operation == "Delete" {
            return Decision::Absent(last.time);
        }
        return Decision::History;
    }
    match (facts.backup, facts.live) {
        // No change recorded after the backed-up version and by TIME. If the live parameter is
        // not that version, its history says whether one was written before TIME that the
        // journal missed.
        (Some(b), Some(live)) => {
            let same_time = match (live.modified, backed_up_at(facts)) {
                (Some(l), Some(m)) => seconds(l) == seconds(m),
                _ => true,
            };
            if live.version == b.version && same_time {
                Decision::Backup
            } else {
                Decision::History
            }
        }
        (Some(_), None) => Decision::Backup,
        (None, Some(live)) => match live.modified {
            Some(m) if seconds(m) <= seconds(taken) => Decision::Unplaced(
                "live since before the backup but not in it: the backup does not say what it held"
                    .into(),
            ),
            Some(m) if m <= at => Decision::Unplaced(format!(
                "version {} was written at {}, after the backup and before TIME, and the journal has no record of it: the journal missed events for this name",
                live.version,
                utc(m)
            )),
            _ => Decision::CreatedLater,
        },
        (None, None) => match after.first() {
            Some(e) if e.operation == "Delete" => Decision::Unplaced(format!(
                "existed at TIME (deleted at {}) but is in no backup, and its history went with it",
                utc(e.time)
            )),
            _ => Decision::Nothing,
        },
    }
}

/// The version of `history` in effect at TIME, for a name whose last change before TIME the
/// journal recorded: or why it cannot be placed.
pub fn pick<'h>(
    facts: &Facts,
    history: Option<&'h [HistoryVersion]>,
    taken: OffsetDateTime,
    at: OffsetDateTime,
) -> Result<&'h HistoryVersion, String> {
    let recreated = facts
        .events
        .iter()
        .any(|e| e.time > at && e.operation == "Delete");
    let Some(history) = history.filter(|_| facts.live.is_some() && !recreated) else {
        return Err(
            "deleted after TIME, after a change later than the backup: Parameter Store forgot its history with it"
                .into(),
        );
    };
    // Every version written between the backup and TIME must have its journal record.
    for v in history {
        let Some(modified) = v.meta.modified else {
            continue;
        };
        if seconds(modified) <= seconds(reference(facts, taken)) || modified > at {
            continue;
        }
        let recorded = facts.events.iter().any(|e| {
            matches!(e.operation.as_str(), "Create" | "Update")
                && (seconds(e.time) - seconds(modified)).abs() <= EVENT_SLACK_SECONDS
        });
        if !recorded {
            return Err(format!(
                "version {} was written at {} and the journal has no record of it: the journal missed events for this name",
                v.meta.version,
                utc(modified)
            ));
        }
    }
    let in_effect = history
        .iter()
        .filter(|v| v.meta.modified.is_some_and(|m| m <= at))
        .max_by_key(|v| v.meta.version);
    match in_effect {
        Some(v) => Ok(v),
        None if history.iter().all(|v| v.meta.version > 1) => Err(
            "more than 100 versions were written since: the version in effect at TIME is no longer kept"
                .into(),
        ),
        None => Err(
            "its history has no version written by TIME, though the journal recorded a change before it"
                .into(),
        ),
    }
}

/// A history version as a backup entry, so that restore decides and writes it as any other:
/// its tags unknown (Parameter Store keeps no history of tags; the live ones stay).
pub fn as_backup_entry(name: &str, v: &HistoryVersion) -> BackupParameter {
    BackupParameter {
        name: name.to_string(),
        kind: v.meta.kind.clone(),
        value: v.value.clone(),
        data_type: v.data_type.clone(),
        version: v.meta.version,
        last_modified_date: v.meta.modified.map(utc),
        key_id: v.meta.key_id.clone(),
        tier: Some(v.meta.tier.clone()).filter(|t| !t.is_empty()),
        description: v.meta.description.clone(),
        allowed_pattern: v.allowed_pattern.clone(),
        policies: v.meta.policies.clone(),
        tags: None,
    }
}

/// A name `restore --at` does not write, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotWritten {
    pub name: String,
    pub reason: String,
}

/// Where a written parameter's state comes from.
pub fn origin_of_backup(key: &str) -> String {
    format!("backup {key} (with its tags)")
}

pub fn origin_of_history(v: &HistoryVersion) -> String {
    format!(
        "history version {} written {} by {} (live tags kept)",
        v.meta.version,
        v.meta
            .modified
            .map(utc)
            .unwrap_or_else(|| "at an unknown time".into()),
        v.meta.modified_by.as_deref().unwrap_or("unknown")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const TAKEN: OffsetDateTime = datetime!(2026-12-07 01:00 UTC);

    fn event(minutes: i64, op: &str) -> JournalEvent {
        JournalEvent {
            time: TAKEN + time::Duration::minutes(minutes),
            region: "r".into(),
            name: "/a".into(),
            operation: op.into(),
            kind: "String".into(),
        }
    }

    fn live(version: i64, minutes: i64) -> Current {
        Current {
            name: "/a".into(),
            version,
            kind: "String".into(),
            modified: Some(TAKEN + time::Duration::minutes(minutes)),
            modified_by: Some("u".into()),
        }
    }

    fn entry(version: i64) -> BackupParameter {
        BackupParameter {
            name: "/a".into(),
            kind: "String".into(),
            value: Secret::new("v".into()),
            data_type: None,
            version,
            last_modified_date: None,
            key_id: None,
            tier: None,
            description: None,
            allowed_pattern: None,
            policies: Vec::new(),
            tags: None,
        }
    }

    fn version(v: i64, minutes: i64) -> HistoryVersion {
        HistoryVersion {
            meta: VersionMeta {
                version: v,
                modified: Some(TAKEN + time::Duration::minutes(minutes)),
                modified_by: Some(format!("writer{v}")),
                kind: "String".into(),
                tier: "Standard".into(),
                key_id: None,
                description: None,
                policies: Vec::new(),
                labels: Vec::new(),
            },
            value: Secret::new(format!("value{v}")),
            data_type: None,
            allowed_pattern: None,
        }
    }

    fn at(minutes: i64) -> OffsetDateTime {
        TAKEN + time::Duration::minutes(minutes)
    }

    #[test]
    fn unchanged_since_the_backup_comes_from_the_backup() {
        let (b, l) = (entry(3), live(3, -60));
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: vec![],
            live: Some(&l),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::Backup);
        // Changed only after TIME: the live parameter is not the backed-up version, so its
        // history says which was in effect (the backed-up one: no version missed between).
        let later = [event(60, "Update")];
        let l4 = live(4, 60);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: later.iter().collect(),
            live: Some(&l4),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::History);
        let history = [version(3, -60), version(4, 60)];
        let v = pick(&facts, Some(&history), TAKEN, at(30)).unwrap();
        assert_eq!(v.meta.version, 3);
        // Deleted after TIME: the backup's state, to create again.
        let gone = [event(60, "Delete")];
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: gone.iter().collect(),
            live: None,
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::Backup);
    }

    #[test]
    fn a_change_before_time_is_read_from_history_at_the_version_in_effect() {
        let b = entry(1);
        let events = [
            event(10, "Update"),
            event(20, "Update"),
            event(40, "Update"),
        ];
        let l = live(4, 40);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: Some(&l),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::History);
        let history = [
            version(1, -60),
            version(2, 10),
            version(3, 20),
            version(4, 40),
        ];
        let v = pick(&facts, Some(&history), TAKEN, at(30)).unwrap();
        assert_eq!(v.meta.version, 3);
        assert_eq!(v.value.expose(), "value3");
        assert!(
            origin_of_history(v).contains("version 3") && origin_of_history(v).contains("writer3")
        );
        // Before the first change: the backed-up version, from its history.
        assert_eq!(decide(&facts, TAKEN, at(5)), Decision::History);
        let v = pick(&facts, Some(&history), TAKEN, at(5)).unwrap();
        assert_eq!(v.meta.version, 1);
    }

    #[test]
    fn a_version_without_its_journal_record_is_never_placed() {
        let b = entry(1);
        // The journal saw version 3 but not version 2.
        let events = [event(20, "Update")];
        let l = live(3, 20);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: Some(&l),
        };
        let history = [version(1, -60), version(2, 10), version(3, 20)];
        let why = pick(&facts, Some(&history), TAKEN, at(30)).unwrap_err();
        assert!(
            why.contains("version 2") && why.contains("missed events"),
            "{why}"
        );
        // No event at all, yet a version written before TIME: missed as well.
        let l2 = live(2, 10);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: vec![],
            live: Some(&l2),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::History);
        let history = [version(1, -60), version(2, 10)];
        let why = pick(&facts, Some(&history), TAKEN, at(30)).unwrap_err();
        assert!(why.contains("missed events"), "{why}");
        // A version missed before TIME behind one recorded after it: caught too.
        let later = [event(60, "Update")];
        let l3 = live(3, 60);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: later.iter().collect(),
            live: Some(&l3),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::History);
        let history = [version(1, -60), version(2, 10), version(3, 60)];
        let why = pick(&facts, Some(&history), TAKEN, at(30)).unwrap_err();
        assert!(why.contains("version 2"), "{why}");
        // Deleted and created again, both unrecorded: version 1 again, written later.
        let mut b1 = entry(1);
        b1.last_modified_date = Some(utc(TAKEN - time::Duration::hours(1)));
        let again = live(1, 10);
        let facts = Facts {
            name: "/a",
            backup: Some(&b1),
            events: vec![],
            live: Some(&again),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::History);
        let history = [version(1, 10)];
        let why = pick(&facts, Some(&history), TAKEN, at(30)).unwrap_err();
        assert!(why.contains("missed events"), "{why}");
    }

    #[test]
    fn a_backed_up_version_newer_than_time_is_looked_up_in_history() {
        // The run started at TAKEN; the value was read later, after an update at +10.
        let mut b = entry(2);
        b.last_modified_date = Some(utc(at(10)));
        let events = [event(10, "Update")];
        let l = live(2, 10);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: Some(&l),
        };
        assert_eq!(decide(&facts, TAKEN, at(5)), Decision::History);
        let history = [version(1, -60), version(2, 10)];
        let v = pick(&facts, Some(&history), TAKEN, at(5)).unwrap();
        assert_eq!(v.meta.version, 1);
        // After it: the backup (the version's own event is in its second).
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::Backup);
    }

    #[test]
    fn a_deletion_and_a_write_in_one_second_or_a_lost_history_are_not_placed() {
        let b = entry(1);
        let events = [event(10, "Delete"), event(10, "Create")];
        let l = live(1, 10);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: Some(&l),
        };
        assert!(
            matches!(decide(&facts, TAKEN, at(30)), Decision::Unplaced(w) if w.contains("same second"))
        );
        // In no backup, deleted after TIME: it existed then, and nothing says how.
        let events = [event(60, "Delete")];
        let facts = Facts {
            name: "/a",
            backup: None,
            events: events.iter().collect(),
            live: None,
        };
        assert!(
            matches!(decide(&facts, TAKEN, at(30)), Decision::Unplaced(w) if w.contains("in no backup"))
        );
    }

    #[test]
    fn deletions_creations_and_lost_history_are_listed_not_written() {
        // Deleted before TIME: absent at TIME.
        let b = entry(1);
        let events = [event(10, "Delete")];
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: None,
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::Absent(at(10)));
        // Created after TIME: left alone.
        let l = live(1, 60);
        let facts = Facts {
            name: "/a",
            backup: None,
            events: vec![],
            live: Some(&l),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::CreatedLater);
        // Changed before TIME, then deleted: its history is gone.
        let events = [event(10, "Update"), event(60, "Delete")];
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: None,
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::History);
        let why = pick(&facts, None, TAKEN, at(30)).unwrap_err();
        assert!(why.contains("forgot its history"), "{why}");
        // Over 100 versions since: the version at TIME is no longer kept.
        let events = [event(10, "Update")];
        let l = live(150, 10);
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: events.iter().collect(),
            live: Some(&l),
        };
        let history: Vec<HistoryVersion> = (51..=150).map(|v| version(v, 40)).collect();
        let why = pick(&facts, Some(&history), TAKEN, at(30)).unwrap_err();
        assert!(why.contains("more than 100 versions"), "{why}");
        // Deleted in the second the backup read it: unknown whether the backup holds that.
        let same = [JournalEvent {
            time: TAKEN,
            ..event(0, "Delete")
        }];
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: same.iter().collect(),
            live: None,
        };
        assert!(matches!(
            decide(&facts, TAKEN, at(30)),
            Decision::Unplaced(_)
        ));
    }

    #[test]
    fn events_before_the_backup_are_in_it() {
        let (b, l) = (entry(1), live(1, -1));
        let before = [event(-1, "Create")];
        let facts = Facts {
            name: "/a",
            backup: Some(&b),
            events: before.iter().collect(),
            live: Some(&l),
        };
        assert_eq!(decide(&facts, TAKEN, at(30)), Decision::Backup);
    }

    #[test]
    fn a_history_version_becomes_an_entry_without_tags() {
        let entry = as_backup_entry("/target", &version(2, 10));
        assert_eq!((entry.name.as_str(), entry.version), ("/target", 2));
        assert_eq!(entry.tags, None);
        assert_eq!(entry.value.expose(), "value2");
    }
}
