//! Retries and timeouts as the AWS CLI has them: AWS_MAX_ATTEMPTS / the profile's max_attempts
//! decide how often a failing request is tried, a stalled response is cut by --read-timeout, and
//! a value the SDK would panic on is a clear error. Against a local peer that fails on purpose.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy)]
enum Peer {
    /// Answers every request 500 Internal Server Error.
    Fails,
    /// Reads every request and never answers.
    Stalls,
    /// Answers every request 400 with this body.
    Answers(&'static str),
}

/// A plain-HTTP endpoint on 127.0.0.1 that misbehaves as told; counts the requests it read.
fn peer(mode: Peer) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let _ = reader.read_exact(&mut vec![0; length]);
            seen.fetch_add(1, Ordering::SeqCst);
            match mode {
                Peer::Fails => {
                    let _ = (&stream).write_all(
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
                Peer::Stalls => held.push(stream),
                Peer::Answers(body) => {
                    let _ = (&stream).write_all(
                        format!(
                            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                }
            }
        }
    });
    (url, count)
}

fn plan_against(url: &str, extra: &[(&str, Option<&str>)], args: &[&str]) -> Run {
    let ws = Workspace::new("net", &["us-east-1"], "us-east-1");
    let mut env = vec![("AWS_ENDPOINT_URL", Some(url))];
    env.extend_from_slice(extra);
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["plan", "--stack", "net"]);
    let run = ws.run_with(&full, &env);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

#[test]
fn aws_max_attempts_decides_how_often_a_failing_request_is_tried() {
    let (url, served) = peer(Peer::Fails);
    let run = plan_against(&url, &[("AWS_MAX_ATTEMPTS", Some("2"))], &[]);
    assert_eq!(served.load(Ordering::SeqCst), 2, "{run:#?}");
    assert!(run.stderr.contains("GetCallerIdentity"), "{}", run.stderr);
}

#[test]
fn the_profiles_max_attempts_counts_too_and_the_default_is_five() {
    let (url, served) = peer(Peer::Fails);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile flaky]\nmax_attempts = 3\n").unwrap();
    let config = config.display().to_string();
    plan_against(
        &url,
        &[
            ("AWS_CONFIG_FILE", Some(&config)),
            ("AWS_PROFILE", Some("flaky")),
        ],
        &[],
    );
    assert_eq!(served.load(Ordering::SeqCst), 3);

    let (url, served) = peer(Peer::Fails);
    plan_against(&url, &[("AWS_MAX_ATTEMPTS", None)], &[]);
    assert_eq!(served.load(Ordering::SeqCst), 5, "ssm-keeper's default");
}

#[test]
fn a_stalled_response_is_cut_by_the_read_timeout() {
    let (url, served) = peer(Peer::Stalls);
    let run = plan_against(
        &url,
        &[("AWS_MAX_ATTEMPTS", Some("2"))],
        &["--read-timeout", "300ms"],
    );
    assert_eq!(served.load(Ordering::SeqCst), 2, "cut, then retried once");
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
}

#[test]
fn retry_settings_the_sdk_would_panic_on_are_clear_errors() {
    let (url, served) = peer(Peer::Fails);
    let run = plan_against(&url, &[("AWS_MAX_ATTEMPTS", Some("0"))], &[]);
    assert!(
        run.stderr.contains("must be a whole number from 1 to 100"),
        "{}",
        run.stderr
    );
    let run = plan_against(&url, &[("AWS_RETRY_MODE", Some("legacy"))], &[]);
    assert!(
        run.stderr.contains("use `standard` or `adaptive`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        served.load(Ordering::SeqCst),
        0,
        "refused before any request"
    );
}

/// The `cause:` line a failed plan printed.
fn cause(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.starts_with("cause: "))
        .unwrap_or_else(|| panic!("no cause line:\n{}", run.stderr))
}

#[test]
fn each_network_and_credential_failure_names_its_own_cause() {
    let once = [("AWS_MAX_ATTEMPTS", Some("1"))];
    // Nothing listens there.
    let run = plan_against("http://127.0.0.1:9", &once, &[]);
    assert!(
        cause(&run).contains("(connection refused)"),
        "{}",
        run.stderr
    );
    // A name no DNS resolves (.invalid is reserved for that).
    let run = plan_against("https://ssm-keeper-test.invalid", &once, &[]);
    assert!(
        cause(&run).contains("could not be resolved (DNS)"),
        "{}",
        run.stderr
    );
    // The emulator's certificate, without its CA in AWS_CA_BUNDLE.
    let endpoint = emulator().endpoint.clone();
    let run = plan_against(
        &endpoint,
        &[
            ("AWS_MAX_ATTEMPTS", Some("1")),
            ("AWS_CA_BUNDLE", None),
            ("SSL_CERT_FILE", None),
        ],
        &[],
    );
    assert!(
        cause(&run).contains("is not trusted (unknown issuer)"),
        "{}",
        run.stderr
    );
    // A server that never answers.
    let (url, _) = peer(Peer::Stalls);
    let run = plan_against(&url, &once, &["--read-timeout", "300ms"]);
    assert!(
        cause(&run).contains("did not answer in time (timeout)"),
        "{}",
        run.stderr
    );
    // No credentials anywhere.
    let run = plan_against(
        &endpoint,
        &[
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
            ("AWS_CONFIG_FILE", Some("/nonexistent")),
            ("AWS_SHARED_CREDENTIALS_FILE", Some("/nonexistent")),
        ],
        &[],
    );
    assert!(
        cause(&run).contains("no AWS credentials were found"),
        "{}",
        run.stderr
    );
    // Credentials AWS says have expired.
    let (url, _) = peer(Peer::Answers(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>1</RequestId></ErrorResponse>",
    ));
    let run = plan_against(&url, &once, &[]);
    assert!(
        cause(&run)
            .starts_with("cause: the AWS credentials have expired (ExpiredToken): log in again"),
        "{}",
        run.stderr
    );
    // Each is its own message, and none blames the credentials when the network failed.
    let run = plan_against("http://127.0.0.1:9", &once, &[]);
    assert!(!run.stderr.contains("credentials"), "{}", run.stderr);
}
