//! Gather what `verify` judges, for each region at once: the pointers, the object the pointer
//! names (attributes, versions, bytes and their digest), the parsed document, the live count.
//! Read-only; documents stay in memory and no value leaves this module.

use anyhow::Result;

use super::aws::Aws;
use super::resource::key::{Described, describe_any};
use super::ssm::{list_selected, read_at_versions};
use super::store::{
    Place, find_newest, list_backups, listed_object_facts, object_facts, object_stamp, read_object,
    read_pointer,
};
use crate::core::document::BackupDocument;
use crate::core::document::read_document;
use crate::core::live::{LiveFacts, LiveMeta, to_read};
use crate::core::selection::Selection;
use crate::core::store::{COPY_PREFIX, DEFAULT_POINTER_KEY, copy_pointer_key, pointer_key};
use crate::core::verify::{
    ContentFacts, CopyFacts, KeyFacts, KeyState, ObjectFacts, PreviousBackup, RegionFacts,
};

/// How far verify looks: metadata alone, or (`--deep`) the documents too, with their limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Metadata,
    Documents { max_document_bytes: u64 },
}

/// How verify looks: how far it reads, and how it finds the newest backup: today (UTC,
/// `core::newest::today`) and the keys dated after it that the stack acknowledges.
#[derive(Debug, Clone, Copy)]
pub struct Look<'a> {
    pub reading: Reading,
    pub today: &'a str,
    pub acknowledged: &'a [String],
    /// With `encryption: kms`: the keys the backups must be under.
    pub kms: Option<StackKeys<'a>>,
}

/// The stack's keys: those `kmsKeyIds` names (region -> ARN), else the one its alias names.
#[derive(Debug, Clone, Copy)]
pub struct StackKeys<'a> {
    pub named: &'a std::collections::BTreeMap<String, String>,
    pub alias: &'a str,
}

/// What one region's bucket holds of its newest backup, found from the bucket itself.
pub async fn region_facts(
    aws: &Aws,
    region: &str,
    bucket: &str,
    (environment, selection): (&str, &Selection),
    is_default: bool,
    copy_to: Option<(&str, &str)>,
    look: Look<'_>,
) -> Result<RegionFacts> {
    let reading = look.reading;
    let pointer_key = pointer_key(region);
    let place = Place {
        region,
        bucket,
        under: "",
    };
    // The newest backup, its document and what SSM holds at its versions, beside the
    // environment's listing (only `complete` needs it) and the copy: no read waits for
    // another it does not need.
    let newest = async {
        let found = find_newest(
            aws,
            &place,
            (region, environment),
            look.today,
            look.acknowledged,
        )
        .await?;
        let (object, previous) = match found.newest.as_ref().map(|b| b.key.as_str()) {
            Some(key) => tokio::try_join!(
                newest_object(aws, region, bucket, key, reading),
                previous_backup(aws, region, bucket, environment, key, reading),
            )?,
            None => (None, None),
        };
        let at_version = async {
            match object.as_ref().and_then(|o| o.content.as_ref()) {
                Some(ContentFacts {
                    document: Ok(document),
                    ..
                }) => Ok::<_, anyhow::Error>(Some(
                    read_at_versions(aws, region, &to_read(document, selection)).await?,
                )),
                _ => Ok(None),
            }
        };
        let key = async {
            match look.kms {
                Some(keys) => Ok(Some(key_facts(aws, region, keys, object.as_ref()).await?)),
                None => Ok(None),
            }
        };
        let (at_version, key) = tokio::try_join!(at_version, key)?;
        Ok::<_, anyhow::Error>((found, object, previous, at_version, key))
    };
    let copy = async {
        match copy_to {
            Some((to, to_bucket)) => {
                let place = Place {
                    region: to,
                    bucket: to_bucket,
                    under: COPY_PREFIX,
                };
                Ok(Some(
                    copy_facts(aws, (region, environment), &place, look).await?,
                ))
            }
            None => Ok(None),
        }
    };
    let (pointer, default_pointer, listing, (found, object, previous, at_version, key), copy) = tokio::try_join!(
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
        list_selected(aws, region, selection),
        newest,
        copy,
    )?;
    let live_count = listing.len() as u64;
    let live = at_version.map(|at_version| LiveFacts {
        listing,
        at_version,
    });
    Ok(RegionFacts {
        region: region.to_string(),
        bucket: bucket.to_string(),
        pointer,
        default_pointer,
        object,
        future: found.future,
        acknowledged: found.acknowledged,
        live_count: Some(live_count),
        live,
        previous,
        copy,
        key,
    })
}

/// The region's key as the stack says (`kmsKeyIds`, else what its alias names now), and what
/// KMS says of the key the backup is under (the object's own with `--deep`, else its stamp's).
/// DescribeKey on those keys only: one the role may not describe is a finding, not an error.
async fn key_facts(
    aws: &Aws,
    region: &str,
    keys: StackKeys<'_>,
    object: Option<&ObjectFacts>,
) -> Result<KeyFacts> {
    let named = object.and_then(|o| {
        o.content
            .as_ref()
            .and_then(|c| c.kms_key_id.clone())
            .or_else(|| o.stamp.as_ref()?.as_ref().ok()?.key_arn.clone())
    });
    let expected = async {
        match keys.named.get(region) {
            Some(arn) => Ok::<_, anyhow::Error>(Some(arn.clone())),
            None => Ok(describe_key(aws, region, keys.alias)
                .await?
                .ok()
                .map(|(arn, _)| arn)),
        }
    };
    let state = async {
        match &named {
            Some(arn) => Ok::<_, anyhow::Error>(Some(KeyState {
                arn: arn.clone(),
                state: describe_key(aws, region, arn)
                    .await?
                    .map(|(_, state)| state),
            })),
            None => Ok(None),
        }
    };
    let (expected, named) = tokio::try_join!(expected, state)?;
    Ok(KeyFacts { expected, named })
}

/// DescribeKey: the key's ARN, its state and deletion date; or why KMS would not say (refused,
/// not found), as a finding.
async fn describe_key(
    aws: &Aws,
    region: &str,
    key: &str,
) -> Result<Result<(String, (String, Option<String>)), String>> {
    Ok(match describe_any(aws, region, key).await? {
        Described::Key(meta) => {
            let deletion = meta
                .deletion_date()
                .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok());
            let state = meta
                .key_state()
                .map_or_else(|| "unknown".to_string(), |s| s.as_str().to_string());
            Ok((
                meta.arn.clone().unwrap_or_else(|| key.to_string()),
                (state, deletion),
            ))
        }
        Described::Missing => Err("KMS has no such key".into()),
        Described::Denied(_) => {
            Err("DescribeKey was refused (AccessDenied): not a key of this stack".into())
        }
    })
}

/// What Parameter Store holds of the document's parameters (of the environment), each at the
/// version the document names, beside the environment's `listing`.
pub async fn live_facts(
    aws: &Aws,
    region: &str,
    (document, selection): (&BackupDocument, &Selection),
    listing: Vec<LiveMeta>,
) -> Result<LiveFacts> {
    let at_version = read_at_versions(aws, region, &to_read(document, selection)).await?;
    Ok(LiveFacts {
        listing,
        at_version,
    })
}

/// The region's copy at `place` (`copies/` in another region's bucket): its pointer and the
/// newest copy found there.
async fn copy_facts(
    aws: &Aws,
    (region, environment): (&str, &str),
    place: &Place<'_>,
    look: Look<'_>,
) -> Result<CopyFacts> {
    let (to, bucket) = (place.region, place.bucket);
    let pointer_key = copy_pointer_key(region);
    let (pointer, found) = tokio::try_join!(
        read_pointer(aws, to, bucket, &pointer_key),
        find_newest(
            aws,
            place,
            (region, environment),
            look.today,
            look.acknowledged
        ),
    )?;
    let object = match found.newest {
        Some(newest) => newest_object(aws, to, bucket, &newest.key, look.reading).await?,
        None => None,
    };
    let key = match look.kms {
        Some(keys) => Some(key_facts(aws, to, keys, object.as_ref()).await?),
        None => None,
    };
    Ok(CopyFacts {
        region: to.to_string(),
        bucket: bucket.to_string(),
        pointer,
        object,
        future: found.future,
        key,
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
