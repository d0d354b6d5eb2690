//! SSM (emulator/keeper_emulator/ssm.py): DescribeParameters' page size, parameter policies, the
//! tier downgrade, SecureStrings' keys, and the test facility of a parameter written long ago.

use super::R;
use crate::common::*;

#[tokio::test]
async fn describe_parameters_returns_pages_of_fifty() {
    let ssm = ssm("ca-central-1").await; // a region no other test uses
    for i in 0..120 {
        ssm.put_parameter()
            .name(format!("/pages/p{i:03}"))
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    let mut sizes = Vec::new();
    let mut pages = ssm
        .describe_parameters()
        .max_results(50)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        sizes.push(page.unwrap().parameters().len());
    }
    assert_eq!(sizes, vec![50, 50, 20]);
    // A later page is never older than the last change: a parameter written between the first
    // and second page is on the last one.
    let first = ssm
        .describe_parameters()
        .max_results(50)
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/pages/p120")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap();
    let second = ssm
        .describe_parameters()
        .max_results(50)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let last = ssm
        .describe_parameters()
        .max_results(50)
        .next_token(second.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(last.parameters().len(), 21, "{last:?}");
    let err = ssm
        .describe_parameters()
        .max_results(51)
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("ValidationException"),
        "{err:?}"
    );
}

#[tokio::test]
async fn parameter_policies_read_back_as_json_text() {
    let ssm = ssm(R).await;
    let policy = r#"{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}"#;
    ssm.put_parameter()
        .name("/emulator/policies/x")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .tier(aws_sdk_ssm::types::ParameterTier::Advanced)
        .policies(format!("[{policy}]"))
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let out = ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values("/emulator/policies/x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let policies = out.parameters()[0].policies();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].policy_text(), Some(policy));
    assert_eq!(policies[0].policy_type(), Some("Expiration"));
}

#[tokio::test]
async fn a_parameter_can_be_written_as_long_ago() {
    put_string_aged(R, "/emulator/aged/x", "v", 16 * 60).await;
    let out = ssm(R)
        .await
        .get_parameter()
        .name("/emulator/aged/x")
        .send()
        .await
        .unwrap();
    let modified = out
        .parameter()
        .unwrap()
        .last_modified_date()
        .unwrap()
        .secs();
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - modified;
    assert!((16 * 60..17 * 60).contains(&age), "written {age} s ago");
}

#[tokio::test]
async fn an_advanced_parameter_cannot_go_back_to_standard() {
    let ssm = ssm(R).await;
    let put = |tier: aws_sdk_ssm::types::ParameterTier| {
        ssm.put_parameter()
            .name("/emulator/tier/x")
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tier(tier)
            .overwrite(true)
            .send()
    };
    put(aws_sdk_ssm::types::ParameterTier::Advanced)
        .await
        .unwrap();
    let e = put(aws_sdk_ssm::types::ParameterTier::Standard)
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert_eq!(
        aws_sdk_ssm::error::ProvideErrorMetadata::code(&e),
        Some("ValidationException")
    );
    assert!(
        aws_sdk_ssm::error::ProvideErrorMetadata::message(&e).is_some_and(
            |m| m.contains("can't downgrade a parameter from the advanced-parameter tier")
        ),
        "{e:?}"
    );
    put(aws_sdk_ssm::types::ParameterTier::Advanced)
        .await
        .unwrap();
}

/// AWS refuses a name with characters other than a-zA-Z0-9_.-/, a path that does not begin with
/// a slash or has an empty level, more than 15 levels, more than 1011 characters counting the
/// ARN before it, a name prefixed with aws or ssm. moto refused only the last.
#[tokio::test]
async fn parameter_names_aws_refuses_are_refused() {
    let ssm = ssm(R).await;
    let put = |name: String| {
        ssm.put_parameter()
            .name(name)
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
    };
    let refused = |name: String, code: &'static str, message: &'static str| {
        let put = put(name.clone());
        async move {
            let e = put.await.expect_err(&name).into_service_error();
            assert_eq!(
                aws_sdk_ssm::error::ProvideErrorMetadata::code(&e),
                Some(code),
                "{name}: {e:?}"
            );
            assert!(
                aws_sdk_ssm::error::ProvideErrorMetadata::message(&e)
                    .is_some_and(|m| m.contains(message)),
                "{name}: {e:?}"
            );
        }
    };
    let path_message = "If formed as a path, it can consist of sub-paths divided by slash symbol";
    for name in [
        "/emunames/with space",
        "/emunames/at@sign",
        "/emunames/caf\u{e9}",
        "/emunames/colon:x",
        "emunames/no-leading-slash",
        "/emunames//empty-level",
        "/emunames/trailing/",
        // Refused by moto already, as by AWS.
        "/ssm/x",
    ] {
        refused(name.to_string(), "ValidationException", path_message).await;
    }
    for name in ["awsName", "SSMname"] {
        let message =
            "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).";
        refused(name.to_string(), "ValidationException", message).await;
    }
    // 15 levels, not 16.
    let levels = |n: usize| (1..=n).map(|i| format!("/l{i}")).collect::<String>();
    put(format!("/emunames{}", levels(14)))
        .await
        .expect("15 levels");
    refused(
        format!("/emunames{}", levels(15)),
        "HierarchyLevelLimitExceededException",
        "A hierarchy can have a maximum of 15 levels",
    )
    .await;
    // 1011 characters with arn:aws:ssm:us-east-1:123456789012:parameter/ (45) before the name.
    let arn = format!("arn:aws:ssm:{R}:{ACCOUNT}:parameter/");
    let longest = 1011 - arn.len();
    put(format!("/{}", "a".repeat(longest)))
        .await
        .expect("the longest name");
    refused(
        format!("/{}", "a".repeat(longest + 1)),
        "ValidationException",
        "Member must have length less than or equal to 966",
    )
    .await;
    // Every character AWS allows.
    put("/emunames/Az09_.-x".to_string())
        .await
        .expect("letters, digits, _ . -");
    put("emunames-plain.Name_0".to_string())
        .await
        .expect("a name outside any hierarchy");
}

/// PutParameter of a SecureString refuses a KeyId that cannot encrypt in the parameter's region
/// (`InvalidKeyId`, as AWS: SSM asks KMS): a key or alias that is not there, or a key ARN of
/// another region. The AWS managed key of SSM and the region's own keys (ID, ARN, alias, alias
/// ARN) are accepted.
/// moto stored any KeyId.
#[tokio::test]
async fn a_secure_string_under_a_key_that_is_not_there_is_invalid_key_id() {
    const OTHER: &str = "eu-west-1";
    let (ssm, kms_here) = (ssm(R).await, kms(R).await);
    let here = kms_here.create_key().send().await.unwrap();
    let here = here.key_metadata().unwrap();
    let elsewhere = kms(OTHER).await.create_key().send().await.unwrap();
    let elsewhere = elsewhere.key_metadata().unwrap();
    kms_here
        .create_alias()
        .alias_name("alias/emukeys-here")
        .target_key_id(here.key_id())
        .send()
        .await
        .unwrap();
    let put = |key: &str| {
        ssm.put_parameter()
            .name("/emukeys/secret")
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .key_id(key)
            .overwrite(true)
            .send()
    };
    let alias_arn = |name: &str| format!("arn:aws:kms:{R}:{ACCOUNT}:alias/{name}");
    for key in [
        "alias/aws/ssm",
        &alias_arn("aws/ssm"),
        here.key_id(),
        here.arn().unwrap(),
        "alias/emukeys-here",
        &alias_arn("emukeys-here"),
    ] {
        put(key).await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
    }
    for key in [
        elsewhere.key_id(),
        elsewhere.arn().unwrap(),
        "alias/emukeys-nowhere",
        &alias_arn("emukeys-nowhere"),
        "alias/aws/not-a-service",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    ] {
        let e = put(key).await.expect_err(key).into_service_error();
        assert!(e.is_invalid_key_id(), "{key}: {e:?}");
    }
    // A String parameter has no key to check.
    ssm.put_parameter()
        .name("/emukeys/plain")
        .value("v")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
}

/// Every version of a parameter, as GetParameterHistory pages them.
async fn history(ssm: &aws_sdk_ssm::Client, name: &str, page: Option<i32>) -> Vec<Vec<i64>> {
    let mut pages = ssm
        .get_parameter_history()
        .name(name)
        .set_max_results(page)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(p) = pages.next().await {
        out.push(
            p.unwrap()
                .parameters()
                .iter()
                .map(|v| v.version())
                .collect(),
        );
    }
    out
}

/// GetParameterHistory as AWS answers it: pages of MaxResults (1 to 50, 50 when not sent), the
/// last 100 versions (the 101st PutParameter drops the oldest, and is refused while the oldest
/// has a label), each version's own Labels, Description, KeyId, Tier, DataType, Policies and
/// LastModifiedUser (the caller: moto's default identity without enforced IAM); a deleted
/// parameter is forgotten, history and all, and its name starts again at version 1.
#[tokio::test]
async fn parameter_history_pages_keeps_a_hundred_versions_and_forgets_a_deleted_parameter() {
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    use aws_sdk_ssm::types::{ParameterTier, ParameterType};
    let ssm = ssm("af-south-1").await; // a region no other test uses
    let kms = kms("af-south-1").await;
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    kms.create_alias()
        .alias_name("alias/history")
        .target_key_id(key)
        .send()
        .await
        .unwrap();
    let name = "/history/db";
    let policy = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}]"#;
    ssm.put_parameter()
        .name(name)
        .value("v1")
        .description("first")
        .r#type(ParameterType::SecureString)
        .key_id("alias/history")
        .tier(ParameterTier::Advanced)
        .policies(policy)
        .send()
        .await
        .unwrap();
    for v in 2..=105 {
        ssm.put_parameter()
            .name(name)
            .value(format!("v{v}"))
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }
    let all: Vec<i64> = history(&ssm, name, None).await.concat();
    assert_eq!(all, (6..=105).collect::<Vec<i64>>());
    let sizes = |pages: Vec<Vec<i64>>| pages.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(history(&ssm, name, None).await), [50, 50]);
    assert_eq!(sizes(history(&ssm, name, Some(30)).await), [30, 30, 30, 10]);
    for bad in [0, 51] {
        let e = ssm
            .get_parameter_history()
            .name(name)
            .max_results(bad)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(e.code(), Some("ValidationException"), "{bad}: {e:?}");
    }

    let first = ssm
        .get_parameter_history()
        .name(name)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let oldest = &first.parameters()[0];
    assert_eq!(oldest.description(), Some("first"));
    assert_eq!(oldest.key_id(), Some("alias/history"));
    assert_eq!(oldest.tier(), Some(&ParameterTier::Advanced));
    assert_eq!(oldest.data_type(), Some("text"));
    assert_eq!(oldest.policies()[0].policy_type(), Some("Expiration"));
    assert_eq!(
        oldest.last_modified_user(),
        Some(format!("arn:aws:sts::{ACCOUNT}:user/moto").as_str())
    );
    assert!(oldest.labels().is_empty());

    // The oldest labelled: the 101st version is refused, with AWS's message.
    ssm.label_parameter_version()
        .name(name)
        .parameter_version(6)
        .labels("pinned")
        .send()
        .await
        .unwrap();
    let e = ssm
        .put_parameter()
        .name(name)
        .value("v106")
        .overwrite(true)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("ParameterMaxVersionLimitExceeded"), "{e:?}");
    assert_eq!(
        e.message(),
        Some(
            "You attempted to create a new version of /history/db by calling the PutParameter API \
             with the overwrite flag. Version 6, the oldest version, can't be deleted because it \
             has a label associated with it. Move the label to another version of the parameter, \
             and try again."
        )
    );
    let labelled = ssm
        .get_parameter_history()
        .name(name)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(labelled.parameters()[0].labels(), ["pinned"]);
    assert_eq!(history(&ssm, name, None).await.concat().len(), 100);

    // Deleted: forgotten entirely; the name starts again at version 1.
    ssm.delete_parameter().name(name).send().await.unwrap();
    let e = ssm
        .get_parameter_history()
        .name(name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_parameter_not_found(), "{e:?}");
    let again = ssm
        .put_parameter()
        .name(name)
        .value("new")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    assert_eq!(again.version(), 1);
    let fresh = history(&ssm, name, None).await.concat();
    assert_eq!(fresh, [1]);
    let versions = ssm.get_parameter_history().name(name).send().await.unwrap();
    assert_eq!(versions.parameters()[0].description(), None);
    assert!(versions.parameters()[0].labels().is_empty());

    // A failed LabelParameterVersion on a name that is no parameter leaves nothing behind.
    assert!(
        ssm.label_parameter_version()
            .name("/history/none")
            .labels("x")
            .send()
            .await
            .is_err()
    );
    let e = ssm
        .get_parameter_history()
        .name("/history/none")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_parameter_not_found(), "{e:?}");
}
