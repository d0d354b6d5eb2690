//! `verify`: whether one region's newest backup is there, intact and fresh, from the facts the
//! shell gathered (pointers, the object's attributes and bytes' digest, the document). Pure.

use serde::Serialize;
use time::OffsetDateTime;

use super::document::{BackupDocument, DocumentFormat, entry_problems, identity_problems};
use super::selection::Selection;
use super::store::{DEFAULT_POINTER_KEY, pointer_key};

/// What a region's newest backup is held to.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub environment: &'a str,
    /// Every name in the document belongs to it.
    pub selection: &'a Selection,
    pub max_age_hours: u64,
    /// A larger object is not read (`--max-document-bytes`).
    pub max_document_bytes: u64,
    /// The count may fall by at most this share from the previous backup (`--max-count-drop`).
    pub max_count_drop_percent: u64,
}

/// How far in the future a backup's own timestamp may be (clocks differ a little).
pub const FUTURE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// `--max-document-bytes` by default: far above any real environment (10,000 Advanced
/// parameters of 8 KB are 80 MB), far below what would exhaust a runner's memory.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

/// What the shell found about a region's newest backup.
#[derive(Debug)]
pub struct RegionFacts {
    pub region: String,
    pub bucket: String,
    /// The content of `latest-<region>.txt`; `None` when it does not exist.
    pub pointer: Option<String>,
    /// For the default region, the content of `latest.txt` (`Some(None)`: it does not exist).
    pub default_pointer: Option<Option<String>>,
    /// The object the pointer names; `None` when there is no pointer or no such object.
    pub object: Option<ObjectFacts>,
    /// Parameters of the environment live in the region now (information only).
    pub live_count: Option<u64>,
    /// The backup of the region before the newest one, if any.
    pub previous: Option<PreviousBackup>,
}

/// The backup before the newest: where, and how many parameters it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousBackup {
    pub key: String,
    pub count: u64,
}

#[derive(Debug)]
pub struct ObjectFacts {
    pub key: String,
    /// `x-amz-server-side-encryption` as stored.
    pub encryption: Option<String>,
    /// The KMS key of an `aws:kms` object.
    pub kms_key_id: Option<String>,
    /// The SHA-256 checksum S3 stored with the object (base64), if any.
    pub stored_sha256: Option<String>,
    /// The SHA-256 of the bytes read (base64).
    pub read_sha256: String,
    /// Versions of the key (a backup key is written once).
    pub versions: usize,
    /// The object's size in bytes; one over the limit is not read (`read_sha256` empty and the
    /// document an error).
    pub size: u64,
    pub last_modified: OffsetDateTime,
    pub document: Result<BackupDocument, String>,
}

/// One check's outcome: its name, and what was found when it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub check: Check,
    pub ok: bool,
    pub found: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionVerdict {
    pub region: String,
    pub bucket: String,
    pub object: Option<String>,
    pub checks: Vec<CheckOutcome>,
    /// Parameters in the backup, and live now (information).
    pub parameter_count: Option<u64>,
    pub live_count: Option<u64>,
    pub age_hours: Option<f64>,
}

impl RegionVerdict {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// A check of a region's newest backup: a closed set, so a new check does not compile until it
/// has its name. Declared in report order (`VARIANTS`); in JSON, its kebab-case name (`as_str`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Pointer,
    DefaultPointer,
    Object,
    Size,
    Encryption,
    Checksum,
    SingleVersion,
    Document,
    Identity,
    Entries,
    NotEmpty,
    Selection,
    CountDrop,
    NotFuture,
    Fresh,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Pointer => "pointer",
            Check::DefaultPointer => "default-pointer",
            Check::Object => "object",
            Check::Size => "size",
            Check::Encryption => "encryption",
            Check::Checksum => "checksum",
            Check::SingleVersion => "single-version",
            Check::Document => "document",
            Check::Identity => "identity",
            Check::Entries => "entries",
            Check::NotEmpty => "not-empty",
            Check::Selection => "selection",
            Check::CountDrop => "count-drop",
            Check::NotFuture => "not-future",
            Check::Fresh => "fresh",
        }
    }
}

/// Every check of one region.
pub fn verify_region(
    facts: &RegionFacts,
    expected: &Expected,
    now: OffsetDateTime,
) -> RegionVerdict {
    let mut checks = Vec::new();
    let mut check = |check: Check, ok: bool, found: String| {
        checks.push(CheckOutcome {
            check,
            ok,
            found: if ok { String::new() } else { found },
        });
    };
    pointer_checks(facts, &mut check);
    let mut verdict = RegionVerdict {
        region: facts.region.clone(),
        bucket: facts.bucket.clone(),
        object: facts.pointer.clone(),
        checks: Vec::new(),
        parameter_count: None,
        live_count: facts.live_count,
        age_hours: None,
    };
    if let Some(object) = &facts.object {
        object_checks(
            object,
            expected.environment,
            &facts.region,
            expected.max_document_bytes,
            &mut check,
        );
        document_checks(object, facts.previous.as_ref(), expected, &mut check);
        let age = time_checks(object, expected.max_age_hours, now, &mut check);
        verdict.age_hours = Some((age * 10.0).round() / 10.0);
        verdict.parameter_count = object
            .document
            .as_ref()
            .ok()
            .map(|d| d.parameters.len() as u64);
    }
    verdict.checks = checks;
    verdict
}

/// The checks of the pointers: the region's exists, the default one (in the default region)
/// names the same backup, and the object named exists.
fn pointer_checks(facts: &RegionFacts, check: &mut impl FnMut(Check, bool, String)) {
    let pointer_name = pointer_key(&facts.region);
    check(
        Check::Pointer,
        facts.pointer.is_some(),
        format!("{pointer_name} does not exist in {}", facts.bucket),
    );
    if let Some(default) = &facts.default_pointer {
        check(
            Check::DefaultPointer,
            default.is_some() && *default == facts.pointer,
            match default {
                None => format!("{DEFAULT_POINTER_KEY} does not exist"),
                Some(d) => format!(
                    "{DEFAULT_POINTER_KEY} names {d}, but {pointer_name} names {}",
                    facts.pointer.as_deref().unwrap_or("nothing")
                ),
            },
        );
    }
    if let Some(pointer) = &facts.pointer {
        check(
            Check::Object,
            facts.object.is_some(),
            format!("{pointer_name} names {pointer}, which does not exist"),
        );
    }
}

/// The checks of when the backup was taken: not in the future, and not older than
/// `max_age_hours`. Returns its age in hours.
fn time_checks(
    object: &ObjectFacts,
    max_age_hours: u64,
    now: OffsetDateTime,
    check: &mut impl FnMut(Check, bool, String),
) -> f64 {
    let taken = taken_at(object);
    check(
        Check::NotFuture,
        taken <= now + FUTURE_TOLERANCE,
        format!(
            "the backup says it was taken at {taken}, {:.0} minutes in the future: a clock is wrong or the document was forged",
            (taken - now).as_seconds_f64() / 60.0
        ),
    );
    let age = (now - taken).as_seconds_f64() / 3600.0;
    check(
        Check::Fresh,
        age <= max_age_hours as f64,
        format!("the newest backup is {age:.1} hours old (more than {max_age_hours})"),
    );
    age
}

/// The checks that read the document against the environment: every name belongs to it, and
/// the count did not fall too far from the previous backup.
fn document_checks(
    object: &ObjectFacts,
    previous: Option<&PreviousBackup>,
    expected: &Expected,
    check: &mut impl FnMut(Check, bool, String),
) {
    let Ok(doc) = &object.document else { return };
    let outside: Vec<String> = doc
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !expected.selection.contains(n))
        .map(|n| n.escape_debug().to_string())
        .collect();
    check(
        Check::Selection,
        outside.is_empty(),
        format!(
            "{} names outside the environment ({}), which restore skips: {}",
            outside.len(),
            expected.selection.describe(),
            outside.join(", ")
        ),
    );
    if let Some(previous) = previous {
        let count = doc.parameters.len() as u64;
        let dropped = previous.count.saturating_sub(count);
        check(
            Check::CountDrop,
            dropped * 100 <= expected.max_count_drop_percent * previous.count,
            format!(
                "the backup holds {count} parameters, {dropped} fewer than the previous one ({}, {}): more than --max-count-drop {}%",
                previous.key, previous.count, expected.max_count_drop_percent
            ),
        );
    }
}

/// When the backup was taken: the format-2 document's `backup_timestamp` (UTC), else (the old
/// script wrote local time, zone unknown) when the object was stored.
fn taken_at(object: &ObjectFacts) -> OffsetDateTime {
    let format = time::macros::format_description!("[year][month][day]_[hour][minute][second]");
    object
        .document
        .as_ref()
        .ok()
        .filter(|d| d.format == DocumentFormat::V2)
        .and_then(|d| d.backup_timestamp.as_deref())
        .and_then(|t| time::PrimitiveDateTime::parse(t, format).ok())
        .map(|t| t.assume_utc())
        .unwrap_or(object.last_modified)
}

/// The checks of a stored backup object alone (what `restore` also requires before it reads
/// one): only the failed ones.
pub fn object_failures(
    object: &ObjectFacts,
    environment: &str,
    region: &str,
    max_document_bytes: u64,
) -> Vec<CheckOutcome> {
    let mut failed = Vec::new();
    object_checks(
        object,
        environment,
        region,
        max_document_bytes,
        &mut |check, ok, found| {
            if !ok {
                failed.push(CheckOutcome { check, ok, found });
            }
        },
    );
    failed
}

fn object_checks(
    object: &ObjectFacts,
    environment: &str,
    region: &str,
    max_document_bytes: u64,
    check: &mut impl FnMut(Check, bool, String),
) {
    storage_checks(object, max_document_bytes, check);
    content_checks(object, environment, region, check);
}

/// The checks of the object as stored: within the size limit, encrypted, its checksum
/// matching the bytes read, written once.
fn storage_checks(
    object: &ObjectFacts,
    max_document_bytes: u64,
    check: &mut impl FnMut(Check, bool, String),
) {
    let read = object.size <= max_document_bytes;
    check(
        Check::Size,
        read,
        format!(
            "the object is {} bytes, more than --max-document-bytes ({max_document_bytes}): it was not read",
            object.size
        ),
    );
    // AES256, or SSE-KMS under a key (which key, the bucket policy decides at the write).
    let encrypted = match object.encryption.as_deref() {
        Some("AES256") => true,
        Some("aws:kms") => object.kms_key_id.is_some(),
        _ => false,
    };
    check(
        Check::Encryption,
        encrypted,
        format!(
            "the object is encrypted with {}, neither AES256 nor a KMS key",
            object.encryption.as_deref().unwrap_or("nothing")
        ),
    );
    // The old script stored no checksum: its documents rest on the parse and the count.
    let legacy = matches!(&object.document, Ok(d) if d.format == DocumentFormat::Legacy);
    check(
        Check::Checksum,
        read && match &object.stored_sha256 {
            Some(stored) => *stored == object.read_sha256,
            None => legacy,
        },
        match &object.stored_sha256 {
            _ if !read => "not checked: the object was not read".to_string(),
            None => "the object has no stored SHA-256 checksum".to_string(),
            Some(stored) => format!(
                "the stored SHA-256 is {stored} but the bytes read hash to {}",
                object.read_sha256
            ),
        },
    );
    check(
        Check::SingleVersion,
        object.versions == 1,
        format!(
            "the key has {} versions: a backup is written once, so it was overwritten",
            object.versions
        ),
    );
}

/// The checks of what the object holds: a backup document, of this environment and region,
/// with entries restore can write, and at least one.
fn content_checks(
    object: &ObjectFacts,
    environment: &str,
    region: &str,
    check: &mut impl FnMut(Check, bool, String),
) {
    match &object.document {
        Ok(doc) => {
            check(Check::Document, true, String::new());
            let problems = identity_problems(doc, environment, region);
            check(Check::Identity, problems.is_empty(), problems.join("; "));
            let problems = entry_problems(doc);
            check(
                Check::Entries,
                problems.is_empty(),
                format!("restore would fail on: {}", problems.join("; ")),
            );
            check(
                Check::NotEmpty,
                !doc.parameters.is_empty(),
                "the backup holds no parameter".into(),
            );
        }
        Err(why) => check(Check::Document, false, why.clone()),
    }
}

/// The text report: a line per region, then each failure with its region and check.
pub fn render_text(verdicts: &[RegionVerdict]) -> String {
    let mut out = format!(
        "{:<16} {:<6} {:>10} {:>6} {:>9}  {}\n",
        "REGION", "RESULT", "PARAMETERS", "LIVE", "AGE (H)", "OBJECT"
    );
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for v in verdicts {
        out.push_str(&format!(
            "{:<16} {:<6} {:>10} {:>6} {:>9}  {}\n",
            v.region,
            if v.ok() { "OK" } else { "FAILED" },
            or_dash(v.parameter_count.map(|n| n.to_string())),
            or_dash(v.live_count.map(|n| n.to_string())),
            or_dash(v.age_hours.map(|h| format!("{h:.1}"))),
            v.object.as_deref().unwrap_or("-"),
        ));
    }
    let failures: Vec<String> = verdicts
        .iter()
        .flat_map(|v| {
            v.checks
                .iter()
                .filter(|c| !c.ok)
                .map(move |c| format!("  {} {}: {}", v.region, c.check.as_str(), c.found))
        })
        .collect();
    if failures.is_empty() {
        out.push_str("\nEvery check holds.\n");
    } else {
        out.push_str(&format!(
            "\n{} checks failed:\n{}\n",
            failures.len(),
            failures.join("\n")
        ));
    }
    for v in verdicts {
        if let (Some(backup), Some(live)) = (v.parameter_count, v.live_count)
            && backup != live
        {
            out.push_str(&format!(
                "Note: {} has {live} parameters live now, {backup} in its newest backup ({:+}).\n",
                v.region,
                live as i64 - backup as i64
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::document::read_document;
    use strum::VariantArray;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 14:00 UTC);
    const DOC: &str = r#"{"format_version":2,"backup_timestamp":"20261124_130000","environment":"dev","region":"us-east-1","parameters":[{"Name":"/app/dev/a","Type":"String","Value":"v","Version":1}],"parameter_count":1}"#;

    fn healthy() -> RegionFacts {
        let key = "2026-11-24/us-east-1/ssm-backup-dev-us-east-1-20261124_130000.json";
        RegionFacts {
            region: "us-east-1".into(),
            bucket: "b".into(),
            pointer: Some(key.into()),
            default_pointer: Some(Some(key.into())),
            object: Some(ObjectFacts {
                key: key.into(),
                encryption: Some("AES256".into()),
                kms_key_id: None,
                stored_sha256: Some("abc=".into()),
                read_sha256: "abc=".into(),
                versions: 1,
                size: DOC.len() as u64,
                last_modified: datetime!(2026-11-24 13:00 UTC),
                document: read_document(DOC.as_bytes()),
            }),
            live_count: Some(3),
            previous: Some(PreviousBackup {
                key: "2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json".into(),
                count: 2,
            }),
        }
    }

    fn expected(selection: &Selection) -> Expected<'_> {
        Expected {
            environment: "dev",
            selection,
            max_age_hours: 26,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            max_count_drop_percent: 50,
        }
    }

    fn failed(facts: &RegionFacts) -> Vec<(Check, String)> {
        let selection = Selection::segment("dev");
        verify_region(facts, &expected(&selection), NOW)
            .checks
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| (c.check, c.found))
            .collect()
    }

    #[test]
    fn every_check_serializes_as_its_name() {
        for check in Check::VARIANTS {
            assert_eq!(
                serde_json::to_value(check).ok(),
                Some(serde_json::Value::from(check.as_str())),
                "{check:?}"
            );
        }
    }

    #[test]
    fn a_fresh_whole_backup_passes_every_check() {
        let selection = Selection::segment("dev");
        let v = verify_region(&healthy(), &expected(&selection), NOW);
        assert!(v.ok(), "{v:?}");
        let names: Vec<Check> = v.checks.iter().map(|c| c.check).collect();
        assert_eq!(names, Check::VARIANTS);
        assert_eq!(
            (v.parameter_count, v.live_count, v.age_hours),
            (Some(1), Some(3), Some(1.0))
        );
        let text = render_text(&[v]);
        assert!(text.contains("Every check holds."), "{text}");
        assert!(
            text.contains(
                "Note: us-east-1 has 3 parameters live now, 1 in its newest backup (+2)."
            ),
            "{text}"
        );
    }

    #[test]
    fn each_fault_fails_its_own_check() {
        let mut f = healthy();
        f.pointer = None;
        f.object = None;
        assert_eq!(failed(&f)[0].0, Check::Pointer);

        let mut f = healthy();
        f.object = None;
        assert_eq!(
            failed(&f).iter().map(|c| c.0).collect::<Vec<_>>(),
            [Check::Object]
        );

        let mut f = healthy();
        f.default_pointer = Some(Some("other.json".into()));
        assert_eq!(failed(&f)[0].0, Check::DefaultPointer);

        let mut f = healthy();
        f.object.as_mut().unwrap().versions = 2;
        assert_eq!(
            failed(&f),
            [(
                Check::SingleVersion,
                "the key has 2 versions: a backup is written once, so it was overwritten"
                    .to_string()
            )]
        );

        let mut f = healthy();
        f.object.as_mut().unwrap().read_sha256 = "xyz=".into();
        assert_eq!(failed(&f)[0].0, Check::Checksum);

        let mut f = healthy();
        f.object.as_mut().unwrap().encryption = None;
        assert_eq!(failed(&f)[0].0, Check::Encryption);

        let mut f = healthy();
        f.object.as_mut().unwrap().document = read_document(
            DOC.replace(r#""parameter_count":1"#, r#""parameter_count":5"#)
                .as_bytes(),
        );
        assert_eq!(failed(&f)[0].0, Check::Document);

        let mut f = healthy();
        f.object.as_mut().unwrap().document =
            read_document(DOC.replace("20261124_130000", "20261122_130000").as_bytes());
        assert_eq!(
            failed(&f),
            [(
                Check::Fresh,
                "the newest backup is 49.0 hours old (more than 26)".to_string()
            )]
        );
        // An old-format document has no reliable time of its own: the object's counts.
        let mut f = healthy();
        let legacy = r#"{"backup_timestamp":"20261124_130000","environment":"dev","parameters":[{"Name":"/app/dev/a","Type":"String","Value":"v","Version":1}],"parameter_count":1}"#;
        let object = f.object.as_mut().unwrap();
        object.document = read_document(legacy.as_bytes());
        object.last_modified = datetime!(2026-11-20 14:00 UTC);
        assert_eq!(failed(&f)[0].0, Check::Fresh);

        let mut f = healthy();
        f.object.as_mut().unwrap().document =
            read_document(DOC.replace("\"dev\"", "\"prod\"").as_bytes());
        assert_eq!(failed(&f)[0].0, Check::Identity);
        let selection = Selection::segment("dev");
        let text = render_text(&[verify_region(&f, &expected(&selection), NOW)]);
        assert!(text.contains("1 checks failed:\n  us-east-1 identity: it is a backup of environment `prod`, not `dev`"), "{text}");
    }

    /// `healthy()` with this document.
    fn with_document(doc: &str) -> RegionFacts {
        let mut f = healthy();
        let object = f.object.as_mut().unwrap();
        object.document = read_document(doc.as_bytes());
        f
    }

    #[test]
    fn what_restore_would_refuse_or_fail_on_fails_verify() {
        // A name outside the environment (the old job's Contains rule caught /prod/devices/).
        let f = with_document(&DOC.replace("/app/dev/a", "/prod/devices/serial"));
        assert_eq!(
            failed(&f),
            [(
                Check::Selection,
                "1 names outside the environment (names holding the segment /dev/), which restore skips: /prod/devices/serial".to_string()
            )]
        );
        // Entries restore would fail on.
        let f = with_document(&DOC.replace(
            r#""Type":"String","Value":"v""#,
            r#""Type":"Text","Value":"""#,
        ));
        let fails = failed(&f);
        assert_eq!(fails.len(), 1, "{fails:?}");
        assert_eq!(fails[0].0, Check::Entries);
        assert!(
            fails[0].1.contains("has the type `Text`") && fails[0].1.contains("has an empty value"),
            "{fails:?}"
        );
        // A timestamp in the future would stay fresh forever.
        let f = with_document(&DOC.replace("20261124_130000", "20261124_141000"));
        let fails = failed(&f);
        assert_eq!(fails.len(), 1, "{fails:?}");
        assert_eq!(fails[0].0, Check::NotFuture);
        assert!(fails[0].1.contains("10 minutes in the future"), "{fails:?}");
        // Four minutes ahead is a clock's difference, not a forgery.
        assert!(
            failed(&with_document(
                &DOC.replace("20261124_130000", "20261124_140400")
            ))
            .is_empty()
        );
        // Too large: not read, and said so.
        let mut f = healthy();
        f.object.as_mut().unwrap().size = DEFAULT_MAX_DOCUMENT_BYTES + 1;
        let checks: Vec<Check> = failed(&f).iter().map(|c| c.0).collect();
        assert_eq!(
            checks,
            [Check::Size, Check::Checksum],
            "the document was read here: {checks:?}"
        );
    }

    #[test]
    fn a_count_that_fell_by_more_than_the_limit_fails() {
        let mut f = healthy();
        f.previous.as_mut().unwrap().count = 2;
        assert!(failed(&f).is_empty(), "exactly 50% fewer: {:?}", failed(&f));
        f.previous.as_mut().unwrap().count = 3;
        let fails = failed(&f);
        assert_eq!(fails[0].0, Check::CountDrop, "{fails:?}");
        assert_eq!(
            fails[0].1,
            "the backup holds 1 parameters, 2 fewer than the previous one (2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json, 3): more than --max-count-drop 50%"
        );
        f.previous = None;
        assert!(
            failed(&f).is_empty(),
            "the first backup has nothing to compare with"
        );
    }
}
