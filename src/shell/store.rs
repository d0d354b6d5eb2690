//! The backup objects in S3, for backup, verify and restore: a document stored (SSE AES256,
//! SHA-256 checksum, never over an existing object), the pointers moved to it (only from the
//! version the run found), a region's backups listed, a document or pointer read (never beyond
//! its size limit). The keys come from `core::store`; what a document says is judged elsewhere.

use anyhow::{Context, Result, bail};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::aws::Aws;
use crate::core::document::read_document;
pub use crate::core::newest::StoredBackup;
use crate::core::newest::{Listed, Newest, choose, days_to_list, listed_day};
use crate::core::stamp::Stamp;
use crate::core::store::{DocumentEncryption, Layout, backup_layout, day_prefix, is_backup_key};
use crate::core::verify::{ContentFacts, ObjectFacts};

/// The key of a document is held by a different document (a backup of the same second): the
/// error `put_document` returns then, for a caller that can name its document otherwise.
#[derive(Debug)]
pub struct KeyTaken;

impl std::fmt::Display for KeyTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a different backup already holds that key, and a backup is never overwritten")
    }
}

impl std::error::Error for KeyTaken {}

/// Uploads `document` to `s3://{bucket}/{key}` with its stamp as the object's tags, never over
/// an existing object (a backup key is written once: `If-None-Match: *`). A key that already
/// holds exactly these bytes (a re-run in the same second) counts as stored; any other is the
/// error `KeyTaken`. The document is hashed once: its stamp carries the digest.
pub async fn put_document(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    document: Bytes,
    stamp: &Stamp,
    encryption: &DocumentEncryption,
) -> Result<()> {
    // The stamp names the key the document is under (S3 allows 10 tags; a stamp has 8).
    let stamp = &stamp.under(encryption);
    let digest = match &stamp.document_sha256 {
        Some(digest) => digest.clone(),
        None => sha256_base64(&document),
    };
    let request = aws
        .s3(region)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(document))
        .content_type("application/json")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .tagging(stamp.tagging_header())
        .if_none_match("*");
    let request = match encryption {
        DocumentEncryption::Aes256 => request.server_side_encryption(ServerSideEncryption::Aes256),
        DocumentEncryption::Kms { key_arn } => request
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_arn)
            .bucket_key_enabled(true),
    };
    let sent = request.send().await;
    let context = || format!("uploading the backup to s3://{bucket}/{key} in {region} (PutObject)");
    match sent {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("PreconditionFailed") => {
            let stored = aws
                .s3(region)
                .head_object()
                .bucket(bucket)
                .key(key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .with_context(context)?;
            if stored.checksum_sha256() == Some(digest.as_str()) {
                return Ok(());
            }
            Err(anyhow::Error::new(KeyTaken).context(context()))
        }
        Err(e) => Err(anyhow::Error::new(e).context(context())),
    }
}

/// How the bucket encrypts documents (GetBucketEncryption): backups are written under exactly
/// that, and the bucket policy refuses anything else.
pub async fn document_encryption(
    aws: &Aws,
    region: &str,
    bucket: &str,
) -> Result<DocumentEncryption> {
    let context = || {
        format!(
            "reading the default encryption of bucket {bucket} in {region} (GetBucketEncryption)"
        )
    };
    let out = match aws
        .s3(region)
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            return Ok(DocumentEncryption::Aes256);
        }
        Err(e) => return Err(anyhow::Error::new(e).context(context())),
    };
    let default = out
        .server_side_encryption_configuration
        .and_then(|c| c.rules.into_iter().next())
        .and_then(|r| r.apply_server_side_encryption_by_default);
    let Some(default) = default else {
        return Ok(DocumentEncryption::Aes256);
    };
    DocumentEncryption::from_default(
        default.sse_algorithm().as_str(),
        default.kms_master_key_id(),
    )
    .map_err(|m| anyhow::anyhow!("bucket {bucket} in {region}: {m}; run `ssm-keeper plan` to see the drift and `apply` to correct it"))
}

/// A pointer as a run found it before moving it: its ETag, `None` when it did not exist. The
/// move is conditional on it, so a pointer another writer moved since is never overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerVersion {
    pub key: String,
    pub etag: Option<String>,
}

/// The current version of each pointer (HeadObject, all at once), read before the run
/// collects anything.
pub async fn pointer_versions(
    aws: &Aws,
    region: &str,
    bucket: &str,
    pointers: &[String],
) -> Result<Vec<PointerVersion>> {
    let s3 = aws.s3(region);
    futures::future::try_join_all(pointers.iter().map(|key| {
        let s3 = &s3;
        async move {
            let etag = match s3.head_object().bucket(bucket).key(key).send().await {
                Ok(out) => out.e_tag,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => None,
                Err(e) => {
                    // A HEAD's refusal has no body: say what its status means.
                    let denied = e.raw_response().is_some_and(|r| r.status().as_u16() == 403);
                    return Err(anyhow::Error::new(e).context(format!(
                        "reading the pointer s3://{bucket}/{key} in {region} before moving it (HeadObject){}",
                        if denied {
                            ": AccessDenied (403): these credentials may not read it, or the bucket belongs to another account"
                        } else {
                            ""
                        }
                    )));
                }
            };
            Ok(PointerVersion {
                key: key.clone(),
                etag,
            })
        }
    }))
    .await
}

/// Moves each pointer to `target` (its content is the key of the newest backup), all at once
/// (each names a whole stored document, so none waits for another): with `If-Match` on the
/// ETag it had, or `If-None-Match: *` when it had none, so two writers can never interleave. A
/// refused move whose pointer already names `target` was this run's own (its answer lost and
/// the request retried); any other is an error naming the pointer.
pub async fn write_pointers(
    aws: &Aws,
    region: &str,
    bucket: &str,
    pointers: &[PointerVersion],
    target: &str,
) -> Result<()> {
    let s3 = aws.s3(region);
    futures::future::try_join_all(
        pointers
            .iter()
            .map(|pointer| write_pointer(aws, &s3, (region, bucket), pointer, target)),
    )
    .await?;
    Ok(())
}

async fn write_pointer(
    aws: &Aws,
    s3: &aws_sdk_s3::Client,
    (region, bucket): (&str, &str),
    PointerVersion { key, etag }: &PointerVersion,
    target: &str,
) -> Result<()> {
    let request = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(target.as_bytes().to_vec()))
        .content_type("text/plain")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .checksum_algorithm(ChecksumAlgorithm::Sha256);
    let request = match etag {
        Some(etag) => request.if_match(etag),
        None => request.if_none_match("*"),
    };
    let context =
        || format!("moving the pointer s3://{bucket}/{key} in {region} to {target} (PutObject)");
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.code(), Some("PreconditionFailed" | "NoSuchKey")) => {
            let now = read_pointer(aws, region, bucket, key)
                .await
                .with_context(context)?;
            if now.as_deref() != Some(target) {
                return Err(anyhow::Error::new(e).context(format!(
                    "{}: another writer moved it (to {}) since this run read it, so it was left as it is; is a second backup running without the lock? Run `ssm-keeper verify`, then the backup again",
                    context(),
                    now.as_deref().unwrap_or("nothing: it was deleted")
                )));
            }
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(context())),
    }
}

/// Every backup of `environment` in `region` (both key layouts) in the bucket, or only those of
/// one day (`YYYY-MM-DD`), every page of the listing.
pub async fn list_backups(
    aws: &Aws,
    region: &str,
    bucket: &str,
    environment: &str,
    day: Option<&str>,
) -> Result<Vec<StoredBackup>> {
    let place = Place {
        region,
        bucket,
        under: "",
    };
    list_backups_in(aws, &place, region, environment, day).await
}

/// Where backups are listed: a bucket of `region`, the keys under `under` (`""` for a region's
/// own backups, `copies/` for the copies another region keeps).
pub struct Place<'a> {
    pub region: &'a str,
    pub bucket: &'a str,
    pub under: &'a str,
}

/// `list_backups` of `backup_region`'s backups kept at `place` (a copy's keys are the
/// primary's under `copies/`).
pub async fn list_backups_in(
    aws: &Aws,
    place: &Place<'_>,
    backup_region: &str,
    environment: &str,
    day: Option<&str>,
) -> Result<Vec<StoredBackup>> {
    let Place {
        region,
        bucket,
        under,
    } = place;
    let prefix = format!("{under}{}", day.map(day_prefix).unwrap_or_default());
    let mut pages = aws
        .s3(region)
        .list_objects_v2()
        .bucket(*bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut backups = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| match day {
            Some(date) => format!("listing the backups of {date} in {bucket}"),
            None => format!("listing the backups in {bucket} ({region})"),
        })?;
        backups.extend(page.contents().iter().filter_map(|o| {
            let key = o.key().filter(|k| {
                k.strip_prefix(*under)
                    .is_some_and(|k| is_backup_key(k, backup_region, environment))
            })?;
            Some(StoredBackup {
                key: key.to_string(),
                size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                last_modified: o.last_modified().map(|t| t.secs()),
            })
        }));
    }
    Ok(backups)
}

/// The day prefixes under `place.under` (`YYYY-MM-DD/`, real dates only): one delimited
/// listing, every page.
async fn listed_days(aws: &Aws, place: &Place<'_>) -> Result<Vec<String>> {
    let mut pages = aws
        .s3(place.region)
        .list_objects_v2()
        .bucket(place.bucket)
        .prefix(place.under)
        .delimiter("/")
        .into_paginator()
        .send();
    let mut days = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| {
            format!(
                "listing the days of the backups in {} ({})",
                place.bucket, place.region
            )
        })?;
        days.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| listed_day(p.prefix()?, place.under))
                .map(str::to_string),
        );
    }
    Ok(days)
}

/// Future days listed at once, at most this many in flight.
const DAYS_IN_FLIGHT: usize = 4;

/// `backup_region`'s newest backup kept at `place`, found from the bucket itself, never from a
/// pointer: the day prefixes (one delimited listing), every day after `today`, then the past
/// days newest first until one holds a document of this tool's layout (`core::newest`).
pub async fn find_newest(
    aws: &Aws,
    place: &Place<'_>,
    (backup_region, environment): (&str, &str),
    today: &str,
    acknowledged: &[String],
) -> Result<Newest> {
    let days = listed_days(aws, place).await?;
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    let (future_days, past_days) = days_to_list(&days, today);
    let list = |day: &str| {
        let day = day.to_string();
        async move { list_backups_in(aws, place, backup_region, environment, Some(&day)).await }
    };
    let future: Vec<Vec<StoredBackup>> = futures::stream::iter(future_days.into_iter().map(list))
        .buffered(DAYS_IN_FLIGHT)
        .try_collect()
        .await?;
    let mut past = Vec::new();
    for day in past_days {
        let backups = list(day).await?;
        let ours = backups.iter().any(|b| {
            b.key
                .strip_prefix(place.under)
                .and_then(|k| backup_layout(k, backup_region, environment))
                == Some(Layout::Ours)
        });
        past.push((day.to_string(), backups));
        if ours {
            break;
        }
    }
    Ok(choose(
        Listed {
            region: backup_region,
            environment,
            under: place.under,
            future: future.into_iter().flatten().collect(),
            past,
        },
        acknowledged,
    ))
}

/// The largest pointer read: it holds one object key.
const MAX_POINTER_BYTES: u64 = 4096;

/// A pointer's content (the key it names), trimmed; `None` when it (or its bucket) does not
/// exist.
pub async fn read_pointer(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<String>> {
    Ok(read_object(aws, region, bucket, key, MAX_POINTER_BYTES)
        .await?
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string()))
}

/// An object's bytes; `None` when it (or its bucket) does not exist.
/// An object over `max_bytes` is refused before its body is read (one swapped in after its
/// attributes were checked too: its bytes then fail the checksum as well).
pub async fn read_object(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>> {
    match aws
        .s3(region)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => {
            let size = out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
            if size > max_bytes {
                bail!(
                    "s3://{bucket}/{key} ({region}) is {size} bytes, more than the {max_bytes} read"
                );
            }
            let bytes = out
                .body
                .collect()
                .await
                .with_context(|| format!("reading s3://{bucket}/{key} ({region})"))?;
            Ok(Some(bytes.to_vec()))
        }
        Err(e) if matches!(e.code(), Some("NoSuchKey" | "NoSuchBucket")) => Ok(None),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("reading s3://{bucket}/{key} ({region})")))
        }
    }
}

/// The stored object's attributes (HeadObject, with its stored checksum), its versions and its
/// bytes (read without the SDK's own checksum validation, so a mismatch is a finding, not an
/// error): what restore and `verify --deep` judge. Its tags are not read (`stamp` is `None`).
/// `None` when the object does not exist.
pub async fn object_facts(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    max_document_bytes: u64,
) -> Result<Option<ObjectFacts>> {
    let s3 = aws.s3(region);
    let Some(head) = attributes(&s3, region, bucket, key).await? else {
        return Ok(None);
    };
    let versions = version_count(&s3, region, bucket, key).await?;
    let size = head
        .content_length()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    // A larger object is never read whole: the checks say it was not read.
    let (read_sha256, document) = if size > max_document_bytes {
        (
            String::new(),
            Err(format!(
                "not read: it is {size} bytes, more than --max-document-bytes"
            )),
        )
    } else {
        match read_object(aws, region, bucket, key, max_document_bytes).await {
            Ok(Some(bytes)) => (sha256_base64(&bytes), read_document(&bytes)),
            Ok(None) => return Ok(None),
            // S3 could not decrypt it: its key is disabled, pending deletion or gone. A finding
            // (the backup cannot be restored), not a failure to run.
            Err(e) => match kms_refusal(&e) {
                Some(code) => (
                    String::new(),
                    Err(format!(
                        "not read: S3 could not decrypt it ({code}): its KMS key is disabled, pending deletion or gone, so this backup cannot be restored (see `key`)"
                    )),
                ),
                None => return Err(e),
            },
        }
    };
    Ok(Some(ObjectFacts {
        key: key.to_string(),
        size,
        last_modified: timestamp(head.last_modified()),
        versions,
        has_sha256: head.checksum_sha256().is_some(),
        stamp: None,
        content: Some(ContentFacts {
            encryption: head
                .server_side_encryption()
                .map(|e| e.as_str().to_string()),
            kms_key_id: head.ssekms_key_id().map(str::to_string),
            stored_sha256: head.checksum_sha256().map(str::to_string),
            read_sha256,
            document,
        }),
    }))
}

/// The KMS error S3 answered a read with (`KMS.DisabledException`, ...), if that is what `e` is.
fn kms_refusal(e: &anyhow::Error) -> Option<String> {
    let sdk = e.downcast_ref::<aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::get_object::GetObjectError,
        aws_smithy_runtime_api::http::Response,
    >>()?;
    sdk.code()
        .filter(|code| code.starts_with("KMS."))
        .map(str::to_string)
}

/// What plain verify knows of an object without reading it (no `s3:GetObject`): the listing
/// (size, time, whether S3 holds its SHA-256; ListObjectsV2), its versions and its stamp
/// (GetObjectTagging). `None` when the object does not exist.
pub async fn listed_object_facts(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectFacts>> {
    let s3 = aws.s3(region);
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .max_keys(1)
        .send()
        .await
        .with_context(|| format!("listing s3://{bucket}/{key} ({region}) (ListObjectsV2)"))?;
    let Some(object) = listed.contents().iter().find(|o| o.key() == Some(key)) else {
        return Ok(None);
    };
    let (versions, stamp) = tokio::try_join!(
        version_count(&s3, region, bucket, key),
        object_stamp(aws, region, bucket, key),
    )?;
    Ok(Some(ObjectFacts {
        key: key.to_string(),
        size: object
            .size()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        last_modified: timestamp(object.last_modified()),
        versions,
        has_sha256: object
            .checksum_algorithm()
            .contains(&ChecksumAlgorithm::Sha256),
        stamp,
        content: None,
    }))
}

/// The stamp in an object's tags (GetObjectTagging): `None` when it has none, or when the
/// object is gone.
pub async fn object_stamp(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<Result<Stamp, String>>> {
    match aws
        .s3(region)
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => {
            let tags: Vec<(String, String)> = out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            Ok(Stamp::from_tags(&tags))
        }
        Err(e) if matches!(e.code(), Some("NoSuchKey" | "NoSuchBucket")) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "reading the tags of s3://{bucket}/{key} ({region}) (GetObjectTagging)"
        ))),
    }
}

/// An S3 time as an `OffsetDateTime` (the epoch when absent or out of range).
fn timestamp(t: Option<&aws_smithy_types::DateTime>) -> OffsetDateTime {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// HeadObject with the stored checksum; `None` when the object does not exist.
async fn attributes(
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<Option<HeadObjectOutput>> {
    match s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
    {
        Ok(head) => Ok(Some(head)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "reading the attributes of s3://{bucket}/{key} ({region})"
        ))),
    }
}

/// How many versions of exactly `key` the first page of ListObjectVersions shows.
async fn version_count(
    s3: &aws_sdk_s3::Client,
    region: &str,
    bucket: &str,
    key: &str,
) -> Result<usize> {
    Ok(s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .with_context(|| format!("listing the versions of s3://{bucket}/{key} ({region})"))?
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .count())
}

/// SHA-256 as S3 writes it in `x-amz-checksum-sha256`: base64.
pub fn sha256_base64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_base64_as_s3_stores_it() {
        // `printf abc | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            sha256_base64(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
