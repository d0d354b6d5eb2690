//! `encryption: kms` against the emulator's KMS and S3: a customer-managed key per region is a
//! resource kind of its own (planned, applied, drift repaired, kept when no longer used and
//! scheduled for deletion only when asked), the buckets encrypt with it, and backup writes every
//! document under it (pointers stay AES256) and restore reads them back.

use crate::common::*;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

fn write_stack(ws: &Workspace, extra: &str) {
    ws.write_stack_with(&[A, B], extra);
}

async fn key_of(region: &str, alias: &str) -> aws_sdk_kms::types::KeyMetadata {
    kms(region)
        .await
        .describe_key()
        .key_id(alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
}

/// The one document of the bucket (`{date}/{region}/...json`).
async fn document_key(region: &str, bucket: &str) -> String {
    let listed = s3(region)
        .await
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .filter(|k| k.ends_with(".json"))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kms_stack_keeps_a_key_per_region_and_every_document_is_under_it() {
    let ws = Workspace::new("kmsenc", &[A, B], A);
    let alias = format!("alias/{PROJECT}-ssm-backup-kmsenc");
    write_stack(&ws, "encryption: kms\n");
    let plan = ws.plan_json(2);
    let created: Vec<(String, String)> = changes(&plan)
        .into_iter()
        .filter(|(action, kind, ..)| action == "create" && kind == "key")
        .map(|(_, _, name, _)| (name, String::new()))
        .collect();
    assert_eq!(created.len(), 2, "{plan:#}");
    assert!(created.iter().all(|(name, _)| *name == alias));
    ws.apply();
    ws.plan_json(0);

    // The key: enabled, rotating, its policy delegating to IAM; the bucket encrypts with it.
    for region in [A, B] {
        let key = key_of(region, &alias).await;
        let arn = key.arn().unwrap().to_string();
        assert_eq!(key.key_state().map(|s| s.as_str()), Some("Enabled"));
        let kms = kms(region).await;
        let rotation = kms
            .get_key_rotation_status()
            .key_id(&arn)
            .send()
            .await
            .unwrap();
        assert!(rotation.key_rotation_enabled());
        let policy = kms
            .get_key_policy()
            .key_id(&arn)
            .policy_name("default")
            .send()
            .await
            .unwrap();
        assert!(
            policy
                .policy()
                .unwrap()
                .contains("arn:aws:iam::123456789012:root")
        );
        let s3 = s3(region).await;
        let default = s3
            .get_bucket_encryption()
            .bucket(ws.bucket(region))
            .send()
            .await
            .unwrap()
            .server_side_encryption_configuration
            .unwrap()
            .rules()[0]
            .clone();
        let by_default = default.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(by_default.sse_algorithm().as_str(), "aws:kms");
        assert_eq!(by_default.kms_master_key_id(), Some(arn.as_str()));
        assert_eq!(default.bucket_key_enabled(), Some(true));
        let policy = s3
            .get_bucket_policy()
            .bucket(ws.bucket(region))
            .send()
            .await
            .unwrap();
        let policy = policy.policy().unwrap();
        assert!(
            policy.contains("DenyOtherEncryptionKeys") && policy.contains(&arn),
            "{policy}"
        );
    }

    // backup: the document under the key, the pointers under AES256; restore reads it back.
    let secret = format!("/app/{}/db/password", ws.env);
    put_secure(A, &secret, "kms-s3cret").await;
    let run = ws.run(&["backup", "--stack", &ws.env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let key_arn = key_of(A, &alias).await.arn().unwrap().to_string();
    let bucket = ws.bucket(A);
    let document = document_key(A, &bucket).await;
    let head = s3(A)
        .await
        .head_object()
        .bucket(&bucket)
        .key(&document)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some(key_arn.as_str()));
    let pointer = s3(A)
        .await
        .head_object()
        .bucket(&bucket)
        .key("latest.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        pointer.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
    // Another document under AES256 is refused by the bucket policy.
    let refused = s3(A)
        .await
        .put_object()
        .bucket(&bucket)
        .key(format!("{}x.json", &document[..document.len() - 5]))
        .body(b"{}".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .if_none_match("*")
        .send()
        .await;
    assert!(refused.is_err(), "an AES256 document was accepted");
    // And so is one under another key.
    let other = kms(A)
        .await
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let refused = s3(A)
        .await
        .put_object()
        .bucket(&bucket)
        .key(format!("{}y.json", &document[..document.len() - 5]))
        .body(b"{}".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(other)
        .if_none_match("*")
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a document under another key was accepted"
    );

    delete_param(A, &secret).await;
    let run = ws.run(&[
        "restore",
        "--stack",
        &ws.env,
        "--region",
        A,
        "--apply",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stdout.contains("kms-s3cret") && !run.stderr.contains("kms-s3cret"));
    let value = ssm(A)
        .await
        .get_parameter()
        .name(&secret)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(value.parameter.unwrap().value(), Some("kms-s3cret"));

    // Drift: rotation off, another description, deletion scheduled; apply brings it back.
    let kms_a = kms(A).await;
    kms_a
        .disable_key_rotation()
        .key_id(&key_arn)
        .send()
        .await
        .unwrap();
    kms_a
        .update_key_description()
        .key_id(&key_arn)
        .description("changed by hand")
        .send()
        .await
        .unwrap();
    kms_a
        .schedule_key_deletion()
        .key_id(&key_arn)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [change(
            "update",
            "key",
            &alias,
            &["key-state", "key-description", "key-rotation"]
        )]
    );
    ws.apply();
    ws.plan_json(0);
    let key = key_of(A, &alias).await;
    assert_eq!(key.key_state().map(|s| s.as_str()), Some("Enabled"));
    assert_eq!(
        key.arn(),
        Some(key_arn.as_str()),
        "the same key, brought back"
    );

    // Back to AES256: the keys are kept (the backups need them) until their deletion is asked.
    write_stack(&ws, "");
    let run = ws.run(&["plan", "--stack", &ws.env]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&format!("= retain key {alias} ({A})"))
            && run.stdout.contains("--destroy-removed-keys"),
        "{}",
        run.stdout
    );
    ws.apply();
    assert_eq!(
        key_of(A, &alias).await.key_state().map(|s| s.as_str()),
        Some("Enabled")
    );
    let run = ws.run(&[
        "apply",
        "--stack",
        &ws.env,
        "--auto-approve",
        "--destroy-removed-keys",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains("scheduled for deletion")
            || run.stdout.contains("scheduled for deletion"),
        "{run:#?}"
    );
    for region in [A, B] {
        let state = key_of(region, &alias).await;
        assert_eq!(
            state.key_state().map(|s| s.as_str()),
            Some("PendingDeletion")
        );
    }
    ws.plan_json(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_keys_named_in_kms_key_ids_are_used_and_no_key_is_managed() {
    let ws = Workspace::new("kmsown", &[A, B], A);
    let mut lines = String::from("encryption: kms\nkmsKeyIds:\n");
    let mut arns = Vec::new();
    for region in [A, B] {
        let key = kms(region).await.create_key().send().await.unwrap();
        let arn = key.key_metadata.unwrap().arn.unwrap();
        lines.push_str(&format!("  {region}: {arn}\n"));
        arns.push(arn);
    }
    write_stack(&ws, &lines);
    let plan = ws.plan_json(2);
    assert!(
        changes(&plan).iter().all(|(_, kind, ..)| kind != "key"),
        "{plan:#}"
    );
    ws.apply();
    ws.plan_json(0);
    put_secure(A, &format!("/app/{}/token", ws.env), "own-key").await;
    let run = ws.run(&["backup", "--stack", &ws.env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let bucket = ws.bucket(A);
    let document = document_key(A, &bucket).await;
    let head = s3(A)
        .await
        .head_object()
        .bucket(&bucket)
        .key(&document)
        .send()
        .await
        .unwrap();
    assert_eq!(head.ssekms_key_id(), Some(arns[0].as_str()));
}

/// The key the bucket's default encryption names (its ARN), `None` without one.
async fn default_key(region: &str, bucket: &str) -> Option<String> {
    let config = s3(region)
        .await
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .server_side_encryption_configuration
        .unwrap();
    config.rules()[0]
        .apply_server_side_encryption_by_default()
        .and_then(|d| d.kms_master_key_id())
        .map(str::to_string)
}

/// A key of someone else's choosing, and the stack's alias moved to it (as whoever holds
/// kms:UpdateAlias can): its ID and ARN.
async fn move_alias(region: &str, alias: &str) -> (String, String) {
    let kms = kms(region).await;
    let theirs = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    kms.update_alias()
        .alias_name(alias)
        .target_key_id(theirs.key_id())
        .send()
        .await
        .unwrap();
    (
        theirs.key_id().to_string(),
        theirs.arn().unwrap().to_string(),
    )
}

/// The `replace` change of a JSON plan, which must be the only one.
fn replacement(plan: &serde_json::Value) -> serde_json::Value {
    let replaced: Vec<&serde_json::Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "replace")
        .collect();
    assert_eq!(replaced.len(), 1, "{plan:#}");
    replaced[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_alias_is_a_replacement_that_apply_refuses_unless_accepted() {
    let ws = Workspace::new("kmspin", &[A, B], A);
    let alias = format!("alias/{PROJECT}-ssm-backup-kmspin");
    write_stack(&ws, "encryption: kms\n");
    ws.apply();
    let bucket = ws.bucket(A);
    let pinned = key_of(A, &alias).await;
    let (pinned_id, pinned_arn) = (
        pinned.key_id().to_string(),
        pinned.arn().unwrap().to_string(),
    );
    assert_eq!(default_key(A, &bucket).await, Some(pinned_arn.clone()));
    let (theirs, theirs_arn) = move_alias(A, &alias).await;

    // plan: a replacement of the key (not an update), naming both keys, with its warning, in
    // every format; the JSON matches the published schema.
    let plan = ws.plan_json(2);
    let replace = replacement(&plan);
    assert_eq!(replace["id"]["name"], alias.as_str());
    assert_eq!(replace["id"]["region"], A);
    assert_eq!(replace["pinnedKey"], pinned_arn.as_str());
    assert_eq!(replace["aliasKey"], theirs_arn.as_str());
    assert_eq!(plan["summary"]["replace"], 1);
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains(&format!(
            "names the key {theirs}, not the pinned key {pinned_id}"
        )),
        "{warnings}"
    );
    if let Err(errors) = crate::plan_schema::schema_errors(&ws, &[("pin.json", &plan)]) {
        panic!("the plan does not match docs/plan.schema.json:\n{errors}");
    }
    let text = ws.run(&["plan", "--stack", &ws.env]);
    assert_eq!(text.code, 0, "{text:#?}");
    assert!(
        text.stdout.contains(&format!(
            "  ! replace key {alias} ({A})\n        pinned key (the bucket's default encryption): {pinned_id}\n        the key the alias names now:              {theirs}\n"
        )) && text.stdout.contains(&format!("Warning: the KMS alias {alias} ({A}) names the key {theirs}, not the pinned key {pinned_id}")),
        "{}",
        text.stdout
    );
    let md = ws.run(&["plan", "--stack", &ws.env, "--format", "markdown"]);
    assert!(
        md.stdout.contains(&format!(
            "| **replace** | key `{alias}` | {A} | pinned key `{pinned_id}` (the bucket's default encryption) -> `{theirs}` (the key the alias names now) |"
        )),
        "{}",
        md.stdout
    );

    // apply refuses, and nothing changes: the bucket stays under the pinned key.
    let refused = ws.run(&["apply", "--stack", &ws.env, "--auto-approve"]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused.stderr.contains(&format!(
            "{alias} ({A}) names the key {theirs}, not the pinned key {pinned_id}"
        )) && refused.stderr.contains("--accept-key-change"),
        "{refused:#?}"
    );
    assert_eq!(default_key(A, &bucket).await, Some(pinned_arn.clone()));
    // So does a saved plan made without the acceptance.
    let saved = ws.run(&["plan", "--stack", &ws.env, "--out", "pin.json"]);
    assert_eq!(saved.code, 0, "{saved:#?}");
    let refused = ws.run(&["apply", "--plan", "pin.json", "--auto-approve"]);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert_eq!(default_key(A, &bucket).await, Some(pinned_arn.clone()));

    // Accepted in a saved plan: apply --plan switches the bucket to the alias's key.
    let saved = ws.run(&[
        "plan",
        "--stack",
        &ws.env,
        "--accept-key-change",
        "--out",
        "accepted.json",
    ]);
    assert_eq!(saved.code, 0, "{saved:#?}");
    let applied = ws.run(&["apply", "--plan", "accepted.json", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{applied:#?}");
    assert_eq!(default_key(A, &bucket).await, Some(theirs_arn.clone()));
    assert_eq!(ws.plan_json(0)["changes"], serde_json::json!([]));

    // Moved again: accepted with the flag on apply itself.
    let (_, second_arn) = move_alias(A, &alias).await;
    let applied = ws.run(&[
        "apply",
        "--stack",
        &ws.env,
        "--auto-approve",
        "--accept-key-change",
    ]);
    assert_eq!(applied.code, 0, "{applied:#?}");
    assert_eq!(default_key(A, &bucket).await, Some(second_arn.clone()));

    // Moved again: the stack naming the new key in kmsKeyIds is acceptance enough.
    let (_, third_arn) = move_alias(A, &alias).await;
    let b_arn = key_of(B, &alias).await.arn().unwrap().to_string();
    write_stack(
        &ws,
        &format!("encryption: kms\nkmsKeyIds:\n  {A}: {third_arn}\n  {B}: {b_arn}\n"),
    );
    ws.apply();
    assert_eq!(default_key(A, &bucket).await, Some(third_arn));
    assert_eq!(default_key(B, &ws.bucket(B)).await, Some(b_arn));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orphan_key_is_listed_by_plan_and_never_used_by_apply() {
    let ws = Workspace::new("kmsorphan", &[A, B], A);
    let alias = format!("alias/{PROJECT}-ssm-backup-kmsorphan");
    write_stack(&ws, "encryption: kms\n");
    // A run that died between CreateKey and CreateAlias: the key is there, tagged, no alias.
    let name = aws_sdk_kms::types::Tag::builder()
        .tag_key("Name")
        .tag_value(&alias)
        .build()
        .unwrap();
    let orphan = kms(A)
        .await
        .create_key()
        .tags(name)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let orphan_id = orphan.key_id().to_string();
    let listed = |plan: &serde_json::Value| -> Vec<String> {
        plan["orphanKeys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| format!("{} {}", o["region"], o["keyId"]))
            .collect()
    };
    let plan = ws.plan_json(2);
    assert_eq!(listed(&plan), [format!("\"{A}\" \"{orphan_id}\"")]);
    let created = plan["orphanKeys"][0]["created"].as_str().unwrap();
    assert!(created.starts_with("20"), "{created}");
    if let Err(errors) = crate::plan_schema::schema_errors(&ws, &[("orphan.json", &plan)]) {
        panic!("the plan does not match docs/plan.schema.json:\n{errors}");
    }
    let text = ws.run(&["plan", "--stack", &ws.env]);
    assert!(
        text.stdout.contains(&format!(
            "  ? orphan KMS key {orphan_id} ({A}), created {created}\n"
        )) && text.stdout.contains(&format!(
            "aws kms schedule-key-deletion --region {A} --key-id {orphan_id}\n"
        )),
        "{}",
        text.stdout
    );

    // apply makes the stack's key as always and never adopts the orphan.
    ws.apply();
    let key = key_of(A, &alias).await;
    assert_ne!(key.key_id(), orphan_id);
    assert_eq!(
        default_key(A, &ws.bucket(A)).await.as_deref(),
        key.arn(),
        "the bucket encrypts with the key apply made"
    );
    // Converged, and the orphan still listed until its deletion is scheduled.
    let plan = ws.plan_json(0);
    assert_eq!(listed(&plan), [format!("\"{A}\" \"{orphan_id}\"")]);
    kms(A)
        .await
        .schedule_key_deletion()
        .key_id(&orphan_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&ws.plan_json(0)), Vec::<String>::new());
}

/// The key swap, as an administrator (or anyone with `kms:UpdateAlias`) would make it: plain
/// verify checks the key each backup is under from its stamp. A key scheduled for deletion or
/// disabled fails `key` (exit 2, the deletion date named) in plain verify and in `--deep`
/// (which cannot read the document: a finding, not exit 1); the alias moved to another key
/// fails `key` naming both. Before #30 plain verify stayed at 0 and `--deep` exited 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_backup_whose_key_goes_away_or_is_swapped_fails_verify() {
    let env = "kmsgone";
    let ws = Workspace::new(env, &[A], A);
    ws.write_stack_with(&[A], "encryption: kms\n");
    ws.apply();
    put_secure(A, &format!("/app/{env}/token"), "kms-gone-secret").await;
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let run = ws.run(&["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let alias = format!("alias/{PROJECT}-ssm-backup-{env}");
    let key = key_of(A, &alias).await.arn().unwrap().to_string();
    let kms = kms(A).await;

    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let run = ws.run(&["verify", "--stack", env]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "{A} key: the backup's key {key} is PendingDeletion (to be deleted on "
        )),
        "{}",
        run.stdout
    );
    let run = ws.run(&["verify", "--stack", env, "--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!("{A} key: ")) && run.stdout.contains("could not decrypt"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("kms-gone-secret"));
    kms.cancel_key_deletion().key_id(&key).send().await.unwrap();
    kms.enable_key().key_id(&key).send().await.unwrap();
    let run = ws.run(&["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");

    kms.disable_key().key_id(&key).send().await.unwrap();
    let run = ws.run(&["verify", "--stack", env]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stdout.contains("is Disabled"), "{}", run.stdout);
    kms.enable_key().key_id(&key).send().await.unwrap();

    // The alias moved to a key of someone's choosing: the backup is not under the stack's key.
    let other = kms
        .create_key()
        .description("not the stack's")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    kms.update_alias()
        .alias_name(&alias)
        .target_key_id(&other)
        .send()
        .await
        .unwrap();
    let run = ws.run(&["verify", "--stack", env]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "{A} key: the backup is under {key}, not under the stack's key {other}"
        )),
        "{}",
        run.stdout
    );
}
