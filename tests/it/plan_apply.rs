//! plan and apply against the emulator: from an empty account, drift made by another client,
//! regions added and removed, the default region moved, saved plans, adoption.

use crate::common::*;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, Tag, Tagging,
};

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

#[tokio::test]
async fn empty_account_plan_apply_plan_converges() {
    let ws = Workspace::new("fresh", &[A, B], A);
    let plan = ws.plan_json(2);
    assert_eq!(plan["formatVersion"], 4);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"create": 7, "change": 0, "replace": 0, "delete": 0, "retained": 0})
    );

    ws.apply();
    assert_eq!(changes(&ws.plan_json(0)), vec![]);

    // What is really in AWS, read by another client.
    let s3 = s3(B).await;
    let bucket = ws.bucket(B);
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    let pab = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = &lifecycle.rules()[0];
    assert_eq!(rule.id(), Some("delete-old-backups"));
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(30));
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days()),
        Some(7)
    );
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert!(
        policy
            .policy()
            .unwrap()
            .contains("DenyUnencryptedObjectUploads")
    );
    let tags = s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "ManagedBy" && t.value() == "ssm-keeper")
    );

    assert_eq!(
        parameter(B, &ws.param(&format!("{B}/s3-bucket-name"))).await,
        Some(ws.bucket(B))
    );
    assert_eq!(
        parameter(A, &ws.param("region-list")).await.as_deref(),
        Some(r#"["us-east-1","eu-west-1"]"#)
    );
    assert_eq!(
        parameter(A, &ws.param("default-region")).await.as_deref(),
        Some(A)
    );
    assert_eq!(
        parameter(A, &ws.param("s3-bucket-name")).await,
        Some(ws.bucket(A))
    );
    // The per-region parameter lives in its own region only.
    assert_eq!(
        parameter(A, &ws.param(&format!("{B}/s3-bucket-name"))).await,
        None
    );
}

#[tokio::test]
async fn drift_made_by_another_client_is_listed_and_fixed() {
    let ws = Workspace::new("drift", &[A, B], A);
    ws.apply();
    let (a, b) = (ws.bucket(A), ws.bucket(B));
    let s3a = s3(A).await;
    s3a.delete_public_access_block()
        .bucket(&a)
        .send()
        .await
        .unwrap();
    s3a.put_bucket_lifecycle_configuration()
        .bucket(&a)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("delete-old-backups")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .expiration(LifecycleExpiration::builder().days(90).build())
                        .noncurrent_version_expiration(
                            aws_sdk_s3::types::NoncurrentVersionExpiration::builder()
                                .noncurrent_days(7)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let policy = s3a.get_bucket_policy().bucket(&a).send().await.unwrap();
    let mut policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    policy["Statement"].as_array_mut().unwrap().pop();
    s3a.put_bucket_policy()
        .bucket(&a)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();

    let s3b = s3(B).await;
    let tags = s3b.get_bucket_tagging().bucket(&b).send().await.unwrap();
    let mut tagging = Tagging::builder();
    for t in tags.tag_set() {
        let value = if t.key() == "Environment" {
            "prod"
        } else {
            t.value()
        };
        tagging = tagging.tag_set(Tag::builder().key(t.key()).value(value).build().unwrap());
    }
    s3b.put_bucket_tagging()
        .bucket(&b)
        .tagging(tagging.build().unwrap())
        .send()
        .await
        .unwrap();
    let per_region = ws.param(&format!("{B}/s3-bucket-name"));
    delete_param(B, &per_region).await;

    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        vec![
            change("create", "parameter", &per_region, &[]),
            change("update", "bucket", &b, &["tags"]),
            change(
                "update",
                "bucket",
                &a,
                &["lifecycle", "public-access-block", "policy"]
            ),
        ]
    );
    // Each difference names the live and the desired value.
    let text = ws.run(&["plan", "--stack", "drift"]);
    assert!(
        text.stdout.contains("-     \"expirationDays\": 90,"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("+     \"expirationDays\": 30,"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("+       \"Sid\": \"DenyRestampingBackups\""),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("-   \"Environment\": \"prod\","),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("Plan: 1 to create, 2 to change, 0 to delete, 0 retained.")
    );

    ws.apply();
    assert_eq!(changes(&ws.plan_json(0)), vec![]);
    assert!(
        s3a.get_public_access_block()
            .bucket(&a)
            .send()
            .await
            .is_ok()
    );
    assert_eq!(parameter(B, &per_region).await, Some(b));
}

#[tokio::test]
async fn adding_a_region_creates_its_bucket_and_parameter() {
    let ws = Workspace::new("grow", &[A], A);
    ws.apply();
    ws.write_stack(&[A, B], A, A);
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        vec![
            change("create", "bucket", &ws.bucket(B), &[]),
            change(
                "create",
                "parameter",
                &ws.param(&format!("{B}/s3-bucket-name")),
                &[]
            ),
            change("update", "parameter", &ws.param("region-list"), &["value"]),
        ]
    );
    ws.apply();
    ws.plan_json(0);
    assert!(bucket_exists(B, &ws.bucket(B)).await);
}

#[tokio::test]
async fn removed_region_keeps_bucket_and_deletes_parameters() {
    let ws = Workspace::new("shrink", &[A, B], A);
    ws.apply();
    put_encrypted(B, &ws.bucket(B), "2026-11-23/eu-west-1/backup.json").await;

    ws.write_stack(&[A], A, A);
    let plan = ws.plan_json(2);
    let per_region = ws.param(&format!("{B}/s3-bucket-name"));
    assert_eq!(
        changes(&plan),
        vec![
            change("delete", "parameter", &per_region, &[]),
            change("retain", "bucket", &ws.bucket(B), &[]),
            change("update", "parameter", &ws.param("region-list"), &["value"]),
        ]
    );
    let retained = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "retain")
        .unwrap();
    assert_eq!(retained["objects"], 1);
    let text = ws.run(&["plan", "--stack", "shrink"]);
    assert!(text.stdout.contains("= retain bucket"), "{}", text.stdout);
    assert!(text.stdout.contains("holds 1 objects"), "{}", text.stdout);

    ws.apply();
    assert_eq!(parameter(B, &per_region).await, None);
    assert!(
        bucket_exists(B, &ws.bucket(B)).await,
        "the bucket holds backups: never deleted by default"
    );
    assert_eq!(
        parameter(A, &ws.param("region-list")).await.as_deref(),
        Some(r#"["us-east-1"]"#)
    );
    // Still shown as retained afterwards (found by name and tag), but nothing to do.
    let plan = ws.plan_json(0);
    assert_eq!(
        changes(&plan),
        vec![change("retain", "bucket", &ws.bucket(B), &[])]
    );
}

#[tokio::test]
async fn deleting_a_removed_regions_bucket_needs_explicit_flags() {
    let ws = Workspace::new("destroy", &[A, B], A);
    ws.apply();
    put_encrypted(B, &ws.bucket(B), "old.json").await;
    ws.write_stack(&[A], A, A);

    // Asking for the bucket alone is refused while it holds objects.
    let run = ws.run(&[
        "apply",
        "--stack",
        "destroy",
        "--auto-approve",
        "--destroy-removed-buckets",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("refusing to delete bucket"),
        "{}",
        run.stdout
    );
    assert!(bucket_exists(B, &ws.bucket(B)).await);

    let run = ws.run(&[
        "apply",
        "--stack",
        "destroy",
        "--auto-approve",
        "--destroy-removed-buckets",
        "--destroy-bucket-objects",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!bucket_exists(B, &ws.bucket(B)).await);
    assert_eq!(changes(&ws.plan_json(0)), vec![]);
}

#[tokio::test]
async fn objects_s3_will_not_delete_stop_the_destruction_with_their_keys() {
    let ws = Workspace::new("locked", &[A, B], A);
    // The bucket of B exists before the first apply, with Object Lock: apply adopts it.
    s3(B)
        .await
        .create_bucket()
        .bucket(ws.bucket(B))
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(B))
                .build(),
        )
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    ws.apply();
    s3(B)
        .await
        .put_object()
        .bucket(ws.bucket(B))
        .key("2026-11-01/held.json")
        .body(b"{}".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
        .if_none_match("*")
        .object_lock_legal_hold_status(aws_sdk_s3::types::ObjectLockLegalHoldStatus::On)
        .send()
        .await
        .unwrap();
    ws.write_stack(&[A], A, A);

    let run = ws.run(&[
        "apply",
        "--stack",
        "locked",
        "--auto-approve",
        "--destroy-removed-buckets",
        "--destroy-bucket-objects",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("S3 refused to delete 1 of them, so the bucket is kept"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("2026-11-01/held.json"),
        "{}",
        run.stderr
    );
    assert!(bucket_exists(B, &ws.bucket(B)).await);
}

#[tokio::test]
async fn changing_the_default_region_moves_the_legacy_key() {
    let ws = Workspace::new("movedef", &[A, B], A);
    ws.apply();
    ws.write_stack(&[A, B], B, A);
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        vec![
            change(
                "update",
                "parameter",
                &ws.param("default-region"),
                &["value"]
            ),
            change(
                "update",
                "parameter",
                &ws.param("s3-bucket-name"),
                &["value"]
            ),
        ]
    );
    ws.apply();
    assert_eq!(
        parameter(A, &ws.param("default-region")).await.as_deref(),
        Some(B)
    );
    assert_eq!(
        parameter(A, &ws.param("s3-bucket-name")).await,
        Some(ws.bucket(B))
    );
    ws.plan_json(0);
}

#[tokio::test]
async fn saved_plan_is_refused_once_live_state_moved() {
    let ws = Workspace::new("stale", &[A], A);
    ws.apply();
    let bucket = ws.bucket(A);
    let s3 = s3(A).await;
    s3.delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let run = ws.run(&["plan", "--stack", "stale", "--out", "plan.json"]);
    assert_eq!(run.code, 0, "{run:#?}");

    // Someone changes the bucket after the plan was made.
    s3.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let run = ws.run(&["apply", "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("stale"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("bucket {bucket} (us-east-1) was changed")),
        "{}",
        run.stderr
    );
    assert!(
        s3.get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .is_err(),
        "nothing was applied"
    );

    // A fresh saved plan applies.
    let run = ws.run(&["plan", "--stack", "stale", "--out", "plan.json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let run = ws.run(&["apply", "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    ws.plan_json(0);
}

#[tokio::test]
async fn a_hand_edited_saved_plan_is_refused() {
    let ws = Workspace::new("edited", &[A], A);
    ws.apply();
    let region_list = ws.param("region-list");
    put_string(A, &ws.param("default-region"), "eu-west-1").await;
    let run = ws.run(&["plan", "--stack", "edited", "--out", "plan.json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path("plan.json")).unwrap()).unwrap();
    let apply_edited = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut plan = saved.clone();
        edit(&mut plan);
        std::fs::write(ws.path("edited.json"), plan.to_string()).unwrap();
        ws.run(&["apply", "--plan", "edited.json", "--auto-approve"])
    };

    // A deletion added by hand.
    let run = apply_edited(&|plan| {
        plan["changes"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "action": "delete",
                "id": {"type": "parameter", "region": A, "name": region_list},
            }));
    });
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "the plan holds a change the stack does not call for: delete parameter {region_list} (us-east-1)"
        )),
        "{}",
        run.stderr
    );
    assert!(
        parameter(A, &region_list).await.is_some(),
        "nothing deleted"
    );
    assert_eq!(
        parameter(A, &ws.param("default-region")).await.as_deref(),
        Some("eu-west-1"),
        "nothing applied at all"
    );

    // A changed value: the stack says us-east-1.
    let run = apply_edited(&|plan| {
        plan["changes"][0]["desired"]["value"] = "ap-south-1".into();
    });
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("was it edited?"), "{}", run.stderr);

    // The saved stack is validated as a stack file.
    let run = apply_edited(&|plan| plan["stack"]["retentionDays"] = 0.into());
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("`retentionDays`: 0 is out of range"),
        "{}",
        run.stderr
    );

    // Another format version is refused before anything else.
    let run = apply_edited(&|plan| plan["formatVersion"] = 1.into());
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("has plan format 1, this ssm-keeper reads format 4"),
        "{}",
        run.stderr
    );

    // The plan as saved applies.
    let run = ws.run(&["apply", "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    ws.plan_json(0);
}

#[tokio::test]
async fn a_saved_plan_applies_only_to_the_stack_file_it_was_made_from() {
    let ws = Workspace::new("bound", &[A, B], A);
    ws.apply();
    put_encrypted(B, &ws.bucket(B), "old.json").await;
    let reviewed = std::fs::read_to_string(ws.path("stacks/bound.yaml")).unwrap();
    let read_plan = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(ws.path("plan.json")).unwrap()).unwrap()
    };
    let write_plan = |plan: &serde_json::Value| {
        std::fs::write(ws.path("plan.json"), plan.to_string()).unwrap();
    };
    let apply_saved = || ws.run(&["apply", "--plan", "plan.json", "--auto-approve"]);

    // A plan made from an edited copy (region B dropped, destroy flags on), then pointed at the
    // stack file of the repository, which still lists B.
    ws.write_raw("copy", &reviewed.replace(&format!("  - {B}\n"), ""));
    let run = ws.run(&[
        "plan",
        "--stack",
        "stacks/copy.yaml",
        "--destroy-removed-buckets",
        "--destroy-bucket-objects",
        "--out",
        "plan.json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let mut plan = read_plan();
    assert_eq!(plan["formatVersion"], 4);
    plan["stackFile"] = "stacks/bound.yaml".into();
    write_plan(&plan);
    let run = apply_saved();
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("stacks/bound.yaml is not the file this plan was made from"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "\n  ssm-keeper plan --stack stacks/bound.yaml --destroy-removed-buckets --destroy-bucket-objects --out plan.json"
        ),
        "{}",
        run.stderr
    );
    assert!(
        bucket_exists(B, &ws.bucket(B)).await,
        "the region's backups stay"
    );

    // The same with the file's own digest written into the plan: its stack is not the file's.
    plan["stackSha256"] = ssm_keeper::core::plan::sha256_hex(reviewed.as_bytes()).into();
    write_plan(&plan);
    let run = apply_saved();
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("was the plan edited?"),
        "{}",
        run.stderr
    );
    assert!(bucket_exists(B, &ws.bucket(B)).await);

    // A reviewed plan, then the file changes (one comment) before apply: refused.
    ws.write_raw("bound", &reviewed.replace(&format!("  - {B}\n"), ""));
    let run = ws.run(&[
        "plan",
        "--stack",
        "bound",
        "--destroy-removed-buckets",
        "--destroy-bucket-objects",
        "--out",
        "plan.json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let planned = std::fs::read_to_string(ws.path("stacks/bound.yaml")).unwrap();
    ws.write_raw("bound", &format!("{planned}# edited after review\n"));
    let run = apply_saved();
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("is not the file this plan was made from"),
        "{}",
        run.stderr
    );
    ws.write_raw("bound", &planned);

    // --stack, if given, must name the plan's file.
    let run = ws.run(&[
        "apply",
        "--plan",
        "plan.json",
        "--stack",
        "copy",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("--stack copy is not the stack file the saved plan plan.json was made from (stacks/bound.yaml)"),
        "{}",
        run.stderr
    );
    assert!(bucket_exists(B, &ws.bucket(B)).await);

    // `show` renders it with no AWS at all, destroy options first.
    let run = ws.run_with(
        &["show", "plan.json"],
        &[
            ("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9")),
            ("AWS_ACCESS_KEY_ID", None),
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("Destroy options: --destroy-removed-buckets --destroy-bucket-objects"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("- delete bucket"), "{}", run.stdout);
    let shown = ws.run(&["show", "plan.json", "--format", "json"]);
    assert_eq!(shown.json(), read_plan());

    // The file as reviewed: applied, with the saved destroy options in the preview.
    let run = ws.run(&[
        "apply",
        "--plan",
        "plan.json",
        "--stack",
        "./stacks/bound.yaml",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("Destroy options: --destroy-removed-buckets --destroy-bucket-objects"),
        "{}",
        run.stdout
    );
    assert!(!bucket_exists(B, &ws.bucket(B)).await);
}

#[tokio::test]
async fn a_stack_of_another_project_cannot_take_over_an_environment() {
    let ws = Workspace::new("shared", &[A], A);
    ws.apply();
    ws.write_raw(
        "intruder",
        &format!(
            "projectName: billing\nenvironment: shared\nregions:\n  - {A}\ndefaultRegion: {A}\nssmHomeRegion: {A}\n"
        ),
    );
    for command in ["plan", "apply"] {
        let run = ws.run(
            &[command, "--stack", "intruder", "--auto-approve"]
                [..if command == "plan" { 3 } else { 4 }],
        );
        assert_eq!(run.code, 1, "{command}: {run:#?}");
        assert!(
            run.stderr
                .contains("the `shared` environment belongs to the stack of project `itest`"),
            "{command}: {}",
            run.stderr
        );
    }
    assert_eq!(
        parameter(A, &ws.param("s3-bucket-name")).await.as_deref(),
        Some(ws.bucket(A).as_str()),
        "the owner's metadata is untouched"
    );
}

#[tokio::test]
async fn sigint_during_apply_finishes_the_steps_in_flight_and_starts_no_other() {
    let ws = Workspace::new("applyint", &[A, B], A);
    ws.apply();
    // Next plan: the metadata stage (region-list changed, default-region re-created), then the
    // removal stage (B's bucket parameter deleted).
    delete_param(A, &ws.param("default-region")).await;
    ws.write_stack(&[A], A, A);

    let emulator_http = emulator().http_endpoint.trim_start_matches("http://");
    let hold = crate::hold::hold_first(
        emulator_http,
        "AmazonSSM.PutParameter",
        "/backup/default-region",
    );
    let (mut apply, mut stderr) = ws.spawn(
        &["apply", "--stack", "applyint", "--auto-approve"],
        &[("AWS_ENDPOINT_URL_SSM", Some(&hold.url))],
        std::process::Stdio::piped(),
    );
    hold.held.recv().unwrap(); // the default-region write is in flight
    signal(&apply, "INT");
    wait_for_line(
        &mut stderr,
        "SIGINT received: stopping at the next safe point",
    );
    hold.release.send(()).unwrap();
    let mut rest = String::new();
    for line in stderr {
        rest.push_str(&line.unwrap());
        rest.push('\n');
    }
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut apply.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(apply.wait().unwrap().code(), Some(130), "{stdout}\n{rest}");

    assert!(
        rest.contains("Interrupted by SIGINT: stopped after 2 of 3 changes"),
        "{rest}"
    );
    let removal = ws.param(&format!("{B}/s3-bucket-name"));
    assert!(
        stdout.contains(&format!("skipped  parameter {removal} ({B}) (interrupted)")),
        "{stdout}"
    );
    assert_eq!(
        parameter(A, &ws.param("default-region")).await.as_deref(),
        Some(A),
        "the step in flight finished"
    );
    assert!(
        parameter(B, &removal).await.is_some(),
        "no step started after the signal"
    );
    assert_eq!(
        parameter(A, "/locks/ssm-keeper/applyint").await,
        None,
        "lock released"
    );

    // A second apply finishes the job.
    ws.apply();
    assert_eq!(parameter(B, &removal).await, None);
}

#[tokio::test]
async fn apply_without_a_terminal_or_approval_changes_nothing() {
    let ws = Workspace::new("noterm", &[A], A);
    let run = ws.run(&["apply", "--stack", "noterm"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert!(!bucket_exists(A, &ws.bucket(A)).await);
}

#[tokio::test]
async fn existing_bucket_is_adopted_not_recreated() {
    let ws = Workspace::new("adopt", &[A], A);
    let bucket = ws.bucket(A);
    let s3 = s3(A).await;
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key("ManagedBy")
                        .value("Pulumi")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("2025-10-01/old.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();

    let plan = ws.plan_json(2);
    let bucket_change = changes(&plan)
        .into_iter()
        .find(|c| c.1 == "bucket")
        .unwrap();
    assert_eq!(
        bucket_change.0, "update",
        "an existing bucket is updated in place"
    );
    ws.apply();
    ws.plan_json(0);
    assert!(
        s3.head_object()
            .bucket(&bucket)
            .key("2025-10-01/old.json")
            .send()
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn outputs_and_output_formats() {
    let ws = Workspace::new("formats", &[A, B], B);
    let run = ws.run(&["outputs", "--stack", "formats", "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["bucketMap"][B], ws.bucket(B));
    let run = ws.run(&["outputs", "--stack", "formats"]);
    assert_eq!(
        run.stdout,
        format!("{A}\t{}\n{B}\t{}\n", ws.bucket(A), ws.bucket(B))
    );

    let run = ws.run(&["plan", "--stack", "formats", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.starts_with("### ssm-keeper plan: `formats`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("| create | bucket `{}` | {B} |", ws.bucket(B))),
        "{}",
        run.stdout
    );
    let run = ws.run(&["plan", "--stack", "formats"]);
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no color without a terminal"
    );
    assert!(
        run.stdout
            .ends_with("Plan: 7 to create, 0 to change, 0 to delete, 0 retained.\n")
    );
}

#[tokio::test]
async fn moving_the_home_region_moves_the_metadata() {
    let ws = Workspace::new("movehome", &[A, B], A);
    ws.apply();
    ws.write_stack(&[A, B], A, B);
    let plan = ws.plan_json(2);
    let mut expected = Vec::new();
    for tail in ["default-region", "region-list", "s3-bucket-name"] {
        expected.push(change("create", "parameter", &ws.param(tail), &[]));
        expected.push(change("delete", "parameter", &ws.param(tail), &[]));
    }
    expected.sort();
    assert_eq!(changes(&plan), expected);
    ws.apply();
    assert_eq!(parameter(A, &ws.param("region-list")).await, None);
    assert_eq!(
        parameter(B, &ws.param("region-list")).await.as_deref(),
        Some(r#"["us-east-1","eu-west-1"]"#)
    );
    assert_eq!(
        parameter(B, &ws.param("s3-bucket-name")).await,
        Some(ws.bucket(A))
    );
    assert_eq!(changes(&ws.plan_json(0)), vec![]);
}

#[tokio::test]
async fn a_corrupted_region_list_is_repaired_not_fatal() {
    let ws = Workspace::new("corrupt", &[A], A);
    ws.apply();
    put_string(A, &ws.param("region-list"), "us-east-1, eu-west-1").await;
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        vec![change(
            "update",
            "parameter",
            &ws.param("region-list"),
            &["value"]
        )]
    );
    ws.apply();
    assert_eq!(
        parameter(A, &ws.param("region-list")).await.as_deref(),
        Some(r#"["us-east-1"]"#)
    );
}

#[test]
fn show_escapes_the_control_characters_of_a_saved_plan() {
    let ws = Workspace::new("shownasty", &[A], A);
    let run = ws.run(&["plan", "--stack", "shownasty", "--out", "plan.json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    // A saved plan is a file anyone may have edited: a name that would clear the screen, a
    // warning that would retitle the terminal and turn the line around.
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path("plan.json")).unwrap()).unwrap();
    let change = plan["changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["id"]["type"] == "parameter")
        .unwrap();
    change["id"]["name"] = "/jenkins/shownasty/x\u{1b}[2J\r".into();
    plan["warnings"] = serde_json::json!(["look\u{1b}]0;pwned\u{7} \u{202e}txt.exe\u{9b}"]);
    std::fs::write(ws.path("plan.json"), plan.to_string()).unwrap();
    let raw = |text: &str| {
        text.chars()
            .any(|c| matches!(c, '\u{1b}' | '\u{7}' | '\r' | '\u{202e}' | '\u{9b}'))
    };
    for format in ["text", "markdown"] {
        let run = ws.run(&["show", "plan.json", "--format", format]);
        assert_eq!(run.code, 0, "{format}: {run:#?}");
        assert!(!raw(&run.stdout), "{format}: {:?}", run.stdout);
        for shown in [
            "/jenkins/shownasty/x\\u001b[2J\\u000d",
            "look\\u001b]0;pwned\\u0007 \\u202etxt.exe\\u009b",
        ] {
            assert!(run.stdout.contains(shown), "{format}: {}", run.stdout);
        }
    }
    // JSON stays valid and means the same: only its escapes differ.
    let run = ws.run(&["show", "plan.json", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!raw(&run.stdout), "{:?}", run.stdout);
    assert_eq!(run.json(), plan);
}
