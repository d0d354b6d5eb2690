//! `verify`: whether one region's newest backup is there, intact and fresh, from the facts the
//! shell gathered: pointers, listing, versions and stamp (plain verify, which never reads a
//! document), and with `--deep` the object's attributes, its bytes' digest and the document.
//! Each outcome says what it was made from. Pure.

use serde::Serialize;
use time::OffsetDateTime;

use super::document::{
    BackupDocument, DocumentFormat, entry_problems, identity_problems, parse_backup_timestamp,
};
use super::live::{Comparison, LiveFacts, compare};
use super::newest::FUTURE_TOLERANCE;
use super::selection::Selection;
use super::stamp::Stamp;
use super::store::{
    COPY_PREFIX, DEFAULT_POINTER_KEY, Layout, backup_layout, copy_document_key, copy_pointer_key,
    pointer_key,
};

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
    /// The region's newest backup, found from the bucket's listing (`core::newest`), never from
    /// a pointer; `None` when the bucket holds none.
    pub object: Option<ObjectFacts>,
    /// Backups under a day after today that the stack does not acknowledge.
    pub future: Vec<String>,
    /// Backups under a day after today that the stack acknowledges (`acknowledgedFutureBackups`).
    pub acknowledged: Vec<String>,
    /// Parameters of the environment live in the region now (information only).
    pub live_count: Option<u64>,
    /// The backup of the region before the newest one, if any.
    pub previous: Option<PreviousBackup>,
    /// With the stack's `copies`: the region's copy in another region's bucket.
    pub copy: Option<CopyFacts>,
    /// With `--deep`: what Parameter Store holds of the backup's parameters and the
    /// environment's live listing.
    pub live: Option<LiveFacts>,
    /// With `encryption: kms`: the region's key, and the key the newest backup is under.
    pub key: Option<KeyFacts>,
}

/// With `encryption: kms`: the key a region's backups must be under, and what KMS says of the
/// key a backup is under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// The ARN of the key the stack names for the region (`kmsKeyIds`), or of the key its alias
    /// names now; `None` when neither resolves.
    pub expected: Option<String>,
    /// The key the backup is under (its stamp's, or with `--deep` the object's own), as KMS
    /// describes it; `None` when nothing names one.
    pub named: Option<KeyState>,
}

/// A key as DescribeKey shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub arn: String,
    /// Its state as KMS names it (`Enabled`, `Disabled`, `PendingDeletion`, ...) and, pending
    /// deletion, when; or why it could not be described (refused, not found).
    pub state: Result<(String, Option<String>), String>,
}

/// A region's copy in the bucket of the region `copies` names.
#[derive(Debug)]
pub struct CopyFacts {
    pub region: String,
    pub bucket: String,
    /// The content of `copies/latest-<region>.txt` there; `None` when it does not exist.
    pub pointer: Option<String>,
    /// The newest copy found there (`core::newest`); `None` when there is none.
    pub object: Option<ObjectFacts>,
    /// Copies under a day after today that the stack does not acknowledge.
    pub future: Vec<String>,
    /// With `encryption: kms`: the copy region's key, and the key the newest copy is under.
    pub key: Option<KeyFacts>,
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
    /// Backups dated after today that the stack acknowledges: listed, never chosen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acknowledged: Vec<String>,
    /// Parameters `matches-ssm` could not compare, each with why (`--deep`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
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
    /// Every pointer names the newest backup found in the bucket (and the copy's pointer the
    /// newest copy).
    PointerNewest,
    Size,
    Encryption,
    /// (`encryption: kms`) The newest backup, and its copy, are under the key the stack names
    /// or its alias names, enabled and not pending deletion.
    Key,
    Checksum,
    SingleVersion,
    Stamp,
    Document,
    Identity,
    Entries,
    NotEmpty,
    Selection,
    CountDrop,
    /// (`--deep`) Each parameter of the backup is what Parameter Store holds at that version.
    MatchesSsm,
    /// (`--deep`) Every live parameter last modified before the backup is in it at its live
    /// version.
    Complete,
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
            Check::PointerNewest => "pointer-newest",
            Check::Size => "size",
            Check::Encryption => "encryption",
            Check::Key => "key",
            Check::Checksum => "checksum",
            Check::SingleVersion => "single-version",
            Check::Stamp => "stamp",
            Check::Document => "document",
            Check::Identity => "identity",
            Check::Entries => "entries",
            Check::NotEmpty => "not-empty",
            Check::Selection => "selection",
            Check::CountDrop => "count-drop",
            Check::MatchesSsm => "matches-ssm",
            Check::Complete => "complete",
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
/// Why plain verify fails a document of this tool's layout without a stamp or a checksum.
const UNSTAMPED_OURS: &str = "every backup of this tool's layout is written with its stamp and a SHA-256, so something else wrote this one: run `verify --deep` (with the restore role), which reads and judges the document itself";
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
        object: facts.object.as_ref().map(|o| o.key.clone()),
        checks: Vec::new(),
        parameter_count: None,
        live_count: facts.live_count,
        age_hours: None,
        acknowledged: facts.acknowledged.clone(),
        not_compared: Vec::new(),
    };
    let future = future_backups(facts);
    if let Some(object) = &facts.object {
        object_checks(
            object,
            (expected.environment, &facts.region),
            expected.max_document_bytes,
            facts.key.as_ref().map(|k| k.expected.as_deref()),
            &mut out,
        );
        stamp_checks(
            object,
            (expected.environment, &facts.region),
            facts.key.is_some(),
            &mut out,
        );
        key_checks(facts, &mut out);
        document_checks(object, facts.previous.as_ref(), expected, &mut out);
        verdict.not_compared =
            live_checks(object, facts.live.as_ref(), expected.selection, &mut out);
        let age = time_checks(object, &future, expected.max_age_hours, now, &mut out);
        verdict.age_hours = Some((age * 10.0).round() / 10.0);
        verdict.parameter_count = parameter_count(object).ok();
    } else if !future.is_empty() {
        out.made(
            Check::NotFuture,
            Basis::Metadata,
            false,
            future_found(&future),
        );
    }
    if let Some(copy) = &facts.copy {
        copy_checks(facts, copy, expected.max_age_hours, now, &mut out);
    }
    out.0.sort_by_key(|c| c.check);
    verdict.checks = out.0;
    verdict
}

/// The checks of the pointers: the region's exists, the default one (in the default region)
/// names the same backup, a backup was found, and every pointer names the newest one found.
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
    out.made(
        Check::Object,
        Basis::Metadata,
        facts.object.is_some(),
        match &facts.pointer {
            Some(pointer) => format!(
                "{} holds no backup of {}, yet {pointer_name} names {pointer}",
                facts.bucket, facts.region
            ),
            None => format!("{} holds no backup of {}", facts.bucket, facts.region),
        },
    );
    let Some(newest) = &facts.object else {
        return;
    };
    let mut pointers = vec![(pointer_name, facts.pointer.as_deref(), newest.key.as_str())];
    if let Some(Some(default)) = &facts.default_pointer {
        pointers.push((
            DEFAULT_POINTER_KEY.to_string(),
            Some(default.as_str()),
            newest.key.as_str(),
        ));
    }
    if let Some(copy) = &facts.copy
        && let Some(copy_newest) = &copy.object
    {
        pointers.push((
            format!("{} in {}", copy_pointer_key(&facts.region), copy.bucket),
            copy.pointer.as_deref(),
            copy_newest.key.as_str(),
        ));
    }
    let wrong: Vec<String> = pointers
        .into_iter()
        .filter_map(|(name, named, newest)| {
            let named = named?;
            (named != newest).then(|| {
                format!(
                    "{name} names {named}, but the newest backup there (stored last) is {newest}"
                )
            })
        })
        .collect();
    out.made(
        Check::PointerNewest,
        Basis::Metadata,
        wrong.is_empty(),
        format!(
            "{}: a backup cut before it moved its pointers (run the backup again), or a pointer moved back by a misused backup credential (restore without --from uses the newest found)",
            wrong.join("; ")
        ),
    );
}

/// Whether two key ARNs (or IDs) name the same key.
fn same_key(a: &str, b: &str) -> bool {
    let id = |k: &str| k.rsplit_once("key/").map_or(k, |(_, id)| id).to_string();
    a == b || id(a) == id(b)
}

/// The `key` check (`encryption: kms` only): the newest backup and its copy are each under the
/// key their region's stack names or its alias names, and KMS says it is enabled.
fn key_checks(facts: &RegionFacts, out: &mut Outcomes) {
    let Some(primary) = &facts.key else {
        return;
    };
    let copy = facts.copy.as_ref().and_then(|c| {
        let key = c.key.as_ref()?;
        c.object.as_ref()?;
        Some((format!("its copy in {} ({})", c.bucket, c.region), key))
    });
    let mut problems = Vec::new();
    for (what, key) in std::iter::once(("the backup".to_string(), primary)).chain(copy) {
        let Some(named) = &key.named else {
            problems.push(format!(
                "nothing says which key {what} is under (see `stamp`)"
            ));
            continue;
        };
        match &key.expected {
            Some(expected) if same_key(&named.arn, expected) => {}
            Some(expected) => problems.push(format!(
                "{what} is under {}, not under the stack's key {expected}",
                named.arn
            )),
            None => problems.push(format!(
                "{what} is under {}, but the stack's key does not resolve: its alias names no key, or one the role may not describe (not tagged for the stack: was the alias moved?)",
                named.arn
            )),
        }
        match &named.state {
            Ok((state, _)) if state == "Enabled" => {}
            Ok((state, deletion)) => problems.push(format!(
                "{what}'s key {} is {state}{}: the backup cannot be read while it is, nor ever once the key is deleted",
                named.arn,
                deletion
                    .as_deref()
                    .map(|d| format!(" (to be deleted on {d})"))
                    .unwrap_or_default()
            )),
            Err(why) => problems.push(format!("{what}'s key {}: {why}", named.arn)),
        }
    }
    out.made(
        Check::Key,
        Basis::Metadata,
        problems.is_empty(),
        problems.join("; "),
    );
}

/// The backups dated after today, of the region and of its copy, each with where it is.
fn future_backups(facts: &RegionFacts) -> Vec<String> {
    let primary = facts
        .future
        .iter()
        .map(|k| format!("s3://{}/{k}", facts.bucket));
    let copies = facts.copy.iter().flat_map(|c| {
        c.future
            .iter()
            .map(move |k| format!("s3://{}/{k}", c.bucket))
    });
    primary.chain(copies).collect()
}

/// What `not-future` says of backups dated after today (each named with its bucket).
pub fn future_found(future: &[String]) -> String {
    format!(
        "{} dated after today: only a misused backup credential (or a clock far ahead) writes there; see \"Backups dated after today\" in docs/restore.md before acknowledging one in the stack's acknowledgedFutureBackups: {}",
        if future.len() == 1 {
            "a backup is".to_string()
        } else {
            format!("{} backups are", future.len())
        },
        future.join(", ")
    )
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
    let wanted = facts.object.as_ref().map(|o| copy_document_key(&o.key));
    let found = copy.object.as_ref().map(|o| o.key.as_str());
    let where_ = format!("{} ({})", copy.bucket, copy.region);
    out.made(
        Check::Copy,
        Basis::Metadata,
        wanted.is_some() && found == wanted.as_deref(),
        match (found, &wanted) {
            (None, _) => format!("{where_} holds no copy of {}'s backups", facts.region),
            (Some(f), Some(w)) => {
                format!(
                    "the newest copy in {where_} is {f}, not the copy of the newest backup ({w})"
                )
            }
            (Some(f), None) => {
                format!("the newest copy in {where_} is {f}, but the region holds no backup")
            }
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

/// Whether the object (a region's backup, or its copy) has this tool's key layout.
fn is_ours(object: &ObjectFacts, environment: &str, region: &str) -> bool {
    let key = object.key.strip_prefix(COPY_PREFIX).unwrap_or(&object.key);
    backup_layout(key, region, environment) == Some(Layout::Ours)
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
    future: &[String],
    max_age_hours: u64,
    now: OffsetDateTime,
    out: &mut Outcomes,
) -> f64 {
    let (taken, basis) = taken_at(object);
    let ahead = taken > now + FUTURE_TOLERANCE;
    let mut found = Vec::new();
    if ahead {
        found.push(format!(
            "the backup says it was taken at {taken}, {:.0} minutes in the future: a clock is wrong or the document was forged",
            (taken - now).as_seconds_f64() / 60.0
        ));
    }
    if !future.is_empty() {
        found.push(future_found(future));
    }
    out.made(Check::NotFuture, basis, found.is_empty(), found.join("; "));
    let age = (now - taken).as_seconds_f64() / 3600.0;
    out.made(
        Check::Fresh,
        basis,
        age <= max_age_hours as f64,
        format!("the newest backup is {age:.1} hours old (more than {max_age_hours})"),
    );
    age
}

/// The checks of the backup against Parameter Store (`--deep`): its values at their versions,
/// and every parameter live since before it. Returns the parameters not compared, with why.
fn live_checks(
    object: &ObjectFacts,
    live: Option<&LiveFacts>,
    selection: &Selection,
    out: &mut Outcomes,
) -> Vec<String> {
    let document = object.content.as_ref().map(|c| &c.document);
    let (document, live) = match (document, live) {
        (None, _) => {
            out.not_checked(Check::MatchesSsm, DEEP_ONLY);
            out.not_checked(Check::Complete, DEEP_ONLY);
            return Vec::new();
        }
        (Some(Err(_)), _) | (Some(Ok(_)), None) => {
            out.not_checked(Check::MatchesSsm, UNREADABLE);
            out.not_checked(Check::Complete, UNREADABLE);
            return Vec::new();
        }
        (Some(Ok(document)), Some(live)) => (document, live),
    };
    let found = compare(document, selection, document.taken_utc(), live);
    out.made(
        Check::MatchesSsm,
        Basis::Content,
        found.differs.is_empty(),
        found.differs_found(),
    );
    match found.incomplete {
        None => out.not_checked(
            Check::Complete,
            "the old script wrote its time in local time: which parameters were live before it is not known",
        ),
        Some(missing) => out.made(
            Check::Complete,
            Basis::Content,
            missing.is_empty(),
            Comparison::incomplete_found(&missing),
        ),
    }
    found.not_checked
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
    let stored = (object.last_modified, Basis::Metadata);
    match (&object.content, &object.stamp) {
        (Some(content), _) => content
            .document
            .as_ref()
            .ok()
            .and_then(BackupDocument::taken_utc)
            .map_or(stored, |t| (t, Basis::Content)),
        (None, Some(Ok(stamp))) => {
            parse_backup_timestamp(&stamp.backup_timestamp).map_or(stored, |t| (t, Basis::Metadata))
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
    object_checks(
        object,
        (environment, region),
        max_document_bytes,
        None,
        &mut out,
    );
    out.0.into_iter().filter(|c| !c.ok).collect()
}

/// `expected_key`: with `encryption: kms`, the key the document must be under (`Some(None)`:
/// the stack's key could not be resolved); `None` when any key (or AES256) will do.
fn object_checks(
    object: &ObjectFacts,
    (environment, region): (&str, &str),
    max_document_bytes: u64,
    expected_key: Option<Option<&str>>,
    out: &mut Outcomes,
) {
    let ours = is_ours(object, environment, region);
    storage_checks(object, ours, max_document_bytes, expected_key, out);
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
fn storage_checks(
    object: &ObjectFacts,
    ours: bool,
    max_document_bytes: u64,
    expected_key: Option<Option<&str>>,
    out: &mut Outcomes,
) {
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
            // AES256, or SSE-KMS under a key; with `encryption: kms`, under the stack's key.
            let encrypted = match (content.encryption.as_deref(), expected_key) {
                (Some("AES256"), None) => true,
                (Some("aws:kms"), None) => content.kms_key_id.is_some(),
                (Some("aws:kms"), Some(expected)) => content
                    .kms_key_id
                    .as_deref()
                    .zip(expected)
                    .is_some_and(|(k, e)| same_key(k, e)),
                _ => false,
            };
            out.made(
                Check::Encryption,
                Basis::Metadata,
                encrypted,
                match expected_key {
                    None => format!(
                        "the object is encrypted with {}, neither AES256 nor a KMS key",
                        content.encryption.as_deref().unwrap_or("nothing")
                    ),
                    Some(expected) => format!(
                        "the object is encrypted with {} under {}, not under the stack's key {}",
                        content.encryption.as_deref().unwrap_or("nothing"),
                        content.kms_key_id.as_deref().unwrap_or("no key"),
                        expected.unwrap_or("(its alias names no key)")
                    ),
                },
            );
            // An empty digest: the bytes were not read (over the limit, or S3 could not
            // decrypt them).
            checksum_of_bytes(content, read && !content.read_sha256.is_empty(), out);
        }
        None => {
            out.not_checked(Check::Encryption, DEEP_ONLY);
            if object.has_sha256 || object.stamp.is_some() || ours {
                // Of this tool's layout, or stamped: this backup always sends a SHA-256.
                out.made(
                    Check::Checksum,
                    Basis::Metadata,
                    object.has_sha256,
                    format!("the object has no stored SHA-256 checksum: {UNSTAMPED_OURS}"),
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
fn stamp_checks(
    object: &ObjectFacts,
    (environment, region): (&str, &str),
    kms: bool,
    out: &mut Outcomes,
) {
    let document = object.content.as_ref().map(|c| &c.document);
    match (&object.stamp, document) {
        // Under `encryption: kms` a whole stamp names the document's key.
        (Some(Ok(stamp)), _) if kms && stamp.key_arn.is_none() => out.made(
            Check::Stamp,
            Basis::Metadata,
            false,
            "the object's tags lack ssm-keeper-key-arn, which every stamp names under `encryption: kms`: not a whole stamp".into(),
        ),
        // Plain verify fails closed: a document of this layout always carries its stamp.
        (None, None) if is_ours(object, environment, region) => out.made(
            Check::Stamp,
            Basis::Metadata,
            false,
            format!("the object has no ssm-keeper-* tags: {UNSTAMPED_OURS}"),
        ),
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
        for why in &v.not_compared {
            out.push_str(&format!(
                "Note: {} matches-ssm did not compare {why}.\n",
                v.region
            ));
        }
        for key in &v.acknowledged {
            out.push_str(&format!(
                "Note: {} has {key}, dated after today: acknowledged in the stack (acknowledgedFutureBackups), never used as the newest.\n",
                v.region
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::document::read_document;
    use crate::core::live::{AtVersion, LiveMeta, value_sha256};
    use strum::VariantArray;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 14:00 UTC);
    const DOC: &str = r#"{"format_version":2,"backup_timestamp":"20261124_130000","environment":"dev","region":"us-east-1","parameters":[{"Name":"/app/dev/a","Type":"String","Value":"v","Version":1}],"parameter_count":1}"#;

    /// The copy checks come last, and only with a copy.
    const COPY_CHECKS: usize = 3;

    /// Every check of a stack without copies under AES256 (no `key`), in report order.
    fn aes256_checks() -> Vec<Check> {
        Check::VARIANTS[..Check::VARIANTS.len() - COPY_CHECKS]
            .iter()
            .copied()
            .filter(|c| *c != Check::Key)
            .collect()
    }

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
            future: Vec::new(),
            key: None,
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
        let older = "copies/2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json";
        // The copy's pointer moved back: the newest copy found is still the right one.
        let pointer_back = |c: &mut CopyFacts| c.pointer = Some(older.into());
        assert_eq!(
            failed(with_copy(healthy(), pointer_back)),
            [Check::PointerNewest]
        );
        // The newest copy found is an older one (this backup's copy was never written).
        let copy_behind = |c: &mut CopyFacts| {
            c.pointer = Some(older.into());
            c.object.as_mut().unwrap().key = older.into();
        };
        assert_eq!(failed(with_copy(healthy(), copy_behind)), [Check::Copy]);
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
            future: Vec::new(),
            acknowledged: Vec::new(),
            live_count: Some(3),
            previous: Some(PreviousBackup {
                key: "2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json".into(),
                count: 2,
            }),
            copy: None,
            live: Some(LiveFacts {
                listing: vec![LiveMeta {
                    name: "/app/dev/a".into(),
                    version: 1,
                    last_modified: Some(1_795_521_600_000), // 2026-11-24 12:00 UTC
                }],
                at_version: [(
                    "/app/dev/a".to_string(),
                    Some(AtVersion {
                        kind: "String".into(),
                        value_sha256: value_sha256("v"),
                        last_modified: Some(1_795_521_600_000),
                    }),
                )]
                .into(),
            }),
            key: None,
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
            key_arn: None,
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
        assert_eq!(names, aes256_checks());
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

    /// `healthy()` with this document (and no stamp, which would disagree with it), nothing
    /// live in the environment.
    fn with_document(doc: &str) -> RegionFacts {
        let mut f = healthy();
        content(&mut f).document = read_document(doc.as_bytes());
        f.object.as_mut().unwrap().stamp = None;
        f.live = Some(LiveFacts::default());
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
        let expected_bases: Vec<(Check, Basis)> = aes256_checks()
            .into_iter()
            .map(|c| {
                let deep_only = matches!(
                    c,
                    Check::Encryption
                        | Check::Document
                        | Check::Entries
                        | Check::Selection
                        | Check::MatchesSsm
                        | Check::Complete
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
                "Every check made holds.\nNot checked (not a failure):\n  us-east-1 encryption, document, entries, selection, matches-ssm, complete: {DEEP_ONLY}\n"
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
                | Check::PointerNewest
                | Check::Size
                | Check::Encryption
                | Check::Key
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
                | Check::MatchesSsm
                | Check::Complete
                | Check::NotFuture
                | Check::Fresh => Basis::Content,
            };
            assert_eq!(c.basis, expected, "{c:?}");
        }
    }

    #[test]
    fn an_old_document_without_a_stamp_is_not_failed_and_says_what_deep_would_add() {
        let mut f = plain();
        let old_key = "2026-11-24/ssm-backup-dev-20261124_130000.json";
        f.pointer = Some(old_key.into());
        f.default_pointer = Some(Some(old_key.into()));
        let object = f.object.as_mut().unwrap();
        object.key = old_key.into();
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
                Check::MatchesSsm,
                Check::Complete,
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
                format!("the object has no stored SHA-256 checksum: {UNSTAMPED_OURS}")
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
    /// A document of this tool's layout always carries its stamp and a checksum: plain verify
    /// fails closed without them (a downgrade written by a misused backup credential) and says
    /// to run `--deep`, which reads unstamped documents as before.
    #[test]
    fn plain_verify_fails_a_document_of_this_layout_without_stamp_or_checksum() {
        let mut f = plain();
        let object = f.object.as_mut().unwrap();
        object.stamp = None;
        object.has_sha256 = false;
        let failures = failed(&f);
        assert_eq!(
            failures.iter().map(|c| c.0).collect::<Vec<_>>(),
            [Check::Checksum, Check::Stamp]
        );
        assert!(failures.iter().all(|c| c.1.contains("run `verify --deep`")));
        // With a stamp but no checksum, or a checksum but no stamp: each fails alone.
        let mut f = plain();
        f.object.as_mut().unwrap().stamp = None;
        assert_eq!(
            failed(&f).iter().map(|c| c.0).collect::<Vec<_>>(),
            [Check::Stamp]
        );
        // --deep reads the document: no stamp is not checked, as before.
        let mut f = healthy();
        f.object.as_mut().unwrap().stamp = None;
        assert_eq!(failed(&f), []);
        assert_eq!(outcome(&f, Check::Stamp).basis, Basis::NotChecked);
    }

    /// Every pointer must name the newest backup found in the bucket: one moved back (a
    /// rollback) fails `pointer-newest` naming both keys.
    #[test]
    fn a_pointer_naming_another_than_the_newest_fails_naming_both() {
        let older = "2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json";
        let newest = plain().object.unwrap().key;
        let mut f = plain();
        f.pointer = Some(older.into());
        f.default_pointer = Some(Some(older.into()));
        let failures = failed(&f);
        assert_eq!(
            failures.iter().map(|c| c.0).collect::<Vec<_>>(),
            [Check::PointerNewest]
        );
        let found = &failures[0].1;
        assert!(
            found.contains(&format!("latest-us-east-1.txt names {older}, but the newest backup there (stored last) is {newest}"))
                && found.contains(&format!("latest.txt names {older}"))
                && found.contains("run the backup again"),
            "{found}"
        );
        // The verdict names the newest found, not what the pointer says.
        let selection = Selection::segment("dev");
        let v = verify_region(&f, &expected(&selection), NOW);
        assert_eq!(v.object.as_deref(), Some(newest.as_str()));
        // No backup at all, but a pointer: `object` fails, naming the pointer.
        let mut f = plain();
        f.object = None;
        assert_eq!(
            failed(&f),
            [(
                Check::Object,
                format!("b holds no backup of us-east-1, yet latest-us-east-1.txt names {newest}")
            )]
        );
    }

    /// A backup under a day after today fails `not-future`, named, unless acknowledged; an
    /// acknowledged one is listed in the report.
    #[test]
    fn a_backup_dated_after_today_fails_not_future_unless_acknowledged() {
        let planted = "2026-12-31/us-east-1/ssm-backup-dev-us-east-1-20261231_000000.json";
        let mut f = plain();
        f.future = vec![planted.into()];
        let failures = failed(&f);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, Check::NotFuture);
        assert!(
            failures[0].1.contains(&format!("s3://b/{planted}"))
                && failures[0].1.contains("misused backup credential"),
            "{}",
            failures[0].1
        );
        // Also with no backup found before today.
        f.object = None;
        assert!(failed(&f).iter().any(|c| c.0 == Check::NotFuture));
        // A copy's planted backup counts too.
        let mut f = with_copy(healthy(), |c| c.future = vec![format!("copies/{planted}")]);
        f.future.clear();
        assert_eq!(
            failed(&f).iter().map(|c| c.0).collect::<Vec<_>>(),
            [Check::NotFuture]
        );
        // Acknowledged: not a candidate, not a failure, still listed.
        let mut f = plain();
        f.acknowledged = vec![planted.into()];
        let selection = Selection::segment("dev");
        let v = verify_region(&f, &expected(&selection), NOW);
        assert!(v.ok(), "{v:?}");
        let text = render_text(&[v]);
        assert!(
            text.contains(&format!(
                "Note: us-east-1 has {planted}, dated after today: acknowledged"
            )),
            "{text}"
        );
    }

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/k-1";

    /// `facts` under `encryption: kms`: the stack's key `KEY`, the backup under `named`
    /// (stamped so, and read so when read), in `state`.
    fn under_key(mut facts: RegionFacts, named: &str, state: (&str, Option<&str>)) -> RegionFacts {
        let object = facts.object.as_mut().unwrap();
        if let Some(Ok(stamp)) = object.stamp.as_mut() {
            stamp.key_arn = Some(named.into());
        }
        if let Some(content) = object.content.as_mut() {
            content.encryption = Some("aws:kms".into());
            content.kms_key_id = Some(named.into());
        }
        facts.key = Some(KeyFacts {
            expected: Some(KEY.into()),
            named: Some(KeyState {
                arn: named.into(),
                state: Ok((state.0.into(), state.1.map(str::to_string))),
            }),
        });
        facts
    }

    /// Under `encryption: kms` the backup must be under the stack's key (the one `kmsKeyIds`
    /// names, or its alias names), and that key enabled: a moved alias, another key, a disabled
    /// key or one pending deletion fail `key`, in plain verify (from the stamp) and `--deep`.
    #[test]
    fn a_backup_under_another_key_or_a_key_going_away_fails_key() {
        assert_eq!(failed(&under_key(plain(), KEY, ("Enabled", None))), []);
        assert_eq!(failed(&under_key(healthy(), KEY, ("Enabled", None))), []);
        let other = "arn:aws:kms:us-east-1:123456789012:key/k-2";
        let fails = failed(&under_key(plain(), other, ("Enabled", None)));
        assert_eq!(fails.len(), 1, "{fails:?}");
        assert_eq!(fails[0].0, Check::Key);
        assert!(
            fails[0].1.contains(&format!(
                "the backup is under {other}, not under the stack's key {KEY}"
            )),
            "{fails:?}"
        );
        // --deep: the object's own key, and `encryption` requires it too.
        let fails: Vec<Check> = failed(&under_key(healthy(), other, ("Enabled", None)))
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(fails, [Check::Encryption, Check::Key]);
        let fails = failed(&under_key(
            plain(),
            KEY,
            ("PendingDeletion", Some("2027-01-07T00:00:00Z")),
        ));
        assert!(
            fails[0]
                .1
                .contains("is PendingDeletion (to be deleted on 2027-01-07T00:00:00Z)"),
            "{fails:?}"
        );
        let fails = failed(&under_key(plain(), KEY, ("Disabled", None)));
        assert_eq!(fails[0].0, Check::Key);
        let mut refused = under_key(plain(), other, ("Enabled", None));
        if let Some(KeyFacts { named: Some(k), .. }) = refused.key.as_mut() {
            k.state = Err("DescribeKey was refused (AccessDenied): not a key of this stack".into());
        }
        assert!(failed(&refused)[0].1.contains("AccessDenied"));
        // A stamp without the key under `encryption: kms` is not whole.
        let mut f = under_key(plain(), KEY, ("Enabled", None));
        if let Some(Some(Ok(stamp))) = f.object.as_mut().map(|o| o.stamp.as_mut()) {
            stamp.key_arn = None;
        }
        f.key.as_mut().unwrap().named = None;
        let fails: Vec<Check> = failed(&f).into_iter().map(|c| c.0).collect();
        assert_eq!(fails, [Check::Key, Check::Stamp]);
        // Under AES256 there is no key check at all.
        assert!(
            verify_region(&plain(), &expected(&Selection::segment("dev")), NOW)
                .checks
                .iter()
                .all(|c| c.check != Check::Key)
        );
    }
}
