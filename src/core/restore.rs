//! `restore`: which backup `--from` names; from a backup document and the live parameters it
//! names, what to create, what to update (attribute by attribute), what is unchanged and what is skipped; the renderers; and
//! the read-back comparison after writing. Pure. Values travel as `Secret`; a SecureString's
//! value is never rendered.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::{self, Write};
use std::path::PathBuf;

use super::backup::{BackupParameter, Secret};
use super::document::DocumentFormat;
use super::lock::is_lock_parameter;
use super::resource::ParameterKind;
use super::selection::{Selection, metadata_environment};

/// AWS's defaults for what a parameter does not say.
pub const DEFAULT_TIER: &str = "Standard";
pub const DEFAULT_DATA_TYPE: &str = "text";
pub const DEFAULT_KEY: &str = "alias/aws/ssm";
/// Standard-tier parameters hold at most 4 KB; a longer value needs Advanced.
pub const STANDARD_VALUE_LIMIT: usize = 4096;

/// A parameter as restore writes it or finds it live, every attribute explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSpec {
    pub name: String,
    pub kind: String,
    pub value: Secret,
    pub data_type: String,
    pub tier: String,
    /// The KMS key (SecureString only).
    pub key_id: Option<String>,
    pub description: String,
    pub allowed_pattern: String,
    pub policies: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

impl ParameterSpec {
    pub fn is_secure(&self) -> bool {
        ParameterKind::from_name(&self.kind).is_some_and(ParameterKind::is_secure)
    }
}

/// Which backup to restore (`--from`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupSource {
    /// What `latest-<region>.txt` names.
    Latest,
    /// That day's newest backup of the region.
    Date(String),
    /// An object key in the region's bucket.
    Key(String),
    /// A document on local disk.
    File(PathBuf),
}

impl BackupSource {
    /// `latest`, a date `YYYY-MM-DD`, a local path (`./`, `../` or `/` first), else an S3 key.
    pub fn parse(value: &str) -> BackupSource {
        let is_date = value.len() == 10
            && value.char_indices().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if value == "latest" {
            BackupSource::Latest
        } else if is_date {
            BackupSource::Date(value.to_string())
        } else if value.starts_with("./") || value.starts_with("../") || value.starts_with('/') {
            BackupSource::File(PathBuf::from(value))
        } else {
            BackupSource::Key(value.to_string())
        }
    }
}

/// `--from` as a usage check: not empty, and a value shaped as a date (`YYYY-MM-DD`) is a day
/// of the calendar (no month 13, no February 30, no day 00), before any AWS call.
pub fn check_from(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("it is empty: latest, a date (YYYY-MM-DD), an S3 key or a local path".into());
    }
    let BackupSource::Date(date) = BackupSource::parse(value) else {
        return Ok(());
    };
    // Shaped as a date: ASCII digits at these places.
    let number = |range: std::ops::Range<usize>| date[range].parse::<u8>().unwrap_or(0);
    let year = date[0..4].parse::<i32>().unwrap_or(0);
    let not_a_date = |why: String| Err(format!("`{value}` is not a date (YYYY-MM-DD): {why}"));
    let Ok(month) = time::Month::try_from(number(5..7)) else {
        return not_a_date(format!("there is no month {}", &date[5..7]));
    };
    let days = month.length(year);
    if !(1..=days).contains(&number(8..10)) {
        return not_a_date(format!("{month} {year} has days 01 to {days}"));
    }
    Ok(())
}

/// `--kms-key-id` as a usage check: one of the forms KMS takes, a key ID
/// (`1234abcd-12ab-34cd-56ef-1234567890ab`, `mrk-...`), a key ARN, an alias (`alias/NAME`) or
/// an alias ARN; never empty.
pub fn check_kms_key_id(value: &str) -> Result<(), String> {
    let key_id =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let alias = |s: &str| {
        s.strip_prefix("alias/").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
        })
    };
    let well_formed = match value.strip_prefix("arn:") {
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            parts.len() == 5
                && parts[0].starts_with("aws")
                && parts[1] == "kms"
                && !parts[2].is_empty()
                && parts[3].len() == 12
                && parts[3].chars().all(|c| c.is_ascii_digit())
                && (alias(parts[4]) || parts[4].strip_prefix("key/").is_some_and(key_id))
        }
        None if value.starts_with("alias/") => alias(value),
        None => key_id(value),
    };
    if well_formed && value.len() <= 2048 {
        return Ok(());
    }
    let what = if value.is_empty() {
        "it is empty".to_string()
    } else {
        format!("`{value}` is not a KMS key")
    };
    Err(format!(
        "{what}: a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN, alias/NAME or an alias ARN"
    ))
}

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub environment: String,
    /// Which parameters belong to the environment: restore writes no other (but under
    /// `to_prefix`, checked up front).
    pub selection: Selection,
    pub only: Option<String>,
    pub to_prefix: Option<String>,
    pub kms_key_id: Option<String>,
    pub include_metadata: bool,
    pub overwrite: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreAttribute {
    Value,
    Type,
    Description,
    AllowedPattern,
    Tier,
    KmsKey,
    DataType,
    Policies,
    Tags,
}

impl RestoreAttribute {
    pub fn as_str(&self) -> &'static str {
        match self {
            RestoreAttribute::Value => "value",
            RestoreAttribute::Type => "type",
            RestoreAttribute::Description => "description",
            RestoreAttribute::AllowedPattern => "allowed pattern",
            RestoreAttribute::Tier => "tier",
            RestoreAttribute::KmsKey => "KMS key",
            RestoreAttribute::DataType => "data type",
            RestoreAttribute::Policies => "policies",
            RestoreAttribute::Tags => "tags",
        }
    }
}

/// The attributes the old script's documents do not hold: left at AWS defaults.
pub const UNKNOWN_IN_LEGACY: [RestoreAttribute; 6] = [
    RestoreAttribute::Description,
    RestoreAttribute::AllowedPattern,
    RestoreAttribute::Tier,
    RestoreAttribute::KmsKey,
    RestoreAttribute::Policies,
    RestoreAttribute::Tags,
];

/// The attributes a document does not decide, so left out of the comparison: for format 2 the
/// tags when it holds none (written before tags were backed up); for the old script's, those it
/// lacks, but the KMS key when `--kms-key-id` names it.
pub fn unknown_attributes(
    format: DocumentFormat,
    parameters: &[BackupParameter],
    kms_key_id: Option<&str>,
) -> Vec<RestoreAttribute> {
    match format {
        DocumentFormat::V2 if parameters.iter().any(|p| p.tags.is_none()) => {
            vec![RestoreAttribute::Tags]
        }
        DocumentFormat::V2 => Vec::new(),
        DocumentFormat::Legacy => UNKNOWN_IN_LEGACY
            .into_iter()
            .filter(|a| !(*a == RestoreAttribute::KmsKey && kms_key_id.is_some()))
            .collect(),
    }
}

/// One attribute that differs between live and backup. A sensitive one carries no values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeChange {
    pub attribute: RestoreAttribute,
    pub live: Option<String>,
    pub backup: Option<String>,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum RestoreAction {
    /// Missing live: created.
    Create,
    /// Differs and `--overwrite` was given: updated.
    Update {
        changes: Vec<AttributeChange>,
    },
    /// Differs in what PutParameter cannot change, and `--recreate` was given: deleted and
    /// written again (its history of versions and labels is lost).
    Recreate {
        changes: Vec<AttributeChange>,
    },
    /// Differs, kept as it is (no `--overwrite`).
    Differs {
        changes: Vec<AttributeChange>,
    },
    Unchanged,
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreItem {
    /// The name in the backup.
    pub source: String,
    /// The name it is restored to (another with `--to-prefix`).
    pub target: String,
    #[serde(flatten)]
    pub action: RestoreAction,
    /// Attributes that differ but stay as they are live, because PutParameter cannot change
    /// them (`--recreate` would): not written, not compared after writing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptAttribute>,
    /// Tag keys the live parameter has and the backup does not: removed by an update.
    #[serde(skip)]
    pub untag: Vec<String>,
    /// What will be written (for create and update).
    #[serde(skip)]
    pub spec: Option<ParameterSpec>,
    /// With `--at`: where its state at that moment comes from (the backup, or a version of its
    /// history and who wrote it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl RestoreItem {
    pub fn writes(&self) -> bool {
        matches!(
            self.action,
            RestoreAction::Create | RestoreAction::Update { .. } | RestoreAction::Recreate { .. }
        )
    }
}

/// An attribute restore leaves as it is live, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptAttribute {
    pub attribute: RestoreAttribute,
    pub reason: &'static str,
}

/// Why PutParameter cannot turn `have`'s `attribute` into `want`'s, if it cannot: it keeps a
/// description, an allowed pattern or policies it is not sent, and AWS refuses to move an
/// Advanced parameter back to Standard.
pub fn unchangeable(
    attribute: RestoreAttribute,
    have: &ParameterSpec,
    want: &ParameterSpec,
) -> Option<&'static str> {
    match attribute {
        RestoreAttribute::Description if want.description.is_empty() => {
            Some("PutParameter cannot remove a description")
        }
        RestoreAttribute::AllowedPattern if want.allowed_pattern.is_empty() => {
            Some("PutParameter cannot remove an allowed pattern")
        }
        RestoreAttribute::Policies if want.policies.is_empty() => {
            Some("PutParameter cannot remove parameter policies")
        }
        RestoreAttribute::Tier if have.tier == "Advanced" && want.tier == DEFAULT_TIER => {
            Some("AWS refuses to move an Advanced parameter back to Standard")
        }
        _ => None,
    }
}

/// `want` with `kept`'s attributes as `have` has them: what is true after the write.
fn keeping(mut want: ParameterSpec, have: &ParameterSpec, kept: &[KeptAttribute]) -> ParameterSpec {
    for k in kept {
        match k.attribute {
            RestoreAttribute::Description => want.description = have.description.clone(),
            RestoreAttribute::AllowedPattern => want.allowed_pattern = have.allowed_pattern.clone(),
            RestoreAttribute::Policies => want.policies = have.policies.clone(),
            RestoreAttribute::Tier => want.tier = have.tier.clone(),
            RestoreAttribute::Value
            | RestoreAttribute::Type
            | RestoreAttribute::KmsKey
            | RestoreAttribute::DataType
            | RestoreAttribute::Tags => {}
        }
    }
    want
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestorePlan {
    pub source: String,
    pub source_region: String,
    pub target_region: String,
    /// Attributes the document does not hold (old format), left at AWS defaults.
    pub unknown_attributes: Vec<RestoreAttribute>,
    pub items: Vec<RestoreItem>,
    /// With `--at`: the moment restored (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// With `--at`: the names not written, and why (not placed exactly, created later, absent
    /// at that moment: restore never deletes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_written: Vec<super::at::NotWritten>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RestoreSummary {
    pub create: usize,
    pub update: usize,
    pub recreate: usize,
    pub differ: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

impl RestorePlan {
    pub fn summary(&self) -> RestoreSummary {
        let mut s = RestoreSummary::default();
        for item in &self.items {
            match item.action {
                RestoreAction::Create => s.create += 1,
                RestoreAction::Update { .. } => s.update += 1,
                RestoreAction::Recreate { .. } => s.recreate += 1,
                RestoreAction::Differs { .. } => s.differ += 1,
                RestoreAction::Unchanged => s.unchanged += 1,
                RestoreAction::Skipped { .. } => s.skipped += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.items.iter().any(RestoreItem::writes)
    }

    /// The names to read live before planning, and to read back after writing.
    pub fn targets(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.spec.is_some())
            .map(|i| i.target.as_str())
            .collect()
    }
}

/// The parameters of a document as restore would write them, before looking at live state:
/// in the subtree asked for, renamed, remapped; metadata and locks skipped with the reason.
pub fn wanted(
    parameters: &[BackupParameter],
    format: DocumentFormat,
    options: &RestoreOptions,
) -> Vec<RestoreItem> {
    parameters
        .iter()
        .filter(|p| {
            options
                .only
                .as_deref()
                .is_none_or(|o| p.name.starts_with(o))
        })
        .map(|p| {
            let target = match (&options.only, &options.to_prefix) {
                (Some(only), Some(to)) => format!("{to}{}", &p.name[only.len()..]),
                _ => p.name.clone(),
            };
            let outside = !options.selection.contains(&p.name);
            let skip = if is_lock_parameter(&p.name) {
                Some("an ssm-keeper lock is never restored".to_string())
            } else if outside {
                Some(format!(
                    "not a parameter of `{}` ({}): restore never writes outside the environment",
                    options.environment,
                    options.selection.describe()
                ))
            } else if metadata_environment(&p.name) == Some(options.environment.as_str())
                && !options.include_metadata
            {
                Some(
                    "stack metadata: `ssm-keeper apply` restores it (or pass --include-metadata)"
                        .to_string(),
                )
            } else {
                None
            };
            RestoreItem {
                source: p.name.clone(),
                spec: skip.is_none().then(|| spec(p, &target, format, options)),
                action: match skip {
                    Some(reason) => RestoreAction::Skipped { reason },
                    None => RestoreAction::Unchanged, // decided against live state
                },
                kept: Vec::new(),
                untag: Vec::new(),
                origin: None,
                target,
            }
        })
        .collect()
}

fn spec(
    p: &BackupParameter,
    target: &str,
    format: DocumentFormat,
    options: &RestoreOptions,
) -> ParameterSpec {
    let secure = p.is_secure();
    let tier = match &p.tier {
        Some(t) => t.clone(),
        None if p.value.expose().len() > STANDARD_VALUE_LIMIT => "Advanced".to_string(),
        None => DEFAULT_TIER.to_string(),
    };
    let key_id = secure.then(|| {
        options
            .kms_key_id
            .clone()
            .or_else(|| p.key_id.clone().filter(|_| format == DocumentFormat::V2))
            .unwrap_or_else(|| DEFAULT_KEY.to_string())
    });
    ParameterSpec {
        name: target.to_string(),
        kind: p.kind.clone(),
        value: p.value.clone(),
        data_type: p
            .data_type
            .clone()
            .unwrap_or_else(|| DEFAULT_DATA_TYPE.to_string()),
        tier,
        key_id,
        description: p.description.clone().unwrap_or_default(),
        allowed_pattern: p.allowed_pattern.clone().unwrap_or_default(),
        policies: p.policies.clone(),
        tags: p.tags.clone().unwrap_or_default(),
    }
}

/// Decides each wanted item against the live parameters (by target name). What PutParameter
/// cannot change is kept, with the reason, and the item's spec says what will be true after
/// the write (so the write, the read-back and a re-run agree with the preview); with
/// `recreate` such an item is deleted and written again instead.
pub fn plan(
    mut items: Vec<RestoreItem>,
    live: &BTreeMap<String, ParameterSpec>,
    unknown: &[RestoreAttribute],
    (overwrite, recreate): (bool, bool),
) -> Vec<RestoreItem> {
    for item in &mut items {
        let Some(want) = item.spec.take() else {
            continue;
        };
        let Some(have) = live.get(&item.target) else {
            item.action = RestoreAction::Create;
            item.spec = Some(want);
            continue;
        };
        let changes = compare(have, &want, unknown);
        let (stuck, doable): (Vec<AttributeChange>, Vec<AttributeChange>) = changes
            .into_iter()
            .partition(|c| unchangeable(c.attribute, have, &want).is_some());
        if overwrite && recreate && !stuck.is_empty() {
            item.action = RestoreAction::Recreate {
                changes: doable.into_iter().chain(stuck).collect(),
            };
            item.spec = Some(want);
            continue;
        }
        item.kept = stuck
            .iter()
            .filter_map(|c| {
                unchangeable(c.attribute, have, &want).map(|reason| KeptAttribute {
                    attribute: c.attribute,
                    reason,
                })
            })
            .collect();
        item.untag = have
            .tags
            .keys()
            .filter(|k| !want.tags.contains_key(*k) && !unknown.contains(&RestoreAttribute::Tags))
            .cloned()
            .collect();
        item.action = match (doable.is_empty(), overwrite) {
            (true, _) => RestoreAction::Unchanged,
            (false, true) => RestoreAction::Update { changes: doable },
            (false, false) => RestoreAction::Differs { changes: doable },
        };
        item.spec = Some(keeping(want, have, &item.kept));
    }
    items
}

/// The attributes that differ, leaving out those the backup does not know.
pub fn compare(
    have: &ParameterSpec,
    want: &ParameterSpec,
    unknown: &[RestoreAttribute],
) -> Vec<AttributeChange> {
    let mut out = text_changes(have, want, unknown);
    if !unknown.contains(&RestoreAttribute::Policies) && have.policies != want.policies {
        out.push(AttributeChange {
            attribute: RestoreAttribute::Policies,
            live: Some(have.policies.join(", ")),
            backup: Some(want.policies.join(", ")),
            sensitive: false,
        });
    }
    if !unknown.contains(&RestoreAttribute::Tags) && have.tags != want.tags {
        let shown = |tags: &BTreeMap<String, String>| {
            tags.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(AttributeChange {
            attribute: RestoreAttribute::Tags,
            live: Some(shown(&have.tags)),
            backup: Some(shown(&want.tags)),
            sensitive: false,
        });
    }
    out
}

/// The attributes held as one text each (value, type, ...) that differ, in report order; a
/// SecureString's value shown as changed, never as itself.
fn text_changes(
    have: &ParameterSpec,
    want: &ParameterSpec,
    unknown: &[RestoreAttribute],
) -> Vec<AttributeChange> {
    let sensitive = have.is_secure() || want.is_secure();
    let pairs: [(RestoreAttribute, Option<&str>, Option<&str>); 8] = [
        (
            RestoreAttribute::Value,
            Some(have.value.expose()),
            Some(want.value.expose()),
        ),
        (RestoreAttribute::Type, Some(&have.kind), Some(&want.kind)),
        (
            RestoreAttribute::Description,
            Some(&have.description),
            Some(&want.description),
        ),
        (
            RestoreAttribute::AllowedPattern,
            Some(&have.allowed_pattern),
            Some(&want.allowed_pattern),
        ),
        (RestoreAttribute::Tier, Some(&have.tier), Some(&want.tier)),
        (
            RestoreAttribute::KmsKey,
            have.key_id.as_deref(),
            want.key_id.as_deref(),
        ),
        (
            RestoreAttribute::DataType,
            Some(&have.data_type),
            Some(&want.data_type),
        ),
        (RestoreAttribute::Policies, None, None),
    ];
    pairs
        .into_iter()
        .filter(|(attribute, _, _)| !unknown.contains(attribute))
        .filter(|(_, live, backup)| live != backup)
        .map(|(attribute, live, backup)| {
            let hidden = attribute == RestoreAttribute::Value && sensitive;
            AttributeChange {
                attribute,
                live: if hidden {
                    None
                } else {
                    live.map(str::to_string)
                },
                backup: if hidden {
                    None
                } else {
                    backup.map(str::to_string)
                },
                sensitive: hidden,
            }
        })
        .collect()
}

/// After writing: every written parameter read back must equal what was written.
pub fn read_back_mismatches(
    written: &[&ParameterSpec],
    read: &BTreeMap<String, ParameterSpec>,
) -> Vec<String> {
    written
        .iter()
        .filter_map(|want| match read.get(&want.name) {
            None => Some(format!("{}: not found after writing", want.name)),
            Some(have) => {
                let changes = compare(have, want, &[]);
                (!changes.is_empty()).then(|| {
                    let names: Vec<&str> = changes.iter().map(|c| c.attribute.as_str()).collect();
                    format!("{}: {} differ after writing", want.name, names.join(", "))
                })
            }
        })
        .collect()
}

/// The one-line summary.
pub fn summary_line(s: &RestoreSummary) -> String {
    let recreate = if s.recreate > 0 {
        format!(
            ", {} to recreate (deleted and written again: their history is lost)",
            s.recreate
        )
    } else {
        String::new()
    };
    format!(
        "Restore: {} to create, {} to update{recreate}, {} differ and are kept (add --overwrite to update them), {} unchanged, {} skipped.",
        s.create, s.update, s.differ, s.unchanged, s.skipped
    )
}

/// A kept attribute, for the previews.
fn kept_line(k: &KeptAttribute) -> String {
    format!(
        "{} kept as it is live: {} (--overwrite --recreate deletes and writes the parameter again, losing its history)",
        k.attribute.as_str(),
        k.reason
    )
}

const SENSITIVE_CHANGED: &str = "(sensitive, changed)";

fn change_line(c: &AttributeChange) -> String {
    if c.sensitive {
        format!("{}: {SENSITIVE_CHANGED}", c.attribute.as_str())
    } else {
        format!(
            "{}: {:?} -> {:?}",
            c.attribute.as_str(),
            c.live.as_deref().unwrap_or(""),
            c.backup.as_deref().unwrap_or("")
        )
    }
}

/// Every change of an item on one line, for the markdown table.
fn change_lines(changes: &[AttributeChange]) -> String {
    changes
        .iter()
        .map(change_line)
        .collect::<Vec<_>>()
        .join("; ")
}

fn header(plan: &RestorePlan) -> String {
    let into = if plan.source_region == plan.target_region {
        String::new()
    } else {
        format!(", into {}", plan.target_region)
    };
    match &plan.at {
        Some(at) => format!(
            "Restore of {} as it was at {at} (from {}{into})",
            plan.source_region, plan.source
        ),
        None => format!(
            "Restore of {} (backup of {}{into})",
            plan.source, plan.source_region
        ),
    }
}

fn unknown_line(plan: &RestorePlan) -> Option<String> {
    match plan.unknown_attributes.as_slice() {
        [] => None,
        [RestoreAttribute::Tags] => Some(
            "This backup records no tags (it was written before tags were backed up): the tags of existing parameters are left as they are.".to_string(),
        ),
        unknown => {
            let names: Vec<&str> = unknown.iter().map(|a| a.as_str()).collect();
            Some(format!(
                "This backup is in the old script's format: {} are unknown and are left at AWS defaults.",
                names.join(", ")
            ))
        }
    }
}

/// The preview for humans.
pub fn render_text(plan: &RestorePlan) -> String {
    super::render::text(|out| write_text(out, plan))
}

fn write_text(out: &mut impl Write, plan: &RestorePlan) -> fmt::Result {
    write!(out, "{}\n\n", header(plan))?;
    for item in &plan.items {
        let renamed = if item.source == item.target {
            String::new()
        } else {
            format!(" (from {})", item.source)
        };
        let (mark, lines) = match &item.action {
            RestoreAction::Create => ("+ create   ", Vec::new()),
            RestoreAction::Update { changes } => {
                ("~ update   ", changes.iter().map(change_line).collect())
            }
            RestoreAction::Recreate { changes } => (
                "~ recreate ",
                std::iter::once(
                    "deleted and written again: its history of versions and labels is lost"
                        .to_string(),
                )
                .chain(changes.iter().map(change_line))
                .collect(),
            ),
            RestoreAction::Differs { changes } => (
                "! differs  ",
                changes.iter().map(change_line).collect::<Vec<_>>(),
            ),
            RestoreAction::Unchanged => ("= unchanged", Vec::new()),
            RestoreAction::Skipped { reason } => ("- skipped  ", vec![reason.clone()]),
        };
        writeln!(out, "  {mark} {}{renamed}", item.target)?;
        let origin = item.origin.iter().map(|o| format!("state from {o}"));
        for line in origin.chain(lines).chain(item.kept.iter().map(kept_line)) {
            writeln!(out, "        {line}")?;
        }
    }
    if !plan.not_written.is_empty() {
        writeln!(out, "\nNot written:")?;
        for n in &plan.not_written {
            writeln!(out, "  - {}: {}", n.name, n.reason)?;
        }
    }
    if let Some(line) = unknown_line(plan) {
        writeln!(out, "\n{line}")?;
    }
    writeln!(out, "\n{}", summary_line(&plan.summary()))
}

/// The preview as a pull-request comment.
pub fn render_markdown(plan: &RestorePlan) -> String {
    super::render::text(|out| write_markdown(out, plan))
}

fn write_markdown(out: &mut impl Write, plan: &RestorePlan) -> fmt::Result {
    write!(
        out,
        "### ssm-keeper {}\n\n**{}**\n\n",
        header(plan).replacen("Restore", "restore", 1),
        summary_line(&plan.summary())
    )?;
    if let Some(line) = unknown_line(plan) {
        writeln!(out, "{line}\n")?;
    }
    out.write_str("| Action | Parameter | Details |\n|---|---|---|\n")?;
    for item in &plan.items {
        let (action, details) = match &item.action {
            RestoreAction::Create => ("create", String::new()),
            RestoreAction::Update { changes } => ("update", change_lines(changes)),
            RestoreAction::Recreate { changes } => {
                ("**recreate** (history lost)", change_lines(changes))
            }
            RestoreAction::Differs { changes } => ("differs (kept)", change_lines(changes)),
            RestoreAction::Unchanged => ("unchanged", String::new()),
            RestoreAction::Skipped { reason } => ("skipped", reason.clone()),
        };
        let details = item
            .origin
            .iter()
            .map(|o| format!("state from {o}"))
            .chain(std::iter::once(details))
            .filter(|d| !d.is_empty())
            .chain(item.kept.iter().map(kept_line))
            .collect::<Vec<_>>()
            .join("; ");
        writeln!(
            out,
            "| {action} | `{}` | {} |",
            item.target,
            details.replace('|', "\\|")
        )?;
    }
    for n in &plan.not_written {
        writeln!(
            out,
            "| not written | `{}` | {} |",
            n.name,
            n.reason.replace('|', "\\|")
        )?;
    }
    Ok(())
}

/// The preview as JSON: no value of a SecureString, ever.
pub fn render_json(plan: &RestorePlan) -> Result<String, serde_json::Error> {
    let value = serde_json::json!({
        "summary": plan.summary(),
        "plan": plan,
    });
    Ok(serde_json::to_string_pretty(&value)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, kind: &str, value: &str) -> BackupParameter {
        BackupParameter {
            name: name.into(),
            kind: kind.into(),
            value: Secret::new(value.into()),
            data_type: Some("text".into()),
            version: 1,
            last_modified_date: None,
            key_id: ParameterKind::from_name(kind)
                .is_some_and(ParameterKind::is_secure)
                .then(|| "alias/custom".to_string()),
            tier: Some("Standard".into()),
            description: Some("d".into()),
            allowed_pattern: None,
            policies: Vec::new(),
            tags: Some(BTreeMap::new()),
        }
    }

    /// The text preview of `items` restored within us-east-1.
    fn preview(items: Vec<RestoreItem>, unknown_attributes: Vec<RestoreAttribute>) -> String {
        render_text(&RestorePlan {
            source: "s3://b/k".into(),
            source_region: "us-east-1".into(),
            target_region: "us-east-1".into(),
            unknown_attributes,
            items,
            at: None,
            not_written: Vec::new(),
        })
    }

    fn options() -> RestoreOptions {
        RestoreOptions {
            environment: "dev".into(),
            selection: Selection::segment("dev"),
            only: None,
            to_prefix: None,
            kms_key_id: None,
            include_metadata: false,
            overwrite: false,
        }
    }

    fn doc() -> Vec<BackupParameter> {
        vec![
            param("/app/dev/host", "String", "db.internal"),
            param("/app/dev/password", "SecureString", "s3cr3t-OLD"),
            param(
                "/jenkins/dev/backup/region-list",
                "String",
                "[\"us-east-1\"]",
            ),
            param("/other/dev/x", "String", "x"),
        ]
    }

    fn live_of(items: &[RestoreItem]) -> BTreeMap<String, ParameterSpec> {
        items
            .iter()
            .filter_map(|i| i.spec.clone())
            .map(|s| (s.name.clone(), s))
            .collect()
    }

    #[test]
    fn from_names_the_latest_a_day_a_local_file_or_a_key() {
        let key = "2026-11-23/us-east-1/ssm-backup-dev-us-east-1-20261123_130000.json";
        let cases = [
            ("latest", BackupSource::Latest),
            ("2026-11-23", BackupSource::Date("2026-11-23".into())),
            ("./b.json", BackupSource::File("./b.json".into())),
            ("../b.json", BackupSource::File("../b.json".into())),
            ("/tmp/b.json", BackupSource::File("/tmp/b.json".into())),
            (key, BackupSource::Key(key.into())),
            // Not quite a date: a key like any other.
            ("2026-11-2", BackupSource::Key("2026-11-2".into())),
            ("2026/11/23", BackupSource::Key("2026/11/23".into())),
            ("Latest", BackupSource::Key("Latest".into())),
            ("b.json", BackupSource::Key("b.json".into())),
        ];
        for (value, want) in cases {
            assert_eq!(BackupSource::parse(value), want, "{value}");
        }
    }

    #[test]
    fn from_is_refused_empty_or_as_a_day_the_calendar_does_not_have() {
        for good in [
            "latest",
            "2026-11-23",
            "2028-02-29",
            "./b.json",
            "2026-11-2",
            "b.json",
        ] {
            assert_eq!(check_from(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("2026-13-45", "there is no month 13"),
            ("2026-00-10", "there is no month 00"),
            ("2026-02-30", "February 2026 has days 01 to 28"),
            ("2027-02-29", "February 2027 has days 01 to 28"),
            ("2026-04-31", "April 2026 has days 01 to 30"),
            ("2026-11-00", "November 2026 has days 01 to 30"),
            ("", "it is empty"),
        ] {
            let refused = check_from(bad).unwrap_err();
            assert!(refused.contains(why), "{bad}: {refused}");
        }
        assert_eq!(
            check_from("2026-13-45").unwrap_err(),
            "`2026-13-45` is not a date (YYYY-MM-DD): there is no month 13"
        );
    }

    #[test]
    fn kms_key_ids_are_one_of_the_forms_kms_takes() {
        for good in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234",
            "alias/aws/ssm",
            "alias/dr_key-2",
            "arn:aws:kms:us-west-2:123456789012:alias/dr",
        ] {
            assert_eq!(check_kms_key_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            " ",
            "alias/",
            "alias/a b",
            "key/1234",
            "arn:aws:kms:us-west-2:123456789012:key/",
            "arn:aws:s3:us-west-2:123456789012:key/1234",
            "arn:aws:kms:us-west-2:1234:key/1234",
            "1234\u{1b}[2J",
        ] {
            assert!(check_kms_key_id(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_kms_key_id("").unwrap_err(),
            "it is empty: a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN, alias/NAME or an alias ARN"
        );
    }

    #[test]
    fn metadata_is_skipped_and_the_rest_is_created_when_missing() {
        let items = plan(
            wanted(&doc(), DocumentFormat::V2, &options()),
            &BTreeMap::new(),
            &[],
            (false, false),
        );
        let actions: Vec<(&str, &RestoreAction)> = items
            .iter()
            .map(|i| (i.target.as_str(), &i.action))
            .collect();
        assert_eq!(actions[0], ("/app/dev/host", &RestoreAction::Create));
        assert!(
            matches!(actions[2].1, RestoreAction::Skipped { reason } if reason.contains("--include-metadata"))
        );
        let with_metadata = RestoreOptions {
            include_metadata: true,
            ..options()
        };
        let items = wanted(&doc(), DocumentFormat::V2, &with_metadata);
        assert!(items[2].spec.is_some());
    }

    #[test]
    fn a_name_outside_the_environment_is_skipped_with_its_reason() {
        let mut parameters = doc();
        parameters.push(param("/prod/devices/serial", "String", "old"));
        parameters.push(param("/jenkins/prod/db", "SecureString", "prod-secret"));
        let items = wanted(&parameters, DocumentFormat::Legacy, &options());
        for item in &items[4..] {
            assert!(item.spec.is_none(), "{}", item.source);
            assert!(
                matches!(&item.action, RestoreAction::Skipped { reason } if reason == "not a parameter of `dev` (names holding the segment /dev/): restore never writes outside the environment"),
                "{:?}",
                item.action
            );
        }
        // With parameterPaths, exactly those paths.
        let exact = RestoreOptions {
            selection: Selection::paths("dev", vec!["/app/dev/".into()]),
            ..options()
        };
        let items = wanted(&doc(), DocumentFormat::V2, &exact);
        let writable: Vec<&str> = items
            .iter()
            .filter(|i| i.spec.is_some())
            .map(|i| i.source.as_str())
            .collect();
        assert_eq!(writable, ["/app/dev/host", "/app/dev/password"]);
    }

    #[test]
    fn what_put_parameter_cannot_change_is_kept_or_recreated() {
        let mut bare = param("/app/dev/host", "String", "db.internal");
        bare.description = None;
        let base = wanted(&[bare], DocumentFormat::V2, &options());
        let mut live = live_of(&base);
        let host = live.get_mut("/app/dev/host").unwrap();
        host.description = "added later".into();
        host.tier = "Advanced".into();
        host.policies = vec![r#"{"Type":"Expiration"}"#.into()];
        // The preview shows what the write does: nothing, three attributes kept.
        let kept = plan(base.clone(), &live, &[], (true, false));
        assert_eq!(kept[0].action, RestoreAction::Unchanged);
        let reasons: Vec<(RestoreAttribute, &str)> = kept[0]
            .kept
            .iter()
            .map(|k| (k.attribute, k.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    RestoreAttribute::Description,
                    "PutParameter cannot remove a description"
                ),
                (
                    RestoreAttribute::Tier,
                    "AWS refuses to move an Advanced parameter back to Standard"
                ),
                (
                    RestoreAttribute::Policies,
                    "PutParameter cannot remove parameter policies"
                ),
            ]
        );
        // What is written (and read back) is what will be true: nothing differs afterwards.
        let spec = kept[0].spec.as_ref().unwrap();
        assert!(read_back_mismatches(&[spec], &live).is_empty());
        // A value to restore as well: updated, the rest still kept.
        live.get_mut("/app/dev/host").unwrap().value = Secret::new("changed".into());
        let updated = plan(base.clone(), &live, &[], (true, false));
        let RestoreAction::Update { changes } = &updated[0].action else {
            panic!("{:?}", updated[0].action)
        };
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(updated[0].kept.len(), 3);
        let text = preview(updated, Vec::new());
        assert!(
            text.contains(
                "description kept as it is live: PutParameter cannot remove a description"
            ),
            "{text}"
        );
        // --recreate: deleted and written again, and the preview says the history is lost.
        let recreated = plan(base, &live, &[], (true, true));
        assert!(
            matches!(&recreated[0].action, RestoreAction::Recreate { changes } if changes.len() == 4)
        );
        assert!(recreated[0].kept.is_empty());
        let text = preview(recreated, Vec::new());
        assert!(text.contains("~ recreate  /app/dev/host"), "{text}");
        assert!(
            text.contains("its history of versions and labels is lost"),
            "{text}"
        );
        assert!(
            text.contains("1 to recreate (deleted and written again: their history is lost)"),
            "{text}"
        );
    }

    #[test]
    fn a_changed_secret_is_sensitive_and_only_overwrite_updates() {
        let base = wanted(&doc(), DocumentFormat::V2, &options());
        let mut live = live_of(&base);
        let pw = live.get_mut("/app/dev/password").unwrap();
        pw.value = Secret::new("s3cr3t-NEW".into());
        pw.description = "changed".into();
        let kept = plan(base.clone(), &live, &[], (false, false));
        let RestoreAction::Differs { changes } = &kept[1].action else {
            panic!("{:?}", kept[1].action)
        };
        assert_eq!(
            changes,
            &vec![
                AttributeChange {
                    attribute: RestoreAttribute::Value,
                    live: None,
                    backup: None,
                    sensitive: true
                },
                AttributeChange {
                    attribute: RestoreAttribute::Description,
                    live: Some("changed".into()),
                    backup: Some("d".into()),
                    sensitive: false
                },
            ]
        );
        assert!(!kept.iter().any(RestoreItem::writes));
        let updated = plan(base, &live, &[], (true, false));
        assert!(matches!(updated[1].action, RestoreAction::Update { .. }));
        let text = preview(updated, Vec::new());
        assert!(text.contains("value: (sensitive, changed)"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(
            text.contains("Restore: 0 to create, 1 to update, 0 differ"),
            "{text}"
        );
    }

    #[test]
    fn a_drill_restores_a_subtree_under_another_prefix_with_another_key() {
        let drill = RestoreOptions {
            only: Some("/app/dev/".into()),
            to_prefix: Some("/drill/dev/".into()),
            kms_key_id: Some("alias/dr".into()),
            ..options()
        };
        let items = wanted(&doc(), DocumentFormat::V2, &drill);
        let targets: Vec<&str> = items.iter().map(|i| i.target.as_str()).collect();
        assert_eq!(targets, ["/drill/dev/host", "/drill/dev/password"]);
        assert_eq!(items[1].source, "/app/dev/password");
        let spec = items[1].spec.as_ref().unwrap();
        assert_eq!(spec.key_id.as_deref(), Some("alias/dr"));
        assert_eq!(
            items[0].spec.as_ref().unwrap().key_id,
            None,
            "String: no key"
        );
    }

    #[test]
    fn legacy_documents_leave_unknown_attributes_at_defaults_and_out_of_the_diff() {
        let mut old = param("/app/dev/big", "SecureString", &"x".repeat(5000));
        (old.tier, old.description, old.key_id, old.data_type) = (None, None, None, None);
        let items = wanted(&[old], DocumentFormat::Legacy, &options());
        let spec = items[0].spec.clone().unwrap();
        assert_eq!(spec.tier, "Advanced", "a value over 4 KB needs Advanced");
        assert_eq!(spec.key_id.as_deref(), Some(DEFAULT_KEY));
        assert_eq!(spec.data_type, DEFAULT_DATA_TYPE);
        let mut live = BTreeMap::new();
        let mut have = spec.clone();
        have.description = "set by hand".into();
        live.insert(have.name.clone(), have);
        let decided = plan(items, &live, &UNKNOWN_IN_LEGACY, (true, false));
        assert_eq!(decided[0].action, RestoreAction::Unchanged);
    }

    #[test]
    fn a_legacy_restore_with_kms_key_id_compares_the_key_it_names() {
        let mut old = param("/app/dev/token", "SecureString", "t");
        (old.tier, old.description, old.key_id, old.data_type) = (None, None, None, None);
        let mut remapped = options();
        remapped.kms_key_id = Some("alias/dr".into());
        let unknown = unknown_attributes(DocumentFormat::Legacy, &[], Some("alias/dr"));
        assert!(!unknown.contains(&RestoreAttribute::KmsKey));
        assert_eq!(
            unknown_attributes(DocumentFormat::Legacy, &[], None),
            UNKNOWN_IN_LEGACY.to_vec()
        );
        assert!(unknown_attributes(DocumentFormat::V2, &doc(), None).is_empty());
        // Format 2 written before tags were backed up: tags are unknown, never removed.
        let mut untagged = doc();
        untagged[0].tags = None;
        let tags_unknown = unknown_attributes(DocumentFormat::V2, &untagged, None);
        assert_eq!(tags_unknown, [RestoreAttribute::Tags]);
        let items = wanted(&untagged, DocumentFormat::V2, &options());
        let mut live = live_of(&items);
        live.get_mut("/app/dev/host")
            .unwrap()
            .tags
            .insert("owner".into(), "ops".into());
        let decided = plan(items, &live, &tags_unknown, (true, false));
        assert_eq!(decided[0].action, RestoreAction::Unchanged);
        assert!(decided[0].untag.is_empty(), "never removed");
        let text = preview(decided, tags_unknown);
        assert!(text.contains("This backup records no tags"), "{text}");

        let items = wanted(&[old], DocumentFormat::Legacy, &remapped);
        let mut have = items[0].spec.clone().unwrap();
        have.key_id = Some(DEFAULT_KEY.into());
        let live = BTreeMap::from([(have.name.clone(), have)]);
        let decided = plan(items, &live, &unknown, (true, false));
        let RestoreAction::Update { changes } = &decided[0].action else {
            panic!("{:?}", decided[0].action)
        };
        let attributes: Vec<RestoreAttribute> = changes.iter().map(|c| c.attribute).collect();
        assert_eq!(attributes, [RestoreAttribute::KmsKey]);
    }

    #[test]
    fn read_back_names_every_mismatch() {
        let items = wanted(&doc(), DocumentFormat::V2, &options());
        let specs: Vec<&ParameterSpec> = items.iter().filter_map(|i| i.spec.as_ref()).collect();
        let mut read = live_of(&items);
        assert!(read_back_mismatches(&specs, &read).is_empty());
        read.get_mut("/app/dev/host").unwrap().tier = "Advanced".into();
        read.remove("/other/dev/x");
        assert_eq!(
            read_back_mismatches(&specs, &read),
            [
                "/app/dev/host: tier differ after writing",
                "/other/dev/x: not found after writing"
            ]
        );
    }
}
