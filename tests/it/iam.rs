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
    let password = format!("/app/{env}/db/password");
    ssm(A)
        .await
        .put_parameter()
        .name(&password)
        .value("s3cret")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .tags(tag("team", "ops"))
        .send()
        .await
        .unwrap();
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
    // verify --deep reads the documents: it runs with the restore role.
    run(&["verify", "--stack", env, "--deep"]);
    used.entry("restore")
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
    // Tags changed since the backup: an overwrite sets the backup's and removes the others.
    ssm(A)
        .await
        .add_tags_to_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(&password)
        .tags(tag("team", "changed"))
        .tags(tag("extra", "1"))
        .send()
        .await
        .unwrap();
    run(&[
        "restore",
        "--stack",
        env,
        "--region",
        A,
        "--overwrite",
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

fn tag(key: &str, value: &str) -> aws_sdk_ssm::types::Tag {
    aws_sdk_ssm::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap()
}

/// Runs one of emulator/'s boto3 scripts against `emu` with `input` on stdin; its JSON output.
fn emulator_script(
    script: &str,
    emu: &Emulator,
    args: &[&str],
    input: &serde_json::Value,
) -> serde_json::Value {
    let mut child = std::process::Command::new(python())
        .arg(format!("{}/emulator/{script}", env!("CARGO_MANIFEST_DIR")))
        .args(["--endpoint", &emu.endpoint, "--ca-bundle"])
        .arg(&emu.ca_bundle)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script} failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An S3 client of the enforcing emulator with the given keys.
async fn s3_as(emu: &Emulator, (key, secret): (&str, &str), region: &str) -> aws_sdk_s3::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key, secret, None, None, "tests",
        ))
        .endpoint_url(&emu.endpoint)
        .http_client(ssm_keeper::shell::tls::https_client_trusting(&emu.ca_bundle).unwrap())
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// An object's bytes, read with the given keys.
async fn emulator_object(
    emu: &Emulator,
    keys: (&str, &str),
    region: &str,
    bucket: &str,
    key: &str,
) -> Vec<u8> {
    s3_as(emu, keys, region)
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

/// An SSM client of the enforcing emulator with the given keys.
async fn ssm_as(emu: &Emulator, (key, secret): (&str, &str), region: &str) -> aws_sdk_ssm::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key, secret, None, None, "tests",
        ))
        .endpoint_url(&emu.endpoint)
        .http_client(ssm_keeper::shell::tls::https_client_trusting(&emu.ca_bundle).unwrap())
        .load()
        .await;
    aws_sdk_ssm::Client::new(&conf)
}

#[tokio::test]
async fn each_role_runs_its_commands_under_enforced_iam_and_nothing_else() {
    let emu = start_emulator("iam", &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let env = "iamenf";
    let ws = Workspace::new(env, &[A, B], A);
    ws.write_raw(env, &stack_text(env, &[A, B]));

    // The policies as printed, one user each.
    let mut policies = serde_json::Map::new();
    for role in ["plan", "apply", "backup", "restore", "verify"] {
        let run = ws.run(&[
            "iam-policy",
            "--stack",
            env,
            "--role",
            role,
            "--account-id",
            ACCOUNT,
        ]);
        assert_eq!(run.code, 0, "{run:#?}");
        policies.insert(role.to_string(), run.json());
    }
    // The backup policy as printed before tags were backed up: no tag:GetResources.
    let mut old_backup = policies["backup"].clone();
    old_backup["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != "ReadParameterTags");
    policies.insert("backup-old".to_string(), old_backup);
    // A backup policy without s3:PutObjectTagging: the stamped upload is refused.
    let mut untagging = policies["backup"].clone();
    for statement in untagging["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = statement["Action"].as_array_mut() {
            actions.retain(|a| a != "s3:PutObjectTagging");
        }
    }
    policies.insert("backup-untagging".to_string(), untagging);
    let keys = emulator_script(
        "iam_users.py",
        &emu,
        &[],
        &serde_json::Value::Object(policies.clone()),
    );
    let creds = |user: &str| {
        (
            keys[user]["key"].as_str().unwrap().to_string(),
            keys[user]["secret"].as_str().unwrap().to_string(),
        )
    };
    let ca = emu.ca_bundle.to_str().unwrap().to_string();
    let as_role = |role: &str, args: &[&str]| {
        let (key, secret) = creds(role);
        ws.run_with(
            args,
            &[
                ("AWS_ENDPOINT_URL", Some(&emu.endpoint)),
                ("AWS_CA_BUNDLE", Some(&ca)),
                ("AWS_ACCESS_KEY_ID", Some(&key)),
                ("AWS_SECRET_ACCESS_KEY", Some(&secret)),
            ],
        )
    };
    let denied = |run: &Run, action: &str, role: &str| {
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(
            run.stderr
                .contains("hint: AWS denied these credentials the IAM action")
                && run.stderr.contains(action)
                && run.stderr.contains(&format!(
                    "`ssm-keeper iam-policy --stack {env} --role {role}`"
                )),
            "{}",
            run.stderr
        );
    };

    let run = as_role("plan", &["plan", "--stack", env, "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{run:#?}");
    // apply with the read-only role: the lock is the first write, and it is refused.
    let run = as_role("plan", &["apply", "--stack", env, "--auto-approve"]);
    denied(&run, "ssm:PutParameter", "apply");

    // A run that died left its lock: the apply role may take it over (claim included).
    let (key, secret) = creds("admin");
    let expired = serde_json::json!({
        "id": "long-gone", "who": "arn:aws:iam::123456789012:user/gone", "host": "h", "pid": 1,
        "command": "apply", "created": "2026-01-01T00:00:00Z", "expires": "2026-01-01T00:15:00Z",
    });
    ssm_as(&emu, (&key, &secret), A)
        .await
        .put_parameter()
        .name(format!("/locks/ssm-keeper/{env}"))
        .value(expired.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .customize()
        .mutate_request(|r| {
            // Written 16 minutes ago by AWS's clock (the emulator backdates it): expired.
            r.headers_mut().insert("x-emulator-age-seconds", "960");
        })
        .send()
        .await
        .unwrap();
    let run = as_role("apply", &["apply", "--stack", env, "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("The lock long-gone of `iamenf` expired"),
        "{}",
        run.stderr
    );
    let run = as_role("plan", &["plan", "--stack", env, "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let run = as_role("plan", &["outputs", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");

    let (key, secret) = creds("admin");
    for region in [A, B] {
        let ssm = ssm_as(&emu, (&key, &secret), region).await;
        ssm.put_parameter()
            .name(format!("/app/{env}/db/password"))
            .value("s3cret")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            // Restoring it creates it with its tags: ssm:AddTagsToResource as well.
            .tags(tag("team", "ops"))
            .send()
            .await
            .unwrap();
    }
    // A nightly job whose policy predates tags still backs up, without them, and says so.
    let run = as_role("backup-old", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("are not in the backup: AWS denied tag:GetResources"),
        "{}",
        run.stderr
    );
    let run = as_role("backup-untagging", &["backup", "--stack", env]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("s3:PutObject, s3:PutObjectTagging (s3:PutObject)"),
        "{}",
        run.stderr
    );
    let run = as_role("backup", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stderr.contains("WARNING"), "{}", run.stderr);
    // The verify role verifies without reading a document: no s3:GetObject on them (only on
    // the pointers), no kms:Decrypt; every check it can make from metadata holds.
    assert!(
        !policies["verify"].to_string().contains("kms:"),
        "{}",
        policies["verify"]
    );
    let run = as_role("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("Every check made holds."),
        "{}",
        run.stdout
    );
    // It may not read a document, even the one its pointer names.
    let bucket = ws.bucket(A);
    let document = String::from_utf8(
        emulator_object(
            &emu,
            (&key, &secret),
            A,
            &bucket,
            &format!("latest-{A}.txt"),
        )
        .await,
    )
    .unwrap();
    let (vkey, vsecret) = creds("verify");
    let read = s3_as(&emu, (&vkey, &vsecret), A)
        .await
        .get_object()
        .bucket(&bucket)
        .key(&document)
        .send()
        .await;
    assert_eq!(
        read.err()
            .and_then(|e| e.raw_response().map(|r| r.status().as_u16())),
        Some(403),
        "the verify role read {document}"
    );
    // --deep reads the documents: refused to the verify role, made with the restore role.
    let run = as_role("verify", &["verify", "--stack", env, "--deep"]);
    denied(&run, "s3:GetObject", "restore");
    let run = as_role("restore", &["verify", "--stack", env, "--deep"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("Every check holds."), "{}", run.stdout);

    // restore with the backup role: it may not list a backup's versions (nor write).
    let restore = [
        "restore",
        "--stack",
        env,
        "--region",
        A,
        "--apply",
        "--auto-approve",
    ];
    let lost = format!("/app/{env}/db/password");
    ssm_as(&emu, (&key, &secret), A)
        .await
        .delete_parameter()
        .name(&lost)
        .send()
        .await
        .unwrap();
    let run = as_role("backup", &restore);
    denied(&run, "s3:ListBucketVersions", "restore");
    let run = as_role("restore", &restore);
    assert_eq!(run.code, 0, "{run:#?}");
    let back = ssm_as(&emu, (&key, &secret), A)
        .await
        .get_parameter()
        .name(&lost)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(back.parameter.unwrap().value.as_deref(), Some("s3cret"));

    // --recreate: the restore role may delete the parameter to write it again.
    ssm_as(&emu, (&key, &secret), A)
        .await
        .put_parameter()
        .name(&lost)
        .value("s3cret")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .description("added after the backup")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let recreate = [&restore[..], &["--overwrite", "--recreate"]].concat();
    let run = as_role("restore", &recreate);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("recreated"), "{}", run.stdout);
}

#[tokio::test]
async fn one_policy_serves_a_role_across_stacks_and_iam_accepts_every_trust_policy() {
    let emu = start_emulator("iammulti", &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let (dev, prod) = ("iamdev", "iamprod");
    let ws = Workspace::new(dev, &[A], A);
    ws.write_raw(dev, &stack_text(dev, &[A]));
    ws.write_raw(prod, &stack_text(prod, &[A]));
    let printed = |stacks: &[&str], role: &str| {
        let mut args = vec!["iam-policy", "--role", role, "--account-id", ACCOUNT];
        for stack in stacks {
            args.extend(["--stack", stack]);
        }
        let run = ws.run(&args);
        assert_eq!(run.code, 0, "{run:#?}");
        run.json()
    };
    // One user per role as a team would attach them: one policy for both stacks.
    let policies = serde_json::json!({
        "apply-both": printed(&[dev, prod], "apply"),
        "backup-both": printed(&[dev, prod], "backup"),
        "backup-dev": printed(&[dev], "backup"),
    });
    let keys = emulator_script("iam_users.py", &emu, &[], &policies);
    let key = |user: &str| keys[user]["key"].as_str().unwrap().to_string();
    let secret = |user: &str| keys[user]["secret"].as_str().unwrap().to_string();
    let ca = emu.ca_bundle.to_str().unwrap().to_string();
    let as_user = |user: &str, args: &[&str]| {
        let (key, secret) = (key(user), secret(user));
        ws.run_with(
            args,
            &[
                ("AWS_ENDPOINT_URL", Some(&emu.endpoint)),
                ("AWS_CA_BUNDLE", Some(&ca)),
                ("AWS_ACCESS_KEY_ID", Some(&key)),
                ("AWS_SECRET_ACCESS_KEY", Some(&secret)),
            ],
        )
    };
    let admin = ssm_as(&emu, (&key("admin"), &secret("admin")), A).await;
    for env in [dev, prod] {
        let run = as_user("apply-both", &["apply", "--stack", env, "--auto-approve"]);
        assert_eq!(run.code, 0, "{run:#?}");
        admin
            .put_parameter()
            .name(format!("/app/{env}/host"))
            .value("h")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
        let run = as_user("backup-both", &["backup", "--stack", env]);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    // The policy of one stack does not serve the other.
    let run = as_user("backup-dev", &["backup", "--stack", prod]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("AccessDenied"), "{}", run.stderr);

    // Every trust policy is one IAM accepts and keeps as printed.
    let mut trusts = serde_json::Map::new();
    for role in ["plan", "apply", "backup", "restore", "verify"] {
        let github = ws.run(&[
            "iam-policy",
            "--stack",
            dev,
            "--role",
            role,
            "--account-id",
            ACCOUNT,
            "--trust",
            "github",
            "--repository",
            "my-org/infra",
        ]);
        assert_eq!(github.code, 0, "{github:#?}");
        trusts.insert(format!("gh-{role}"), github.json());
        let jenkins = ws.run(&[
            "iam-policy",
            "--stack",
            dev,
            "--role",
            role,
            "--account-id",
            ACCOUNT,
            "--trust",
            "jenkins",
            "--principal",
            &format!("arn:aws:iam::{ACCOUNT}:role/jenkins"),
        ]);
        assert_eq!(jenkins.code, 0, "{jenkins:#?}");
        trusts.insert(format!("jenkins-{role}"), jenkins.json());
    }
    let arns = emulator_script(
        "iam_roles.py",
        &emu,
        &["--key", &key("admin"), "--secret", &secret("admin")],
        &serde_json::Value::Object(trusts),
    );
    assert_eq!(
        arns["gh-apply"],
        format!("arn:aws:iam::{ACCOUNT}:role/gh-apply")
    );
    assert_eq!(arns.as_object().unwrap().len(), 10);
}
