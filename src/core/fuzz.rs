//! Bad input, property-tested: the stack-file parser, the saved-plan reader and the backup-
//! document reader give a value or a clear error for any input, never a panic. `make test` runs
//! each with proptest's default case count; `make fuzz` runs them with a million cases each
//! (PROPTEST_CASES) in a release build.

use proptest::prelude::*;

use super::document::read_document;
use super::plan::read_plan;
use super::stack::parse;

const STACK: &str = "projectName: jenkins-infra\nenvironment: dev\nregions:\n  - ap-northeast-1\n  - us-west-2\ndefaultRegion: ap-northeast-1\nssmHomeRegion: ap-northeast-1\nretentionDays: 30\nnoncurrentRetentionDays: 7\n";

const DOCUMENT: &str = r#"{"format_version":2,"tool_version":"0.1.0","backup_date":"2026-11-23","backup_timestamp":"20261123_130000","environment":"dev","region":"us-east-1","account":"123456789012","parameters":[{"Name":"/app/dev/a","Type":"SecureString","Value":"v","DataType":"text","Version":3,"LastModifiedDate":"2026-11-01T09:00:00Z","KeyId":"alias/aws/ssm","Tier":"Standard","Description":"d","AllowedPattern":"^.*$","Policies":["{}"]}],"parameter_count":1}"#;

/// A valid saved plan, as `plan --out` writes it.
fn plan_text() -> String {
    use super::desired::desired_state;
    use super::diff::diff;
    use super::model::LiveState;
    use super::plan::DiffOptions;
    use super::plan::{PLAN_FORMAT_VERSION, PlanDocument};
    let stack = super::stack::sample(&["us-east-1", "eu-west-1"]);
    let desired = desired_state(&stack, "123456789012");
    let observed = LiveState::default();
    let plan = diff(&desired, &observed, &DiffOptions::default());
    let doc = PlanDocument {
        format_version: PLAN_FORMAT_VERSION,
        tool_version: "t".into(),
        stack_file: "stacks/dev.yaml".into(),
        stack_sha256: "0".repeat(64),
        stack,
        account_id: "123456789012".into(),
        created_at: time::macros::datetime!(2026-11-24 13:00 UTC),
        diff_options: DiffOptions::default(),
        summary: plan.summary(),
        changes: plan.changes,
        warnings: plan.warnings,
        orphan_keys: plan.orphan_keys,
        observed,
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

/// `text` with a few characters replaced, inserted or removed at arbitrary places: inputs near
/// the valid ones, where parsers get deep before they fail.
fn mutated(text: String) -> impl Strategy<Value = String> {
    let len = text.chars().count().max(1);
    prop::collection::vec((0..len, 0u8..3, any::<char>()), 1..8).prop_map(move |edits| {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, how, c) in edits {
            let at = at.min(chars.len());
            match how {
                0 if at < chars.len() => chars[at] = c,
                1 => chars.insert(at, c),
                _ if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.push(c),
            }
        }
        chars.into_iter().collect()
    })
}

proptest! {
    #[test]
    fn fuzz_stack_parser_any_text(text in ".{0,400}") {
        let _ = parse("f.yaml", &text);
    }

    #[test]
    fn fuzz_stack_parser_near_valid(text in mutated(STACK.to_string())) {
        if let Err(e) = parse("f.yaml", &text) {
            prop_assert!(!e.0.is_empty(), "an error names at least one mistake");
        }
    }

    #[test]
    fn fuzz_plan_reader_any_text(text in ".{0,400}") {
        let _ = read_plan("p.json", &text, Default::default());
    }

    #[test]
    fn fuzz_plan_reader_near_valid(text in mutated(plan_text())) {
        let _ = read_plan("p.json", &text, Default::default());
    }

    #[test]
    fn fuzz_document_reader_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = read_document(&bytes);
    }

    #[test]
    fn fuzz_document_reader_near_valid(text in mutated(DOCUMENT.to_string())) {
        match read_document(text.as_bytes()) {
            Ok(doc) => prop_assert!(!doc.parameters.is_empty()),
            Err(e) => prop_assert!(!e.is_empty(), "an error says why"),
        }
    }
}

#[test]
fn the_valid_inputs_behind_the_mutations_are_valid() {
    assert!(parse("f.yaml", STACK).is_ok());
    assert!(read_plan("p.json", &plan_text(), Default::default()).is_ok());
    assert!(read_document(DOCUMENT.as_bytes()).is_ok());
}
