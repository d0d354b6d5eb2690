//! The second copy of a region's backup, in the bucket the stack keeps in another region (the
//! stack's `copies`): written after the primary is stored and pointed to, with the same bytes,
//! stamp and checksum, under the destination bucket's own encryption, never over an existing
//! object, and its own pointer moved only from the version found before the run.

use anyhow::{Context, Result, bail};
use bytes::Bytes;

use crate::core::backup::DocumentHeader;
use crate::core::desired::region_bucket_parameter;
use crate::core::stack::bucket_name;
use crate::core::stamp::Stamp;
use crate::core::store::{DocumentEncryption, copy_document_key, copy_pointer_key};
use crate::shell::aws::Aws;
use crate::shell::ssm::read_values;
use crate::shell::store::{
    PointerVersion, document_encryption, pointer_versions, put_document, write_pointers,
};

/// Where a region's copy goes, as found before the run collects anything.
#[derive(Debug, Clone)]
pub struct CopyTarget {
    pub region: String,
    pub bucket: String,
    pub pointers: Vec<PointerVersion>,
    pub encryption: DocumentEncryption,
}

/// The one bucket the stack computes for `region`. Its reads may go out beside the check of its
/// parameter (`stack_bucket`), which gates every write and every value read.
pub fn computed_bucket(header: &DocumentHeader, project: &str, region: &str) -> String {
    bucket_name(project, &header.environment, &header.account, region)
}

/// The bucket the stack names in `region` (its parameter there), only if it is the one the
/// stack computes: decrypted parameters go nowhere else.
pub async fn stack_bucket(
    aws: &Aws,
    header: &DocumentHeader,
    project: &str,
    region: &str,
) -> Result<String> {
    let parameter = region_bucket_parameter(&header.environment, region);
    let bucket = read_values(aws, region, std::slice::from_ref(&parameter))
        .await?
        .remove(0)
        .with_context(|| {
            format!("Bucket definition missing for {region} ({parameter} is not set in {region})")
        })?;
    let expected = computed_bucket(header, project, region);
    if bucket != expected {
        bail!(
            "{parameter} in {region} names the bucket `{bucket}`, but the stack's bucket for {region} is `{expected}`: refusing to send the decrypted parameters anywhere else; run `ssm-keeper plan --stack {}` to see the drift and `apply` to correct it",
            header.environment
        );
    }
    Ok(bucket)
}

/// The copy's destination in `destination`: its bucket, its pointer as it is now, and how the
/// bucket encrypts documents.
pub async fn prepare(
    aws: &Aws,
    header: &DocumentHeader,
    project: &str,
    destination: &str,
) -> Result<CopyTarget> {
    // The bucket's reads go out beside the check of its parameter, which decides.
    let computed = computed_bucket(header, project, destination);
    let keys = [copy_pointer_key(&header.region)];
    // A failed check ends the preparation at once, whatever the reads are waiting for.
    let checked = async {
        stack_bucket(aws, header, project, destination)
            .await
            .with_context(|| {
                format!(
                    "the copy of {}'s backup goes to {destination}",
                    header.region
                )
            })
    };
    let (bucket, (pointers, encryption)) = tokio::try_join!(checked, async {
        Ok(tokio::join!(
            pointer_versions(aws, destination, &computed, &keys),
            document_encryption(aws, destination, &computed)
        ))
    })?;
    Ok(CopyTarget {
        region: destination.to_string(),
        bucket,
        pointers: pointers?,
        encryption: encryption?,
    })
}

/// Stores the copy of the document stored at `primary_key` and moves the copy's pointer to it;
/// the copy's key.
pub async fn write(
    aws: &Aws,
    target: &CopyTarget,
    primary_key: &str,
    document: Bytes,
    stamp: &Stamp,
) -> Result<String> {
    let key = copy_document_key(primary_key);
    let CopyTarget {
        region,
        bucket,
        pointers,
        encryption,
    } = target;
    put_document(aws, region, bucket, &key, document, stamp, encryption).await?;
    write_pointers(aws, region, bucket, pointers, &key).await?;
    Ok(key)
}
