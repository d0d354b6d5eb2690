//! The stack file (`stacks/<env>.yaml`): its raw serde schema and the validated `Stack`.
//! Every error names the file, line, column and key. Pure: the caller reads the file.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::newest::listed_day;
use super::region::{check_known_region, check_one_partition, check_region, partition};
use super::store::{COPY_PREFIX, Layout, backup_layout};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

mod at_rest;
mod dashboard;
mod journal;
pub use at_rest::{EncryptionMode, LockMode, ObjectLockConfig, check_key_arn};
pub use dashboard::{DEFAULT_DASHBOARD_RANGE_DAYS, DashboardConfig, MAX_DASHBOARD_RANGE_DAYS};
pub use journal::{JournalConfig, LOG_RETENTION_DAYS};

/// A validated stack: everything `desired` needs besides the account id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub project_name: String,
    pub environment: String,
    pub regions: Vec<String>,
    pub default_region: String,
    pub ssm_home_region: String,
    pub retention_days: u32,
    pub noncurrent_retention_days: u32,
    /// The dead-man's switch (`alarm:`), when the stack has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<AlarmConfig>,
    /// `parameterPaths`: exactly the parameters under these prefixes belong to the environment
    /// (each starts and ends with `/`). Without it, the old job's rule: a `/<env>/` segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_paths: Option<Vec<String>>,
    /// `encryption`: AES256 (the default) or kms.
    #[serde(default, skip_serializing_if = "EncryptionMode::is_default")]
    pub encryption: EncryptionMode,
    /// `kmsKeyIds`: with `encryption: kms`, the existing key of each region (then apply
    /// manages none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kms_key_ids: BTreeMap<String, String>,
    /// `objectLock`: S3 Object Lock with this default retention (it can never be turned off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_lock: Option<ObjectLockConfig>,
    /// `copies`: region -> the region whose bucket holds a second copy of its backups.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub copies: BTreeMap<String, String>,
    /// Backup keys dated after today that an operator reviewed and acknowledged
    /// (`acknowledgedFutureBackups`): verify and restore list them, never choose them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged_future_backups: Vec<String>,
    /// `journal`: the change journal (an EventBridge rule and a CloudWatch Logs group per
    /// region) that `changes` and `restore --at` read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalConfig>,
    /// `dashboard`: a CloudWatch dashboard of the environment's backups, drills and alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<DashboardConfig>,
}

/// The stack's `alarm: {snsTopicArn, maxAgeHours}` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmConfig {
    /// The SNS topic the alarms notify, in `ssmHomeRegion`.
    pub sns_topic_arn: String,
    /// Hours without a successful backup before a region's alarm fires.
    pub max_age_hours: u32,
    /// `drillMaxAgeDays`: days without a passed `restore --drill` before a region's drill alarm
    /// fires; no drill alarm without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_max_age_days: Option<u32>,
}

pub const DEFAULT_MAX_AGE_HOURS: u32 = 26;
/// CloudWatch evaluates at most seven days of one-hour periods.
pub const MAX_MAX_AGE_HOURS: u32 = 168;
/// CloudWatch evaluates at most seven days (Period x EvaluationPeriods <= 604,800 s), also of
/// one-day periods.
pub const MAX_DRILL_MAX_AGE_DAYS: u32 = 7;

pub const DEFAULT_RETENTION_DAYS: u32 = 30;
pub const DEFAULT_NONCURRENT_RETENTION_DAYS: u32 = 7;
/// A hundred years: far beyond any backup policy, and far below where S3's 32-bit day counts
/// would wrap.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// What a valid stack may not mean as its author thinks: said by `validate` and `plan`.
pub fn warnings(stack: &Stack) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(journal) = &stack.journal
        && journal.retention_days < stack.retention_days
    {
        warnings.push(format!(
            "journal.retentionDays ({}) is shorter than retentionDays ({}): `restore --at` reaches back only {} days, though backups are kept {} days",
            journal.retention_days, stack.retention_days, journal.retention_days, stack.retention_days
        ));
    }
    if stack.dashboard.is_some() && stack.alarm.is_none() {
        warnings.push(
            "dashboard without alarm: the dashboard has no alarm widget (no alarm watches the backups); add an `alarm` section to see their states".into(),
        );
    }
    warnings
}

/// A stack file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub key: String,
    pub message: String,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": `{}`: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for StackError {}

/// Every mistake of a stack file, in file order: all are reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackErrors(pub Vec<StackError>);

impl fmt::Display for StackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        match lines.len() {
            1 => f.write_str(&lines[0]),
            n => write!(
                f,
                "{n} mistakes in the stack file:\n  {}",
                lines.join("\n  ")
            ),
        }
    }
}

impl std::error::Error for StackErrors {}

/// The file as written: every top-level key with where it is, values not yet typed, so that
/// one mistake does not hide the next.
type RawStack = HashMap<Spanned<String>, Spanned<serde_json::Value>>;

/// The `regions` list again, this time with the place of each entry.
#[derive(Deserialize)]
struct RawRegions {
    #[serde(default)]
    regions: Option<Vec<Spanned<serde_json::Value>>>,
}

/// The `acknowledgedFutureBackups` list again, this time with the place of each entry.
#[derive(Deserialize)]
struct RawAcknowledged {
    #[serde(default, rename = "acknowledgedFutureBackups")]
    keys: Option<Vec<Spanned<serde_json::Value>>>,
}

/// The `parameterPaths` list again, this time with the place of each entry.
#[derive(Deserialize)]
struct RawPaths {
    #[serde(default, rename = "parameterPaths")]
    paths: Option<Vec<Spanned<serde_json::Value>>>,
}

/// The `alarm` section again, this time with the place of each key.
#[derive(Deserialize)]
struct RawAlarm {
    #[serde(default)]
    alarm: Option<HashMap<Spanned<String>, Spanned<serde_json::Value>>>,
}

const ALARM_KEYS: [&str; 3] = ["snsTopicArn", "maxAgeHours", "drillMaxAgeDays"];

const KEYS: [&str; 16] = [
    "projectName",
    "environment",
    "regions",
    "defaultRegion",
    "ssmHomeRegion",
    "retentionDays",
    "noncurrentRetentionDays",
    "alarm",
    "parameterPaths",
    "encryption",
    "kmsKeyIds",
    "objectLock",
    "copies",
    "acknowledgedFutureBackups",
    "journal",
    "dashboard",
];
const REQUIRED: [&str; 5] = [
    "projectName",
    "environment",
    "regions",
    "defaultRegion",
    "ssmHomeRegion",
];

/// The 12 digits every account id has: bucket names are checked at their final length
/// before any AWS call.
const ACCOUNT_ID_PLACEHOLDER: &str = "000000000000";

/// How strict the parser is where the operator may choose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept a well-formed region name this build does not know (`--allow-unknown-region`):
    /// a region AWS opened after this release.
    pub allow_unknown_regions: bool,
}

/// Collects the mistakes of one file.
struct Check<'a> {
    file: &'a str,
    /// The file's text, to see how a value was written (quoted or not).
    source: &'a str,
    options: ParseOptions,
    errors: Vec<StackError>,
}

impl<'a> Check<'a> {
    fn at(&mut self, key: &str, loc: &serde_saphyr::Location, message: String) {
        self.at_position(key, (loc.line(), loc.column()), message);
    }

    fn at_position(&mut self, key: &str, (line, column): (u64, u64), message: String) {
        self.errors.push(StackError {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message,
        });
    }

    /// How a scalar was written, when it was written without quotes (`None` for a quoted or
    /// block scalar, or one the source does not show where the parser says).
    fn unquoted(&self, loc: &serde_saphyr::Location) -> Option<&'a str> {
        let line = self
            .source
            .lines()
            .nth(usize::try_from(loc.line()).ok()?.checked_sub(1)?)?;
        let start = line
            .char_indices()
            .nth(usize::try_from(loc.column()).ok()?.checked_sub(1)?)
            .map(|(i, _)| i)?;
        let rest = &line[start..];
        if rest.starts_with(['"', '\'', '|', '>']) {
            return None;
        }
        let end = rest
            .find([',', ']', '}'])
            .into_iter()
            .chain(rest.find(" #"))
            .min()
            .unwrap_or(rest.len());
        Some(rest[..end].trim_end())
    }

    /// A string value. A scalar that YAML 1.1 reads as a boolean or a number (`no`, `on`,
    /// `0x1f`, `1_000`) is refused unless quoted: parsers disagree on it, and `environment: no`
    /// must never become `false`.
    fn text(&mut self, key: &str, value: &Spanned<serde_json::Value>) -> Option<String> {
        let written = self.unquoted(&value.referenced);
        let typed = match &value.value {
            serde_json::Value::String(_) => written.and_then(yaml11_type),
            serde_json::Value::Number(_) => Some("a number"),
            serde_json::Value::Bool(_) => Some("a boolean"),
            _ => None,
        };
        if let Some(what) = typed {
            let shown = written.map_or_else(|| shown(&value.value), str::to_string);
            self.at(
                key,
                &value.referenced,
                format!("`{shown}` is read by YAML as {what}, not as text: quote it (\"{shown}\")"),
            );
            return None;
        }
        match &value.value {
            serde_json::Value::String(s) => Some(s.clone()),
            other => {
                self.at(
                    key,
                    &value.referenced,
                    format!("expected a single value, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// A number of days from 1 to `MAX_RETENTION_DAYS`.
    fn days(&mut self, key: &str, value: &Spanned<serde_json::Value>) -> Option<u32> {
        let range = format!("allowed are 1 to {MAX_RETENTION_DAYS} days");
        let shown = shown(&value.value);
        if value.value.is_number() && !self.decimal(value) {
            self.at(
                key,
                &value.referenced,
                format!(
                    "`{}` is not written as a decimal number: write the days in digits, like 30",
                    self.unquoted(&value.referenced).unwrap_or_default()
                ),
            );
            return None;
        }
        match value.value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (1..=MAX_RETENTION_DAYS).contains(&n) => Some(n),
            _ if value.value.is_number() => {
                self.at(
                    key,
                    &value.referenced,
                    format!("{shown} is out of range: {range}"),
                );
                None
            }
            _ => {
                self.at(
                    key,
                    &value.referenced,
                    format!("`{shown}` is not a whole number of days: {range}"),
                );
                None
            }
        }
    }

    /// Whether a number was written in plain decimal digits (YAML 1.1 also reads `0x1f`, `0o17`,
    /// `1_000` and `1:30` as numbers).
    fn decimal(&self, value: &Spanned<serde_json::Value>) -> bool {
        self.unquoted(&value.referenced).is_some_and(|w| {
            let digits = w.strip_prefix(['-', '+']).unwrap_or(w);
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
        })
    }

    /// A name that becomes part of bucket names and SSM paths.
    fn name(
        &mut self,
        known: &HashMap<&str, &Spanned<serde_json::Value>>,
        key: &str,
        what: &str,
    ) -> Option<String> {
        let value = known.get(key)?;
        let text = self.text(key, value)?;
        match check_name(&text, what) {
            Ok(()) => Some(text),
            Err(m) => {
                self.at(key, &value.referenced, m);
                None
            }
        }
    }

    /// A region name, with where it is written.
    fn region(
        &mut self,
        known: &HashMap<&str, &Spanned<serde_json::Value>>,
        key: &str,
    ) -> Option<(String, serde_saphyr::Location)> {
        let value = known.get(key)?;
        let text = self.text(key, value)?;
        match check_known_region(&text, self.options.allow_unknown_regions) {
            Ok(()) => Some((text, value.referenced)),
            Err(m) => {
                self.at(key, &value.referenced, m);
                None
            }
        }
    }
}

/// A value as the file wrote it, for messages (a string without its JSON quotes).
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "nothing",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
        _ => "a value",
    }
}

/// What YAML 1.1 reads an unquoted scalar as, when not as text: "a boolean" (`y`, `no`, `On`,
/// ...), "a number" (`12`, `0x1f`, `0o17`, `1_000`, `1.5`, `1e3`, `1:30`, `.inf`) or "nothing"
/// (`~`, `null`).
pub fn yaml11_type(written: &str) -> Option<&'static str> {
    const BOOLEANS: [&str; 8] = ["y", "yes", "n", "no", "true", "false", "on", "off"];
    let lower = written.to_ascii_lowercase();
    if BOOLEANS.contains(&lower.as_str()) {
        return Some("a boolean");
    }
    if ["~", "null"].contains(&lower.as_str()) {
        return Some("nothing");
    }
    let unsigned = lower.strip_prefix(['-', '+']).unwrap_or(&lower);
    let digits = |s: &str, radix: u32| {
        !s.is_empty()
            && s.chars().all(|c| c == '_' || c.is_digit(radix))
            && s.chars().any(|c| c != '_')
    };
    let number = [".inf", ".nan"].contains(&unsigned)
        || unsigned.strip_prefix("0x").is_some_and(|s| digits(s, 16))
        || unsigned.strip_prefix("0o").is_some_and(|s| digits(s, 8))
        || unsigned.strip_prefix("0b").is_some_and(|s| digits(s, 2))
        // Sexagesimal (`1:30`), decimal and octal (`017`), with `_` separators.
        || (unsigned.starts_with(|c: char| c.is_ascii_digit())
            && unsigned.split(':').all(|part| digits(part, 10)))
        || float(unsigned);
    number.then_some("a number")
}

/// `1.5`, `.5`, `1.`, `1e3`, `1.5e-3` (digits may hold `_`).
fn float(s: &str) -> bool {
    let (mantissa, exponent) = match s.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_digits = |p: &str| p.chars().all(|c| c == '_' || c.is_ascii_digit());
    let has_digit = mantissa.chars().any(|c| c.is_ascii_digit());
    exponent_ok
        && has_digit
        && is_digits(int)
        && is_digits(frac)
        && (mantissa.contains('.') || exponent.is_some())
}

/// Parses and validates a stack file, reporting every mistake at once. `file` is only used in
/// messages.
pub fn parse(file: &str, text: &str) -> Result<Stack, StackErrors> {
    parse_with(file, text, ParseOptions::default())
}

/// `parse`, with the choices the operator made.
pub fn parse_with(file: &str, text: &str, options: ParseOptions) -> Result<Stack, StackErrors> {
    let raw: RawStack =
        serde_saphyr::from_str(text).map_err(|e| StackErrors(vec![yaml_error(file, &e)]))?;
    let mut check = Check {
        file,
        source: text,
        options,
        errors: Vec::new(),
    };
    let values = check_values(&mut check, text, &raw);
    match values.stack() {
        Some(stack) if check.errors.is_empty() => Ok(stack),
        _ => {
            let mut errors = check.errors;
            errors.sort_by_key(|e| (e.line, e.column));
            Err(StackErrors(errors))
        }
    }
}

/// Each value of the stack as checked: `None` where the file has a mistake in it.
struct CheckedValues {
    project_name: Option<String>,
    environment: Option<String>,
    regions: Option<Vec<String>>,
    default_region: Option<(String, serde_saphyr::Location)>,
    ssm_home_region: Option<(String, serde_saphyr::Location)>,
    retention_days: Option<u32>,
    noncurrent_retention_days: Option<u32>,
    alarm: Option<Option<AlarmConfig>>,
    parameter_paths: Option<Option<Vec<String>>>,
    encryption: Option<EncryptionMode>,
    kms_key_ids: Option<BTreeMap<String, String>>,
    object_lock: Option<Option<ObjectLockConfig>>,
    copies: Option<BTreeMap<String, String>>,
    acknowledged_future_backups: Option<Vec<String>>,
    journal: Option<Option<JournalConfig>>,
    dashboard: Option<Option<DashboardConfig>>,
}

impl CheckedValues {
    /// The stack, when every value is there.
    fn stack(self) -> Option<Stack> {
        Some(Stack {
            project_name: self.project_name?,
            environment: self.environment?,
            regions: self.regions?,
            default_region: self.default_region?.0,
            ssm_home_region: self.ssm_home_region?.0,
            retention_days: self.retention_days?,
            noncurrent_retention_days: self.noncurrent_retention_days?,
            alarm: self.alarm?,
            parameter_paths: self.parameter_paths?,
            encryption: self.encryption?,
            kms_key_ids: self.kms_key_ids?,
            object_lock: self.object_lock?,
            copies: self.copies?,
            acknowledged_future_backups: self.acknowledged_future_backups?,
            journal: self.journal?,
            dashboard: self.dashboard?,
        })
    }
}

/// Every key checked, in the order its mistakes are found (they are sorted by place later).
fn check_values(check: &mut Check, text: &str, raw: &RawStack) -> CheckedValues {
    let known = known_keys(check, raw);
    let project_name = check.name(&known, "projectName", "project name");
    let environment = check.name(&known, "environment", "environment");
    let regions = regions(check, text, known.get("regions").copied());
    let default_region = check.region(&known, "defaultRegion");
    let ssm_home_region = check.region(&known, "ssmHomeRegion");
    check_placement(
        check,
        regions.as_deref(),
        default_region.as_ref(),
        ssm_home_region.as_ref(),
    );
    let mut days = |key: &str, default: u32| match known.get(key) {
        None => Some(default),
        Some(value) => check.days(key, value),
    };
    let retention_days = days("retentionDays", DEFAULT_RETENTION_DAYS);
    let noncurrent_retention_days =
        days("noncurrentRetentionDays", DEFAULT_NONCURRENT_RETENTION_DAYS);
    if let (Some(project), Some(env), Some(regions), Some(value)) = (
        &project_name,
        &environment,
        &regions,
        known.get("projectName"),
    ) {
        check_bucket_names(check, project, env, regions, value);
    }
    let parameter_paths = match known.get("parameterPaths") {
        None => Some(None),
        Some(value) => parameter_paths(check, text, value).map(Some),
    };
    let alarm = match known.get("alarm") {
        None => Some(None),
        Some(value) => alarm(
            check,
            text,
            value,
            ssm_home_region.as_ref().map(|(r, _)| r.as_str()),
        )
        .map(Some),
    };
    let at_rest = at_rest_values(check, text, &known, regions.as_deref(), retention_days);
    let acknowledged_future_backups = match (known.get("acknowledgedFutureBackups"), &environment) {
        (None, _) => Some(Vec::new()),
        (Some(value), Some(env)) => acknowledged_future_backups(check, text, value, env),
        (Some(_), None) => None,
    };
    let journal = match known.get("journal") {
        None => Some(None),
        Some(value) => journal::journal(check, text, value).map(Some),
    };
    let dashboard = match known.get("dashboard") {
        None => Some(None),
        Some(value) => dashboard::dashboard(check, text, value).map(Some),
    };
    CheckedValues {
        dashboard,
        journal,
        acknowledged_future_backups,
        copies: at_rest.copies,
        object_lock: at_rest.object_lock,
        encryption: at_rest.encryption,
        kms_key_ids: at_rest.kms_key_ids,
        project_name,
        environment,
        regions,
        default_region,
        ssm_home_region,
        retention_days,
        noncurrent_retention_days,
        alarm,
        parameter_paths,
    }
}

/// The values of the keys about backups at rest and elsewhere: `None` where the file has a
/// mistake in them.
struct AtRest {
    encryption: Option<EncryptionMode>,
    kms_key_ids: Option<BTreeMap<String, String>>,
    object_lock: Option<Option<ObjectLockConfig>>,
    copies: Option<BTreeMap<String, String>>,
}

/// `encryption`, `kmsKeyIds`, `objectLock` and `copies`, checked (stack/at_rest.rs).
fn at_rest_values(
    check: &mut Check,
    text: &str,
    known: &HashMap<&'static str, &Spanned<serde_json::Value>>,
    regions: Option<&[String]>,
    retention_days: Option<u32>,
) -> AtRest {
    let encryption = match known.get("encryption") {
        None => Some(EncryptionMode::default()),
        Some(value) => at_rest::encryption(check, value),
    };
    let kms_key_ids = match known.get("kmsKeyIds") {
        None => Some(BTreeMap::new()),
        Some(value) => at_rest::kms_key_ids(check, text, value, regions, encryption),
    };
    let object_lock = match known.get("objectLock") {
        None => Some(None),
        Some(value) => at_rest::object_lock(check, text, value, retention_days).map(Some),
    };
    let copies = match known.get("copies") {
        None => Some(BTreeMap::new()),
        Some(value) => at_rest::copies(check, text, value, regions),
    };
    AtRest {
        encryption,
        kms_key_ids,
        object_lock,
        copies,
    }
}

/// The regions, the home region and the default region together: one partition, and the
/// default among the regions.
fn check_placement(
    check: &mut Check,
    regions: Option<&[String]>,
    default_region: Option<&(String, serde_saphyr::Location)>,
    ssm_home_region: Option<&(String, serde_saphyr::Location)>,
) {
    if let (Some(regions), Some((home, loc))) = (regions, ssm_home_region) {
        let all = regions.iter().chain(std::iter::once(home));
        if let Err(m) = check_one_partition(all.map(String::as_str)) {
            check.at("ssmHomeRegion", loc, m);
        }
    }
    if let (Some((default, loc)), Some(regions)) = (default_region, regions)
        && !regions.contains(default)
    {
        check.at(
            "defaultRegion",
            loc,
            format!(
                "`{default}` is not one of `regions` ({})",
                regions.join(", ")
            ),
        );
    }
}

/// The known keys by name; unknown keys and missing required ones are mistakes.
fn known_keys<'a>(
    check: &mut Check,
    raw: &'a RawStack,
) -> HashMap<&'static str, &'a Spanned<serde_json::Value>> {
    let mut known = HashMap::new();
    for (key, value) in raw {
        match KEYS.iter().find(|k| **k == key.value) {
            Some(k) => {
                known.insert(*k, value);
            }
            None => check.at(
                &key.value,
                &key.referenced,
                format!(
                    "unknown key `{}`; the keys are: {}",
                    key.value,
                    KEYS.join(", ")
                ),
            ),
        }
    }
    for key in REQUIRED {
        if !known.contains_key(key) {
            // Missing from the mapping that starts the file.
            check.at_position(key, (1, 1), format!("missing required key `{key}`"));
        }
    }
    known
}

/// Every bucket name the stack will use must be valid, at its final length.
fn check_bucket_names(
    check: &mut Check,
    project: &str,
    environment: &str,
    regions: &[String],
    at: &Spanned<serde_json::Value>,
) {
    for region in regions {
        let bucket = bucket_name(project, environment, ACCOUNT_ID_PLACEHOLDER, region);
        if let Err(m) = check_bucket_name(&bucket) {
            check.at(
                "projectName",
                &at.referenced,
                format!("the bucket name for {region} would break S3 naming rules: {m}"),
            );
            return;
        }
    }
}

/// What a list key of the stack holds: distinct texts, each accepted by `valid`.
struct ListRules<'a> {
    /// The message for a value that is no list ("expected a list of ...").
    expected: &'a str,
    /// The message for an empty list.
    empty: &'a str,
    /// At most this many entries, and why.
    max: Option<(usize, &'a str)>,
    valid: &'a dyn Fn(&str) -> Result<(), String>,
    /// The message for an entry listed twice.
    twice: &'a dyn Fn(&str) -> String,
}

/// A list key's entries (`entries`, with their places) checked by `rules`: every mistake is
/// reported; the list only when there is none.
fn distinct_texts(
    check: &mut Check,
    key: &str,
    value: &Spanned<serde_json::Value>,
    entries: Option<Vec<Spanned<serde_json::Value>>>,
    rules: &ListRules,
) -> Option<Vec<String>> {
    if !value.value.is_array() {
        let found = format!("{}, found {}", rules.expected, kind(&value.value));
        check.at(key, &value.referenced, found);
        return None;
    }
    let entries = entries.unwrap_or_default();
    if entries.is_empty() {
        check.at(key, &value.referenced, rules.empty.to_string());
        return None;
    }
    if let Some((max, why)) = rules.max
        && entries.len() > max
    {
        let found = format!("{} {why}", entries.len());
        check.at(key, &value.referenced, found);
        return None;
    }
    let before = check.errors.len();
    let mut texts: Vec<String> = Vec::with_capacity(entries.len());
    for entry in &entries {
        let Some(text) = check.text(key, entry) else {
            continue;
        };
        if let Err(m) = (rules.valid)(&text) {
            check.at(key, &entry.referenced, m);
        } else if texts.contains(&text) {
            check.at(key, &entry.referenced, (rules.twice)(&text));
        } else {
            texts.push(text);
        }
    }
    (check.errors.len() == before).then_some(texts)
}

/// The `regions` list: at least one, each a region name, none twice.
fn regions(
    check: &mut Check,
    text: &str,
    value: Option<&Spanned<serde_json::Value>>,
) -> Option<Vec<String>> {
    let value = value?;
    let entries = serde_saphyr::from_str::<RawRegions>(text)
        .ok()
        .and_then(|r| r.regions);
    let allow_unknown = check.options.allow_unknown_regions;
    let rules = ListRules {
        expected: "expected a list of region names",
        empty: "the list is empty: name at least one region",
        max: None,
        valid: &|region| check_known_region(region, allow_unknown),
        twice: &|region| format!("region `{region}` is listed twice"),
    };
    distinct_texts(check, "regions", value, entries, &rules)
}

/// The `parameterPaths` list: at least one path prefix, each a valid one, none twice.
fn parameter_paths(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
) -> Option<Vec<String>> {
    let entries = serde_saphyr::from_str::<RawPaths>(text)
        .ok()
        .and_then(|r| r.paths);
    let too_many = format!(
        "paths: at most {MAX_PARAMETER_PATHS} (DescribeParameters takes no more in one filter)"
    );
    let rules = ListRules {
        expected: "expected a list of parameter path prefixes like /app/dev/",
        empty: "the list is empty: name at least one path prefix, or leave the key out",
        max: Some((MAX_PARAMETER_PATHS, &too_many)),
        valid: &check_parameter_path,
        twice: &|path| format!("`{path}` is listed twice"),
    };
    distinct_texts(check, "parameterPaths", value, entries, &rules)
}

/// `acknowledgedFutureBackups`: keys of backups of this environment dated after the day they
/// were written (`YYYY-MM-DD/<region>/ssm-backup-<env>-<region>-<ts>.json`, or the same under
/// `copies/`), each reviewed and acknowledged so that verify can pass while it stays listed.
fn acknowledged_future_backups(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
    environment: &str,
) -> Option<Vec<String>> {
    let entries = serde_saphyr::from_str::<RawAcknowledged>(text)
        .ok()
        .and_then(|r| r.keys);
    let valid = |key: &str| -> Result<(), String> {
        let document = key.strip_prefix(COPY_PREFIX).unwrap_or(key);
        let day = document.split('/').next().unwrap_or_default();
        let region = document.split('/').nth(1).unwrap_or_default();
        if listed_day(&format!("{day}/"), "").is_some()
            && backup_layout(document, region, environment) == Some(Layout::Ours)
        {
            Ok(())
        } else {
            Err(format!(
                "`{key}` is not the key of a backup of `{environment}`: YYYY-MM-DD/<region>/ssm-backup-{environment}-<region>-<YYYYMMDD_HHMMSS>.json, or the same under {COPY_PREFIX}, as `verify` names it"
            ))
        }
    };
    let rules = ListRules {
        expected: "expected a list of backup keys that `verify` names under not-future",
        empty: "the list is empty: name at least one key, or leave the key out",
        max: None,
        valid: &valid,
        twice: &|key| format!("`{key}` is listed twice"),
    };
    distinct_texts(check, "acknowledgedFutureBackups", value, entries, &rules)
}

/// The most `parameterPaths` a stack may list.
pub const MAX_PARAMETER_PATHS: usize = 50;

/// A parameter path prefix of `parameterPaths` or `--to-prefix`: it starts and ends with `/`,
/// holds at least one name, only the characters SSM allows in names, no empty level, and no
/// name AWS reserves (`aws`, `ssm`).
pub fn check_parameter_path(path: &str) -> Result<(), String> {
    if !(path.starts_with('/') && path.ends_with('/')) || path.len() < 3 {
        return Err(format!(
            "`{path}` is not a path prefix: it starts and ends with `/`, like /app/dev/"
        ));
    }
    if path.contains("//") {
        return Err(format!("`{path}` has an empty level (`//`)"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/_.-".contains(*c)))
    {
        return Err(format!(
            "`{path}` contains `{c}`: parameter names hold letters, digits and / _ . -"
        ));
    }
    let first = path[1..]
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(format!(
            "`{path}` starts with a name AWS reserves (aws, ssm)"
        ));
    }
    Ok(())
}

/// The `alarm` section: a mapping with `snsTopicArn` (a topic in `ssmHomeRegion`, where the
/// alarms live) and optionally `maxAgeHours` (1 to 168, default 26).
fn alarm(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
    home: Option<&str>,
) -> Option<AlarmConfig> {
    if !value.value.is_object() {
        check.at(
            "alarm",
            &value.referenced,
            format!(
                "expected a mapping with snsTopicArn, maxAgeHours and drillMaxAgeDays, found {}",
                kind(&value.value)
            ),
        );
        return None;
    }
    let entries = serde_saphyr::from_str::<RawAlarm>(text)
        .ok()
        .and_then(|r| r.alarm)
        .unwrap_or_default();
    let before = check.errors.len();
    let (topic, hours, drill_days) = alarm_keys(check, &entries, home);
    if topic.is_none() && check.errors.len() == before {
        check.at(
            "alarm.snsTopicArn",
            &value.referenced,
            "missing required key `snsTopicArn`: the SNS topic the alarms notify".into(),
        );
    }
    (check.errors.len() == before).then(|| AlarmConfig {
        sns_topic_arn: topic.unwrap_or_default(),
        max_age_hours: hours,
        drill_max_age_days: drill_days,
    })
}

/// The keys of the `alarm` section: the topic (when valid), the hours (the default unless
/// valid) and the drill's days (when given and valid); every mistake is reported.
fn alarm_keys(
    check: &mut Check,
    entries: &HashMap<Spanned<String>, Spanned<serde_json::Value>>,
    home: Option<&str>,
) -> (Option<String>, u32, Option<u32>) {
    let mut topic = None;
    let mut hours = DEFAULT_MAX_AGE_HOURS;
    let mut drill_days = None;
    for (key, entry) in entries {
        let name = format!("alarm.{}", key.value);
        match key.value.as_str() {
            "snsTopicArn" => {
                let Some(arn) = check.text(&name, entry) else {
                    continue;
                };
                match check_topic_arn(&arn, home) {
                    Ok(()) => topic = Some(arn),
                    Err(m) => check.at(&name, &entry.referenced, m),
                }
            }
            "maxAgeHours" => match entry.value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if (1..=MAX_MAX_AGE_HOURS).contains(&n) => hours = n,
                _ => check.at(
                    &name,
                    &entry.referenced,
                    format!(
                        "`{}` is not a whole number of hours from 1 to {MAX_MAX_AGE_HOURS} (CloudWatch evaluates at most seven days)",
                        shown(&entry.value)
                    ),
                ),
            },
            "drillMaxAgeDays" => match entry.value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if (1..=MAX_DRILL_MAX_AGE_DAYS).contains(&n) => drill_days = Some(n),
                _ => check.at(
                    &name,
                    &entry.referenced,
                    format!(
                        "`{}` is not a whole number of days from 1 to {MAX_DRILL_MAX_AGE_DAYS} (CloudWatch evaluates at most seven days: Period x EvaluationPeriods <= 604,800 seconds)",
                        shown(&entry.value)
                    ),
                ),
            },
            other => check.at(
                &name,
                &key.referenced,
                format!(
                    "unknown key `{other}` in `alarm`; its keys are: {}",
                    ALARM_KEYS.join(", ")
                ),
            ),
        }
    }
    (topic, hours, drill_days)
}

/// `arn:<partition>:sns:<region>:<account>:<topic>`, in `home` (CloudWatch alarms notify only
/// topics of their own region, and the alarms live in `ssmHomeRegion`).
pub fn check_topic_arn(arn: &str, home: Option<&str>) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && check_region(parts[3]).is_ok()
        && parts[1] == partition(parts[3])
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && !parts[5].is_empty()
        && parts[5].len() <= 256
        && parts[5]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !well_formed {
        return Err(format!(
            "`{arn}` is not an SNS topic ARN (expected arn:aws:sns:<region>:<account id>:<topic name>)"
        ));
    }
    match home {
        Some(home) if parts[3] != home => Err(format!(
            "the topic is in {}, but the alarms live in ssmHomeRegion ({home}) and CloudWatch notifies only topics of the alarm's region: use a topic in {home}",
            parts[3]
        )),
        _ => Ok(()),
    }
}

/// `{projectName}-ssm-backup-{environment}-{account}-{region}`: the seeds' naming contract.
pub fn bucket_name(project: &str, environment: &str, account_id: &str, region: &str) -> String {
    format!(
        "{}{region}",
        bucket_prefix(project, environment, account_id)
    )
}

/// What every bucket name of one stack and account starts with (the region follows).
pub fn bucket_prefix(project: &str, environment: &str, account_id: &str) -> String {
    format!("{project}{NAME_SEPARATOR}{environment}-{account_id}-")
}

/// What joins projectName and environment in bucket and alarm names: neither may hold it.
pub const NAME_SEPARATOR: &str = "-ssm-backup-";

/// A stack for tests: project `p`, environment `dev`, the first region default and home.
#[cfg(test)]
pub(crate) fn sample(regions: &[&str]) -> Stack {
    Stack {
        project_name: "p".into(),
        environment: "dev".into(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        default_region: regions[0].into(),
        ssm_home_region: regions[0].into(),
        retention_days: DEFAULT_RETENTION_DAYS,
        noncurrent_retention_days: DEFAULT_NONCURRENT_RETENTION_DAYS,
        alarm: None,
        parameter_paths: None,
        encryption: EncryptionMode::Aes256,
        kms_key_ids: BTreeMap::new(),
        object_lock: None,
        copies: BTreeMap::new(),
        acknowledged_future_backups: Vec::new(),
        journal: None,
        dashboard: None,
    }
}

/// A file that is not a YAML mapping at all (a syntax error, a list, ...): one error, where the
/// parser stopped.
fn yaml_error(file: &str, e: &serde_saphyr::Error) -> StackError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    StackError {
        file: file.to_string(),
        line,
        column,
        key: String::new(),
        message: e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

fn check_name(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if format!("-{value}-").contains(NAME_SEPARATOR) {
        return Err(format!(
            "`{value}` contains `ssm-backup`: bucket and alarm names join projectName and environment with `{NAME_SEPARATOR}`, so another stack could get the same names; choose a {what} without it"
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{value}` contains `{c}`: use lowercase letters, digits and hyphens (it becomes part of bucket names and SSM paths)"
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(format!("`{value}` must not start or end with a hyphen"));
    }
    Ok(())
}

/// S3 general purpose bucket naming rules.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    if name.len() < 3 || name.len() > 63 {
        return Err(format!(
            "`{name}` is {} characters long; S3 allows 3 to 63 (shorten projectName or environment)",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(format!("`{name}` contains `{c}`"));
    }
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(format!(
            "`{name}` must begin and end with a letter or digit"
        ));
    }
    if name.contains("..") {
        return Err(format!("`{name}` contains two adjacent periods"));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!(
                "`{name}` starts with the reserved prefix `{prefix}`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
projectName: jenkins-infra
environment: dev
regions:
  - ap-northeast-1
  - us-west-2
defaultRegion: ap-northeast-1
ssmHomeRegion: ap-northeast-1
";

    /// The one mistake of a file that has exactly one.
    fn parse_err(text: &str) -> StackError {
        let mut errors = parse("stacks/dev.yaml", text)
            .expect_err("should be rejected")
            .0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    }

    #[test]
    fn every_mistake_is_reported_at_once_in_file_order() {
        let text = "\
projectName: Jenkins
environment: dev
regions:
  - ap-northeast-1
  - us_west_2
  - ap-northeast-1
defaultRegion: eu-west-1
ssmHomeRegion: tokyo
retentionDays: 99999999999
retentionDayz: 3
";
        let errors = parse("stacks/dev.yaml", text).expect_err("rejected");
        let found: Vec<(u64, u64, &str)> = errors
            .0
            .iter()
            .map(|e| (e.line, e.column, e.key.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (1, 14, "projectName"),
                (5, 5, "regions"),
                (6, 5, "regions"),
                (8, 16, "ssmHomeRegion"),
                (9, 16, "retentionDays"),
                (10, 1, "retentionDayz"),
            ],
            "{errors}"
        );
        let text = errors.to_string();
        assert!(
            text.starts_with(
                "6 mistakes in the stack file:\n  stacks/dev.yaml:1:14: `projectName`"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "`retentionDays`: 99999999999 is out of range: allowed are 1 to 36500 days"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_file_that_is_no_mapping_is_one_error_with_its_place() {
        for text in ["- a\n- b\n", "projectName: [unclosed\n"] {
            let e = parse_err(text);
            assert!(e.line >= 1 && e.key.is_empty(), "{e:?}");
        }
    }

    #[test]
    fn a_number_that_is_no_number_names_the_range() {
        let e = parse_err(&format!("{GOOD}noncurrentRetentionDays: a week\n"));
        assert_eq!(e.key, "noncurrentRetentionDays");
        assert_eq!(
            e.message,
            "`a week` is not a whole number of days: allowed are 1 to 36500 days"
        );
        let e = parse_err(&format!("{GOOD}retentionDays: -3\n"));
        assert_eq!(e.message, "-3 is out of range: allowed are 1 to 36500 days");
    }

    #[test]
    fn good_stack_parses_with_defaults() {
        let stack = parse("stacks/dev.yaml", GOOD).unwrap();
        assert_eq!(stack.project_name, "jenkins-infra");
        assert_eq!(stack.regions, ["ap-northeast-1", "us-west-2"]);
        assert_eq!(stack.retention_days, 30);
        assert_eq!(stack.noncurrent_retention_days, 7);
    }

    #[test]
    fn the_alarm_section_has_exactly_its_keys_and_defaults() {
        let topic = "arn:aws:sns:ap-northeast-1:123456789012:ops-alerts";
        let stack = parse("f", &format!("{GOOD}alarm:\n  snsTopicArn: {topic}\n")).unwrap();
        let alarm = stack.alarm.unwrap();
        assert_eq!(
            (alarm.sns_topic_arn.as_str(), alarm.max_age_hours),
            (topic, 26)
        );
        let text = format!("{GOOD}alarm: {{snsTopicArn: {topic}, maxAgeHours: 48}}\n");
        assert_eq!(parse("f", &text).unwrap().alarm.unwrap().max_age_hours, 48);
        assert_eq!(parse("f", GOOD).unwrap().alarm, None);
        assert_eq!(
            parse("f", &text).unwrap().alarm.unwrap().drill_max_age_days,
            None
        );
        let text = format!("{GOOD}alarm: {{snsTopicArn: {topic}, drillMaxAgeDays: 7}}\n");
        assert_eq!(
            parse("f", &text).unwrap().alarm.unwrap().drill_max_age_days,
            Some(7)
        );
        for bad in ["0", "8", "1.5", "weekly"] {
            let e = parse_err(&format!(
                "{GOOD}alarm:\n  snsTopicArn: {topic}\n  drillMaxAgeDays: {bad}\n"
            ));
            assert_eq!(
                (e.line, e.key.as_str()),
                (10, "alarm.drillMaxAgeDays"),
                "{bad}"
            );
            assert!(
                e.message
                    .contains("from 1 to 7 (CloudWatch evaluates at most seven days"),
                "{e}"
            );
        }

        let e = parse_err(&format!(
            "{GOOD}alarm:\n  snsTopicArn: {topic}\n  maxAgeHours: 169\n"
        ));
        assert_eq!(
            (e.line, e.column, e.key.as_str()),
            (10, 16, "alarm.maxAgeHours")
        );
        assert!(e.message.contains("1 to 168"), "{e}");
        let e = parse_err(&format!(
            "{GOOD}alarm:\n  snsTopicArn: {topic}\n  topic: x\n"
        ));
        assert_eq!((e.line, e.key.as_str()), (10, "alarm.topic"));
        assert!(
            e.message
                .contains("snsTopicArn, maxAgeHours, drillMaxAgeDays"),
            "{e}"
        );
        let e = parse_err(&format!("{GOOD}alarm:\n  maxAgeHours: 30\n"));
        assert_eq!(e.key, "alarm.snsTopicArn");
        assert!(e.message.starts_with("missing required key"), "{e}");
        let e = parse_err(&format!("{GOOD}alarm: yes\n"));
        assert_eq!(e.key, "alarm");
        let e = parse_err(&format!("{GOOD}alarm:\n  snsTopicArn: ops-alerts\n"));
        assert!(e.message.contains("is not an SNS topic ARN"), "{e}");
        let e = parse_err(&format!(
            "{GOOD}alarm:\n  snsTopicArn: arn:aws:sns:us-west-2:123456789012:ops\n"
        ));
        assert_eq!(
            e.message,
            "the topic is in us-west-2, but the alarms live in ssmHomeRegion (ap-northeast-1) and CloudWatch notifies only topics of the alarm's region: use a topic in ap-northeast-1"
        );
    }

    #[test]
    fn encryption_is_aes256_or_kms_and_kms_key_ids_name_one_key_per_region() {
        assert_eq!(parse("f", GOOD).unwrap().encryption, EncryptionMode::Aes256);
        let kms = parse("f", &format!("{GOOD}encryption: kms\n")).unwrap();
        assert_eq!(
            (kms.encryption, kms.kms_key_ids.len()),
            (EncryptionMode::Kms, 0)
        );
        let e = parse_err(&format!("{GOOD}encryption: KMS\n"));
        assert_eq!((e.line, e.column, e.key.as_str()), (8, 13, "encryption"));
        assert!(e.message.contains("use AES256"), "{e}");

        let key = |r: &str| format!("arn:aws:kms:{r}:123456789012:key/k-{r}");
        let both = format!(
            "{GOOD}encryption: kms\nkmsKeyIds:\n  ap-northeast-1: {}\n  us-west-2: {}\n",
            key("ap-northeast-1"),
            key("us-west-2")
        );
        assert_eq!(
            parse("f", &both).unwrap().kms_key_ids["us-west-2"],
            key("us-west-2")
        );
        let one = format!(
            "{GOOD}encryption: kms\nkmsKeyIds:\n  us-west-2: {}\n",
            key("us-west-2")
        );
        let e = parse_err(&one);
        assert_eq!((e.line, e.key.as_str()), (10, "kmsKeyIds"));
        assert!(e.message.contains("no key for ap-northeast-1"), "{e}");
        let swapped = format!(
            "{GOOD}encryption: kms\nkmsKeyIds:\n  ap-northeast-1: {}\n  us-west-2: {}\n",
            key("us-west-2"),
            key("ap-northeast-1")
        );
        let errors = parse("f", &swapped).unwrap_err().0;
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            (errors[0].line, errors[0].key.as_str()),
            (10, "kmsKeyIds.ap-northeast-1")
        );
        let without_kms = format!(
            "{GOOD}kmsKeyIds:\n  ap-northeast-1: {}\n  us-west-2: {}\n",
            key("ap-northeast-1"),
            key("us-west-2")
        );
        let e = parse_err(&without_kms);
        assert!(e.message.contains("only with `encryption: kms`"), "{e}");
        let stranger = format!("{both}  eu-west-1: {}\n", key("eu-west-1"));
        let e = parse_err(&stranger);
        assert_eq!(e.key, "kmsKeyIds.eu-west-1");
    }

    #[test]
    fn object_lock_has_exactly_mode_and_days_within_the_retention() {
        let lock = parse(
            "f",
            &format!("{GOOD}objectLock:\n  mode: COMPLIANCE\n  days: 30\n"),
        )
        .unwrap()
        .object_lock
        .unwrap();
        assert_eq!((lock.mode, lock.days), (LockMode::Compliance, 30));
        assert_eq!(parse("f", GOOD).unwrap().object_lock, None);
        let e = parse_err(&format!(
            "{GOOD}objectLock:\n  mode: governance\n  days: 30\n"
        ));
        assert_eq!((e.line, e.key.as_str()), (9, "objectLock.mode"));
        let e = parse_err(&format!("{GOOD}objectLock:\n  mode: GOVERNANCE\n"));
        assert_eq!(e.key, "objectLock.days");
        assert!(e.message.contains("missing required key `days`"), "{e}");
        let e = parse_err(&format!(
            "{GOOD}objectLock:\n  mode: GOVERNANCE\n  days: 30\n  years: 1\n"
        ));
        assert_eq!(e.key, "objectLock.years");
        let e = parse_err(&format!(
            "{GOOD}retentionDays: 14\nobjectLock:\n  mode: GOVERNANCE\n  days: 30\n"
        ));
        assert_eq!(e.key, "objectLock.days");
        assert!(e.message.contains("longer than retentionDays (14)"), "{e}");
    }

    #[test]
    fn copies_map_a_region_of_the_stack_to_another() {
        let stack = parse(
            "f",
            &format!("{GOOD}copies:\n  ap-northeast-1: us-west-2\n  us-west-2: ap-northeast-1\n"),
        )
        .unwrap();
        assert_eq!(stack.copies["ap-northeast-1"], "us-west-2");
        assert_eq!(stack.copies.len(), 2);
        let e = parse_err(&format!("{GOOD}copies:\n  us-west-2: us-west-2\n"));
        assert_eq!((e.line, e.key.as_str()), (9, "copies.us-west-2"));
        assert!(e.message.contains("no copy at all"), "{e}");
        let e = parse_err(&format!("{GOOD}copies:\n  us-west-2: eu-west-1\n"));
        assert!(e.message.contains("is not one of `regions`"), "{e}");
        let e = parse_err(&format!("{GOOD}copies:\n  eu-west-1: us-west-2\n"));
        assert_eq!(e.key, "copies.eu-west-1");
        let e = parse_err(&format!("{GOOD}copies: us-west-2\n"));
        assert_eq!(e.key, "copies");
    }

    #[test]
    fn the_journal_keeps_a_retention_logs_accepts() {
        let stack = parse("f", &format!("{GOOD}journal: {{retentionDays: 60}}\n")).unwrap();
        assert_eq!(stack.journal, Some(JournalConfig { retention_days: 60 }));
        assert_eq!(parse("f", GOOD).unwrap().journal, None);
        for (text, message) in [
            (
                "journal: {retentionDays: 45}",
                "not a retention CloudWatch Logs accepts",
            ),
            (
                "journal: {retentionDays: 0x1e}",
                "not a retention CloudWatch Logs accepts",
            ),
            ("journal: {}", "missing required key `retentionDays`"),
            (
                "journal: {retentionDays: 30, days: 3}",
                "unknown key `days` in `journal`",
            ),
            ("journal: 30", "expected a mapping with retentionDays"),
        ] {
            let errors = parse("f", &format!("{GOOD}{text}\n")).unwrap_err();
            assert!(errors.to_string().contains(message), "{text}: {errors}");
        }
        let errors = parse("f", &format!("{GOOD}journal: {{retentionDays: 45}}\n")).unwrap_err();
        assert!(
            errors.to_string().contains("1, 3, 5, 7, 14, 30, 60, 90"),
            "{errors}"
        );
    }

    #[test]
    fn the_dashboard_shows_a_range_of_days() {
        let stack = parse("f", &format!("{GOOD}dashboard: {{}}\n")).unwrap();
        assert_eq!(
            stack.dashboard,
            Some(DashboardConfig {
                range_days: DEFAULT_DASHBOARD_RANGE_DAYS
            })
        );
        let stack = parse("f", &format!("{GOOD}dashboard:\n  rangeDays: 30\n")).unwrap();
        assert_eq!(stack.dashboard, Some(DashboardConfig { range_days: 30 }));
        assert_eq!(parse("f", GOOD).unwrap().dashboard, None);
        for (text, key, message) in [
            (
                "dashboard: {rangeDays: 0}",
                "dashboard.rangeDays",
                "not a number of days from 1 to 60",
            ),
            (
                "dashboard: {rangeDays: 61}",
                "dashboard.rangeDays",
                "not a number of days from 1 to 60",
            ),
            (
                "dashboard: {rangeDays: '7'}",
                "dashboard.rangeDays",
                "not a number of days",
            ),
            (
                "dashboard: {rangeDays: 0x1e}",
                "dashboard.rangeDays",
                "not a number of days",
            ),
            (
                "dashboard: {days: 3}",
                "dashboard.days",
                "unknown key `days` in `dashboard`; its keys are: rangeDays",
            ),
            ("dashboard: yes", "dashboard", "expected a mapping"),
            ("dashboard:", "dashboard", "expected a mapping"),
        ] {
            let errors = parse("f", &format!("{GOOD}{text}\n")).unwrap_err();
            let e = &errors.0[0];
            assert_eq!(e.key, key, "{text}: {errors}");
            assert!(e.message.contains(message), "{text}: {errors}");
            assert_eq!(e.line, GOOD.lines().count() as u64 + 1, "{text}: {errors}");
        }
    }

    #[test]
    fn a_dashboard_without_alarms_is_a_warning() {
        let stack = parse("f", &format!("{GOOD}dashboard: {{}}\n")).unwrap();
        let warnings = warnings(&stack);
        assert!(
            warnings.iter().any(|w| w.contains("no alarm widget")),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_journal_shorter_than_the_backups_is_a_warning() {
        let stack = parse(
            "f",
            &format!("{GOOD}retentionDays: 90\njournal: {{retentionDays: 30}}\n"),
        )
        .unwrap();
        let warnings = warnings(&stack);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("`restore --at` reaches back only 30 days"),
            "{warnings:?}"
        );
        let stack = parse("f", &format!("{GOOD}journal: {{retentionDays: 30}}\n")).unwrap();
        assert!(super::warnings(&stack).is_empty());
    }

    #[test]
    fn retention_can_be_set() {
        let text = format!("{GOOD}retentionDays: 90\nnoncurrentRetentionDays: 14\n");
        let stack = parse("f", &text).unwrap();
        assert_eq!(
            (stack.retention_days, stack.noncurrent_retention_days),
            (90, 14)
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e = parse_err(&format!("{GOOD}retentionDayz: 3\n"));
        assert_eq!(e.key, "retentionDayz");
        assert_eq!(e.line, 8);
        assert!(e.to_string().starts_with("stacks/dev.yaml:8:"), "{e}");
        assert!(e.message.contains("unknown key"), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        let e = parse_err(&GOOD.replace("ssmHomeRegion: ap-northeast-1\n", ""));
        assert_eq!(e.key, "ssmHomeRegion");
        assert!(e.message.contains("missing"), "{e}");
        assert!(e.line >= 1, "{e:?}");
    }

    #[test]
    fn empty_regions_rejected() {
        let text = GOOD
            .replace("  - ap-northeast-1\n  - us-west-2\n", "")
            .replace("regions:\n", "regions: []\n");
        let e = parse_err(&text);
        assert_eq!((e.key.as_str(), e.line), ("regions", 3), "{e}");
        assert!(e.message.contains("empty"));
    }

    #[test]
    fn duplicate_region_points_at_second_entry() {
        let e = parse_err(&GOOD.replace("  - us-west-2\n", "  - us-west-2\n  - us-west-2\n"));
        assert_eq!((e.key.as_str(), e.line), ("regions", 6), "{e}");
        assert!(e.message.contains("twice"));
    }

    #[test]
    fn malformed_region_rejected() {
        for bad in [
            "us_west_2",
            "uswest2",
            "US-WEST-2",
            "us-west-",
            "u-west-2",
            "us-west-2a",
        ] {
            let e = parse_err(&GOOD.replace("  - us-west-2\n", &format!("  - {bad}\n")));
            assert_eq!((e.key.as_str(), e.line), ("regions", 5), "{bad}: {e}");
            assert!(e.message.contains("not a region name"), "{e}");
        }
        let e = parse_err(&GOOD.replace("ssmHomeRegion: ap-northeast-1", "ssmHomeRegion: tokyo"));
        assert_eq!(e.key, "ssmHomeRegion");
    }

    #[test]
    fn default_region_must_be_listed() {
        let e =
            parse_err(&GOOD.replace("defaultRegion: ap-northeast-1", "defaultRegion: eu-west-1"));
        assert_eq!((e.key.as_str(), e.line), ("defaultRegion", 6), "{e}");
        assert!(e.message.contains("not one of"));
    }

    #[test]
    fn long_bucket_name_rejected_before_any_call() {
        let e = parse_err(&GOOD.replace("jenkins-infra", "a-very-long-project-name-for-backups"));
        assert_eq!(e.key, "projectName");
        assert!(e.message.contains("63"), "{e}");
    }

    #[test]
    fn bad_characters_rejected() {
        for bad in ["Jenkins", "jenkins_infra", "jenkins.infra", "-jenkins"] {
            let e = parse_err(&GOOD.replace(
                "projectName: jenkins-infra",
                &format!("projectName: \"{bad}\""),
            ));
            assert_eq!((e.key.as_str(), e.line), ("projectName", 1), "{bad}: {e}");
        }
        let e = parse_err(&GOOD.replace("environment: dev", "environment: Dev/1"));
        assert_eq!(e.key, "environment");
    }

    #[test]
    fn retention_out_of_range_names_the_range() {
        for bad in ["0", "36501", "4294967295"] {
            let e = parse_err(&format!("{GOOD}retentionDays: {bad}\n"));
            assert_eq!((e.key.as_str(), e.line), ("retentionDays", 8), "{bad}: {e}");
            assert!(e.message.contains("1 to 36500"), "{e}");
        }
        let e = parse_err(&format!("{GOOD}noncurrentRetentionDays: 50000\n"));
        assert_eq!(e.key, "noncurrentRetentionDays");
    }

    #[test]
    fn wrong_type_is_an_error_with_location() {
        let e = parse_err(&GOOD.replace(
            "regions:\n  - ap-northeast-1\n  - us-west-2\n",
            "regions: ap-northeast-1\n",
        ));
        assert!(e.line >= 3, "{e:?}");
    }

    #[test]
    fn a_string_written_as_a_yaml_boolean_or_number_must_be_quoted() {
        for (written, what) in [
            ("no", "a boolean"),
            ("on", "a boolean"),
            ("Yes", "a boolean"),
            ("0x1f", "a number"),
            ("123", "a number"),
            ("1_000", "a number"),
            ("1e3", "a number"),
        ] {
            let e =
                parse_err(&GOOD.replace("environment: dev", &format!("environment: {written}")));
            assert_eq!(
                (e.key.as_str(), e.line, e.column),
                ("environment", 2, 14),
                "{e}"
            );
            assert_eq!(
                e.message,
                format!(
                    "`{written}` is read by YAML as {what}, not as text: quote it (\"{written}\")"
                )
            );
        }
        // Quoted, the same words are text (and then checked as names).
        let stack = parse(
            "f",
            &GOOD.replace("environment: dev", "environment: \"no\""),
        )
        .unwrap();
        assert_eq!(stack.environment, "no");
        let stack = parse("f", &GOOD.replace("environment: dev", "environment: '123'")).unwrap();
        assert_eq!(stack.environment, "123");
        // In a list and in a flow mapping too.
        let e = parse_err(&GOOD.replace("  - us-west-2\n", "  - off\n"));
        assert_eq!((e.key.as_str(), e.line), ("regions", 5), "{e}");
        let topic = "arn:aws:sns:ap-northeast-1:123456789012:ops";
        let e = parse_err(&format!(
            "{GOOD}alarm: {{snsTopicArn: yes, maxAgeHours: 4}}\n"
        ));
        assert_eq!(e.key, "alarm.snsTopicArn", "{e}");
        assert!(parse("f", &format!("{GOOD}alarm: {{snsTopicArn: {topic}}}\n")).is_ok());
        // Words that only look alike stay text.
        for fine in ["dev", "prod-2", "noon", "y2k", "0x", "1a"] {
            assert_eq!(yaml11_type(fine), None, "{fine}");
        }
        for typed in [
            "~", "null", "-1", "+1", "017", "0o17", "0b101", "1:30", ".5", "1.", ".inf", "-.NaN",
        ] {
            assert!(yaml11_type(typed).is_some(), "{typed}");
        }
    }

    #[test]
    fn days_are_written_in_decimal() {
        let e = parse_err(&format!("{GOOD}retentionDays: 0x1f\n"));
        assert_eq!(e.key, "retentionDays");
        assert!(
            e.message
                .starts_with("`0x1f` is not written as a decimal number"),
            "{e}"
        );
        assert_eq!(
            parse("f", &format!("{GOOD}retentionDays: 31\n"))
                .unwrap()
                .retention_days,
            31
        );
    }

    #[test]
    fn names_cannot_hold_the_separator_of_bucket_names() {
        for (key, value) in [
            ("projectName", "a-ssm-backup-b"),
            ("projectName", "a-ssm-backup"),
            ("environment", "ssm-backup-c"),
            ("environment", "b-ssm-backup-c"),
        ] {
            let e = parse_err(&GOOD.replace(
                if key == "projectName" {
                    "projectName: jenkins-infra"
                } else {
                    "environment: dev"
                },
                &format!("{key}: {value}"),
            ));
            assert_eq!(e.key, key, "{e}");
            assert!(e.message.contains("`-ssm-backup-`"), "{e}");
        }
        // `ssm-backups` or `my-ssm` are other words.
        let text = GOOD
            .replace("environment: dev", "environment: ssm-backups")
            .replace("jenkins-infra", "my-ssm");
        assert!(parse("f", &text).is_ok(), "{:?}", parse("f", &text));
    }

    #[test]
    fn regions_are_known_ones_of_one_partition() {
        let e = parse_err(&GOOD.replace("  - us-west-2\n", "  - us-wset-2\n"));
        assert_eq!((e.key.as_str(), e.line), ("regions", 5), "{e}");
        assert!(e.message.contains("did you mean `us-west-2`?"), "{e}");
        let e = parse_err(&GOOD.replace("  - us-west-2\n", "  - ap-newplace-1\n"));
        assert!(e.message.contains("--allow-unknown-region"), "{e}");
        let allow = ParseOptions {
            allow_unknown_regions: true,
        };
        let text = GOOD.replace("  - us-west-2\n", "  - ap-newplace-1\n");
        assert!(parse_with("f", &text, allow).is_ok());
        let e = parse_err(&GOOD.replace("  - us-west-2\n", "  - cn-north-1\n"));
        assert_eq!(e.key, "ssmHomeRegion", "{e}");
        assert!(e.message.contains("share one partition"), "{e}");
        let text = "projectName: p\nenvironment: dev\nregions: [cn-north-1, cn-northwest-1]\ndefaultRegion: cn-north-1\nssmHomeRegion: cn-north-1\n";
        assert!(parse("f", text).is_ok());
        // The topic's ARN is in its region's partition.
        let e = parse_err(&format!(
            "{GOOD}alarm:\n  snsTopicArn: arn:aws-cn:sns:ap-northeast-1:123456789012:ops\n"
        ));
        assert!(e.message.contains("is not an SNS topic ARN"), "{e}");
    }

    #[test]
    fn parameter_paths_are_path_prefixes_listed_once() {
        let stack = parse(
            "f",
            &format!("{GOOD}parameterPaths: [/jenkins/dev/, /app/dev/]\n"),
        )
        .unwrap();
        assert_eq!(
            stack.parameter_paths,
            Some(vec!["/jenkins/dev/".to_string(), "/app/dev/".to_string()])
        );
        assert_eq!(parse("f", GOOD).unwrap().parameter_paths, None);
        for (bad, expected) in [
            ("[/jenkins/dev]", "is not a path prefix"),
            ("[jenkins/dev/]", "is not a path prefix"),
            ("[/]", "is not a path prefix"),
            ("[/a//b/]", "empty level"),
            ("[/a b/]", "contains ` `"),
            ("[/aws/x/]", "reserves"),
            ("[/SSM/x/]", "reserves"),
            ("[/a/, /a/]", "listed twice"),
            ("[]", "the list is empty"),
            ("/a/", "expected a list"),
        ] {
            let e = parse_err(&format!("{GOOD}parameterPaths: {bad}\n"));
            assert_eq!(e.key, "parameterPaths", "{bad}: {e}");
            assert!(e.message.contains(expected), "{bad}: {e}");
        }
    }

    #[test]
    fn bucket_name_rules() {
        assert!(
            check_bucket_name("jenkins-infra-ssm-backup-dev-123456789012-ap-northeast-1").is_ok()
        );
        assert!(check_bucket_name("ab").is_err());
        assert!(check_bucket_name(&"a".repeat(64)).is_err());
        assert!(check_bucket_name("a..b").is_err());
        assert!(check_bucket_name("xn--abc").is_err());
        assert!(check_bucket_name("abc-").is_err());
    }
}
