//! `ssm-keeper restore --drill`: for each region, the latest backup restored under a scratch
//! path of the same region, read back and compared, then everything under the environment's
//! drill path deleted, whatever happened (a killed drill's leftovers go with the next one).
//! Under the environment's lock; publishes DrillSuccess and DrillDuration. Prints no value.

use anyhow::{Result, bail};
use std::process::ExitCode;
use std::time::Instant;

use super::session::Session;
use crate::cli::{Format, RestoreArgs};
use crate::core::alarm::{METRIC_NAMESPACE, drill_metric_data};
use crate::core::changes::{parse_moment, utc};
use crate::core::drill::{
    DrillResult, RegionDrill, exit_code, name_problem, parameter_arn_prefix, projected_seconds,
    render_text, run_id, run_prefix,
};
use crate::core::live::compare;
use crate::core::region::{check_known_region, partition};
use crate::core::restore::{
    BackupSource, ParameterSpec, RestoreAction, RestoreItem, RestoreOptions, plan,
    read_back_mismatches, unknown_attributes, wanted,
};
use crate::core::selection::Selection;
use crate::core::stack::{Stack, bucket_name};
use crate::shell::aws::Aws;
use crate::shell::drill::clean_up;
use crate::shell::interrupt::{Interrupt, Signal};
use crate::shell::lock::{Guard, Halt, LockRequest, LockWatch, Locked};
use crate::shell::metrics;
use crate::shell::printer::{Input, Printer};
use crate::shell::restore::{
    Located, ParameterWrite, WriteMode, check_keys, locate_checked, random_suffix, read_live,
    try_keys, write,
};
use crate::shell::ssm::list_selected;
use crate::shell::store::Place;
use crate::shell::verify::live_facts;

use super::restore_at::{AtRequest, items_at, state_at};

pub async fn run(session: &Session, printer: &Printer, args: RestoreArgs) -> Result<ExitCode> {
    let stack = session.load_stack(&args.stack)?.stack;
    if args.format == Format::Markdown {
        bail!("--drill reports as text or json, not markdown");
    }
    if let Some(region) = &args.region {
        check_known_region(region, session.stack_options().allow_unknown_regions)
            .map_err(|m| anyhow::anyhow!("--region: {m}"))?;
    }
    let interrupt = Interrupt::listen(printer)?;
    let aws = &session.aws().await?.at_most(args.max_rps);
    let given: Vec<String> = args.region.iter().cloned().collect();
    let (regions, _) = super::verify::regions(aws, &stack, &given).await?;
    let request = LockRequest {
        region: &stack.ssm_home_region,
        environment: &stack.environment,
        command: "restore --drill",
        wait: args.lock_timeout,
    };
    let guard = match Guard::acquire(aws, &request, &interrupt, printer).await? {
        Locked::Held(guard) => guard,
        Locked::Interrupted(signal) => {
            return super::prompt::cancelled(printer, "Restore drill", signal);
        }
    };
    let drill = Drill {
        aws,
        printer,
        args: &args,
        stack: &stack,
        run_id: run_id(time::OffsetDateTime::now_utc(), random_suffix()),
        interrupt: &interrupt,
        lock: guard.watch(),
    };
    guard.hold(drill.all(&regions)).await
}

/// One drill run: what every region's drill needs.
struct Drill<'a> {
    aws: &'a Aws,
    printer: &'a Printer,
    args: &'a RestoreArgs,
    stack: &'a Stack,
    run_id: String,
    interrupt: &'a Interrupt,
    lock: LockWatch,
}

/// How the restore into the scratch path ended (the cleanup follows whatever it was).
enum Scratch {
    Restored {
        source: String,
        parameters: usize,
        skipped: Vec<String>,
        mismatches: Vec<String>,
    },
    /// The backup fails its checks, or its KMS keys are gone: a finding.
    Refused {
        source: String,
        problems: Vec<String>,
    },
    Stopped(Signal),
    Failed(anyhow::Error),
}

impl Drill<'_> {
    /// Each region in turn; after a signal, no further region starts. Metrics for every region
    /// drilled to the end; the report; the exit code.
    async fn all(&self, regions: &[String]) -> Result<ExitCode> {
        let env = &self.stack.environment;
        self.printer.status(&format!(
            "Restore drill {} of `{env}` in {}: under {}",
            self.run_id,
            regions.join(", "),
            run_prefix(env, &self.run_id)
        ))?;
        let mut drills = Vec::new();
        for region in regions {
            let (drill, stopped) = self.region(region).await;
            if let Some(signal) = stopped {
                self.printer.status(&format!(
                    "\nInterrupted by {}: the drill of {region} stopped{}; no metrics published.",
                    signal.name(),
                    match &drill.cleanup_error {
                        None => " and everything it wrote was deleted".to_string(),
                        Some(e) => format!(
                            ", and its cleanup failed (the next drill deletes what is left): {e}"
                        ),
                    }
                ))?;
                return Ok(ExitCode::from(signal.exit_code()));
            }
            drills.push(drill);
        }
        self.publish(&drills).await?;
        let text = match self.args.format {
            Format::Json => {
                serde_json::to_string_pretty(&serde_json::json!({
                    "environment": env,
                    "runId": self.run_id,
                    "drillPath": run_prefix(env, &self.run_id),
                    "putParameterRate": crate::core::drill::DEFAULT_PUT_PARAMETER_RPS,
                    "ok": exit_code(&drills) == 0,
                    "regions": drills,
                }))? + "\n"
            }
            Format::Text | Format::Markdown => render_text(&drills),
        };
        self.printer.out(&text)?;
        Ok(ExitCode::from(exit_code(&drills)))
    }

    /// One region: leftovers deleted, the restore into the scratch path, everything deleted
    /// again whatever happened. A signal that stopped it is returned beside the report.
    async fn region(&self, region: &str) -> (RegionDrill, Option<Signal>) {
        let mut drill = RegionDrill {
            region: region.to_string(),
            source: None,
            parameters: 0,
            skipped: Vec::new(),
            result: DrillResult::Error,
            problems: Vec::new(),
            duration_seconds: 0.0,
            projected_seconds: 0.0,
            cleaned_up: 0,
            cleanup_error: None,
        };
        // What a killed drill left: deleted first, so that this drill starts from nothing.
        match self.clean_up(region).await {
            Ok(0) => {}
            Ok(n) => self.say(&format!(
                "Drill of {region}: {n} parameters left by an earlier drill deleted."
            )),
            Err(e) => {
                drill.problems.push(format!(
                    "the drill path could not be cleaned up, so nothing was restored: {e:#}"
                ));
                drill.cleanup_error = Some(format!("{e:#}"));
                return (drill, self.interrupt.received());
            }
        }
        let started = Instant::now();
        let scratch = match self.interrupt.received() {
            Some(signal) => Scratch::Stopped(signal),
            None => self.restore(region).await,
        };
        drill.duration_seconds = started.elapsed().as_secs_f64();
        let stopped = self.record(&mut drill, scratch);
        match self.clean_up(region).await {
            Ok(n) => {
                drill.cleaned_up = n;
                self.say(&format!(
                    "Drill of {region}: cleaned up ({n} parameters deleted)."
                ));
            }
            Err(e) => drill.cleanup_error = Some(format!("{e:#}")),
        }
        (drill, stopped.or(self.interrupt.received()))
    }

    /// Everything under the environment's drill path in `region` deleted, while the lock is
    /// held: once it is lost another drill may be writing there (and its own cleanup takes
    /// what this one left).
    async fn clean_up(&self, region: &str) -> Result<usize> {
        self.lock.check()?;
        clean_up(self.aws, region, &self.stack.environment).await
    }

    /// The scratch restore's outcome into the region's report; the signal that stopped it.
    fn record(&self, drill: &mut RegionDrill, scratch: Scratch) -> Option<Signal> {
        match scratch {
            Scratch::Restored {
                source,
                parameters,
                skipped,
                mismatches,
            } => {
                drill.source = Some(source);
                drill.parameters = parameters;
                drill.projected_seconds = projected_seconds(parameters);
                drill.skipped = skipped;
                drill.result = if mismatches.is_empty() {
                    DrillResult::Passed
                } else {
                    DrillResult::Differs
                };
                drill.problems = mismatches;
                None
            }
            Scratch::Refused { source, problems } => {
                drill.source = Some(source);
                drill.result = DrillResult::Differs;
                drill.problems = problems;
                None
            }
            Scratch::Stopped(signal) => Some(signal),
            Scratch::Failed(e) => {
                drill.problems.push(format!("{e:#}"));
                None
            }
        }
    }

    /// The latest backup of `region` written under this run's path, read back and compared.
    async fn restore(&self, region: &str) -> Scratch {
        let located = tokio::select! {
            located = self.locate(region) => located,
            signal = self.interrupt.wait() => return Scratch::Stopped(signal),
        };
        let (source, items) = match located {
            Ok(Ok(found)) => found,
            Ok(Err(refused)) => return refused,
            Err(e) => return Scratch::Failed(e),
        };
        match self.write_and_read_back(region, &source, &items).await {
            Ok(scratch) => scratch,
            Err(e) => Scratch::Failed(e),
        }
    }

    /// The checked document's items, targets under this run's path (names SSM would refuse
    /// there skipped with why); or the backup refused.
    async fn locate(&self, region: &str) -> Result<Result<(String, Vec<RestoreItem>), Scratch>> {
        if let Some(at) = &self.args.at {
            return self.locate_at(region, at).await;
        }
        let env = &self.stack.environment;
        let account = self.aws.account_id(&self.stack.ssm_home_region).await?;
        let bucket = bucket_name(&self.stack.project_name, env, &account, region);
        let place = Place {
            region,
            bucket: &bucket,
            under: "",
        };
        let located = locate_checked(
            self.aws,
            self.printer,
            region,
            &place,
            self.stack,
            &BackupSource::Latest,
            self.args.max_document_bytes,
        )
        .await?;
        let (source, document) = match located {
            Located::Checked(source, document) => (source, document),
            Located::Refused(source, problems) => {
                return Ok(Err(Scratch::Refused { source, problems }));
            }
        };
        // verify --deep's comparison with Parameter Store: a fresh lie is refused here too.
        let selection = Selection::of(self.stack);
        let listing = list_selected(self.aws, region, &selection).await?;
        let live = live_facts(self.aws, region, (&document, &selection), listing).await?;
        let problems = compare(&document, &selection, document.taken_utc(), &live).failures();
        if !problems.is_empty() {
            return Ok(Err(Scratch::Refused { source, problems }));
        }
        let options = self.scratch_options();
        let unknown = unknown_attributes(
            document.format,
            &document.parameters,
            self.args.kms_key_id.as_deref(),
        );
        let items = wanted(&document.parameters, document.format, &options);
        self.scratch_items(region, &account, source, items, &unknown)
            .await
    }

    /// Restore's options for this run's scratch path.
    fn scratch_options(&self) -> RestoreOptions {
        let env = &self.stack.environment;
        RestoreOptions {
            environment: env.clone(),
            selection: Selection::of(self.stack),
            only: Some("/".into()),
            to_prefix: Some(run_prefix(env, &self.run_id)),
            kms_key_id: self.args.kms_key_id.clone(),
            // The drill restores all the document holds that restore may write: the metadata
            // too, under the scratch path.
            include_metadata: true,
            overwrite: false,
        }
    }

    /// `restore --drill --at`: the state of `region` at that moment (`restore --at`'s), under
    /// this run's path; what cannot be placed is listed as not drilled.
    async fn locate_at(
        &self,
        region: &str,
        at: &str,
    ) -> Result<Result<(String, Vec<RestoreItem>), Scratch>> {
        let at = parse_moment(at).map_err(|m| anyhow::anyhow!("--at: {m}"))?;
        if at > time::OffsetDateTime::now_utc() {
            anyhow::bail!("--at {} is in the future", utc(at));
        }
        let account = self.aws.account_id(&self.stack.ssm_home_region).await?;
        let options = self.scratch_options();
        let request = AtRequest {
            region,
            from_copy: self.args.from_copy,
            max_document_bytes: self.args.max_document_bytes,
            at,
            options: &options,
            live_in: None,
        };
        let state = state_at(self.aws, self.printer, self.stack, &request).await?;
        let mut items = items_at(&state, &options);
        items.extend(state.not_written.iter().map(|n| RestoreItem {
            source: n.name.clone(),
            target: n.name.clone(),
            action: RestoreAction::Skipped {
                reason: n.reason.clone(),
            },
            kept: Vec::new(),
            untag: Vec::new(),
            spec: None,
            origin: None,
        }));
        let source = format!("{} as it was at {}", state.label, utc(at));
        self.scratch_items(region, &account, source, items, &state.unknown)
            .await
    }

    /// `items` planned into the empty scratch path (names SSM would refuse there skipped with
    /// why), or refused when a KMS key they need is gone.
    async fn scratch_items(
        &self,
        region: &str,
        account: &str,
        source: String,
        mut items: Vec<RestoreItem>,
        unknown: &[crate::core::restore::RestoreAttribute],
    ) -> Result<Result<(String, Vec<RestoreItem>), Scratch>> {
        let arn = parameter_arn_prefix(partition(region), region, account);
        for item in &mut items {
            if item.spec.is_some()
                && let Some(why) = name_problem(&item.target, &arn)
            {
                item.spec = None;
                item.action = RestoreAction::Skipped { reason: why };
            }
        }
        let items = plan(items, &Default::default(), unknown, (false, false));
        let keys = check_keys(self.aws, region, &items).await?;
        let env = &self.stack.environment;
        let mut missing = keys.missing;
        missing.extend(try_keys(self.aws, self.printer, region, env, &keys.unchecked).await?);
        if !missing.is_empty() {
            return Ok(Err(Scratch::Refused {
                source,
                problems: missing,
            }));
        }
        Ok(Ok((source, items)))
    }

    /// Creates every item under the scratch path (stopping at a signal or a lost lock), then
    /// reads them back.
    async fn write_and_read_back(
        &self,
        region: &str,
        source: &str,
        items: &[RestoreItem],
    ) -> Result<Scratch> {
        let specs: Vec<&ParameterSpec> = items.iter().filter_map(|i| i.spec.as_ref()).collect();
        let writes: Vec<ParameterWrite<'_>> = specs
            .iter()
            .map(|spec| ParameterWrite {
                spec,
                mode: WriteMode::Create,
                retag: None,
            })
            .collect();
        self.say(&format!(
            "Drill of {region}: restoring {} parameters of {source}...",
            writes.len()
        ));
        // The per-parameter lines name scratch paths nobody needs: not printed.
        let quiet = Printer::new(
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
            false,
            self.printer.verbosity(),
            Input::None,
        );
        let started = (&self.lock, self.interrupt);
        write(self.aws, region, &writes, started, &quiet).await?;
        match self.lock.halt(self.interrupt) {
            Some(Halt::Interrupted(signal)) => return Ok(Scratch::Stopped(signal)),
            Some(Halt::LockLost(why)) => bail!("stopped before the read-back: {why}"),
            None => {}
        }
        self.say(&format!("Drill of {region}: written, reading back..."));
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let read = read_live(self.aws, region, &names).await?;
        let skipped = items
            .iter()
            .filter_map(|i| match &i.action {
                RestoreAction::Skipped { reason } => Some(format!("{}: {reason}", i.source)),
                _ => None,
            })
            .collect();
        Ok(Scratch::Restored {
            source: source.to_string(),
            parameters: specs.len(),
            skipped,
            mismatches: read_back_mismatches(&specs, &read)
                .into_iter()
                .map(|m| self.original_name(&m))
                .collect(),
        })
    }

    /// A read-back line about a scratch name, told with the backup's name.
    fn original_name(&self, line: &str) -> String {
        let prefix = run_prefix(&self.stack.environment, &self.run_id);
        match line.strip_prefix(prefix.as_str()) {
            Some(rest) => format!("/{rest}"),
            None => line.to_string(),
        }
    }

    /// DrillSuccess for every region drilled, DrillDuration for each that passed; a failure to
    /// publish is a warning (the drill alarm will count the run as missing).
    async fn publish(&self, drills: &[RegionDrill]) -> Result<()> {
        let results: Vec<(String, bool, f64)> = drills
            .iter()
            .map(|d| {
                (
                    d.region.clone(),
                    d.result == DrillResult::Passed,
                    d.duration_seconds,
                )
            })
            .collect();
        let data = drill_metric_data(&self.stack.environment, &results);
        let home = &self.stack.ssm_home_region;
        match metrics::publish(self.aws, home, &data).await {
            Ok(()) => self
                .printer
                .status(&format!("Metrics published ({METRIC_NAMESPACE}, {home}).")),
            Err(e) => self.printer.warn(&format!(
                "the drill metrics were not published, so the drill alarms will count this run as missing: {e:#}"
            )),
        }
    }

    /// A progress line on stderr (kept if it fails: the drill goes on to its cleanup).
    fn say(&self, line: &str) {
        self.printer.keep(self.printer.status(line));
    }
}
