//! S3 (emulator/keeper_emulator/s3.py): bucket policy conditions, GetBucketVersioning's root,
//! the expected bucket owner.

use super::R;
use crate::common::*;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::ServerSideEncryption;

async fn managed_bucket(env: &str) -> (Workspace, String) {
    let ws = Workspace::new(env, &[R], R);
    ws.apply();
    let bucket = ws.bucket(R);
    (ws, bucket)
}

#[tokio::test]
async fn bucket_policy_denies_plain_http_and_unencrypted_uploads_only() {
    let (_ws, bucket) = managed_bucket("policy").await;
    let body = || aws_sdk_s3::primitives::ByteStream::from(b"x".to_vec());

    let tls = s3(R).await;
    tls.put_object()
        .bucket(&bucket)
        .key("encrypted")
        .body(body())
        .server_side_encryption(ServerSideEncryption::Aes256)
        .if_none_match("*")
        .send()
        .await
        .expect("an encrypted upload over TLS is allowed");

    let err = tls
        .put_object()
        .bucket(&bucket)
        .key("plain")
        .body(body())
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("AccessDenied"),
        "unencrypted upload: {err:?}"
    );

    let http = s3_plain_http(R).await;
    let err = http
        .put_object()
        .bucket(&bucket)
        .key("over-http")
        .body(body())
        .server_side_encryption(ServerSideEncryption::Aes256)
        .if_none_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "plain HTTP: {err:?}");
    let err = http
        .get_object()
        .bucket(&bucket)
        .key("encrypted")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "plain HTTP read: {err:?}");

    assert!(
        tls.get_object()
            .bucket(&bucket)
            .key("encrypted")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_bucket_policy_makes_backup_documents_create_only() {
    let (_ws, bucket) = managed_bucket("condput").await;
    let s3 = s3(R).await;
    let put = |key: &str, condition: Option<(&str, String)>| {
        let mut request = s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(b"x".to_vec().into())
            .server_side_encryption(ServerSideEncryption::Aes256);
        request = match condition {
            Some(("If-None-Match", v)) => request.if_none_match(v),
            Some((_, v)) => request.if_match(v),
            None => request,
        };
        request.send()
    };
    let denied = |result: Result<_, aws_sdk_s3::error::SdkError<_, _>>, what: &str| {
        let err: aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::put_object::PutObjectError, _> =
            result.expect_err(what);
        assert_eq!(err.code(), Some("AccessDenied"), "{what}: {err:?}");
    };
    // A blind document write is refused; a pointer, or the old script's key, is not a document.
    denied(
        put("2026-11-29/r/doc.json", None).await,
        "a blind document write",
    );
    put("latest-x.txt", None).await.expect("a pointer");
    put("2026-11-29/ssm-backup-condput-20261129_130000.json", None)
        .await
        .expect("the old script's key");
    let again = put("latest-x.txt", Some(("If-None-Match", "*".into())))
        .await
        .expect_err("a pointer that exists is not created again");
    assert_eq!(again.code(), Some("PreconditionFailed"), "{again:?}");
    // A document is created once and never replaced, even by a write that names its version.
    let document = put("2026-11-29/r/doc.json", Some(("If-None-Match", "*".into())))
        .await
        .expect("creating a document");
    denied(
        put(
            "2026-11-29/r/doc.json",
            Some(("If-Match", document.e_tag.unwrap())),
        )
        .await,
        "replacing a document",
    );
    let again = put("2026-11-29/r/doc.json", Some(("If-None-Match", "*".into())))
        .await
        .expect_err("a second create");
    assert_eq!(again.code(), Some("PreconditionFailed"), "{again:?}");
}

#[tokio::test]
async fn versioning_reads_back_enabled() {
    let (_ws, bucket) = managed_bucket("versions").await;
    let out = s3(R)
        .await
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().map(|s| s.as_str()), Some("Enabled"));
}

#[tokio::test]
async fn expected_bucket_owner_is_enforced_as_aws_does() {
    let bucket = "itest-foreign-owned-bucket";
    create_bucket_of_account(R, bucket, "111111111111").await;
    let s3 = s3(R).await;
    let err = s3
        .head_bucket()
        .bucket(bucket)
        .expected_bucket_owner(ACCOUNT)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.raw_response().map(|r| r.status().as_u16()),
        Some(403),
        "{err:?}"
    );
    let err = s3
        .put_object()
        .bucket(bucket)
        .key("k")
        .body(b"x".to_vec().into())
        .expected_bucket_owner(ACCOUNT)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&err),
        Some("AccessDenied")
    );
    s3.head_bucket()
        .bucket(bucket)
        .expected_bucket_owner("111111111111")
        .send()
        .await
        .expect("the right owner is let through");
    s3.head_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("without the header, as before");
}
