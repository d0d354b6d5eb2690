//! `verify --deep` against Parameter Store itself: each parameter of the newest backup read live
//! at the version the backup holds and compared by SHA-256 (`matches-ssm`), and every live
//! parameter of the environment last modified before the backup found in it at its live version
//! (`complete`). Pure: values arrive here only as digests, and no finding holds one.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::backup::BackupParameter;
use super::document::BackupDocument;
use super::selection::Selection;

/// GetParameters takes at most ten names (or `name:version` selectors) a call.
pub const NAMES_PER_CALL: usize = 10;

/// A live parameter as DescribeParameters lists it: no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMeta {
    pub name: String,
    pub version: i64,
    /// Milliseconds since the epoch.
    pub last_modified: Option<i64>,
}

/// One version of a parameter as GetParameters (`name:version`) returned it, its value hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtVersion {
    pub kind: String,
    pub value_sha256: [u8; 32],
    /// Milliseconds since the epoch.
    pub last_modified: Option<i64>,
}

/// What Parameter Store holds now, for the comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFacts {
    /// The environment's live parameters.
    pub listing: Vec<LiveMeta>,
    /// Each backup parameter read at its version (the names in the environment only): `None`
    /// when SSM holds no such version.
    pub at_version: BTreeMap<String, Option<AtVersion>>,
}

/// The SHA-256 of a value: all that leaves the shell of a value read live.
pub fn value_sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// The `name:version` selector GetParameters reads one version by.
pub fn selector(parameter: &BackupParameter) -> String {
    format!("{}:{}", parameter.name, parameter.version)
}

/// The backup's parameters to read live: those of the environment (others fail `selection`).
pub fn to_read<'a>(
    document: &'a BackupDocument,
    selection: &Selection,
) -> Vec<&'a BackupParameter> {
    document
        .parameters
        .iter()
        .filter(|p| selection.contains(&p.name))
        .collect()
}

/// What the comparison found: names and reasons only, never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// `name (value)` or `name (type)`: the backup differs from SSM at the backup's version.
    pub differs: Vec<String>,
    /// `name: why` for each parameter that could not be compared.
    pub not_checked: Vec<String>,
    /// `name (...)`: live since before the backup, but not in it at its live version. `None`
    /// when the backup's time is not known in UTC (the old script wrote local time).
    pub incomplete: Option<Vec<String>>,
}

impl Comparison {
    /// What `matches-ssm` says when a parameter differs.
    pub fn differs_found(&self) -> String {
        format!(
            "{} parameters differ from what Parameter Store holds at the backup's version (compared by SHA-256; no value shown): {}",
            self.differs.len(),
            self.differs.join(", ")
        )
    }

    /// What `complete` says of the parameters the backup lacks.
    pub fn incomplete_found(missing: &[String]) -> String {
        format!(
            "{} parameters were live before the backup was taken but are not in it at their live version: {}",
            missing.len(),
            missing.join(", ")
        )
    }

    /// The failed checks as `check: found` lines (for the drill's report).
    pub fn failures(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.differs.is_empty() {
            lines.push(format!("matches-ssm: {}", self.differs_found()));
        }
        if let Some(missing) = self.incomplete.as_ref().filter(|m| !m.is_empty()) {
            lines.push(format!(
                "complete: {}",
                Comparison::incomplete_found(missing)
            ));
        }
        lines
    }
}

/// A document's `LastModifiedDate` (RFC 3339, or seconds since the epoch as the old script
/// wrote them) in milliseconds.
fn millis(text: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    }
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
        .map(|s| (s * 1000.0).round() as i64)
}

/// The backup against Parameter Store: each parameter at its version, and the live listing
/// against the backup taken at `taken` (UTC; `None` when unknown).
pub fn compare(
    document: &BackupDocument,
    selection: &Selection,
    taken: Option<OffsetDateTime>,
    live: &LiveFacts,
) -> Comparison {
    let listed: BTreeMap<&str, &LiveMeta> =
        live.listing.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut found = Comparison::default();
    let taken_millis = taken.and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok());
    for parameter in to_read(document, selection) {
        let name = parameter.name.escape_debug().to_string();
        let version = parameter.version;
        match live.at_version.get(&parameter.name).and_then(Option::as_ref) {
            None if !listed.contains_key(parameter.name.as_str()) => found
                .not_checked
                .push(format!("{name}: deleted from Parameter Store since the backup")),
            None => found.not_checked.push(format!(
                "{name}: version {version} is no longer kept (SSM keeps a parameter's last 100 versions)"
            )),
            Some(at) => {
                let recorded = parameter.last_modified_date.as_deref().and_then(millis);
                if let (Some(recorded), Some(live)) = (recorded, at.last_modified)
                    && recorded != live
                {
                    // Written after the backup: the parameter was deleted and created again
                    // since. Written before it: the backup does not say what SSM held.
                    if taken_millis.is_none_or(|taken| live >= taken) {
                        found.not_checked.push(format!(
                            "{name}: version {version} in Parameter Store was written after the backup (deleted and created again since)"
                        ));
                    } else {
                        found.differs.push(format!("{name} (time written)"));
                    }
                } else if at.kind != parameter.kind {
                    found.differs.push(format!("{name} (type)"));
                } else if at.value_sha256 != value_sha256(parameter.value.expose()) {
                    found.differs.push(format!("{name} (value)"));
                }
            }
        }
    }
    found.incomplete = taken.map(|taken| incomplete(document, taken, &live.listing));
    found
}

/// The live parameters last modified before `taken` that the backup lacks at their live version.
fn incomplete(
    document: &BackupDocument,
    taken: OffsetDateTime,
    listing: &[LiveMeta],
) -> Vec<String> {
    let held: BTreeMap<&str, i64> = document
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.version))
        .collect();
    let before = i64::try_from(taken.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    listing
        .iter()
        .filter(|m| m.last_modified.is_some_and(|t| t < before))
        .filter_map(|m| {
            let name = m.name.escape_debug();
            match held.get(m.name.as_str()) {
                None => Some(format!("{name} (not in the backup)")),
                Some(v) if *v != m.version => Some(format!(
                    "{name} (version {} live, {v} in the backup)",
                    m.version
                )),
                Some(_) => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::document::read_document;

    const DOC: &str = r#"{"format_version":2,"backup_timestamp":"20261124_130000","environment":"dev","region":"us-east-1","parameters":[
        {"Name":"/app/dev/a","Type":"String","Value":"v","Version":3,"LastModifiedDate":"2026-11-24T12:00:00.250Z"},
        {"Name":"/app/dev/s","Type":"SecureString","Value":"s3cret","Version":1,"LastModifiedDate":"2026-11-20T10:00:00Z"}
    ],"parameter_count":2}"#;
    const A_AT: i64 = 1_795_521_600_250; // 2026-11-24T12:00:00.250Z
    const S_AT: i64 = 1_795_168_800_000; // 2026-11-20T10:00:00Z

    fn live() -> LiveFacts {
        LiveFacts {
            listing: vec![
                LiveMeta {
                    name: "/app/dev/a".into(),
                    version: 3,
                    last_modified: Some(A_AT),
                },
                LiveMeta {
                    name: "/app/dev/s".into(),
                    version: 1,
                    last_modified: Some(S_AT),
                },
            ],
            at_version: [
                (
                    "/app/dev/a".to_string(),
                    Some(AtVersion {
                        kind: "String".into(),
                        value_sha256: value_sha256("v"),
                        last_modified: Some(A_AT),
                    }),
                ),
                (
                    "/app/dev/s".to_string(),
                    Some(AtVersion {
                        kind: "SecureString".into(),
                        value_sha256: value_sha256("s3cret"),
                        last_modified: Some(S_AT),
                    }),
                ),
            ]
            .into(),
        }
    }

    fn compared(live: &LiveFacts) -> Comparison {
        let doc = read_document(DOC.as_bytes()).unwrap();
        compare(&doc, &Selection::segment("dev"), doc.taken_utc(), live)
    }

    #[test]
    fn the_document_times_are_read_to_the_millisecond() {
        assert_eq!(millis("2026-11-24T12:00:00.250Z"), Some(A_AT));
        assert_eq!(millis("1795168800"), Some(S_AT));
        assert_eq!(millis("1795521600.25"), Some(A_AT));
        assert_eq!(millis("yesterday"), None);
    }

    #[test]
    fn a_backup_that_is_what_ssm_holds_passes() {
        assert_eq!(
            compared(&live()),
            Comparison {
                incomplete: Some(vec![]),
                ..Comparison::default()
            }
        );
    }

    #[test]
    fn a_value_or_type_that_differs_is_named_without_the_value() {
        let mut l = live();
        if let Some(Some(at)) = l.at_version.get_mut("/app/dev/s") {
            at.value_sha256 = value_sha256("last-month");
        }
        if let Some(Some(at)) = l.at_version.get_mut("/app/dev/a") {
            at.kind = "StringList".into();
        }
        let c = compared(&l);
        assert_eq!(c.differs, ["/app/dev/a (type)", "/app/dev/s (value)"]);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn what_cannot_be_compared_is_listed_with_why() {
        let mut l = live();
        // Deleted and created again since: the version exists, written after the backup.
        if let Some(Some(at)) = l.at_version.get_mut("/app/dev/a") {
            at.last_modified = Some(A_AT + 2 * 3_600_000);
        }
        // Deleted since.
        l.at_version.insert("/app/dev/s".into(), None);
        l.listing.retain(|m| m.name != "/app/dev/s");
        let c = compared(&l);
        assert_eq!(c.differs, Vec::<String>::new());
        assert_eq!(c.not_checked.len(), 2, "{c:?}");
        assert!(c.not_checked[0].contains("deleted and created again since"));
        assert!(c.not_checked[1].contains("deleted from Parameter Store"));
        // Still listed, but the version is gone (over SSM's 100).
        let mut l = live();
        l.at_version.insert("/app/dev/s".into(), None);
        assert!(compared(&l).not_checked[0].contains("no longer kept"));
        // Written before the backup at another time than it says: not what SSM held.
        let mut l = live();
        if let Some(Some(at)) = l.at_version.get_mut("/app/dev/a") {
            at.last_modified = Some(A_AT + 1000);
        }
        assert_eq!(compared(&l).differs, ["/app/dev/a (time written)"]);
    }

    #[test]
    fn every_parameter_live_before_the_backup_is_in_it_at_its_live_version() {
        // A stale backup: /app/dev/a was at version 4 before the backup was taken.
        let mut l = live();
        l.listing[0].version = 4;
        l.listing.push(LiveMeta {
            name: "/app/dev/new".into(),
            version: 1,
            last_modified: Some(A_AT),
        });
        // Changed after the backup: not its business.
        l.listing.push(LiveMeta {
            name: "/app/dev/later".into(),
            version: 1,
            last_modified: Some(1_795_525_200_000), // 13:00:00 exactly: not before
        });
        assert_eq!(
            compared(&l).incomplete,
            Some(vec![
                "/app/dev/a (version 4 live, 3 in the backup)".to_string(),
                "/app/dev/new (not in the backup)".to_string()
            ])
        );
        // The old script's local time: not judged.
        let doc = read_document(DOC.replace("\"format_version\":2,", "").as_bytes());
        if let Ok(doc) = doc {
            assert_eq!(doc.taken_utc(), None);
        }
    }
}
