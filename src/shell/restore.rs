//! Restore's I/O: find the backup document (checked as `verify` checks it), read the live
//! parameters it names, check the KMS keys exist where they will be used, write paced to
//! SSM's quotas (`Aws`'s lanes), read back. Values stay in memory and never reach an error message.

use anyhow::{Context, Result, bail};
use aws_sdk_ssm::types::{
    ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging,
};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

use super::aws::Aws;
use super::input::{Bounded, read_bounded};
use super::interrupt::Interrupt;
use super::lock::LockWatch;
use super::printer::Printer;
use super::resource::key::{Described, describe_any};
use super::store::{Place, find_newest, list_backups_in, object_facts, read_pointer};
use super::tags::{Tags, tags_of};
use crate::core::backup::Secret;
use crate::core::document::{BackupDocument, entry_problems, identity_problems, read_document};
use crate::core::drill::{drill_prefix, run_id};
use crate::core::resource::ParameterKind;
use crate::core::restore::{BackupSource, DEFAULT_KEY, DEFAULT_TIER, ParameterSpec, RestoreItem};
use crate::core::stack::Stack;
use crate::core::store::pointer_key;
use crate::core::verify::{future_found, object_failures};

/// Writes in flight at once; the pacing lanes, not this, bound the request rate.
const WRITES_IN_FLIGHT: usize = 4;
/// Batches of ten names read at once (two requests each: values and attributes).
pub const READS_IN_FLIGHT: usize = 4;

/// The chosen document of `region`'s backups kept at `place` (its own bucket, or its copy in
/// another region's), checked: where it came from and what it holds.
pub async fn locate(
    aws: &Aws,
    printer: &Printer,
    region: &str,
    place: &Place<'_>,
    stack: &Stack,
    from: &BackupSource,
    max_document_bytes: u64,
) -> Result<(String, BackupDocument)> {
    if let BackupSource::File(path) = from {
        return local_document(path, &stack.environment, region, max_document_bytes);
    }
    match locate_checked(aws, printer, region, place, stack, from, max_document_bytes).await? {
        Located::Checked(label, document) => Ok((label, document)),
        Located::Refused(label, failures) => bail!("{}", refusal(&label, &failures)),
    }
}

/// Why a backup that fails verification is not restored: the object and each failed check.
pub fn refusal(label: &str, failures: &[String]) -> String {
    format!(
        "refusing to restore from {label}: it fails verification, so nothing was written:\n{}",
        failures
            .iter()
            .map(|f| format!("  - {f}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// A backup in the bucket, found: checked, or refused with its failed checks (data, for the
/// drill, which reports a damaged backup as a finding rather than an error).
pub enum Located {
    Checked(String, BackupDocument),
    /// The object's label and each failed check (`check: what was found`).
    Refused(String, Vec<String>),
}

/// `from` (not a local file) found at `place` and checked as `verify --deep` checks it. An
/// error only when it cannot be found or read.
pub async fn locate_checked(
    aws: &Aws,
    printer: &Printer,
    region: &str,
    place: &Place<'_>,
    stack: &Stack,
    from: &BackupSource,
    max_document_bytes: u64,
) -> Result<Located> {
    let bucket = place.bucket;
    let environment = stack.environment.as_str();
    let key = match from {
        BackupSource::File(path) => bail!(
            "{} is a local file, not a backup in {bucket}",
            path.display()
        ),
        BackupSource::Latest => match newest(aws, printer, region, place, stack).await? {
            Ok(key) => key,
            Err(refused) => return Ok(refused),
        },
        BackupSource::Date(date) => newest_of_day(aws, region, place, environment, date).await?,
        BackupSource::Key(key) => key.clone(),
    };
    let label = format!("s3://{bucket}/{key}");
    let facts = object_facts(aws, place.region, bucket, &key, max_document_bytes)
        .await?
        .with_context(|| format!("{label} does not exist"))?;
    let failures = object_failures(&facts, environment, region, max_document_bytes);
    if !failures.is_empty() {
        let lines = failures
            .iter()
            .map(|f| format!("{}: {}", f.check.as_str(), f.found))
            .collect();
        return Ok(Located::Refused(label, lines));
    }
    let document = facts
        .content
        .with_context(|| format!("{label} was not read"))?
        .document;
    Ok(match document {
        Ok(document) => Located::Checked(label, document),
        Err(e) => Located::Refused(label, vec![format!("document: {e}")]),
    })
}

/// The newest backup of `region` at `place`, found from the bucket (as verify finds it), never
/// believed from the pointer: when the pointer names another, that is said. Refused when a
/// backup dated after today is there that the stack does not acknowledge (a misused backup
/// credential may have written it): the operator names one with `--from` instead.
async fn newest(
    aws: &Aws,
    printer: &Printer,
    region: &str,
    place: &Place<'_>,
    stack: &Stack,
) -> Result<Result<String, Located>> {
    let bucket = place.bucket;
    let pointer = format!("{}{}", place.under, pointer_key(region));
    let today = crate::core::newest::today(time::OffsetDateTime::now_utc());
    let (found, named) = tokio::try_join!(
        find_newest(
            aws,
            place,
            (region, &stack.environment),
            &today,
            &stack.acknowledged_future_backups
        ),
        read_pointer(aws, place.region, bucket, &pointer),
    )?;
    if !found.future.is_empty() {
        let future: Vec<String> = found
            .future
            .iter()
            .map(|k| format!("s3://{bucket}/{k}"))
            .collect();
        return Ok(Err(Located::Refused(
            format!("the newest backup of {region} in {bucket}"),
            vec![format!(
                "not-future: {}; restore one by name with --from KEY or --from YYYY-MM-DD",
                future_found(&future)
            )],
        )));
    }
    let key = found
        .newest
        .with_context(|| format!("there is no backup of {region} to restore in {bucket}"))?
        .key;
    if named.as_deref() != Some(key.as_str()) {
        printer.warn(&format!(
            "{pointer} in {bucket} names {}, but the newest backup there (the one S3 stored last) is {key}: restoring from the newest. Run `ssm-keeper verify`: a backup cut before its pointers, or a pointer moved back",
            named.as_deref().unwrap_or("nothing")
        ))?;
    }
    Ok(Ok(key))
}

fn local_document(
    path: &std::path::Path,
    environment: &str,
    region: &str,
    max_document_bytes: u64,
) -> Result<(String, BackupDocument)> {
    let label = path.display().to_string();
    let read = read_bounded(path, max_document_bytes)
        .with_context(|| format!("reading the backup {label}"))?;
    let bytes = match read {
        Bounded::Bytes(bytes) => bytes,
        Bounded::NotRegular(kind) => {
            bail!("refusing to restore from {label}: it is not a regular file ({kind})")
        }
        Bounded::TooLarge(size) => bail!(
            "refusing to restore from {label}: it is {size} bytes, more than --max-document-bytes ({max_document_bytes})"
        ),
    };
    let document = read_document(&bytes)
        .map_err(|e| anyhow::anyhow!("refusing to restore from {label}: {e}"))?;
    let mut problems = identity_problems(&document, environment, region);
    problems.extend(entry_problems(&document));
    if !problems.is_empty() {
        bail!("refusing to restore from {label}: {}", problems.join("; "));
    }
    Ok((label, document))
}

/// The newest backup of `region` written on `date`: this tool's key layout, or the old
/// script's (`{date}/ssm-backup-{env}-{timestamp}.json`).
async fn newest_of_day(
    aws: &Aws,
    region: &str,
    place: &Place<'_>,
    environment: &str,
    date: &str,
) -> Result<String> {
    let bucket = place.bucket;
    let backups = list_backups_in(aws, place, region, environment, Some(date)).await?;
    let mut newest: Option<(i64, String)> = None;
    for backup in backups {
        let Some(modified) = backup.last_modified else {
            continue;
        };
        if newest
            .as_ref()
            .is_none_or(|(t, k)| (modified, backup.key.as_str()) > (*t, k.as_str()))
        {
            newest = Some((modified, backup.key));
        }
    }
    newest.map(|(_, key)| key).with_context(|| {
        format!("there is no backup of {region} ({environment}) from {date} in {bucket}")
    })
}

/// The live parameters among `names` in `region`, every attribute read (values decrypted):
/// batches of ten, `READS_IN_FLIGHT` at once, every request paced.
pub async fn read_live(
    aws: &Aws,
    region: &str,
    names: &[&str],
) -> Result<BTreeMap<String, ParameterSpec>> {
    let ssm = aws.ssm(region);
    let batches: Vec<Vec<(String, ParameterSpec)>> = futures::stream::iter(
        names
            .chunks(10)
            .map(|chunk| read_batch(&ssm, region, chunk)),
    )
    .buffer_unordered(READS_IN_FLIGHT)
    .try_collect()
    .await?;
    let mut live: BTreeMap<String, ParameterSpec> = batches.into_iter().flatten().collect();
    // Tags: 100 names a request, and only of the parameters that exist.
    let existing: Vec<&str> = live.keys().map(String::as_str).collect();
    if !existing.is_empty() {
        let account = aws.account_id(region).await?;
        let tags = tags_of(aws, region, &account, &existing).await?;
        for (name, spec) in live.iter_mut() {
            spec.tags = tags.of(name);
        }
    }
    Ok(live)
}

async fn read_batch(
    ssm: &aws_sdk_ssm::Client,
    region: &str,
    names: &[&str],
) -> Result<Vec<(String, ParameterSpec)>> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let (values, mut metadata) = read_values_and_metadata(ssm, region, names).await?;
    Ok(values
        .into_iter()
        .filter_map(|p| {
            let name = p.name.clone()?;
            let meta = metadata.remove(&name);
            Some((name, live_spec(p, meta)))
        })
        .collect())
}

/// The values (decrypted) of `names`, and their attributes by name: the two requests run
/// together.
async fn read_values_and_metadata(
    ssm: &aws_sdk_ssm::Client,
    region: &str,
    names: Vec<String>,
) -> Result<(
    Vec<aws_sdk_ssm::types::Parameter>,
    BTreeMap<String, ParameterMetadata>,
)> {
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .set_values(Some(names.clone()))
        .build()
        .context("building the DescribeParameters filter")?;
    let (values, described) = tokio::try_join!(
        async {
            ssm.get_parameters()
                .set_names(Some(names.clone()))
                .with_decryption(true)
                .send()
                .await
                .with_context(|| {
                    format!(
                        "reading {} parameters in {region} (GetParameters)",
                        names.len()
                    )
                })
        },
        async {
            // Every page, empty ones included: AWS may answer a filter in several.
            ssm.describe_parameters()
                .parameter_filters(filter)
                .max_results(10)
                .into_paginator()
                .send()
                .try_collect()
                .await
                .with_context(|| {
                    format!(
                        "reading the attributes of {} parameters in {region} (DescribeParameters)",
                        names.len()
                    )
                })
        }
    )?;
    let metadata = described
        .into_iter()
        .flat_map(|page| page.parameters.unwrap_or_default())
        .filter_map(|m| m.name.clone().map(|n| (n, m)))
        .collect();
    Ok((values.parameters.unwrap_or_default(), metadata))
}

/// A live parameter as restore compares it: its value and type, and its attributes (AWS's
/// defaults where it has none); tags are read apart.
fn live_spec(p: aws_sdk_ssm::types::Parameter, meta: Option<ParameterMetadata>) -> ParameterSpec {
    let kind = p.r#type.map(|t| t.as_str().to_string()).unwrap_or_default();
    let secure = ParameterKind::from_name(&kind).is_some_and(ParameterKind::is_secure);
    ParameterSpec {
        name: p.name.unwrap_or_default(),
        value: Secret::new(p.value.unwrap_or_default()),
        data_type: p.data_type.unwrap_or_else(|| "text".into()),
        tier: meta
            .as_ref()
            .and_then(|m| m.tier.as_ref())
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| DEFAULT_TIER.into()),
        key_id: secure.then(|| {
            meta.as_ref()
                .and_then(|m| m.key_id.clone())
                .unwrap_or_else(|| DEFAULT_KEY.into())
        }),
        description: meta
            .as_ref()
            .and_then(|m| m.description.clone())
            .unwrap_or_default(),
        allowed_pattern: meta
            .as_ref()
            .and_then(|m| m.allowed_pattern.clone())
            .unwrap_or_default(),
        policies: meta
            .and_then(|m| m.policies)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_text)
            .collect(),
        tags: Default::default(), // read for all names at once by `read_live`
        kind,
    }
}

fn ssm_tags(tags: &Tags) -> Result<Vec<aws_sdk_ssm::types::Tag>> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_ssm::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .context("building a parameter tag")
        })
        .collect()
}

/// After an overwrite: the backup's tags set, the keys it lacks removed.
async fn retag(
    ssm: &aws_sdk_ssm::Client,
    region: &str,
    spec: &ParameterSpec,
    untag: &[String],
) -> Result<()> {
    let name = &spec.name;
    if !spec.tags.is_empty() {
        ssm.add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(ssm_tags(&spec.tags)?))
            .send()
            .await
            .with_context(|| format!("tagging {name} in {region} (AddTagsToResource)"))?;
    }
    if !untag.is_empty() {
        ssm.remove_tags_from_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tag_keys(Some(untag.to_vec()))
            .send()
            .await
            .with_context(|| {
                format!("removing tags of {name} in {region} (RemoveTagsFromResource)")
            })?;
    }
    Ok(())
}

/// What restore knows, before writing, of the KMS keys its SecureStrings will use where it
/// writes.
#[derive(Debug, Default)]
pub struct KeyCheck {
    /// One line per key that is not there, naming it and its parameters.
    pub missing: Vec<String>,
    /// Keys these credentials may not describe, with their parameters: tried by `try_keys`
    /// before anything is written.
    pub unchecked: BTreeMap<String, Vec<String>>,
}

/// Every KMS key the SecureStrings to write will use must exist in `region` (a key of another
/// region cannot encrypt there).
///
/// A key of another region is missing by its ARN; any other is described. The restore role may
/// describe only the stack's own keys (least privilege: the parameters' keys are any
/// application's), so a key it may not describe is left to `try_keys`.
pub async fn check_keys(aws: &Aws, region: &str, items: &[RestoreItem]) -> Result<KeyCheck> {
    let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for item in items.iter().filter(|i| i.writes()) {
        if let Some(key) = item.spec.as_ref().and_then(|s| s.key_id.as_deref())
            && key != DEFAULT_KEY
        {
            users.entry(key).or_default().insert(item.target.as_str());
        }
    }
    let mut check = KeyCheck::default();
    for (key, parameters) in users {
        let names = parameters.iter().copied().collect::<Vec<_>>().join(", ");
        let elsewhere = key
            .strip_prefix("arn:")
            .and_then(|arn| arn.split(':').nth(2))
            .filter(|r| *r != region);
        if let Some(other) = elsewhere {
            check.missing.push(format!(
                "KMS key {key} does not exist in {region} (it is a key of {other}) (used by {names}): pass --kms-key-id with a key of {region}"
            ));
            continue;
        }
        match describe_any(aws, region, key).await? {
            Described::Key(_) => {}
            Described::Missing => check.missing.push(format!(
                "KMS key {key} does not exist in {region} (used by {names}): pass --kms-key-id with a key of {region}"
            )),
            Described::Denied(_) => {
                let parameters = parameters.into_iter().map(str::to_string).collect();
                check.unchecked.insert(key.to_string(), parameters);
            }
        }
    }
    Ok(check)
}

/// Tries each key `check_keys` could not describe: a SecureString encrypted with it under the
/// environment's drill path (which the restore role may write and delete, and the next drill
/// cleans up), deleted at once. One line per key SSM refuses (`InvalidKeyId`).
pub async fn try_keys(
    aws: &Aws,
    printer: &Printer,
    region: &str,
    environment: &str,
    unchecked: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<String>> {
    let ssm = aws.ssm(region);
    let mut missing = Vec::new();
    for (key, parameters) in unchecked {
        let name = format!(
            "{}key-check-{}",
            drill_prefix(environment),
            run_id(time::OffsetDateTime::now_utc(), random_suffix())
        );
        let put = ssm
            .put_parameter()
            .name(&name)
            .value("ssm-keeper: can this key encrypt here?")
            .r#type(ParameterType::SecureString)
            .key_id(key)
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_invalid_key_id()) => {
                missing.push(format!(
                    "KMS key {key} cannot encrypt in {region}: SSM refused it (InvalidKeyId) (used by {}): pass --kms-key-id with a key of {region}",
                    parameters.join(", ")
                ));
                continue;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "trying KMS key {key} in {region} with the scratch parameter {name} (PutParameter)"
                )));
            }
        }
        let deleted = ssm.delete_parameters().names(&name).send().await;
        if let Err(e) = deleted {
            printer.warn(&format!(
                "the scratch parameter {name} in {region} was not deleted (the next drill deletes it): {:#}",
                anyhow::Error::new(e)
            ))?;
        }
    }
    Ok(missing)
}

impl KeyCheck {
    /// A line for each key not described, said under the preview.
    pub fn unchecked_lines(&self, region: &str) -> Vec<String> {
        self.unchecked
            .iter()
            .map(|(key, names)| {
                format!(
                    "KMS key {key} could not be described in {region} (these credentials may describe only the stack's own keys): with --apply, a scratch parameter is encrypted with it before anything is written, and nothing is written if SSM refuses the key (used by {})",
                    names.join(", ")
                )
            })
            .collect()
    }
}

/// Refuses the restore when a key its SecureStrings need is not where it writes.
pub fn refuse_missing_keys(region: &str, missing: &[String]) -> Result<()> {
    if !missing.is_empty() {
        bail!(
            "the restore cannot encrypt its SecureStrings in {region}, so nothing was written:\n  - {}",
            missing.join("\n  - ")
        );
    }
    Ok(())
}

/// A short random number for a run id or a scratch name (`core::drill::run_id`), from a v4
/// UUID: no other source of randomness.
pub fn random_suffix() -> u32 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// How a parameter is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// It is missing: created (never over one that appeared meanwhile).
    Create,
    /// Overwritten: a new version.
    Overwrite,
    /// Deleted, then created: what PutParameter cannot change is gone with its history.
    Recreate,
}

/// One parameter to write, and how.
#[derive(Debug, Clone, Copy)]
pub struct ParameterWrite<'a> {
    pub spec: &'a ParameterSpec,
    pub mode: WriteMode,
    /// An overwrite whose tags differ: set `spec.tags`, remove these keys (PutParameter takes
    /// tags only when it creates).
    pub retag: Option<&'a [String]>,
}

/// Writes each parameter as its mode says, paced, printing each as it ends. Starts
/// no new write after a signal or once the lock is lost.
pub async fn write(
    aws: &Aws,
    region: &str,
    writes: &[ParameterWrite<'_>],
    (lock, interrupt): (&LockWatch, &Interrupt),
    printer: &Printer,
) -> Result<usize> {
    let ssm = aws.ssm(region);
    // After a failure no write starts, but every write in flight ends: a recreate is never cut
    // between its delete and its put.
    let failed = std::sync::atomic::AtomicBool::new(false);
    let outcomes: Vec<Result<usize>> = futures::stream::iter(writes.iter().map(|w| {
        let (ssm, failed) = (ssm.clone(), &failed);
        async move {
            if lock.halt(interrupt).is_some() || failed.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(0);
            }
            let outcome = write_one(&ssm, region, w).await;
            match &outcome {
                Ok(()) => printer.step(&format!(
                    "done     {} {}",
                    match w.mode {
                        WriteMode::Create => "created",
                        WriteMode::Overwrite => "updated",
                        WriteMode::Recreate => "recreated",
                    },
                    w.spec.name
                )),
                Err(_) => failed.store(true, std::sync::atomic::Ordering::SeqCst),
            }
            outcome.map(|()| 1)
        }
    }))
    .buffer_unordered(WRITES_IN_FLIGHT)
    .collect()
    .await;
    let mut done = 0;
    let mut errors = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(n) => done += n,
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} of {} writes failed ({done} written; the rest not started):\n  - {}",
            errors.len(),
            writes.len(),
            errors.join("\n  - ")
        );
    }
    Ok(done)
}

/// One write: for a recreate, the delete and then the put, which says so if it fails after
/// the delete.
async fn write_one(ssm: &aws_sdk_ssm::Client, region: &str, w: &ParameterWrite<'_>) -> Result<()> {
    let spec = w.spec;
    if w.mode == WriteMode::Recreate {
        match ssm.delete_parameter().name(&spec.name).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "deleting {} in {region} to write it again (DeleteParameter)",
                    spec.name
                )));
            }
        }
        return put(ssm, region, spec, false).await.with_context(|| {
            format!(
                "{} was deleted to be written again, and writing it failed: it is missing until this restore is run again",
                spec.name
            )
        });
    }
    put(ssm, region, spec, w.mode == WriteMode::Overwrite).await?;
    if let Some(untag) = w.retag {
        retag(ssm, region, spec, untag).await?;
    }
    Ok(())
}

async fn put(
    ssm: &aws_sdk_ssm::Client,
    region: &str,
    spec: &ParameterSpec,
    overwrite: bool,
) -> Result<()> {
    let mut request = ssm
        .put_parameter()
        .name(&spec.name)
        .value(spec.value.expose())
        .r#type(ParameterType::from(spec.kind.as_str()))
        .data_type(&spec.data_type)
        .tier(ParameterTier::from(spec.tier.as_str()))
        .overwrite(overwrite);
    if !spec.description.is_empty() {
        request = request.description(&spec.description);
    }
    if !spec.allowed_pattern.is_empty() {
        request = request.allowed_pattern(&spec.allowed_pattern);
    }
    if let Some(key) = &spec.key_id {
        request = request.key_id(key);
    }
    if !spec.policies.is_empty() {
        request = request.policies(format!("[{}]", spec.policies.join(",")));
    }
    // Tags go with a creation only: an overwrite sets them with `retag`.
    if !overwrite && !spec.tags.is_empty() {
        request = request.set_tags(Some(ssm_tags(&spec.tags)?));
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            // A key not checked in advance (see `missing_keys`) that is not a key of `region`.
            let hint = if e.as_service_error().is_some_and(|s| s.is_invalid_key_id()) {
                format!(
                    ": KMS key {} cannot encrypt in {region}; run the restore again with --kms-key-id and a key of {region}",
                    spec.key_id.as_deref().unwrap_or(DEFAULT_KEY)
                )
            } else {
                String::new()
            };
            Err(anyhow::Error::new(e).context(format!(
                "writing {} ({}) in {region} (PutParameter){hint}",
                spec.name, spec.kind
            )))
        }
    }
}
