//! The emulator behaves as AWS does where moto 5.2.5 does not (see emulator/launch.py):
//! bucket policy conditions, GetBucketVersioning, DescribeParameters page size, listings beside
//! writes.

use crate::common::*;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::ServerSideEncryption;
use futures::{StreamExt, TryStreamExt};

const R: &str = "us-east-1";

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

/// AWS serves listings beside writes; moto iterated over the region's parameters while another
/// thread's write changed them, and half the listings beside a writer answered 500.
#[tokio::test]
async fn listings_never_fail_while_parameters_are_written() {
    // No retry: a failed listing shows.
    let ssm = aws_sdk_ssm::Client::from_conf(
        ssm(R)
            .await
            .config()
            .to_builder()
            .retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled())
            .build(),
    );
    futures::stream::iter(0..300)
        .map(|i| {
            ssm.put_parameter()
                .name(format!("/emuconc/p{i:03}"))
                .value("v")
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send()
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let writing = std::sync::atomic::AtomicBool::new(true);
    let writer = async {
        for i in 0..200 {
            let name = format!("/emuconc/w{i:03}");
            ssm.put_parameter()
                .name(&name)
                .value("v")
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send()
                .await
                .unwrap();
            ssm.delete_parameter().name(&name).send().await.unwrap();
        }
        writing.store(false, std::sync::atomic::Ordering::SeqCst);
    };
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Name")
        .option("Contains")
        .values("/emuconc/")
        .build()
        .unwrap();
    let reader = async {
        let (mut listings, mut failed) = (0, Vec::new());
        while writing.load(std::sync::atomic::Ordering::SeqCst) {
            let listed = ssm
                .describe_parameters()
                .parameter_filters(filter.clone())
                .max_results(50)
                .send()
                .await;
            listings += 1;
            if let Err(e) = listed {
                failed.push(format!("{e:?}"));
            }
        }
        (listings, failed)
    };
    let ((), (listings, failed)) = tokio::join!(writer, reader);
    assert!(
        listings > 10,
        "the listings ran beside the writes: {listings}"
    );
    assert!(
        failed.is_empty(),
        "{} of {listings} listings failed beside the writes: {:?}",
        failed.len(),
        failed.first()
    );
}

#[tokio::test]
async fn describe_parameters_returns_pages_of_fifty() {
    let ssm = ssm("ca-central-1").await; // a region no other test uses
    for i in 0..120 {
        ssm.put_parameter()
            .name(format!("/pages/p{i:03}"))
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    let mut sizes = Vec::new();
    let mut pages = ssm
        .describe_parameters()
        .max_results(50)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        sizes.push(page.unwrap().parameters().len());
    }
    assert_eq!(sizes, vec![50, 50, 20]);
    // A later page is never older than the last change: a parameter written between the first
    // and second page is on the last one.
    let first = ssm
        .describe_parameters()
        .max_results(50)
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/pages/p120")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap();
    let second = ssm
        .describe_parameters()
        .max_results(50)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let last = ssm
        .describe_parameters()
        .max_results(50)
        .next_token(second.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(last.parameters().len(), 21, "{last:?}");
    let err = ssm
        .describe_parameters()
        .max_results(51)
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("ValidationException"),
        "{err:?}"
    );
}

#[test]
fn ca_bundle_comes_from_the_environment_or_the_profile() {
    let ws = Workspace::new("cabundle", &[R], R);
    let bundle = emulator().ca_bundle.display().to_string();
    std::fs::write(
        ws.path("config"),
        format!("[profile emu]\nca_bundle = {bundle}\nregion = {R}\n"),
    )
    .unwrap();
    let config = ws.path("config").display().to_string();
    let run = ws.run_with(
        &["plan", "--stack", "cabundle"],
        &[
            ("AWS_CA_BUNDLE", None),
            ("AWS_CONFIG_FILE", Some(&config)),
            ("AWS_PROFILE", Some("emu")),
        ],
    );
    assert_eq!(run.code, 0, "the profile's ca_bundle is trusted: {run:#?}");
    // The same profile chosen with --profile, as with the AWS CLI.
    let run = ws.run_with(
        &["--profile", "emu", "plan", "--stack", "cabundle"],
        &[("AWS_CA_BUNDLE", None), ("AWS_CONFIG_FILE", Some(&config))],
    );
    assert_eq!(run.code, 0, "--profile selects the profile: {run:#?}");

    // Without any bundle the emulator's certificate is not trusted.
    let run = ws.run_with(&["plan", "--stack", "cabundle"], &[("AWS_CA_BUNDLE", None)]);
    assert_eq!(run.code, 1, "{run:#?}");

    // A broken bundle is a clear error, not a panic at the first request.
    std::fs::write(
        ws.path("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n",
    )
    .unwrap();
    let broken = ws.path("broken.pem").display().to_string();
    let run = ws.run_with(
        &["plan", "--stack", "cabundle"],
        &[("AWS_CA_BUNDLE", Some(&broken))],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("AWS_CA_BUNDLE"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    // Well-formed PEM around bytes that are no certificate: also an error, not a panic.
    std::fs::write(
        ws.path("garbage.pem"),
        format!(
            "{}-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
            std::fs::read_to_string(&emulator().ca_bundle).unwrap()
        ),
    )
    .unwrap();
    let garbage = ws.path("garbage.pem").display().to_string();
    let run = ws.run_with(
        &["plan", "--stack", "cabundle"],
        &[("AWS_CA_BUNDLE", Some(&garbage))],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("certificate 2 of the CA bundle"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn endpoint_url_flag_works_without_the_environment_variable() {
    let ws = Workspace::new("endpoint", &[R], R);
    let endpoint = emulator().endpoint.clone();
    let run = ws.run_with(
        &["--endpoint-url", &endpoint, "plan", "--stack", "endpoint"],
        &[("AWS_ENDPOINT_URL", None)],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("Plan: 5 to create"), "{}", run.stdout);
}

/// Reads one HTTP/1.1 response (headers and a Content-Length body) from a kept-alive connection.
fn read_response(reader: &mut impl std::io::BufRead) -> (String, String) {
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "connection closed after: {head}"
        );
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    std::io::Read::read_exact(reader, &mut body).unwrap();
    (head, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn connections_are_kept_alive() {
    use std::io::Write;
    let address = emulator()
        .http_endpoint
        .trim_start_matches("http://")
        .to_string();
    let stream = std::net::TcpStream::connect(&address).unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for _ in 0..3 {
        writer
            .write_all(format!("GET / HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
            .unwrap();
        let (head, body) = read_response(&mut reader);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
        assert!(body.contains("ListAllMyBucketsResult"), "{body}");
    }
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

#[tokio::test]
async fn parameter_policies_read_back_as_json_text() {
    let ssm = ssm(R).await;
    let policy = r#"{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}"#;
    ssm.put_parameter()
        .name("/emulator/policies/x")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .tier(aws_sdk_ssm::types::ParameterTier::Advanced)
        .policies(format!("[{policy}]"))
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let out = ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values("/emulator/policies/x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let policies = out.parameters()[0].policies();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].policy_text(), Some(policy));
    assert_eq!(policies[0].policy_type(), Some("Expiration"));
}

#[tokio::test]
async fn a_parameter_can_be_written_as_long_ago() {
    put_string_aged(R, "/emulator/aged/x", "v", 16 * 60).await;
    let out = ssm(R)
        .await
        .get_parameter()
        .name("/emulator/aged/x")
        .send()
        .await
        .unwrap();
    let modified = out
        .parameter()
        .unwrap()
        .last_modified_date()
        .unwrap()
        .secs();
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - modified;
    assert!((16 * 60..17 * 60).contains(&age), "written {age} s ago");
}

#[tokio::test]
async fn an_advanced_parameter_cannot_go_back_to_standard() {
    let ssm = ssm(R).await;
    let put = |tier: aws_sdk_ssm::types::ParameterTier| {
        ssm.put_parameter()
            .name("/emulator/tier/x")
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tier(tier)
            .overwrite(true)
            .send()
    };
    put(aws_sdk_ssm::types::ParameterTier::Advanced)
        .await
        .unwrap();
    let e = put(aws_sdk_ssm::types::ParameterTier::Standard)
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&e),
        Some("ValidationException")
    );
    assert!(
        aws_sdk_ssm::error::ProvideErrorMetadata::message(&e).is_some_and(
            |m| m.contains("can't downgrade a parameter from the advanced-parameter tier")
        ),
        "{e:?}"
    );
    put(aws_sdk_ssm::types::ParameterTier::Advanced)
        .await
        .unwrap();
}
