//! restore against the emulator: every parameter type and attribute comes back exactly, with and
//! without --overwrite; a DR restore into another region with --kms-key-id; a drill under
//! another prefix; damaged documents refused before any write; the old script's format. No
//! seeded secret value ever appears in any output.

use crate::common::*;
use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use std::collections::BTreeMap;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
pub const SECRET_DEFAULT: &str = "RESTORE-SECRET-default-41c9";
pub const SECRET_CUSTOM: &str = "RESTORE-SECRET-custom-77ad";
const EXPIRATION: &str = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}]"#;

/// Everything restore must bring back, per parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    kind: String,
    value: String,
    description: Option<String>,
    allowed_pattern: Option<String>,
    tier: Option<String>,
    key_id: Option<String>,
    data_type: Option<String>,
    policies: Vec<String>,
}

pub async fn snapshot(region: &str, prefix: &str) -> BTreeMap<String, Attributes> {
    let ssm = ssm(region).await;
    let mut out = BTreeMap::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(prefix)
        .recursive(true)
        .with_decryption(true)
        .into_paginator()
        .send();
    let mut values = BTreeMap::new();
    while let Some(page) = pages.next().await {
        for p in page.unwrap().parameters() {
            values.insert(p.name().unwrap().to_string(), p.clone());
        }
    }
    for (name, p) in values {
        let meta = ssm
            .describe_parameters()
            .parameter_filters(
                aws_sdk_ssm::types::ParameterStringFilter::builder()
                    .key("Name")
                    .option("Equals")
                    .values(&name)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let m = &meta.parameters()[0];
        out.insert(
            name,
            Attributes {
                kind: p.r#type().unwrap().as_str().to_string(),
                value: p.value().unwrap().to_string(),
                description: m.description().map(str::to_string),
                allowed_pattern: m.allowed_pattern().map(str::to_string),
                tier: m.tier().map(|t| t.as_str().to_string()),
                key_id: m.key_id().map(str::to_string),
                data_type: p.data_type().map(str::to_string),
                policies: m
                    .policies()
                    .iter()
                    .filter_map(|p| p.policy_text().map(str::to_string))
                    .collect(),
            },
        );
    }
    out
}

async fn create_key(region: &str) -> String {
    let kms = kms(region).await;
    kms.create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

/// Seeds every kind of parameter under /app/{env}/ in `region`; returns the custom key.
pub async fn seed_every_kind(region: &str, env: &str) -> String {
    let key = create_key(region).await;
    let ssm = ssm(region).await;
    let put = |name: &str, value: &str, kind: ParameterType| {
        ssm.put_parameter()
            .name(format!("/app/{env}/{name}"))
            .value(value)
            .r#type(kind)
            .overwrite(true)
    };
    put("host", "db.internal", ParameterType::String)
        .description("the database host")
        .allowed_pattern("^[a-z.]+$")
        .send()
        .await
        .unwrap();
    put("hosts", "a,b,c", ParameterType::StringList)
        .send()
        .await
        .unwrap();
    put("password", SECRET_DEFAULT, ParameterType::SecureString)
        .description("default key")
        .send()
        .await
        .unwrap();
    put("token", SECRET_CUSTOM, ParameterType::SecureString)
        .key_id(&key)
        .send()
        .await
        .unwrap();
    put("certificate", &"C".repeat(5000), ParameterType::String)
        .tier(ParameterTier::Advanced)
        .description("over 4 KB")
        .policies(EXPIRATION)
        .send()
        .await
        .unwrap();
    put("image", "ami-0123456789abcdef0", ParameterType::String)
        .data_type("aws:ec2:image")
        .send()
        .await
        .unwrap();
    key
}

pub fn no_secret(run: &Run) {
    for s in [SECRET_DEFAULT, SECRET_CUSTOM] {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "secret printed:\n{run:#?}"
        );
    }
}

fn restore(ws: &Workspace, args: &[&str]) -> Run {
    let mut full = vec!["restore", "--stack", ws.env.as_str()];
    full.extend_from_slice(args);
    let run = ws.run(&full);
    no_secret(&run);
    run
}

/// A workspace of `env` applied, every kind of parameter seeded in us-east-1 and backed up:
/// the workspace, the custom key, the parameters as they were.
pub async fn backed_up(
    env: &str,
    regions: &[&str],
) -> (Workspace, String, BTreeMap<String, Attributes>) {
    let ws = Workspace::new(env, regions, regions[0]);
    ws.apply();
    let key = seed_every_kind(A, env).await;
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let originals = snapshot(A, &format!("/app/{env}/")).await;
    assert_eq!(originals.len(), 6, "{originals:#?}");
    assert_eq!(
        originals[&format!("/app/{env}/certificate")].policies.len(),
        1,
        "the emulator keeps policies: {originals:#?}"
    );
    (ws, key, originals)
}

#[tokio::test]
async fn a_round_trip_brings_back_every_value_and_attribute() {
    let (ws, _, originals) = backed_up("rsround", &[A]).await;
    let name = |n: &str| format!("/app/rsround/{n}");
    delete_param(A, &name("host")).await;
    delete_param(A, &name("password")).await;
    delete_param(A, &name("certificate")).await;
    put_string(A, &name("hosts"), "x,y").await;
    ssm(A)
        .await
        .put_parameter()
        .name(name("token"))
        .value("changed-by-hand")
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();

    // The preview: three to create, two that differ (kept without --overwrite); exit 2.
    let run = restore(&ws, &["--region", A, "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("+ create    {}", name("host"))),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("! differs   {}", name("token"))),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("value: (sensitive, changed)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Restore: 3 to create, 0 to update, 2 differ and are kept"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("- skipped   /jenkins/rsround/backup/region-list"),
        "metadata is shown but skipped: {}",
        run.stdout
    );

    // Without --overwrite: only the missing ones come back.
    let run = restore(&ws, &["--region", A, "--apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let now = snapshot(A, "/app/rsround/").await;
    assert_eq!(now[&name("host")], originals[&name("host")]);
    assert_eq!(now[&name("password")], originals[&name("password")]);
    assert_eq!(
        now[&name("certificate")],
        originals[&name("certificate")],
        "Advanced, over 4 KB, with its policy"
    );
    assert_eq!(now[&name("hosts")].value, "x,y", "kept without --overwrite");

    // With it: everything equals the originals, every attribute.
    let run = restore(
        &ws,
        &["--region", A, "--apply", "--auto-approve", "--overwrite"],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("read back identical"), "{}", run.stdout);
    assert_eq!(snapshot(A, "/app/rsround/").await, originals);

    // Nothing left to do; JSON and markdown previews carry no value.
    let run = restore(
        &ws,
        &["--region", A, "--detailed-exitcode", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["summary"]["create"], 0);
    let run = restore(&ws, &["--region", A, "--format", "markdown", "--overwrite"]);
    assert_eq!(run.code, 0, "{run:#?}");
}

#[tokio::test]
async fn a_dr_restore_into_another_region_needs_a_key_there() {
    let (ws, source_key, originals) = backed_up("rsdr", &[A, B]).await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--target-region",
            B,
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("KMS key {source_key} does not exist in {B}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("/app/rsdr/token"), "{}", run.stderr);
    assert!(
        snapshot(B, "/app/rsdr/").await.is_empty(),
        "nothing was written"
    );

    let dr_key = create_key(B).await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--target-region",
            B,
            "--kms-key-id",
            &dr_key,
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let restored = snapshot(B, "/app/rsdr/").await;
    assert_eq!(restored.len(), originals.len());
    for (name, original) in &originals {
        let got = &restored[name];
        assert_eq!(got.value, original.value, "{name}");
        assert_eq!(got.kind, original.kind, "{name}");
        assert_eq!(got.tier, original.tier, "{name}");
        if original.kind == "SecureString" {
            assert_eq!(
                got.key_id.as_deref(),
                Some(dr_key.as_str()),
                "{name}: remapped"
            );
        }
    }
}

#[tokio::test]
async fn a_drill_restores_a_subtree_under_a_scratch_prefix() {
    let (ws, _, originals) = backed_up("rsdrill", &[A]).await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--only",
            "/app/rsdrill/",
            "--to-prefix",
            "/drill/rsdrill/",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let drilled = snapshot(A, "/drill/rsdrill/").await;
    assert_eq!(drilled.len(), originals.len());
    assert_eq!(
        drilled["/drill/rsdrill/password"],
        originals["/app/rsdrill/password"]
    );
    assert_eq!(
        snapshot(A, "/app/rsdrill/").await,
        originals,
        "the source is untouched"
    );
}

#[tokio::test]
async fn damaged_documents_are_refused_before_any_write() {
    let ws = Workspace::new("rsbad", &[A], A);
    ws.apply();
    let bucket = ws.bucket(A);
    let doc = |count: usize| {
        serde_json::json!({
            "format_version": 2, "environment": "rsbad", "region": A,
            "parameters": [{"Name": "/app/rsbad/x", "Type": "String", "Value": "v", "Version": 1}],
            "parameter_count": count,
        })
        .to_string()
    };
    store_object(A, &bucket, "bad/count.json", doc(3).as_bytes(), true).await;
    store_object(
        A,
        &bucket,
        "bad/not-json.json",
        b"{\"format_version\": 2, \"param",
        true,
    )
    .await;
    store_object(A, &bucket, "bad/twice.json", doc(1).as_bytes(), true).await;
    store_object(A, &bucket, "bad/twice.json", doc(1).as_bytes(), true).await;
    for (key, why) in [
        (
            "bad/count.json",
            "document: parameter_count says 3 but the document holds 1",
        ),
        ("bad/not-json.json", "document: not a backup document"),
        ("bad/twice.json", "single-version: the key has 2 versions"),
    ] {
        let run = restore(
            &ws,
            &["--region", A, "--from", key, "--apply", "--auto-approve"],
        );
        assert_eq!(run.code, 1, "{key}: {run:#?}");
        assert!(
            run.stderr
                .contains("fails verification, so nothing was written"),
            "{key}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(why), "{key}: {}", run.stderr);
    }
    assert_eq!(parameter(A, "/app/rsbad/x").await, None);

    let run = restore(&ws, &["--region", A]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("there is no backup of {A} to restore in {bucket}")),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn the_old_scripts_documents_restore_with_unknown_attributes_at_defaults() {
    let ws = Workspace::new("rsold", &[A], A);
    ws.apply();
    // As the old Jenkins script stored it: no format_version, no region, no checksum.
    let old = serde_json::json!({
        "backup_date": "2025-10-01",
        "backup_timestamp": "20251001_220000",
        "environment": "rsold",
        "parameter_count": 2,
        "parameters": [
            {"Name": "/jenkins/rsold/token", "Type": "SecureString", "Value": SECRET_DEFAULT,
             "Version": 4, "LastModifiedDate": "2025-09-30T10:00:00.000000+09:00",
             "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/jenkins/rsold/token", "DataType": "text"},
            {"Name": "/jenkins/rsold/url", "Type": "String", "Value": "https://example.internal",
             "Version": 1, "LastModifiedDate": "2025-09-30T10:00:00.000000+09:00",
             "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/jenkins/rsold/url", "DataType": "text"}
        ]
    })
    .to_string();
    store_object(
        A,
        &ws.bucket(A),
        "2025-10-01/ssm-backup-rsold-20251001_220000.json",
        old.as_bytes(),
        false,
    )
    .await;

    let run = restore(&ws, &["--region", A, "--from", "2025-10-01"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("This backup is in the old script's format: description, allowed pattern, tier, KMS key, policies, tags are unknown and are left at AWS defaults."),
        "{}",
        run.stdout
    );
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--from",
            "2025-10-01",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let restored = snapshot(A, "/jenkins/rsold/").await;
    let token = &restored["/jenkins/rsold/token"];
    assert_eq!(
        (token.kind.as_str(), token.value.as_str()),
        ("SecureString", SECRET_DEFAULT)
    );
    assert_eq!(
        restored["/jenkins/rsold/url"].value,
        "https://example.internal"
    );

    // The same document from a local file.
    std::fs::write(ws.path("old.json"), &old).unwrap();
    delete_param(A, "/jenkins/rsold/url").await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--from",
            "./old.json",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(parameter(A, "/jenkins/rsold/url").await.is_some());
}

#[test]
fn a_local_backup_must_be_a_regular_file_within_the_bound() {
    let ws = Workspace::new("rslocal", &[A], A);
    // A FIFO nobody writes to (its open used to wait for a writer, forever), a device that
    // never ends (stat said 0 bytes, then it was read without a bound), a directory.
    let made = std::process::Command::new("mkfifo")
        .arg(ws.path("fifo.json"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir(ws.path("dir.json")).unwrap();
    let fifo = ws.path("fifo.json").display().to_string();
    let dir = ws.path("dir.json").display().to_string();
    for (from, kind) in [
        (fifo.as_str(), "a FIFO"),
        ("/dev/zero", "a character device"),
        (dir.as_str(), "a directory"),
    ] {
        let run = restore(&ws, &["--region", A, "--from", from]);
        assert_eq!(run.code, 1, "{from}: {run:#?}");
        let refusal = format!("refusing to restore from {from}: it is not a regular file ({kind})");
        assert!(run.stderr.contains(&refusal), "{from}: {}", run.stderr);
    }
    // A local file is bounded as an S3 one.
    std::fs::write(ws.path("big.json"), [b' '; 100]).unwrap();
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--from",
            "./big.json",
            "--max-document-bytes",
            "99",
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(
            "refusing to restore from ./big.json: it is 100 bytes, more than --max-document-bytes (99)"
        ),
        "{}",
        run.stderr
    );
}

/// A document of the old script's format for environment `env` holding `parameters` (name,
/// value), stored as that day's backup of region A.
async fn plant_legacy(ws: &Workspace, parameters: &[(&str, &str)]) {
    let env = ws.env.as_str();
    let entries: Vec<serde_json::Value> = parameters
        .iter()
        .map(|(name, value)| {
            serde_json::json!({"Name": name, "Type": "String", "Value": value, "Version": 1,
                "LastModifiedDate": "2025-09-30T10:00:00.000000+09:00", "DataType": "text"})
        })
        .collect();
    let old = serde_json::json!({
        "backup_date": "2025-10-01", "backup_timestamp": "20251001_220000", "environment": env,
        "parameter_count": entries.len(), "parameters": entries,
    });
    store_object(
        A,
        &ws.bucket(A),
        &format!("2025-10-01/ssm-backup-{env}-20251001_220000.json"),
        old.to_string().as_bytes(),
        false,
    )
    .await;
}

#[tokio::test]
async fn restore_never_writes_outside_the_environment() {
    let ws = Workspace::new("rsbound", &[A], A);
    ws.apply();
    // The old script selected with `Contains(Name, 'rsbound')`: its documents could hold another
    // environment's parameters. Today's values of those must survive a restore of `rsbound`.
    put_string(A, "/prod/rsboundary/serial", "current").await;
    put_string(A, "/jenkins/prod/token", "current").await;
    plant_legacy(
        &ws,
        &[
            ("/jenkins/rsbound/url", "https://restored"),
            ("/prod/rsboundary/serial", "rolled-back"),
            ("/jenkins/prod/token", "rolled-back"),
        ],
    )
    .await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--from",
            "2025-10-01",
            "--overwrite",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    for name in ["/prod/rsboundary/serial", "/jenkins/prod/token"] {
        assert_eq!(
            parameter(A, name).await.as_deref(),
            Some("current"),
            "{name}"
        );
        assert!(
            run.stdout.contains(
                "not a parameter of `rsbound` (names holding the segment /rsbound/): restore never writes outside the environment"
            ),
            "{}",
            run.stdout
        );
    }
    assert_eq!(
        parameter(A, "/jenkins/rsbound/url").await.as_deref(),
        Some("https://restored")
    );

    // With parameterPaths, exactly those paths belong.
    let stack = std::fs::read_to_string(ws.path("stacks/rsbound.yaml")).unwrap();
    ws.write_raw(
        "rsbound",
        &format!("{stack}parameterPaths: [/app/rsbound/]\n"),
    );
    delete_param(A, "/jenkins/rsbound/url").await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--from",
            "2025-10-01",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        parameter(A, "/jenkins/rsbound/url").await,
        None,
        "outside /app/rsbound/"
    );
    assert!(
        run.stdout.contains("(parameterPaths /app/rsbound/)"),
        "{}",
        run.stdout
    );
}

#[test]
fn only_and_to_prefix_are_checked_before_any_call() {
    let ws = Workspace::new("rsargs", &[A], A);
    for (args, expected) in [
        (
            vec!["--only", "/jenkins/prod/"],
            "--only /jenkins/prod/ is outside the parameters of `rsargs`",
        ),
        (
            vec!["--only", "/jenkins/rsargs/db/", "--to-prefix", "/drill"],
            "`/drill` is not a path prefix: it starts and ends with `/`",
        ),
        (
            vec!["--only", "/jenkins/rsargs/db", "--to-prefix", "/drill/"],
            "--only must end with `/` when --to-prefix is given",
        ),
        (
            vec![
                "--only",
                "/jenkins/rsargs/",
                "--to-prefix",
                "/locks/ssm-keeper/",
            ],
            "which ssm-keeper keeps for its locks, the stacks' metadata and the drills",
        ),
        (
            vec![
                "--only",
                "/jenkins/rsargs/db/",
                "--to-prefix",
                "/jenkins/rsargs/backup/x/",
            ],
            "which ssm-keeper keeps for its locks, the stacks' metadata and the drills",
        ),
    ] {
        let mut full = vec![
            "--api-stats",
            "stats.json",
            "restore",
            "--stack",
            "rsargs",
            "--region",
            A,
        ];
        full.extend(args);
        let run = ws.run(&full);
        assert_eq!(run.code, 1, "{full:?}: {run:#?}");
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
        assert!(!ws.path("stats.json").exists(), "no AWS call for {full:?}");
    }
}

#[test]
fn iam_policy_to_prefix_widens_only_restore_and_never_to_everything() {
    let ws = Workspace::new("rsiam", &[A], A);
    let iam = |args: &[&str]| {
        let mut full = vec!["iam-policy", "--stack", "rsiam", "--account-id", ACCOUNT];
        full.extend_from_slice(args);
        ws.run(&full)
    };
    let run = iam(&["--role", "restore", "--to-prefix", "/"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("is not a path prefix"),
        "{}",
        run.stderr
    );
    let run = iam(&["--role", "backup", "--to-prefix", "/drill/rsiam/"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("--to-prefix widens only the restore role"),
        "{}",
        run.stderr
    );
    let run = iam(&["--role", "restore", "--to-prefix", "/jenkins/"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let run = iam(&["--role", "restore", "--to-prefix", "/drill/rsiam/"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("parameter/drill/rsiam/*"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn restore_reads_every_page_with_few_requests_in_flight() {
    let ws = Workspace::new("rspages", &[A], A);
    ws.apply();
    // A backup (format 2) of 1,000 parameters with a description; 25 of them live and equal,
    // the rest gone. The description is only seen through DescribeParameters.
    let entries: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            serde_json::json!({"Name": format!("/jenkins/rspages/p{i:04}"), "Type": "String",
                "Value": format!("v{i}"), "Version": 1, "DataType": "text", "Tier": "Standard",
                "Description": "kept"})
        })
        .collect();
    let doc = serde_json::json!({
        "format_version": 2, "tool_version": "0", "backup_date": "2025-10-01",
        "backup_timestamp": "20251001_220000", "environment": "rspages", "region": A,
        "account": ACCOUNT, "parameters": entries, "parameter_count": 1000,
    });
    store_object(
        A,
        &ws.bucket(A),
        &format!("2025-10-01/{A}/ssm-backup-rspages-{A}-20251001_220000.json"),
        doc.to_string().as_bytes(),
        true,
    )
    .await;
    let ssm = ssm(A).await;
    for i in 0..25 {
        ssm.put_parameter()
            .name(format!("/jenkins/rspages/p{i:04}"))
            .value(format!("v{i}"))
            .r#type(ParameterType::String)
            .description("kept")
            .send()
            .await
            .unwrap();
    }
    // AWS may answer DescribeParameters in pages as small as it likes, empty ones included.
    let proxy = crate::proxy::Proxy::start(11);
    proxy.partial_pages();
    let run = ws.run_with(
        &[
            "restore",
            "--stack",
            "rspages",
            "--region",
            A,
            "--from",
            "2025-10-01",
            "--max-rps",
            "0",
        ],
        &proxy.env(),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("Restore: 975 to create, 0 to update, 0 differ and are kept (add --overwrite to update them), 25 unchanged, 0 skipped."),
        "{}",
        run.stdout
    );
    // 100 batches of ten names, two requests each: four batches at a time (it sent all 200 at
    // once).
    let most = proxy.max_in_flight();
    assert!((1..=8).contains(&most), "{most} requests in flight at once");
}

#[tokio::test]
async fn a_signal_stops_a_restore_preview_at_once() {
    let ws = Workspace::new("rssig", &[A], A);
    ws.apply();
    let names: Vec<(String, String)> = (0..200)
        .map(|i| (format!("/jenkins/rssig/p{i:03}"), "v".to_string()))
        .collect();
    let entries: Vec<(&str, &str)> = names
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    plant_legacy(&ws, &entries).await;
    // The preview is held in its reads of live parameters, then interrupted.
    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let held = crate::hold::hold_first(emulator_http, "AmazonSSM.GetParameters", "rssig/p");
        let (mut child, lines) = ws.spawn(
            &[
                "restore",
                "--stack",
                "rssig",
                "--region",
                A,
                "--from",
                "2025-10-01",
            ],
            &[("AWS_ENDPOINT_URL_SSM", Some(&held.url))],
            std::process::Stdio::null(),
        );
        held.held.recv().unwrap();
        crate::common::signal(&child, signal);
        let said: Vec<String> = lines.map(Result::unwrap).collect();
        assert_eq!(child.wait().unwrap().code(), Some(code), "{said:#?}");
        assert!(
            said.iter().any(|l| l.contains("Restore cancelled by SIG")),
            "{said:#?}"
        );
        let _ = held.release.send(());
    }
}

#[tokio::test]
async fn restore_plans_under_the_lock() {
    let ws = Workspace::new("rslock", &[A], A);
    ws.apply();
    plant_legacy(&ws, &[("/jenkins/rslock/url", "https://restored")]).await;
    // Another writer holds the environment: restore --apply takes the lock before it reads live
    // state, so it neither plans nor shows anything (a plan made before could go stale).
    let lock = serde_json::json!({"id": "other-run", "who": "arn:aws:iam::123456789012:user/ops",
        "host": "h", "pid": 7, "command": "apply", "created": "2026-01-01T00:00:00Z",
        "expires": "2099-01-01T00:00:00Z"});
    put_string(A, "/locks/ssm-keeper/rslock", &lock.to_string()).await;
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--from",
            "2025-10-01",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("the `rslock` environment is locked by"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "no preview was made outside the lock");
    assert_eq!(parameter(A, "/jenkins/rslock/url").await, None);
    // The preview alone takes no lock.
    let run = restore(&ws, &["--region", A, "--from", "2025-10-01"]);
    assert_eq!(run.code, 0, "{run:#?}");
}

async fn version_and_tier(name: &str) -> (i64, Option<String>, Option<String>) {
    let ssm = ssm(A).await;
    let version = ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .unwrap()
        .parameter()
        .unwrap()
        .version();
    let meta = ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values(name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let m = &meta.parameters()[0];
    (
        version,
        m.tier().map(|t| t.as_str().to_string()),
        m.description().map(str::to_string),
    )
}

#[tokio::test]
async fn what_put_parameter_cannot_change_is_kept_and_a_rerun_writes_nothing() {
    let ws = Workspace::new("rskept", &[A], A);
    ws.apply();
    let name = "/app/rskept/host";
    put_string(A, name, "v1").await;
    let run = ws.run(&["backup", "--stack", "rskept"]);
    assert_eq!(run.code, 0, "{run:#?}");
    // After the backup: another value, a description, and the Advanced tier.
    ssm(A)
        .await
        .put_parameter()
        .name(name)
        .value("v2")
        .r#type(ParameterType::String)
        .description("added later")
        .tier(ParameterTier::Advanced)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let args = [
        "--region",
        A,
        "--only",
        "/app/rskept/",
        "--overwrite",
        "--apply",
        "--auto-approve",
    ];
    let run = restore(&ws, &args);
    assert_eq!(run.code, 0, "{run:#?}");
    for line in [
        "description kept as it is live: PutParameter cannot remove a description",
        "tier kept as it is live: AWS refuses to move an Advanced parameter back to Standard",
        "read back identical",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
    assert_eq!(parameter(A, name).await.as_deref(), Some("v1"));
    let (version, tier, description) = version_and_tier(name).await;
    assert_eq!(
        (tier.as_deref(), description.as_deref()),
        (Some("Advanced"), Some("added later"))
    );

    // A re-run plans nothing and writes nothing: no new version.
    let run = restore(&ws, &args);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("Nothing to restore."), "{}", run.stdout);
    assert_eq!(version_and_tier(name).await.0, version, "no new version");

    // --recreate: deleted and written again as the backup has it; the preview says what is lost.
    let run = restore(&ws, &[&args[..], &["--recreate"]].concat());
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("its history of versions and labels is lost"),
        "{}",
        run.stdout
    );
    let (_, tier, description) = version_and_tier(name).await;
    assert_eq!((tier.as_deref(), description), (Some("Standard"), None));
}

async fn tags_of(region: &str, name: &str) -> BTreeMap<String, String> {
    ssm(region)
        .await
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .unwrap()
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[tokio::test]
async fn tags_are_backed_up_restored_and_compared() {
    let ws = Workspace::new("rstags", &[A, B], A);
    ws.apply();
    let name = "/app/rstags/token";
    let tag = |k: &str, v: &str| {
        aws_sdk_ssm::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .unwrap()
    };
    ssm(A)
        .await
        .put_parameter()
        .name(name)
        .value(SECRET_DEFAULT)
        .r#type(ParameterType::SecureString)
        .tags(tag("owner", "ops"))
        .tags(tag("tier", "gold"))
        .send()
        .await
        .unwrap();
    let run = ws.run(&["backup", "--stack", "rstags"]);
    assert_eq!(run.code, 0, "{run:#?}");
    // A documented field of the document.
    let bucket = ws.bucket(A);
    let key =
        String::from_utf8(object_bytes(A, &bucket, &format!("latest-{A}.txt")).await).unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&object_bytes(A, &bucket, &key).await).unwrap();
    let entry = doc["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Name"] == name)
        .unwrap();
    assert_eq!(
        entry["Tags"],
        serde_json::json!({"owner": "ops", "tier": "gold"})
    );

    // Into another region: written with its tags, read back with them.
    let expected: BTreeMap<String, String> = [
        ("owner".into(), "ops".into()),
        ("tier".into(), "gold".into()),
    ]
    .into();
    let run = restore(
        &ws,
        &[
            "--region",
            A,
            "--target-region",
            B,
            "--only",
            "/app/rstags/",
            "--apply",
            "--auto-approve",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(tags_of(B, name).await, expected);

    // Tags changed live: the preview names them; --overwrite sets and removes them.
    let ssm = ssm(A).await;
    ssm.add_tags_to_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .tags(tag("owner", "someone"))
        .tags(tag("extra", "1"))
        .send()
        .await
        .unwrap();
    let preview = restore(&ws, &["--region", A, "--only", "/app/rstags/"]);
    assert!(
        preview
            .stdout
            .contains(r#"tags: "extra=1, owner=someone, tier=gold" -> "owner=ops, tier=gold""#),
        "{}",
        preview.stdout
    );
    let args = [
        "--region",
        A,
        "--only",
        "/app/rstags/",
        "--overwrite",
        "--apply",
        "--auto-approve",
    ];
    let run = restore(&ws, &args);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("read back identical"), "{}", run.stdout);
    assert_eq!(tags_of(A, name).await, expected);
    let run = restore(&ws, &args);
    assert!(run.stdout.contains("Nothing to restore."), "{}", run.stdout);
}
