//! The backup's fixed overhead on a network: through the proxy's latency mode
//! (`BENCH_LATENCY_MS` each way, default 10), the backup of 1,000 parameters (and 200 of another
//! environment) beside the DescribeParameters listing chain alone, as backup pages it, and
//! beside that listing with the value reads beside it, 8 at a time (the floor any client meets
//! on this single-process emulator; also straight to the emulator: its own time for them).
//! Five rounds of each; the ratio of each round's backup to the same round's listing with
//! values, and their median (#32's goal: 1.2). Asserts only that the backup succeeded.
//! Ignored by default: `cargo test --release --test it bench_latency -- --ignored --nocapture`.

use crate::common::*;
use crate::proxy::Proxy;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const A: &str = "us-east-1";
const ENV: &str = "bnlat";
const OTHER: &str = "bnlatother";
const RUNS: usize = 5;

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn bench_latency() {
    let delay_ms: u64 = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .map(|v| v.parse().expect("BENCH_LATENCY_MS: milliseconds"))
        .unwrap_or(10);
    let ws = Workspace::new(ENV, &[A], A);
    ws.apply();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        seed(ENV, 1000).await;
        seed(OTHER, 200).await;
    });
    let proxy = Proxy::start(19);
    proxy.latency(Duration::from_millis(delay_ms));

    // Rounds of the three, so that each sees the same load on the shared machine.
    let (mut listing, mut collection, mut best, mut ratios) = (f64::MAX, f64::MAX, None, vec![]);
    let mut served = f64::MAX;
    let mut pages = 0;
    for _ in 0..RUNS {
        let (seconds, n) = runtime.block_on(listing_chain(&proxy));
        (listing, pages) = (listing.min(seconds), n);
        let with_values = runtime.block_on(collection_chain(Some(&proxy)));
        collection = collection.min(with_values);
        served = served.min(runtime.block_on(collection_chain(None)));
        proxy.reset_latency_counts();
        let run = backup(&ws, &proxy);
        ratios.push(run.seconds / with_values);
        if best
            .as_ref()
            .is_none_or(|b: &Backup| run.seconds < b.seconds)
        {
            best = Some(run);
        }
    }
    report(
        delay_ms,
        (listing, pages, collection, served),
        &best.unwrap(),
        &ratios,
    );
}

fn report(
    delay_ms: u64,
    (listing, pages, collection, served): (f64, usize, f64, f64),
    best: &Backup,
    ratios: &[f64],
) {
    let calls: u64 = best.calls.values().sum();
    let by_operation: Vec<String> = best
        .calls
        .iter()
        .map(|(k, v)| format!("{}={v}", k.split('.').nth(1).unwrap_or(k)))
        .collect();
    let mut sorted = ratios.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let ratios: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "\nbackup of 1,000 parameters (+200 of another environment), {delay_ms} ms each way, {RUNS} rounds (times: the best)\n\
         binary:                 {}\n\
         listing chain alone:    {listing:.3} s ({pages} DescribeParameters pages)\n\
         listing + values:       {collection:.3} s (the same chain with backup's GetParameters beside it)\n\
         the same, no latency:   {served:.3} s (the emulator's own time for them: it serves one at a time)\n\
         backup:                 {:.3} s: {:.3} s to its first request, {:.3} s from its first page to its last, {:.3} s after\n\
         ratio to listing+values: median {median:.2} of {RUNS} rounds (each round, to its own listing + values: {}); best backup to the best listing alone {:.2}, to the best listing + values {:.2}\n\
         API calls:              {calls} ({})\n\
         connections accepted:   {}\n\
         most in flight:         {}\n\
         peak memory (RSS):      {:.1} MiB",
        env!("CARGO_BIN_EXE_ssm-keeper"),
        best.seconds,
        best.phases[0],
        best.phases[1],
        best.phases[2],
        ratios.join(", "),
        best.seconds / listing,
        best.seconds / collection,
        by_operation.join(", "),
        best.connections,
        best.max_in_flight,
        best.peak_mib,
    );
}

/// `count` parameters of `env`, every fifth a SecureString, as `scripts/seed-parameters.py`.
async fn seed(env: &str, count: usize) {
    let ssm = ssm(A).await;
    futures::stream::iter(0..count)
        .map(|i| {
            let ssm = ssm.clone();
            async move {
                let kind = if i % 5 == 0 {
                    ParameterType::SecureString
                } else {
                    ParameterType::String
                };
                ssm.put_parameter()
                    .name(format!("/bench/{env}/group{:03}/param{i:05}", i / 100))
                    .value(format!("value-{i:05}-{}", "x".repeat(64)))
                    .r#type(kind)
                    .overwrite(true)
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// An SSM client of the test's own, through the proxy (else straight to the emulator).
async fn client(proxy: Option<&Proxy>) -> aws_sdk_ssm::Client {
    let emu = emulator();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new(A))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .endpoint_url(proxy.map_or(&emu.endpoint, |p| &p.endpoint))
        .http_client(ssm_keeper::shell::tls::https_client_trusting(&emu.ca_bundle).unwrap())
        .load()
        .await;
    aws_sdk_ssm::Client::new(&config)
}

/// The DescribeParameters calls backup makes (its filter, pages of 50), one after the other,
/// through the proxy, each page's names sent on in tens: seconds and pages.
async fn list(ssm: &aws_sdk_ssm::Client, batches: mpsc::Sender<Vec<String>>) -> (f64, usize) {
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Contains")
        .values(format!("/{ENV}/"))
        .build()
        .unwrap();
    let started = Instant::now();
    let (mut token, mut pages, mut names) = (None, 0, 0);
    loop {
        let page = ssm
            .describe_parameters()
            .parameter_filters(filter.clone())
            .max_results(50)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        names += page.parameters().len();
        let listed: Vec<String> = page
            .parameters()
            .iter()
            .filter_map(|p| p.name.clone())
            .collect();
        for batch in listed.chunks(10) {
            let _ = batches.send(batch.to_vec()).await;
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert!(names >= 1000, "listed {names}");
    (started.elapsed().as_secs_f64(), pages)
}

/// The listing chain alone (its names dropped): seconds and pages.
async fn listing_chain(proxy: &Proxy) -> (f64, usize) {
    let ssm = client(Some(proxy)).await;
    let (batches, mut dropped) = mpsc::channel(64);
    let drain = async { while dropped.recv().await.is_some() {} };
    let (listed, ()) = tokio::join!(list(&ssm, batches), drain);
    listed
}

/// The listing chain with backup's value reads beside it (GetParameters of ten, decrypted, 8
/// in flight) and nothing else: what backup cannot go below on this emulator, which serves
/// both from one process. Seconds.
async fn collection_chain(proxy: Option<&Proxy>) -> f64 {
    let ssm = client(proxy).await;
    let started = Instant::now();
    let (batches, pages) = mpsc::channel::<Vec<String>>(16);
    let fetch = tokio_stream::wrappers::ReceiverStream::new(pages)
        .map(|names| {
            let ssm = ssm.clone();
            async move {
                let out = ssm
                    .get_parameters()
                    .set_names(Some(names))
                    .with_decryption(true)
                    .send()
                    .await
                    .unwrap();
                out.parameters().len()
            }
        })
        .buffered(8)
        .fold(0, |n, got| async move { n + got });
    let (_, fetched) = tokio::join!(list(&ssm, batches), fetch);
    assert!(fetched >= 1000, "fetched {fetched}");
    started.elapsed().as_secs_f64()
}

struct Backup {
    seconds: f64,
    /// As the server's side saw the run: from its start to its first request, from its first
    /// listing page to its last, from its last page to its end (seconds).
    phases: [f64; 3],
    peak_mib: f64,
    calls: std::collections::BTreeMap<String, u64>,
    connections: usize,
    max_in_flight: usize,
}

/// One backup through the proxy, paced at the highest ceiling (an account with raised quotas: the
/// fixed overhead, not the pacing, is measured).
fn backup(ws: &Workspace, proxy: &Proxy) -> Backup {
    let stats = ws.path("calls.json");
    let stats_arg = stats.display().to_string();
    let args = [
        "--api-stats",
        &stats_arg,
        "backup",
        "--stack",
        ENV,
        "--max-rps",
        "10000",
    ];
    proxy.clear_record();
    let measured = ws.measure(&args, &proxy.env());
    assert_eq!(measured.run.code, 0, "backup failed: {:#?}", measured.run);
    let record = proxy.record();
    let pages: Vec<std::time::SystemTime> = record
        .iter()
        .filter(|r| r.operation == "ssm:DescribeParameters")
        .map(|r| r.at)
        .collect();
    let first = record.iter().map(|r| r.at).min().unwrap();
    let (first_page, last_page) = (*pages.first().unwrap(), *pages.last().unwrap());
    let end = measured.started + Duration::from_secs_f64(measured.seconds);
    let span = |from: std::time::SystemTime, to: std::time::SystemTime| {
        to.duration_since(from).unwrap_or_default().as_secs_f64()
    };
    Backup {
        seconds: measured.seconds,
        phases: [
            span(measured.started, first),
            span(first_page, last_page),
            span(last_page, end),
        ],
        peak_mib: measured.peak_mib,
        calls: serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap(),
        connections: proxy.connections(),
        max_in_flight: proxy.client_max_in_flight(),
    }
}
