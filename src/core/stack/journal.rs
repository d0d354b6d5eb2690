//! The stack's `journal: {retentionDays: N}` section: the change journal's log group keeps its
//! events N days, N one of the values CloudWatch Logs accepts. Pure.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::HashMap;

use super::{Check, kind, shown};

/// The stack's `journal` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalConfig {
    /// Days CloudWatch Logs keeps the journal's events: how far back `restore --at` and
    /// `changes` can reach.
    pub retention_days: u32,
}

/// The retentions CloudWatch Logs accepts (PutRetentionPolicy's `retentionInDays`).
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

const JOURNAL_KEYS: [&str; 1] = ["retentionDays"];

/// The `journal` mapping again, this time with the place of each key.
#[derive(Deserialize)]
struct RawJournal {
    #[serde(default)]
    journal: Option<HashMap<Spanned<String>, Spanned<serde_json::Value>>>,
}

pub(super) fn journal(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
) -> Option<JournalConfig> {
    if !value.value.is_object() {
        check.at(
            "journal",
            &value.referenced,
            format!(
                "expected a mapping with retentionDays, found {}",
                kind(&value.value)
            ),
        );
        return None;
    }
    let entries = serde_saphyr::from_str::<RawJournal>(text)
        .ok()
        .and_then(|r| r.journal)
        .unwrap_or_default();
    let before = check.errors.len();
    let mut days = None;
    for (key, entry) in &entries {
        let name = format!("journal.{}", key.value);
        match key.value.as_str() {
            "retentionDays" => {
                let n = entry.value.as_u64().and_then(|n| u32::try_from(n).ok());
                match n {
                    Some(n) if LOG_RETENTION_DAYS.contains(&n) && check.decimal(entry) => {
                        days = Some(n)
                    }
                    _ => check.at(
                        &name,
                        &entry.referenced,
                        format!(
                            "`{}` is not a retention CloudWatch Logs accepts; the days it accepts are: {}",
                            shown(&entry.value),
                            LOG_RETENTION_DAYS.map(|d| d.to_string()).join(", ")
                        ),
                    ),
                }
            }
            other => check.at(
                &name,
                &key.referenced,
                format!(
                    "unknown key `{other}` in `journal`; its keys are: {}",
                    JOURNAL_KEYS.join(", ")
                ),
            ),
        }
    }
    if days.is_none() && check.errors.len() == before {
        check.at(
            "journal.retentionDays",
            &value.referenced,
            "missing required key `retentionDays`: the days the journal keeps its events".into(),
        );
    }
    (check.errors.len() == before)
        .then_some(days)
        .flatten()
        .map(|retention_days| JournalConfig { retention_days })
}
