//! The round trip, property-tested: generated parameter sets (every type, SecureStrings under the
//! default and a customer KMS key, Advanced values up to 8 KB with policies, tags, descriptions,
//! allowed patterns, non-ASCII text) are backed up, restored into another, empty region, and
//! backed up there: the two documents hold the same parameters, up to what differs by nature
//! (timestamps, versions, region, and the KMS key the restore was told to use there). Restore
//! reports every parameter; none is dropped. `PROPTEST_CASES` sets how many sets (default 4:
//! each is a real apply, backup, restore and backup against the emulator).

use crate::common::*;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, Tag};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

const A: &str = "us-east-1";
const B: &str = "eu-west-1";

#[derive(Debug, Clone)]
struct Generated {
    kind: ParameterType,
    value: String,
    advanced: bool,
    customer_key: bool,
    description: Option<String>,
    pattern: bool,
    expiration: bool,
    tags: BTreeMap<String, String>,
}

/// Text SSM takes as a value or description: letters, digits, punctuation, non-ASCII letters.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('a', 'z'),
            proptest::char::range('0', '9'),
            Just('é'),
            Just('日'),
            Just('-'),
            Just(' '),
        ],
        1..max,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>().trim().to_string())
    .prop_filter("not blank", |s| !s.is_empty())
}

fn parameter() -> impl Strategy<Value = Generated> {
    (
        0..3u8,
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(text(40)),
        any::<bool>(),
        proptest::collection::btree_map("[a-z]{1,8}", "[a-z0-9]{0,8}", 0..3),
        any::<bool>(),
    )
        .prop_flat_map(
            |(kind, advanced, customer_key, description, pattern, tags, expiration)| {
                let kind = match kind {
                    0 => ParameterType::String,
                    1 => ParameterType::StringList,
                    _ => ParameterType::SecureString,
                };
                // An allowed pattern constrains the value: lowercase letters and digits then.
                let value: BoxedStrategy<String> = if pattern && kind != ParameterType::SecureString
                {
                    "[a-z0-9]{1,64}".boxed()
                } else if advanced {
                    (4097..8000usize).prop_map(|n| "x".repeat(n)).boxed()
                } else {
                    text(200).boxed()
                };
                value.prop_map(move |value| Generated {
                    value: if kind == ParameterType::StringList {
                        value.replace(' ', ",")
                    } else {
                        value
                    },
                    kind: kind.clone(),
                    advanced,
                    customer_key: customer_key && kind == ParameterType::SecureString,
                    description: description.clone(),
                    pattern: pattern && kind != ParameterType::SecureString,
                    expiration: expiration && advanced,
                    tags: tags.clone(),
                })
            },
        )
}

/// The parameters of a document under `prefix`, without what differs by nature: version and
/// date of each, and the KMS key (checked apart).
fn comparable(doc: &serde_json::Value, prefix: &str) -> BTreeMap<String, serde_json::Value> {
    doc["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["Name"].as_str().unwrap().starts_with(prefix))
        .map(|p| {
            let mut p = p.clone();
            let object = p.as_object_mut().unwrap();
            for key in ["Version", "LastModifiedDate", "KeyId"] {
                object.remove(key);
            }
            (p["Name"].as_str().unwrap().to_string(), p)
        })
        .collect()
}

async fn newest_document(ws: &Workspace, region: &str) -> serde_json::Value {
    let bucket = ws.bucket(region);
    let key = object_bytes(region, &bucket, &format!("latest-{region}.txt")).await;
    let key = String::from_utf8(key).unwrap();
    serde_json::from_slice(&object_bytes(region, &bucket, &key).await).unwrap()
}

async fn round_trip(set: Vec<Generated>) {
    static CASE: AtomicUsize = AtomicUsize::new(0);
    let env = format!("rt{}", CASE.fetch_add(1, Ordering::SeqCst));
    let ws = Workspace::new(&env, &[A, B], A);
    ws.apply();
    let ssm = ssm(A).await;
    let key_a = kms(A).await.create_key().send().await.unwrap();
    let key_a = key_a.key_metadata().unwrap().key_id().to_string();
    let key_b = kms(B).await.create_key().send().await.unwrap();
    let key_b = key_b.key_metadata().unwrap().key_id().to_string();
    let prefix = format!("/app/{env}/");
    for (i, p) in set.iter().enumerate() {
        let mut put = ssm
            .put_parameter()
            .name(format!("{prefix}p{i}"))
            .value(&p.value)
            .r#type(p.kind.clone())
            .tier(if p.advanced {
                ParameterTier::Advanced
            } else {
                ParameterTier::Standard
            });
        if p.customer_key {
            put = put.key_id(&key_a);
        }
        if let Some(d) = &p.description {
            put = put.description(d);
        }
        if p.pattern {
            put = put.allowed_pattern("^[a-z0-9,]+$");
        }
        if p.expiration {
            put = put.policies(
                r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}]"#,
            );
        }
        for (k, v) in &p.tags {
            put = put.tags(Tag::builder().key(k).value(v).build().unwrap());
        }
        put.send().await.unwrap();
    }

    let run = ws.run(&["backup", "--stack", &env, "--max-rps", "0"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let before = newest_document(&ws, A).await;
    let run = ws.run(&[
        "restore",
        "--stack",
        &env,
        "--region",
        A,
        "--target-region",
        B,
        "--only",
        &prefix,
        "--kms-key-id",
        &key_b,
        "--apply",
        "--auto-approve",
        "--max-rps",
        "0",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "Restore complete: {} parameters written",
            set.len()
        )),
        "every parameter restored, none dropped: {}",
        run.stdout
    );
    // B's document of the first backup named its empty state; this one is another document,
    // named to another second.
    next_second();
    let run = ws.run(&["backup", "--stack", &env, "--max-rps", "0"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let after = newest_document(&ws, B).await;

    assert_eq!(before["environment"], after["environment"]);
    assert_eq!(
        (before["region"].as_str(), after["region"].as_str()),
        (Some(A), Some(B))
    );
    assert_eq!(comparable(&before, &prefix), comparable(&after, &prefix));
    // The KMS key: SecureStrings under the key the restore was told to use in B.
    for p in after["parameters"].as_array().unwrap() {
        if p["Name"].as_str().unwrap().starts_with(&prefix) && p["Type"] == "SecureString" {
            assert!(
                p["KeyId"].as_str().is_some_and(|k| k.ends_with(&key_b)),
                "{p}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(4),
        max_shrink_iters: 8,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_parameter_round_trips_into_another_region(set in proptest::collection::vec(parameter(), 1..7)) {
        tokio::runtime::Runtime::new().unwrap().block_on(round_trip(set));
    }
}
