//! Gather what `verify` judges, for each region at once: the pointers, the object the pointer
//! names (attributes, versions, bytes and their digest), the parsed document, the live count.
//! Read-only; documents stay in memory and no value leaves this module.

use anyhow::{Context, Result, bail};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::ChecksumMode;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::aws::Aws;
use super::ssm::count_selected;
use crate::core::document::read_document;
use crate::core::selection::Selection;
use crate::core::store::{DEFAULT_POINTER_KEY, is_backup_key, pointer_key};
use crate::core::verify::{ObjectFacts, PreviousBackup, RegionFacts};

/// What one region's bucket holds of its newest backup.
pub async fn region_facts(
    aws: &Aws,
    region: &str,
    bucket: &str,
    (environment, selection): (&str, &Selection),
    is_default: bool,
    max_document_bytes: u64,
) -> Result<RegionFacts> {
    let pointer_key = pointer_key(region);
    let (pointer, default_pointer, live_count) = tokio::try_join!(
        read_text(aws, region, bucket, &pointer_key),
        async {
            if is_default {
                Ok(Some(
                    read_text(aws, region, bucket, DEFAULT_POINTER_KEY).await?,
                ))
            } else {
                Ok(None)
            }
        },
        count_selected(aws, region, selection),
    )?;
    let (object, previous) = match &pointer {
        Some(key) => tokio::try_join!(
            object_facts(aws, region, bucket, key, max_document_bytes),
            previous_backup(aws, region, bucket, environment, key, max_document_bytes),
        )?,
        None => (None, None),
    };
    Ok(RegionFacts {
        region: region.to_string(),
        bucket: bucket.to_string(),
        pointer,
        default_pointer,
        object,
        live_count: Some(live_count),
        previous,
    })
}

/// The newest readable backup of `region` before `newest` (by key: dates and timestamps sort),
/// and how many parameters it holds: a damaged one is stepped over (up to three), so that a
/// planted unreadable object cannot switch the count check off. `None` when there is none.
async fn previous_backup(
    aws: &Aws,
    region: &str,
    bucket: &str,
    environment: &str,
    newest: &str,
    max_document_bytes: u64,
) -> Result<Option<PreviousBackup>> {
    let mut pages = aws
        .s3(region)
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send();
    // (key, size) of every earlier backup of the region.
    let mut earlier: Vec<(String, u64)> = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.with_context(|| format!("listing the backups in {bucket} ({region})"))?;
        earlier.extend(
            page.contents()
                .iter()
                .filter_map(|o| {
                    let size = o.size().and_then(|s| u64::try_from(s).ok());
                    Some((o.key()?, size.unwrap_or(0)))
                })
                .filter(|(key, _)| *key < newest && is_backup_key(key, region, environment))
                .map(|(key, size)| (key.to_string(), size)),
        );
    }
    earlier.sort_unstable_by(|a, b| b.cmp(a));
    for (key, size) in earlier.into_iter().take(3) {
        // Only its count is wanted: the document alone (one over the limit is never read), not
        // its attributes and versions.
        if size > max_document_bytes {
            continue;
        }
        let Some(bytes) = read_object(aws, region, bucket, &key, max_document_bytes).await? else {
            continue;
        };
        if let Ok(doc) = read_document(&bytes) {
            return Ok(Some(PreviousBackup {
                key,
                count: doc.parameters.len() as u64,
            }));
        }
    }
    Ok(None)
}

/// The largest pointer read: it holds one object key.
const MAX_POINTER_BYTES: u64 = 4096;

/// A small text object (a pointer), trimmed; `None` when it (or its bucket) does not exist.
pub async fn read_text(aws: &Aws, region: &str, bucket: &str, key: &str) -> Result<Option<String>> {
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
/// error). `None` when the object does not exist.
pub async fn object_facts(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    max_document_bytes: u64,
) -> Result<Option<ObjectFacts>> {
    let s3 = aws.s3(region);
    let head = match s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
    {
        Ok(head) => head,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "reading the attributes of s3://{bucket}/{key} ({region})"
            )));
        }
    };
    let versions = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .with_context(|| format!("listing the versions of s3://{bucket}/{key} ({region})"))?
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .count();
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
        let Some(bytes) = read_object(aws, region, bucket, key, max_document_bytes).await? else {
            return Ok(None);
        };
        (sha256_base64(&bytes), read_document(&bytes))
    };
    let last_modified = head
        .last_modified()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(Some(ObjectFacts {
        key: key.to_string(),
        encryption: head
            .server_side_encryption()
            .map(|e| e.as_str().to_string()),
        stored_sha256: head.checksum_sha256().map(str::to_string),
        read_sha256,
        versions,
        size,
        last_modified,
        document,
    }))
}

/// SHA-256 as S3 writes it in `x-amz-checksum-sha256`: base64.
pub fn sha256_base64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}
