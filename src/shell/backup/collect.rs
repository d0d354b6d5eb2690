//! Collect one region's parameters of an environment, decrypted, straight into the backup
//! document: DescribeParameters pages arrive one after another (from the start, beside the
//! checks that gate the values) while GetParameters batches of ten run alongside (bounded, in
//! order), every attempt, retries included, paced to the region's SSM quotas (`Aws`'s
//! lanes). Besides the document, only the pages and batches in flight are held.

use anyhow::{Context, Result};
use aws_sdk_ssm::types::ParameterMetadata;
use futures::{Stream, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::io::Write;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::task::AbortOnDropHandle;

use crate::core::backup::{BackupParameter, DocumentHeader, Secret};
use crate::core::selection::Selection;
use crate::shell::aws::Aws;
use crate::shell::ssm::selection_filter;
use crate::shell::tags::{TagMap, TagsDenied, tagged_parameters};

/// GetParameters batches in flight at once; the pacing lanes, not this, bound the request rate.
const FETCHES_IN_FLIGHT: usize = 8;

#[derive(Debug, Default)]
pub struct Collected {
    pub count: u64,
    /// The names in the document, for its stamp (`core::stamp`).
    pub names: Vec<String>,
    /// Parameters listed but gone before their value was fetched.
    pub vanished: Vec<String>,
    /// Why the tags are not in the document, when they could not be read.
    pub tags_missing: Option<String>,
}

/// Writes the backup document of the header's region to `out` and returns what it holds, with
/// what `ready` gave. The listing and the tags are read at once; values, which may be secrets,
/// only once `ready` (the destination checked, the lock held) succeeded: failed, nothing
/// secret was read.
pub async fn collect<W: Write + Send, T>(
    aws: &Aws,
    header: &DocumentHeader,
    listing: Listing,
    out: &mut W,
    on_progress: &(dyn Fn(u64) + Sync),
    ready: impl Future<Output = Result<T>>,
) -> Result<(Collected, T)> {
    let region = header.region.as_str();
    let ssm = aws.ssm(region);
    let Listing {
        batches: pages_rx,
        task,
        ..
    } = listing;
    let list = async {
        match task.await {
            Ok(listed) => listed,
            Err(e) => Err(anyhow::anyhow!("the listing stopped: {e}")),
        }
    };
    let write = async {
        let mut fetched = std::pin::pin!(
            ReceiverStream::new(pages_rx)
                .map(|batch| fetch(&ssm, region, batch))
                .buffered(FETCHES_IN_FLIGHT)
                .peekable()
        );
        // Values wait for `ready`, not for the tags: those (a request per 100 tagged
        // parameters, one after the other) are read from the start, beside the listing and the
        // first values, and joined to each batch as it is written.
        let ((tags, tags_missing), ready) = tokio::try_join!(document_tags(aws, region), async {
            let ready = ready.await?;
            fetched.as_mut().peek().await;
            Ok(ready)
        })?;
        let parameters =
            fetched.map(|batch| batch.map(|(listed, values)| merge(listed, values, tags.as_ref())));
        let collected = Collected {
            tags_missing,
            ..Collected::default()
        };
        let collected = write_document(out, header, parameters, collected, on_progress).await?;
        Ok((collected, ready))
    };
    let ((), collected) = tokio::try_join!(list, write)?;
    Ok(collected)
}

/// Every tagged parameter's tags, 100 a request: not one request per parameter. Denied (a
/// policy from before tags were backed up), the backup goes on without them, and the second
/// value says why: its document then says the tags are unknown, and restore leaves tags alone.
async fn document_tags(aws: &Aws, region: &str) -> Result<(Option<TagMap>, Option<String>)> {
    match tagged_parameters(aws, region).await {
        Ok(tags) => Ok((Some(tags), None)),
        Err(e) if e.downcast_ref::<TagsDenied>().is_some() => Ok((
            None,
            Some(format!(
                "the tags of the parameters in {region} are not in the backup: AWS denied tag:GetResources (`ssm-keeper iam-policy --role backup` grants it)"
            )),
        )),
        Err(e) => Err(e),
    }
}

/// A region's listing, under way: its pages arrive in batches of ten, at most
/// `FETCHES_IN_FLIGHT * 2` batches ahead of the values. It may start before the region's turn
/// (backup starts the first regions of the stack file while the region list is read: a listing
/// reads no value). Dropped unused, it stops.
pub struct Listing {
    region: String,
    batches: mpsc::Receiver<Vec<ParameterMetadata>>,
    /// Stopped when dropped before it finished.
    task: AbortOnDropHandle<Result<()>>,
}

impl Listing {
    pub fn start(aws: &Aws, region: &str, environment: &str, selection: &Selection) -> Listing {
        let (batches_tx, batches) = mpsc::channel(FETCHES_IN_FLIGHT * 2);
        let ssm = aws.ssm(region);
        let (owned_region, environment, selection) = (
            region.to_string(),
            environment.to_string(),
            selection.clone(),
        );
        let task = AbortOnDropHandle::new(tokio::spawn(async move {
            list_pages(ssm, &owned_region, &environment, &selection, batches_tx).await
        }));
        Listing {
            region: region.to_string(),
            batches,
            task,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

/// Lists the environment's parameters page after page, sending them on in batches of ten;
/// stops early when the writer has stopped.
async fn list_pages(
    ssm: aws_sdk_ssm::Client,
    region: &str,
    environment: &str,
    selection: &Selection,
    pages_tx: mpsc::Sender<Vec<ParameterMetadata>>,
) -> Result<()> {
    let filter = selection_filter(selection)?;
    let mut token: Option<String> = None;
    loop {
        let page = ssm
            .describe_parameters()
            .parameter_filters(filter.clone())
            .max_results(50)
            .set_next_token(token.take())
            .send()
            .await
            .with_context(|| {
                format!(
                    "listing the parameters of `{environment}` in {region} (DescribeParameters)"
                )
            })?;
        let mine: Vec<ParameterMetadata> = page
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.name.as_deref().is_some_and(|n| selection.contains(n)))
            .collect();
        for batch in mine.chunks(10) {
            if pages_tx.send(batch.to_vec()).await.is_err() {
                return Ok(()); // the writer stopped: its error is reported
            }
        }
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(()),
        }
    }
}

/// Streams the document into `out`: the header, each batch of parameters as it arrives (in
/// listing order), and the count.
async fn write_document<W: Write>(
    out: &mut W,
    header: &DocumentHeader,
    mut parameters: impl Stream<Item = Result<(Vec<BackupParameter>, Vec<String>)>> + Unpin,
    mut collected: Collected,
    on_progress: &(dyn Fn(u64) + Sync),
) -> Result<Collected> {
    out.write_all(document_head(header)?.as_bytes())?;
    while let Some((batch, vanished)) = parameters.try_next().await? {
        for p in batch {
            if collected.count > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, &p)?;
            collected.count += 1;
            collected.names.push(p.name);
        }
        collected.vanished.extend(vanished);
        on_progress(collected.count);
    }
    write!(out, "],\"parameter_count\":{}}}", collected.count)?;
    out.flush()?;
    Ok(collected)
}

/// What a document starts with: its header, the object reopened for the parameters streamed
/// after it.
pub fn document_head(header: &DocumentHeader) -> Result<String> {
    let mut head = serde_json::to_string(header)?;
    head.pop();
    Ok(format!("{head},\"parameters\":["))
}

/// The values (decrypted) of up to ten listed parameters, beside their metadata.
async fn fetch(
    ssm: &aws_sdk_ssm::Client,
    region: &str,
    batch: Vec<ParameterMetadata>,
) -> Result<(Vec<ParameterMetadata>, Vec<aws_sdk_ssm::types::Parameter>)> {
    let names: Vec<String> = batch.iter().filter_map(|m| m.name.clone()).collect();
    let out = ssm
        .get_parameters()
        .set_names(Some(names.clone()))
        .with_decryption(true)
        .send()
        .await
        .with_context(|| {
            format!(
                "reading {} parameter values in {region} (GetParameters)",
                names.len()
            )
        })?;
    Ok((batch, out.parameters.unwrap_or_default()))
}

/// Joins listed metadata with fetched values, in listing order. A listed name without a value
/// was deleted in between: it is returned apart, to be reported.
fn merge(
    batch: Vec<ParameterMetadata>,
    fetched: Vec<aws_sdk_ssm::types::Parameter>,
    tags: Option<&TagMap>,
) -> (Vec<BackupParameter>, Vec<String>) {
    let mut values: HashMap<String, aws_sdk_ssm::types::Parameter> = fetched
        .into_iter()
        .filter_map(|p| p.name.clone().map(|n| (n, p)))
        .collect();
    let mut parameters = Vec::with_capacity(batch.len());
    let mut vanished = Vec::new();
    for meta in batch {
        let Some(name) = meta.name else { continue };
        let Some(p) = values.remove(&name) else {
            vanished.push(name);
            continue;
        };
        parameters.push(BackupParameter {
            kind: p.r#type.map(|t| t.as_str().to_string()).unwrap_or_default(),
            value: Secret::new(p.value.unwrap_or_default()),
            data_type: p.data_type.or(meta.data_type),
            version: p.version,
            last_modified_date: p
                .last_modified_date
                .or(meta.last_modified_date)
                .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
            key_id: meta.key_id,
            tier: meta.tier.map(|t| t.as_str().to_string()),
            description: meta.description,
            allowed_pattern: meta.allowed_pattern,
            policies: meta
                .policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.policy_text)
                .collect(),
            tags: tags.map(|t| t.of(&name)),
            name,
        });
    }
    (parameters, vanished)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ssm::types::{Parameter, ParameterInlinePolicy, ParameterTier, ParameterType};

    fn meta(name: &str) -> ParameterMetadata {
        ParameterMetadata::builder()
            .name(name)
            .key_id("alias/aws/ssm")
            .tier(ParameterTier::Advanced)
            .description("d")
            .allowed_pattern("^.*$")
            .policies(
                ParameterInlinePolicy::builder()
                    .policy_text("{\"Type\":\"Expiration\"}")
                    .build(),
            )
            .build()
    }

    fn value(name: &str, v: &str) -> Parameter {
        Parameter::builder()
            .name(name)
            .r#type(ParameterType::SecureString)
            .value(v)
            .version(3)
            .data_type("text")
            .build()
    }

    #[test]
    fn joins_metadata_and_values_in_listing_order_and_reports_vanished() {
        let batch = vec![meta("/dev/b"), meta("/dev/gone"), meta("/dev/a")];
        let fetched = vec![value("/dev/a", "s3cr3t-a"), value("/dev/b", "s3cr3t-b")];
        let (parameters, vanished) = merge(batch, fetched, Some(&TagMap::default()));
        assert_eq!(vanished, vec!["/dev/gone"]);
        let names: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["/dev/b", "/dev/a"]);
        let b = &parameters[0];
        assert_eq!(
            (b.kind.as_str(), b.value.expose(), b.version),
            ("SecureString", "s3cr3t-b", 3)
        );
        assert_eq!(b.key_id.as_deref(), Some("alias/aws/ssm"));
        assert_eq!(b.tier.as_deref(), Some("Advanced"));
        assert_eq!(b.policies, vec!["{\"Type\":\"Expiration\"}"]);
        assert!(
            !format!("{b:?}").contains("s3cr3t"),
            "Debug masks the value"
        );
    }
}
