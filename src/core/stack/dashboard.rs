//! The stack's `dashboard` section: `dashboard: {}` (the defaults) or `dashboard: {rangeDays:
//! N}`, the days the dashboard shows when opened, 1 to 60 (hourly points: CloudWatch draws at
//! most 1,440 a line). Pure.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::HashMap;

use super::{Check, kind, shown};

/// The stack's `dashboard` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardConfig {
    /// Days the dashboard shows when opened (its `start`: `-P<N>D`).
    pub range_days: u32,
}

pub const DEFAULT_DASHBOARD_RANGE_DAYS: u32 = 14;
/// 60 days of one-hour periods: the 1,440 points CloudWatch draws of a line at most.
pub const MAX_DASHBOARD_RANGE_DAYS: u32 = 60;

const DASHBOARD_KEYS: [&str; 1] = ["rangeDays"];

/// The `dashboard` mapping again, this time with the place of each key.
#[derive(Deserialize)]
struct RawDashboard {
    #[serde(default)]
    dashboard: Option<HashMap<Spanned<String>, Spanned<serde_json::Value>>>,
}

pub(super) fn dashboard(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
) -> Option<DashboardConfig> {
    if !value.value.is_object() {
        check.at(
            "dashboard",
            &value.referenced,
            format!(
                "expected a mapping (`dashboard: {{}}`, or with rangeDays), found {}",
                kind(&value.value)
            ),
        );
        return None;
    }
    let entries = serde_saphyr::from_str::<RawDashboard>(text)
        .ok()
        .and_then(|r| r.dashboard)
        .unwrap_or_default();
    let before = check.errors.len();
    let mut range_days = DEFAULT_DASHBOARD_RANGE_DAYS;
    for (key, entry) in &entries {
        let name = format!("dashboard.{}", key.value);
        match key.value.as_str() {
            "rangeDays" => {
                let n = entry.value.as_u64().and_then(|n| u32::try_from(n).ok());
                match n {
                    Some(n)
                        if (1..=MAX_DASHBOARD_RANGE_DAYS).contains(&n) && check.decimal(entry) =>
                    {
                        range_days = n
                    }
                    _ => check.at(
                        &name,
                        &entry.referenced,
                        format!(
                            "`{}` is not a number of days from 1 to {MAX_DASHBOARD_RANGE_DAYS} (the dashboard draws one-hour points, at most 1,440 a line)",
                            shown(&entry.value)
                        ),
                    ),
                }
            }
            other => check.at(
                &name,
                &key.referenced,
                format!(
                    "unknown key `{other}` in `dashboard`; its keys are: {}",
                    DASHBOARD_KEYS.join(", ")
                ),
            ),
        }
    }
    (check.errors.len() == before).then_some(DashboardConfig { range_days })
}
