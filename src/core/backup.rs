//! The backup job's contract, pure: the document's header and parameters, the per-region summary
//! (`region_summaries.json`), the terminal table and the Slack message (the S3 key layout is
//! `store.rs`'s). Secret values travel as `Secret`, whose Debug/Display print a mask.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::resource::ParameterKind;

/// The version of the backup document format written by this tool.
pub const BACKUP_FORMAT_VERSION: u32 = 2;

/// Default limits: 10 minutes a region, and regions x 10 + 30 minutes overall (the seeds'
/// pipeline timeout).
pub const DEFAULT_REGION_TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub fn overall_timeout(regions: usize, per_region: Duration) -> Duration {
    per_region * regions as u32 + Duration::from_secs(30 * 60)
}

/// Why a region's run was cut: the whole run's limit (`overall`) ran out first, or its own
/// (`per_region`). Each limit as given (`1s`, `90s` as `1m 30s`, `10m`), never rounded to
/// whole minutes.
pub fn timeout_message(region: &str, overall: Option<Duration>, per_region: Duration) -> String {
    match overall {
        Some(overall) => format!(
            "the overall timeout ({}) ran out during {region}",
            humantime::format_duration(overall)
        ),
        None => format!(
            "{region} did not finish within its timeout ({})",
            humantime::format_duration(per_region)
        ),
    }
}

/// A value that may be a SecureString: printed only as a mask, serialized only into the backup
/// document itself.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// One parameter as the backup document holds it: everything a faithful restore needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupParameter {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Value")]
    pub value: Secret,
    #[serde(rename = "DataType", skip_serializing_if = "Option::is_none", default)]
    pub data_type: Option<String>,
    #[serde(rename = "Version")]
    pub version: i64,
    #[serde(
        rename = "LastModifiedDate",
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "text_or_number"
    )]
    pub last_modified_date: Option<String>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none", default)]
    pub key_id: Option<String>,
    #[serde(rename = "Tier", skip_serializing_if = "Option::is_none", default)]
    pub tier: Option<String>,
    #[serde(
        rename = "Description",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub description: Option<String>,
    #[serde(
        rename = "AllowedPattern",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub allowed_pattern: Option<String>,
    #[serde(rename = "Policies", skip_serializing_if = "Vec::is_empty", default)]
    pub policies: Vec<String>,
    /// The parameter's tags, by key: always written (`{}` for none), so that a document
    /// without them (the old script's, or written before tags were backed up) says "unknown".
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none", default)]
    pub tags: Option<BTreeMap<String, String>>,
}

impl BackupParameter {
    /// Its type, when SSM has it. `Type` stays the text the document holds, so that a document
    /// of any type still reads, and `entry_problems` refuses the entry by name.
    pub fn parameter_kind(&self) -> Option<ParameterKind> {
        ParameterKind::from_name(&self.kind)
    }

    pub fn is_secure(&self) -> bool {
        self.parameter_kind().is_some_and(ParameterKind::is_secure)
    }
}

/// The old script's documents hold `LastModifiedDate` as the AWS CLI printed it: a date string,
/// or (older CLIs) seconds since the epoch.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// The document header (everything but the parameters and their count, which are streamed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentHeader {
    pub format_version: u32,
    pub tool_version: String,
    pub backup_date: String,
    pub backup_timestamp: String,
    pub environment: String,
    pub region: String,
    pub account: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegionStatus {
    Success,
    Failed,
    Skipped,
    DryRun,
}

impl RegionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RegionStatus::Success => "SUCCESS",
            RegionStatus::Failed => "FAILED",
            RegionStatus::Skipped => "SKIPPED",
            RegionStatus::DryRun => "DRY_RUN",
        }
    }
}

/// One region's outcome, as `region_summaries.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionSummary {
    pub status: RegionStatus,
    pub parameter_count: u64,
    pub artifact_path: Option<String>,
    pub failure_message: Option<String>,
    pub duration_sec: f64,
    /// What the run noticed and did not fail for: a parameter gone between listing and
    /// fetching (so not in the backup), metadata that disagrees, ... The environment's metadata
    /// warnings are listed under the first region.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl RegionSummary {
    pub fn skipped(reason: &str) -> Self {
        RegionSummary {
            status: RegionStatus::Skipped,
            parameter_count: 0,
            artifact_path: None,
            failure_message: Some(reason.to_string()),
            duration_sec: 0.0,
            warnings: Vec::new(),
        }
    }

    pub fn failed(message: String, duration_sec: f64) -> Self {
        RegionSummary {
            status: RegionStatus::Failed,
            failure_message: Some(message),
            duration_sec,
            ..RegionSummary::skipped("")
        }
    }
}

/// The failure message of a region stopped by SIGINT/SIGTERM.
pub const INTERRUPTED: &str = "interrupted";
/// Why the regions after an interrupted one did not run.
pub const SKIPPED_INTERRUPTED: &str = "skipped: the run was interrupted";

/// Every warning of a run, with its region.
pub fn warnings(summaries: &[(String, RegionSummary)]) -> Vec<(&str, &str)> {
    summaries
        .iter()
        .flat_map(|(r, s)| s.warnings.iter().map(move |w| (r.as_str(), w.as_str())))
        .collect()
}

/// Whether the run succeeded: every region SUCCESS (or DRY_RUN in a dry run).
pub fn all_succeeded(summaries: &[(String, RegionSummary)]) -> bool {
    !summaries.is_empty()
        && summaries
            .iter()
            .all(|(_, s)| matches!(s.status, RegionStatus::Success | RegionStatus::DryRun))
}

/// `region_summaries.json`: region -> summary, in run order.
pub fn summaries_json(summaries: &[(String, RegionSummary)]) -> serde_json::Value {
    serde_json::Value::Object(
        summaries
            .iter()
            .map(|(r, s)| (r.clone(), serde_json::to_value(s).unwrap_or_default()))
            .collect(),
    )
}

/// The summary table for the terminal.
pub fn table(summaries: &[(String, RegionSummary)]) -> String {
    let mut out = format!(
        "{:<16} {:<8} {:>10} {:>9}  {}\n",
        "REGION", "STATUS", "PARAMETERS", "SECONDS", "ARTIFACT / MESSAGE"
    );
    for (region, s) in summaries {
        let detail = s
            .artifact_path
            .as_deref()
            .or(s.failure_message.as_deref())
            .unwrap_or("-");
        out.push_str(&format!(
            "{:<16} {:<8} {:>10} {:>9.1}  {}\n",
            region,
            s.status.as_str(),
            s.parameter_count,
            s.duration_sec,
            detail
        ));
    }
    out
}

/// The Slack message for one run: per-region status, counts, durations and failure messages.
/// It is built from summaries only, which hold no parameter values.
pub fn slack_message(
    environment: &str,
    summaries: &[(String, RegionSummary)],
    dry_run: bool,
) -> serde_json::Value {
    let ok = all_succeeded(summaries);
    let warnings = warnings(summaries);
    let headline = format!(
        "{} SSM Parameter Store backup `{environment}`{}: {}",
        match (ok, warnings.is_empty()) {
            (false, _) => ":x:",
            (true, false) => ":warning:",
            (true, true) => ":white_check_mark:",
        },
        if dry_run { " (dry run)" } else { "" },
        match (ok, warnings.len()) {
            (false, _) => "FAILED".to_string(),
            (true, 0) => "succeeded".to_string(),
            (true, 1) => "succeeded with 1 warning".to_string(),
            (true, n) => format!("succeeded with {n} warnings"),
        }
    );
    let mut lines: Vec<String> = summaries
        .iter()
        .map(|(region, s)| {
            let mut line = format!(
                "• `{region}` {} - {} parameters in {:.1}s",
                s.status.as_str(),
                s.parameter_count,
                s.duration_sec
            );
            if let Some(m) = &s.failure_message {
                line.push_str(&format!(" - {m}"));
            }
            line
        })
        .collect();
    lines.extend(
        warnings
            .iter()
            .map(|(region, w)| format!("• `{region}` warning: {w}")),
    );
    serde_json::json!({
        "text": format!("{headline}\n{}", lines.join("\n")),
        "environment": environment,
        "status": if ok { "SUCCESS" } else { "FAILED" },
        "regions": summaries_json(summaries),
    })
}

/// The e-mail for one run (the seeds' notification plan): the subject prefixed `[FAIL]` when a
/// region failed, the per-region summary in the body. Built from summaries only: no value.
pub fn email_message(
    environment: &str,
    summaries: &[(String, RegionSummary)],
    dry_run: bool,
) -> (String, String) {
    let ok = all_succeeded(summaries);
    let subject = format!(
        "{}SSM Parameter Store backup `{environment}`{}: {}",
        if ok { "" } else { "[FAIL] " },
        if dry_run { " (dry run)" } else { "" },
        if ok { "succeeded" } else { "FAILED" }
    );
    let mut body = format!(
        "{}\n\n{}",
        subject.trim_start_matches("[FAIL] "),
        table(summaries)
    );
    let warnings = warnings(summaries);
    if !warnings.is_empty() {
        body.push_str("\nWarnings:\n");
        for (region, w) in warnings {
            body.push_str(&format!("  {region}: {w}\n"));
        }
    }
    for (region, s) in summaries {
        if let (RegionStatus::Failed, Some(m)) = (s.status, &s.failure_message) {
            body.push_str(&format!("\n{region} failed: {m}\n"));
        }
    }
    (subject, body)
}

/// The e-mail for a run that could not start.
pub fn email_start_failure(environment: &str, error: &str) -> (String, String) {
    let subject = format!("[FAIL] SSM Parameter Store backup `{environment}` could not start");
    (
        subject,
        format!("The backup of `{environment}` could not start:\n\n{error}\n"),
    )
}

/// The Slack message for a run that could not start (no region list, no regions, ...).
pub fn slack_start_failure(environment: &str, error: &str) -> serde_json::Value {
    serde_json::json!({
        "text": format!(":x: SSM Parameter Store backup `{environment}` could not start: {error}"),
        "environment": environment,
        "status": "FAILED",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_is_reported_as_given_not_in_whole_minutes() {
        let second = Duration::from_secs(1);
        assert_eq!(
            timeout_message("eu-west-1", Some(second), DEFAULT_REGION_TIMEOUT),
            "the overall timeout (1s) ran out during eu-west-1"
        );
        assert_eq!(
            timeout_message("eu-west-1", Some(Duration::from_secs(90)), second),
            "the overall timeout (1m 30s) ran out during eu-west-1"
        );
        assert_eq!(
            timeout_message("eu-west-1", None, Duration::from_millis(1500)),
            "eu-west-1 did not finish within its timeout (1s 500ms)"
        );
        assert_eq!(
            timeout_message("eu-west-1", None, DEFAULT_REGION_TIMEOUT),
            "eu-west-1 did not finish within its timeout (10m)"
        );
    }

    #[test]
    fn overall_timeout_is_regions_times_ten_plus_thirty_minutes() {
        assert_eq!(
            overall_timeout(3, DEFAULT_REGION_TIMEOUT),
            Duration::from_secs(60 * 60)
        );
    }

    #[test]
    fn secrets_are_masked_in_debug_and_display() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
    }

    fn summary(status: RegionStatus, message: Option<&str>) -> RegionSummary {
        RegionSummary {
            status,
            parameter_count: 3,
            artifact_path: None,
            failure_message: message.map(str::to_string),
            duration_sec: 1.25,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn warnings_reach_the_summary_and_slack() {
        let mut a = summary(RegionStatus::Success, None);
        a.warnings
            .push("parameter /dev/x in a was deleted between listing and fetching".into());
        let run = vec![("a".to_string(), a)];
        assert!(all_succeeded(&run), "a warning is no failure");
        let json = summaries_json(&run);
        assert_eq!(
            json["a"]["warnings"][0],
            "parameter /dev/x in a was deleted between listing and fetching"
        );
        let msg = slack_message("dev", &run, false);
        let text = msg["text"].as_str().unwrap();
        assert!(
            text.starts_with(
                ":warning: SSM Parameter Store backup `dev`: succeeded with 1 warning"
            ),
            "{text}"
        );
        assert!(
            text.contains("• `a` warning: parameter /dev/x in a was deleted"),
            "{text}"
        );
        let clean = vec![("a".to_string(), summary(RegionStatus::Success, None))];
        assert_eq!(
            summaries_json(&clean)["a"]["warnings"],
            serde_json::json!([])
        );
    }

    #[test]
    fn success_needs_every_region() {
        let ok = vec![("a".to_string(), summary(RegionStatus::Success, None))];
        assert!(all_succeeded(&ok));
        let failed = vec![
            ("a".to_string(), summary(RegionStatus::Success, None)),
            ("b".to_string(), summary(RegionStatus::Failed, Some("boom"))),
            (
                "c".to_string(),
                RegionSummary::skipped("an earlier region failed"),
            ),
        ];
        assert!(!all_succeeded(&failed));
        assert!(!all_succeeded(&[]));
        let json = summaries_json(&failed);
        assert_eq!(json["b"]["status"], "FAILED");
        assert_eq!(json["b"]["failureMessage"], "boom");
        assert_eq!(json["c"]["status"], "SKIPPED");
        assert_eq!(json["a"]["parameterCount"], 3);
        let msg = slack_message("dev", &failed, false);
        assert_eq!(msg["status"], "FAILED");
        assert!(
            msg["text"]
                .as_str()
                .unwrap()
                .contains("`b` FAILED - 3 parameters in 1.2s - boom")
        );
    }

    #[test]
    fn the_email_subject_says_fail_and_the_body_has_every_region() {
        let run = vec![
            ("a".to_string(), summary(RegionStatus::Success, None)),
            ("b".to_string(), summary(RegionStatus::Failed, Some("boom"))),
        ];
        let (subject, body) = email_message("prod", &run, false);
        assert_eq!(subject, "[FAIL] SSM Parameter Store backup `prod`: FAILED");
        assert!(body.contains("REGION"), "{body}");
        assert!(body.lines().any(|l| l.starts_with("a ")), "{body}");
        assert!(body.contains("b failed: boom"), "{body}");
        let ok = vec![("a".to_string(), summary(RegionStatus::Success, None))];
        assert_eq!(
            email_message("prod", &ok, false).0,
            "SSM Parameter Store backup `prod`: succeeded"
        );
        assert!(email_start_failure("prod", "x").0.starts_with("[FAIL] "));
    }

    #[test]
    fn start_failure_message_says_why() {
        let msg = slack_start_failure("dev", "No regions configured");
        assert_eq!(msg["status"], "FAILED");
        assert_eq!(
            msg["text"],
            ":x: SSM Parameter Store backup `dev` could not start: No regions configured"
        );
    }

    #[test]
    fn table_lists_every_region() {
        let rows = vec![("us-west-2".to_string(), summary(RegionStatus::DryRun, None))];
        let t = table(&rows);
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .starts_with("us-west-2        DRY_RUN           3       1.2  -"),
            "{t}"
        );
    }
}
