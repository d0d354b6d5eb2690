//! Least privilege, proven from the fault proxy's record: for each role, the IAM actions behind
//! every request its commands made (in every path the tests can provoke) are exactly the actions
//! `iam-policy --role` grants, and the read-only roles grant no write action.

use crate::common::*;
use crate::proxy::Proxy;
use ssm_keeper::core::iam::{KMS_VIA_SSM, iam_actions, is_write_action};
use std::collections::BTreeSet;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

fn stack_text(env: &str, regions: &[&str]) -> String {
    let list: String = regions.iter().map(|r| format!("  - {r}\n")).collect();
    format!(
        "projectName: {PROJECT}\nenvironment: {env}\nregions:\n{list}defaultRegion: {A}\nssmHomeRegion: {A}\nalarm:\n  snsTopicArn: arn:aws:sns:{A}:{ACCOUNT}:ops\n"
    )
}

/// The IAM actions behind the requests recorded since the last call (none for STS's
/// GetCallerIdentity, which needs no permission).
fn used_actions(proxy: &Proxy) -> BTreeSet<String> {
    let record = proxy.record();
    proxy.clear_record();
    record
        .iter()
        .flat_map(|r| match iam_actions(&r.operation) {
            Some(actions) => actions.iter().map(|a| a.to_string()).collect(),
            None => {
                assert_eq!(r.operation, "sts:GetCallerIdentity", "unmapped operation");
                Vec::new()
            }
        })
        .collect()
}

fn granted(ws: &Workspace, role: &str) -> BTreeSet<String> {
    let run = ws.run(&["iam-policy", "--stack", &ws.env, "--role", role]);
    assert_eq!(run.code, 0, "{run:#?}");
    ssm_keeper::core::iam::granted_actions(&run.json())
}

#[tokio::test]
async fn each_role_grants_exactly_the_actions_its_commands_use() {
    let env = "iamproof";
    let ws = Workspace::new(env, &[A, B], A);
    ws.write_raw(env, &stack_text(env, &[A, B]));
    let proxy = Proxy::start(11);
    let run = |args: &[&str]| {
        let run = ws.run_with(args, &proxy.env());
        assert!(run.code == 0 || run.code == 2, "{run:#?}");
    };
    let mut used: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();

    // plan and outputs: an empty account, then (below) a removed region.
    run(&["plan", "--stack", env]);
    run(&["outputs", "--stack", env]);
    used.entry("plan").or_default().extend(used_actions(&proxy));

    // apply: everything created (buckets, metadata, alarms), under the lock.
    run(&["apply", "--stack", env, "--auto-approve"]);
    used.entry("apply")
        .or_default()
        .extend(used_actions(&proxy));

    // backup: a SecureString, and a PutObject whose answer is lost (the retry finds its own
    // object by checksum).
    put_secure(A, &format!("/app/{env}/db/password"), "s3cret").await;
    put_string(B, &format!("/app/{env}/host"), "h").await;
    proxy.lose_next_answer("s3:PutObject");
    run(&["backup", "--stack", env]);
    used.entry("backup")
        .or_default()
        .extend(used_actions(&proxy));

    run(&["verify", "--stack", env]);
    used.entry("verify")
        .or_default()
        .extend(used_actions(&proxy));

    // restore: the latest backup, a day's newest, a custom KMS key, into another region.
    delete_param(A, &format!("/app/{env}/db/password")).await;
    let key = kms(B)
        .await
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    run(&[
        "restore",
        "--stack",
        env,
        "--region",
        A,
        "--apply",
        "--auto-approve",
    ]);
    run(&["restore", "--stack", env, "--region", A, "--from", &today]);
    run(&[
        "restore",
        "--stack",
        env,
        "--region",
        A,
        "--target-region",
        B,
        "--kms-key-id",
        &key,
        "--apply",
        "--auto-approve",
    ]);
    used.entry("restore")
        .or_default()
        .extend(used_actions(&proxy));

    // A region removed: plan counts its objects; apply destroys them with the bucket and
    // removes its alarm.
    ws.write_raw(env, &stack_text(env, &[A]));
    run(&["plan", "--stack", env]);
    used.entry("plan").or_default().extend(used_actions(&proxy));
    run(&[
        "apply",
        "--stack",
        env,
        "--auto-approve",
        "--destroy-removed-buckets",
        "--destroy-bucket-objects",
    ]);
    used.entry("apply")
        .or_default()
        .extend(used_actions(&proxy));

    for (role, used) in &used {
        let granted = granted(&ws, role);
        let missing: Vec<&String> = used.difference(&granted).collect();
        assert!(
            missing.is_empty(),
            "{role}: used but not granted: {missing:?}"
        );
        // SSM calls KMS on the caller's behalf for customer-managed keys: no request of ours
        // shows those actions, and the policy grants them only through SSM (kms:ViaService).
        let unused: Vec<&String> = granted
            .difference(used)
            .filter(|a| !KMS_VIA_SSM.contains(&a.as_str()))
            .collect();
        assert!(
            unused.is_empty(),
            "{role}: granted but never used: {unused:?}"
        );
        if matches!(*role, "plan" | "verify") {
            assert!(
                !granted.iter().any(|a| is_write_action(a)),
                "{role}: {granted:?}"
            );
        }
    }
    assert_eq!(used.len(), 5);
}
