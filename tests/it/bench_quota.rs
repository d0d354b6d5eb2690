//! Benchmarks through SSM's quotas (`make bench`; ignored in `make test`): the proxy enforces
//! AWS's default rates per region and API class, and each figure is set beside the quota floor
//! (the requests of each class divided by its rate; the slowest class decides). They report
//! figures and assert nothing about time.

use crate::common::*;
use crate::proxy::{Proxy, Quotas, Recorded};
use crate::quotas::{seed_many, store_backup_of};

/// Each benchmark in regions of its own: the emulator's work for a request grows with what the
/// region holds.
const BACKUP_REGION: &str = "us-east-1";
const RESTORE_REGION: &str = "eu-central-1";
const ONE_REGION: [&str; 1] = ["ap-southeast-2"];
const DEEP_REGION: &str = "us-east-2";
const JOURNAL_REGION: &str = "ca-central-1";
const FIVE_REGIONS: [&str; 5] = [
    "us-west-2",
    "eu-west-1",
    "ap-northeast-1",
    "sa-east-1",
    "eu-north-1",
];

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A run through the proxy (`BENCH_RUST_LOG`: its log level), measured.
fn measure(ws: &Workspace, args: &[&str], proxy: &Proxy) -> Measured {
    let log = std::env::var("BENCH_RUST_LOG").ok();
    let mut env = proxy.env().to_vec();
    env.push(("RUST_LOG", log.as_deref()));
    ws.measure(args, &env)
}

/// The quota floor of what the proxy forwarded (throttled requests not counted: they are what
/// pacing costs), in seconds, and the class that sets it.
fn floor(record: &[Recorded], quotas: &Quotas, regions: usize) -> (f64, String) {
    let count = |ops: &[&str]| {
        record
            .iter()
            .filter(|r| ops.contains(&r.operation.as_str()) && r.fault.is_none())
            .count() as f64
            / regions as f64
    };
    [
        (
            count(&[
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:GetParametersByPath",
            ]) / quotas.reads,
            "GetParameter*",
        ),
        (
            count(&["ssm:DescribeParameters"]) / quotas.describe,
            "DescribeParameters",
        ),
        (count(&["ssm:PutParameter"]) / quotas.put, "PutParameter"),
        // No published quota: at the pace the history lane starts at (it grows from there).
        (
            count(&["ssm:GetParameterHistory"]) / ssm_keeper::core::pacing::HISTORY_START_RATE,
            "GetParameterHistory",
        ),
    ]
    .into_iter()
    .map(|(seconds, class)| (seconds, class.to_string()))
    .fold((0.0, String::new()), |a, b| if b.0 > a.0 { b } else { a })
}

fn report(what: &str, m: &Measured, proxy: &Proxy, quotas: &Quotas, regions: usize) {
    let record = proxy.record();
    let (floor, class) = floor(&record, quotas, regions);
    let throttled = record
        .iter()
        .filter(|r| r.fault == Some(crate::proxy::Fault::Throttle))
        .count();
    let ssm = record
        .iter()
        .filter(|r| r.operation.starts_with("ssm:"))
        .count();
    println!(
        "{what}: {:.1} s; quota floor {floor:.1} s ({class}); ratio {:.2}; {ssm} SSM requests, {throttled} throttled; at most {} in flight; peak memory {:.1} MiB",
        m.seconds,
        m.seconds / floor,
        proxy.max_in_flight(),
        m.peak_mib
    );
}

#[test]
#[ignore = "benchmark: make bench"]
fn bench_quota_backup() {
    let count = size("BENCH_QUOTA_BACKUP", 10_000);
    let env = "bqbackup";
    let ws = Workspace::new(env, &[BACKUP_REGION], BACKUP_REGION);
    ws.apply();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed_many(BACKUP_REGION, env, count));
    let quotas = Quotas::default();
    let proxy = Proxy::start(31);
    proxy.enforce_quotas(quotas);
    let m = measure(&ws, &["backup", "--stack", env], &proxy);
    assert_eq!(m.run.code, 0, "{:#?}", m.run);
    report(&format!("backup of {count}"), &m, &proxy, &quotas, 1);
}

#[test]
#[ignore = "benchmark: make bench"]
fn bench_quota_restore() {
    let count = size("BENCH_QUOTA_RESTORE", 1_000);
    let env = "bqrestore";
    let ws = Workspace::new(env, &[RESTORE_REGION], RESTORE_REGION);
    ws.apply();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(store_backup_of(&ws, RESTORE_REGION, count, "2025-10-01"));
    let quotas = Quotas::default();
    let proxy = Proxy::start(32);
    proxy.enforce_quotas(quotas);
    let args = [
        "restore",
        "--stack",
        env,
        "--region",
        RESTORE_REGION,
        "--from",
        "2025-10-01",
        "--apply",
        "--auto-approve",
    ];
    let m = measure(&ws, &args, &proxy);
    assert_eq!(m.run.code, 0, "{:#?}", m.run);
    report(&format!("restore of {count}"), &m, &proxy, &quotas, 1);
}

#[test]
#[ignore = "benchmark: make bench"]
fn bench_quota_regions() {
    let count = size("BENCH_QUOTA_REGION_SIZE", 1_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A fifth of AWS's default quotas: five regions at the full defaults would ask the
    // emulator (one Python process, sharing two cores with the proxy and ssm-keeper) for about
    // 250 requests a second, more than it serves here (about 100), and measure the emulator.
    // At a fifth, the quotas are the limit, as on AWS; what is measured is that each region
    // is paced on its own (shared pacing would take five times one region's time).
    let quotas = Quotas {
        reads: 8.0,
        describe: 2.0,
        put: 3.0,
    };
    let mut seconds = Vec::new();
    for (env, regions) in [("bqone", &ONE_REGION[..]), ("bqfive", &FIVE_REGIONS[..])] {
        let ws = Workspace::new(env, regions, regions[0]);
        ws.apply();
        for region in regions {
            rt.block_on(seed_many(region, env, count));
        }
        let proxy = Proxy::start(33);
        proxy.enforce_quotas(quotas);
        let parallel = regions.len().to_string();
        let args = ["backup", "--stack", env, "--parallel-regions", &parallel];
        let m = measure(&ws, &args, &proxy);
        assert_eq!(m.run.code, 0, "{:#?}", m.run);
        report(
            &format!("backup of {} regions x {count}", regions.len()),
            &m,
            &proxy,
            &quotas,
            regions.len(),
        );
        seconds.push(m.seconds);
    }
    println!(
        "5 regions side by side / one region: {:.2}",
        seconds[1] / seconds[0]
    );
}

/// `verify --deep` over a backup of 1,000 parameters: each read again at its version
/// (GetParameters, ten a call), beside the environment's listing, against the quota floor of
/// those reads.
#[test]
#[ignore = "benchmark: make bench"]
fn bench_quota_deep_verify() {
    let count = size("BENCH_QUOTA_DEEP", 1_000);
    let env = "bqdeep";
    let ws = Workspace::new(env, &[DEEP_REGION], DEEP_REGION);
    ws.apply();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed_many(DEEP_REGION, env, count));
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let quotas = Quotas::default();
    let proxy = Proxy::start(34);
    proxy.enforce_quotas(quotas);
    let m = measure(&ws, &["verify", "--stack", env, "--deep"], &proxy);
    assert_eq!(m.run.code, 0, "{:#?}", m.run);
    report(&format!("verify --deep of {count}"), &m, &proxy, &quotas, 1);
}

/// The change journal over 1,000 parameters: `changes` over the day of their 1,050 events, and
/// `restore --at` (a preview) of a moment after 50 of them changed since the backup, each
/// against the quota floor of the requests it made.
#[test]
#[ignore = "benchmark: make bench"]
fn bench_quota_journal() {
    let count = size("BENCH_QUOTA_JOURNAL", 1_000);
    let changed = count / 20;
    let env = "bqjournal";
    let ws = Workspace::new(env, &[JOURNAL_REGION], JOURNAL_REGION);
    ws.write_stack_with(&[JOURNAL_REGION], "journal: {retentionDays: 30}\n");
    ws.apply();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed_many(JOURNAL_REGION, env, count));
    next_second();
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    next_second();
    rt.block_on(async {
        for i in 0..changed {
            put_string(JOURNAL_REGION, &format!("/app/{env}/p{i:05}"), "changed").await;
        }
    });
    next_second();
    let at = ssm_keeper::core::changes::utc(time::OffsetDateTime::now_utc());
    let quotas = Quotas::default();

    let proxy = Proxy::start(35);
    proxy.enforce_quotas(quotas);
    let m = measure(
        &ws,
        &["changes", "--stack", env, "--format", "json"],
        &proxy,
    );
    assert_eq!(m.run.code, 0, "{:#?}", m.run);
    let rows = m.run.json()["changes"].as_array().map_or(0, Vec::len);
    report(&format!("changes of {rows} events"), &m, &proxy, &quotas, 1);

    let proxy = Proxy::start(36);
    proxy.enforce_quotas(quotas);
    let args = [
        "restore",
        "--stack",
        env,
        "--region",
        JOURNAL_REGION,
        "--at",
        &at,
        "--overwrite",
    ];
    let m = measure(&ws, &args, &proxy);
    assert_eq!(m.run.code, 0, "{:#?}", m.run);
    report(
        &format!("restore --at of {count}, {changed} changed since the backup"),
        &m,
        &proxy,
        &quotas,
        1,
    );
}

/// `--parallel-regions 3` against one region's share (#32 point 4): five rounds each of a
/// backup of one region and of three regions side by side (1,000 parameters each, a fifth of
/// AWS's default quotas, as `bench_quota_regions`), and the median of each round's ratio.
#[test]
#[ignore = "benchmark: make bench"]
fn bench_quota_three_regions() {
    let count = size("BENCH_QUOTA_REGION_SIZE", 1_000);
    let rounds = size("BENCH_ROUNDS", 5);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let quotas = Quotas {
        reads: 8.0,
        describe: 2.0,
        put: 3.0,
    };
    let one = ["eu-west-3"];
    let three = ["eu-south-1", "ap-south-2", "ca-west-1"];
    let stacks: Vec<(Workspace, &[&str])> = [("bqthree1", &one[..]), ("bqthree3", &three[..])]
        .into_iter()
        .map(|(env, regions)| {
            let ws = Workspace::new(env, regions, regions[0]);
            ws.apply();
            for region in regions {
                rt.block_on(seed_many(region, env, count));
            }
            (ws, regions)
        })
        .collect();
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let mut seconds = Vec::new();
        for (ws, regions) in &stacks {
            let proxy = Proxy::start(40 + round as u64);
            proxy.enforce_quotas(quotas);
            let parallel = regions.len().to_string();
            let args = [
                "backup",
                "--stack",
                &ws.env,
                "--parallel-regions",
                &parallel,
            ];
            let m = measure(ws, &args, &proxy);
            assert_eq!(m.run.code, 0, "{:#?}", m.run);
            report(
                &format!(
                    "round {round}: backup of {} regions x {count}",
                    regions.len()
                ),
                &m,
                &proxy,
                &quotas,
                regions.len(),
            );
            seconds.push(m.seconds);
        }
        ratios.push(seconds[1] / seconds[0]);
    }
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "3 regions side by side / one region: median {:.2} of {rounds} rounds ({})",
        sorted[sorted.len() / 2],
        shown.join(", ")
    );
}
