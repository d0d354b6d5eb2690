//! `ssm-keeper iam-policy`: the least-privilege policy document of a role, scoped to the stacks
//! named (one document for all of them), or with `--trust` the role's trust policy.

use anyhow::{Context, Result, bail};
use std::process::ExitCode;

use super::session::{Session, stack_path};
use crate::cli::{IamPolicyArgs, TrustKind};
use crate::core::iam::{
    MANAGED_POLICY_MAX_CHARS, Role, Trusted, policy_for_stacks, policy_size, trust_policy,
};
use crate::core::region::{check_one_partition, partition};
use crate::core::selection::forbidden_target;
use crate::core::stack::Stack;
use crate::shell::printer::Printer;

pub async fn run(session: &Session, printer: &Printer, args: IamPolicyArgs) -> Result<ExitCode> {
    let mut stacks = Vec::new();
    for name in &args.stack {
        stacks.push(session.load_stack(name)?.stack);
    }
    check_input(&args, &stacks)?;
    let Some(first) = stacks.first() else {
        bail!("name a stack with --stack");
    };
    let account_id = match &args.account_id {
        Some(id) => id.clone(),
        None => {
            session
                .aws()
                .await?
                .account_id(&first.ssm_home_region)
                .await?
        }
    };
    let document = match trusted(&args)? {
        Some(trusted) => trust_policy(
            &trusted,
            args.role,
            partition(&first.ssm_home_region),
            &account_id,
        ),
        None => {
            let stacks: Vec<&Stack> = stacks.iter().collect();
            let document = policy_for_stacks(&stacks, &account_id, args.role, &args.to_prefix);
            let size = policy_size(&document);
            if size > MANAGED_POLICY_MAX_CHARS {
                printer.warn(&format!(
                    "the policy has {size} characters, more than the {MANAGED_POLICY_MAX_CHARS} IAM allows in one managed policy: split the stacks over two policies attached to the role"
                ))?;
            }
            document
        }
    };
    printer.out(&(serde_json::to_string_pretty(&document)? + "\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Usage errors before any AWS call: `--to-prefix` only for restore and never over the locks
/// or metadata, and every stack in one partition (a policy's ARNs name one).
fn check_input(args: &IamPolicyArgs, stacks: &[Stack]) -> Result<()> {
    let role = args.role;
    if !args.to_prefix.is_empty() && role != Role::Restore {
        bail!(
            "--to-prefix widens only the restore role (a drill's target path); --role {} never writes there",
            role.as_str()
        );
    }
    for prefix in &args.to_prefix {
        if let Some(why) = forbidden_target(prefix) {
            bail!("--to-prefix: {why}");
        }
    }
    let homes: Vec<String> = stacks.iter().map(|s| s.ssm_home_region.clone()).collect();
    check_one_partition(homes.iter().map(String::as_str)).map_err(|why| {
        anyhow::anyhow!("the stacks of one policy must share an AWS partition: {why}")
    })
}

/// Who the trust policy is for, from `--trust` and its flags.
fn trusted(args: &IamPolicyArgs) -> Result<Option<Trusted>> {
    Ok(match args.trust {
        None => None,
        Some(TrustKind::Github) => Some(Trusted::GitHub {
            repository: args
                .repository
                .clone()
                .context("--trust github needs --repository OWNER/REPO")?,
            branch: args.branch.clone(),
            environment: args.environment.clone(),
            stacks: args
                .stack
                .iter()
                .map(|arg| stack_name(arg))
                .collect::<Result<_>>()?,
            also_branch_subject: args.also_branch_subject,
        }),
        Some(TrustKind::Jenkins) => Some(Trusted::Jenkins {
            principal: args
                .principal
                .clone()
                .context("--trust jenkins needs --principal ARN")?,
        }),
    })
}

/// A stack's name as the workflows pass it to `--stack` (`dev` for `dev` and for
/// `stacks/dev.yaml`): its GitHub environment is named after it.
fn stack_name(arg: &str) -> Result<String> {
    let path = stack_path(arg);
    let name = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .with_context(|| format!("--stack {arg}: no file name to name its GitHub environment"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!(
            "--stack {arg}: the stack's name {name:?} cannot name its GitHub environment ssm-keeper-<stack> (letters, digits, '-', '_', '.')"
        );
    }
    Ok(name.to_string())
}
