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

/// A bucket of its own (versioned) holding `objects` (key, tags), then `policy`'s statements
/// (every principal, on the bucket's objects) as its bucket policy.
async fn bucket_with_policy(
    bucket: &str,
    objects: &[(&str, Option<&str>)],
    statements: &[serde_json::Value],
) -> aws_sdk_s3::Client {
    let s3 = s3(R).await;
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (key, tags) in objects {
        let mut put = s3
            .put_object()
            .bucket(bucket)
            .key(*key)
            .body(b"x".to_vec().into());
        if let Some(tags) = tags {
            put = put.tagging(*tags);
        }
        put.send().await.unwrap();
    }
    set_policy(&s3, bucket, statements).await;
    s3
}

async fn set_policy(s3: &aws_sdk_s3::Client, bucket: &str, statements: &[serde_json::Value]) {
    let statements: Vec<serde_json::Value> = statements
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["Principal"] = "*".into();
            s["Resource"] = format!("arn:aws:s3:::{bucket}/*").into();
            s
        })
        .collect();
    let policy = serde_json::json!({ "Version": "2012-10-17", "Statement": statements });
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

fn deny(action: &str, condition: Option<serde_json::Value>) -> serde_json::Value {
    let mut statement = serde_json::json!({ "Effect": "Deny", "Action": action });
    if let Some(condition) = condition {
        statement["Condition"] = condition;
    }
    statement
}

fn tagging(key: &str, value: &str) -> aws_sdk_s3::types::Tagging {
    aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn assert_denied<E: ProvideErrorMetadata + std::fmt::Debug, T>(result: Result<T, E>, what: &str) {
    match result {
        Ok(_) => panic!("{what}: allowed"),
        Err(e) => assert_eq!(e.code(), Some("AccessDenied"), "{what}: {e:?}"),
    }
}

/// moto checked every object request against the bucket policy as s3:<Method>Object: a Deny of
/// s3:PutObjectTagging stopped no tagging, a Deny of s3:PutObject stopped it, and
/// s3:ExistingObjectTag was never set.
#[tokio::test]
async fn a_bucket_policy_refuses_re_tagging_a_stamped_object_only() {
    let bucket = "emulator-stamped-objects";
    let stamp = "ssm-keeper-sha256";
    let objects = [
        ("stamped", Some("ssm-keeper-sha256=abc")),
        ("unstamped", None),
    ];
    let conditions = [
        serde_json::json!({ "Null": { format!("s3:ExistingObjectTag/{stamp}"): "false" } }),
        serde_json::json!({ "StringLike": { format!("s3:ExistingObjectTag/{stamp}"): "*" } }),
    ];
    let s3 = bucket_with_policy(bucket, &objects, &[]).await;
    for condition in conditions {
        set_policy(
            &s3,
            bucket,
            &[deny("s3:PutObjectTagging", Some(condition.clone()))],
        )
        .await;
        let tag = |key: &'static str, value: &str| {
            s3.put_object_tagging()
                .bucket(bucket)
                .key(key)
                .tagging(tagging("other", value))
                .send()
        };
        assert_denied(
            tag("stamped", "1").await,
            &format!("re-tagging, {condition}"),
        );
        tag("unstamped", "1")
            .await
            .unwrap_or_else(|e| panic!("an unstamped object, {condition}: {e:?}"));
        // An upload's tags are the new object's: the old one's do not hold it back.
        s3.put_object()
            .bucket(bucket)
            .key("stamped")
            .body(b"y".to_vec().into())
            .tagging(format!("{stamp}=def"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("a new version, {condition}: {e:?}"));
    }
}

#[tokio::test]
async fn a_bucket_policy_authorizes_each_tagging_api_as_its_own_action() {
    let bucket = "emulator-tagging-actions";
    let s3 = bucket_with_policy(bucket, &[("o", Some("a=1"))], &[]).await;
    let version = s3
        .head_object()
        .bucket(bucket)
        .key("o")
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    let put_tags = |version: Option<&str>| {
        s3.put_object_tagging()
            .bucket(bucket)
            .key("o")
            .set_version_id(version.map(str::to_string))
            .tagging(tagging("a", "2"))
            .send()
    };
    let get_tags = |version: Option<&str>| {
        s3.get_object_tagging()
            .bucket(bucket)
            .key("o")
            .set_version_id(version.map(str::to_string))
            .send()
    };
    let delete_tags = |version: Option<&str>| {
        s3.delete_object_tagging()
            .bucket(bucket)
            .key("o")
            .set_version_id(version.map(str::to_string))
            .send()
    };
    let upload = |tags: Option<&str>| {
        s3.put_object()
            .bucket(bucket)
            .key("o")
            .body(b"x".to_vec().into())
            .set_tagging(tags.map(str::to_string))
            .send()
    };

    // A Deny of s3:PutObject alone: uploads stop, tagging does not.
    set_policy(&s3, bucket, &[deny("s3:PutObject", None)]).await;
    assert_denied(upload(None).await, "an upload under a Deny of s3:PutObject");
    put_tags(None)
        .await
        .expect("tagging is s3:PutObjectTagging");
    // A Deny of s3:PutObjectTagging: tagging stops, and so does an upload that carries tags.
    set_policy(&s3, bucket, &[deny("s3:PutObjectTagging", None)]).await;
    assert_denied(put_tags(None).await, "s3:PutObjectTagging");
    assert_denied(upload(Some("a=3")).await, "an upload with x-amz-tagging");
    upload(None).await.expect("an upload without tags");
    put_tags(Some(&version))
        .await
        .expect("a version's tags are s3:PutObjectVersionTagging");
    set_policy(&s3, bucket, &[deny("s3:PutObjectVersionTagging", None)]).await;
    assert_denied(put_tags(Some(&version)).await, "s3:PutObjectVersionTagging");
    put_tags(None).await.expect("s3:PutObjectTagging");

    // Reading tags: s3:GetObjectTagging, not s3:GetObject.
    set_policy(&s3, bucket, &[deny("s3:GetObject", None)]).await;
    get_tags(None).await.expect("s3:GetObjectTagging");
    set_policy(&s3, bucket, &[deny("s3:GetObjectTagging", None)]).await;
    assert_denied(get_tags(None).await, "s3:GetObjectTagging");
    get_tags(Some(&version))
        .await
        .expect("s3:GetObjectVersionTagging");
    s3.get_object()
        .bucket(bucket)
        .key("o")
        .send()
        .await
        .expect("s3:GetObject");
    set_policy(&s3, bucket, &[deny("s3:GetObjectVersionTagging", None)]).await;
    assert_denied(get_tags(Some(&version)).await, "s3:GetObjectVersionTagging");

    // Deleting tags: s3:DeleteObjectTagging, not s3:DeleteObject.
    set_policy(&s3, bucket, &[deny("s3:DeleteObject", None)]).await;
    delete_tags(None).await.expect("s3:DeleteObjectTagging");
    set_policy(&s3, bucket, &[deny("s3:DeleteObjectTagging", None)]).await;
    assert_denied(delete_tags(None).await, "s3:DeleteObjectTagging");
    delete_tags(Some(&version))
        .await
        .expect("s3:DeleteObjectVersionTagging");
    set_policy(&s3, bucket, &[deny("s3:DeleteObjectVersionTagging", None)]).await;
    assert_denied(
        delete_tags(Some(&version)).await,
        "s3:DeleteObjectVersionTagging",
    );
    s3.delete_object()
        .bucket(bucket)
        .key("o")
        .send()
        .await
        .expect("s3:DeleteObject");
}
