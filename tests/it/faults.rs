//! Proofs under faults, through the fault proxy: transient faults change no outcome, persistent
//! ones fail clearly and a re-run converges, stalls are cut, an apply or backup interrupted after
//! any mutating request is completed by a re-run with the safety orderings kept, the read-only
//! commands send no mutating request, and two writers never run at once.

use crate::common::*;
use crate::proxy::{Fault, Proxy, Recorded, Rule};
use std::collections::BTreeSet;

const A: &str = "us-east-1";

/// Throttling, 500s and resets, 20% of all requests in all (a third each).
fn transient(proxy: &Proxy) {
    for fault in [Fault::Throttle, Fault::ServerError, Fault::Reset] {
        proxy.rule(Rule {
            operations: "*",
            share: 0.2 / 3.0,
            fault,
        });
    }
}

/// Runs ssm-keeper through the proxy, with the SDK's retries as given.
fn via(ws: &Workspace, proxy: &Proxy, args: &[&str], attempts: &str) -> Run {
    let mut env = proxy.env().to_vec();
    env.push(("AWS_MAX_ATTEMPTS", Some(attempts)));
    ws.run_with(args, &env)
}

/// Everything one environment's commands say, in a form comparable across environments.
fn outputs(ws: &Workspace, proxy: &Proxy, attempts: &str) -> Vec<String> {
    let env = ws.env.clone();
    let normalize = |text: &str| {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let l = l.replace(&env, "ENV");
                // timestamps and durations differ between any two runs
                l.split_whitespace()
                    .filter(|w| !w.chars().any(|c| c.is_ascii_digit()) || w.len() < 3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        lines.sort();
        lines.join("\n")
    };
    let mut said = Vec::new();
    for args in [
        vec!["apply", "--stack", env.as_str(), "--auto-approve"],
        vec!["plan", "--stack", env.as_str(), "--detailed-exitcode"],
        vec!["backup", "--stack", env.as_str()],
        vec!["verify", "--stack", env.as_str()],
        vec![
            "restore",
            "--stack",
            env.as_str(),
            "--region",
            A,
            "--apply",
            "--auto-approve",
        ],
    ] {
        if args[0] == "restore" {
            // a parameter lost between backup and restore
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(delete_param(A, &format!("/app/{env}/password")));
        }
        let run = via(ws, proxy, &args, attempts);
        assert_eq!(run.code, 0, "{args:?}: {run:#?}");
        said.push(format!("{} -> {}", args[0], normalize(&run.stdout)));
    }
    said
}

fn seed(env: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        put_string(A, &format!("/app/{env}/host"), "h").await;
        put_secure(A, &format!("/app/{env}/password"), "FAULTS-SECRET").await;
    });
}

#[test]
fn transient_faults_change_no_outcome() {
    let clean = Workspace::new("ftclean", &[A], A);
    seed("ftclean");
    let proxy = Proxy::start(0);
    let expected = outputs(&clean, &proxy, "10");
    for seed_value in [1, 2, 3] {
        let env = format!("ftseed{seed_value}");
        let ws = Workspace::new(&env, &[A], A);
        seed(&env);
        let proxy = Proxy::start(seed_value);
        transient(&proxy);
        let said = outputs(&ws, &proxy, "10");
        let record = proxy.record();
        let faulted = record.iter().filter(|r| r.fault.is_some()).count();
        assert!(faulted > 0, "seed {seed_value}: no fault was injected");
        eprintln!(
            "figures: seed {seed_value}: {faulted} faults injected in {} requests",
            record.len()
        );
        assert_eq!(said, expected, "seed {seed_value} ({faulted} faults)");
        // and the end state is the clean one: nothing left to change
        let run = ws.run(&["plan", "--stack", &env, "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let run = ws.run(&["verify", "--stack", &env]);
        assert_eq!(run.code, 0, "{run:#?}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let password = rt.block_on(parameter(A, &format!("/app/{env}/password")));
        assert!(password.is_some(), "restored");
    }
}

#[test]
fn persistent_faults_fail_naming_operation_and_region_and_a_rerun_converges() {
    let ws = Workspace::new("ftpersist", &[A], A);
    seed("ftpersist");
    let proxy = Proxy::start(7);
    let env = "ftpersist";
    let cases: [(&str, Fault, Vec<&str>, &str); 6] = [
        (
            "ssm:PutParameter",
            Fault::Throttle,
            vec!["apply", "--stack", env, "--auto-approve"],
            "(PutParameter)",
        ),
        (
            "s3:GetBucketPolicy",
            Fault::ServerError,
            vec!["plan", "--stack", env],
            "(GetBucketPolicy)",
        ),
        (
            "s3:PutObject",
            Fault::Throttle,
            vec!["backup", "--stack", env],
            "(PutObject)",
        ),
        (
            "s3:GetObjectTagging",
            Fault::ServerError,
            vec!["verify", "--stack", env],
            "(GetObjectTagging)",
        ),
        (
            "s3:HeadObject",
            Fault::ServerError,
            vec!["verify", "--stack", env, "--deep"],
            "s3://",
        ),
        (
            "ssm:GetParameters",
            Fault::Reset,
            vec!["restore", "--stack", env, "--region", A],
            "(GetParameters)",
        ),
    ];
    for (operation, fault, args, named) in cases {
        if args[0] != "apply" {
            let run = ws.run(&["apply", "--stack", env, "--auto-approve"]);
            assert_eq!(run.code, 0, "{run:#?}");
        }
        if matches!(args[0], "verify" | "restore") {
            assert_eq!(ws.run(&["backup", "--stack", env]).code, 0);
        }
        proxy.clear_rules();
        proxy.rule(Rule {
            operations: operation,
            share: 1.0,
            fault,
        });
        let run = via(&ws, &proxy, &args, "2");
        assert_eq!(run.code, 1, "{operation}: {run:#?}");
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(said.contains(named), "{operation}: {said}");
        assert!(said.contains(A), "{operation} names the region: {said}");
        proxy.clear_rules();
        let run = via(&ws, &proxy, &args, "2");
        assert_eq!(run.code, 0, "{operation}, without faults: {run:#?}");
    }
}

#[test]
fn a_stalled_response_is_cut_and_the_command_ends() {
    let ws = Workspace::new("ftstall", &[A], A);
    ws.apply();
    let proxy = Proxy::start(3);
    proxy.rule(Rule {
        operations: "s3:GetBucketTagging",
        share: 1.0,
        fault: Fault::Stall,
    });
    let mut env = proxy.env().to_vec();
    env.push(("AWS_MAX_ATTEMPTS", Some("2")));
    let run = ws.run_with(
        &["--read-timeout", "500ms", "plan", "--stack", "ftstall"],
        &env,
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("(GetBucketTagging)"), "{}", run.stderr);
    let stalled = proxy
        .record()
        .iter()
        .filter(|r| r.fault == Some(Fault::Stall))
        .count();
    assert_eq!(
        stalled, 2,
        "cut by the read timeout, retried once, cut again"
    );
}

fn assert_read_only(record: &[Recorded], what: &str) {
    let mutating: Vec<&str> = record
        .iter()
        .filter(|r| r.mutating)
        .map(|r| r.operation.as_str())
        .collect();
    assert!(mutating.is_empty(), "{what} sent {mutating:?}");
    assert!(
        !record.is_empty(),
        "{what} sent nothing at all through the proxy"
    );
}

#[test]
fn plan_verify_restore_preview_and_dry_runs_send_no_mutating_request() {
    let ws = Workspace::new("ftro", &[A, "eu-west-1"], A);
    ws.apply();
    seed("ftro");
    assert_eq!(ws.run(&["backup", "--stack", "ftro"]).code, 0);
    ws.write_stack(&[A], A, A); // a removed region: plan counts its objects too
    let proxy = Proxy::start(5);
    for args in [
        vec![
            "plan",
            "--stack",
            "ftro",
            "--format",
            "json",
            "--out",
            "plan.json",
        ],
        vec![
            "plan",
            "--stack",
            "ftro",
            "--destroy-removed-buckets",
            "--destroy-bucket-objects",
        ],
        vec!["verify", "--stack", "ftro"],
        vec!["verify", "--stack", "ftro", "--deep"],
        vec!["restore", "--stack", "ftro", "--region", A, "--overwrite"],
        vec!["backup", "--stack", "ftro", "--dry-run"],
        vec!["outputs", "--stack", "ftro"],
    ] {
        proxy.clear_record();
        let run = via(&ws, &proxy, &args, "3");
        assert!(run.code == 0, "{args:?}: {run:#?}");
        assert_read_only(&proxy.record(), &args.join(" "));
    }
}

/// Checks the safety orderings over everything an environment's applies sent: a bucket's first
/// change after its creation is its public access block, and no parameter names a bucket before
/// that bucket was created.
fn assert_safe_order(record: &[Recorded]) {
    let mut created: BTreeSet<&str> = BTreeSet::new();
    let mut waiting_for_block: BTreeSet<&str> = BTreeSet::new();
    for r in record.iter().filter(|r| r.mutating && r.fault.is_none()) {
        if r.operation.starts_with("s3:") && waiting_for_block.contains(r.resource.as_str()) {
            assert_eq!(
                r.operation, "s3:PutPublicAccessBlock",
                "the first change of {} after its creation",
                r.resource
            );
            waiting_for_block.remove(r.resource.as_str());
        }
        if r.operation == "s3:CreateBucket" {
            created.insert(&r.resource);
            waiting_for_block.insert(&r.resource);
        }
        if let Some(value) = &r.value
            && value.contains("-ssm-backup-")
            && !value.starts_with('[')
        {
            assert!(
                created.contains(value.as_str()),
                "{} names bucket {value} before it was created",
                r.resource
            );
        }
    }
}

/// The lock a cut run left behind, removed as an operator would (its run is gone).
fn unlock_if_held(ws: &Workspace) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lock = rt.block_on(parameter(A, &format!("/locks/ssm-keeper/{}", ws.env)));
    if let Some(lock) = lock {
        let id = serde_json::from_str::<serde_json::Value>(&lock).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let run = ws.run(&["force-unlock", "--stack", &ws.env, &id, "--force"]);
        assert_eq!(run.code, 0, "{run:#?}");
    }
}

#[test]
fn an_apply_cut_after_any_mutating_request_is_completed_by_a_rerun() {
    // How many mutating requests a clean apply of one region sends.
    let proxy = Proxy::start(11);
    let probe = Workspace::new("ftcount", &[A], A);
    assert_eq!(
        via(
            &probe,
            &proxy,
            &["apply", "--stack", "ftcount", "--auto-approve"],
            "1"
        )
        .code,
        0
    );
    let total = proxy.record().iter().filter(|r| r.mutating).count();
    assert!(total >= 10, "{total}");
    eprintln!("figures: apply cut after each of its {total} mutating requests");

    for k in 0..total {
        let env = format!("ftcut{k}");
        let ws = Workspace::new(&env, &[A], A);
        let proxy = Proxy::start(100 + k as u64);
        proxy.cut_after_mutations(k);
        let run = via(
            &ws,
            &proxy,
            &["apply", "--stack", &env, "--auto-approve"],
            "1",
        );
        // Cut before the last request (the lock's release), the apply itself is done.
        let expected = if k + 1 == total { 0 } else { 1 };
        assert_eq!(run.code, expected, "cut after {k} of {total}: {run:#?}");
        proxy.no_cut();
        unlock_if_held(&ws);
        let run = via(
            &ws,
            &proxy,
            &["apply", "--stack", &env, "--auto-approve"],
            "1",
        );
        assert_eq!(run.code, 0, "re-run after a cut at {k}: {run:#?}");
        let run = ws.run(&["plan", "--stack", &env, "--detailed-exitcode"]);
        assert_eq!(run.code, 0, "converged after a cut at {k}: {run:#?}");
        assert_safe_order(&proxy.record());
    }
}

#[test]
fn a_backup_cut_after_any_mutating_request_leaves_no_pointer_to_a_missing_object() {
    let ws = Workspace::new("ftbackcut", &[A], A);
    ws.apply();
    seed("ftbackcut");
    assert_eq!(ws.run(&["backup", "--stack", "ftbackcut"]).code, 0);
    let proxy = Proxy::start(21);
    // lock, document, two pointers (default region), unlock
    for k in 0..5 {
        proxy.cut_after_mutations(k);
        let run = via(
            &ws,
            &proxy,
            &["backup", "--stack", "ftbackcut", "--lock-timeout", "0s"],
            "1",
        );
        let expected = if k == 4 { 0 } else { 1 };
        assert_eq!(run.code, expected, "cut after {k}: {run:#?}");
        proxy.no_cut();
        // Whatever a pointer names exists and is whole. A pointer may lag behind the newest
        // document (cut between the document and its pointers): `pointer-newest` fails, naming
        // it, until the next backup; latest.txt may lag behind latest-<region>.txt.
        let run = ws.run(&["verify", "--stack", "ftbackcut", "--format", "json"]);
        let failed: Vec<String> = run.json()["regions"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| c["check"].as_str().unwrap().to_string())
            .collect();
        let allowed: &[&str] = match k {
            2 => &["pointer-newest"],
            3 => &["default-pointer", "pointer-newest"],
            _ => &[],
        };
        assert!(
            failed.iter().all(|f| allowed.contains(&f.as_str())),
            "after a cut at {k}: {run:#?}"
        );
        unlock_if_held(&ws);
        let run = ws.run(&["backup", "--stack", "ftbackcut"]);
        assert_eq!(run.code, 0, "the next run after a cut at {k}: {run:#?}");
        let run = ws.run(&["verify", "--stack", "ftbackcut"]);
        assert_eq!(run.code, 0, "verify after the next run: {run:#?}");
    }
}

#[test]
fn two_applies_or_two_backups_at_once_run_one_at_a_time() {
    let ws = Workspace::new("fttwo", &[A], A);
    let proxy = Proxy::start(31);
    // Slow writes, so that the two runs overlap.
    proxy.rule(Rule {
        operations: "mutating",
        share: 1.0,
        fault: Fault::Latency(std::time::Duration::from_millis(150)),
    });
    for args in [
        vec!["apply", "--stack", "fttwo", "--auto-approve"],
        vec!["backup", "--stack", "fttwo", "--lock-timeout", "0s"],
    ] {
        let mut env = proxy.env().to_vec();
        env.push(("AWS_MAX_ATTEMPTS", Some("3")));
        let children: Vec<_> = (0..2)
            .map(|_| {
                ws.command(&args, &env)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let runs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let codes: Vec<i32> = runs.iter().map(|o| o.status.code().unwrap()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1], "{args:?}: exactly one proceeds: {runs:#?}");
        let loser = runs.iter().find(|o| o.status.code() == Some(1)).unwrap();
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert!(
            stderr.contains("the `fttwo` environment is locked by"),
            "{args:?}: {stderr}"
        );
    }
}
