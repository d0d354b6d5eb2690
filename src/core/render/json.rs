//! `--format json` and `--out`: the versioned plan document (its JSON Schema is
//! docs/plan.schema.json, which tests/it/plan_schema.rs validates real plans against).

use crate::core::plan::PlanDocument;

pub fn render(doc: &PlanDocument) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(doc)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::desired::desired_state;
    use crate::core::diff::diff;
    use crate::core::model::LiveState;
    use crate::core::plan::DiffOptions;
    use crate::core::plan::PLAN_FORMAT_VERSION;

    #[test]
    fn plan_document_round_trips() {
        let stack = crate::core::stack::sample(&["us-east-1"]);
        let desired = desired_state(&stack, "123456789012");
        let mut observed = LiveState::default();
        for id in desired.resources.keys() {
            observed.resources.insert(id.clone(), None);
        }
        let plan = diff(&desired, &observed, &DiffOptions::default());
        let doc = PlanDocument {
            format_version: PLAN_FORMAT_VERSION,
            tool_version: "t".into(),
            stack_file: "stacks/dev.yaml".into(),
            stack_sha256: "0".repeat(64),
            stack,
            account_id: "123456789012".into(),
            created_at: time::macros::datetime!(2026-11-24 13:00 UTC),
            diff_options: Default::default(),
            summary: plan.summary(),
            changes: plan.changes,
            warnings: plan.warnings,
            orphan_keys: plan.orphan_keys,
            observed,
        };
        let text = render(&doc).unwrap();
        let back: PlanDocument = serde_json::from_str(&text).unwrap();
        assert_eq!(back, doc);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["formatVersion"], PLAN_FORMAT_VERSION);
        assert_eq!(value["changes"][0]["action"], "create");
        assert_eq!(value["changes"][0]["id"]["type"], "bucket");
    }
}
