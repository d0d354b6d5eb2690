//! A stolen nightly credential cannot make a backup lie unseen (#30): each attack made as an
//! attacker would, holding only what `iam-policy --role backup` prints, with IAM enforced; and
//! what verify, restore and the drill then do.

use crate::common::*;
use crate::iam::Enforced;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption};
use ssm_keeper::core::stamp::Stamp;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

/// The attacks' stack: two regions, A's backups copied to B, and `extra` stack keys.
fn attacked(env: &str, extra: &str) -> Enforced {
    Enforced::start(env, env, |ws| {
        ws.write_stack_with(&[A, B], &format!("copies:\n  {A}: {B}\n{extra}"))
    })
}

/// `request` encrypted as the bucket's default encryption says, as backup encrypts (a writer
/// that names another key or none is refused by the bucket policy).
async fn encrypted(
    at: &Enforced,
    bucket: &str,
    request: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    match bucket_key(at, bucket).await {
        Some(key) => request
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key),
        None => request.server_side_encryption(ServerSideEncryption::Aes256),
    }
}

/// The KMS key a bucket's default encryption names (`None`: AES256), as backup reads it.
async fn bucket_key(at: &Enforced, bucket: &str) -> Option<String> {
    let region = region_of(at, bucket);
    let rules = at
        .s3("admin", region)
        .await
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    rules
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .and_then(|d| d.kms_master_key_id())
        .map(str::to_string)
}

/// The region of one of the stack's buckets (S3 asks that region's KMS for its key).
fn region_of(at: &Enforced, bucket: &str) -> &'static str {
    if bucket == at.ws.bucket(B) { B } else { A }
}

impl Enforced {
    async fn put_parameter(&self, name: &str, value: &str) {
        self.ssm("admin", A)
            .await
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }

    async fn pointer(&self, bucket: &str, key: &str) -> String {
        let out = self
            .s3("admin", A)
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        String::from_utf8(out.body.collect().await.unwrap().to_vec()).unwrap()
    }

    /// Moves a pointer to `target` with the backup role's keys, as backup moves it: a
    /// conditional PUT on the ETag it has, AES256 (a pointer holds no secret, and the verify
    /// role reads it without KMS), with a SHA-256. AWS allows it.
    async fn move_pointer(&self, bucket: &str, key: &str, target: &str) {
        let s3 = self.s3("backup", region_of(self, bucket)).await;
        let etag = s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .e_tag
            .unwrap();
        let put = s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(target.as_bytes().to_vec().into())
            .server_side_encryption(ServerSideEncryption::Aes256)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .if_match(etag);
        put.send()
            .await
            .unwrap_or_else(|e| panic!("the backup role moves {key}: {e:?}"));
    }

    /// Writes a new document with the backup role's keys, create-only as the bucket policy
    /// requires, with `tagging` (a stamp) or none, with or without a SHA-256.
    async fn plant(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        tagging: Option<String>,
        sha: bool,
    ) {
        let request = self
            .s3("backup", region_of(self, bucket))
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .if_none_match("*")
            .set_tagging(tagging);
        let mut request = encrypted(self, bucket, request).await;
        if sha {
            request = request.checksum_algorithm(ChecksumAlgorithm::Sha256);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("the backup role writes {key}: {e:?}"));
    }

    /// The stamp of a stored object (read as an administrator: what a stamp looks like is no
    /// secret, and the backup role computes every part of it).
    async fn stamp(&self, bucket: &str, key: &str) -> Stamp {
        let tags: Vec<(String, String)> = self
            .s3("admin", A)
            .await
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        Stamp::from_tags(&tags).unwrap().unwrap()
    }

    /// Reads an object as an administrator.
    async fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self
            .s3("admin", A)
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().to_vec()
    }
}

/// Rollback, a future-dated stamped document and a downgrade, each made with the backup role's
/// printed policy under enforced IAM: every one is allowed by AWS, and every one is seen.
/// On the main before #30, verify stayed at 0 after each and restore used the rolled-back
/// backup.
#[tokio::test]
async fn a_misused_backup_credential_cannot_make_a_backup_lie_unseen() {
    attacks("integ", "").await;
}

/// The same attacks on the stack the issue names: `encryption: kms` (each region's managed key,
/// which the backup role may use through S3) and Object Lock, beside the copies.
#[tokio::test]
async fn the_same_attacks_on_a_kms_stack_with_object_lock_are_seen_too() {
    attacks(
        "integkms",
        "encryption: kms\nobjectLock:\n  mode: GOVERNANCE\n  days: 1\n",
    )
    .await;
}

async fn attacks(env: &str, extra: &str) {
    let at = attacked(env, extra);
    // The operator role applies the stack, as the apply workflow does.
    let apply = at.run("apply", &["apply", "--stack", env, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{apply:#?}");
    let name = format!("/app/{env}/db/password");
    at.put_parameter(&name, "old-secret").await;
    let run = at.run("backup", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let (bucket, copy_bucket) = (at.ws.bucket(A), at.ws.bucket(B));
    let pointer = format!("latest-{A}.txt");
    let copy_pointer = format!("copies/latest-{A}.txt");
    let older = at.pointer(&bucket, &pointer).await;
    next_second();
    at.put_parameter(&name, "new-secret").await;
    let run = at.run("backup", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let newest = at.pointer(&bucket, &pointer).await;
    assert_ne!(older, newest);
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");

    // Rollback: every pointer moved back to the older backup (and its copy).
    at.move_pointer(&bucket, &pointer, &older).await;
    at.move_pointer(&bucket, "latest.txt", &older).await;
    at.move_pointer(&copy_bucket, &copy_pointer, &format!("copies/{older}"))
        .await;
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "{A} pointer-newest: {pointer} names {older}, but the newest backup there (stored last) is {newest}"
        )) && run.stdout.contains(&format!("copies/{newest}")),
        "{}",
        run.stdout
    );
    let run = at.run("restore", &["verify", "--stack", env, "--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stdout.contains("pointer-newest"), "{}", run.stdout);
    // restore and the drill use the newest found, and say the pointer names another.
    let run = at.run("restore", &["restore", "--stack", env, "--region", A]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "{pointer} in {bucket} names {older}, but the newest backup there (the one S3 stored last) is {newest}: restoring from the newest"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains(&newest), "{}", run.stdout);
    let run = at.run(
        "restore",
        &["restore", "--stack", env, "--region", A, "--from-copy"],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("copies/{newest}: restoring from the newest")),
        "{}",
        run.stderr
    );
    let run = at.run(
        "restore",
        &["restore", "--stack", env, "--drill", "--region", A],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains(&format!("names {older}, but the newest backup there"))
            && run.stderr.contains(&format!("{bucket}/{newest}")),
        "{run:#?}"
    );
    // The next backup moves the pointers on: green again.
    next_second();
    let run = at.run("backup", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let newest = at.pointer(&bucket, &pointer).await;

    // Re-stamping: the stamp goes on only with the document's own upload. The backup role may
    // tag an upload (s3:PutObjectTagging), but the bucket policy refuses every tagging call on
    // a stored, stamped document; a replay of the upload itself still meets If-None-Match (412).
    let s3b = at.s3("backup", A).await;
    let forged = Stamp {
        parameter_count: 99,
        ..at.stamp(&bucket, &newest).await
    };
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .set_tag_set(Some(
            forged
                .tags()
                .into_iter()
                .map(|(k, v)| {
                    aws_sdk_s3::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .build()
        .unwrap();
    let put = s3b
        .put_object_tagging()
        .bucket(&bucket)
        .key(&newest)
        .tagging(tagging)
        .send()
        .await;
    assert_eq!(
        put.as_ref().err().and_then(http_status),
        Some(403),
        "{put:?}"
    );
    let delete = s3b
        .delete_object_tagging()
        .bucket(&bucket)
        .key(&newest)
        .send()
        .await;
    assert_eq!(
        delete.as_ref().err().and_then(http_status),
        Some(403),
        "{delete:?}"
    );
    assert_eq!(
        at.stamp(&bucket, &newest).await.parameter_count,
        stamp_count(&at, &bucket, &newest).await
    );
    let replay = s3b
        .put_object()
        .bucket(&bucket)
        .key(&newest)
        .body(at.object(&bucket, &newest).await.into())
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .tagging(forged.tagging_header())
        .if_none_match("*");
    let replay = encrypted(&at, &bucket, replay).await.send().await;
    assert_eq!(
        replay.as_ref().err().and_then(http_status),
        Some(412),
        "{replay:?}"
    );
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 0, "the stamp is what backup wrote: {run:#?}");

    // Fresh lie dated ahead: a whole, stamped document under a day after today, holding the
    // older backup's bytes. verify names it; restore refuses to choose it.
    let planted = format!("2099-01-01/{A}/ssm-backup-{env}-{A}-20990101_000000.json");
    let body = at.object(&bucket, &older).await;
    let stamp = at.stamp(&bucket, &older).await;
    at.plant(&bucket, &planted, &body, Some(stamp.tagging_header()), true)
        .await;
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("{A} not-future: a backup is dated after today"))
            && run.stdout.contains(&format!("s3://{bucket}/{planted}")),
        "{}",
        run.stdout
    );
    let run = at.run("restore", &["restore", "--stack", env, "--region", A]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("not-future") && run.stderr.contains("--from"),
        "{}",
        run.stderr
    );
    // Reviewed and acknowledged in the stack: listed, never the newest, verify green.
    at.ws.write_stack_with(
        &[A, B],
        &format!("copies:\n  {A}: {B}\n{extra}acknowledgedFutureBackups:\n  - {planted}\n"),
    );
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "Note: {A} has {planted}, dated after today: acknowledged"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&newest), "{}", run.stdout);

    // Fresh lie: a new, whole, stamped document dated now holding the older backup's values,
    // its copy beside it and every pointer moved: plain verify cannot see it (it reads no
    // secret, and the backup role computes all it reads); --deep compares with Parameter Store.
    let lie = key_now(env);
    let (forged, forged_stamp) = forge(&body, &stamp, &lie, None);
    at.plant(
        &bucket,
        &lie,
        &forged,
        Some(forged_stamp.tagging_header()),
        true,
    )
    .await;
    // The copy's stamp names the copy's key, as backup stamps it.
    let copy_stamp = Stamp {
        key_arn: bucket_key(&at, &copy_bucket).await,
        ..forged_stamp.clone()
    };
    at.plant(
        &copy_bucket,
        &format!("copies/{lie}"),
        &forged,
        Some(copy_stamp.tagging_header()),
        true,
    )
    .await;
    at.move_pointer(&bucket, &pointer, &lie).await;
    at.move_pointer(&bucket, "latest.txt", &lie).await;
    at.move_pointer(&copy_bucket, &copy_pointer, &format!("copies/{lie}"))
        .await;
    let run = at.run("verify", &["verify", "--stack", env, "--region", A]);
    assert_eq!(run.code, 0, "plain verify cannot see a fresh lie: {run:#?}");
    let run = at.run(
        "restore",
        &["verify", "--stack", env, "--region", A, "--deep"],
    );
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "{A} complete: 1 parameters were live before the backup was taken but are not in it at their live version: {name} (version 2 live, 1 in the backup)"
        )),
        "{}",
        run.stdout
    );
    // The weekly drill makes the same comparison, and refuses to drill the lie.
    let run = at.run(
        "restore",
        &["restore", "--stack", env, "--drill", "--region", A],
    );
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains("complete: 1 parameters were live before the backup"),
        "{run:#?}"
    );
    // The same lie naming the live version (its recorded time dropped): the value differs.
    let lie = key_now(env);
    let (forged, forged_stamp) = forge(&body, &stamp, &lie, Some((&name, 2)));
    at.plant(
        &bucket,
        &lie,
        &forged,
        Some(forged_stamp.tagging_header()),
        true,
    )
    .await;
    let run = at.run(
        "restore",
        &["verify", "--stack", env, "--region", A, "--deep"],
    );
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "{A} matches-ssm: 1 parameters differ from what Parameter Store holds at the backup's version (compared by SHA-256; no value shown): {name} (value)"
        )) && !run.stdout.contains("old-secret")
            && !run.stdout.contains("new-secret"),
        "{}",
        run.stdout
    );

    // Downgrade: a new document of this tool's layout, without stamp or checksum, the pointers
    // moved to it. Plain verify fails closed and says to read it with --deep.
    let downgraded = key_now(env);
    at.plant(&bucket, &downgraded, &body, None, false).await;
    at.move_pointer(&bucket, &pointer, &downgraded).await;
    at.move_pointer(&bucket, "latest.txt", &downgraded).await;
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("{A} stamp: the object has no ssm-keeper-* tags"))
            && run
                .stdout
                .contains(&format!("{A} checksum: the object has no stored SHA-256"))
            && run.stdout.contains("run `verify --deep`"),
        "{}",
        run.stdout
    );
}

/// The key backup would give a document of region A written now, in a second of its own (the
/// newest is the one stored last).
fn key_now(env: &str) -> String {
    next_second();
    let now = time::OffsetDateTime::now_utc();
    let stamp_time = format!(
        "{:04}{:02}{:02}_{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let day = format!(
        "{}-{}-{}",
        &stamp_time[..4],
        &stamp_time[4..6],
        &stamp_time[6..8]
    );
    format!("{day}/{A}/ssm-backup-{env}-{A}-{stamp_time}.json")
}

/// The document `body` (stamped `stamp`) as a forger re-dates it to the key `key` names, with
/// `version` set for one parameter (its recorded time dropped): the bytes and the stamp that
/// goes with them, every part computed as backup would.
fn forge(body: &[u8], stamp: &Stamp, key: &str, version: Option<(&str, i64)>) -> (Vec<u8>, Stamp) {
    let timestamp = key
        .rsplit('-')
        .next()
        .and_then(|t| t.strip_suffix(".json"))
        .unwrap()
        .to_string();
    let mut doc: serde_json::Value = serde_json::from_slice(body).unwrap();
    doc["backup_timestamp"] = timestamp.clone().into();
    doc["backup_date"] = key[..10].into();
    if let Some((name, version)) = version {
        for p in doc["parameters"].as_array_mut().unwrap() {
            if p["Name"] == name {
                p["Version"] = version.into();
                p.as_object_mut().unwrap().remove("LastModifiedDate");
            }
        }
    }
    let bytes = serde_json::to_vec(&doc).unwrap();
    let mut stamp = stamp.clone();
    stamp.backup_timestamp = timestamp;
    stamp.document_sha256 = Some(aws_smithy_types::base64::encode(
        <sha2::Sha256 as sha2::Digest>::digest(&bytes),
    ));
    (bytes, stamp)
}

/// The parameter count of the document itself (what its stamp must say).
async fn stamp_count(at: &Enforced, bucket: &str, key: &str) -> u64 {
    let doc: serde_json::Value = serde_json::from_slice(&at.object(bucket, key).await).unwrap();
    doc["parameters"].as_array().unwrap().len() as u64
}

/// The HTTP status S3 refused a request with.
fn http_status<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// The key swap under enforced IAM: the alias moved (by someone with kms:UpdateAlias) to a key
/// apply did not make. The roles read only keys tagged with the stack's alias: plan, with the
/// plan and the apply role, shows the replacement naming both keys (the new one found by the
/// region's aliases), apply refuses it, verify fails `key`, and the next backup is still
/// written under the key the bucket is pinned to, never the alias's new one.
#[tokio::test]
async fn a_moved_alias_is_seen_by_plan_and_verify_with_their_own_roles() {
    let env = "intkey";
    let at = Enforced::start(env, env, |ws| {
        ws.write_stack_with(&[A, B], "encryption: kms\n")
    });
    let run = at.run("apply", &["apply", "--stack", env, "--auto-approve"]);
    assert_eq!(run.code, 0, "{run:#?}");
    at.put_parameter(&format!("/app/{env}/db/password"), "v1")
        .await;
    let run = at.run("backup", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let run = at.run("verify", &["verify", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");

    let alias = format!("alias/{PROJECT}-ssm-backup-{env}");
    let kms = at.kms("admin", A).await;
    // A run cut between CreateKey and CreateAlias: the plan role's own policy lists the orphan.
    let orphan = kms
        .create_key()
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Name")
                .tag_value(&alias)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let orphan = orphan.key_metadata().unwrap().key_id().to_string();
    let run = at.run("plan", &["plan", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "aws kms schedule-key-deletion --region {A} --key-id {orphan}"
        )),
        "{}",
        run.stdout
    );
    let pinned = kms
        .describe_key()
        .key_id(&alias)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    let other = kms
        .create_key()
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

    // Plan and apply, each with its role: the replacement named by both key IDs (the new key
    // found by the alias, since the roles may not read it); apply refuses it, nothing changed.
    let key_id = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    let (pinned_id, other_id) = (key_id(&pinned), key_id(&other));
    for role in ["plan", "apply"] {
        let run = at.run(role, &["plan", "--stack", env]);
        assert_eq!(run.code, 0, "{role}: {run:#?}");
        assert!(
            run.stdout.contains(&format!("! replace key {alias}"))
                && run.stdout.contains(&format!(
                    "pinned key (the bucket's default encryption): {pinned_id}"
                ))
                && run.stdout.contains(&format!(
                    "the key the alias names now:              {other_id}"
                )),
            "{role}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!(
                "names the key {other_id} (these credentials may not read {other_id}: the roles read only keys tagged Name={alias}, so it is not a key apply made, or its key policy shuts them out), not the pinned key {pinned_id}"
            )),
            "{role}: {}",
            run.stdout
        );
    }
    let run = at.run("apply", &["apply", "--stack", env, "--auto-approve"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(&format!("--target-key-id {pinned_id}")),
        "{}",
        run.stderr
    );
    // A key the role may not read cannot be accepted: its settings are unknown.
    let accept = [
        "apply",
        "--stack",
        env,
        "--auto-approve",
        "--accept-key-change",
    ];
    let run = at.run("apply", &accept);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(
            "which these credentials may not read (--accept-key-change cannot accept a key whose settings are unknown)"
        ),
        "{}",
        run.stderr
    );
    let run = at.run("verify", &["verify", "--stack", env, "--region", A]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "{A} key: the backup is under {pinned}, but the stack's key does not resolve"
        )),
        "{}",
        run.stdout
    );
    // The nightly job keeps writing under the pinned key (the bucket's), not the alias's.
    next_second();
    at.put_parameter(&format!("/app/{env}/db/password"), "v2")
        .await;
    let run = at.run("backup", &["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    let bucket = at.ws.bucket(A);
    let newest = at.pointer(&bucket, &format!("latest-{A}.txt")).await;
    assert_eq!(
        at.stamp(&bucket, &newest).await.key_arn.as_deref(),
        Some(pinned.as_str())
    );

    // The alias back on the pinned key, whose Name tag is then removed: the roles may not read
    // the very key the bucket is pinned to, so plan refuses rather than show nothing.
    kms.update_alias()
        .alias_name(&alias)
        .target_key_id(&pinned)
        .send()
        .await
        .unwrap();
    kms.untag_resource()
        .key_id(&pinned)
        .tag_keys("Name")
        .send()
        .await
        .unwrap();
    let run = at.run("plan", &["plan", "--stack", env]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "names the key {pinned_id}, which these credentials may not read"
        )) && run
            .stderr
            .contains(&format!("it is the key the bucket {A} is pinned to")),
        "{}",
        run.stderr
    );
}
