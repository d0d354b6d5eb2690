//! Gather what `verify` judges, for each region at once: the pointers, the object the pointer
//! names (attributes, versions, bytes and their digest), the parsed document, the live count.
//! Read-only; documents stay in memory and no value leaves this module.

use anyhow::Result;

use super::aws::Aws;
use super::ssm::count_selected;
use super::store::{
    list_backups, listed_object_facts, object_facts, object_stamp, read_object, read_pointer,
};
use crate::core::document::read_document;
use crate::core::selection::Selection;
use crate::core::store::{DEFAULT_POINTER_KEY, copy_pointer_key, pointer_key};
use crate::core::verify::{CopyFacts, ObjectFacts, PreviousBackup, RegionFacts};

/// How far verify looks: metadata alone, or (`--deep`) the documents too, with their limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Metadata,
    Documents { max_document_bytes: u64 },
}

/// What one region's bucket holds of its newest backup.
pub async fn region_facts(
    aws: &Aws,
    region: &str,
    bucket: &str,
    (environment, selection): (&str, &Selection),
    is_default: bool,
    reading: Reading,
    copy_to: Option<(&str, &str)>,
) -> Result<RegionFacts> {
    let pointer_key = pointer_key(region);
    let (pointer, default_pointer, live_count) = tokio::try_join!(
        read_pointer(aws, region, bucket, &pointer_key),
        async {
            if is_default {
                Ok(Some(
                    read_pointer(aws, region, bucket, DEFAULT_POINTER_KEY).await?,
                ))
            } else {
                Ok(None)
            }
        },
        count_selected(aws, region, selection),
    )?;
    let (object, previous) = match &pointer {
        Some(key) => tokio::try_join!(
            newest_object(aws, region, bucket, key, reading),
            previous_backup(aws, region, bucket, environment, key, reading),
        )?,
        None => (None, None),
    };
    let copy = match copy_to {
        Some((to, to_bucket)) => Some(copy_facts(aws, region, to, to_bucket, reading).await?),
        None => None,
    };
    Ok(RegionFacts {
        region: region.to_string(),
        bucket: bucket.to_string(),
        pointer,
        default_pointer,
        object,
        live_count: Some(live_count),
        previous,
        copy,
    })
}

/// The region's copy in the bucket of `to`: its pointer and the object it names.
async fn copy_facts(
    aws: &Aws,
    region: &str,
    to: &str,
    bucket: &str,
    reading: Reading,
) -> Result<CopyFacts> {
    let pointer = read_pointer(aws, to, bucket, &copy_pointer_key(region)).await?;
    let object = match &pointer {
        Some(key) => newest_object(aws, to, bucket, key, reading).await?,
        None => None,
    };
    Ok(CopyFacts {
        region: to.to_string(),
        bucket: bucket.to_string(),
        pointer,
        object,
    })
}

/// The object the pointer names: listed and its stamp read, or (`--deep`) read whole as well.
async fn newest_object(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    reading: Reading,
) -> Result<Option<ObjectFacts>> {
    match reading {
        Reading::Metadata => listed_object_facts(aws, region, bucket, key).await,
        Reading::Documents { max_document_bytes } => {
            let (facts, stamp) = tokio::try_join!(
                object_facts(aws, region, bucket, key, max_document_bytes),
                object_stamp(aws, region, bucket, key),
            )?;
            Ok(facts.map(|facts| ObjectFacts { stamp, ..facts }))
        }
    }
}

/// The newest backup of `region` before `newest` (by key: dates and timestamps sort) whose
/// count is known, and that count: from its stamp, or (`--deep`) its document. One without
/// (damaged, or unstamped) is stepped over, up to three, so that a planted object cannot
/// switch the count check off. `None` when there is none.
async fn previous_backup(
    aws: &Aws,
    region: &str,
    bucket: &str,
    environment: &str,
    newest: &str,
    reading: Reading,
) -> Result<Option<PreviousBackup>> {
    // (key, size) of every earlier backup of the region.
    let mut earlier: Vec<(String, u64)> = list_backups(aws, region, bucket, environment, None)
        .await?
        .into_iter()
        .filter(|b| b.key.as_str() < newest)
        .map(|b| (b.key, b.size))
        .collect();
    earlier.sort_unstable_by(|a, b| b.cmp(a));
    for (key, size) in earlier.into_iter().take(3) {
        let max_document_bytes = match reading {
            Reading::Metadata => {
                if let Some(Ok(stamp)) = object_stamp(aws, region, bucket, &key).await? {
                    return Ok(Some(PreviousBackup {
                        key,
                        count: stamp.parameter_count,
                    }));
                }
                continue;
            }
            Reading::Documents { max_document_bytes } => max_document_bytes,
        };
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
