//! The backup's fixed overhead on a network: through the proxy's latency mode
//! (`BENCH_LATENCY_MS` each way, default 10), the backup of 1,000 parameters (and 200 of another
//! environment) beside the DescribeParameters listing chain alone, as backup pages it. Reports
//! figures, best of 3 each; asserts only that the backup succeeded. Ignored by default:
//! `cargo test --release --test it bench_latency -- --ignored --nocapture`.

use crate::common::*;
use crate::proxy::Proxy;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use futures::StreamExt;
use std::time::{Duration, Instant};

const A: &str = "us-east-1";
const ENV: &str = "bnlat";
const OTHER: &str = "bnlatother";
const RUNS: usize = 3;

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

    let (listing, pages) = (0..RUNS)
        .map(|_| runtime.block_on(listing_chain(&proxy)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    let listing_connections = proxy.connections();

    let mut best: Option<Backup> = None;
    for _ in 0..RUNS {
        proxy.reset_latency_counts();
        let run = backup(&ws, &proxy);
        if best.as_ref().is_none_or(|b| run.seconds < b.seconds) {
            best = Some(run);
        }
    }
    let best = best.unwrap();
    let calls: u64 = best.calls.values().sum();
    println!(
        "\nbackup of 1,000 parameters (+200 of another environment), {delay_ms} ms each way, best of {RUNS}\n\
         binary:                 {}\n\
         listing chain alone:    {listing:.3} s ({pages} DescribeParameters pages, {listing_connections} connections over {RUNS} runs)\n\
         backup:                 {:.3} s\n\
         ratio:                  {:.2}\n\
         API calls:              {calls} ({})\n\
         connections accepted:   {}\n\
         most in flight:         {}\n\
         peak memory (RSS):      {:.1} MiB",
        env!("CARGO_BIN_EXE_ssm-keeper"),
        best.seconds,
        best.seconds / listing,
        best.calls
            .iter()
            .map(|(k, v)| format!("{}={v}", k.split('.').nth(1).unwrap_or(k)))
            .collect::<Vec<_>>()
            .join(", "),
        best.connections,
        best.max_in_flight,
        best.peak_kib as f64 / 1024.0,
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

/// The DescribeParameters calls backup makes (its filter, pages of 50), one after the other,
/// through the proxy: seconds and pages.
async fn listing_chain(proxy: &Proxy) -> (f64, usize) {
    let emu = emulator();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new(A))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .endpoint_url(&proxy.endpoint)
        .http_client(ssm_keeper::shell::tls::https_client_trusting(&emu.ca_bundle).unwrap())
        .load()
        .await;
    let ssm = aws_sdk_ssm::Client::new(&config);
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
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert!(names >= 1000, "listed {names}");
    (started.elapsed().as_secs_f64(), pages)
}

struct Backup {
    seconds: f64,
    peak_kib: u64,
    calls: std::collections::BTreeMap<String, u64>,
    connections: usize,
    max_in_flight: usize,
}

/// Measures a child's wall time and peak RSS from a parent of its own (the test process has
/// other children): prints `code seconds maxrss_kib`.
const MEASURE: &str = "import resource, subprocess, sys, time
t0 = time.monotonic()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, time.monotonic() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";

/// One backup through the proxy, without a request budget (the fixed overhead, not the pacing,
/// is measured).
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
        "0",
    ];
    let inner = ws.command(&args, &proxy.env());
    let mut outer = std::process::Command::new(python());
    outer
        .arg("-c")
        .arg(MEASURE)
        .arg(inner.get_program())
        .args(inner.get_args());
    for (name, value) in inner.get_envs() {
        match value {
            Some(v) => outer.env(name, v),
            None => outer.env_remove(name),
        };
    }
    outer.current_dir(inner.get_current_dir().unwrap());
    let out = outer.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields.first(), Some(&"0"), "backup failed: {text} {out:?}");
    Backup {
        seconds: fields[1].parse().unwrap(),
        peak_kib: fields[2].parse().unwrap(),
        calls: serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap(),
        connections: proxy.connections(),
        max_in_flight: proxy.client_max_in_flight(),
    }
}
