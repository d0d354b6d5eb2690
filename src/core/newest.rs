//! Which stored backup is a region's newest: found from the bucket's own listing, never
//! believed from a pointer (the pointers are the one thing the backup role may rewrite). The
//! days come from the listing's day prefixes; the newest is the one S3 stored last. Pure: the
//! shell lists what `days_to_list` asks for, `choose` decides.

use time::OffsetDateTime;

use super::store::{Layout, backup_layout};

/// How far in the future a backup's own time may be (clocks differ a little).
pub const FUTURE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// One backup as the bucket's listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBackup {
    pub key: String,
    /// Bytes (0 when the listing does not say).
    pub size: u64,
    /// When S3 stored it, seconds since the epoch (no writer chooses it); `None` when the
    /// listing does not say.
    pub last_modified: Option<i64>,
}

/// Today (UTC) as the day prefixes spell it, `YYYY-MM-DD`, allowing for a clock a little ahead:
/// a day after it is in the future.
pub fn today(now: OffsetDateTime) -> String {
    let day = (now.to_offset(time::UtcOffset::UTC) + FUTURE_TOLERANCE).date();
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The day a delimited listing's common prefix names (`{under}YYYY-MM-DD/`), when it is a real
/// date.
pub fn listed_day<'a>(prefix: &'a str, under: &str) -> Option<&'a str> {
    let day = prefix.strip_prefix(under)?.strip_suffix('/')?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    (day.len() == 10 && time::Date::parse(day, format).is_ok()).then_some(day)
}

/// The listed days split for the search: every day after `today` (all of them are listed), then
/// the others newest first (listed until one holds a backup of this tool's layout).
pub fn days_to_list<'a>(days: &[&'a str], today: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut days = days.to_vec();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    let split = days.iter().take_while(|d| **d > today).count();
    let past = days.split_off(split);
    (days, past)
}

/// What the search found for one region at one place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Newest {
    /// The candidate S3 stored last (the key breaks a tie); `None` when there is none.
    pub newest: Option<StoredBackup>,
    /// Candidates under a day after today that the stack does not acknowledge: only a misused
    /// backup credential (or a wrong clock) writes there.
    pub future: Vec<String>,
    /// Keys under a day after today that the stack acknowledges: listed, never candidates.
    pub acknowledged: Vec<String>,
    /// The layout of the candidates: the old script's only while the bucket holds none of this
    /// tool's for the region.
    pub layout: Option<Layout>,
}

/// What the bucket holds for the search: each day listed (future days, then past days newest
/// first up to the first holding this tool's layout) with the region's backups under it.
pub struct Listed<'a> {
    pub region: &'a str,
    pub environment: &'a str,
    /// `""` for a region's own bucket, `copies/` for its copies in another region's.
    pub under: &'a str,
    pub future: Vec<StoredBackup>,
    pub past: Vec<(String, Vec<StoredBackup>)>,
}

/// The region's newest backup among what was listed: this tool's documents under the newest
/// past day holding one and under every future day; the old script's only when none of this
/// tool's was found. Keys `acknowledged` are set aside, never chosen.
pub fn choose(listed: Listed, acknowledged: &[String]) -> Newest {
    let layout_of = |b: &StoredBackup| {
        b.key
            .strip_prefix(listed.under)
            .and_then(|k| backup_layout(k, listed.region, listed.environment))
    };
    let has = |layout: Layout, backups: &[StoredBackup]| {
        backups.iter().any(|b| layout_of(b) == Some(layout))
    };
    let ours =
        has(Layout::Ours, &listed.future) || listed.past.iter().any(|(_, b)| has(Layout::Ours, b));
    let layout = if ours { Layout::Ours } else { Layout::Old };
    let (acknowledged_keys, future): (Vec<StoredBackup>, Vec<StoredBackup>) = listed
        .future
        .into_iter()
        .filter(|b| layout_of(b).is_some())
        .partition(|b| acknowledged.contains(&b.key));
    let future: Vec<StoredBackup> = future
        .into_iter()
        .filter(|b| layout_of(b) == Some(layout))
        .collect();
    let past = listed
        .past
        .into_iter()
        .map(|(_, backups)| backups)
        .find(|backups| has(layout, backups))
        .unwrap_or_default()
        .into_iter()
        .filter(|b| layout_of(b) == Some(layout));
    let newest = future.iter().cloned().chain(past).max_by(|a, b| {
        (a.last_modified.unwrap_or(i64::MIN), &a.key)
            .cmp(&(b.last_modified.unwrap_or(i64::MIN), &b.key))
    });
    Newest {
        layout: newest.as_ref().map(|_| layout),
        newest,
        future: future.into_iter().map(|b| b.key).collect(),
        acknowledged: acknowledged_keys.into_iter().map(|b| b.key).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "us-west-2";

    fn ours(day: &str, time: &str, stored: i64) -> StoredBackup {
        let compact = day.replace('-', "");
        StoredBackup {
            key: format!("{day}/{R}/ssm-backup-dev-{R}-{compact}_{time}.json"),
            size: 10,
            last_modified: Some(stored),
        }
    }

    fn old(day: &str, time: &str, stored: i64) -> StoredBackup {
        let compact = day.replace('-', "");
        StoredBackup {
            key: format!("{day}/ssm-backup-dev-{compact}_{time}.json"),
            size: 10,
            last_modified: Some(stored),
        }
    }

    fn listed(future: Vec<StoredBackup>, past: Vec<(&str, Vec<StoredBackup>)>) -> Listed<'static> {
        Listed {
            region: R,
            environment: "dev",
            under: "",
            future,
            past: past.into_iter().map(|(d, b)| (d.to_string(), b)).collect(),
        }
    }

    fn key(newest: &Newest) -> &str {
        newest.newest.as_ref().map_or("", |b| b.key.as_str())
    }

    #[test]
    fn today_allows_for_a_clock_a_little_ahead() {
        let at = |s: &str| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
        };
        assert_eq!(today(at("2026-12-07T12:00:00Z")), "2026-12-07");
        assert_eq!(today(at("2026-12-07T23:56:00Z")), "2026-12-08");
        assert_eq!(today(at("2026-12-07T23:50:00-05:00")), "2026-12-08");
    }

    #[test]
    fn only_real_dates_are_days() {
        assert_eq!(listed_day("2026-12-07/", ""), Some("2026-12-07"));
        assert_eq!(
            listed_day("copies/2026-12-07/", "copies/"),
            Some("2026-12-07")
        );
        for prefix in [
            "copies/",
            "2026-13-45/",
            "2026-02-30/",
            "2026-12-7/",
            "x2026-12-07/",
        ] {
            assert_eq!(listed_day(prefix, ""), None, "{prefix}");
        }
        assert_eq!(listed_day("2026-12-07/", "copies/"), None);
    }

    #[test]
    fn future_days_are_all_listed_then_the_past_newest_first() {
        let days = [
            "2026-12-05",
            "2026-12-09",
            "2026-12-07",
            "2026-12-08",
            "2027-01-01",
        ];
        let (future, past) = days_to_list(&days, "2026-12-07");
        assert_eq!(future, ["2027-01-01", "2026-12-09", "2026-12-08"]);
        assert_eq!(past, ["2026-12-07", "2026-12-05"]);
    }

    #[test]
    fn the_newest_is_the_one_s3_stored_last_whatever_its_name_says() {
        // A document named later but stored earlier (a clock or a forger chose its name).
        let found = choose(
            listed(
                vec![],
                vec![(
                    "2026-12-07",
                    vec![
                        ours("2026-12-07", "230000", 100),
                        ours("2026-12-07", "010000", 200),
                    ],
                )],
            ),
            &[],
        );
        assert_eq!(key(&found), ours("2026-12-07", "010000", 0).key);
        assert_eq!(found.layout, Some(Layout::Ours));
        assert!(found.future.is_empty());
        // The key breaks a tie.
        let found = choose(
            listed(
                vec![],
                vec![(
                    "2026-12-07",
                    vec![
                        ours("2026-12-07", "010000", 100),
                        ours("2026-12-07", "020000", 100),
                    ],
                )],
            ),
            &[],
        );
        assert_eq!(key(&found), ours("2026-12-07", "020000", 0).key);
    }

    #[test]
    fn a_future_day_is_a_candidate_and_named_unless_acknowledged() {
        let planted = ours("2027-01-01", "000000", 50);
        let found = choose(
            listed(
                vec![planted.clone()],
                vec![("2026-12-07", vec![ours("2026-12-07", "010000", 100)])],
            ),
            &[],
        );
        assert_eq!(found.future, std::slice::from_ref(&planted.key));
        // Stored before the real one, so not the newest; still named.
        assert_eq!(key(&found), ours("2026-12-07", "010000", 0).key);

        let found = choose(
            listed(
                vec![planted.clone()],
                vec![("2026-12-07", vec![ours("2026-12-07", "010000", 100)])],
            ),
            std::slice::from_ref(&planted.key),
        );
        assert!(found.future.is_empty());
        assert_eq!(found.acknowledged, [planted.key]);
    }

    #[test]
    fn the_old_scripts_documents_count_only_while_none_of_ours_is_there() {
        // Side by side: ours and the old script's on the same day; ours is the newest even when
        // the old one was stored after it.
        let found = choose(
            listed(
                vec![],
                vec![(
                    "2026-12-07",
                    vec![
                        ours("2026-12-07", "130000", 100),
                        old("2026-12-07", "220000", 300),
                    ],
                )],
            ),
            &[],
        );
        assert_eq!(key(&found), ours("2026-12-07", "130000", 0).key);
        // A day with only the old script's: the newest day holding ours is looked for.
        let found = choose(
            listed(
                vec![],
                vec![
                    ("2026-12-07", vec![old("2026-12-07", "220000", 300)]),
                    ("2026-12-06", vec![ours("2026-12-06", "130000", 100)]),
                ],
            ),
            &[],
        );
        assert_eq!(key(&found), ours("2026-12-06", "130000", 0).key);
        // Only the old script's: its newest day.
        let found = choose(
            listed(
                vec![],
                vec![
                    ("2026-12-07", vec![old("2026-12-07", "220000", 300)]),
                    ("2026-12-06", vec![old("2026-12-06", "220000", 200)]),
                ],
            ),
            &[],
        );
        assert_eq!(key(&found), old("2026-12-07", "220000", 0).key);
        assert_eq!(found.layout, Some(Layout::Old));
        // Nothing at all.
        let found = choose(listed(vec![], vec![("2026-12-07", vec![])]), &[]);
        assert_eq!(found, Newest::default());
    }

    #[test]
    fn a_copy_is_found_under_its_prefix() {
        let mut copy = ours("2026-12-07", "010000", 100);
        copy.key = format!("copies/{}", copy.key);
        let found = choose(
            Listed {
                under: "copies/",
                ..listed(vec![], vec![("2026-12-07", vec![copy.clone()])])
            },
            &[],
        );
        assert_eq!(key(&found), copy.key);
    }
}
