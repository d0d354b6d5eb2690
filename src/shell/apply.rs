//! Apply a plan: ordered, parallel, idempotent SDK calls. Each region's key before the bucket
//! encrypted with it, the bucket before the parameter that names it (regions in parallel), then
//! the home-region metadata, then the removals (keys last). "Already exists" on create and "not found" on delete count as success, so a run
//! that died anywhere converges when re-run.

use anyhow::Result;
use futures::future::join_all;
use std::collections::BTreeMap;

use super::aws::Aws;
use super::interrupt::{Interrupt, Signal};
use super::lock::{Halt, LockWatch};
use super::printer::Printer;
use super::resource;
use crate::core::desired::region_bucket_parameter;
use crate::core::plan::{Change, Plan};
use crate::core::resource::{Kind, ResourceId};

/// What happened to each change.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub done: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
    /// The signal that stopped the run: steps in flight finished, no new one started.
    pub interrupted: Option<Signal>,
    /// Why the run's lock was lost, which stopped it the same way.
    pub lock_lost: Option<String>,
}

/// Executes `plan` for the environment `environment`, printing each step as it ends (a line
/// such as `done     created bucket ...`). After SIGINT/SIGTERM, or once the lock
/// is lost, the steps in flight finish and no other starts.
pub async fn apply(
    aws: &Aws,
    plan: &Plan,
    environment: &str,
    interrupt: &Interrupt,
    lock: &LockWatch,
    printer: &Printer,
) -> ApplyReport {
    let run = Run {
        aws,
        interrupt,
        lock,
        printer,
    };
    let stages = Stages::of(plan, environment);
    let mut report = ApplyReport::default();
    // 1. Each region: its key, its bucket, then the parameter naming it. Regions in parallel.
    run.regions(&stages.regions, &mut report).await;
    // 2. The home-region metadata names the buckets: only once every bucket is in place.
    // 3. Then what the stack no longer names: parameters first, then buckets.
    // 4. Keys last: scheduled for deletion only once no bucket is set to use them.
    // 2. The journals' log groups and the Logs policy, then the rules writing to them.
    // 5. The dashboard, once the alarms it shows are in place.
    for stage in [
        stages.journal_targets,
        stages.metadata,
        stages.dashboard,
        stages.removals,
        stages.bucket_removals,
        stages.key_removals,
    ] {
        run.stage(stage, &mut report).await;
    }
    report.interrupted = interrupt.received();
    report.lock_lost = lock.lost();
    report
}

/// A plan's changes in the order apply runs them.
#[derive(Default)]
struct Stages<'a> {
    /// Per region: the key's change, the bucket's, then the change of the parameter naming it.
    regions: BTreeMap<&'a str, RegionSteps<'a>>,
    /// Log groups and the Logs policy: in place before a rule delivers to them.
    journal_targets: Vec<&'a Change>,
    metadata: Vec<&'a Change>,
    /// The dashboard: after the alarms its alarm widget names.
    dashboard: Vec<&'a Change>,
    removals: Vec<&'a Change>,
    bucket_removals: Vec<&'a Change>,
    /// Keys scheduled for deletion: last, once nothing is encrypted with them any more.
    key_removals: Vec<&'a Change>,
}

/// A region's changes in the order they run: key, bucket, parameter.
type RegionSteps<'a> = [Option<&'a Change>; 3];

impl<'a> Stages<'a> {
    fn of(plan: &'a Plan, environment: &str) -> Self {
        let mut stages = Stages::default();
        for change in &plan.changes {
            match change {
                Change::Retain { .. } => {}
                Change::Delete { id, .. } => match id.kind {
                    Kind::Key => stages.key_removals.push(change),
                    Kind::Bucket => stages.bucket_removals.push(change),
                    // Rules first, so nothing writes to a log group being removed.
                    Kind::Parameter | Kind::Alarm | Kind::EventRule | Kind::Dashboard => {
                        stages.removals.push(change)
                    }
                    Kind::LogGroup | Kind::LogsPolicy => stages.bucket_removals.push(change),
                },
                Change::Create { id, .. }
                | Change::Update { id, .. }
                | Change::Replace { id, .. } => {
                    let ResourceId { kind, region, name } = id;
                    let slots = stages.regions.entry(region);
                    match kind {
                        Kind::Key => slots.or_default()[0] = Some(change),
                        Kind::Bucket => slots.or_default()[1] = Some(change),
                        Kind::Parameter
                            if *name == region_bucket_parameter(environment, region) =>
                        {
                            slots.or_default()[2] = Some(change)
                        }
                        // The home-region metadata, the alarms watching the backups, and
                        // the journal's rules.
                        Kind::Parameter | Kind::Alarm | Kind::EventRule => {
                            stages.metadata.push(change)
                        }
                        Kind::LogGroup | Kind::LogsPolicy => stages.journal_targets.push(change),
                        Kind::Dashboard => stages.dashboard.push(change),
                    }
                }
            }
        }
        stages
    }
}

/// One apply run: where it writes, what stops it, whom it tells.
struct Run<'a> {
    aws: &'a Aws,
    interrupt: &'a Interrupt,
    lock: &'a LockWatch,
    printer: &'a Printer,
}

impl Run<'_> {
    /// Why no further step may start, if one may not.
    fn halted(&self) -> Option<&'static str> {
        self.lock.halt(self.interrupt).map(|halt| match halt {
            Halt::Interrupted(_) => "interrupted",
            Halt::LockLost(_) => "the lock was lost",
        })
    }

    /// Each region's key, bucket and parameter in that order (none after one failed); regions
    /// in parallel.
    async fn regions(&self, regions: &BTreeMap<&str, RegionSteps<'_>>, report: &mut ApplyReport) {
        let regional = join_all(regions.values().map(|steps| async move {
            let mut outcomes = Vec::new();
            let mut pending = steps.iter().flatten().copied();
            while let Some(change) = pending.next() {
                if let Some(why) = self.halted() {
                    let not_run: Vec<&Change> = std::iter::once(change).chain(pending).collect();
                    return (outcomes, not_run, why);
                }
                let result = self.step(change).await;
                let failed = result.is_err();
                outcomes.push((change, result));
                if failed {
                    let why = match change.id().kind {
                        Kind::Key => "its key failed",
                        Kind::Bucket
                        | Kind::Parameter
                        | Kind::Alarm
                        | Kind::LogGroup
                        | Kind::LogsPolicy
                        | Kind::EventRule
                        | Kind::Dashboard => "its bucket failed",
                    };
                    return (outcomes, pending.collect(), why);
                }
            }
            (outcomes, Vec::new(), "")
        }))
        .await;
        for (outcomes, not_run, why) in regional {
            record(report, outcomes.into_iter());
            for change in not_run {
                self.skip(report, change, why);
            }
        }
    }

    /// A stage's changes in parallel, or none of them after a failure or a halt.
    async fn stage(&self, stage: Vec<&Change>, report: &mut ApplyReport) {
        let halt = self.halted();
        if !report.failed.is_empty() || halt.is_some() {
            let why = halt.unwrap_or("an earlier step failed");
            for change in stage {
                self.skip(report, change, why);
            }
            return;
        }
        let results = join_all(
            stage
                .iter()
                .map(|c| async move { (*c, self.step(c).await) }),
        )
        .await;
        record(report, results.into_iter());
    }

    fn skip(&self, report: &mut ApplyReport, change: &Change, why: &str) {
        let line = format!("{} ({why})", change.id());
        self.printer.step(&format!("skipped  {line}"));
        report.skipped.push(line);
    }

    async fn step(&self, change: &Change) -> Result<String> {
        let result = execute(self.aws, change).await;
        match &result {
            Ok(done) => self.printer.step(&format!("done     {done}")),
            Err(e) => self
                .printer
                .step(&format!("FAILED   {}: {e:#}", change.id())),
        }
        result
    }
}

fn record<'a>(
    report: &mut ApplyReport,
    outcomes: impl Iterator<Item = (&'a Change, Result<String>)>,
) {
    for (change, outcome) in outcomes {
        match outcome {
            Ok(done) => report.done.push(done),
            Err(e) => report.failed.push(format!("{}: {e:#}", change.id())),
        }
    }
}

async fn execute(aws: &Aws, change: &Change) -> Result<String> {
    match change {
        Change::Create { id, desired } => {
            resource::create(aws, id, desired).await?;
            Ok(format!("created {id}"))
        }
        Change::Update {
            id,
            fields,
            desired,
        } => {
            resource::update(aws, id, fields, desired).await?;
            Ok(format!("updated {id}"))
        }
        // Accepted (apply refuses an unaccepted one before any step): the alias's key is
        // brought to the stack's settings; the bucket's own change names it.
        Change::Replace {
            id,
            fields,
            desired,
            replacement,
            ..
        } => {
            resource::update(aws, id, fields, desired).await?;
            Ok(format!("accepted the key {replacement} for {id}"))
        }
        Change::Delete { id, objects } => {
            resource::delete(aws, id, *objects).await?;
            Ok(format!("deleted {id}"))
        }
        Change::Retain { id, .. } => Ok(format!("retained {id}")),
    }
}
