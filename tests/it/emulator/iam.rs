//! IAM enforcement (emulator/keeper_emulator/iam.py, policy.py), under an enforcing emulator of
//! its own: identity policies get AWS's verdict (a statement whose condition does not hold does
//! not apply, Allow or Deny alike) with the condition keys AWS sets: the tags of the resource
//! (`aws:ResourceTag/<k>`), of the request (`aws:RequestTag/<k>`), of the existing object
//! (`s3:ExistingObjectTag/<k>`), and `kms:ViaService` when S3 asks KMS.

use crate::common::*;
use crate::iam::{config_as, emulator_script, s3_as, ssm_as};
use serde_json::{Value, json};

const A: &str = "us-east-1";

/// An enforcing emulator with one user per policy (and `admin`, allowed everything).
struct Users {
    emu: Emulator,
    keys: Value,
}

impl Users {
    fn start(name: &str, policies: Value) -> Users {
        let emu = start_emulator(name, &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
        let keys = emulator_script("iam_users.py", &emu, &[], &policies);
        Users { emu, keys }
    }

    fn creds(&self, user: &str) -> (String, String) {
        let key = |field: &str| self.keys[user][field].as_str().unwrap().to_string();
        (key("key"), key("secret"))
    }

    async fn kms(&self, user: &str) -> aws_sdk_kms::Client {
        let (k, s) = self.creds(user);
        aws_sdk_kms::Client::new(&config_as(&self.emu, (&k, &s), A).await)
    }

    async fn ssm(&self, user: &str) -> aws_sdk_ssm::Client {
        let (k, s) = self.creds(user);
        ssm_as(&self.emu, (&k, &s), A).await
    }

    async fn s3(&self, user: &str) -> aws_sdk_s3::Client {
        let (k, s) = self.creds(user);
        s3_as(&self.emu, (&k, &s), A).await
    }
}

fn policy(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

fn statement(effect: &str, actions: &[&str], resource: &str, condition: Option<Value>) -> Value {
    let mut statement = json!({ "Effect": effect, "Action": actions, "Resource": resource });
    if let Some(condition) = condition {
        statement["Condition"] = condition;
    }
    statement
}

fn allow(actions: &[&str], resource: &str, condition: Option<Value>) -> Value {
    statement("Allow", actions, resource, condition)
}

fn equals(key: &str, value: &str) -> Option<Value> {
    Some(json!({ "StringEquals": { key: value } }))
}

fn code<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &E) -> Option<String> {
    e.code().map(str::to_string)
}

async fn tagged_key(kms: &aws_sdk_kms::Client, project: &str) -> String {
    kms.create_key()
        .tags(kms_tag("project", project))
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap()
}

fn kms_tag(key: &str, value: &str) -> aws_sdk_kms::types::Tag {
    aws_sdk_kms::types::Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .unwrap()
}

fn ssm_tag(key: &str, value: &str) -> aws_sdk_ssm::types::Tag {
    aws_sdk_ssm::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap()
}

/// moto answered DENIED for any statement whose condition failed: an Allow with a condition
/// that does not hold acted as an explicit Deny, even beside an Allow that holds.
#[tokio::test]
async fn a_statement_whose_condition_does_not_hold_does_not_apply() {
    let keys = format!("arn:aws:kms:{A}:{ACCOUNT}:key/*");
    let bucket = "iam-verdict-documents";
    let objects = format!("arn:aws:s3:::{bucket}/*");
    let via = |service: &str| Some(json!({ "StringLike": { "kms:ViaService": service } }));
    let project = |p: &str| equals("aws:ResourceTag/project", p);
    let users = Users::start(
        "iamverdict",
        json!({
            // Only keys tagged project=x.
            "tagged": policy(vec![allow(&["kms:DescribeKey"], &keys, project("x"))]),
            // A conditioned Allow that does not hold, then one that does.
            "either": policy(vec![
                allow(&["kms:DescribeKey"], &keys, project("z")),
                allow(&["kms:DescribeKey"], &keys, None),
            ]),
            // A Deny whose condition does not hold denies nothing.
            "deny-y": policy(vec![
                allow(&["kms:DescribeKey"], &keys, None),
                statement("Deny", &["kms:DescribeKey"], &keys, project("y")),
            ]),
            // kms:Decrypt through SSM (does not hold for S3's call) and through S3 (holds): the
            // restore role's two statements.
            "decrypter": policy(vec![
                allow(&["s3:GetObject"], &objects, None),
                allow(&["kms:Decrypt"], &keys, via("ssm.*.amazonaws.com")),
                allow(&["kms:Decrypt"], &keys, via("s3.*.amazonaws.com")),
            ]),
            // Through S3, on keys tagged project=x only (the shape of the managed keys' grant).
            "x-decrypter": policy(vec![
                allow(&["s3:GetObject"], &objects, None),
                allow(&["kms:Decrypt"], &keys, Some(json!({
                    "StringLike": { "kms:ViaService": "s3.*.amazonaws.com" },
                    "StringEquals": { "aws:ResourceTag/project": "x" },
                }))),
            ]),
        }),
    );
    let admin = users.kms("admin").await;
    let (x, y) = (tagged_key(&admin, "x").await, tagged_key(&admin, "y").await);
    let describe = |client: aws_sdk_kms::Client, key: String| async move {
        client.describe_key().key_id(key).send().await
    };
    let denied = "AccessDeniedException";

    let tagged = users.kms("tagged").await;
    describe(tagged.clone(), x.clone())
        .await
        .expect("the key tagged project=x");
    let refused = describe(tagged.clone(), y.clone()).await.unwrap_err();
    assert_eq!(code(&refused).as_deref(), Some(denied), "{refused:?}");
    // An alias that names no key: there is nothing to authorize, AWS answers NotFound (as
    // plan's look for a stack's managed key before its first apply does).
    let missing = describe(tagged, "alias/no-such-key".to_string())
        .await
        .unwrap_err();
    assert_eq!(
        code(&missing).as_deref(),
        Some("NotFoundException"),
        "{missing:?}"
    );

    describe(users.kms("either").await, x.clone())
        .await
        .expect("an Allow that holds beside one that does not");

    let deny_y = users.kms("deny-y").await;
    describe(deny_y.clone(), x.clone())
        .await
        .expect("a Deny whose condition does not hold");
    let refused = describe(deny_y, y.clone()).await.unwrap_err();
    assert_eq!(code(&refused).as_deref(), Some(denied), "{refused:?}");

    // S3 asks KMS (kms:ViaService s3.<region>.amazonaws.com) for an SSE-KMS object.
    let s3 = users.s3("admin").await;
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    for (object, key) in [("under-x", &x), ("under-y", &y)] {
        s3.put_object()
            .bucket(bucket)
            .key(object)
            .body(b"document".to_vec().into())
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
            .ssekms_key_id(key)
            .send()
            .await
            .unwrap();
    }
    let get = |client: aws_sdk_s3::Client, object: &'static str| async move {
        client.get_object().bucket(bucket).key(object).send().await
    };
    get(users.s3("decrypter").await, "under-x")
        .await
        .expect("kms:Decrypt through S3, beside through SSM");
    let x_decrypter = users.s3("x-decrypter").await;
    get(x_decrypter.clone(), "under-x")
        .await
        .expect("through S3, a key tagged project=x");
    let refused = get(x_decrypter, "under-y").await.unwrap_err();
    assert_eq!(
        code(&refused).as_deref(),
        Some("AccessDenied"),
        "{refused:?}"
    );
}

/// moto evaluated none of these keys: a condition on them never held back a grant.
#[tokio::test]
async fn tag_condition_keys_are_the_resources_and_the_requests_tags() {
    let bucket = "iam-tag-conditions";
    let parameters = format!("arn:aws:ssm:{A}:{ACCOUNT}:parameter/tagcond/*");
    let users = Users::start(
        "iamtags",
        json!({
            "creator": policy(vec![allow(&["kms:CreateKey"], "*", equals("aws:RequestTag/project", "x"))]),
            "ops-reader": policy(vec![allow(&["ssm:GetParameter"], &parameters, equals("aws:ResourceTag/team", "ops"))]),
            "ops-writer": policy(vec![
                allow(&["ssm:PutParameter"], &parameters, None),
                allow(&["ssm:AddTagsToResource"], &parameters, equals("aws:RequestTag/team", "ops")),
            ]),
            "public-reader": policy(vec![allow(
                &["s3:GetObject"],
                &format!("arn:aws:s3:::{bucket}/*"),
                equals("s3:ExistingObjectTag/class", "public"),
            )]),
        }),
    );
    let denied = Some("AccessDeniedException".to_string());

    // aws:RequestTag: the tags CreateKey sets.
    let creator = users.kms("creator").await;
    creator
        .create_key()
        .tags(kms_tag("project", "x"))
        .send()
        .await
        .expect("a key created tagged project=x");
    let refused = creator
        .create_key()
        .tags(kms_tag("project", "y"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), denied, "{refused:?}");
    let refused = creator.create_key().send().await.unwrap_err();
    assert_eq!(code(&refused), denied, "untagged: {refused:?}");

    // aws:ResourceTag: the parameter's tags.
    let admin = users.ssm("admin").await;
    for team in ["ops", "dev"] {
        admin
            .put_parameter()
            .name(format!("/tagcond/{team}"))
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tags(ssm_tag("team", team))
            .send()
            .await
            .unwrap();
    }
    let reader = users.ssm("ops-reader").await;
    reader
        .get_parameter()
        .name("/tagcond/ops")
        .send()
        .await
        .expect("a parameter tagged team=ops");
    let refused = reader
        .get_parameter()
        .name("/tagcond/dev")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), denied, "{refused:?}");

    // aws:RequestTag: the tags PutParameter and AddTagsToResource set.
    let writer = users.ssm("ops-writer").await;
    let put = |name: &'static str, team: &'static str| {
        writer
            .put_parameter()
            .name(name)
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tags(ssm_tag("team", team))
            .send()
    };
    put("/tagcond/new-ops", "ops")
        .await
        .expect("written tagged team=ops");
    let refused = put("/tagcond/new-dev", "dev").await.unwrap_err();
    assert_eq!(code(&refused), denied, "{refused:?}");
    let tag = |team: &'static str| {
        writer
            .add_tags_to_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id("/tagcond/new-ops")
            .tags(ssm_tag("team", team))
            .send()
    };
    let refused = tag("dev").await.unwrap_err();
    assert_eq!(code(&refused), denied, "{refused:?}");
    tag("ops").await.expect("tagged team=ops");

    // s3:ExistingObjectTag: the object's tags.
    let s3 = users.s3("admin").await;
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    for class in ["public", "private"] {
        s3.put_object()
            .bucket(bucket)
            .key(class)
            .body(b"x".to_vec().into())
            .tagging(format!("class={class}"))
            .send()
            .await
            .unwrap();
    }
    let reader = users.s3("public-reader").await;
    reader
        .get_object()
        .bucket(bucket)
        .key("public")
        .send()
        .await
        .expect("an object tagged class=public");
    let refused = reader
        .get_object()
        .bucket(bucket)
        .key("private")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&refused).as_deref(),
        Some("AccessDenied"),
        "{refused:?}"
    );
}

/// Under enforced IAM each tagging API is its own action (moto checked DeleteObjectTagging as
/// s3:DeleteObject and a version's tags as s3:GetObjectVersion; corrected before AWS's
/// verdict, this guards it): tags are read, set and deleted without s3:GetObject, s3:PutObject
/// or s3:DeleteObject, a version's only with the Version actions, and an upload carrying tags
/// needs s3:PutObjectTagging as well.
#[tokio::test]
async fn each_tagging_api_is_its_own_iam_action() {
    let bucket = "iam-tagging-actions";
    let objects = format!("arn:aws:s3:::{bucket}/*");
    let users = Users::start(
        "iamtagging",
        json!({
            "tagger": policy(vec![allow(
                &["s3:PutObjectTagging", "s3:GetObjectTagging", "s3:DeleteObjectTagging"],
                &objects,
                None,
            )]),
            "writer": policy(vec![allow(
                &["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                &objects,
                None,
            )]),
        }),
    );
    let admin = users.s3("admin").await;
    admin.create_bucket().bucket(bucket).send().await.unwrap();
    admin
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let version = admin
        .put_object()
        .bucket(bucket)
        .key("o")
        .body(b"x".to_vec().into())
        .tagging("a=1")
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    let tags = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key("a")
                .value("2")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let denied = |result: Result<(), String>, what: &str| {
        assert_eq!(result.err().as_deref(), Some("AccessDenied"), "{what}")
    };
    let code_of =
        |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| e.code().unwrap_or("no code").to_string();
    // The tagging APIs, with or without a version, as `client`: Ok or the error's code.
    let tagging = |client: aws_sdk_s3::Client, version: Option<String>| {
        let tags = tags.clone();
        async move {
            let put = client
                .put_object_tagging()
                .bucket(bucket)
                .key("o")
                .set_version_id(version.clone())
                .tagging(tags)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e));
            let get = client
                .get_object_tagging()
                .bucket(bucket)
                .key("o")
                .set_version_id(version.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e));
            let delete = client
                .delete_object_tagging()
                .bucket(bucket)
                .key("o")
                .set_version_id(version)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e));
            [put, get, delete]
        }
    };
    let upload = |client: aws_sdk_s3::Client, tags: Option<&'static str>| async move {
        client
            .put_object()
            .bucket(bucket)
            .key("o")
            .body(b"y".to_vec().into())
            .set_tagging(tags.map(str::to_string))
            .send()
            .await
            .map(drop)
            .map_err(|e| code_of(&e))
    };

    let tagger = users.s3("tagger").await;
    for result in tagging(tagger.clone(), None).await {
        result.expect("the tagger's own actions");
    }
    for result in tagging(tagger.clone(), Some(version.clone())).await {
        denied(result, "a version's tags need the Version actions");
    }
    let read = tagger.get_object().bucket(bucket).key("o").send().await;
    denied(read.map(drop).map_err(|e| code_of(&e)), "s3:GetObject");
    denied(upload(tagger, None).await, "s3:PutObject");

    let writer = users.s3("writer").await;
    for result in tagging(writer.clone(), None).await {
        denied(result, "object actions do not tag");
    }
    upload(writer.clone(), None)
        .await
        .expect("an upload without tags");
    denied(
        upload(writer, Some("a=3")).await,
        "an upload with tags needs s3:PutObjectTagging",
    );
}

/// The change journal's requests (emulator/keeper_emulator/events.py, logs.py, ssm.py) are
/// authorized as AWS authorizes them: EventBridge against the rule's ARN; CloudWatch Logs
/// against the log group's ARN with `:*` (TagResource and ListTagsForResource against it
/// without), DescribeLogGroups against `log-group::log-stream:` and the account-level resource
/// policies against `*`; GetParameterHistory against the parameter. moto checked all of them
/// against `*`. Each version's LastModifiedUser is the IAM user who wrote it.
#[tokio::test]
async fn the_journals_requests_are_authorized_against_their_rule_log_group_or_parameter() {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    let rules = format!("arn:aws:events:{A}:{ACCOUNT}:rule/ssm-keeper-*");
    let groups = format!("arn:aws:logs:{A}:{ACCOUNT}:log-group:/ssm-keeper/*");
    let exact = format!("arn:aws:logs:{A}:{ACCOUNT}:log-group:/ssm-keeper/exact");
    let params = format!("arn:aws:ssm:{A}:{ACCOUNT}:parameter/app/*");
    let events_actions = [
        "events:PutRule",
        "events:PutTargets",
        "events:DescribeRule",
        "events:ListTargetsByRule",
        "events:RemoveTargets",
        "events:DeleteRule",
        "events:TagResource",
        "events:ListTagsForResource",
    ];
    let logs_actions = [
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteLogGroup",
        "logs:TagResource",
        "logs:ListTagsForResource",
        "logs:FilterLogEvents",
    ];
    let resource_policies = [
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DeleteResourcePolicy",
    ];
    let users = Users::start(
        "iamjournal",
        json!({
            "journal": policy(vec![
                allow(&events_actions, &rules, None),
                allow(&logs_actions, &groups, None),
                allow(&["logs:DescribeLogGroups"], &format!("arn:aws:logs:{A}:{ACCOUNT}:log-group:*"), None),
                allow(&resource_policies, "*", None),
                allow(&["ssm:PutParameter", "ssm:GetParameterHistory"], &params, None),
            ]),
            // Scoped by name only: DescribeLogGroups and the resource policies need more.
            "scoped": policy(vec![
                allow(&["logs:DescribeLogGroups"], &groups, None),
                allow(&resource_policies, &format!("arn:aws:logs:{A}:{ACCOUNT}:*"), None),
            ]),
            // The group's ARN without `:*` allows its tags only; with `:*`, its events only.
            "bare": policy(vec![allow(&["logs:FilterLogEvents", "logs:ListTagsForResource"], &exact, None)]),
            "starred": policy(vec![allow(
                &["logs:FilterLogEvents", "logs:ListTagsForResource"],
                &format!("{exact}:*"),
                None,
            )]),
        }),
    );
    let logs_as = |user: &'static str| {
        let (k, s) = users.creds(user);
        let emu = &users.emu;
        async move { aws_sdk_cloudwatchlogs::Client::new(&config_as(emu, (&k, &s), A).await) }
    };
    let (k, s) = users.creds("journal");
    let events = aws_sdk_eventbridge::Client::new(&config_as(&users.emu, (&k, &s), A).await);
    let logs = logs_as("journal").await;
    let admin_logs = logs_as("admin").await;
    let denied = |code: Option<&str>| code == Some("AccessDeniedException");

    // EventBridge, against the rule.
    let pattern = json!({ "source": ["aws.ssm"] }).to_string();
    events
        .put_rule()
        .name("ssm-keeper-journal")
        .event_pattern(&pattern)
        .send()
        .await
        .unwrap();
    let e = events
        .put_rule()
        .name("other-rule")
        .event_pattern(&pattern)
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    let group_arn = format!("arn:aws:logs:{A}:{ACCOUNT}:log-group:/ssm-keeper/j:*");
    events
        .put_targets()
        .rule("ssm-keeper-journal")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("j")
                .arn(&group_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let rule_arn = events
        .describe_rule()
        .name("ssm-keeper-journal")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    assert_eq!(
        rule_arn,
        format!("arn:aws:events:{A}:{ACCOUNT}:rule/ssm-keeper-journal")
    );
    events
        .list_targets_by_rule()
        .rule("ssm-keeper-journal")
        .send()
        .await
        .unwrap();
    events
        .tag_resource()
        .resource_arn(&rule_arn)
        .tags(
            aws_sdk_eventbridge::types::Tag::builder()
                .key("project")
                .value("app")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    events
        .list_tags_for_resource()
        .resource_arn(&rule_arn)
        .send()
        .await
        .unwrap();
    let e = events
        .describe_rule()
        .name("other-rule")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    events
        .remove_targets()
        .rule("ssm-keeper-journal")
        .ids("j")
        .send()
        .await
        .unwrap();
    events
        .delete_rule()
        .name("ssm-keeper-journal")
        .send()
        .await
        .unwrap();

    // CloudWatch Logs, against the log group.
    for group in ["/ssm-keeper/j", "/ssm-keeper/exact", "/other/j"] {
        admin_logs
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
    }
    logs.create_log_group()
        .log_group_name("/ssm-keeper/new")
        .send()
        .await
        .unwrap();
    let e = logs
        .create_log_group()
        .log_group_name("/other/new")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    logs.put_retention_policy()
        .log_group_name("/ssm-keeper/new")
        .retention_in_days(30)
        .send()
        .await
        .unwrap();
    logs.describe_log_groups()
        .log_group_name_prefix("/ssm-keeper/")
        .send()
        .await
        .unwrap();
    let new_arn = format!("arn:aws:logs:{A}:{ACCOUNT}:log-group:/ssm-keeper/new");
    logs.tag_resource()
        .resource_arn(&new_arn)
        .tags("project", "app")
        .send()
        .await
        .unwrap();
    logs.list_tags_for_resource()
        .resource_arn(&new_arn)
        .send()
        .await
        .unwrap();
    logs.filter_log_events()
        .log_group_name("/ssm-keeper/j")
        .send()
        .await
        .unwrap();
    let e = logs
        .filter_log_events()
        .log_group_name("/other/j")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    logs.put_resource_policy()
        .policy_name("ssm-keeper-journal")
        .policy_document(json!({ "Version": "2012-10-17", "Statement": [] }).to_string())
        .send()
        .await
        .unwrap();
    logs.describe_resource_policies().send().await.unwrap();
    logs.delete_resource_policy()
        .policy_name("ssm-keeper-journal")
        .send()
        .await
        .unwrap();
    logs.delete_log_group()
        .log_group_name("/ssm-keeper/new")
        .send()
        .await
        .unwrap();

    let scoped = logs_as("scoped").await;
    let e = scoped
        .describe_log_groups()
        .log_group_name_prefix("/ssm-keeper/")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    let e = scoped
        .describe_resource_policies()
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");

    let bare = logs_as("bare").await;
    let starred = logs_as("starred").await;
    let exact_group = "/ssm-keeper/exact";
    let e = bare
        .filter_log_events()
        .log_group_name(exact_group)
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    bare.list_tags_for_resource()
        .resource_arn(&exact)
        .send()
        .await
        .unwrap();
    starred
        .filter_log_events()
        .log_group_name(exact_group)
        .send()
        .await
        .unwrap();
    starred
        .filter_log_events()
        .log_group_identifier(&exact)
        .send()
        .await
        .unwrap();
    let e = starred
        .list_tags_for_resource()
        .resource_arn(&exact)
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");

    // GetParameterHistory, against the parameter; each version names its writer.
    let ssm = users.ssm("journal").await;
    ssm.put_parameter()
        .name("/app/x")
        .value("1")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    users
        .ssm("admin")
        .await
        .put_parameter()
        .name("/app/x")
        .value("2")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let versions = ssm
        .get_parameter_history()
        .name("/app/x")
        .send()
        .await
        .unwrap();
    let writers: Vec<&str> = versions
        .parameters()
        .iter()
        .map(|v| v.last_modified_user().unwrap())
        .collect();
    assert_eq!(
        writers,
        [
            format!("arn:aws:iam::{ACCOUNT}:user/journal"),
            format!("arn:aws:iam::{ACCOUNT}:user/admin")
        ]
    );
    users
        .ssm("admin")
        .await
        .put_parameter()
        .name("/other/x")
        .value("1")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let e = ssm
        .get_parameter_history()
        .name("/other/x")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
}

/// moto checked every dashboard request against `*`: a policy scoped to a dashboard's ARN
/// allowed nothing. AWS authorizes GetDashboard, PutDashboard and DeleteDashboards against
/// `arn:aws:cloudwatch::<account>:dashboard/<name>` (no region: dashboards are global).
#[tokio::test]
async fn dashboard_requests_are_authorized_against_the_dashboards_arn() {
    use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
    let own = format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/iam-dash-own");
    let users = Users::start(
        "iamdash",
        json!({
            "manage": policy(vec![allow(
                &["cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
                &own,
                None,
            )]),
            "read": policy(vec![allow(&["cloudwatch:GetDashboard"], &own, None)]),
            // The region-bearing form AWS never checks against allows nothing.
            "regional": policy(vec![allow(
                &["cloudwatch:GetDashboard", "cloudwatch:PutDashboard"],
                &format!("arn:aws:cloudwatch:{A}:{ACCOUNT}:dashboard/iam-dash-own"),
                None,
            )]),
        }),
    );
    let cw = |user: &str| {
        let (k, s) = users.creds(user);
        let emu = &users.emu;
        async move { aws_sdk_cloudwatch::Client::new(&config_as(emu, (&k, &s), A).await) }
    };
    let body = json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 2,
                                   "properties": {"markdown": "hi"}}]})
    .to_string();
    let denied = |code: Option<&str>| code == Some("AccessDenied");
    let manage = cw("manage").await;
    manage
        .put_dashboard()
        .dashboard_name("iam-dash-own")
        .dashboard_body(&body)
        .send()
        .await
        .unwrap();
    let e = manage
        .put_dashboard()
        .dashboard_name("iam-dash-other")
        .dashboard_body(&body)
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    // Read through another region: the same dashboard, the same ARN.
    let (k, s) = users.creds("read");
    let read = aws_sdk_cloudwatch::Client::new(&config_as(&users.emu, (&k, &s), "eu-west-1").await);
    read.get_dashboard()
        .dashboard_name("iam-dash-own")
        .send()
        .await
        .unwrap();
    let e = read
        .put_dashboard()
        .dashboard_name("iam-dash-own")
        .dashboard_body(&body)
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    let e = read
        .delete_dashboards()
        .dashboard_names("iam-dash-own")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    let regional = cw("regional").await;
    let e = regional
        .get_dashboard()
        .dashboard_name("iam-dash-own")
        .send()
        .await
        .unwrap_err();
    assert!(denied(e.code()), "{e:?}");
    manage
        .delete_dashboards()
        .dashboard_names("iam-dash-own")
        .send()
        .await
        .unwrap();
}

/// SSM asks KMS on the caller's behalf for a SecureString under a customer-managed key: a read
/// with decryption needs kms:Decrypt on the key, a write kms:Encrypt (Standard) or
/// kms:GenerateDataKey (Advanced), each through SSM (`kms:ViaService` ssm.<region>.amazonaws.com)
/// with the key's tags; SSM's AWS managed key needs no IAM permission. moto never asked.
#[tokio::test]
async fn ssm_asks_kms_for_a_secure_string_under_a_customer_key() {
    let keys = format!("arn:aws:kms:{A}:{ACCOUNT}:key/*");
    let via = |service: &str| json!({ "StringLike": { "kms:ViaService": service } });
    let ssm_all = || allow(&["ssm:*"], "*", None);
    let users = Users::start(
        "iamssmkms",
        json!({
            "no-kms": policy(vec![ssm_all()]),
            "via-ssm": policy(vec![
                ssm_all(),
                allow(&["kms:Decrypt", "kms:Encrypt"], &keys, Some(via("ssm.*.amazonaws.com"))),
            ]),
            "via-s3": policy(vec![
                ssm_all(),
                allow(&["kms:Decrypt", "kms:Encrypt"], &keys, Some(via("s3.*.amazonaws.com"))),
            ]),
            "one-only": policy(vec![
                ssm_all(),
                allow(&["kms:Decrypt"], &keys, Some(json!({
                    "StringLike": { "kms:ViaService": "ssm.*.amazonaws.com" },
                    "StringEquals": { "aws:ResourceTag/project": "one" },
                }))),
            ]),
        }),
    );
    let admin_kms = users.kms("admin").await;
    let (one, two) = (
        tagged_key(&admin_kms, "one").await,
        tagged_key(&admin_kms, "two").await,
    );
    let admin = users.ssm("admin").await;
    let secure = aws_sdk_ssm::types::ParameterType::SecureString;
    admin_kms
        .create_alias()
        .alias_name("alias/viakms-one")
        .target_key_id(&one)
        .send()
        .await
        .unwrap();
    let managed_arn = format!("arn:aws:kms:{A}:{ACCOUNT}:alias/aws/ssm");
    for (name, key) in [
        ("/viakms/one", Some(one.as_str())),
        ("/viakms/two", Some(two.as_str())),
        ("/viakms/managed", None),
        ("/viakms/managed-by-arn", Some(managed_arn.as_str())),
        ("/viakms/by-alias", Some("alias/viakms-one")),
    ] {
        admin
            .put_parameter()
            .name(name)
            .value("v")
            .r#type(secure.clone())
            .set_key_id(key.map(str::to_string))
            .send()
            .await
            .unwrap();
    }
    let read = |user: &'static str, name: &'static str, decrypt: bool| {
        let users = &users;
        async move {
            let ssm = users.ssm(user).await;
            let got = ssm.get_parameter().name(name).with_decryption(decrypt);
            got.send().await.map(|_| ()).map_err(|e| {
                let e = e.into_service_error();
                let message = aws_sdk_ssm::error::ProvideErrorMetadata::message(&e);
                let message = message.unwrap_or_default().to_string();
                (code(&e).unwrap_or_default(), message)
            })
        }
    };
    let refused = |outcome: Result<(), (String, String)>, action: &str| {
        let (code, message) = outcome.expect_err(action);
        assert_eq!(code, "AccessDeniedException", "{message}");
        assert!(message.contains(action), "{message}");
    };
    // Without decryption SSM asks nothing of KMS; the managed key needs no permission.
    read("no-kms", "/viakms/one", false).await.unwrap();
    read("no-kms", "/viakms/managed", true).await.unwrap();
    read("no-kms", "/viakms/managed-by-arn", true)
        .await
        .unwrap();
    // A value is decrypted with the key it was encrypted under, wherever its alias points now.
    admin_kms
        .update_alias()
        .alias_name("alias/viakms-one")
        .target_key_id(&two)
        .send()
        .await
        .unwrap();
    read("one-only", "/viakms/by-alias", true).await.unwrap();
    refused(read("no-kms", "/viakms/one", true).await, "kms:Decrypt");
    read("via-ssm", "/viakms/one", true).await.unwrap();
    refused(read("via-s3", "/viakms/one", true).await, "kms:Decrypt");
    read("one-only", "/viakms/one", true).await.unwrap();
    refused(read("one-only", "/viakms/two", true).await, "kms:Decrypt");
    // GetParameters and GetParameterHistory ask the same.
    let one_only = users.ssm("one-only").await;
    let names = ["/viakms/one", "/viakms/two"];
    let both = one_only
        .get_parameters()
        .set_names(Some(names.map(String::from).to_vec()));
    let e = both.with_decryption(true).send().await.unwrap_err();
    assert_eq!(
        code(&e.into_service_error()).as_deref(),
        Some("AccessDeniedException")
    );
    let history = one_only.get_parameter_history().name("/viakms/two");
    let e = history.with_decryption(true).send().await.unwrap_err();
    assert_eq!(
        code(&e.into_service_error()).as_deref(),
        Some("AccessDeniedException")
    );
    let by_path = one_only.get_parameters_by_path().path("/viakms/");
    let e = by_path.with_decryption(true).send().await.unwrap_err();
    assert_eq!(
        code(&e.into_service_error()).as_deref(),
        Some("AccessDeniedException")
    );

    // A write under the key: kms:Encrypt for Standard, kms:GenerateDataKey for Advanced.
    let write = |user: &'static str, tier: aws_sdk_ssm::types::ParameterTier| {
        let (users, one, secure) = (&users, one.clone(), secure.clone());
        async move {
            let ssm = users.ssm(user).await;
            let put = ssm.put_parameter().name("/viakms/written").value("w");
            let put = put.r#type(secure).key_id(one).tier(tier).overwrite(true);
            put.send().await.map(|_| ()).map_err(|e| {
                let e = e.into_service_error();
                let message = aws_sdk_ssm::error::ProvideErrorMetadata::message(&e);
                (
                    code(&e).unwrap_or_default(),
                    message.unwrap_or_default().to_string(),
                )
            })
        }
    };
    use aws_sdk_ssm::types::ParameterTier::{Advanced, Standard};
    refused(write("no-kms", Standard).await, "kms:Encrypt");
    write("via-ssm", Standard).await.unwrap();
    refused(write("via-s3", Standard).await, "kms:Encrypt");
    refused(write("via-ssm", Advanced).await, "kms:GenerateDataKey");
}
