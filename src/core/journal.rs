//! The change journal a stack with `journal:` keeps, per region: an EventBridge rule on the
//! default bus sends the environment's Parameter Store change events to a CloudWatch Logs group,
//! which an account-level Logs resource policy lets EventBridge write. Names, the event pattern,
//! the policy and the desired resources. Pure.
//!
//! Logs allows 10 account-level resource policies a region, so the policy is one for every
//! stack of the account in the region (`ssm-keeper-journal`): the same document for all of them,
//! covering every log group under `/ssm-keeper/`, written only by this account's rules named as
//! journals are. Twenty stacks in a region share it; it goes with the region's last journal.

use super::model::{Resource, ResourceId};
use super::region::partition;
use super::resource::journal::RULE_ENABLED;
use super::resource::{LogGroupSettings, LogsPolicySettings, RuleSettings};
use super::stack::{JournalConfig, NAME_SEPARATOR, Stack};

/// Every journal log group's name starts so (and ends with `/journal`).
pub const JOURNAL_ROOT: &str = "/ssm-keeper/";
/// The account's Logs resource policy shared by every stack's journal in a region.
pub const LOGS_POLICY_NAME: &str = "ssm-keeper-journal";
/// EventBridge's source and detail type of a Parameter Store change.
pub const EVENT_SOURCE: &str = "aws.ssm";
pub const EVENT_DETAIL_TYPE: &str = "Parameter Store Change";
/// The id of the rule's one target.
pub const TARGET_ID: &str = "journal";

/// `/ssm-keeper/<project>/<env>/journal`.
pub fn log_group_name(project: &str, environment: &str) -> String {
    format!("{JOURNAL_ROOT}{project}/{environment}/journal")
}

/// Whether a log group is some stack's journal (found under the root).
pub fn is_journal_group(name: &str) -> bool {
    name.starts_with(JOURNAL_ROOT) && name.ends_with("/journal")
}

/// `<project>-ssm-backup-<env>-journal` (at most 64 characters: project and environment are
/// bounded by the bucket names they make).
pub fn rule_name(project: &str, environment: &str) -> String {
    format!("{project}{NAME_SEPARATOR}{environment}-journal")
}

pub fn log_group_arn(region: &str, account_id: &str, name: &str) -> String {
    format!(
        "arn:{}:logs:{region}:{account_id}:log-group:{name}",
        partition(region)
    )
}

/// The ids of a stack's journal resources in `region` (whether the stack asks for them or not:
/// observe reads them to remove what the stack no longer names).
pub fn journal_ids(stack: &Stack, region: &str) -> [ResourceId; 3] {
    [
        ResourceId::new(
            super::resource::Kind::LogGroup,
            region,
            log_group_name(&stack.project_name, &stack.environment),
        ),
        ResourceId::new(super::resource::Kind::LogsPolicy, region, LOGS_POLICY_NAME),
        ResourceId::new(
            super::resource::Kind::EventRule,
            region,
            rule_name(&stack.project_name, &stack.environment),
        ),
    ]
}

/// The change events of the environment's names only: `parameterPaths` as prefixes, else the
/// `/<env>/` segment as a wildcard. What the pattern lets through is read again through the
/// selection (which also leaves out locks, drills and other environments' metadata).
pub fn event_pattern(stack: &Stack, account_id: &str, region: &str) -> serde_json::Value {
    let names: Vec<serde_json::Value> = match &stack.parameter_paths {
        Some(paths) => paths
            .iter()
            .map(|p| serde_json::json!({ "prefix": p }))
            .collect(),
        None => vec![serde_json::json!({ "wildcard": format!("*/{}/*", stack.environment) })],
    };
    // Only this account's and this region's: a bus may receive events forwarded from others.
    serde_json::json!({
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "account": [account_id],
        "region": [region],
        "detail": { "name": names }
    })
}

/// The account's Logs resource policy of `region`: EventBridge may create streams in and write
/// to the log groups under `/ssm-keeper/`, for rules of this account named as journals only.
pub fn logs_policy(region: &str, account_id: &str) -> serde_json::Value {
    let p = partition(region);
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeWritesSsmKeeperJournals",
            "Effect": "Allow",
            "Principal": { "Service": "events.amazonaws.com" },
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("arn:{p}:logs:{region}:{account_id}:log-group:{JOURNAL_ROOT}*"),
            "Condition": {
                "StringEquals": { "aws:SourceAccount": account_id },
                "ArnLike": {
                    "aws:SourceArn": format!("arn:{p}:events:{region}:{account_id}:rule/*{NAME_SEPARATOR}*-journal")
                }
            }
        }]
    })
}

/// The journal's three resources in `region`.
pub fn journal_resources(
    stack: &Stack,
    config: &JournalConfig,
    account_id: &str,
    region: &str,
) -> Vec<(ResourceId, Resource)> {
    let [group, policy, rule] = journal_ids(stack, region);
    let arn = log_group_arn(region, account_id, &group.name);
    vec![
        (
            group,
            Resource::LogGroup(LogGroupSettings {
                retention_days: Some(config.retention_days),
            }),
        ),
        (
            policy,
            Resource::LogsPolicy(LogsPolicySettings {
                document: logs_policy(region, account_id),
            }),
        ),
        (
            rule,
            Resource::EventRule(RuleSettings {
                description: format!(
                    "ssm-keeper: Parameter Store changes of the `{}` environment ({}) into its journal",
                    stack.environment, stack.project_name
                ),
                event_pattern: event_pattern(stack, account_id, region),
                state: RULE_ENABLED.into(),
                targets: vec![arn],
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stack::sample;

    #[test]
    fn names_follow_the_stack_naming_rule() {
        let stack = sample(&["us-east-1"]);
        let [group, policy, rule] = journal_ids(&stack, "us-east-1");
        assert_eq!(
            group.name,
            format!(
                "/ssm-keeper/{}/{}/journal",
                stack.project_name, stack.environment
            )
        );
        assert!(is_journal_group(&group.name));
        assert_eq!(policy.name, "ssm-keeper-journal");
        assert_eq!(
            rule.name,
            format!(
                "{}-ssm-backup-{}-journal",
                stack.project_name, stack.environment
            )
        );
    }

    #[test]
    fn the_pattern_names_the_paths_or_the_segment() {
        let mut stack = sample(&["us-east-1"]);
        let env = stack.environment.clone();
        assert_eq!(
            event_pattern(&stack, "123456789012", "us-east-1")["detail"]["name"],
            serde_json::json!([{ "wildcard": format!("*/{env}/*") }])
        );
        stack.parameter_paths = Some(vec!["/app/dev/".into(), "/shared/dev/".into()]);
        let pattern = event_pattern(&stack, "123456789012", "us-east-1");
        assert_eq!(pattern["account"], serde_json::json!(["123456789012"]));
        assert_eq!(pattern["region"], serde_json::json!(["us-east-1"]));
        assert_eq!(pattern["source"], serde_json::json!(["aws.ssm"]));
        assert_eq!(
            pattern["detail-type"],
            serde_json::json!(["Parameter Store Change"])
        );
        assert_eq!(
            pattern["detail"]["name"],
            serde_json::json!([{ "prefix": "/app/dev/" }, { "prefix": "/shared/dev/" }])
        );
    }

    #[test]
    fn the_policy_is_the_same_for_every_stack_of_the_region() {
        let a = logs_policy("eu-west-1", "123456789012");
        assert_eq!(a, logs_policy("eu-west-1", "123456789012"));
        let statement = &a["Statement"][0];
        assert_eq!(
            statement["Resource"],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ssm-keeper/*"
        );
        assert_eq!(
            statement["Condition"]["ArnLike"]["aws:SourceArn"],
            "arn:aws:events:eu-west-1:123456789012:rule/*-ssm-backup-*-journal"
        );
    }
}
