//! The change journal's SDK calls: the CloudWatch Logs group (CreateLogGroup, retention), the
//! account's Logs resource policy (read from DescribeResourcePolicies by name, written whole),
//! and the EventBridge rule with its one target. Each read by id; "already exists" on create and
//! "not found" on delete count as success.

use anyhow::{Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::future::try_join_all;

use crate::core::journal::{JOURNAL_ROOT, TARGET_ID, is_journal_group};
use crate::core::resource::{
    LogGroupSettings, LogsPolicySettings, Resource, ResourceId, RuleSettings,
};
use crate::shell::aws::Aws;

/// The live log groups `ids` name (absent unless found).
pub async fn observe_log_groups(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    try_join_all(ids.iter().map(|id| async move {
        let found = log_groups(aws, &id.region, &id.name).await?;
        let state = found
            .into_iter()
            .find(|(name, _)| *name == id.name)
            .map(|(_, retention_days)| Resource::LogGroup(LogGroupSettings { retention_days }));
        Ok(((*id).clone(), state))
    }))
    .await
}

/// The log groups of `region` whose names start with `prefix`, with their retention.
async fn log_groups(aws: &Aws, region: &str, prefix: &str) -> Result<Vec<(String, Option<u32>)>> {
    let mut pages = aws
        .logs(region)
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!("reading the CloudWatch Logs groups {prefix}* in {region} (DescribeLogGroups)")
        })?;
        for group in page.log_groups.unwrap_or_default() {
            if let Some(name) = group.log_group_name {
                let retention = group.retention_in_days.and_then(|d| u32::try_from(d).ok());
                found.push((name, retention));
            }
        }
    }
    Ok(found)
}

/// Every stack's journal log group in `region`.
pub async fn journal_groups(aws: &Aws, region: &str) -> Result<Vec<String>> {
    Ok(log_groups(aws, region, JOURNAL_ROOT)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| is_journal_group(name))
        .collect())
}

pub async fn create_log_group(
    aws: &Aws,
    region: &str,
    name: &str,
    g: &LogGroupSettings,
) -> Result<()> {
    let result = aws
        .logs(region)
        .create_log_group()
        .log_group_name(name)
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => {}
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "creating the CloudWatch Logs group {name} in {region} (CreateLogGroup)"
            )));
        }
    }
    set_retention(aws, region, name, g).await
}

/// Sets the retention the stack asks for (it always names one).
pub async fn set_retention(
    aws: &Aws,
    region: &str,
    name: &str,
    g: &LogGroupSettings,
) -> Result<()> {
    let Some(days) = g.retention_days else {
        return Ok(());
    };
    aws.logs(region)
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
        .send()
        .await
        .with_context(|| {
            format!(
                "setting the retention of the CloudWatch Logs group {name} in {region} to {days} days (PutRetentionPolicy)"
            )
        })?;
    Ok(())
}

/// A deletion's answer: done, also when the resource was already gone (a re-run converges).
fn deleted<T, E>(result: std::result::Result<T, E>, what: impl FnOnce() -> String) -> Result<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(what())),
    }
}

pub async fn delete_log_group(aws: &Aws, region: &str, name: &str) -> Result<()> {
    let result = aws
        .logs(region)
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await;
    deleted(result, || {
        format!("deleting the CloudWatch Logs group {name} in {region} (DeleteLogGroup)")
    })
}

/// The account's Logs resource policies `ids` name (absent unless found).
pub async fn observe_policies(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    try_join_all(ids.iter().map(|id| async move {
        let state = read_policy(aws, &id.region, &id.name)
            .await?
            .map(|document| Resource::LogsPolicy(LogsPolicySettings { document }));
        Ok(((*id).clone(), state))
    }))
    .await
}

/// The document of the account's Logs resource policy `name` in `region`. A document that is
/// not JSON is kept as its text, so that the plan shows it replaced.
async fn read_policy(aws: &Aws, region: &str, name: &str) -> Result<Option<serde_json::Value>> {
    let logs = aws.logs(region);
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .describe_resource_policies()
            .set_next_token(token.take())
            .send()
            .await
            .with_context(|| {
                format!(
                    "reading the CloudWatch Logs resource policies of {region} (DescribeResourcePolicies)"
                )
            })?;
        for policy in page.resource_policies.unwrap_or_default() {
            if policy.policy_name.as_deref() == Some(name) {
                let text = policy.policy_document.unwrap_or_default();
                return Ok(Some(
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
                ));
            }
        }
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(None),
        }
    }
}

pub async fn put_policy(aws: &Aws, region: &str, name: &str, p: &LogsPolicySettings) -> Result<()> {
    aws.logs(region)
        .put_resource_policy()
        .policy_name(name)
        .policy_document(p.document.to_string())
        .send()
        .await
        .with_context(|| {
            format!(
                "writing the CloudWatch Logs resource policy {name} in {region} (PutResourcePolicy); Logs allows 10 such policies a region in an account"
            )
        })?;
    Ok(())
}

pub async fn delete_policy(aws: &Aws, region: &str, name: &str) -> Result<()> {
    let result = aws
        .logs(region)
        .delete_resource_policy()
        .policy_name(name)
        .send()
        .await;
    deleted(result, || {
        format!(
            "deleting the CloudWatch Logs resource policy {name} in {region} (DeleteResourcePolicy)"
        )
    })
}

/// The live rules `ids` name, with their targets (absent unless found).
pub async fn observe_rules(
    aws: &Aws,
    ids: &[&ResourceId],
) -> Result<Vec<(ResourceId, Option<Resource>)>> {
    try_join_all(ids.iter().map(|id| async move {
        let state = read_rule(aws, &id.region, &id.name).await?;
        Ok(((*id).clone(), state.map(Resource::EventRule)))
    }))
    .await
}

async fn read_rule(aws: &Aws, region: &str, name: &str) -> Result<Option<RuleSettings>> {
    let result = aws.events(region).describe_rule().name(name).send().await;
    let rule = match result {
        Ok(rule) => rule,
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "reading the EventBridge rule {name} in {region} (DescribeRule)"
            )));
        }
    };
    let text = rule.event_pattern.unwrap_or_default();
    let mut targets: Vec<String> = targets(aws, region, name)
        .await?
        .into_iter()
        .map(|(_, arn)| arn)
        .collect();
    targets.sort();
    Ok(Some(RuleSettings {
        description: rule.description.unwrap_or_default(),
        event_pattern: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        state: rule
            .state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        targets,
    }))
}

/// The rule's targets: (id, ARN).
async fn targets(aws: &Aws, region: &str, rule: &str) -> Result<Vec<(String, String)>> {
    let events = aws.events(region);
    let mut token: Option<String> = None;
    let mut found = Vec::new();
    loop {
        let page = events
            .list_targets_by_rule()
            .rule(rule)
            .set_next_token(token.take())
            .send()
            .await
            .with_context(|| {
                format!("reading the targets of the EventBridge rule {rule} in {region} (ListTargetsByRule)")
            })?;
        for t in page.targets.unwrap_or_default() {
            // A target that rewrites what it delivers is not the journal's target.
            let rewritten =
                t.input.is_some() || t.input_path.is_some() || t.input_transformer.is_some();
            let arn = if rewritten {
                format!("{} (its input rewritten)", t.arn)
            } else {
                t.arn
            };
            found.push((t.id, arn));
        }
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(found),
        }
    }
}

/// Writes the rule whole: its pattern, state and description, its one target, and no other.
pub async fn put_rule(aws: &Aws, region: &str, name: &str, r: &RuleSettings) -> Result<()> {
    use aws_sdk_eventbridge::types::{RuleState, Target};
    let events = aws.events(region);
    events
        .put_rule()
        .name(name)
        .event_pattern(r.event_pattern.to_string())
        .state(RuleState::from(r.state.as_str()))
        .description(&r.description)
        .send()
        .await
        .with_context(|| format!("writing the EventBridge rule {name} in {region} (PutRule)"))?;
    let stale: Vec<String> = targets(aws, region, name)
        .await?
        .into_iter()
        .filter(|(id, arn)| !(id == TARGET_ID && r.targets.contains(arn)))
        .map(|(id, _)| id)
        .collect();
    if !stale.is_empty() {
        remove_targets(aws, region, name, stale).await?;
    }
    let mut request = events.put_targets().rule(name);
    for arn in &r.targets {
        request = request.targets(
            Target::builder()
                .id(TARGET_ID)
                .arn(arn)
                .build()
                .context("building the journal's target")?,
        );
    }
    let out = request.send().await.with_context(|| {
        format!("setting the target of the EventBridge rule {name} in {region} (PutTargets)")
    })?;
    if let Some(failed) = out.failed_entries.filter(|f| !f.is_empty()) {
        let why: Vec<String> = failed
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.error_code.as_deref().unwrap_or("?"),
                    f.error_message.as_deref().unwrap_or("")
                )
            })
            .collect();
        anyhow::bail!(
            "setting the target of the EventBridge rule {name} in {region} (PutTargets) failed: {}",
            why.join("; ")
        );
    }
    Ok(())
}

async fn remove_targets(aws: &Aws, region: &str, rule: &str, ids: Vec<String>) -> Result<()> {
    aws.events(region)
        .remove_targets()
        .rule(rule)
        .set_ids(Some(ids))
        .send()
        .await
        .with_context(|| {
            format!("removing targets of the EventBridge rule {rule} in {region} (RemoveTargets)")
        })?;
    Ok(())
}

/// Deletes the rule (its targets first, as EventBridge requires); one already gone counts as
/// deleted.
pub async fn delete_rule(aws: &Aws, region: &str, name: &str) -> Result<()> {
    let ids = match targets(aws, region, name).await {
        Ok(found) => found.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
        Err(e) if not_found(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    if !ids.is_empty() {
        remove_targets(aws, region, name, ids).await?;
    }
    let result = aws.events(region).delete_rule().name(name).send().await;
    deleted(result, || {
        format!("deleting the EventBridge rule {name} in {region} (DeleteRule)")
    })
}

fn not_found(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<aws_sdk_eventbridge::error::SdkError<
                aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleError,
            >>()
            .is_some_and(|e| e.code() == Some("ResourceNotFoundException"))
    })
}
