//! `ssm-keeper restore`: bring parameters back exactly from a backup, into the same region or
//! another. A read-only preview unless --apply; only missing parameters are created unless
//! --overwrite; nothing is ever deleted; every write is read back and compared.

use anyhow::{Context, Result, bail};
use std::process::ExitCode;

use super::prompt::{cancelled, confirm};
use super::session::Session;
use crate::cli::{Format, RestoreArgs};
use crate::core::changes::{parse_moment, utc};
use crate::core::document::BackupDocument;
use crate::core::region::{check_known_region, check_one_partition};
use crate::core::restore::BackupSource;
use crate::core::restore::{
    ParameterSpec, RestoreAction, RestoreAttribute, RestoreOptions, RestorePlan, plan,
    read_back_mismatches, render_json, render_markdown, render_text, unknown_attributes, wanted,
};
use crate::core::selection::{Selection, forbidden_target};
use crate::core::stack::Stack;
use crate::core::stack::bucket_name;
use crate::core::store::{COPY_PREFIX, copy_document_key};
use crate::shell::aws::Aws;
use crate::shell::diagnose::unreachable;
use crate::shell::interrupt::Interrupt;
use crate::shell::lock::{Guard, Halt, LockRequest, LockWatch, Locked};
use crate::shell::printer::Printer;
use crate::shell::restore::{
    KeyCheck, Located, ParameterWrite, WriteMode, check_keys, locate, locate_checked, read_live,
    refusal, refuse_missing_keys, try_keys, write,
};
use crate::shell::store::Place;

pub async fn run(session: &Session, printer: &Printer, args: RestoreArgs) -> Result<ExitCode> {
    if args.drill {
        return super::drill::run(session, printer, args).await;
    }
    let stack = session.load_stack(&args.stack)?.stack;
    check_regions(&args, &stack, session.stack_options().allow_unknown_regions)?;
    let selection = check_subtree(&args, &stack)?;
    let interrupt = Interrupt::listen(printer)?;
    // Every SSM request of the restore, reads and writes, under --max-rps: the quota is shared.
    let aws = &session.aws().await?.at_most(args.max_rps);
    // With --apply the restore decides under the environment's lock: the preview it shows and
    // confirms is of live parameters no other ssm-keeper run changes until it has written.
    let guard = if args.apply {
        let request = LockRequest {
            region: &stack.ssm_home_region,
            environment: &stack.environment,
            command: "restore",
            wait: args.lock_timeout,
        };
        match Guard::acquire(aws, &request, &interrupt, printer).await? {
            Locked::Held(guard) => guard,
            Locked::Interrupted(signal) => return cancelled(printer, "Restore", signal),
        }
    } else {
        Guard::none()
    };
    let watch = guard.watch();
    guard
        .hold(restore(
            aws, printer, &args, &stack, selection, &interrupt, &watch,
        ))
        .await
}

/// Plans (a signal stops it at once), shows the plan, and with --apply confirms and writes.
async fn restore(
    aws: &Aws,
    printer: &Printer,
    args: &RestoreArgs,
    stack: &Stack,
    selection: Selection,
    interrupt: &Interrupt,
    lock: &LockWatch,
) -> Result<ExitCode> {
    let planned = tokio::select! {
        planned = preview(aws, printer, args, stack, selection) => planned?,
        signal = interrupt.wait() => return cancelled(printer, "Restore", signal),
    };
    let (restore, keys) = planned;
    print_preview(printer, &restore, args.format)?;
    // Before anything is written: the keys the SecureStrings will be encrypted with must exist
    // where they are written.
    refuse_missing_keys(&restore.target_region, &keys.missing)?;
    for line in keys.unchecked_lines(&restore.target_region) {
        printer.warn(&line)?;
    }
    if !args.apply {
        return Ok(if args.detailed_exitcode && restore.has_changes() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        });
    }
    if !restore.has_changes() {
        printer.out("Nothing to restore.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let keys = (stack.environment.as_str(), &keys);
    apply(aws, printer, args, (&restore, keys), interrupt, lock).await
}

/// The restore plan against the live parameters, and what is known of the KMS keys it needs
/// in the target region.
async fn preview(
    aws: &Aws,
    printer: &Printer,
    args: &RestoreArgs,
    stack: &Stack,
    selection: Selection,
) -> Result<(RestorePlan, KeyCheck)> {
    if let Some(at) = &args.at {
        let at = parse_moment(at).map_err(|m| anyhow::anyhow!("--at: {m}"))?;
        if at > time::OffsetDateTime::now_utc() {
            bail!("--at {} is in the future", utc(at));
        }
        return super::restore_at::preview_at(aws, printer, args, stack, selection, at).await;
    }
    let env = &stack.environment;
    let source_region = source_region(args)?;
    let target_region = args.target_region.as_ref().unwrap_or(source_region);
    let (label, document) = source_document(aws, printer, args, stack).await?;
    let options = RestoreOptions {
        environment: env.clone(),
        selection,
        only: args.only.clone(),
        to_prefix: args.to_prefix.clone(),
        kms_key_id: args.kms_key_id.clone(),
        include_metadata: args.include_metadata,
        overwrite: args.overwrite,
    };
    let unknown = unknown_attributes(
        document.format,
        &document.parameters,
        args.kms_key_id.as_deref(),
    );
    let items = wanted(&document.parameters, document.format, &options);
    let targets: Vec<&str> = items
        .iter()
        .filter(|i| i.spec.is_some())
        .map(|i| i.target.as_str())
        .collect();
    let live = read_live(aws, target_region, &targets).await?;
    let restore = RestorePlan {
        source: label,
        source_region: source_region.clone(),
        target_region: target_region.clone(),
        items: plan(items, &live, &unknown, (args.overwrite, args.recreate)),
        unknown_attributes: unknown,
        at: None,
        not_written: Vec::new(),
    };
    let keys = check_keys(aws, target_region, &restore.items).await?;
    Ok((restore, keys))
}

/// The backup to restore: from the region's own bucket, or from its copy (the stack's
/// `copies`) with `--from-copy` or when the region's S3 cannot be reached; which one is said.
async fn source_document(
    aws: &Aws,
    printer: &Printer,
    args: &RestoreArgs,
    stack: &Stack,
) -> Result<(String, BackupDocument)> {
    let env = &stack.environment;
    let account = aws.account_id(&stack.ssm_home_region).await?;
    let region = source_region(args)?.as_str();
    let from = BackupSource::parse(&args.from);
    let bucket = bucket_name(&stack.project_name, env, &account, region);
    let copy = stack.copies.get(region).map(|to| {
        let to_bucket = bucket_name(&stack.project_name, env, &account, to);
        (to.as_str(), to_bucket)
    });
    fn copy_place<'a>((to, to_bucket): &'a (&'a str, String)) -> Place<'a> {
        Place {
            region: to,
            bucket: to_bucket,
            under: COPY_PREFIX,
        }
    }
    let max = args.max_document_bytes;
    if args.from_copy {
        let copy = copy.as_ref().with_context(|| {
            format!(
                "{region} has no copy to restore from: the stack's `copies` names no region for it"
            )
        })?;
        printer.status(&format!(
            "Reading the copy of {region}'s backup kept in {}.",
            copy.0
        ))?;
        return locate(aws, printer, region, &copy_place(copy), stack, &from, max).await;
    }
    let place = Place {
        region,
        bucket: &bucket,
        under: "",
    };
    // A local file has no copy; otherwise a refusal of the region's own backup says whether
    // its copy would do.
    let located = match &from {
        BackupSource::File(_) => locate(aws, printer, region, &place, stack, &from, max)
            .await
            .map(|(label, document)| Located::Checked(label, document)),
        _ => locate_checked(aws, printer, region, &place, stack, &from, max).await,
    };
    match located {
        Ok(Located::Checked(label, document)) => Ok((label, document)),
        Ok(Located::Refused(label, failures)) => {
            let mut refused = refusal(&label, &failures);
            if let Some(copy) = &copy {
                refused.push('\n');
                refused
                    .push_str(&copy_verdict(aws, printer, region, copy, stack, &from, max).await);
            }
            bail!("{refused}")
        }
        Err(e) if unreachable(&e) && copy.is_some() => {
            let Some(copy) = &copy else {
                return Err(e);
            };
            printer.warn(&format!(
                "{region}'s S3 cannot be reached ({e:#}): reading the copy of its backup kept in {}",
                copy.0
            ))?;
            locate(aws, printer, region, &copy_place(copy), stack, &from, max).await
        }
        Err(e) => Err(e),
    }
}

/// Whether the copy of `region`'s backup that `--from-copy` would read passes the checks its
/// own backup failed: then the way to restore it, else why not.
async fn copy_verdict(
    aws: &Aws,
    printer: &Printer,
    region: &str,
    (to, to_bucket): &(&str, String),
    stack: &Stack,
    from: &BackupSource,
    max: u64,
) -> String {
    let place = Place {
        region: to,
        bucket: to_bucket,
        under: COPY_PREFIX,
    };
    // A key names the primary; its copy is the same key under `copies/`.
    let (from, flags) = match from {
        BackupSource::Key(key) => {
            let copy = copy_document_key(key);
            let flags = format!("--from-copy --from {copy}");
            (BackupSource::Key(copy), flags)
        }
        other => (other.clone(), "--from-copy".to_string()),
    };
    match locate_checked(aws, printer, region, &place, stack, &from, max).await {
        Ok(Located::Checked(label, _)) => format!(
            "hint: its copy {label} (in {to}) passes the same checks: restore it with `{flags}`"
        ),
        Ok(Located::Refused(label, failures)) => format!(
            "its copy {label} (in {to}) fails verification too ({}): `--from-copy` would refuse it",
            failures.join("; ")
        ),
        Err(e) => format!("its copy in {to} could not be checked ({e:#})"),
    }
}

/// The backup region and the target region are regions AWS has (unless allowed), in the stack's
/// partition: checked before any AWS call.
fn check_regions(args: &RestoreArgs, stack: &Stack, allow_unknown: bool) -> Result<()> {
    let given = [
        ("--region", args.region.as_ref()),
        ("--target-region", args.target_region.as_ref()),
    ];
    for (flag, region) in given {
        if let Some(region) = region {
            check_known_region(region, allow_unknown)
                .map_err(|m| anyhow::anyhow!("{flag}: {m}"))?;
        }
    }
    let regions = given.iter().filter_map(|(_, r)| r.map(String::as_str));
    check_one_partition(std::iter::once(stack.ssm_home_region.as_str()).chain(regions))
        .map_err(anyhow::Error::msg)
}

/// `--region`, which clap requires without --drill.
fn source_region(args: &RestoreArgs) -> Result<&String> {
    args.region
        .as_ref()
        .context("--region is required: the region whose backup to restore")
}

/// The environment's parameters, with `--only` inside them and `--to-prefix` a path prefix
/// away from the locks and the metadata: usage errors before any AWS call.
fn check_subtree(args: &RestoreArgs, stack: &Stack) -> Result<Selection> {
    let selection = Selection::of(stack);
    if let Some(only) = &args.only
        && !selection.may_hold(only)
    {
        bail!(
            "--only {only} is outside the parameters of `{}` ({}): restore never writes there",
            stack.environment,
            selection.describe()
        );
    }
    if let Some(to) = &args.to_prefix {
        if args.only.as_ref().is_some_and(|o| !o.ends_with('/')) {
            bail!(
                "--only must end with `/` when --to-prefix is given (each name under it is moved under --to-prefix)"
            );
        }
        if let Some(why) = forbidden_target(to) {
            bail!("--to-prefix: {why}");
        }
    }
    Ok(selection)
}

/// The preview on stdout, in the format asked for.
fn print_preview(printer: &Printer, restore: &RestorePlan, format: Format) -> Result<()> {
    let text = match format {
        Format::Text => render_text(restore),
        Format::Markdown => render_markdown(restore),
        Format::Json => render_json(restore)?,
    };
    printer.out(&text)
}

/// Confirms, tries the keys it could not describe (in the environment `keys.0`), writes, reads
/// back.
async fn apply(
    aws: &Aws,
    printer: &Printer,
    args: &RestoreArgs,
    (restore, keys): (&RestorePlan, (&str, &KeyCheck)),
    interrupt: &Interrupt,
    lock: &LockWatch,
) -> Result<ExitCode> {
    let region = restore.target_region.as_str();
    if !args.auto_approve
        && let Some(code) = confirm(printer, "Restore", interrupt).await?
    {
        return Ok(code);
    }
    let (environment, keys) = keys;
    let missing = try_keys(aws, printer, region, environment, &keys.unchecked).await?;
    refuse_missing_keys(region, &missing)?;
    let writes = writes(restore);
    printer.out("\n")?;
    let done = write(aws, region, &writes, (lock, interrupt), printer).await?;
    if let Some(code) = halted(printer, lock.halt(interrupt), done, writes.len())? {
        return Ok(code);
    }
    let written: Vec<&ParameterSpec> = writes.iter().map(|w| w.spec).collect();
    let names: Vec<&str> = written.iter().map(|s| s.name.as_str()).collect();
    let read = read_live(aws, region, &names).await?;
    let mismatches = read_back_mismatches(&written, &read);
    if !mismatches.is_empty() {
        bail!(
            "{} of {} restored parameters do not read back as written:\n  - {}",
            mismatches.len(),
            written.len(),
            mismatches.join("\n  - ")
        );
    }
    printer.out(&format!(
        "Restore complete: {done} parameters written in {region} and read back identical.\n"
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The writes of the plan's creates, updates and recreates.
fn writes(restore: &RestorePlan) -> Vec<ParameterWrite<'_>> {
    restore
        .items
        .iter()
        .filter_map(|i| {
            let spec = i.spec.as_ref()?;
            let (mode, retag) = match &i.action {
                RestoreAction::Create => (WriteMode::Create, None),
                RestoreAction::Update { changes } => (
                    WriteMode::Overwrite,
                    changes
                        .iter()
                        .any(|c| c.attribute == RestoreAttribute::Tags)
                        .then_some(i.untag.as_slice()),
                ),
                RestoreAction::Recreate { .. } => (WriteMode::Recreate, None),
                _ => return None,
            };
            Some(ParameterWrite { spec, mode, retag })
        })
        .collect()
}

/// The exit code when the writes stopped early (`halt`): by a signal, said on stderr; with the
/// lock lost, an error. `done` of `total` were written.
fn halted(
    printer: &Printer,
    halt: Option<Halt>,
    done: usize,
    total: usize,
) -> Result<Option<ExitCode>> {
    match halt {
        Some(Halt::Interrupted(signal)) => {
            printer.status(&format!(
                "\nInterrupted by {}: {done} of {total} parameters written (the writes in flight finished). Run the restore again to finish: it creates only what is still missing.",
                signal.name(),
            ))?;
            Ok(Some(ExitCode::from(signal.exit_code())))
        }
        Some(Halt::LockLost(why)) => bail!(
            "stopped after {done} of {total} parameters written (the writes in flight finished): {why}"
        ),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::restore::RestoreItem;
    use crate::shell::interrupt::Signal;
    use crate::shell::printer::Input;

    fn item(name: &str, action: RestoreAction) -> RestoreItem {
        RestoreItem {
            source: name.into(),
            target: name.into(),
            action,
            kept: Vec::new(),
            untag: Vec::new(),
            spec: None,
            origin: None,
        }
    }

    fn sample() -> RestorePlan {
        RestorePlan {
            source: "s3://b/backups/2026-11-24/k.json".into(),
            source_region: "us-west-2".into(),
            target_region: "us-west-2".into(),
            unknown_attributes: Vec::new(),
            items: vec![
                item("/app/dev/db", RestoreAction::Create),
                item("/app/dev/url", RestoreAction::Unchanged),
            ],
            at: None,
            not_written: Vec::new(),
        }
    }

    #[test]
    fn the_restore_preview_goes_to_stdout_in_each_format() {
        let restore = sample();
        let (printer, out, err) = Printer::buffered(Input::None);
        print_preview(&printer, &restore, Format::Text).unwrap();
        let text = out.text();
        assert_eq!(text, render_text(&restore));
        assert!(
            text.contains("  + create    /app/dev/db\n  = unchanged /app/dev/url\n"),
            "{text}"
        );
        assert_eq!(err.text(), "");
        for (format, rendered) in [
            (Format::Markdown, render_markdown(&restore)),
            (Format::Json, render_json(&restore).unwrap()),
        ] {
            let (printer, out, _) = Printer::buffered(Input::None);
            print_preview(&printer, &restore, format).unwrap();
            assert_eq!(out.text(), rendered);
        }
    }

    #[test]
    fn writes_stopped_by_a_signal_or_the_lost_lock_say_how_far_they_got() {
        let (printer, out, err) = Printer::buffered(Input::None);
        printer.step("created  /app/dev/db");
        let code = halted(&printer, Some(Halt::Interrupted(Signal::Interrupt)), 1, 3).unwrap();
        assert_eq!(code, Some(ExitCode::from(130)));
        assert_eq!(out.text(), "  created  /app/dev/db\n");
        assert_eq!(
            err.text(),
            "\nInterrupted by SIGINT: 1 of 3 parameters written (the writes in flight finished). Run the restore again to finish: it creates only what is still missing.\n"
        );
        let lost = halted(
            &printer,
            Some(Halt::LockLost("it was removed".into())),
            2,
            3,
        );
        assert_eq!(
            lost.unwrap_err().to_string(),
            "stopped after 2 of 3 parameters written (the writes in flight finished): it was removed"
        );
        assert_eq!(halted(&printer, None, 3, 3).unwrap(), None);
    }
}
