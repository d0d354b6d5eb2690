//! The per-environment lock in AWS itself: an SSM parameter in the stack's home region,
//! created only if absent (PutParameter without Overwrite is atomic), renewed while the command
//! runs, removed when it ends (`Guard`, the one way a writing command holds it). A killed run's
//! lock expires and is taken over.

use anyhow::{Context, Result, bail};
use aws_sdk_ssm::types::ParameterType;
use futures::future::Either;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use super::aws::Aws;
use super::interrupt::{Interrupt, Signal};
use super::printer::Printer;
use super::ssm::delete_parameter;
use crate::core::lock::{
    LOCK_RENEW_EVERY, LOCK_TTL, LockInfo, TAKEOVER_TTL, lock_parameter, parse_lock,
    takeover_parameter,
};

/// How often a waiting command looks at the lock again.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// What a writing command asks for: the lock of `environment`, kept in `region`, for
/// `command`, waiting up to `wait` for another holder to let go.
pub struct LockRequest<'a> {
    pub region: &'a str,
    pub environment: &'a str,
    pub command: &'a str,
    pub wait: Duration,
}

/// What came first while waiting for the lock.
pub enum Locked {
    Held(Guard),
    Interrupted(Signal),
}

/// The environment's lock for one writing command, from acquire to release: renewed in the
/// background while held, its loss seen through `watch`, released by `hold` whatever the
/// command's outcome. Dropped without (a panic), its renewal ends and AWS expires it. A run
/// that writes nothing (a dry run, a preview) holds `Guard::none()`.
pub struct Guard {
    held: Option<Box<HeldLock>>,
    watch: LockWatch,
}

impl Guard {
    /// Takes the lock, unless a signal comes first.
    pub async fn acquire(
        aws: &Aws,
        request: &LockRequest<'_>,
        interrupt: &Interrupt,
        printer: &Printer,
    ) -> Result<Locked> {
        tokio::select! {
            held = take(aws, request, printer) => {
                let held = held?;
                Ok(Locked::Held(Guard { watch: held.watch.clone(), held: Some(Box::new(held)) }))
            }
            signal = interrupt.wait() => Ok(Locked::Interrupted(signal)),
        }
    }

    /// No lock: for a run that writes nothing.
    pub fn none() -> Self {
        Guard {
            held: None,
            watch: LockWatch::none(),
        }
    }

    /// What the writing steps check before each write.
    pub fn watch(&self) -> LockWatch {
        self.watch.clone()
    }

    /// Runs `body` (which writes only while `watch` says the lock is held), then releases the
    /// lock whatever `body`'s outcome. A lock that cannot be released expires by itself: a
    /// warning says so, and `body`'s error, if any, is the one returned.
    pub async fn hold<T>(self, body: impl Future<Output = Result<T>>) -> Result<T> {
        let result = body.await;
        let printer = self.held.as_ref().map(|held| held.printer.clone());
        let released = self.release().finish().await;
        match (result, printer) {
            (Ok(value), _) => released.map(|()| value),
            (Err(e), Some(printer)) => {
                printer.keep(released);
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// What releases the lock: for a caller that does more after the writes (that need no
    /// lock) while the lock is released.
    pub fn release(self) -> Release {
        Release(self.held)
    }

    /// Runs `body` while the lock is taken, instead of after: `body` starts at once and may
    /// read; it waits on its `LockGate` before every write (and before reading secret values).
    /// When another run held the lock first, what `body` read may predate that run's writes:
    /// it is dropped unfinished and run again once the lock is ours. `body`, ended (or failed)
    /// before the lock was held, wrote nothing: the lock's error, if taking it failed, is the
    /// one returned. Done, the lock is still held: the caller releases it.
    pub async fn run_while_taking<T, F, Fut>(
        aws: &Aws,
        request: &LockRequest<'_>,
        (interrupt, printer): (&Interrupt, &Printer),
        body: F,
    ) -> Result<Ran<T>>
    where
        F: Fn(LockGate) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let (opener, gate) = LockGate::pending();
        // Boxed, so that dropping it below ends it (and what it started, its listings' tasks),
        // not only a reference to it.
        let first = Box::pin(body(gate));
        let acquire = std::pin::pin!(Guard::acquire(aws, request, interrupt, printer));
        let (locked, first) = match futures::future::select(acquire, first).await {
            Either::Left((locked, first)) => (locked?, Either::Left(first)),
            Either::Right((ended, acquire)) => (acquire.await?, Either::Right(async { ended })),
        };
        let guard = match locked {
            Locked::Held(guard) => guard,
            Locked::Interrupted(signal) => return Ok(Ran::Interrupted(signal)),
        };
        let result = if guard.held.as_ref().is_some_and(|held| held.contended) {
            drop(first);
            // Kept rather than returned: the lock is held, and released only through `Ran`.
            printer.keep(printer.status(
                "The lock is ours now: reading again, since what was read while another run held it may predate that run's writes.",
            ));
            body(LockGate::open(guard.watch())).await
        } else {
            opener.0.send_replace(Some(guard.watch()));
            first.await
        };
        Ok(Ran::Done(result, guard.release()))
    }
}

/// How `Guard::run_while_taking` ended.
pub enum Ran<T> {
    /// `body`'s outcome, and the lock to release.
    Done(Result<T>, Release),
    /// A signal came before the lock was held: nothing was written.
    Interrupted(Signal),
}

/// The lock's release, still to do (nothing for a run without a lock). Dropped instead, the
/// lock stops being renewed and expires by itself.
pub struct Release(Option<Box<HeldLock>>);

impl Release {
    /// Releases the lock. One that cannot be released expires by itself: a warning says so
    /// (an error only when the warning cannot be written).
    pub async fn finish(self) -> Result<()> {
        let Some(held) = self.0 else {
            return Ok(());
        };
        let printer = held.printer.clone();
        match held.release().await {
            Ok(()) => Ok(()),
            Err(e) => printer.warn(&format!(
                "the lock was not released (it expires by itself): {e:#}"
            )),
        }
    }
}

/// The lock as a run that starts before it holds it sees it: `check` waits until the lock is
/// held, then says whether it still is. Every write, and every read of a secret value, waits on
/// it.
#[derive(Debug, Clone)]
pub struct LockGate(tokio::sync::watch::Receiver<Option<LockWatch>>);

/// Opens a pending `LockGate` once the lock is held.
struct GateOpener(tokio::sync::watch::Sender<Option<LockWatch>>);

impl LockGate {
    /// Open from the start: the lock is held already, or none is needed (`LockWatch::none()`).
    pub fn open(watch: LockWatch) -> Self {
        LockGate(tokio::sync::watch::Sender::new(Some(watch)).subscribe())
    }

    fn pending() -> (GateOpener, Self) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        (GateOpener(tx), LockGate(rx))
    }

    /// Waits until the lock is held; an error when it is lost, or was never taken.
    pub async fn check(&self) -> Result<()> {
        let mut rx = self.0.clone();
        let held = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|w| w.clone());
        match held {
            Some(watch) => watch.check(),
            None => bail!("the run's lock was never taken: it writes nothing"),
        }
    }

    /// Whether the run stops before its next write: a signal received, or the lock lost.
    pub fn halt(&self, interrupt: &Interrupt) -> Option<Halt> {
        self.current().halt(interrupt)
    }

    /// `writes`, the run's last, with the lock's read beside them (`LockWatch::confirm_beside`).
    pub async fn confirm_beside<T>(&self, writes: impl Future<Output = T>) -> T {
        self.current().confirm_beside(writes).await
    }

    /// The lock's watch as it is now (a never-lost one while the lock is not held yet).
    fn current(&self) -> LockWatch {
        self.0.borrow().clone().unwrap_or_default()
    }
}

/// Why a writing run stops before its next write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    Interrupted(Signal),
    /// Why the lock was lost.
    LockLost(String),
}

/// A lock this process holds, renewed until it is released or dropped.
struct HeldLock {
    /// Another run held the lock (or its expired lock was there) when this one first tried.
    contended: bool,
    aws: Aws,
    region: String,
    name: String,
    info: LockInfo,
    /// Stopped when the lock is dropped without `release` (an early return, a panic).
    renewal: tokio_util::task::AbortOnDropHandle<()>,
    watch: LockWatch,
    printer: Printer,
}

/// Whether the run still holds its lock. A renewal that fails (AWS unreachable, the lock gone or
/// taken over) marks it lost, and so does time: once no renewal succeeded for nearly the lock's
/// lifetime (a renewal stuck in retries, a suspended machine), AWS may have expired it. Every
/// writing step checks before it writes: another run may hold the lock by then.
#[derive(Debug, Clone, Default)]
pub struct LockWatch {
    lost: Arc<OnceLock<String>>,
    /// When the lock was last known held, and its name, for the deadline; `None` without a lock.
    held: Option<Arc<std::sync::Mutex<(Instant, String)>>>,
    /// What reads the lock beside a run's last writes; `None` without a lock.
    confirmer: Option<Arc<Confirmer>>,
}

/// The read that makes sure the lock is still this run's before it is deleted, made beside the
/// run's last writes instead of after them: the release is then the delete alone.
struct Confirmer {
    aws: Aws,
    region: String,
    name: String,
    id: String,
    /// When the last read that found the lock this run's was sent.
    confirmed: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Confirmer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmer")
            .field("region", &self.region)
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}

/// How long a read beside the last writes stands for the release's read: the time between that
/// read and the delete, which the read-then-delete of the release keeps to one round trip, stays
/// within a few.
const CONFIRMED_FOR: Duration = Duration::from_secs(5);

/// How long before AWS could expire the lock a run stops trusting it.
const DEADLINE_MARGIN: Duration = Duration::from_secs(60);

impl LockWatch {
    /// For a run that writes without a lock (a dry run writes nothing): never lost.
    pub fn none() -> Self {
        LockWatch::default()
    }

    fn held(name: &str) -> Self {
        LockWatch {
            lost: Arc::default(),
            held: Some(Arc::new(std::sync::Mutex::new((
                Instant::now(),
                name.to_string(),
            )))),
            confirmer: None,
        }
    }

    /// Runs `writes`, the run's last, with the read that makes sure the lock is still this
    /// run's beside them (see `Confirmer`); without a lock, `writes` alone.
    pub async fn confirm_beside<T>(&self, writes: impl Future<Output = T>) -> T {
        let Some(confirmer) = &self.confirmer else {
            return writes.await;
        };
        let sent = Instant::now();
        let (aws, region, name) = (&confirmer.aws, &confirmer.region, &confirmer.name);
        let (written, ours) = tokio::join!(writes, still_ours(aws, region, name, &confirmer.id));
        if let Ok(true) = ours
            && let Ok(mut confirmed) = confirmer.confirmed.lock()
        {
            *confirmed = Some(sent);
        }
        written
    }

    /// Whether a read beside the last writes found the lock this run's, recently enough for
    /// the release to delete it without reading it again (and it was not lost since).
    fn confirmed(&self) -> bool {
        let fresh = self.confirmer.as_ref().is_some_and(|c| {
            c.confirmed
                .lock()
                .ok()
                .and_then(|at| *at)
                .is_some_and(|at| at.elapsed() < CONFIRMED_FOR)
        });
        fresh && self.lost().is_none()
    }

    /// Why the lock is lost, if it is.
    pub fn lost(&self) -> Option<String> {
        if let Some(why) = self.lost.get() {
            return Some(why.clone());
        }
        let (since, name) = self.held.as_ref()?.lock().ok()?.clone();
        (since.elapsed() + DEADLINE_MARGIN >= LOCK_TTL).then(|| {
            format!(
                "this run could not renew its lock {name} for {} (it lasts {} unrenewed): it stops before its next write, since another run may hold the lock now; run it again once the lock is free.",
                humantime::format_duration(Duration::from_secs(since.elapsed().as_secs())),
                humantime::format_duration(LOCK_TTL)
            )
        })
    }

    /// Whether the run stops before its next write: a signal received, or the lock lost (the
    /// signal first, when both).
    pub fn halt(&self, interrupt: &Interrupt) -> Option<Halt> {
        match interrupt.received() {
            Some(signal) => Some(Halt::Interrupted(signal)),
            None => self.lost().map(Halt::LockLost),
        }
    }

    /// An error when the lock was lost: the run must not write again.
    pub fn check(&self) -> Result<()> {
        match self.lost() {
            Some(why) => bail!("{why}"),
            None => Ok(()),
        }
    }

    /// The lock was just renewed (AWS has it as ours, freshly written).
    fn renewed(&self) {
        if let Some(held) = &self.held
            && let Ok(mut held) = held.lock()
        {
            held.0 = Instant::now();
        }
    }

    /// Marks the lock lost, with a warning the first time (from the renewal task, which has
    /// nobody to return a failed write to: the printer keeps it).
    fn mark_lost(&self, why: String, printer: &Printer) {
        if self.lost.set(why.clone()).is_ok() {
            printer.keep(printer.warn(&why));
        }
    }
}

/// How often a held lock is renewed: `LOCK_RENEW_EVERY`, or the hidden `--lock-renew-every`
/// (tests make it short).
static RENEW_EVERY: OnceLock<Duration> = OnceLock::new();

/// Sets the renewal period of the locks this process takes (once, before the first).
pub fn set_renew_every(every: Duration) {
    let _ = RENEW_EVERY.set(every);
}

fn renew_every() -> Duration {
    RENEW_EVERY.get().copied().unwrap_or(LOCK_RENEW_EVERY)
}

/// Takes the lock, waiting up to `request.wait` for another holder to let go.
async fn take(aws: &Aws, request: &LockRequest<'_>, printer: &Printer) -> Result<HeldLock> {
    let (region, wait) = (request.region, request.wait);
    let name = lock_parameter(request.environment);
    let who = aws.identity(region).await?.arn.clone();
    let deadline = Instant::now() + wait;
    let (mut told, mut contended) = (false, false);
    loop {
        let now = OffsetDateTime::now_utc();
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            who: who.clone(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            command: request.command.to_string(),
            created: now,
            expires: now + LOCK_TTL,
        };
        let holder = if put(aws, region, &name, &info, false).await? {
            Seen::Ours
        } else {
            look(aws, request, &name, &info, printer).await?
        };
        let holder = match holder {
            Seen::Ours => {
                let mut held = HeldLock::start(aws, region, name, info, printer);
                held.contended = contended;
                return Ok(held);
            }
            Seen::Gone => {
                contended = true;
                continue;
            }
            Seen::Held(holder) => holder,
        };
        contended = true;
        if Instant::now() >= deadline {
            if wait.is_zero() {
                bail!("{holder}");
            }
            bail!(
                "gave up waiting for the lock after {}: {holder}",
                humantime::format_duration(wait)
            );
        }
        if !told {
            printer.status(&format!("Waiting for the lock: {holder}"))?;
            told = true;
        }
        tokio::time::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())))
            .await;
    }
}

/// The lock as found after creating it failed.
enum Seen {
    /// Our own create, retried by the SDK after its answer was lost.
    Ours,
    /// Released or taken over in between: try again at once.
    Gone,
    /// Another run's, as the operator is told.
    Held(String),
}

/// Looks at the lock `name` that creating `info` found there; an expired one is taken over.
async fn look(
    aws: &Aws,
    request: &LockRequest<'_>,
    name: &str,
    info: &LockInfo,
    printer: &Printer,
) -> Result<Seen> {
    let (region, environment) = (request.region, request.environment);
    let Some(seen) = read(aws, region, name).await? else {
        return Ok(Seen::Gone);
    };
    let holder = match seen.lock(LOCK_TTL) {
        Ok(held) if held.id == info.id => return Ok(Seen::Ours),
        Ok(held) if held.is_expired(seen.aws_now) => {
            if take_over(aws, region, environment, &held, &seen.value, info).await? {
                printer.status(&format!(
                    "The lock {} of `{environment}` expired at {} (its run is gone): taken over.",
                    held.id, held.expires
                ))?;
                return Ok(Seen::Gone);
            }
            format!(
                "the lock {} of `{environment}` expired and another run is taking it over",
                held.id
            )
        }
        Ok(held) => held.holder(environment),
        Err(why) => format!(
            "the `{environment}` environment is locked ({name} in {region}), but {why}: if no ssm-keeper run holds it, delete that parameter"
        ),
    };
    Ok(Seen::Held(holder))
}

impl HeldLock {
    /// The lock just taken, renewed from now on.
    fn start(aws: &Aws, region: &str, name: String, info: LockInfo, printer: &Printer) -> Self {
        let watch = LockWatch {
            confirmer: Some(Arc::new(Confirmer {
                aws: aws.clone(),
                region: region.to_string(),
                name: name.clone(),
                id: info.id.clone(),
                confirmed: std::sync::Mutex::new(None),
            })),
            ..LockWatch::held(&name)
        };
        let renewal = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(renew(
            aws.clone(),
            region.to_string(),
            name.clone(),
            info.clone(),
            watch.clone(),
            printer.clone(),
        )));
        HeldLock {
            contended: false,
            aws: aws.clone(),
            region: region.to_string(),
            name,
            info,
            renewal,
            watch,
            printer: printer.clone(),
        }
    }

    /// Removes the lock, if it is still this process's: as a read beside the run's last writes
    /// found it, or else a read now.
    async fn release(self) -> Result<()> {
        self.renewal.abort();
        let (aws, region, name) = (&self.aws, &self.region, &self.name);
        if !self.watch.confirmed() && !still_ours(aws, region, name, &self.info.id).await? {
            return Ok(());
        }
        delete(aws, region, name).await
    }
}

/// The lock of `environment` with the ID `id`, as AWS holds it (its expiry by AWS's clock), to
/// show before it is removed; an error when there is none or it has another ID.
pub async fn find_lock(aws: &Aws, region: &str, environment: &str, id: &str) -> Result<LockInfo> {
    let name = lock_parameter(environment);
    let seen = read(aws, region, &name).await?.with_context(|| {
        format!("the `{environment}` environment is not locked ({name} does not exist in {region})")
    })?;
    let held = seen.lock(LOCK_TTL).map_err(|why| {
        anyhow::anyhow!("{name} in {region}: {why}; delete that parameter by hand")
    })?;
    if held.id != id {
        bail!(
            "the lock of `{environment}` has ID {}, not {id}: nothing was removed ({})",
            held.id,
            held.holder(environment)
        );
    }
    Ok(held)
}

/// Removes the lock of `environment` if its ID is still `id`.
pub async fn force_unlock(aws: &Aws, region: &str, environment: &str, id: &str) -> Result<()> {
    find_lock(aws, region, environment, id).await?;
    delete(aws, region, &lock_parameter(environment)).await
}

/// Extends the lock every renewal period while it is still ours; when a renewal fails, or the
/// lock is gone or another run's, marks it lost and stops.
async fn renew(
    aws: Aws,
    region: String,
    name: String,
    info: LockInfo,
    watch: LockWatch,
    printer: Printer,
) {
    loop {
        tokio::time::sleep(renew_every()).await;
        let lost = match read(&aws, &region, &name).await {
            Ok(Some(seen)) if parse_lock(&seen.value).is_ok_and(|l| l.id == info.id) => {
                let renewed = info.renewed(OffsetDateTime::now_utc());
                match put(&aws, &region, &name, &renewed, true).await {
                    Ok(_) => {
                        watch.renewed();
                        continue;
                    }
                    Err(e) => format!("renewing it failed: {e:#}"),
                }
            }
            Ok(Some(_)) => "another run took it over".to_string(),
            Ok(None) => "it was removed".to_string(),
            Err(e) => format!("renewing it failed: {e:#}"),
        };
        watch.mark_lost(
            format!(
                "this run lost its lock {} ({name} in {region}): {lost}. It stops before its next write, since another run may hold the lock now; run it again once the lock is free.",
                info.id
            ),
            &printer,
        );
        return;
    }
}

/// Writes the lock; without `overwrite`, `false` when it already exists.
async fn put(
    aws: &Aws,
    region: &str,
    name: &str,
    info: &LockInfo,
    overwrite: bool,
) -> Result<bool> {
    let value = serde_json::to_string(info)?;
    match aws
        .ssm(region)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .description("ssm-keeper: the environment's lock (apply, backup)")
        .overwrite(overwrite)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            Ok(false)
        }
        Err(e) => Err(anyhow::Error::new(e)
            .context(format!("taking the lock {name} in {region} (PutParameter)"))),
    }
}

/// A lock (or claim) parameter as read: its value, when AWS last wrote it, and AWS's clock at
/// the read (the answer's `Date`), so that expiry never depends on the reader's or the
/// holder's clock.
struct LockRead {
    value: String,
    modified: OffsetDateTime,
    aws_now: OffsetDateTime,
}

impl LockRead {
    /// The lock it holds, its expiry judged by AWS: `ttl` after AWS last wrote it.
    fn lock(&self, ttl: Duration) -> Result<LockInfo, String> {
        parse_lock(&self.value).map(|l| l.expiring_after(self.modified, ttl))
    }
}

/// Whether the lock `name` holds the lock `id` now (read): released or taken over, it does not.
async fn still_ours(aws: &Aws, region: &str, name: &str, id: &str) -> Result<bool> {
    let seen = read(aws, region, name).await?;
    Ok(seen.is_some_and(|seen| parse_lock(&seen.value).is_ok_and(|l| l.id == id)))
}

async fn read(aws: &Aws, region: &str, name: &str) -> Result<Option<LockRead>> {
    match aws.ssm(region).get_parameter().name(name).send().await {
        Ok(out) => {
            let aws_now = aws
                .calls()
                .server_now()
                .unwrap_or_else(OffsetDateTime::now_utc);
            Ok(out.parameter.and_then(|p| {
                let modified = p
                    .last_modified_date
                    .and_then(|d| OffsetDateTime::from_unix_timestamp_nanos(d.as_nanos()).ok())
                    .unwrap_or(aws_now);
                p.value.map(|value| LockRead {
                    value,
                    modified,
                    aws_now,
                })
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "reading the lock {name} in {region} (GetParameter)"
        ))),
    }
}

/// Deletes the expired lock `expired` (read as `seen`) under a claim that only one run can
/// create for it, so that of two runs which both found it expired, the second cannot delete the
/// lock the first then took. `false` when another run holds the claim. The claim goes once the
/// expired lock is gone: a late claim finds the lock changed (its ID never comes back) and
/// deletes nothing. A claim left by a run that died mid-takeover expires after `TAKEOVER_TTL`.
async fn take_over(
    aws: &Aws,
    region: &str,
    environment: &str,
    expired: &LockInfo,
    seen: &str,
    taker: &LockInfo,
) -> Result<bool> {
    let claim_name = takeover_parameter(environment, &expired.id);
    let claim = LockInfo {
        expires: taker.created + TAKEOVER_TTL,
        ..taker.clone()
    };
    if !put(aws, region, &claim_name, &claim, false).await? {
        let Some(seen) = read(aws, region, &claim_name).await? else {
            return Ok(false); // that claim just went: look at the lock again
        };
        match seen.lock(TAKEOVER_TTL) {
            // Our own claim, retried by the SDK after its answer was lost, is ours all the same.
            Ok(c) if c.id == claim.id => {}
            Ok(c) if c.is_expired(seen.aws_now) => {
                delete_if_unchanged(aws, region, &claim_name, &seen.value).await?;
                return Ok(false);
            }
            _ => return Ok(false),
        }
    }
    // Taken over only if the expired lock was still there to delete (else it changed: look again).
    let result = delete_if_unchanged(aws, region, &lock_parameter(environment), seen).await;
    delete(aws, region, &claim_name).await?;
    result
}

/// Deletes a parameter only if it still holds what was read; whether it did.
async fn delete_if_unchanged(aws: &Aws, region: &str, name: &str, seen: &str) -> Result<bool> {
    if read(aws, region, name)
        .await?
        .is_some_and(|r| r.value == seen)
    {
        delete(aws, region, name).await?;
        return Ok(true);
    }
    Ok(false)
}

async fn delete(aws: &Aws, region: &str, name: &str) -> Result<()> {
    delete_parameter(aws, region, name, "the lock").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_not_renewed_for_nearly_its_lifetime_is_lost() {
        let watch = LockWatch::held("/locks/ssm-keeper/dev");
        assert_eq!(watch.lost(), None);
        assert!(watch.check().is_ok());
        let Some(long_ago) = Instant::now().checked_sub(LOCK_TTL - DEADLINE_MARGIN) else {
            return; // the machine has not been up that long: nothing to go back to
        };
        watch.held.as_ref().unwrap().lock().unwrap().0 = long_ago;
        let why = watch.lost().expect("lost by the deadline");
        assert!(
            why.starts_with("this run could not renew its lock /locks/ssm-keeper/dev for 14m"),
            "{why}"
        );
        watch.renewed();
        assert_eq!(watch.lost(), None, "a renewal confirms it again");
        assert_eq!(LockWatch::none().lost(), None, "no lock, no deadline");
    }

    #[test]
    fn a_lost_lock_halts_the_run_with_one_warning_and_a_signal_comes_first() {
        let (printer, _, err) = Printer::buffered(crate::shell::printer::Input::None);
        let watch = LockWatch::held("/locks/ssm-keeper/dev");
        assert_eq!(watch.halt(&Interrupt::never()), None);
        watch.mark_lost("it was removed".into(), &printer);
        watch.mark_lost("renewing it failed".into(), &printer);
        assert_eq!(
            watch.halt(&Interrupt::never()),
            Some(Halt::LockLost("it was removed".into()))
        );
        assert_eq!(err.text(), "WARNING: it was removed\n");
        assert!(printer.finish().is_ok());
    }

    #[tokio::test]
    async fn without_a_lock_the_guard_runs_the_body_and_releases_nothing() {
        let guard = Guard::none();
        assert_eq!(guard.watch().lost(), None);
        assert_eq!(guard.hold(async { Ok(7) }).await.unwrap(), 7);
        let failed = Guard::none().hold(async { Err::<(), _>(anyhow::anyhow!("x")) });
        assert_eq!(failed.await.unwrap_err().to_string(), "x");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_dropped_lock_stops_being_renewed() {
        let aws = Aws::load(&crate::shell::aws::AwsOptions::default())
            .await
            .unwrap();
        let (printer, _, _) = Printer::buffered(crate::shell::printer::Input::None);
        let info = LockInfo {
            id: "id".into(),
            who: "arn:aws:iam::123456789012:user/me".into(),
            host: "h".into(),
            pid: 1,
            command: "apply".into(),
            created: time::OffsetDateTime::UNIX_EPOCH,
            expires: time::OffsetDateTime::UNIX_EPOCH,
        };
        let held = HeldLock::start(&aws, "us-east-1", "/locks/x".into(), info, &printer);
        // The renewal task holds the other reference to what the lock's watch shares.
        let shared = Arc::downgrade(&held.watch.lost);
        assert_eq!(shared.strong_count(), 2);
        drop(held);
        // Aborted, the task's future is dropped the next time this runtime's one thread runs
        // tasks; nothing is renewed (the first renewal is minutes away) and nothing waits.
        for _ in 0..10 {
            if shared.strong_count() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(shared.strong_count(), 0, "the renewal task is still alive");
    }
}
