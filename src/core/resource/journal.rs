//! The change journal's resources, one kind each: the CloudWatch Logs group that keeps the
//! events, the account's Logs resource policy that lets EventBridge write to it, and the
//! EventBridge rule that routes the environment's Parameter Store change events there. Their
//! settings, the attributes a plan tells apart and their comparison (event pattern and policy
//! by meaning). Pure; what they hold for a stack is core/journal.rs.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use strum::VariantArray;

use super::{Attribute, FieldChange};
use crate::core::policy;

/// A log group reduced to what the stack manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupSettings {
    /// Days its events are kept; `None`: kept forever (no retention policy).
    pub retention_days: Option<u32>,
}

/// The account's Logs resource policy in a region (shared by every stack's journal there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsPolicySettings {
    pub document: Value,
}

/// An EventBridge rule on the default bus and the targets it delivers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSettings {
    pub description: String,
    pub event_pattern: Value,
    /// `ENABLED` or `DISABLED` (EventBridge's RuleState).
    pub state: String,
    /// The ARNs the rule delivers to, sorted.
    pub targets: Vec<String>,
}

/// The state a managed rule is kept in.
pub const RULE_ENABLED: &str = "ENABLED";

/// A setting the plan tells apart. Names unique among every kind's attributes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
)]
pub enum JournalAttribute {
    #[serde(rename = "log-retention")]
    Retention,
    #[serde(rename = "logs-policy")]
    Policy,
    #[serde(rename = "rule-state")]
    State,
    #[serde(rename = "event-pattern")]
    Pattern,
    #[serde(rename = "rule-targets")]
    Targets,
    #[serde(rename = "rule-description")]
    Description,
}

impl JournalAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalAttribute::Retention => "log-retention",
            JournalAttribute::Policy => "logs-policy",
            JournalAttribute::State => "rule-state",
            JournalAttribute::Pattern => "event-pattern",
            JournalAttribute::Targets => "rule-targets",
            JournalAttribute::Description => "rule-description",
        }
    }
}

const LOG_GROUP_ATTRIBUTES: [JournalAttribute; 1] = [JournalAttribute::Retention];
const POLICY_ATTRIBUTES: [JournalAttribute; 1] = [JournalAttribute::Policy];
const RULE_ATTRIBUTES: [JournalAttribute; 4] = [
    JournalAttribute::State,
    JournalAttribute::Pattern,
    JournalAttribute::Targets,
    JournalAttribute::Description,
];

pub fn log_group_value(g: &LogGroupSettings) -> Value {
    let LogGroupSettings { retention_days } = g;
    serde_json::json!(retention_days)
}

pub fn rule_value(r: &RuleSettings, attribute: JournalAttribute) -> Value {
    let RuleSettings {
        description,
        event_pattern,
        state,
        targets,
    } = r;
    match attribute {
        JournalAttribute::State => serde_json::json!(state),
        JournalAttribute::Pattern => normalize_pattern(event_pattern),
        JournalAttribute::Targets => serde_json::json!(targets),
        JournalAttribute::Description => serde_json::json!(description),
        JournalAttribute::Retention | JournalAttribute::Policy => Value::Null,
    }
}

pub fn compare_log_groups(h: &LogGroupSettings, w: &LogGroupSettings) -> Vec<FieldChange> {
    super::changed(
        &LOG_GROUP_ATTRIBUTES,
        |_| (log_group_value(h), log_group_value(w)),
        Attribute::Journal,
    )
}

pub fn compare_policies(h: &LogsPolicySettings, w: &LogsPolicySettings) -> Vec<FieldChange> {
    super::changed(
        &POLICY_ATTRIBUTES,
        |_| {
            (
                policy::normalize(&h.document),
                policy::normalize(&w.document),
            )
        },
        Attribute::Journal,
    )
}

pub fn compare_rules(h: &RuleSettings, w: &RuleSettings) -> Vec<FieldChange> {
    super::changed(
        &RULE_ATTRIBUTES,
        |a| (rule_value(h, a), rule_value(w, a)),
        Attribute::Journal,
    )
}

/// An event pattern in canonical form: objects with sorted keys, and each list of alternatives
/// sorted and without repeats (EventBridge matches any of them, in any order). A `numeric`
/// operator's list is a sequence and keeps its order.
pub fn normalize_pattern(pattern: &Value) -> Value {
    canonical(pattern, false)
}

fn canonical(value: &Value, sequence: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v, k == "numeric")))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|v| canonical(v, false)).collect();
            if !sequence {
                items.sort_by_key(|v| v.to_string());
                items.dedup();
            }
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Every journal attribute, for the test that names are the same in text and JSON.
pub fn attributes() -> &'static [JournalAttribute] {
    JournalAttribute::VARIANTS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(pattern: Value) -> RuleSettings {
        RuleSettings {
            description: "d".into(),
            event_pattern: pattern,
            state: RULE_ENABLED.into(),
            targets: vec!["arn:aws:logs:us-east-1:1:log-group:/g".into()],
        }
    }

    #[test]
    fn a_reordered_or_reformatted_pattern_is_no_change() {
        let have: Value = serde_json::from_str(
            r#"{"detail":{"name":[{"prefix":"/b/"},{"prefix":"/a/"}]},"source":["aws.ssm"],
                "detail-type":["Parameter Store Change"]}"#,
        )
        .unwrap();
        let want = json!({
            "source": ["aws.ssm"],
            "detail-type": ["Parameter Store Change"],
            "detail": {"name": [{"prefix": "/a/"}, {"prefix": "/b/"}, {"prefix": "/a/"}]}
        });
        assert!(compare_rules(&rule(have), &rule(want)).is_empty());
    }

    #[test]
    fn a_changed_pattern_or_target_is_shown_by_attribute() {
        let want = rule(json!({"source": ["aws.ssm"]}));
        let mut have = rule(json!({"source": ["aws.ec2"]}));
        have.targets.push("arn:aws:sqs:us-east-1:1:q".into());
        have.state = "DISABLED".into();
        let fields: Vec<_> = compare_rules(&have, &want)
            .into_iter()
            .map(|f| f.attribute.as_str())
            .collect();
        assert_eq!(fields, ["rule-state", "event-pattern", "rule-targets"]);
    }

    #[test]
    fn numeric_ranges_keep_their_order() {
        let a = json!({"n": [{"numeric": [">", 0, "<=", 5]}]});
        let b = json!({"n": [{"numeric": ["<=", 5, ">", 0]}]});
        assert_ne!(normalize_pattern(&a), normalize_pattern(&b));
    }

    #[test]
    fn retention_and_policy_compare_by_value_and_meaning() {
        let keep = |d| LogGroupSettings { retention_days: d };
        assert!(compare_log_groups(&keep(Some(30)), &keep(Some(30))).is_empty());
        let change = compare_log_groups(&keep(None), &keep(Some(30)));
        assert_eq!(change[0].live, Some(Value::Null));
        assert_eq!(change[0].desired, Some(json!(30)));
        let p = |doc| LogsPolicySettings { document: doc };
        let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*", "Principal": {"Service": "events.amazonaws.com"}}]});
        let b = json!({"Statement": {"Principal": {"Service": ["events.amazonaws.com"]}, "Resource": ["*"], "Action": "logs:PutLogEvents", "Effect": "Allow"}, "Version": "2012-10-17"});
        assert!(compare_policies(&p(a.clone()), &p(b)).is_empty());
        assert_eq!(
            compare_policies(&p(a), &p(json!({"Version": "2012-10-17", "Statement": []}))).len(),
            1
        );
    }
}
