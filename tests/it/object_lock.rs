//! `objectLock: {mode, days}` against the emulator's S3: apply turns Object Lock on for the
//! existing buckets (holding backups already) with the default retention, the plan warns that
//! it is for good, and every backup written afterwards cannot be deleted or have its retention
//! shortened before it ends.

use crate::common::*;

const A: &str = "us-east-1";

fn write_stack(ws: &Workspace, extra: &str) {
    ws.write_stack_with(&[A], extra);
}

/// The newest document's key and version id.
async fn newest_document(bucket: &str) -> (String, String) {
    let key = String::from_utf8(object_bytes(A, bucket, &format!("latest-{A}.txt")).await).unwrap();
    let head = s3(A)
        .await
        .head_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    (key, head.version_id().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn object_lock_is_turned_on_for_existing_buckets_and_keeps_every_new_backup() {
    let ws = Workspace::new("locked", &[A], A);
    ws.apply();
    put_secure(A, "/app/locked/db/password", "locked-s3cret").await;
    let run = ws.run(&["backup", "--stack", "locked"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let bucket = ws.bucket(A);
    let (before, _) = newest_document(&bucket).await;

    write_stack(&ws, "objectLock:\n  mode: GOVERNANCE\n  days: 2\n");
    let plan = ws.plan_json(2);
    assert_eq!(
        changes(&plan),
        [change("update", "bucket", &bucket, &["object-lock"])]
    );
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("can never be turned off"), "{warnings}");
    ws.apply();
    ws.plan_json(0);
    let config = s3(A)
        .await
        .get_object_lock_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .object_lock_configuration
        .unwrap();
    let retention = config.rule().unwrap().default_retention().unwrap();
    assert_eq!(
        (retention.mode().map(|m| m.as_str()), retention.days()),
        (Some("GOVERNANCE"), Some(2))
    );

    next_second();
    let run = ws.run(&["backup", "--stack", "locked"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let (after, version) = newest_document(&bucket).await;
    assert_ne!(before, after);
    let head = s3(A)
        .await
        .head_object()
        .bucket(&bucket)
        .key(&after)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("GOVERNANCE")
    );
    assert!(head.object_lock_retain_until_date().is_some());

    // Nobody deletes the locked version or shortens its retention without the bypass.
    let deleted = s3(A)
        .await
        .delete_object()
        .bucket(&bucket)
        .key(&after)
        .version_id(&version)
        .send()
        .await;
    assert!(deleted.is_err(), "a locked version was deleted");
    let shortened = s3(A)
        .await
        .put_object_retention()
        .bucket(&bucket)
        .key(&after)
        .version_id(&version)
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
    assert!(shortened.is_err(), "a retention was shortened");
    let listed = s3(A)
        .await
        .list_object_versions()
        .bucket(&bucket)
        .prefix(&after)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.versions().len(), 1);

    // Removing the section does not (cannot) turn it off: no change is planned.
    write_stack(&ws, "");
    ws.plan_json(0);
}
