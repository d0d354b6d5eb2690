//! Least privilege, proven from the fault proxy's record: for each role, the IAM actions behind
//! every request its commands made (in every path the tests can provoke) are exactly the actions
//! `iam-policy --role` grants, and the read-only roles grant no write action.

use crate::common::*;
use crate::proxy::Proxy;
use ssm_keeper::core::iam::{KMS_VIA_SSM, iam_actions, is_write_action};
use std::collections::BTreeSet;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
const DASHBOARD: &str = "dashboard: {}\n";

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
    // Under a managed KMS key: the roles' KMS statements are used too.
    // With a journal: plan reads, apply creates and (a region removed) removes its resources.
    // With a dashboard: plan reads it, apply writes it, and deletes it with the section.
    let kms_stack = |regions: &[&str]| {
        format!(
            "{}encryption: kms\njournal: {{retentionDays: 30}}\n{DASHBOARD}",
            stack_text(env, regions)
        )
    };
    ws.write_raw(env, &kms_stack(&[A, B]));
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

    // apply: everything created (keys, buckets, metadata, alarms), under the lock; then every
    // repair of a key that drifted.
    run(&["apply", "--stack", env, "--auto-approve"]);
    let alias = format!("alias/{PROJECT}-ssm-backup-{env}");
    drift_key(A, &alias).await;
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
    run(&["changes", "--stack", env]);
    run(&["snapshots", "--stack", env]);
    used.entry("verify")
        .or_default()
        .extend(used_actions(&proxy));
    // verify --deep reads the documents: it runs with the restore role.
    run(&["verify", "--stack", env, "--deep"]);
    run(&["changes", "--stack", env, "--history"]);
    let now = ssm_keeper::core::changes::utc(time::OffsetDateTime::now_utc());
    run(&["restore", "--stack", env, "--region", A, "--at", &now]);
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
    // The drill: written under its path, read back, deleted in batches, metrics published.
    run(&["restore", "--stack", env, "--drill"]);
    used.entry("restore")
        .or_default()
        .extend(used_actions(&proxy));

    // A region removed: plan counts its objects; apply destroys them with the bucket, removes
    // its alarm and schedules the deletion of its key.
    ws.write_raw(env, &kms_stack(&[A]));
    run(&["plan", "--stack", env]);
    used.entry("plan").or_default().extend(used_actions(&proxy));
    run(&[
        "apply",
        "--stack",
        env,
        "--auto-approve",
        "--destroy-removed-buckets",
        "--destroy-bucket-objects",
        "--destroy-removed-keys",
        "--destroy-removed-journals",
    ]);
    used.entry("apply")
        .or_default()
        .extend(used_actions(&proxy));

    // Object Lock turned on: the apply role's last bucket attribute; the dashboard's section
    // removed: it is deleted.
    ws.write_raw(
        env,
        &format!(
            "{}objectLock:\n  mode: GOVERNANCE\n  days: 1\n",
            kms_stack(&[A]).replace(DASHBOARD, "")
        ),
    );
    run(&["apply", "--stack", env, "--auto-approve"]);
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
        // each_role_runs_a_kms_stack_with_copies_under_enforced_iam proves they suffice (the
        // emulator asks KMS as SSM does).
        // kms:ListAliases is asked only when the alias names a key the role may not read (never
        // with these administrator's credentials): integrity::a_moved_alias_is_seen_by_plan_
        // and_verify_with_their_own_roles uses it under enforced IAM.
        let unused: Vec<&String> = granted
            .difference(used)
            .filter(|a| !KMS_VIA_SSM.contains(&a.as_str()) && a.as_str() != "kms:ListAliases")
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

/// Changes every managed attribute of the key behind `alias` by hand, and schedules its
/// deletion.
async fn drift_key(region: &str, alias: &str) {
    let kms = kms(region).await;
    let key = kms
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    kms.disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    kms.update_key_description()
        .key_id(&key)
        .description("changed by hand")
        .send()
        .await
        .unwrap();
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "ByHand", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
        "Action": "kms:*", "Resource": "*"}]});
    kms.put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(&key)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("extra")
                .tag_value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
}

fn tag(key: &str, value: &str) -> aws_sdk_ssm::types::Tag {
    aws_sdk_ssm::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap()
}

/// An emulator enforcing IAM, a workspace whose stack `write` writes (regions A and B, A the
/// default), and a user per role with exactly the policy `iam-policy` prints (and `admin`).
pub(crate) struct Enforced {
    pub emu: Emulator,
    pub ws: Workspace,
    keys: serde_json::Value,
}

impl Enforced {
    pub fn start(name: &str, env: &str, write: impl FnOnce(&Workspace)) -> Self {
        let emu = start_emulator(name, &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
        let ws = Workspace::new(env, &[A, B], A);
        write(&ws);
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
        let keys = emulator_script(
            "iam_users.py",
            &emu,
            &[],
            &serde_json::Value::Object(policies),
        );
        Enforced { emu, ws, keys }
    }

    pub fn creds(&self, user: &str) -> (String, String) {
        (
            self.keys[user]["key"].as_str().unwrap().to_string(),
            self.keys[user]["secret"].as_str().unwrap().to_string(),
        )
    }

    /// ssm-keeper run with `role`'s keys.
    pub fn run(&self, role: &str, args: &[&str]) -> Run {
        let (key, secret) = self.creds(role);
        let ca = self.emu.ca_bundle.to_str().unwrap().to_string();
        self.ws.run_with(
            args,
            &[
                ("AWS_ENDPOINT_URL", Some(&self.emu.endpoint)),
                ("AWS_CA_BUNDLE", Some(&ca)),
                ("AWS_ACCESS_KEY_ID", Some(&key)),
                ("AWS_SECRET_ACCESS_KEY", Some(&secret)),
            ],
        )
    }

    pub async fn s3(&self, role: &str, region: &str) -> aws_sdk_s3::Client {
        let (key, secret) = self.creds(role);
        s3_as(&self.emu, (&key, &secret), region).await
    }

    pub async fn ssm(&self, role: &str, region: &str) -> aws_sdk_ssm::Client {
        let (key, secret) = self.creds(role);
        ssm_as(&self.emu, (&key, &secret), region).await
    }

    pub async fn kms(&self, role: &str, region: &str) -> aws_sdk_kms::Client {
        let (key, secret) = self.creds(role);
        aws_sdk_kms::Client::new(&config_as(&self.emu, (&key, &secret), region).await)
    }
}

/// Runs one of emulator/'s boto3 scripts against `emu` with `input` on stdin; its JSON output.
pub(crate) fn emulator_script(
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
pub(crate) async fn s3_as(emu: &Emulator, keys: (&str, &str), region: &str) -> aws_sdk_s3::Client {
    let conf = config_as(emu, keys, region).await;
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
pub(crate) async fn ssm_as(
    emu: &Emulator,
    keys: (&str, &str),
    region: &str,
) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&config_as(emu, keys, region).await)
}

#[tokio::test]
async fn each_role_runs_its_commands_under_enforced_iam_and_nothing_else() {
    let emu = start_emulator("iam", &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let env = "iamenf";
    let ws = Workspace::new(env, &[A, B], A);
    ws.write_raw(
        env,
        &format!(
            "{}journal: {{retentionDays: 30}}\n{DASHBOARD}",
            stack_text(env, &[A, B])
        ),
    );

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
    // Another document than the one backup-old stored (without tags): in another second.
    next_second();
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

    // changes: the journal and metadata with the verify role; the history (values) only with
    // the restore role.
    let run = as_role("verify", &["changes", "--stack", env, "--format", "json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let listed = run.json()["changes"].as_array().unwrap().len();
    assert!(
        listed >= 2,
        "the journal's events of both regions: {run:#?}"
    );
    let run = as_role("verify", &["snapshots", "--stack", env, "--format", "json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.json()["regions"][0]["window"].is_object(), "{run:#?}");
    let run = as_role("verify", &["changes", "--stack", env, "--history"]);
    denied(&run, "ssm:GetParameterHistory", "restore");
    let run = as_role("restore", &["changes", "--stack", env, "--history"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stdout.contains("s3cret"), "{run:#?}");
    // restore --at: the backup, the journal and the history, with the restore role only.
    let now = ssm_keeper::core::changes::utc(time::OffsetDateTime::now_utc());
    let at = ["restore", "--stack", env, "--region", A, "--at", &now];
    denied(&as_role("verify", &at), "s3:GetObject", "restore");
    let run = as_role("restore", &at);
    assert_eq!(run.code, 0, "{run:#?}");

    // restore with the backup role: it may not list the backups (nor write).
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
    denied(&run, "s3:ListBucket (s3:ListObjectsV2)", "restore");
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

    // The drill with the restore role: written under its path, read back, cleaned up (a
    // killed drill's leftovers too), its metrics published. The backup role may not.
    let admin = ssm_as(&emu, (&key, &secret), A).await;
    let leftover = format!("/drills/ssm-keeper/{env}/20260101T000000Z-000000/app/{env}/x");
    admin
        .put_parameter()
        .name(&leftover)
        .value("left by a killed drill")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let drill = ["restore", "--stack", env, "--drill"];
    let run = as_role("backup", &drill);
    denied(&run, "s3:ListBucket (s3:ListObjectsV2)", "restore");
    let run = as_role("restore", &drill);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("Drill of us-east-1: 1 parameters left by an earlier drill deleted."),
        "{}",
        run.stderr
    );
    for region in [A, B] {
        let left = ssm_as(&emu, (&key, &secret), region)
            .await
            .get_parameters_by_path()
            .path(format!("/drills/ssm-keeper/{env}/"))
            .recursive(true)
            .send()
            .await
            .unwrap();
        assert!(left.parameters().is_empty(), "{region}: {left:?}");
    }

    // The dashboard, written by apply above against its ARN (plan, reading it, found nothing to
    // do): the section removed, plan shows its deletion and apply deletes it.
    let admin_cw = aws_sdk_cloudwatch::Client::new(&config_as(&emu, (&key, &secret), B).await);
    let name = format!("{PROJECT}-ssm-backup-{env}");
    admin_cw
        .get_dashboard()
        .dashboard_name(&name)
        .send()
        .await
        .unwrap();
    ws.write_raw(
        env,
        &format!(
            "{}journal: {{retentionDays: 30}}\n",
            stack_text(env, &[A, B])
        ),
    );
    let run = as_role("plan", &["plan", "--stack", env, "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("- delete dashboard {name} ({A})")),
        "{}",
        run.stdout
    );
    let run = as_role("apply", &["apply", "--stack", env, "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let gone = admin_cw.get_dashboard().dashboard_name(&name).send().await;
    assert!(
        gone.err()
            .and_then(|e| e
                .into_service_error()
                .is_dashboard_not_found_error()
                .then_some(()))
            .is_some(),
        "the dashboard is still there"
    );
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
        // For the switch to the stacks' environments: the old and the new subjects together.
        let switching = ws.run(&[
            "iam-policy",
            "--stack",
            dev,
            "--stack",
            prod,
            "--role",
            role,
            "--account-id",
            ACCOUNT,
            "--trust",
            "github",
            "--repository",
            "my-org/infra",
            "--also-branch-subject",
        ]);
        assert_eq!(switching.code, 0, "{switching:#?}");
        trusts.insert(format!("gh-switch-{role}"), switching.json());
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
    assert_eq!(arns.as_object().unwrap().len(), 15);
}

/// The SDK configuration for the enforcing emulator `emu` with the given keys.
pub(crate) async fn config_as(
    emu: &Emulator,
    (key, secret): (&str, &str),
    region: &str,
) -> aws_types::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            key, secret, None, None, "tests",
        ))
        .endpoint_url(&emu.endpoint)
        .http_client(ssm_keeper::shell::tls::https_client_trusting(&emu.ca_bundle).unwrap())
        .load()
        .await
}

/// AWS's S3 asks KMS for an SSE-KMS object: the writer needs kms:GenerateDataKey and the
/// reader kms:Decrypt on the key (through S3), s3:GetObject alone reads nothing; a key that is
/// missing or disabled fails the request. The emulator does the same (emulator/keeper_emulator/s3.py).
#[tokio::test]
async fn s3_asks_kms_for_an_sse_kms_object_under_enforced_iam() {
    let emu = start_emulator("iamkms", &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let bucket = "kms-documents";
    let objects = format!("arn:aws:s3:::{bucket}/*");
    let via_s3 = serde_json::json!({ "StringLike": { "kms:ViaService": "s3.*.amazonaws.com" } });
    let allow = |actions: &[&str], resource: &str, condition: Option<&serde_json::Value>| {
        let mut statement = serde_json::json!({
            "Effect": "Allow", "Action": actions, "Resource": resource,
        });
        if let Some(c) = condition {
            statement["Condition"] = c.clone();
        }
        statement
    };
    let policy = |statements: Vec<serde_json::Value>| serde_json::json!({ "Version": "2012-10-17", "Statement": statements });
    let keys_arn = format!("arn:aws:kms:{A}:{ACCOUNT}:key/*");
    let users = serde_json::json!({
        "writer": policy(vec![
            allow(&["s3:PutObject"], &objects, None),
            allow(&["kms:GenerateDataKey"], &keys_arn, Some(&via_s3)),
        ]),
        "plain-writer": policy(vec![allow(&["s3:PutObject"], &objects, None)]),
        "reader": policy(vec![allow(&["s3:GetObject"], &objects, None)]),
        "decrypter": policy(vec![
            allow(&["s3:GetObject"], &objects, None),
            allow(&["kms:Decrypt"], &keys_arn, Some(&via_s3)),
        ]),
        // kms:Decrypt only through SSM (the backup role's SecureString grant): not through S3.
        "ssm-decrypter": policy(vec![
            allow(&["s3:GetObject"], &objects, None),
            allow(&["kms:Decrypt"], &keys_arn, Some(&serde_json::json!({ "StringLike": { "kms:ViaService": "ssm.*.amazonaws.com" } }))),
        ]),
    });
    let keys = emulator_script("iam_users.py", &emu, &[], &users);
    let creds = |user: &str| {
        (
            keys[user]["key"].as_str().unwrap().to_string(),
            keys[user]["secret"].as_str().unwrap().to_string(),
        )
    };
    let as_user = |user: &str| {
        let (k, s) = creds(user);
        let emu = &emu;
        async move { s3_as(emu, (&k, &s), A).await }
    };
    let (ak, asecret) = creds("admin");
    let admin = s3_as(&emu, (&ak, &asecret), A).await;
    let admin_kms = aws_sdk_kms::Client::new(&config_as(&emu, (&ak, &asecret), A).await);
    admin.create_bucket().bucket(bucket).send().await.unwrap();
    let key = admin_kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let put = |client: aws_sdk_s3::Client, object: &'static str, key: String| async move {
        client
            .put_object()
            .bucket(bucket)
            .key(object)
            .body(b"secret document".to_vec().into())
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(key)
            .send()
            .await
    };
    let code = |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| e.code().map(str::to_string);

    let refused = put(as_user("plain-writer").await, "doc.json", key.clone()).await;
    assert_eq!(code(&refused.unwrap_err()).as_deref(), Some("AccessDenied"));
    put(as_user("writer").await, "doc.json", key.clone())
        .await
        .unwrap();

    let get = |client: aws_sdk_s3::Client| async move {
        client
            .get_object()
            .bucket(bucket)
            .key("doc.json")
            .send()
            .await
    };
    for user in ["reader", "ssm-decrypter"] {
        let refused = get(as_user(user).await).await;
        assert_eq!(
            code(&refused.unwrap_err()).as_deref(),
            Some("AccessDenied"),
            "{user}"
        );
    }
    // What the object is (HeadObject) needs no key.
    let head = as_user("reader")
        .await
        .head_object()
        .bucket(bucket)
        .key("doc.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.ssekms_key_id(), Some(key.as_str()));
    let body = get(as_user("decrypter").await).await.unwrap().body;
    assert_eq!(body.collect().await.unwrap().to_vec(), b"secret document");

    // A missing key fails the write; a disabled key fails the read, even for the admin.
    let missing = format!("arn:aws:kms:{A}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000");
    let refused = put(admin.clone(), "other.json", missing).await;
    assert_eq!(
        code(&refused.unwrap_err()).as_deref(),
        Some("KMS.NotFoundException")
    );
    admin_kms.disable_key().key_id(&key).send().await.unwrap();
    let refused = get(admin.clone()).await;
    assert_eq!(
        code(&refused.unwrap_err()).as_deref(),
        Some("KMS.DisabledException")
    );
    // Key state operations take the key's ARN, as in AWS (emulator/keeper_emulator/kms.py).
    admin_kms.enable_key().key_id(&key).send().await.unwrap();
    admin_kms
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    admin_kms
        .cancel_key_deletion()
        .key_id(&key)
        .send()
        .await
        .unwrap();
}

/// Under enforced IAM, with Object Lock on: the backup role can neither delete a locked
/// version nor shorten its retention; the apply role, which may delete object versions (of
/// removed regions' buckets), cannot delete a locked one, nor bypass GOVERNANCE (no role is
/// granted s3:BypassGovernanceRetention).
#[tokio::test]
async fn no_role_deletes_a_locked_backup_or_shortens_its_retention() {
    let emu = start_emulator("iamlock", &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let env = "iamlock";
    let ws = Workspace::new(env, &[A], A);
    ws.write_raw(
        env,
        &format!(
            "{}objectLock:\n  mode: GOVERNANCE\n  days: 1\n",
            stack_text(env, &[A])
        ),
    );
    let mut policies = serde_json::Map::new();
    for role in ["apply", "backup"] {
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
        assert!(
            !run.stdout.contains("BypassGovernanceRetention"),
            "{}",
            run.stdout
        );
        policies.insert(role.to_string(), run.json());
    }
    let keys = emulator_script(
        "iam_users.py",
        &emu,
        &[],
        &serde_json::Value::Object(policies),
    );
    let client = |user: &str| {
        let (k, s) = (
            keys[user]["key"].as_str().unwrap().to_string(),
            keys[user]["secret"].as_str().unwrap().to_string(),
        );
        let emu = &emu;
        async move { s3_as(emu, (&k, &s), A).await }
    };
    // A locked backup, as the nightly job leaves it.
    let bucket = ws.bucket(A);
    let key = format!("2026-11-29/{A}/ssm-backup-{env}-{A}-20261129_000000.json");
    let admin = client("admin").await;
    admin
        .create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let put = admin
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(b"{}".to_vec().into())
        .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Governance)
        .object_lock_retain_until_date(aws_smithy_types::DateTime::from_secs(
            time::OffsetDateTime::now_utc().unix_timestamp() + 86_400,
        ))
        .send()
        .await
        .unwrap();
    let version = put.version_id().unwrap().to_string();
    let code = |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| e.code().map(str::to_string);

    for role in ["backup", "apply"] {
        for bypass in [false, true] {
            let deleted = client(role)
                .await
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .version_id(&version)
                .bypass_governance_retention(bypass)
                .send()
                .await;
            assert_eq!(
                code(&deleted.unwrap_err()).as_deref(),
                Some("AccessDenied"),
                "{role}, bypass {bypass}"
            );
        }
        let shortened = client(role)
            .await
            .put_object_retention()
            .bucket(&bucket)
            .key(&key)
            .version_id(&version)
            .bypass_governance_retention(true)
            .retention(
                aws_sdk_s3::types::ObjectLockRetention::builder()
                    .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Governance)
                    .retain_until_date(aws_smithy_types::DateTime::from_secs(
                        time::OffsetDateTime::now_utc().unix_timestamp() + 60,
                    ))
                    .build(),
            )
            .send()
            .await;
        assert_eq!(
            code(&shortened.unwrap_err()).as_deref(),
            Some("AccessDenied"),
            "{role}"
        );
    }
    // The version is still there.
    let versions = admin
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 1);
}

/// `encryption: kms` and `copies` under enforced IAM: each role's printed policy runs its
/// commands (apply, backup, verify; restore --apply, verify --deep and the drill with the
/// restore role), with the managed keys' conditions (aws:RequestTag/Name, aws:ResourceTag/Name,
/// kms:ViaService) evaluated as AWS evaluates them.
#[tokio::test]
async fn each_role_runs_a_kms_stack_with_copies_under_enforced_iam() {
    let env = "iamkmsc";
    let at = Enforced::start("iamkmscopies", env, |ws| {
        ws.write_raw(
            env,
            &format!(
                "{}encryption: kms\ncopies:\n  {A}: {B}\n  {B}: {A}\n",
                stack_text(env, &[A, B])
            ),
        )
    });
    let as_role = |role: &str, args: &[&str]| {
        let run = at.run(role, args);
        assert_eq!(run.code, 0, "{role}: {args:?}: {run:#?}");
        run
    };

    as_role("apply", &["apply", "--stack", env, "--auto-approve"]);
    let password = format!("/app/{env}/db/password");
    for region in [A, B] {
        at.ssm("admin", region)
            .await
            .put_parameter()
            .name(&password)
            .value("s3cret")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .tags(tag("team", "ops"))
            .send()
            .await
            .unwrap();
    }
    as_role("backup", &["backup", "--stack", env]);
    let run = as_role("verify", &["verify", "--stack", env]);
    assert!(
        run.stdout.contains("Every check made holds."),
        "{}",
        run.stdout
    );
    // --deep reads the documents (kms:Decrypt through S3): only the count against an earlier
    // backup is left unchecked, there is none.
    let run = as_role("restore", &["verify", "--stack", env, "--deep"]);
    let unchecked: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Not checked"))
        .skip(1)
        .collect();
    assert!(
        run.stdout.contains("Every check made holds.")
            && unchecked.iter().all(|l| l.contains("count-drop")),
        "{}",
        run.stdout
    );

    at.ssm("admin", A)
        .await
        .delete_parameter()
        .name(&password)
        .send()
        .await
        .unwrap();
    as_role(
        "restore",
        &[
            "restore",
            "--stack",
            env,
            "--region",
            A,
            "--apply",
            "--auto-approve",
        ],
    );
    let back = at
        .ssm("admin", A)
        .await
        .get_parameter()
        .name(&password)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(back.parameter.unwrap().value.as_deref(), Some("s3cret"));

    // A parameter under an application's key: the restore role describes only the stack's
    // keys, so restore says under the preview that it could not describe that one, and with
    // --apply first encrypts a scratch parameter with it (deleted at once): written in A, where
    // the key is; in B SSM refuses the key and nothing at all is written, not even the
    // overwrite of another parameter; with --kms-key-id both are written.
    let app_key = at.kms("admin", A).await.create_key().send().await.unwrap();
    let app_key = app_key.key_metadata().unwrap().key_id().to_string();
    let token = format!("/app/{env}/app/token");
    at.ssm("admin", A)
        .await
        .put_parameter()
        .name(&token)
        .value("t0ken")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .key_id(&app_key)
        .send()
        .await
        .unwrap();
    as_role("backup", &["backup", "--stack", env]);
    let (admin_a, admin_b) = (at.ssm("admin", A).await, at.ssm("admin", B).await);
    admin_a
        .delete_parameter()
        .name(&token)
        .send()
        .await
        .unwrap();
    let restore_a = ["restore", "--stack", env, "--region", A];
    let run = as_role(
        "restore",
        &[&restore_a[..], &["--apply", "--auto-approve"]].concat(),
    );
    let unchecked = format!("WARNING: KMS key {app_key} could not be described in {A}");
    assert!(run.stderr.contains(&unchecked), "{}", run.stderr);
    let read = |ssm: &aws_sdk_ssm::Client, name: &str| {
        let got = ssm.get_parameter().name(name).with_decryption(true).send();
        async move {
            let got = got.await.ok()?.parameter?;
            Some((got.value?, got.r#type?))
        }
    };
    let secure = |value: &str| {
        let kind = aws_sdk_ssm::types::ParameterType::SecureString;
        Some((value.to_string(), kind))
    };
    assert_eq!(read(&admin_a, &token).await, secure("t0ken"));
    let scratch = admin_a
        .get_parameters_by_path()
        .path(format!("/drills/ssm-keeper/{env}/"))
        .recursive(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        scratch.parameters(),
        &[],
        "the scratch parameter is deleted"
    );

    admin_b
        .put_parameter()
        .name(&password)
        .value("changed")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let into_b = [&restore_a[..], &["--target-region", B, "--overwrite"]].concat();
    let run = at.run(
        "restore",
        &[&into_b[..], &["--apply", "--auto-approve"]].concat(),
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "the restore cannot encrypt its SecureStrings in {B}, so nothing was written:\n  - KMS key {app_key} cannot encrypt in {B}: SSM refused it (InvalidKeyId) (used by {token}): pass --kms-key-id with a key of {B}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(read(&admin_b, &token).await, None);
    assert_eq!(read(&admin_b, &password).await, secure("changed"));
    as_role(
        "restore",
        &[
            &into_b[..],
            &["--kms-key-id", "alias/aws/ssm", "--apply", "--auto-approve"],
        ]
        .concat(),
    );
    assert_eq!(read(&admin_b, &token).await, secure("t0ken"));
    assert_eq!(read(&admin_b, &password).await, secure("s3cret"));

    // The restore role describes the stack's key, and not another stack's (tagged with that
    // stack's alias).
    let restore_kms = at.kms("restore", A).await;
    let own = format!("alias/{PROJECT}-ssm-backup-{env}");
    restore_kms
        .describe_key()
        .key_id(&own)
        .send()
        .await
        .unwrap();
    let tag = aws_sdk_kms::types::Tag::builder()
        .tag_key("Name")
        .tag_value(format!("alias/{PROJECT}-ssm-backup-other"))
        .build()
        .unwrap();
    let others = at.kms("admin", A).await.create_key().tags(tag).send().await;
    let others = others.unwrap().key_metadata.unwrap().arn.unwrap();
    let e = restore_kms.describe_key().key_id(&others).send().await;
    let e = e.unwrap_err().into_service_error();
    assert_eq!(
        aws_sdk_kms::error::ProvideErrorMetadata::code(&e),
        Some("AccessDeniedException"),
        "{e:?}"
    );
    as_role("restore", &["restore", "--stack", env, "--drill"]);
}
