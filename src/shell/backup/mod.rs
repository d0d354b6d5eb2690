//! The nightly backup: from the SSM metadata that `apply` wrote, each region in list order:
//! its listing starts at once (the first region's from the stack file, beside the read of the
//! region list), beside the checks of its bucket (only the one the stack names) and the lock;
//! its values are read once those passed, into memory; then upload, then move the pointers. The
//! first failure stops the run; later regions are skipped.

pub mod collect;
pub mod copy;
pub mod notify;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use std::time::{Duration, Instant};

use crate::core::backup::{
    BACKUP_FORMAT_VERSION, DocumentHeader, INTERRUPTED, RegionStatus, RegionSummary,
    SKIPPED_INTERRUPTED, timeout_message,
};
use crate::core::desired::{
    copies_parameter, metadata_parameters, parse_copies, parse_region_list, region_bucket_parameter,
};
use crate::core::region::check_region;
use crate::core::selection::Selection;
use crate::core::stamp::Stamp;
use crate::core::store::{DEFAULT_POINTER_KEY, DocumentEncryption, document_key, pointer_keys};
use crate::shell::aws::Aws;
use crate::shell::interrupt::{Interrupt, Signal};
use crate::shell::lock::{Halt, LockGate};
use crate::shell::printer::Printer;
use crate::shell::ssm::read_values;
use crate::shell::store::{
    KeyTaken, PointerVersion, document_encryption, pointer_versions, put_document, write_pointers,
};
use collect::{Listing, collect};

#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The stack's projectName: with the account it gives each region's only valid bucket.
    pub project_name: String,
    pub environment: String,
    /// Which parameters belong to the environment.
    pub selection: Selection,
    pub ssm_home_region: String,
    pub dry_run: bool,
    pub region_timeout: Duration,
    pub overall_timeout: Option<Duration>,
    /// Go on with the next regions after one failed (the exit code still says it failed).
    pub keep_going: bool,
    /// Regions backed up at once (1: one after the other, the default).
    pub parallel_regions: usize,
    /// The stack file's regions: the listings of the first ones (as many as run at once) start
    /// while the region list is read, which normally names the same regions.
    pub stack_regions: Vec<String>,
}

#[derive(Debug, Default)]
pub struct BackupRun {
    pub summaries: Vec<(String, RegionSummary)>,
    /// The signal that stopped the run, if one did.
    pub interrupted: Option<Signal>,
}

/// What `apply` wrote for the environment, as the run uses it.
struct Metadata {
    regions: Vec<String>,
    /// Region -> the region whose bucket holds its copy (the stack's `copies`).
    copies: std::collections::BTreeMap<String, String>,
    default_region: Option<String>,
    warnings: Vec<String>,
}

/// Runs the backup. `Err` only when it cannot start (no region list, no regions); a failed
/// region is recorded in the summaries. On SIGINT/SIGTERM the region in progress fails as
/// `interrupted` without moving its pointer, and the rest are skipped.
pub async fn run(
    aws: &Aws,
    options: &BackupOptions,
    interrupt: &Interrupt,
    lock: &LockGate,
    printer: &Printer,
) -> Result<BackupRun> {
    let started = Instant::now();
    // A listing reads no value: the first regions' start before the region list is known, one
    // round trip sooner.
    let mut ahead: Vec<Listing> = options
        .stack_regions
        .iter()
        .take(options.parallel_regions.max(1))
        .map(|region| Listing::start(aws, region, &options.environment, &options.selection))
        .collect();
    let (metadata, run_header) = start(aws, options, printer).await?;
    let regions = &metadata.regions;
    // Only the listings of the regions that start now are kept: one of a region later in the
    // list would read its metadata long before its values.
    let starting_now = &regions[..regions.len().min(options.parallel_regions.max(1))];
    ahead.retain(|l: &Listing| starting_now.iter().any(|r| r == l.region()));
    let overall = options.overall_timeout.unwrap_or_else(|| {
        crate::core::backup::overall_timeout(regions.len(), options.region_timeout)
    });
    let runner = Runner {
        aws,
        options,
        interrupt,
        lock,
        printer,
        metadata: &metadata,
        run_header: &run_header,
        started,
        overall,
        stopped: std::sync::Mutex::new(None),
        ahead: std::sync::Mutex::new(ahead),
    };
    // Serial by default (the first failure skips the rest); with --parallel-regions N, up to N
    // regions at once, each paced on its own, and a failure skips the regions not yet started.
    let summaries: Vec<(String, RegionSummary)> = futures::stream::iter(regions.iter().enumerate())
        .map(|(i, region)| runner.region(i, region))
        .buffered(options.parallel_regions.max(1))
        .collect()
        .await;
    let mut run = BackupRun {
        summaries,
        ..BackupRun::default()
    };
    run.interrupted = interrupt.received();
    Ok(run)
}

/// What every region of a run shares: where it writes, what stops it, and why the regions not
/// yet started are skipped.
struct Runner<'a> {
    aws: &'a Aws,
    options: &'a BackupOptions,
    interrupt: &'a Interrupt,
    lock: &'a LockGate,
    printer: &'a Printer,
    metadata: &'a Metadata,
    run_header: &'a DocumentHeader,
    started: Instant,
    overall: Duration,
    /// Set by a halt, or by a failed region without --keep-going.
    stopped: std::sync::Mutex<Option<String>>,
    /// Listings started before the region list was read, taken by their regions' runs.
    ahead: std::sync::Mutex<Vec<Listing>>,
}

impl Runner<'_> {
    /// The region's listing: the one started ahead, else started now.
    fn listing(&self, region: &str) -> Listing {
        let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        match ahead.iter().position(|l| l.region() == region) {
            Some(i) => ahead.swap_remove(i),
            None => Listing::start(
                self.aws,
                region,
                &self.options.environment,
                &self.options.selection,
            ),
        }
    }

    fn stop_reason(&self) -> Option<String> {
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        // A signal or a lost lock is the reason, whatever failed before.
        if let Some(halt) = self.lock.halt(self.interrupt) {
            *stopped = Some(match halt {
                Halt::Interrupted(_) => SKIPPED_INTERRUPTED.to_string(),
                Halt::LockLost(_) => "skipped: the run lost its lock".to_string(),
            });
        }
        stopped.clone()
    }

    /// The `i`-th region of the list: run, or skipped when the run stopped before it.
    async fn region(&self, i: usize, region: &String) -> (String, RegionSummary) {
        if let Some(reason) = self.stop_reason() {
            return (region.clone(), RegionSummary::skipped(&reason));
        }
        let options = self.options;
        let listing = self.listing(region);
        let header = DocumentHeader {
            region: region.clone(),
            ..self.run_header.clone()
        };
        let limit = options
            .region_timeout
            .min(self.overall.saturating_sub(self.started.elapsed()));
        let mut summary = RegionRun {
            aws: self.aws,
            options,
            header: &header,
            is_default: self.metadata.default_region.as_deref() == Some(region.as_str()),
            copy_to: self.metadata.copies.get(region).map(String::as_str),
            last: i + 1 == self.metadata.regions.len(),
            limit,
            overall: self.overall,
            lock: self.lock,
            printer: self.printer,
        }
        .run(self.interrupt, listing)
        .await;
        if i == 0 {
            summary
                .warnings
                .splice(0..0, self.metadata.warnings.clone());
        }
        if summary.status == RegionStatus::Failed && !options.keep_going {
            let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
            stopped.get_or_insert_with(|| format!("skipped: {region} failed before it"));
        }
        (region.clone(), summary)
    }
}

/// What the run starts from: the metadata (its warnings said) and the header of its
/// documents, as the line that starts the run says.
async fn start(
    aws: &Aws,
    options: &BackupOptions,
    printer: &Printer,
) -> Result<(Metadata, DocumentHeader)> {
    let (account, metadata) = tokio::try_join!(
        aws.account_id(&options.ssm_home_region),
        read_metadata(aws, options)
    )?;
    for w in &metadata.warnings {
        printer.warn(w)?;
    }
    let header = document_header(options, &account)?;
    let regions = &metadata.regions;
    printer.status(&format!(
        "Backup of `{}` ({} regions: {}), account {account}, {}{}",
        options.environment,
        regions.len(),
        regions.join(", "),
        header.backup_timestamp,
        if options.dry_run { " [DRY RUN]" } else { "" }
    ))?;
    Ok((metadata, header))
}

/// The header of the run's documents, dated now; each region's names its region.
fn document_header(options: &BackupOptions, account: &str) -> Result<DocumentHeader> {
    let header = DocumentHeader {
        format_version: BACKUP_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        backup_date: String::new(),
        backup_timestamp: String::new(),
        environment: options.environment.clone(),
        region: String::new(),
        account: account.to_string(),
    };
    dated(header, time::OffsetDateTime::now_utc())
}

/// `header` dated `now` (UTC): the day and the second that name its documents.
fn dated(header: DocumentHeader, now: time::OffsetDateTime) -> Result<DocumentHeader> {
    Ok(DocumentHeader {
        backup_date: now.format(time::macros::format_description!("[year]-[month]-[day]"))?,
        backup_timestamp: now.format(time::macros::format_description!(
            "[year][month][day]_[hour][minute][second]"
        ))?,
        ..header
    })
}

/// The document named to a second after its header's, once that second has come: its header
/// re-rendered (a document starts with its header, as `collect` wrote it), its parameters as
/// they are.
async fn next_second(
    header: &DocumentHeader,
    document: &bytes::Bytes,
) -> Result<(DocumentHeader, bytes::Bytes)> {
    let head = collect::document_head(header)?;
    let parameters = document
        .strip_prefix(head.as_bytes())
        .context("renaming the document: it does not start with its header")?;
    let renamed = loop {
        let now = time::OffsetDateTime::now_utc();
        let renamed = dated(header.clone(), now)?;
        if renamed.backup_timestamp != header.backup_timestamp {
            break renamed;
        }
        let rest = 1_000_000_000 - u64::from(now.nanosecond());
        tokio::time::sleep(Duration::from_nanos(rest)).await;
    };
    let mut bytes = collect::document_head(&renamed)?.into_bytes();
    bytes.extend_from_slice(parameters);
    Ok((renamed, bytes.into()))
}

/// Initialize: the region list, the default region, the legacy key and the copies, from the
/// home region in one request (with the home region's bucket, which the legacy key names when
/// the home region is the default one). Only a missing or unreadable region list stops the
/// run; the rest are warnings.
async fn read_metadata(aws: &Aws, options: &BackupOptions) -> Result<Metadata> {
    let env = &options.environment;
    let home = &options.ssm_home_region;
    let [list_name, default_name, legacy_name] = metadata_parameters(env);
    let names = [
        list_name,
        default_name,
        legacy_name,
        copies_parameter(env),
        region_bucket_parameter(env, home),
    ];
    let list_name = &names[0];
    let [region_list, default_region, legacy, copies, home_bucket] = read_values(aws, home, &names)
        .await?
        .try_into()
        .map_err(|_| anyhow::anyhow!("reading the metadata of `{env}` in {home}"))?;
    let region_list = region_list.with_context(|| {
        format!("Region list parameter {list_name} is missing (in {home}): run `ssm-keeper apply` for this stack")
    })?;
    let regions = parse_region_list(&region_list)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("reading the region list parameter {list_name} in {home}"))?;
    if regions.is_empty() {
        bail!("No regions configured: the region list parameter {list_name} is empty");
    }
    let mut warnings = Vec::new();
    let default_region = default_region_of(
        aws,
        options,
        default_region,
        (legacy, home_bucket),
        &mut warnings,
    )
    .await?;
    Ok(Metadata {
        regions,
        copies: copies_of(copies, &names[3], home)?,
        default_region,
        warnings,
    })
}

/// The default region its parameter names, if it names one (else a warning); a warning too
/// when the legacy key does not name the default region's bucket (`home_bucket`: the home
/// region's, read already).
async fn default_region_of(
    aws: &Aws,
    options: &BackupOptions,
    value: Option<String>,
    (legacy, home_bucket): (Option<String>, Option<String>),
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    let (env, home) = (&options.environment, &options.ssm_home_region);
    let [_, name, legacy_name] = metadata_parameters(env);
    let default = match value {
        None => {
            warnings.push(format!(
                "the default region parameter {name} is missing: {DEFAULT_POINTER_KEY} is not written"
            ));
            return Ok(None);
        }
        Some(value) if check_region(&value).is_err() => {
            warnings.push(format!(
                "the default region parameter {name} holds `{value}`, which is not a region name: {DEFAULT_POINTER_KEY} is not written; run `ssm-keeper apply`"
            ));
            return Ok(None);
        }
        Some(default) => default,
    };
    let default_bucket = if default == *home {
        home_bucket
    } else {
        read_values(aws, &default, &[region_bucket_parameter(env, &default)])
            .await?
            .remove(0)
    };
    if legacy != default_bucket {
        warnings.push(format!(
            "the legacy parameter {legacy_name} holds {} but the bucket of the default region {default} is {}: old readers use the wrong bucket; run `ssm-keeper apply`",
            legacy.as_deref().unwrap_or("nothing"),
            default_bucket.as_deref().unwrap_or("not defined"),
        ));
    }
    Ok(Some(default))
}

/// The stack's `copies`, as apply wrote them in the parameter `name` (none when it is absent).
fn copies_of(
    text: Option<String>,
    name: &str,
    home: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    match text {
        None => Ok(Default::default()),
        Some(text) => parse_copies(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("reading the copies parameter {name} in {home}: run `ssm-keeper apply` to write it again")),
    }
}

/// One region of a run: stage (bucket, collect, upload) under the time limit and the interrupt,
/// then the pointers, which an interrupt no longer stops once the object is stored.
struct RegionRun<'a> {
    aws: &'a Aws,
    options: &'a BackupOptions,
    header: &'a DocumentHeader,
    is_default: bool,
    /// The region whose bucket gets a copy of this region's backup, if any.
    copy_to: Option<&'a str>,
    /// The last region of the list: its pointer moves are the run's last writes.
    last: bool,
    limit: Duration,
    overall: Duration,
    /// Checked before each write: a run that lost its lock writes nothing more.
    lock: &'a LockGate,
    /// A region's lines are kept going whatever stderr does: the printer keeps a failed write.
    printer: &'a Printer,
}

impl RegionRun<'_> {
    fn say(&self, line: &str) {
        self.printer.keep(self.printer.status(line));
    }

    async fn run(&self, interrupt: &Interrupt, listing: Listing) -> RegionSummary {
        let region = &self.header.region;
        self.say(&format!("==> Backup {region}"));
        let started = Instant::now();
        let staged = tokio::select! {
            staged = tokio::time::timeout(self.limit, self.stage(listing)) => staged,
            _ = interrupt.wait() => {
                self.say(&format!("ERROR: {region}: {INTERRUPTED}; its pointer was not moved"));
                return RegionSummary::failed(INTERRUPTED.into(), started.elapsed().as_secs_f64());
            }
        };
        let left = self.limit.saturating_sub(started.elapsed());
        let outcome = match staged {
            Ok(Ok(staged)) => tokio::time::timeout(left, self.point(&staged))
                .await
                .map(|pointed| pointed.map(|()| staged)),
            Ok(Err(e)) => Ok(Err(e)),
            Err(elapsed) => Err(elapsed),
        };
        let duration_sec = started.elapsed().as_secs_f64();
        let outcome = match outcome {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!(timeout_message(
                region,
                (self.limit < self.options.region_timeout).then_some(self.overall),
                self.options.region_timeout,
            ))),
        };
        match outcome {
            Ok(done) => self.succeeded(done, duration_sec),
            Err(e) => {
                let message = format!("{e:#}");
                self.say(&format!("ERROR: {region}: {message}"));
                RegionSummary::failed(message, duration_sec)
            }
        }
    }

    fn succeeded(&self, done: Staged, duration_sec: f64) -> RegionSummary {
        let region = &self.header.region;
        let warnings: Vec<String> = done
            .vanished
            .iter()
            .map(|name| {
                format!(
                    "parameter {name} in {region} was deleted between listing and fetching; it is not in the backup"
                )
            })
            .chain(done.tags_missing.clone())
            .collect();
        for w in &warnings {
            self.printer.keep(self.printer.warn(w));
        }
        self.say(&format!(
            "    {region}: {} parameters in {duration_sec:.1}s",
            done.count
        ));
        RegionSummary {
            status: if self.options.dry_run {
                RegionStatus::DryRun
            } else {
                RegionStatus::Success
            },
            parameter_count: done.count,
            artifact_path: done
                .stored
                .map(|(bucket, key)| format!("s3://{bucket}/{key}")),
            failure_message: None,
            duration_sec,
            warnings,
        }
    }

    /// The bucket the stack names, the document collected in memory and, unless a dry run,
    /// stored.
    async fn stage(&self, listing: Listing) -> Result<Staged> {
        let (aws, options, header) = (self.aws, self.options, self.header);
        let region = &header.region;
        // Staged in memory only: no file, named or not, ever holds the decrypted values, so a
        // killed run leaves no plaintext behind.
        let bar = self.printer.spinner(format!("{region}: collecting"));
        let mut document = Vec::new();
        let on_progress = |n: u64| bar.set_position(n);
        // The listing starts at once; no value is read before the destination is checked (a
        // bucket set up wrongly fails before any secret is read) and the lock is held.
        // The destination's reads go out beside the check of the bucket's parameter, on the
        // one bucket the stack computes; the check decides, and its error comes first.
        let checks = async {
            let (bucket, destinations) = if options.dry_run {
                (self.bucket().await?, None)
            } else {
                let computed = copy::computed_bucket(header, &options.project_name, region);
                // A failed check ends the region at once, whatever the reads are waiting for.
                let (bucket, destinations) = tokio::try_join!(self.bucket(), async {
                    Ok(self.destinations(&computed).await)
                })?;
                (bucket, Some(destinations?))
            };
            self.lock.check().await?;
            Ok((bucket, destinations))
        };
        let (collected, (bucket, destinations)) =
            collect(aws, header, listing, &mut document, &on_progress, checks).await?;
        bar.finish_and_clear();

        let Some((pointers, encryption, copy_target)) = destinations else {
            self.say(&format!("[DRY RUN] Skipped upload for {region}"));
            return Ok(Staged::of(collected, Vec::new()));
        };
        let mut staged = Staged::of(collected, pointers);
        self.lock.check().await?;
        let (key, document, stamp) = self
            .store(&bucket, document.into(), &staged.names, &encryption)
            .await?;
        staged.stored = Some((bucket, key));
        // The copy gets the same bytes: shared, not copied.
        staged.copy = copy_target.map(|target| PendingCopy {
            target,
            bytes: document,
            stamp,
        });
        Ok(staged)
    }

    /// Stores the document under its header's key with its stamp (what verify reads instead
    /// of the document: its role may not read documents); the key, the bytes stored and the
    /// stamp. When a different backup holds that key (a run of the same second just before this
    /// one), the document is named to the next second instead: a re-run never waits for the
    /// clock.
    async fn store(
        &self,
        bucket: &str,
        document: bytes::Bytes,
        names: &[String],
        encryption: &DocumentEncryption,
    ) -> Result<(String, bytes::Bytes, Stamp)> {
        let region = &self.header.region;
        let put = |header: DocumentHeader, document: bytes::Bytes| async move {
            let key = document_key(
                &header.backup_date,
                region,
                &header.environment,
                &header.backup_timestamp,
            );
            let stamp = Stamp::of(
                &header,
                names,
                crate::shell::store::sha256_base64(&document),
            );
            put_document(
                self.aws,
                region,
                bucket,
                &key,
                document.clone(),
                &stamp,
                encryption,
            )
            .await
            .map(|()| (key, document, stamp))
        };
        match put(self.header.clone(), document.clone()).await {
            Err(e) if e.downcast_ref::<KeyTaken>().is_some() => {
                self.say(&format!(
                    "    {region}: another backup of {} is stored under its key; this one is named to the next second",
                    self.header.backup_timestamp
                ));
                let (header, document) = next_second(self.header, &document).await?;
                put(header, document).await
            }
            stored => stored,
        }
    }

    /// Before any value is read: the pointers as they are (the run moves them only from
    /// these versions), how the bucket encrypts documents (a bucket set up wrongly fails before
    /// any secret is read), and where the copy goes. A copy that cannot be prepared (its region
    /// down) does not stop the primary: the region fails once the primary is stored and pointed
    /// to.
    async fn destinations(
        &self,
        bucket: &str,
    ) -> Result<(
        Vec<PointerVersion>,
        DocumentEncryption,
        Option<Result<copy::CopyTarget>>,
    )> {
        let (aws, header) = (self.aws, self.header);
        let region = &header.region;
        let keys = pointer_keys(region, self.is_default);
        let copy_target = async {
            match self.copy_to {
                Some(to) => Some(copy::prepare(aws, header, &self.options.project_name, to).await),
                None => None,
            }
        };
        let (pointers, encryption, copy_target) = tokio::join!(
            pointer_versions(aws, region, bucket, &keys),
            document_encryption(aws, region, bucket),
            copy_target
        );
        Ok((pointers?, encryption?, copy_target))
    }

    /// The region's bucket from its parameter, only if it is the one the stack computes.
    async fn bucket(&self) -> Result<String> {
        let header = self.header;
        copy::stack_bucket(self.aws, header, &self.options.project_name, &header.region).await
    }

    /// Moves the pointers to the stored object (nothing to do in a dry run); the last region's
    /// are the run's last writes, and the lock is read beside them, so that its release is the
    /// delete alone.
    async fn point(&self, staged: &Staged) -> Result<()> {
        if self.last {
            self.lock.confirm_beside(self.move_pointers(staged)).await
        } else {
            self.move_pointers(staged).await
        }
    }

    /// The pointers moved to the stored object, then the copy written.
    async fn move_pointers(&self, staged: &Staged) -> Result<()> {
        let Some((bucket, key)) = &staged.stored else {
            return Ok(());
        };
        let region = &self.header.region;
        self.lock.check().await?;
        write_pointers(self.aws, region, bucket, &staged.pointers, key).await?;
        // Then the copy: its failure fails the region, the primary stays stored and pointed to.
        let Some(PendingCopy {
            target,
            bytes,
            stamp,
        }) = &staged.copy
        else {
            return Ok(());
        };
        let stored = format!("the backup s3://{bucket}/{key} is stored and its pointers moved");
        let target = match target {
            Ok(target) => target,
            Err(e) => bail!("{e:#} ({stored}; no copy was written)"),
        };
        self.lock.check().await?;
        copy::write(self.aws, target, key, bytes.clone(), stamp)
            .await
            .with_context(|| {
                format!(
                    "copying the backup to {}'s bucket {} ({stored})",
                    target.region, target.bucket
                )
            })?;
        self.say(&format!(
            "    {region}: copied to s3://{}/{}",
            target.bucket,
            crate::core::store::copy_document_key(key)
        ));
        Ok(())
    }
}

/// A region's document, collected and (unless a dry run) stored as (bucket, key).
struct Staged {
    count: u64,
    /// The names in the document, for its stamp.
    names: Vec<String>,
    stored: Option<(String, String)>,
    /// The pointers to move, as they were before the run.
    pointers: Vec<PointerVersion>,
    vanished: Vec<String>,
    tags_missing: Option<String>,
    /// The copy still to write, once the primary's pointers moved.
    copy: Option<PendingCopy>,
}

impl Staged {
    /// What was collected, not stored yet; `pointers` to move once it is.
    fn of(collected: collect::Collected, pointers: Vec<PointerVersion>) -> Self {
        Staged {
            count: collected.count,
            names: collected.names,
            stored: None,
            pointers,
            vanished: collected.vanished,
            tags_missing: collected.tags_missing,
            copy: None,
        }
    }
}

/// A region's copy: where, the document's bytes and its stamp.
struct PendingCopy {
    /// Where it goes, or why that could not be found out.
    target: Result<copy::CopyTarget>,
    bytes: bytes::Bytes,
    stamp: Stamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_document_named_to_the_next_second_keeps_its_parameters() {
        let header = DocumentHeader {
            format_version: BACKUP_FORMAT_VERSION,
            tool_version: "0.1.0".into(),
            backup_date: "2026-11-29".into(),
            backup_timestamp: "20261129_232141".into(),
            environment: "dev".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        };
        let head = collect::document_head(&header).unwrap();
        let parameters = r#"{"Name":"/app/dev/a","Type":"String","Value":"v","Version":1}],"parameter_count":1}"#;
        let document = bytes::Bytes::from(format!("{head}{parameters}"));
        let (renamed, bytes) = next_second(&header, &document).await.unwrap();
        assert_ne!(renamed.backup_timestamp, header.backup_timestamp);
        assert_eq!(
            (renamed.environment.as_str(), renamed.region.as_str()),
            ("dev", "us-east-1")
        );
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.ends_with(parameters), "{text}");
        let read = crate::core::document::read_document(&bytes).unwrap();
        assert_eq!(
            read.backup_timestamp,
            Some(renamed.backup_timestamp.clone())
        );
        assert_eq!(read.parameters.len(), 1);
        assert!(
            next_second(&renamed, &document).await.is_err(),
            "a document that does not start with the header is refused"
        );
    }
}
