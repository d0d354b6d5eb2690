//! `--format json` and `--out`: the versioned plan document (schema in docs/plan-format.md).

use crate::core::plan::PlanDocument;

pub fn render(doc: &PlanDocument) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_default() + "\n"
}
