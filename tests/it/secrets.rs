//! No leak: a random marker in every SecureString, then every command and subcommand, every
//! output format, saved plans, summaries, Slack payloads and failures. The marker appears in no
//! output, no file and no request other than the SSM writes and the backup object themselves.

use crate::common::*;
use crate::proxy::Proxy;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

fn marker() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("MARKER{nanos:x}")
}

async fn seed_secrets(env: &str, marker: &str) {
    for region in [A, B] {
        for name in ["db/password", "api/token", "tls/key"] {
            let value = format!("{marker}-{region}-{name}");
            put_secure(region, &format!("/app/{env}/{name}"), &value).await;
        }
        put_string(region, &format!("/app/{env}/host"), "plain").await;
    }
}

/// Every file below `dir`, as text.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out
}

#[tokio::test]
async fn no_secret_reaches_any_output_file_or_foreign_request() {
    let env = "ftleak";
    let marker = marker();
    let ws = Workspace::new(env, &[A, B], A);
    let proxy = Proxy::start(41);
    proxy.watch_for(&marker);
    let through = |args: &[&str]| ws.run_with(args, &proxy.env());

    let mut runs = Vec::new();
    runs.push(through(&["plan", "--stack", env, "--out", "plan.json"]));
    runs.push(through(&["apply", "--plan", "plan.json", "--auto-approve"]));
    seed_secrets(env, &marker).await;
    for format in ["text", "json", "markdown"] {
        runs.push(through(&["plan", "--stack", env, "--format", format]));
    }
    runs.push(through(&["outputs", "--stack", env, "--json"]));
    let (url, slack) = slack_receiver();
    runs.push(through(&["backup", "--stack", env, "--notify-slack", &url]));
    let payload = slack.recv().unwrap();
    runs.push(through(&["backup", "--stack", env, "--dry-run"]));
    for format in ["text", "json"] {
        runs.push(through(&["verify", "--stack", env, "--format", format]));
    }
    // A secret changed and one lost, then previews in every format and a restore.
    put_secure(
        A,
        &format!("/app/{env}/api/token"),
        &format!("{marker}-changed"),
    )
    .await;
    delete_param(A, &format!("/app/{env}/db/password")).await;
    for format in ["text", "json", "markdown"] {
        runs.push(through(&[
            "restore",
            "--stack",
            env,
            "--region",
            A,
            "--overwrite",
            "--format",
            format,
        ]));
    }
    runs.push(through(&[
        "restore",
        "--stack",
        env,
        "--region",
        A,
        "--overwrite",
        "--apply",
        "--auto-approve",
    ]));
    runs.push(through(&[
        "restore",
        "--stack",
        env,
        "--region",
        A,
        "--only",
        &format!("/app/{env}/"),
        "--to-prefix",
        "/drill/ftleak/",
        "--apply",
        "--auto-approve",
    ]));
    // The most verbose logs: everything ssm-keeper logs, and all the SDK allows (RUST_LOG=trace),
    // while a backup decrypts every secret and a restore writes one back.
    let traced = |args: &[&str], rust_log: Option<&str>| {
        let mut env = proxy.env().to_vec();
        env.push(("RUST_LOG", rust_log));
        // The SDK writes bodies in its trace logs when asked to: the cap must hold even so.
        env.push(("LOG_SENSITIVE_BODIES", Some("true")));
        ws.run_with(args, &env)
    };
    // The restores changed what a backup holds: another document, named to another second.
    next_second();
    let run = traced(&["backup", "--stack", env], Some("trace"));
    assert!(run.stderr.contains("AWS request"), "{}", run.stderr);
    runs.push(run);
    delete_param(A, &format!("/app/{env}/tls/key")).await;
    let run = traced(
        &[
            "restore",
            "--stack",
            env,
            "--region",
            A,
            "--apply",
            "--auto-approve",
            "-vvv",
        ],
        None,
    );
    assert!(
        run.stderr.contains("ssm:PutParameter") || run.stderr.contains("SSM.PutParameter"),
        "{}",
        run.stderr
    );
    runs.push(run);
    // Failures: a redirected bucket, a damaged document, a failing check.
    put_string(B, &ws.param(&format!("{B}/s3-bucket-name")), "elsewhere").await;
    next_second();
    runs.push(through(&["backup", "--stack", env, "--keep-going"]));
    store_object(A, &ws.bucket(A), "bad.json", b"{\"parameters\": [", true).await;
    runs.push(through(&[
        "restore", "--stack", env, "--region", A, "--from", "bad.json",
    ]));
    runs.push(through(&["verify", "--stack", env, "--region", B]));

    for run in &runs {
        assert!(
            !run.stdout.contains(&marker) && !run.stderr.contains(&marker),
            "a secret was printed: {run:#?}"
        );
    }
    assert!(runs.iter().any(|r| r.code != 0), "the failures ran");
    assert!(!payload.contains(&marker), "Slack: {payload}");
    for (path, text) in files(ws.dir.path()) {
        assert!(!text.contains(&marker), "{} holds a secret", path.display());
    }
    let carrying: Vec<(String, String)> = proxy
        .record()
        .into_iter()
        .filter(|r| r.carries_marker)
        .map(|r| (r.operation, r.resource))
        .collect();
    assert!(!carrying.is_empty(), "the marker is watched for");
    for (operation, resource) in &carrying {
        let allowed = operation == "ssm:PutParameter"
            || (operation == "s3:PutObject" && resource.starts_with("itest-ssm-backup-ftleak-"));
        assert!(allowed, "{operation} {resource} carried a secret");
    }
}
