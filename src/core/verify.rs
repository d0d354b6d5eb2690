//! `verify`: whether one region's newest backup is there, intact and fresh, from the facts the
//! shell gathered: pointers, listing, versions and stamp (plain verify, which never reads a
//! document), and with `--deep` the object's attributes, its bytes' digest and the document.
//! Each outcome says what it was made from. Pure.

use serde::Serialize;
use time::OffsetDateTime;

use super::document::{BackupDocument, DocumentFormat, entry_problems, identity_problems};
use super::selection::Selection;
use super::stamp::Stamp;
use super::store::{DEFAULT_POINTER_KEY, copy_document_key, copy_pointer_key, pointer_key};

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
    /// With the stack's `copies`: the region's copy in another region's bucket.
    pub copy: Option<CopyFacts>,
}

/// A region's copy in the bucket of the region `copies` names.
#[derive(Debug)]
pub struct CopyFacts {
    pub region: String,
    pub bucket: String,
    /// The content of `copies/latest-<region>.txt` there; `None` when it does not exist.
    pub pointer: Option<String>,
    /// The object that pointer names; `None` when there is none.
    pub object: Option<ObjectFacts>,
}

/// The backup before the newest: where, and how many parameters it holds (its stamp says, in
/// plain verify; its document, with `--deep`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousBackup {
    pub key: String,
    pub count: u64,
}

/// What is known of the object a pointer names. Plain verify knows its listing, versions and
/// stamp (no `s3:GetObject`); `--deep` and restore also read it (`content`).
#[derive(Debug)]
pub struct ObjectFacts {
    pub key: String,
    /// The object's size in bytes; one over the limit is not read.
    pub size: u64,
    pub last_modified: OffsetDateTime,
    /// Versions of the key (a backup key is written once).
    pub versions: usize,
    /// Whether S3 holds a SHA-256 checksum of it (S3 checked the upload against it).
    pub has_sha256: bool,
    /// Its stamp (`core::stamp`, from its tags): `None` when it has none, or when it was not
    /// read (restore).
    pub stamp: Option<Result<Stamp, String>>,
    /// What only reading the object gives: `None` in plain verify.
    pub content: Option<ContentFacts>,
}

/// What reading the object gives: its attributes (HeadObject) and its bytes.
#[derive(Debug)]
pub struct ContentFacts {
    /// `x-amz-server-side-encryption` as stored.
    pub encryption: Option<String>,
    /// The KMS key of an `aws:kms` object.
    pub kms_key_id: Option<String>,
    /// The SHA-256 checksum S3 stored with the object (base64), if any.
    pub stored_sha256: Option<String>,
    /// The SHA-256 of the bytes read (base64); empty when the object was over the limit.
    pub read_sha256: String,
    pub document: Result<BackupDocument, String>,
}

/// What a check was made from: the object's metadata (pointers, listing, versions, tags,
/// attributes), its content (the document read), or nothing (`found` says why). A check not
/// made is not a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    Metadata,
    Content,
    NotChecked,
}

/// One check's outcome: its name, what it was made from, and what was found when it failed
/// (or why it was not made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    pub check: Check,
    /// False only for a check made that failed.
    pub ok: bool,
    pub basis: Basis,
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
    Stamp,
    Document,
    Identity,
    Entries,
    NotEmpty,
    Selection,
    CountDrop,
    NotFuture,
    Fresh,
    /// The region's copy (stack `copies`): its pointer names the copy of the newest backup,
    /// which exists.
    Copy,
    CopyChecksum,
    CopyFresh,
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
            Check::Stamp => "stamp",
            Check::Document => "document",
            Check::Identity => "identity",
            Check::Entries => "entries",
            Check::NotEmpty => "not-empty",
            Check::Selection => "selection",
            Check::CountDrop => "count-drop",
            Check::NotFuture => "not-future",
            Check::Fresh => "fresh",
            Check::Copy => "copy",
            Check::CopyChecksum => "copy-checksum",
            Check::CopyFresh => "copy-fresh",
        }
    }
}

/// Why plain verify does not make a check that needs the object read.
pub const DEEP_ONLY: &str =
    "only `verify --deep` reads the object (s3:GetObject, which the restore role has)";
/// Why plain verify does not make a check the stamp would answer, on an object without one.
const NO_STAMP: &str = "the object has no ssm-keeper-* tags (a backup written before backup stamped its documents): only `verify --deep` reads the document";
const BAD_STAMP: &str = "its tags are not a whole stamp (see `stamp`)";
const UNREADABLE: &str = "the document could not be read (see `document`)";

/// The outcomes of one region's checks, in the order made.
#[derive(Default)]
struct Outcomes(Vec<CheckOutcome>);

impl Outcomes {
    fn made(&mut self, check: Check, basis: Basis, ok: bool, found: String) {
        self.0.push(CheckOutcome {
            check,
            ok,
            basis,
            found: if ok { String::new() } else { found },
        });
    }

    fn not_checked(&mut self, check: Check, why: &str) {
        self.0.push(CheckOutcome {
            check,
            ok: true,
            basis: Basis::NotChecked,
            found: why.to_string(),
        });
    }
}

/// Every check of one region: from metadata alone when the object was not read (plain
/// verify), from its content as well when it was (`--deep`).
pub fn verify_region(
    facts: &RegionFacts,
    expected: &Expected,
    now: OffsetDateTime,
) -> RegionVerdict {
    let mut out = Outcomes::default();
    pointer_checks(facts, &mut out);
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
            &mut out,
        );
        stamp_checks(object, expected.environment, &facts.region, &mut out);
        document_checks(object, facts.previous.as_ref(), expected, &mut out);
        let age = time_checks(object, expected.max_age_hours, now, &mut out);
        verdict.age_hours = Some((age * 10.0).round() / 10.0);
        verdict.parameter_count = parameter_count(object).ok();
    }
    if let Some(copy) = &facts.copy {
        copy_checks(facts, copy, expected.max_age_hours, now, &mut out);
    }
    out.0.sort_by_key(|c| c.check);
    verdict.checks = out.0;
    verdict
}

/// The checks of the pointers: the region's exists, the default one (in the default region)
/// names the same backup, and the object named exists.
fn pointer_checks(facts: &RegionFacts, out: &mut Outcomes) {
    let pointer_name = pointer_key(&facts.region);
    out.made(
        Check::Pointer,
        Basis::Metadata,
        facts.pointer.is_some(),
        format!("{pointer_name} does not exist in {}", facts.bucket),
    );
    if let Some(default) = &facts.default_pointer {
        out.made(
            Check::DefaultPointer,
            Basis::Metadata,
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
        out.made(
            Check::Object,
            Basis::Metadata,
            facts.object.is_some(),
            format!("{pointer_name} names {pointer}, which does not exist"),
        );
    }
}

/// The checks of a region's copy: its pointer names the copy of the newest backup and it
/// exists; its checksum is the primary's (S3's own, from the stamps in plain verify, from the
/// objects' attributes with `--deep`); it is fresh.
fn copy_checks(
    facts: &RegionFacts,
    copy: &CopyFacts,
    max_age_hours: u64,
    now: OffsetDateTime,
    out: &mut Outcomes,
) {
    let pointer_name = copy_pointer_key(&facts.region);
    let wanted = facts.pointer.as_deref().map(copy_document_key);
    let where_ = format!("{} ({})", copy.bucket, copy.region);
    let present = copy.object.is_some() && copy.pointer.is_some() && copy.pointer == wanted;
    out.made(
        Check::Copy,
        Basis::Metadata,
        present,
        match (&copy.pointer, &wanted) {
            (None, _) => format!("{pointer_name} does not exist in {where_}"),
            (Some(p), Some(w)) if p != w => format!(
                "{pointer_name} in {where_} names {p}, not the copy of the newest backup ({w})"
            ),
            (Some(p), _) => format!("{pointer_name} in {where_} names {p}, which does not exist"),
        },
    );
    let (Some(primary), Some(object)) = (&facts.object, &copy.object) else {
        return;
    };
    let digests = match (&primary.content, &object.content) {
        (Some(p), Some(c)) => Some((p.stored_sha256.clone(), c.stored_sha256.clone())),
        _ => match (&primary.stamp, &object.stamp) {
            (Some(Ok(p)), Some(Ok(c))) => {
                Some((p.document_sha256.clone(), c.document_sha256.clone()))
            }
            _ => None,
        },
    };
    match digests {
        Some((Some(p), Some(c))) => out.made(
            Check::CopyChecksum,
            Basis::Metadata,
            p == c && primary.size == object.size,
            format!("the copy's SHA-256 is {c} ({} bytes), the backup's {p} ({} bytes)", object.size, primary.size),
        ),
        _ => out.not_checked(
            Check::CopyChecksum,
            "a stamp without the document's SHA-256 (written before copies were checked): `verify --deep` compares S3's own checksums",
        ),
    }
    let (taken, basis) = taken_at(object);
    let age = (now - taken).as_seconds_f64() / 3600.0;
    out.made(
        Check::CopyFresh,
        basis,
        age <= max_age_hours as f64,
        format!("the copy in {where_} is {age:.1} hours old, more than --max-age {max_age_hours}"),
    );
}

/// Why a check the stamp answers is not made: the object has none, or a broken one.
fn no_stamp_reason(object: &ObjectFacts) -> &'static str {
    match object.stamp {
        Some(Err(_)) => BAD_STAMP,
        _ => NO_STAMP,
    }
}

/// How many parameters the backup holds: its document's count when it was read, else its
/// stamp's; the error says why neither is known.
fn parameter_count(object: &ObjectFacts) -> Result<u64, &'static str> {
    match (&object.content, &object.stamp) {
        (Some(content), _) => content
            .document
            .as_ref()
            .map(|d| d.parameters.len() as u64)
            .map_err(|_| UNREADABLE),
        (None, Some(Ok(stamp))) => Ok(stamp.parameter_count),
        (None, _) => Err(no_stamp_reason(object)),
    }
}

/// The basis of a check made from whatever `parameter_count` read.
fn count_basis(object: &ObjectFacts) -> Basis {
    if object.content.is_some() {
        Basis::Content
    } else {
        Basis::Metadata
    }
}

/// The checks of when the backup was taken: not in the future, and not older than
/// `max_age_hours`. Returns its age in hours.
fn time_checks(
    object: &ObjectFacts,
    max_age_hours: u64,
    now: OffsetDateTime,
    out: &mut Outcomes,
) -> f64 {
    let (taken, basis) = taken_at(object);
    out.made(
        Check::NotFuture,
        basis,
        taken <= now + FUTURE_TOLERANCE,
        format!(
            "the backup says it was taken at {taken}, {:.0} minutes in the future: a clock is wrong or the document was forged",
            (taken - now).as_seconds_f64() / 60.0
        ),
    );
    let age = (now - taken).as_seconds_f64() / 3600.0;
    out.made(
        Check::Fresh,
        basis,
        age <= max_age_hours as f64,
        format!("the newest backup is {age:.1} hours old (more than {max_age_hours})"),
    );
    age
}

/// The checks of the backup against the environment: every name belongs to it (the document
/// alone says), and the count did not fall too far from the previous backup.
fn document_checks(
    object: &ObjectFacts,
    previous: Option<&PreviousBackup>,
    expected: &Expected,
    out: &mut Outcomes,
) {
    match object.content.as_ref().map(|c| &c.document) {
        None => out.not_checked(Check::Selection, DEEP_ONLY),
        Some(Err(_)) => out.not_checked(Check::Selection, UNREADABLE),
        Some(Ok(doc)) => {
            let outside: Vec<String> = doc
                .parameters
                .iter()
                .map(|p| p.name.as_str())
                .filter(|n| !expected.selection.contains(n))
                .map(|n| n.escape_debug().to_string())
                .collect();
            out.made(
                Check::Selection,
                Basis::Content,
                outside.is_empty(),
                format!(
                    "{} names outside the environment ({}), which restore skips: {}",
                    outside.len(),
                    expected.selection.describe(),
                    outside.join(", ")
                ),
            );
        }
    }
    let count = match parameter_count(object) {
        Ok(count) => count,
        Err(why) => return out.not_checked(Check::CountDrop, why),
    };
    let Some(previous) = previous else {
        return out.not_checked(
            Check::CountDrop,
            if object.content.is_some() {
                "no earlier readable backup of the region to compare with"
            } else {
                "no earlier backup of the region has its count in its tags (three looked at): `verify --deep` counts the earlier documents"
            },
        );
    };
    let dropped = previous.count.saturating_sub(count);
    out.made(
        Check::CountDrop,
        count_basis(object),
        dropped * 100 <= expected.max_count_drop_percent * previous.count,
        format!(
            "the backup holds {count} parameters, {dropped} fewer than the previous one ({}, {}): more than --max-count-drop {}%",
            previous.key, previous.count, expected.max_count_drop_percent
        ),
    );
}

/// When the backup was taken, and from what: the format-2 document's `backup_timestamp` (UTC)
/// when it was read, else the stamp's, else (the old script wrote local time, zone unknown)
/// when the object was stored.
fn taken_at(object: &ObjectFacts) -> (OffsetDateTime, Basis) {
    let format = time::macros::format_description!("[year][month][day]_[hour][minute][second]");
    let parse = |t: &str| {
        time::PrimitiveDateTime::parse(t, format)
            .ok()
            .map(|t| t.assume_utc())
    };
    let stored = (object.last_modified, Basis::Metadata);
    match (&object.content, &object.stamp) {
        (Some(content), _) => content
            .document
            .as_ref()
            .ok()
            .filter(|d| d.format == DocumentFormat::V2)
            .and_then(|d| d.backup_timestamp.as_deref())
            .and_then(parse)
            .map_or(stored, |t| (t, Basis::Content)),
        (None, Some(Ok(stamp))) => {
            parse(&stamp.backup_timestamp).map_or(stored, |t| (t, Basis::Metadata))
        }
        (None, _) => stored,
    }
}

/// The checks of a stored backup object alone (what `restore` also requires before it reads
/// one): only the failed ones.
pub fn object_failures(
    object: &ObjectFacts,
    environment: &str,
    region: &str,
    max_document_bytes: u64,
) -> Vec<CheckOutcome> {
    let mut out = Outcomes::default();
    object_checks(object, environment, region, max_document_bytes, &mut out);
    out.0.into_iter().filter(|c| !c.ok).collect()
}

fn object_checks(
    object: &ObjectFacts,
    environment: &str,
    region: &str,
    max_document_bytes: u64,
    out: &mut Outcomes,
) {
    storage_checks(object, max_document_bytes, out);
    match &object.content {
        Some(content) => content_checks(content, environment, region, out),
        None => {
            for check in [Check::Document, Check::Entries] {
                out.not_checked(check, DEEP_ONLY);
            }
        }
    }
}

/// The checks of the object as stored: within the size limit, encrypted, its checksum
/// matching the bytes read, written once.
fn storage_checks(object: &ObjectFacts, max_document_bytes: u64, out: &mut Outcomes) {
    let read = object.size <= max_document_bytes;
    out.made(
        Check::Size,
        Basis::Metadata,
        read,
        format!(
            "the object is {} bytes, more than --max-document-bytes ({max_document_bytes}): it was not read",
            object.size
        ),
    );
    match &object.content {
        Some(content) => {
            // AES256, or SSE-KMS under a key (which key, the bucket policy decides at the write).
            let encrypted = match content.encryption.as_deref() {
                Some("AES256") => true,
                Some("aws:kms") => content.kms_key_id.is_some(),
                _ => false,
            };
            out.made(
                Check::Encryption,
                Basis::Metadata,
                encrypted,
                format!(
                    "the object is encrypted with {}, neither AES256 nor a KMS key",
                    content.encryption.as_deref().unwrap_or("nothing")
                ),
            );
            checksum_of_bytes(content, read, out);
        }
        None => {
            out.not_checked(Check::Encryption, DEEP_ONLY);
            if object.has_sha256 || object.stamp.is_some() {
                // Stamped by this backup, which always sends a SHA-256.
                out.made(
                    Check::Checksum,
                    Basis::Metadata,
                    object.has_sha256,
                    "the object has no stored SHA-256 checksum".into(),
                );
            } else {
                out.not_checked(
                    Check::Checksum,
                    "S3 holds no SHA-256 of it (the old script stored none): only `verify --deep` judges it, by reading the document",
                );
            }
        }
    }
    out.made(
        Check::SingleVersion,
        Basis::Metadata,
        object.versions == 1,
        format!(
            "the key has {} versions: a backup is written once, so it was overwritten",
            object.versions
        ),
    );
}

/// The stored SHA-256 against the bytes read. The old script stored no checksum: its documents
/// rest on the parse and the count.
fn checksum_of_bytes(content: &ContentFacts, read: bool, out: &mut Outcomes) {
    let legacy = matches!(&content.document, Ok(d) if d.format == DocumentFormat::Legacy);
    out.made(
        Check::Checksum,
        Basis::Content,
        read && match &content.stored_sha256 {
            Some(stored) => *stored == content.read_sha256,
            None => legacy,
        },
        match &content.stored_sha256 {
            _ if !read => "not checked: the object was not read".to_string(),
            None => "the object has no stored SHA-256 checksum".to_string(),
            Some(stored) => format!(
                "the stored SHA-256 is {stored} but the bytes read hash to {}",
                content.read_sha256
            ),
        },
    );
}

/// The checks of what the object holds: a backup document, of this environment and region,
/// with entries restore can write.
fn content_checks(content: &ContentFacts, environment: &str, region: &str, out: &mut Outcomes) {
    match &content.document {
        Ok(doc) => {
            out.made(Check::Document, Basis::Content, true, String::new());
            let problems = identity_problems(doc, environment, region);
            out.made(
                Check::Identity,
                Basis::Content,
                problems.is_empty(),
                problems.join("; "),
            );
            let problems = entry_problems(doc);
            out.made(
                Check::Entries,
                Basis::Content,
                problems.is_empty(),
                format!("restore would fail on: {}", problems.join("; ")),
            );
            out.made(
                Check::NotEmpty,
                Basis::Content,
                !doc.parameters.is_empty(),
                "the backup holds no parameter".into(),
            );
        }
        Err(why) => {
            out.made(Check::Document, Basis::Content, false, why.clone());
            for check in [Check::Identity, Check::Entries, Check::NotEmpty] {
                out.not_checked(check, UNREADABLE);
            }
        }
    }
}

/// The checks the stamp answers: the stamp itself (with the document read, whether it tells
/// the truth about it); without the document, the identity and that the backup is not empty.
fn stamp_checks(object: &ObjectFacts, environment: &str, region: &str, out: &mut Outcomes) {
    let document = object.content.as_ref().map(|c| &c.document);
    match (&object.stamp, document) {
        (None, _) => out.not_checked(
            Check::Stamp,
            "the object has no ssm-keeper-* tags (a backup written before backup stamped its documents)",
        ),
        (Some(Err(why)), _) => out.made(Check::Stamp, Basis::Metadata, false, why.clone()),
        (Some(Ok(_)), None) => out.made(Check::Stamp, Basis::Metadata, true, String::new()),
        (Some(Ok(_)), Some(Err(_))) => out.not_checked(Check::Stamp, UNREADABLE),
        (Some(Ok(stamp)), Some(Ok(doc))) => {
            let found = stamp.disagreements(doc);
            out.made(
                Check::Stamp,
                Basis::Content,
                found.is_empty(),
                format!(
                    "the tags were changed after the backup (the document is what backup wrote): {}",
                    found.join("; ")
                ),
            );
        }
    }
    if object.content.is_some() {
        return; // identity and not-empty came from the document
    }
    let Some(Ok(stamp)) = &object.stamp else {
        let why = no_stamp_reason(object);
        out.not_checked(Check::Identity, why);
        return out.not_checked(Check::NotEmpty, why);
    };
    let mut problems = Vec::new();
    if stamp.environment != environment {
        problems.push(format!(
            "its tags say it is a backup of environment `{}`, not `{environment}`",
            stamp.environment
        ));
    }
    if stamp.region != region {
        problems.push(format!(
            "its tags say it is a backup of region {}, not {region}",
            stamp.region
        ));
    }
    out.made(
        Check::Identity,
        Basis::Metadata,
        problems.is_empty(),
        problems.join("; "),
    );
    out.made(
        Check::NotEmpty,
        Basis::Metadata,
        stamp.parameter_count > 0,
        "the backup holds no parameter".into(),
    );
}

/// The checks not made, a line per region and reason: `  REGION check, check: why`.
fn not_checked(verdicts: &[RegionVerdict]) -> Vec<String> {
    let mut lines = Vec::new();
    for v in verdicts {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for c in v.checks.iter().filter(|c| c.basis == Basis::NotChecked) {
            match groups.iter_mut().find(|(why, _)| *why == c.found) {
                Some((_, checks)) => checks.push(c.check.as_str()),
                None => groups.push((&c.found, vec![c.check.as_str()])),
            }
        }
        lines.extend(
            groups
                .into_iter()
                .map(|(why, checks)| format!("  {} {}: {why}", v.region, checks.join(", "))),
        );
    }
    lines
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
    let skipped = not_checked(verdicts);
    if failures.is_empty() {
        out.push_str(if skipped.is_empty() {
            "\nEvery check holds.\n"
        } else {
            "\nEvery check made holds.\n"
        });
    } else {
        out.push_str(&format!(
            "\n{} checks failed:\n{}\n",
            failures.len(),
            failures.join("\n")
        ));
    }
    if !skipped.is_empty() {
        out.push_str(&format!(
            "Not checked (not a failure):\n{}\n",
            skipped.join("\n")
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

    /// The copy checks come last, and only with a copy.
    const COPY_CHECKS: usize = 3;

    /// `facts` with a copy of its newest backup in eu-west-1: the same object, under
    /// `copies/`, whatever `alter` changes.
    fn with_copy(mut facts: RegionFacts, alter: impl FnOnce(&mut CopyFacts)) -> RegionFacts {
        let primary = facts.object.as_ref().unwrap();
        let key = copy_document_key(&primary.key);
        let mut stamp = stamp();
        stamp.document_sha256 = Some("abc=".into());
        let mut copy = CopyFacts {
            region: "eu-west-1".into(),
            bucket: "c".into(),
            pointer: Some(key.clone()),
            object: Some(ObjectFacts {
                key,
                versions: 1,
                size: primary.size,
                last_modified: primary.last_modified,
                has_sha256: true,
                stamp: Some(Ok(stamp.clone())),
                content: None,
            }),
        };
        alter(&mut copy);
        if let Some(object) = facts.object.as_mut() {
            object.content = None;
            object.stamp = Some(Ok(stamp));
        }
        facts.copy = Some(copy);
        facts
    }

    #[test]
    fn a_copy_is_checked_present_the_same_and_fresh() {
        let selection = Selection::segment("dev");
        let failed = |facts: RegionFacts| -> Vec<Check> {
            verify_region(&facts, &expected(&selection), NOW)
                .checks
                .into_iter()
                .filter(|c| !c.ok)
                .map(|c| c.check)
                .collect()
        };
        assert_eq!(failed(with_copy(healthy(), |_| {})), []);
        let older = |c: &mut CopyFacts| {
            c.pointer = Some(
                "copies/2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json".into(),
            )
        };
        assert_eq!(failed(with_copy(healthy(), older)), [Check::Copy]);
        let missing = |c: &mut CopyFacts| c.object = None;
        assert_eq!(failed(with_copy(healthy(), missing)), [Check::Copy]);
        let other = |c: &mut CopyFacts| {
            if let Some(Some(Ok(s))) = c.object.as_mut().map(|o| o.stamp.as_mut()) {
                s.document_sha256 = Some("xyz=".into());
            }
        };
        assert_eq!(failed(with_copy(healthy(), other)), [Check::CopyChecksum]);
        // The failure shows both values, the copy's and the backup's, in the table too.
        let v = verify_region(&with_copy(healthy(), other), &expected(&selection), NOW);
        let text = render_text(std::slice::from_ref(&v));
        let found = v.checks.iter().find(|c| c.check == Check::CopyChecksum);
        let found = &found.unwrap().found;
        assert!(found.contains("xyz=") && found.contains("abc="), "{found}");
        assert!(text.contains(&format!("copy-checksum: {found}")), "{text}");
        let stale = |c: &mut CopyFacts| {
            if let Some(o) = c.object.as_mut() {
                o.stamp = None;
                o.last_modified = datetime!(2026-11-20 13:00 UTC);
            }
        };
        let v = verify_region(&with_copy(healthy(), stale), &expected(&selection), NOW);
        let copy_checksum = v
            .checks
            .iter()
            .find(|c| c.check == Check::CopyChecksum)
            .unwrap();
        assert_eq!(copy_checksum.basis, Basis::NotChecked);
        assert!(
            v.checks
                .iter()
                .any(|c| c.check == Check::CopyFresh && !c.ok)
        );
    }

    fn healthy() -> RegionFacts {
        let key = "2026-11-24/us-east-1/ssm-backup-dev-us-east-1-20261124_130000.json";
        RegionFacts {
            region: "us-east-1".into(),
            bucket: "b".into(),
            pointer: Some(key.into()),
            default_pointer: Some(Some(key.into())),
            object: Some(ObjectFacts {
                key: key.into(),
                versions: 1,
                size: DOC.len() as u64,
                last_modified: datetime!(2026-11-24 13:00 UTC),
                has_sha256: true,
                stamp: Some(Ok(stamp())),
                content: Some(ContentFacts {
                    encryption: Some("AES256".into()),
                    kms_key_id: None,
                    stored_sha256: Some("abc=".into()),
                    read_sha256: "abc=".into(),
                    document: read_document(DOC.as_bytes()),
                }),
            }),
            live_count: Some(3),
            previous: Some(PreviousBackup {
                key: "2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json".into(),
                count: 2,
            }),
            copy: None,
        }
    }

    /// The stamp backup puts on `DOC`.
    fn stamp() -> Stamp {
        Stamp {
            format_version: 2,
            environment: "dev".into(),
            region: "us-east-1".into(),
            parameter_count: 1,
            backup_timestamp: "20261124_130000".into(),
            names_sha256: crate::core::stamp::names_sha256(["/app/dev/a"]),
            document_sha256: None,
        }
    }

    /// `healthy()` as plain verify knows it: the object not read.
    fn plain() -> RegionFacts {
        let mut f = healthy();
        f.object.as_mut().unwrap().content = None;
        f
    }

    fn content(f: &mut RegionFacts) -> &mut ContentFacts {
        f.object.as_mut().unwrap().content.as_mut().unwrap()
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
        assert_eq!(
            names,
            Check::VARIANTS[..Check::VARIANTS.len() - COPY_CHECKS]
        );
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
        content(&mut f).read_sha256 = "xyz=".into();
        assert_eq!(failed(&f)[0].0, Check::Checksum);

        let mut f = healthy();
        content(&mut f).encryption = None;
        assert_eq!(failed(&f)[0].0, Check::Encryption);

        let mut f = healthy();
        content(&mut f).document = read_document(
            DOC.replace(r#""parameter_count":1"#, r#""parameter_count":5"#)
                .as_bytes(),
        );
        assert_eq!(failed(&f)[0].0, Check::Document);

        let mut f = healthy();
        content(&mut f).document =
            read_document(DOC.replace("20261124_130000", "20261122_130000").as_bytes());
        f.object.as_mut().unwrap().stamp = None;
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
        content(&mut f).document = read_document(legacy.as_bytes());
        let object = f.object.as_mut().unwrap();
        object.stamp = None;
        object.last_modified = datetime!(2026-11-20 14:00 UTC);
        assert_eq!(failed(&f)[0].0, Check::Fresh);

        let mut f = healthy();
        content(&mut f).document = read_document(DOC.replace("\"dev\"", "\"prod\"").as_bytes());
        f.object.as_mut().unwrap().stamp = None;
        assert_eq!(failed(&f)[0].0, Check::Identity);
        let selection = Selection::segment("dev");
        let text = render_text(&[verify_region(&f, &expected(&selection), NOW)]);
        assert!(text.contains("1 checks failed:\n  us-east-1 identity: it is a backup of environment `prod`, not `dev`"), "{text}");
    }

    /// `healthy()` with this document (and no stamp, which would disagree with it).
    fn with_document(doc: &str) -> RegionFacts {
        let mut f = healthy();
        content(&mut f).document = read_document(doc.as_bytes());
        f.object.as_mut().unwrap().stamp = None;
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

    fn outcome(facts: &RegionFacts, check: Check) -> CheckOutcome {
        let selection = Selection::segment("dev");
        verify_region(facts, &expected(&selection), NOW)
            .checks
            .into_iter()
            .find(|c| c.check == check)
            .unwrap()
    }

    #[test]
    fn plain_verify_makes_each_check_from_metadata_or_says_only_deep_makes_it() {
        let selection = Selection::segment("dev");
        let v = verify_region(&plain(), &expected(&selection), NOW);
        assert!(v.ok(), "{v:?}");
        let bases: Vec<(Check, Basis)> = v.checks.iter().map(|c| (c.check, c.basis)).collect();
        let expected_bases: Vec<(Check, Basis)> = Check::VARIANTS
            [..Check::VARIANTS.len() - COPY_CHECKS]
            .iter()
            .map(|&c| {
                let deep_only = matches!(
                    c,
                    Check::Encryption | Check::Document | Check::Entries | Check::Selection
                );
                (
                    c,
                    if deep_only {
                        Basis::NotChecked
                    } else {
                        Basis::Metadata
                    },
                )
            })
            .collect();
        assert_eq!(bases, expected_bases);
        assert_eq!((v.parameter_count, v.age_hours), (Some(1), Some(1.0)));
        let text = render_text(&[v]);
        assert!(
            text.contains(&format!(
                "Every check made holds.\nNot checked (not a failure):\n  us-east-1 encryption, document, entries, selection: {DEEP_ONLY}\n"
            )),
            "{text}"
        );
    }

    #[test]
    fn with_the_document_read_every_check_is_made_and_none_from_the_stamp_alone() {
        let selection = Selection::segment("dev");
        let v = verify_region(&healthy(), &expected(&selection), NOW);
        for c in &v.checks {
            let expected = match c.check {
                Check::Pointer
                | Check::DefaultPointer
                | Check::Object
                | Check::Size
                | Check::Encryption
                | Check::SingleVersion
                | Check::Copy
                | Check::CopyChecksum
                | Check::CopyFresh => Basis::Metadata,
                Check::Checksum
                | Check::Stamp
                | Check::Document
                | Check::Identity
                | Check::Entries
                | Check::NotEmpty
                | Check::Selection
                | Check::CountDrop
                | Check::NotFuture
                | Check::Fresh => Basis::Content,
            };
            assert_eq!(c.basis, expected, "{c:?}");
        }
    }

    #[test]
    fn an_old_document_without_a_stamp_is_not_failed_and_says_what_deep_would_add() {
        let mut f = plain();
        let object = f.object.as_mut().unwrap();
        object.stamp = None;
        object.has_sha256 = false;
        let selection = Selection::segment("dev");
        let v = verify_region(&f, &expected(&selection), NOW);
        assert!(v.ok(), "{v:?}");
        let skipped: Vec<Check> = v
            .checks
            .iter()
            .filter(|c| c.basis == Basis::NotChecked)
            .map(|c| c.check)
            .collect();
        assert_eq!(
            skipped,
            [
                Check::Encryption,
                Check::Checksum,
                Check::Stamp,
                Check::Document,
                Check::Identity,
                Check::Entries,
                Check::NotEmpty,
                Check::Selection,
                Check::CountDrop,
            ]
        );
        // Its age still counts: when S3 stored it.
        assert_eq!(outcome(&f, Check::Fresh).basis, Basis::Metadata);
        f.object.as_mut().unwrap().last_modified = datetime!(2026-11-20 14:00 UTC);
        assert_eq!(failed(&f)[0].0, Check::Fresh);
        let text = render_text(&[verify_region(&f, &expected(&selection), NOW)]);
        assert!(
            text.contains(&format!(
                "  us-east-1 identity, not-empty, count-drop: {NO_STAMP}"
            )),
            "{text}"
        );
        assert_eq!(v.parameter_count, None);
    }

    #[test]
    fn plain_verify_fails_what_the_stamp_and_listing_contradict() {
        let with_stamp = |change: &dyn Fn(&mut Stamp)| {
            let mut f = plain();
            let mut stamp = stamp();
            change(&mut stamp);
            f.object.as_mut().unwrap().stamp = Some(Ok(stamp));
            failed(&f)
        };
        assert_eq!(
            with_stamp(&|s| s.environment = "prod".into()),
            [(
                Check::Identity,
                "its tags say it is a backup of environment `prod`, not `dev`".to_string()
            )]
        );
        assert_eq!(
            with_stamp(&|s| s.parameter_count = 0)
                .iter()
                .map(|c| c.0)
                .collect::<Vec<_>>(),
            [Check::NotEmpty, Check::CountDrop]
        );
        let fails = with_stamp(&|s| s.backup_timestamp = "20261124_141000".into());
        assert_eq!(fails[0].0, Check::NotFuture, "{fails:?}");
        assert_eq!(
            with_stamp(&|s| s.backup_timestamp = "20261122_130000".into())[0].0,
            Check::Fresh
        );
        // The count against the previous backup's stamp.
        let mut f = plain();
        f.previous.as_mut().unwrap().count = 3;
        assert_eq!(failed(&f)[0].0, Check::CountDrop);
        assert_eq!(outcome(&f, Check::CountDrop).basis, Basis::Metadata);
        f.previous = None;
        assert_eq!(outcome(&f, Check::CountDrop).basis, Basis::NotChecked);
        // Stamped by this backup, which always sends a SHA-256: none stored is a failure.
        let mut f = plain();
        f.object.as_mut().unwrap().has_sha256 = false;
        assert_eq!(
            failed(&f),
            [(
                Check::Checksum,
                "the object has no stored SHA-256 checksum".to_string()
            )]
        );
        // Overwritten: from the versions alone.
        let mut f = plain();
        f.object.as_mut().unwrap().versions = 2;
        assert_eq!(failed(&f)[0].0, Check::SingleVersion);
        // A broken stamp fails, and what it would have answered is not made.
        let mut f = plain();
        f.object.as_mut().unwrap().stamp = Some(Err("the object's tags lack x".into()));
        assert_eq!(
            failed(&f),
            [(Check::Stamp, "the object's tags lack x".to_string())]
        );
        assert_eq!(outcome(&f, Check::Identity).found, BAD_STAMP);
    }

    #[test]
    fn with_the_document_read_a_stamp_that_disagrees_with_it_fails() {
        let mut f = healthy();
        if let Some(Ok(stamp)) = &mut f.object.as_mut().unwrap().stamp {
            stamp.parameter_count = 9;
        }
        let fails = failed(&f);
        assert_eq!(
            fails,
            [(
                Check::Stamp,
                "the tags were changed after the backup (the document is what backup wrote): its tags say parameter count 9, the document 1".to_string()
            )]
        );
        // A document from before stamps: the stamp is not checked; everything else is.
        let mut f = healthy();
        f.object.as_mut().unwrap().stamp = None;
        let v = verify_region(&f, &expected(&Selection::segment("dev")), NOW);
        let skipped: Vec<Check> = v
            .checks
            .iter()
            .filter(|c| c.basis == Basis::NotChecked)
            .map(|c| c.check)
            .collect();
        assert_eq!(skipped, [Check::Stamp]);
    }
}
