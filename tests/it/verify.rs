//! verify against the emulator: a fresh backup passes; a missing pointer, a pointer to a
//! missing object, an overwritten object, a wrong count and an old backup each fail with exit 2
//! naming the region and the check; plain verify judges from the stamp (tags) and listing, and
//! an old document without a stamp is not failed but said to need `--deep`. No value is printed.

use crate::common::*;

const A: &str = "us-east-1";
const B: &str = "eu-west-1";
const SECRET: &str = "VERIFY-SECRET-8d1f";

/// A stack of A (default) and B, applied, with parameters, backed up once.
async fn backed_up(env: &str) -> Workspace {
    let ws = Workspace::new(env, &[A, B], A);
    ws.apply();
    for region in [A, B] {
        put_string(region, &format!("/app/{env}/host"), "h").await;
        put_secure(region, &format!("/app/{env}/password"), SECRET).await;
    }
    let run = ws.run(&["backup", "--stack", env]);
    assert_eq!(run.code, 0, "{run:#?}");
    ws
}

fn verify(ws: &Workspace, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--stack", ws.env.as_str()];
    args.extend_from_slice(extra);
    let run = ws.run(&args);
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "a value was printed: {run:#?}"
    );
    run
}

/// Runs verify (with `extra`) expecting a failed check, in `region`, named `check`.
fn fails_with_args(ws: &Workspace, extra: &[&str], region: &str, check: &str, found: &str) {
    let run = verify(ws, extra);
    assert_eq!(run.code, 2, "{run:#?}");
    let line = format!("  {region} {check}: {found}");
    assert!(
        run.stdout.contains(&line),
        "expected `{line}` in:\n{}",
        run.stdout
    );
}

/// Runs plain verify expecting a failed check, in `region`, named `check`.
fn fails_with(ws: &Workspace, region: &str, check: &str, found: &str) {
    fails_with_args(ws, &[], region, check, found);
}

async fn pointer_target(ws: &Workspace, region: &str) -> String {
    let pointer = format!("latest-{region}.txt");
    String::from_utf8(object_bytes(region, &ws.bucket(region), &pointer).await).unwrap()
}

#[tokio::test]
async fn a_fresh_backup_passes_every_check() {
    let ws = backed_up("vfresh").await;
    let run = verify(&ws, &[]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "Every check made holds.\nNot checked (not a failure):\n  {A} encryption, document, entries, selection, matches-ssm, complete: only `verify --deep` reads the object"
        )),
        "{}",
        run.stdout
    );
    // --deep makes every check but the count's: this is the first backup.
    let run = verify(&ws, &["--deep"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.ends_with(&format!(
            "Every check made holds.\nNot checked (not a failure):\n  {A} count-drop: no earlier readable backup of the region to compare with\n  {B} count-drop: no earlier readable backup of the region to compare with\n"
        )),
        "{}",
        run.stdout
    );
    // The stamp backup wrote is on the object: its tags.
    let key = pointer_target(&ws, B).await;
    let tags = s3(B)
        .await
        .get_object_tagging()
        .bucket(ws.bucket(B))
        .key(&key)
        .send()
        .await
        .unwrap();
    let tag = |name: &str| {
        tags.tag_set()
            .iter()
            .find(|t| t.key() == name)
            .map(|t| t.value().to_string())
    };
    assert_eq!(tag("ssm-keeper-format").as_deref(), Some("2"));
    assert_eq!(tag("ssm-keeper-environment").as_deref(), Some("vfresh"));
    assert_eq!(tag("ssm-keeper-region").as_deref(), Some(B));
    assert_eq!(tag("ssm-keeper-parameter-count").as_deref(), Some("3"));
    let names = [
        ws.param(&format!("{B}/s3-bucket-name")),
        "/app/vfresh/host".to_string(),
        "/app/vfresh/password".to_string(),
    ];
    assert_eq!(
        tag("ssm-keeper-names-sha256"),
        Some(ssm_keeper::core::stamp::names_sha256(
            names.iter().map(String::as_str)
        ))
    );
    let run = verify(&ws, &["--format", "json", "--region", B]);
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["deep"], false);
    let basis = |check: &str| {
        report["regions"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == check)
            .map(|c| (c["basis"].clone(), c["found"].clone()))
            .unwrap()
    };
    assert_eq!(basis("count-drop").0, "not-checked", "the first backup");
    assert_eq!(basis("not-empty").0, "metadata");
    assert_eq!(basis("selection").0, "not-checked");
    assert!(
        basis("selection").1.as_str().unwrap().contains("--deep"),
        "{report}"
    );
    assert_eq!(report["regions"].as_array().unwrap().len(), 1);
    assert_eq!(report["regions"][0]["region"], B);
    assert_eq!(
        report["regions"][0]["parameterCount"], 3,
        "two seeded + B's bucket parameter"
    );
    assert_eq!(report["regions"][0]["liveCount"], 3);
}

#[tokio::test]
async fn a_missing_pointer_fails() {
    let ws = backed_up("vnoptr").await;
    s3(B)
        .await
        .delete_object()
        .bucket(ws.bucket(B))
        .key(format!("latest-{B}.txt"))
        .send()
        .await
        .unwrap();
    fails_with(
        &ws,
        B,
        "pointer",
        &format!("latest-{B}.txt does not exist in {}", ws.bucket(B)),
    );
}

#[tokio::test]
async fn a_pointer_to_a_missing_object_fails() {
    let ws = backed_up("vnoobj").await;
    let newest = pointer_target(&ws, B).await;
    store_object(
        B,
        &ws.bucket(B),
        &format!("latest-{B}.txt"),
        b"2026-01-01/gone.json",
        true,
    )
    .await;
    fails_with(
        &ws,
        B,
        "pointer-newest",
        &format!(
            "latest-{B}.txt names 2026-01-01/gone.json, but the newest backup there (stored last) is {newest}"
        ),
    );
    // With no backup in the bucket at all, `object` fails and names the pointer.
    let s3 = s3(B).await;
    s3.delete_object()
        .bucket(ws.bucket(B))
        .key(&newest)
        .send()
        .await
        .unwrap();
    fails_with(
        &ws,
        B,
        "object",
        &format!(
            "{} holds no backup of {B}, yet latest-{B}.txt names 2026-01-01/gone.json",
            ws.bucket(B)
        ),
    );
}

/// A key for a document planted in `region`, the newest there: under today's day (UTC), named
/// after every real backup of the day and every document planted before it (a key is written
/// once; the newest is the one stored last, the key breaking a tie within a second).
fn planted_key(ws: &Workspace, region: &str) -> String {
    static PLANTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = PLANTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let day = ssm_keeper::core::newest::today(time::OffsetDateTime::now_utc());
    let compact = day.replace('-', "");
    format!(
        "{day}/{region}/ssm-backup-{env}-{region}-{compact}_99{n:04}.json",
        env = ws.env
    )
}

#[tokio::test]
async fn an_overwritten_object_fails() {
    let ws = backed_up("vover").await;
    let key = pointer_target(&ws, B).await;
    let body = object_bytes(B, &ws.bucket(B), &key).await;
    store_object(B, &ws.bucket(B), &key, &body, true).await;
    fails_with(
        &ws,
        B,
        "single-version",
        "the key has 2 versions: a backup is written once, so it was overwritten",
    );
}

/// A document of this environment and region, as a backup writes it, with `count` claimed.
fn document(ws: &Workspace, region: &str, timestamp: &str, count: usize) -> Vec<u8> {
    serde_json::json!({
        "format_version": 2,
        "backup_timestamp": timestamp,
        "environment": ws.env,
        "region": region,
        "parameters": [{"Name": format!("/app/{}/host", ws.env), "Type": "String", "Value": "h", "Version": 1}],
        "parameter_count": count,
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_wrong_count_fails() {
    let ws = backed_up("vcount").await;
    let key = planted_key(&ws, B);
    store_object(
        B,
        &ws.bucket(B),
        &key,
        &document(&ws, B, "20261124_000000", 7),
        true,
    )
    .await;
    store_object(
        B,
        &ws.bucket(B),
        &format!("latest-{B}.txt"),
        key.as_bytes(),
        true,
    )
    .await;
    let run = verify(&ws, &["--max-age", "8760", "--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {B} document: parameter_count says 7 but the document holds 1 parameters"
        )),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn an_old_backup_fails() {
    let ws = backed_up("vold").await;
    let key = planted_key(&ws, B);
    store_object(
        B,
        &ws.bucket(B),
        &key,
        &document(&ws, B, "20260101_130000", 1),
        true,
    )
    .await;
    store_object(
        B,
        &ws.bucket(B),
        &format!("latest-{B}.txt"),
        key.as_bytes(),
        true,
    )
    .await;
    // Stored just now, without a stamp: plain verify fails closed (a document of this layout
    // is always stamped); only the document says when it was taken.
    fails_with(
        &ws,
        B,
        "stamp",
        "the object has no ssm-keeper-* tags: every backup of this tool's layout is written with its stamp",
    );
    let run = verify(&ws, &["--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("  {B} fresh: the newest backup is ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("hours old (more than 26)"),
        "{}",
        run.stdout
    );
}

#[test]
fn verify_cannot_run_without_a_region_list() {
    let ws = Workspace::new("vnothing", &[A], A);
    let run = ws.run(&["verify", "--stack", "vnothing"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("Region list parameter"),
        "{}",
        run.stderr
    );
}

/// Stores a format-2 document of `ws`'s environment in `region` holding `parameters` (name,
/// value, type), taken at `timestamp`, without a stamp (as before backup stamped documents),
/// and moves the pointer to it.
async fn plant(
    ws: &Workspace,
    region: &str,
    timestamp: &str,
    parameters: &[(&str, &str, &str)],
) -> String {
    plant_with(ws, region, timestamp, parameters, None).await
}

/// `plant`, with the stamp backup would put on it, changed by `alter`.
async fn plant_stamped(
    ws: &Workspace,
    region: &str,
    timestamp: &str,
    parameters: &[(&str, &str, &str)],
    alter: impl FnOnce(&mut ssm_keeper::core::stamp::Stamp),
) -> String {
    let mut stamp = ssm_keeper::core::stamp::Stamp {
        format_version: 2,
        environment: ws.env.clone(),
        region: region.to_string(),
        parameter_count: parameters.len() as u64,
        backup_timestamp: timestamp.to_string(),
        names_sha256: ssm_keeper::core::stamp::names_sha256(parameters.iter().map(|p| p.0)),
        document_sha256: None,
        key_arn: None,
    };
    alter(&mut stamp);
    plant_with(
        ws,
        region,
        timestamp,
        parameters,
        Some(stamp.tagging_header()),
    )
    .await
}

async fn plant_with(
    ws: &Workspace,
    region: &str,
    timestamp: &str,
    parameters: &[(&str, &str, &str)],
    tagging: Option<String>,
) -> String {
    let env = ws.env.as_str();
    let entries: Vec<serde_json::Value> = parameters
        .iter()
        .map(|(name, value, kind)| {
            serde_json::json!({"Name": name, "Type": kind, "Value": value, "Version": 1,
                "DataType": "text", "Tier": "Standard"})
        })
        .collect();
    let doc = serde_json::json!({
        "format_version": 2, "tool_version": "0", "backup_date": "2099-12-31",
        "backup_timestamp": timestamp, "environment": env, "region": region, "account": ACCOUNT,
        "parameters": entries, "parameter_count": parameters.len(),
    });
    let key = planted_key(ws, region);
    let bucket = ws.bucket(region);
    store_tagged_object(
        region,
        &bucket,
        &key,
        doc.to_string().as_bytes(),
        true,
        tagging.as_deref(),
    )
    .await;
    store_object(
        region,
        &bucket,
        &format!("latest-{region}.txt"),
        key.as_bytes(),
        false,
    )
    .await;
    key
}

fn now_timestamp(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .format(time::macros::format_description!(
            "[year][month][day]_[hour][minute][second]"
        ))
        .unwrap()
}

#[tokio::test]
async fn a_document_restore_would_refuse_or_fail_on_fails_verify() {
    let ws = backed_up("vdoc").await;
    let now = now_timestamp(time::Duration::ZERO);
    let host = "/app/vdoc/host";
    let password = "/app/vdoc/password";
    // A name of another environment, planted with the backup role's rights.
    plant(
        &ws,
        A,
        &now,
        &[
            (host, "h", "String"),
            (password, "p", "SecureString"),
            ("/jenkins/prod/token", "x", "String"),
        ],
    )
    .await;
    fails_with_args(
        &ws,
        &["--deep"],
        A,
        "selection",
        "1 names outside the environment (names holding the segment /vdoc/), which restore skips: /jenkins/prod/token",
    );
    // Entries restore would fail on: restore refuses the document before writing.
    let key = plant(
        &ws,
        A,
        &now,
        &[
            (host, "h", "String"),
            (host, "h", "String"),
            (password, "", "SecureString"),
        ],
    )
    .await;
    fails_with_args(
        &ws,
        &["--deep"],
        A,
        "entries",
        "restore would fail on: /app/vdoc/host is in the document twice; /app/vdoc/password has an empty value",
    );
    let run = ws.run(&[
        "restore",
        "--stack",
        "vdoc",
        "--region",
        A,
        "--from",
        &key,
        "--apply",
        "--auto-approve",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("entries: restore would fail on"),
        "{}",
        run.stderr
    );
    // A timestamp in the future would be fresh forever.
    let later = now_timestamp(time::Duration::hours(3));
    plant(
        &ws,
        A,
        &later,
        &[
            (host, "h", "String"),
            (password, "p", "SecureString"),
            (&ws.param(&format!("{A}/s3-bucket-name")), "b", "String"),
        ],
    )
    .await;
    let run = verify(&ws, &["--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {A} not-future: the backup says it was taken at"
        )),
        "{}",
        run.stdout
    );
    // Larger than the limit: not read at all.
    let run = verify(&ws, &["--max-document-bytes", "100"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!("  {A} size: the object is ")),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_count_that_fell_by_more_than_half_fails() {
    let ws = backed_up("vdrop").await;
    // B's real backup holds three parameters; the next one, one (taken in a later second than
    // every parameter was written).
    next_second();
    let now = now_timestamp(time::Duration::ZERO);
    plant(&ws, B, &now, &[("/app/vdrop/host", "h", "String")]).await;
    // Unstamped: plain verify fails closed, does not know its count, and says so.
    let run = verify(&ws, &["--region", B]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {B} identity, not-empty, count-drop: the object has no ssm-keeper-* tags"
        )) && run
            .stdout
            .contains(&format!("  {B} stamp: the object has no ssm-keeper-* tags")),
        "{}",
        run.stdout
    );
    let run = verify(&ws, &["--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "  {B} count-drop: the backup holds 1 parameters, 2 fewer than the previous one ("
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("more than --max-count-drop 50%"),
        "{}",
        run.stdout
    );
    // An operator who removed most parameters on purpose says so: count-drop holds then, but
    // the parameters still live since before the backup are not in it (`complete`).
    let run = verify(&ws, &["--max-count-drop", "100", "--region", B, "--deep"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        !run.stdout.contains("count-drop:")
            && run.stdout.contains(&format!(
                "  {B} complete: 2 parameters were live before the backup was taken but are not in it at their live version: "
            ))
            && run.stdout.contains("/app/vdrop/password (not in the backup)"),
        "{}",
        run.stdout
    );
    // Stamped, plain verify compares the stamps' counts, reading no document.
    plant_stamped(&ws, B, &now, &[("/app/vdrop/host", "h", "String")], |_| {}).await;
    fails_with(
        &ws,
        B,
        "count-drop",
        "the backup holds 1 parameters, 2 fewer than the previous one (",
    );
}

#[tokio::test]
async fn plain_verify_fails_what_the_stamp_says_and_deep_catches_a_stamp_that_lies() {
    let ws = backed_up("vstamp").await;
    let host = "/app/vstamp/host";
    let password = "/app/vstamp/password";
    let bucket_name = ws.param(&format!("{B}/s3-bucket-name"));
    let three = [
        (host, "h", "String"),
        (password, "p", "SecureString"),
        (bucket_name.as_str(), "b", "String"),
    ];
    let now = now_timestamp(time::Duration::ZERO);
    // A stamp of another environment.
    plant_stamped(&ws, B, &now, &three, |s| s.environment = "prod".into()).await;
    fails_with(
        &ws,
        B,
        "identity",
        "its tags say it is a backup of environment `prod`, not `vstamp`",
    );
    // A stamp taken two days ago.
    let old = now_timestamp(-time::Duration::hours(49));
    plant_stamped(&ws, B, &old, &three, |_| {}).await;
    fails_with(
        &ws,
        B,
        "fresh",
        "the newest backup is 49.0 hours old (more than 26)",
    );
    // A stamp that claims more than the document holds: plain verify believes it (the
    // document is unread), --deep compares it with the document.
    plant_stamped(&ws, B, &now, &three, |s| s.parameter_count = 30).await;
    let run = verify(&ws, &["--region", B]);
    assert_eq!(run.code, 0, "{run:#?}");
    fails_with_args(
        &ws,
        &["--deep", "--region", B],
        B,
        "stamp",
        "the tags were changed after the backup (the document is what backup wrote): its tags say parameter count 30, the document 3",
    );
    // Tags only partly there: a broken stamp fails.
    plant_with(
        &ws,
        B,
        &now,
        &three,
        Some("ssm-keeper-format=2".to_string()),
    )
    .await;
    fails_with(
        &ws,
        B,
        "stamp",
        "the object's tags lack ssm-keeper-environment",
    );
}

/// Running both jobs side by side (deployment.md, 6): the old script's document stored after
/// this tool's on the same day is not the newest, so verify stays green; with only the old
/// script's documents in a bucket, its newest is the region's newest.
#[tokio::test]
async fn the_old_scripts_documents_count_only_while_none_of_ours_is_there() {
    let ws = backed_up("vside").await;
    let day = ssm_keeper::core::newest::today(time::OffsetDateTime::now_utc());
    let compact = day.replace('-', "");
    let old = format!("{day}/ssm-backup-vside-{compact}_235959.json");
    let legacy = serde_json::json!({
        "environment": "vside",
        "parameters": [{"Name": "/app/vside/host", "Type": "String", "Value": "h", "Version": 1}],
        "parameter_count": 1,
    });
    next_second();
    store_object(A, &ws.bucket(A), &old, legacy.to_string().as_bytes(), false).await;
    let run = verify(&ws, &["--region", A]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stdout.contains(&old), "{}", run.stdout);

    // A bucket holding only the old script's documents: its newest is found.
    let ws = Workspace::new("vonlyold", &[A], A);
    ws.apply();
    let old = format!("{day}/ssm-backup-vonlyold-{compact}_220000.json");
    let legacy = legacy.to_string().replace("vside", "vonlyold");
    store_object(A, &ws.bucket(A), &old, legacy.as_bytes(), false).await;
    let run = verify(&ws, &["--format", "json"]);
    assert_eq!(run.json()["regions"][0]["object"], old.as_str(), "{run:#?}");
}
