//! Store a backup document in S3 (SSE AES256, SHA-256 checksum) and, only once it is fully
//! stored, move the pointers to it.

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};

use crate::shell::aws::Aws;

/// Uploads `document` to `s3://{bucket}/{key}`.
pub async fn upload_document(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    document: Vec<u8>,
) -> Result<()> {
    let body = ByteStream::from(document);
    aws.s3(region)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .content_type("application/json")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .with_context(|| {
            format!("uploading the backup to s3://{bucket}/{key} in {region} (PutObject)")
        })?;
    Ok(())
}

/// Writes each pointer object with the key of the newest backup as its content.
pub async fn write_pointers(
    aws: &Aws,
    region: &str,
    bucket: &str,
    pointers: &[String],
    target: &str,
) -> Result<()> {
    let s3 = aws.s3(region);
    for pointer in pointers {
        s3.put_object()
            .bucket(bucket)
            .key(pointer)
            .body(ByteStream::from(target.as_bytes().to_vec()))
            .content_type("text/plain")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .with_context(|| {
                format!(
                    "moving the pointer s3://{bucket}/{pointer} in {region} to {target} (PutObject)"
                )
            })?;
    }
    Ok(())
}
