//! What a run's end explains: the real cause of a failure (the network, the TLS trust, the
//! credentials) and, when AWS denied something, the IAM actions and the command that prints
//! the policy granting them.

use anyhow::Result;
use std::process::ExitCode;

use super::session::Session;
use crate::cli::Commands;
use crate::core::iam::{Role, iam_actions};
use crate::shell::diagnose::diagnose;
use crate::shell::printer::Printer;

/// The run's result, explained: after the error it explains (main prints the error), or after
/// the run's own output.
pub fn explain(
    session: &Session,
    printer: &Printer,
    context: &(Option<Role>, String),
    result: Result<ExitCode>,
) -> Result<ExitCode> {
    let aws = session.loaded_aws();
    let hint = aws.and_then(|aws| access_hint(&aws.calls().denied(), context));
    // The real cause of a failure, when it is one of the known ones: said after the error,
    // before the AccessDenied hint.
    let cause = match (&result, aws) {
        (Err(e), Some(aws)) => diagnose(e, aws.calls()).map(|c| c.explain(aws.endpoint_url())),
        _ => None,
    };
    let explained: Vec<String> = cause
        .into_iter()
        .chain(hint.map(|h| h.trim_end().to_string()))
        .collect();
    match result {
        Err(e) if !explained.is_empty() => Err(anyhow::anyhow!("{e:#}\n{}", explained.join("\n"))),
        result => {
            for line in &explained {
                printer.status(line)?;
            }
            result
        }
    }
}

/// (the role a command needs, its `--stack` argument), for the AccessDenied hint.
pub fn command_context(command: &Commands) -> (Option<Role>, String) {
    match command {
        Commands::Plan(a) => (Some(Role::Plan), a.stack.clone()),
        Commands::Outputs(a) => (Some(Role::Plan), a.stack.clone()),
        Commands::Apply(a) => (
            Some(Role::Apply),
            a.stack.clone().unwrap_or_else(|| "<env>".into()),
        ),
        Commands::ForceUnlock(a) => (Some(Role::Apply), a.stack.clone()),
        Commands::Backup(a) => (Some(Role::Backup), a.stack.clone()),
        // --deep reads the documents: the restore role's rights.
        Commands::Verify(a) => (
            Some(if a.deep { Role::Restore } else { Role::Verify }),
            a.stack.clone(),
        ),
        Commands::Restore(a) => (Some(Role::Restore), a.stack.clone()),
        // --history reads GetParameterHistory, which returns values: the restore role's.
        Commands::Changes(a) => (
            Some(if a.history {
                Role::Restore
            } else {
                Role::Verify
            }),
            a.stack.clone(),
        ),
        Commands::Snapshots(a) => (Some(Role::Verify), a.stack.clone()),
        Commands::IamPolicy(a) => (None, a.stack.join(", ")),
        Commands::Validate(a) => (None, a.stack.clone()),
        Commands::Show(_) => (None, String::new()),
        Commands::Completions(_) => (None, String::new()),
    }
}

/// What to tell the operator when AWS answered AccessDenied: the IAM actions behind the denied
/// operations, and the command that prints the policy granting them.
pub fn access_hint(denied: &[String], (role, stack): &(Option<Role>, String)) -> Option<String> {
    if denied.is_empty() {
        return None;
    }
    let actions: Vec<String> = denied
        .iter()
        .map(|op| match iam_actions(op) {
            Some(actions) => format!("{} ({op})", actions.join(", ")),
            None => op.clone(),
        })
        .collect();
    let policy = match role {
        Some(role) => format!(
            "`ssm-keeper iam-policy --stack {stack} --role {}` prints the policy that grants it",
            role.as_str()
        ),
        None => {
            "`ssm-keeper iam-policy --stack <env> --role ...` prints the policy of each role".into()
        }
    };
    Some(format!(
        "hint: AWS denied these credentials the IAM action {}: if their policy lacks it, {policy} (a bucket policy or an expected-owner mismatch can deny too).\n",
        actions.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_hint_names_the_iam_action_and_the_policy_command() {
        let context = (Some(Role::Backup), "prod".to_string());
        assert_eq!(access_hint(&[], &context), None);
        let hint = access_hint(
            &["s3:PutObject".into(), "cloudwatch:PutMetricData".into()],
            &context,
        )
        .unwrap();
        assert!(
            hint.starts_with("hint: AWS denied these credentials the IAM action s3:PutObject, s3:PutObjectTagging (s3:PutObject); cloudwatch:PutMetricData (cloudwatch:PutMetricData): if their policy lacks it, `ssm-keeper iam-policy --stack prod --role backup` prints the policy that grants it"),
            "{hint}"
        );
        let hint = access_hint(&["s3:HeadBucket".into()], &(Some(Role::Plan), "dev".into()));
        assert!(hint.unwrap().contains("s3:ListBucket (s3:HeadBucket)"));
    }
}
