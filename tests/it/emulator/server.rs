//! The server (emulator/keeper_emulator/server.py): TLS and the CA bundle, kept-alive
//! connections, listings beside writes (one request at a time).

use super::R;
use crate::common::*;
use futures::{StreamExt, TryStreamExt};

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
