//! SSM's throughput quotas, enforced by the proxy (a token bucket per region and API class,
//! ThrottlingException beyond): every command paces itself per region and class, backs off and
//! finishes with nothing lost.

use crate::common::*;
use crate::proxy::{Proxy, Quotas};

const A: &str = "us-east-1";

/// Stores a backup document (format 2) of `count` String parameters `/jenkins/<env>/p<i>` in the
/// region's bucket, as backup would have written it on `date`.
pub async fn store_backup_of(ws: &Workspace, region: &str, count: usize, date: &str) {
    let env = &ws.env;
    let entries: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({"Name": format!("/jenkins/{env}/p{i:05}"), "Type": "String",
                "Value": format!("v{i}"), "Version": 1, "DataType": "text", "Tier": "Standard"})
        })
        .collect();
    let stamp = date.replace('-', "");
    let doc = serde_json::json!({
        "format_version": 2, "tool_version": "0", "backup_date": date,
        "backup_timestamp": format!("{stamp}_220000"), "environment": env, "region": region,
        "account": ACCOUNT, "parameters": entries, "parameter_count": count,
    });
    store_object(
        region,
        &ws.bucket(region),
        &format!("{date}/{region}/ssm-backup-{env}-{region}-{stamp}_220000.json"),
        doc.to_string().as_bytes(),
        true,
    )
    .await;
}

#[tokio::test]
async fn a_restore_paces_its_writes_to_the_put_parameter_quota() {
    let ws = Workspace::new("qtrestore", &[A], A);
    ws.apply();
    let count = 36;
    store_backup_of(&ws, A, count, "2025-10-01").await;
    let proxy = Proxy::start(21);
    proxy.enforce_quotas(Quotas::default());
    let started = std::time::Instant::now();
    let run = ws.run_with(
        &[
            "restore",
            "--stack",
            "qtrestore",
            "--region",
            A,
            "--from",
            "2025-10-01",
            "--apply",
            "--auto-approve",
        ],
        &proxy.env(),
    );
    eprintln!(
        "restore of {count}: {:.1}s, {} PutParameter throttled",
        started.elapsed().as_secs_f64(),
        proxy.throttled("ssm:PutParameter")
    );
    assert_eq!(run.code, 0, "{run:#?}");
    // Paced from the start at the quota: few writes are told no (unpaced, four writes in
    // flight ask for far more than 3 a second and most would be).
    let throttled = proxy.throttled("ssm:PutParameter");
    assert!(
        throttled <= count / 4,
        "{throttled} of {count} writes throttled"
    );
    for i in [0, count / 2, count - 1] {
        let name = format!("/jenkins/qtrestore/p{i:05}");
        assert_eq!(parameter(A, &name).await, Some(format!("v{i}")), "{name}");
    }
}

/// Writes `count` String parameters `/app/<env>/p<i>` straight to the emulator, ten at a time.
pub async fn seed_many(region: &str, env: &str, count: usize) {
    use futures::StreamExt;
    let ssm = ssm(region).await;
    futures::stream::iter(0..count)
        .map(|i| {
            let ssm = ssm.clone();
            async move {
                ssm.put_parameter()
                    .name(format!("/app/{env}/p{i:05}"))
                    .value(format!("v{i}"))
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .overwrite(true)
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(10)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn a_backup_slows_down_to_quotas_lower_than_it_expects_and_loses_nothing() {
    let ws = Workspace::new("qtbackup", &[A], A);
    ws.apply();
    let count = 300;
    seed_many(A, "qtbackup", count).await;
    // Lower than AWS's defaults: the reads start at 40 a second and must slow down to 10; the
    // listing, whose quota AWS does not publish, goes unpaced until throttled (pages of 50 at 5
    // a second: faster than the reads can follow).
    let proxy = Proxy::start(22);
    proxy.enforce_quotas(Quotas {
        reads: 10.0,
        describe: 5.0,
        put: 3.0,
    });
    let started = std::time::Instant::now();
    let run = ws.run_with(&["backup", "--stack", "qtbackup"], &proxy.env());
    let record = proxy.record();
    let sent = |op: &str| record.iter().filter(|r| r.operation == op).count();
    eprintln!(
        "backup of {count}: {:.1}s; GetParameters {} sent, {} throttled; DescribeParameters {} sent, {} throttled",
        started.elapsed().as_secs_f64(),
        sent("ssm:GetParameters"),
        proxy.throttled("ssm:GetParameters"),
        sent("ssm:DescribeParameters"),
        proxy.throttled("ssm:DescribeParameters"),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let listing = s3(A)
        .await
        .list_objects_v2()
        .bucket(ws.bucket(A))
        .send()
        .await
        .unwrap();
    let key = listing
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .find(|k| k.ends_with(".json"))
        .expect("a backup document")
        .to_string();
    let doc: serde_json::Value =
        serde_json::from_slice(&object_bytes(A, &ws.bucket(A), &key).await).unwrap();
    let names: Vec<&str> = doc["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["Name"].as_str())
        .filter(|n| n.starts_with("/app/qtbackup/"))
        .collect();
    assert_eq!(names.len(), count, "every parameter backed up");
    assert!(
        proxy.throttled("ssm:GetParameters") > 0,
        "the reads' quota was reached"
    );
    // Throttled, then paced: most requests went through at the first attempt.
    for (op, requests) in [
        ("ssm:GetParameters", count / 10),
        ("ssm:DescribeParameters", count / 50),
    ] {
        let throttled = proxy.throttled(op);
        assert!(
            throttled <= requests / 2,
            "{op}: {throttled} of {requests} throttled"
        );
    }
}
