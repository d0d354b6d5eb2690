//! Store a backup document in S3 (SSE AES256, SHA-256 checksum, never over an existing object)
//! and, only once it is fully stored, move the pointers to it.

use anyhow::{Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};

use crate::shell::aws::Aws;
use crate::shell::verify::sha256_base64;

/// Uploads `document` to `s3://{bucket}/{key}`, never over an existing object (a backup key is
/// written once: `If-None-Match: *`). A key that already holds exactly these bytes (a re-run in
/// the same second) counts as stored; any other is an error.
pub async fn upload_document(
    aws: &Aws,
    region: &str,
    bucket: &str,
    key: &str,
    document: Vec<u8>,
) -> Result<()> {
    let digest = sha256_base64(&document);
    let sent = aws
        .s3(region)
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(document))
        .content_type("application/json")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .if_none_match("*")
        .send()
        .await;
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
            Err(anyhow::Error::new(e).context(format!(
                "{}: a different backup already holds that key, and a backup is never overwritten; run the backup again",
                context()
            )))
        }
        Err(e) => Err(anyhow::Error::new(e).context(context())),
    }
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
