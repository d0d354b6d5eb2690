//! `ssm-keeper backup`: the nightly job. Runs the backup, writes the summary file, prints the
//! table, publishes the metrics, notifies Slack and e-mail; exit code 0 only if every region
//! succeeded.

use anyhow::{Context as _, Result, bail};
use lettre::message::Mailbox;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::session::Session;
use crate::cli::BackupArgs;
use crate::core::alarm::{METRIC_NAMESPACE, metric_data};
use crate::core::backup::{
    RegionSummary, all_succeeded, email_message, email_start_failure, slack_message,
    slack_start_failure, summaries_json, table,
};
use crate::core::selection::Selection;
use crate::core::settings::{boolish, check_webhook};
use crate::core::stack::Stack;
use crate::shell::aws::Aws;
use crate::shell::backup::{BackupOptions, BackupRun, notify, run as run_backup};
use crate::shell::interrupt::Interrupt;
use crate::shell::lock::{Guard, LockGate, LockRequest, LockWatch, Ran, Release};
use crate::shell::metrics;
use crate::shell::printer::Printer;

pub async fn run(session: &Session, printer: &Printer, args: BackupArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    // Every notification setting is checked before anything runs.
    let dry_run = args.dry_run || env_flag("DRY_RUN")?;
    let notifications = Notifications::of(printer, &args)?;
    let options = backup_options(&stack, &args, dry_run);
    let interrupt = Interrupt::listen(printer)?;
    // Every SSM request of the run under --max-rps: its metadata and lock too.
    let aws = &session.aws().await?.at_most(args.max_rps);
    let (run, release) =
        match locked_run(aws, &options, args.lock_timeout, &interrupt, printer).await {
            Ok(run) => run,
            Err(e) => {
                notifications
                    .start_failure(printer, &stack.environment, &e)
                    .await;
                return Err(e);
            }
        };
    if let Some(signal) = run.interrupted
        && run.summaries.is_empty()
    {
        release.finish().await?;
        printer.status(&format!(
            "Interrupted by {} before the backup held its lock; nothing was written.",
            signal.name()
        ))?;
        return Ok(ExitCode::from(signal.exit_code()));
    }
    write_summary(&args.summary_file, &run.summaries)?;
    print_summary(printer, &run.summaries, &args.summary_file)?;
    // The metrics need no lock: they go out while it is released.
    let (released, published) = tokio::join!(
        release.finish(),
        publish_metrics(aws, printer, &stack, &run.summaries)
    );
    released?;
    published?;
    notifications
        .summary(printer, &stack.environment, &run.summaries, dry_run)
        .await?;
    if let Some(signal) = run.interrupted {
        printer.status(&format!(
            "Interrupted by {}: no pointer was moved for the interrupted region; the summary says which regions ran.",
            signal.name()
        ))?;
        return Ok(ExitCode::from(signal.exit_code()));
    }
    Ok(if all_succeeded(&run.summaries) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What the shell's backup run needs from the stack and the flags.
fn backup_options(stack: &Stack, args: &BackupArgs, dry_run: bool) -> BackupOptions {
    BackupOptions {
        project_name: stack.project_name.clone(),
        environment: stack.environment.clone(),
        selection: Selection::of(stack),
        ssm_home_region: stack.ssm_home_region.clone(),
        dry_run,
        region_timeout: args.region_timeout,
        overall_timeout: args.timeout,
        keep_going: args.keep_going,
        parallel_regions: usize::from(args.parallel_regions),
        stack_regions: stack.regions.clone(),
    }
}

/// The per-region summary file (its directory created if need be).
fn write_summary(path: &Path, summaries: &[(String, RegionSummary)]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {} for the summary file", dir.display()))?;
    }
    let summary = serde_json::to_string_pretty(&summaries_json(summaries))? + "\n";
    std::fs::write(path, summary).with_context(|| format!("writing the summary {}", path.display()))
}

/// The table of regions on stdout, and where the summary file went.
fn print_summary(
    printer: &Printer,
    summaries: &[(String, RegionSummary)],
    path: &Path,
) -> Result<()> {
    printer.out(&format!("\n{}", table(summaries)))?;
    printer.out(&format!("Summary written to {}\n", path.display()))
}

/// The run's metrics, which the backup alarms watch; a failure is a warning.
async fn publish_metrics(
    aws: &Aws,
    printer: &Printer,
    stack: &Stack,
    summaries: &[(String, RegionSummary)],
) -> Result<()> {
    let data = metric_data(&stack.environment, summaries);
    if data.is_empty() {
        return Ok(());
    }
    match metrics::publish(aws, &stack.ssm_home_region, &data).await {
        Ok(()) => printer.status(&format!(
            "Metrics published ({METRIC_NAMESPACE}, {}).",
            stack.ssm_home_region
        )),
        Err(e) => printer.warn(&format!(
            "the backup metrics were not published, so the backup alarms will count this run as missing: {e:#}"
        )),
    }
}

/// Where the run's summary goes: Slack, e-mail, both or neither, as checked before the run.
struct Notifications {
    slack: Option<String>,
    email: Option<(Box<notify::Smtp>, Vec<Mailbox>)>,
}

impl Notifications {
    fn of(printer: &Printer, args: &BackupArgs) -> Result<Self> {
        Ok(Notifications {
            slack: slack_webhook(printer, args.notify_slack.as_deref())?,
            email: email(printer, &args.notify_email)?,
        })
    }

    /// The run could not start (`e` says why). A notification that fails is a warning, and
    /// `e` stays the error the run ends with.
    async fn start_failure(&self, printer: &Printer, environment: &str, e: &anyhow::Error) {
        if let Some(url) = &self.slack {
            let message = slack_start_failure(environment, &format!("{e:#}"));
            if let Err(n) = notify::post_slack(url, &message).await {
                printer.keep(printer.warn(&format!("{n:#}")));
            }
        }
        if let Some((smtp, to)) = &self.email {
            let (subject, body) = email_start_failure(environment, &format!("{e:#}"));
            if let Err(n) = smtp.send(to, &subject, &body).await {
                printer.keep(printer.warn(&format!("{n:#}")));
            }
        }
    }

    /// The run's summary; a notification that fails is a warning.
    async fn summary(
        &self,
        printer: &Printer,
        environment: &str,
        summaries: &[(String, RegionSummary)],
        dry_run: bool,
    ) -> Result<()> {
        if let Some(url) = &self.slack {
            let message = slack_message(environment, summaries, dry_run);
            match notify::post_slack(url, &message).await {
                Ok(()) => printer.status("Slack notified.")?,
                Err(e) => printer.warn(&format!(
                    "the Slack notification failed (the backup is not affected): {e:#}"
                ))?,
            }
        }
        if let Some((smtp, to)) = &self.email {
            let (subject, body) = email_message(environment, summaries, dry_run);
            match smtp.send(to, &subject, &body).await {
                Ok(()) => printer.status("E-mail sent.")?,
                Err(e) => printer.warn(&format!(
                    "the e-mail notification failed (the backup is not affected): {e:#}"
                ))?,
            }
        }
        Ok(())
    }
}

/// A boolean environment variable as Jenkins sets it (`DRY_RUN`); unset or empty is false.
fn env_flag(variable: &str) -> Result<bool> {
    match std::env::var(variable) {
        Ok(value) => Ok(boolish(variable, &value)
            .map_err(anyhow::Error::msg)?
            .unwrap_or(false)),
        Err(std::env::VarError::NotPresent) => Ok(false),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{variable} is not UTF-8 text"),
    }
}

/// The Slack webhook: `--notify-slack`, else SLACK_WEBHOOK_URL. Empty (an unset secret) means
/// no Slack message, with a warning; a malformed one is an error that shows its host at most.
fn slack_webhook(printer: &Printer, flag: Option<&str>) -> Result<Option<String>> {
    let (source, value) = match flag {
        Some(value) => ("--notify-slack", value.to_string()),
        None => match std::env::var("SLACK_WEBHOOK_URL") {
            Ok(value) => ("SLACK_WEBHOOK_URL", value),
            Err(_) => return Ok(None),
        },
    };
    if value.trim().is_empty() {
        printer.warn(&format!(
            "{source} is empty (an unset secret?): no Slack notification is sent"
        ))?;
        return Ok(None);
    }
    check_webhook(source, &value).map_err(anyhow::Error::msg)?;
    Ok(Some(value.trim().to_string()))
}

/// The e-mail: the addresses of `--notify-email` and the SMTP settings. Empty addresses, or
/// SMTP_HOST/SMTP_FROM unset or empty, mean no e-mail, with a warning; a wrong value is an error.
fn email(
    printer: &Printer,
    addresses: &[String],
) -> Result<Option<(Box<notify::Smtp>, Vec<Mailbox>)>> {
    let mut to = Vec::new();
    for address in addresses {
        if address.trim().is_empty() {
            printer.warn(
                "--notify-email was given an empty address (an unset variable?): it is skipped",
            )?;
            continue;
        }
        to.push(address.trim().parse::<Mailbox>().map_err(|e| {
            anyhow::anyhow!("--notify-email `{address}` is not an e-mail address ({e})")
        })?);
    }
    if to.is_empty() {
        return Ok(None);
    }
    match notify::Smtp::from_env()? {
        notify::SmtpSettings::Ready(smtp) => Ok(Some((smtp, to))),
        notify::SmtpSettings::Missing(variable) => {
            printer.warn(&format!(
                "--notify-email needs {variable}, which is unset or empty: no e-mail is sent"
            ))?;
            Ok(None)
        }
    }
}

/// The backup under the environment's lock (a dry run writes nothing and takes none), and the
/// lock still to release. The backup starts reading while the lock is taken and writes only
/// once it is held; a signal while waiting for the lock ends the run at once.
async fn locked_run(
    aws: &Aws,
    options: &BackupOptions,
    wait: Duration,
    interrupt: &Interrupt,
    printer: &Printer,
) -> Result<(BackupRun, Release)> {
    let body =
        |gate: LockGate| async move { run_backup(aws, options, interrupt, &gate, printer).await };
    if options.dry_run {
        let run = body(LockGate::open(LockWatch::none())).await?;
        return Ok((run, Guard::none().release()));
    }
    let request = LockRequest {
        region: &options.ssm_home_region,
        environment: &options.environment,
        command: "backup",
        wait,
    };
    match Guard::run_while_taking(aws, &request, (interrupt, printer), body).await? {
        Ran::Done(Ok(run), release) => Ok((run, release)),
        Ran::Done(Err(e), release) => {
            printer.keep(release.finish().await);
            Err(e)
        }
        Ran::Interrupted(signal) => {
            let run = BackupRun {
                summaries: Vec::new(),
                interrupted: Some(signal),
            };
            Ok((run, Guard::none().release()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::backup::RegionStatus;
    use crate::shell::printer::Input;

    #[test]
    fn the_summary_is_a_table_of_regions_then_where_the_file_went() {
        let (printer, out, err) = Printer::buffered(Input::None);
        let succeeded = RegionSummary {
            status: RegionStatus::Success,
            parameter_count: 12,
            artifact_path: Some("s3://b/backups/k.json".into()),
            failure_message: None,
            duration_sec: 1.25,
            warnings: Vec::new(),
        };
        let summaries = vec![
            ("ap-northeast-1".to_string(), succeeded),
            (
                "us-west-2".to_string(),
                RegionSummary::failed("AccessDenied".into(), 0.5),
            ),
            (
                "eu-west-1".to_string(),
                RegionSummary::skipped("skipped: us-west-2 failed before it"),
            ),
        ];
        print_summary(&printer, &summaries, Path::new("backup-work/s.json")).unwrap();
        assert_eq!(
            out.text(),
            "\nREGION           STATUS   PARAMETERS   SECONDS  ARTIFACT / MESSAGE\n\
             ap-northeast-1   SUCCESS          12       1.2  s3://b/backups/k.json\n\
             us-west-2        FAILED            0       0.5  AccessDenied\n\
             eu-west-1        SKIPPED           0       0.0  skipped: us-west-2 failed before it\n\
             Summary written to backup-work/s.json\n"
        );
        assert_eq!(err.text(), "");
    }
}
