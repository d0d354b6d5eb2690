//! Commands: flags -> options -> core and shell calls. One file per command.

pub mod apply;
pub mod backup;
pub mod completions;
pub mod force_unlock;
pub mod iam_policy;
pub mod outputs;
pub mod plan;
pub mod restore;
pub mod show;
pub mod validate;
pub mod verify;

use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tokio::sync::OnceCell;

use crate::cli::{Cli, Command};
use crate::core::desired::desired_state;
use crate::core::diff::{DiffOptions, diff, foreign_owner};
use crate::core::iam::{Role, iam_actions};
use crate::core::plan::{PLAN_FORMAT_VERSION, PlanDocument, sha256_hex};
use crate::core::stack::{self, ParseOptions, Stack};
use crate::shell::aws::{Aws, AwsOptions};
use crate::shell::diagnose::diagnose;
use crate::shell::interrupt::{Interrupt, Signal};
use crate::shell::observe::observe;
use crate::shell::printer::Printer;

/// What every command shares: how to reach AWS, loaded on first use (after the command's own
/// input has been validated, so bad input never causes an AWS call).
pub struct Session {
    options: AwsOptions,
    stack_options: ParseOptions,
    aws: OnceCell<Aws>,
}

impl Session {
    pub fn new(options: AwsOptions, stack_options: ParseOptions) -> Self {
        Session {
            options,
            stack_options,
            aws: OnceCell::new(),
        }
    }

    /// Reads and validates a stack file (`dev` means stacks/dev.yaml).
    pub fn load_stack(&self, arg: &str) -> Result<StackFile> {
        read_stack_file(&stack_path(arg), self.stack_options)
    }

    /// How stack files are parsed in this run.
    pub fn stack_options(&self) -> ParseOptions {
        self.stack_options
    }

    pub async fn aws(&self) -> Result<&Aws> {
        self.aws.get_or_try_init(|| Aws::load(&self.options)).await
    }
}

pub async fn run(printer: &Printer, cli: Cli) -> Result<ExitCode> {
    let stack_options = ParseOptions {
        allow_unknown_regions: cli.allow_unknown_region,
    };
    let session = Session::new(
        AwsOptions {
            endpoint_url: cli.endpoint_url.clone(),
            profile: cli.profile.clone(),
            region: cli.region.clone(),
            ca_bundle: std::env::var_os("AWS_CA_BUNDLE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            connect_timeout: cli.connect_timeout,
            read_timeout: cli.read_timeout,
        },
        stack_options,
    );
    crate::shell::lock::set_renew_every(cli.lock_renew_every);
    let context = command_context(&cli.command);
    tracing::info!(stack = %context.1, role = ?context.0, "starting");
    let result = match cli.command {
        Command::Plan(args) => plan::run(&session, printer, args).await,
        Command::Apply(args) => apply::run(&session, printer, args).await,
        Command::Show(args) => show::run(&session, printer, args),
        Command::Validate(args) => validate::run(&session, printer, args),
        Command::Outputs(args) => outputs::run(&session, printer, args).await,
        Command::Backup(args) => backup::run(&session, printer, args).await,
        Command::Verify(args) => verify::run(&session, printer, args).await,
        Command::Restore(args) => restore::run(&session, printer, args).await,
        Command::ForceUnlock(args) => force_unlock::run(&session, printer, args).await,
        Command::IamPolicy(args) => iam_policy::run(&session, printer, args).await,
        Command::Completions(args) => completions::run(printer, args),
    };
    // A write that failed where nobody could be told (a progress line, a background task's
    // warning) fails the run that went well otherwise.
    let result = result.and_then(|code| printer.finish().map(|()| code));
    let aws = session.aws.get();
    let hint = aws.and_then(|aws| access_hint(&aws.calls().denied(), &context));
    // The real cause of a failure, when it is one of the known ones (the network, the TLS
    // trust, the credentials): said after the error, before the AccessDenied hint.
    let cause = match (&result, aws) {
        (Err(e), Some(aws)) => diagnose(e, aws.calls()).map(|c| c.explain(aws.endpoint_url())),
        _ => None,
    };
    let explained: Vec<String> = cause
        .into_iter()
        .chain(hint.map(|h| h.trim_end().to_string()))
        .collect();
    // After the error it explains (main prints the error), or after the run's own output.
    let result = match result {
        Err(e) if !explained.is_empty() => Err(anyhow::anyhow!("{e:#}\n{}", explained.join("\n"))),
        result => {
            for line in &explained {
                printer.status(line)?;
            }
            result
        }
    };
    if let (Some(path), Some(aws)) = (&cli.api_stats, session.aws.get()) {
        let stats = serde_json::to_string_pretty(&aws.calls().snapshot())?;
        std::fs::write(path, stats)
            .with_context(|| format!("writing API stats to {}", path.display()))?;
    }
    result
}

/// (the role a command needs, its `--stack` argument), for the AccessDenied hint.
fn command_context(command: &Command) -> (Option<Role>, String) {
    match command {
        Command::Plan(a) => (Some(Role::Plan), a.stack.clone()),
        Command::Outputs(a) => (Some(Role::Plan), a.stack.clone()),
        Command::Apply(a) => (
            Some(Role::Apply),
            a.stack.clone().unwrap_or_else(|| "<env>".into()),
        ),
        Command::ForceUnlock(a) => (Some(Role::Apply), a.stack.clone()),
        Command::Backup(a) => (Some(Role::Backup), a.stack.clone()),
        Command::Verify(a) => (Some(Role::Verify), a.stack.clone()),
        Command::Restore(a) => (Some(Role::Restore), a.stack.clone()),
        Command::IamPolicy(a) => (None, a.stack.clone()),
        Command::Validate(a) => (None, a.stack.clone()),
        Command::Show(_) => (None, String::new()),
        Command::Completions(_) => (None, String::new()),
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

/// Asks the operator to confirm `what` (`Apply`, `Restore`); `Some(exit code)` when it is not
/// to go ahead (answered otherwise, or a signal while asking).
pub async fn confirm(
    printer: &Printer,
    what: &'static str,
    interrupt: &Interrupt,
) -> Result<Option<ExitCode>> {
    ask(
        printer,
        format!("\n{what} these changes?"),
        what,
        "refusing to apply without a terminal to confirm on: review the plan and pass --auto-approve",
        interrupt,
    )
    .await
}

/// Asks `question` on the terminal (`refusal` is the error without one); `Some(exit code)` when
/// `what` is not to go ahead.
pub async fn ask(
    printer: &Printer,
    question: String,
    what: &str,
    refusal: &'static str,
    interrupt: &Interrupt,
) -> Result<Option<ExitCode>> {
    let answer = tokio::select! {
        answer = printer.confirm(&question, refusal) => answer?,
        signal = interrupt.wait() => return cancelled(printer, what, signal).map(Some),
    };
    if answer {
        return Ok(None);
    }
    printer.status(&format!("{what} cancelled; nothing was changed."))?;
    Ok(Some(ExitCode::from(1)))
}

/// Stopped by a signal before any change was made.
pub fn cancelled(printer: &Printer, what: &str, signal: Signal) -> Result<ExitCode> {
    printer.status(&format!(
        "\n{what} cancelled by {}; nothing was changed.",
        signal.name()
    ))?;
    Ok(ExitCode::from(signal.exit_code()))
}

/// `dev` means `stacks/dev.yaml`; anything that looks like a path is taken as given.
pub fn stack_path(arg: &str) -> PathBuf {
    let looks_like_path = arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml");
    if looks_like_path {
        PathBuf::from(arg)
    } else {
        Path::new("stacks").join(format!("{arg}.yaml"))
    }
}

/// A stack file as read: the path as shown to the user, the SHA-256 of its bytes, the stack.
pub struct StackFile {
    pub label: String,
    pub sha256: String,
    pub stack: Stack,
}

/// The largest stack file or saved plan read: far above any real one.
pub const MAX_INPUT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The bytes of an input file (`what` names it in messages, `hint` follows the path when it
/// cannot be read): a regular file of at most `MAX_INPUT_FILE_BYTES`, so that a device or a
/// pipe named in a saved plan cannot hang or exhaust the run.
pub fn read_input_file(path: &Path, what: &str, hint: &str) -> Result<Vec<u8>> {
    let label = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("reading {what} {label}{hint}"))?;
    if !meta.is_file() {
        bail!("{what} {label} is not a regular file");
    }
    if meta.len() > MAX_INPUT_FILE_BYTES {
        bail!(
            "{what} {label} is {} bytes, more than the {MAX_INPUT_FILE_BYTES} ssm-keeper reads",
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {what} {label}{hint}"))
}

/// Reads and validates the stack file at `path`.
pub fn read_stack_file(path: &Path, options: ParseOptions) -> Result<StackFile> {
    let label = path.display().to_string();
    let bytes = read_input_file(
        path,
        "the stack file",
        " (a stack name like `dev` means stacks/dev.yaml)",
    )?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{label}: the stack file is not UTF-8 text"))?;
    let stack = stack::parse_with(&label, &text, options)?;
    Ok(StackFile {
        sha256: sha256_hex(text.as_bytes()),
        label,
        stack,
    })
}

/// Observes live AWS and computes the plan for a stack.
pub async fn compute_plan(
    session: &Session,
    file: &StackFile,
    options: &DiffOptions,
) -> Result<PlanDocument> {
    let stack = &file.stack;
    let aws = session.aws().await?;
    let account_id = aws.account_id(&stack.ssm_home_region).await?;
    let desired = desired_state(stack, &account_id);
    let live = observe(aws, &desired).await?;
    if let Some(refusal) = foreign_owner(&desired, &live) {
        bail!("{refusal}");
    }
    let plan = diff(&desired, &live, options);
    Ok(PlanDocument {
        format_version: PLAN_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stack_file: file.label.clone(),
        stack_sha256: file.sha256.clone(),
        stack: stack.clone(),
        account_id,
        created_at: time::OffsetDateTime::now_utc(),
        diff_options: *options,
        summary: plan.summary(),
        changes: plan.changes,
        warnings: plan.warnings,
        observed: live,
    })
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
            hint.starts_with("hint: AWS denied these credentials the IAM action s3:PutObject (s3:PutObject); cloudwatch:PutMetricData (cloudwatch:PutMetricData): if their policy lacks it, `ssm-keeper iam-policy --stack prod --role backup` prints the policy that grants it"),
            "{hint}"
        );
        let hint = access_hint(&["s3:HeadBucket".into()], &(Some(Role::Plan), "dev".into()));
        assert!(hint.unwrap().contains("s3:ListBucket (s3:HeadBucket)"));
    }
}
