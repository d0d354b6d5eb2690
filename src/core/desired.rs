//! Stack + account id -> the resources the stack wants: per region a bucket and its
//! parameter, and the metadata parameters in the SSM home region. Pure.

use std::collections::BTreeMap;

use super::alarm::{alarm_name, alarm_settings, drill_alarm_name, drill_alarm_settings};
use super::dashboard::dashboard_resource;
use super::journal::journal_resources;
use super::model::{
    BucketSettings, DesiredState, Encryption, LifecycleRule, LiveState, ParameterState,
    PublicAccessBlock, Resource, ResourceId,
};
use super::region::{check_region, partition};
use super::resource::KeySettings;
use super::resource::bucket::ObjectLock;
use super::resource::key::ENABLED;
use super::stack::{EncryptionMode, NAME_SEPARATOR, Stack, bucket_name};

pub const MANAGED_BY: &str = "ssm-keeper";
pub const LIFECYCLE_RULE_ID: &str = "delete-old-backups";

/// `/jenkins/{env}/backup/` and the keys below it: the contract with the backup job.
pub fn backup_prefix(environment: &str) -> String {
    format!("/jenkins/{environment}/backup")
}
pub fn region_bucket_parameter(environment: &str, region: &str) -> String {
    format!("{}/{region}/s3-bucket-name", backup_prefix(environment))
}
pub fn region_list_parameter(environment: &str) -> String {
    format!("{}/region-list", backup_prefix(environment))
}
pub fn default_region_parameter(environment: &str) -> String {
    format!("{}/default-region", backup_prefix(environment))
}
/// `copies` as apply writes it for backup: a JSON object, region -> the region holding its copy.
pub fn copies_parameter(environment: &str) -> String {
    format!("{}/copies", backup_prefix(environment))
}

/// Where the copies parameter of `stack` lives: in its SSM home region.
pub fn copies_parameter_id(stack: &Stack) -> ResourceId {
    ResourceId::parameter(
        stack.ssm_home_region.clone(),
        copies_parameter(&stack.environment),
    )
}

/// The copies a parameter's value names (a JSON object of region names).
pub fn parse_copies(text: &str) -> Result<BTreeMap<String, String>, String> {
    let copies: BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|e| format!("the copies parameter is not a JSON object of region names: {e}"))?;
    for (from, to) in &copies {
        for region in [from, to] {
            check_region(region).map_err(|m| format!("the copies parameter holds {m}"))?;
        }
    }
    Ok(copies)
}

pub fn legacy_bucket_parameter(environment: &str) -> String {
    format!("{}/s3-bucket-name", backup_prefix(environment))
}

/// The regions named by the region list parameter's value (a JSON array of region names).
pub fn parse_region_list(text: &str) -> Result<Vec<String>, String> {
    let regions: Vec<String> = serde_json::from_str(text)
        .map_err(|e| format!("the region list is not a JSON array of region names: {e}"))?;
    for r in &regions {
        check_region(r).map_err(|m| format!("the region list holds {m}"))?;
    }
    Ok(regions)
}

/// The metadata parameters that live in the SSM home region only.
pub fn metadata_parameters(environment: &str) -> [String; 3] {
    [
        region_list_parameter(environment),
        default_region_parameter(environment),
        legacy_bucket_parameter(environment),
    ]
}

/// Every metadata parameter apply ever writes in the SSM home region: the three above and the
/// copies parameter. What an earlier home region may still hold.
pub fn home_parameters(environment: &str) -> [String; 4] {
    let [region_list, default_region, legacy] = metadata_parameters(environment);
    [
        region_list,
        default_region,
        legacy,
        copies_parameter(environment),
    ]
}

/// Where metadata may be left over from an earlier `ssmHomeRegion`: every given region but the
/// home region.
pub fn stray_metadata_ids(stack: &Stack, regions: &[String]) -> Vec<ResourceId> {
    regions
        .iter()
        .filter(|r| **r != stack.ssm_home_region)
        .flat_map(|region| {
            home_parameters(&stack.environment)
                .into_iter()
                .map(move |name| ResourceId::parameter(region.clone(), name))
        })
        .collect()
}

/// The bucket policy: TLS only, every upload encrypted (with AES256, the original design's two
/// statements; or with `key`: every document under SSE-KMS with exactly that key), and a
/// backup document
/// (`{date}/{region}/...`) only ever created, never replaced: its upload must carry
/// `If-None-Match` (AWS's `s3:if-none-match` key). The old script's keys
/// (`{date}/ssm-backup-...`, one level less) stay writable, so both can run side by side.
pub fn bucket_policy(bucket: &str, region: &str, key: Option<&str>) -> serde_json::Value {
    let arn = format!("arn:{}:s3:::{bucket}", partition(region));
    let deny_upload = |sid: &str, resource: &str, condition: serde_json::Value| {
        serde_json::json!({
            "Sid": sid,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": resource,
            "Condition": { "StringNotEquals": condition }
        })
    };
    let mut statements = vec![serde_json::json!({
        "Sid": "DenyInsecureConnections",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, format!("{arn}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
    })];
    match key {
        None => statements.push(deny_upload(
            "DenyUnencryptedObjectUploads",
            &format!("{arn}/*"),
            serde_json::json!({ "s3:x-amz-server-side-encryption": "AES256" }),
        )),
        // Documents (`{date}/{region}/...`) only as aws:kms under exactly that key; every other
        // object (the pointers, which hold only a document's key, so that verify reads them
        // without KMS; the old script's keys) encrypted all the same.
        Some(key) => statements.extend([
            deny_upload(
                "DenyUnencryptedUploads",
                &format!("{arn}/*"),
                serde_json::json!({ "s3:x-amz-server-side-encryption": ["AES256", "aws:kms"] }),
            ),
            deny_upload(
                "DenyUnencryptedObjectUploads",
                &format!("{arn}/*/*/*"),
                serde_json::json!({ "s3:x-amz-server-side-encryption": "aws:kms" }),
            ),
            deny_upload(
                "DenyOtherEncryptionKeys",
                &format!("{arn}/*/*/*"),
                serde_json::json!({ "s3:x-amz-server-side-encryption-aws-kms-key-id": key }),
            ),
        ]),
    }
    statements.push(serde_json::json!({
        "Sid": "DenyReplacingBackups",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": format!("{arn}/*/*/*"),
        "Condition": { "Null": { "s3:if-none-match": "true" } }
    }));
    // A stamp goes on only with the document's own PutObject: once a stored backup carries
    // one, no writer may change or remove its tags (a misused backup credential re-stamping).
    let stamped = format!("s3:ExistingObjectTag/{}", super::stamp::FORMAT);
    statements.push(serde_json::json!({
        "Sid": "DenyRestampingBackups",
        "Effect": "Deny",
        "Principal": "*",
        "Action": [
            "s3:PutObjectTagging",
            "s3:DeleteObjectTagging",
            "s3:PutObjectVersionTagging",
            "s3:DeleteObjectVersionTagging"
        ],
        "Resource": format!("{arn}/*/*/*"),
        "Condition": { "Null": { stamped: "false" } }
    }));
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The alias of the stack's managed KMS key in each region.
pub fn key_alias(project: &str, environment: &str) -> String {
    format!("alias/{project}{NAME_SEPARATOR}{environment}")
}

/// The alias as an ARN: what a bucket of a managed key names until the key exists (the plan
/// shows it; apply puts the key's own ARN in its place once the key is created).
pub fn key_alias_arn(region: &str, account_id: &str, alias: &str) -> String {
    format!(
        "arn:{}:kms:{region}:{account_id}:{alias}",
        partition(region)
    )
}

/// The key policy: the account's IAM policies decide who may use the key (AWS's default key
/// policy), so each role's grant is in its IAM policy (`iam-policy`).
pub fn key_policy(account_id: &str, region: &str) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "ssm-keeper-key-policy",
        "Statement": [{
            "Sid": "EnableIAMPolicies",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:{}:iam::{account_id}:root", partition(region)) },
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
}

pub fn key_settings(stack: &Stack, account_id: &str, region: &str) -> KeySettings {
    let alias = key_alias(&stack.project_name, &stack.environment);
    let tags = [
        ("Name", alias.as_str()),
        ("Environment", stack.environment.as_str()),
        ("Region", region),
        ("Purpose", "SSM Parameter Store Backup"),
        ("ManagedBy", MANAGED_BY),
    ];
    KeySettings {
        description: format!(
            "ssm-keeper: backups of SSM parameters of {} ({}) in {region}",
            stack.environment, stack.project_name
        ),
        rotation: true,
        policy: key_policy(account_id, region),
        tags: tags
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        state: ENABLED.into(),
        arn: None,
        unreadable: false,
    }
}

/// The key a region's backups are encrypted with: `None` with AES256; the key named in
/// `kmsKeyIds`; or the managed key, by its alias ARN until observed.
pub fn region_key(stack: &Stack, account_id: &str, region: &str) -> Option<String> {
    match stack.encryption {
        EncryptionMode::Aes256 => None,
        EncryptionMode::Kms => Some(stack.kms_key_ids.get(region).cloned().unwrap_or_else(|| {
            let alias = key_alias(&stack.project_name, &stack.environment);
            key_alias_arn(region, account_id, &alias)
        })),
    }
}

/// Whether apply manages the stack's keys (kms without `kmsKeyIds`).
pub fn manages_keys(stack: &Stack) -> bool {
    stack.encryption == EncryptionMode::Kms && stack.kms_key_ids.is_empty()
}

/// The ids of managed keys in `regions` that the stack does not want (AES256, `kmsKeyIds`, or
/// regions removed): observed so that the plan shows them kept, or scheduled for deletion.
pub fn unused_key_ids(stack: &Stack, regions: &[String]) -> Vec<ResourceId> {
    let alias = key_alias(&stack.project_name, &stack.environment);
    regions
        .iter()
        .filter(|r| !(manages_keys(stack) && stack.regions.contains(r)))
        .map(|r| ResourceId::key(r.clone(), alias.clone()))
        .collect()
}

/// `desired` with each managed key's alias ARN replaced by the key's ARN where `live` has the
/// key: what buckets are compared with and set to.
pub fn resolve_keys(desired: &DesiredState, live: &LiveState) -> DesiredState {
    let mut resolved = desired.clone();
    for (id, want) in &desired.resources {
        let (Resource::Key(_), Some(Resource::Key(KeySettings { arn: Some(arn), .. }))) =
            (want, live.get(id))
        else {
            continue;
        };
        let alias_arn = key_alias_arn(&id.region, &desired.account_id, &id.name);
        for (other, resource) in resolved.resources.iter_mut() {
            if let (true, Resource::Bucket(b)) = (other.region == id.region, resource) {
                b.replace_key(&alias_arn, arn);
            }
        }
    }
    resolved
}

pub fn bucket_tags(bucket: &str, environment: &str, region: &str) -> BTreeMap<String, String> {
    [
        ("Name", bucket),
        ("Environment", environment),
        ("Region", region),
        ("Purpose", "SSM Parameter Store Backup"),
        ("DataClassification", "Confidential"),
        ("ManagedBy", MANAGED_BY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn bucket_settings(
    stack: &Stack,
    bucket: &str,
    region: &str,
    key: Option<&str>,
) -> BucketSettings {
    BucketSettings {
        versioning: Some("Enabled".into()),
        encryption: Some(Encryption {
            algorithm: if key.is_some() { "aws:kms" } else { "AES256" }.into(),
            kms_key_id: key.map(str::to_string),
            bucket_key_enabled: true,
        }),
        lifecycle: Some(vec![LifecycleRule {
            id: Some(LIFECYCLE_RULE_ID.into()),
            enabled: true,
            prefix: String::new(),
            expiration_days: Some(stack.retention_days as i32),
            noncurrent_expiration_days: Some(stack.noncurrent_retention_days as i32),
            other: Vec::new(),
        }]),
        public_access_block: Some(PublicAccessBlock::ALL),
        policy: Some(bucket_policy(bucket, region, key)),
        tags: Some(bucket_tags(bucket, &stack.environment, region)),
        // Without the section Object Lock is not managed: once on, S3 cannot turn it off.
        object_lock: stack.object_lock.map(|lock| ObjectLock {
            mode: Some(lock.mode.as_str().to_string()),
            days: i32::try_from(lock.days).ok(),
        }),
    }
}

/// Region -> bucket name, in the stack's region order (the seeds' `bucketMap`).
pub fn bucket_map(stack: &Stack, account_id: &str) -> Vec<(String, String)> {
    stack
        .regions
        .iter()
        .map(|r| {
            let name = bucket_name(&stack.project_name, &stack.environment, account_id, r);
            (r.clone(), name)
        })
        .collect()
}

pub fn desired_state(stack: &Stack, account_id: &str) -> DesiredState {
    let env = &stack.environment;
    let mut resources = BTreeMap::new();
    let buckets = bucket_map(stack, account_id);
    for (region, bucket) in &buckets {
        if manages_keys(stack) {
            resources.insert(
                ResourceId::key(region.clone(), key_alias(&stack.project_name, env)),
                Resource::Key(key_settings(stack, account_id, region)),
            );
        }
        let key = region_key(stack, account_id, region);
        resources.insert(
            ResourceId::bucket(region.clone(), bucket.clone()),
            Resource::Bucket(bucket_settings(stack, bucket, region, key.as_deref())),
        );
        resources.insert(
            ResourceId::parameter(region.clone(), region_bucket_parameter(env, region)),
            Resource::Parameter(ParameterState::string(bucket.clone())),
        );
    }
    if let Some(config) = &stack.journal {
        for region in &stack.regions {
            resources.extend(journal_resources(stack, config, account_id, region));
        }
    }
    if let Some(config) = &stack.dashboard {
        let (id, dashboard) = dashboard_resource(stack, config, account_id);
        resources.insert(id, dashboard);
    }
    let home = &stack.ssm_home_region;
    if let Some(config) = &stack.alarm {
        for region in &stack.regions {
            resources.insert(
                ResourceId::alarm(home.clone(), alarm_name(&stack.project_name, env, region)),
                Resource::Alarm(alarm_settings(stack, config, region)),
            );
            if let Some(days) = config.drill_max_age_days {
                resources.insert(
                    ResourceId::alarm(
                        home.clone(),
                        drill_alarm_name(&stack.project_name, env, region),
                    ),
                    Resource::Alarm(drill_alarm_settings(stack, config, days, region)),
                );
            }
        }
    }
    let region_list = serde_json::to_string(&stack.regions).unwrap_or_default();
    let default_bucket = buckets
        .iter()
        .find(|(r, _)| *r == stack.default_region)
        .map(|(_, b)| b.clone())
        .unwrap_or_default();
    if !stack.copies.is_empty() {
        resources.insert(
            copies_parameter_id(stack),
            Resource::Parameter(ParameterState::string(
                serde_json::to_string(&stack.copies).unwrap_or_default(),
            )),
        );
    }
    let [region_list_name, default_region_name, legacy_name] = metadata_parameters(env);
    for (name, value) in [
        (region_list_name, region_list),
        (default_region_name, stack.default_region.clone()),
        (legacy_name, default_bucket),
    ] {
        resources.insert(
            ResourceId::parameter(home.clone(), name),
            Resource::Parameter(ParameterState::string(value)),
        );
    }
    DesiredState {
        stack: stack.clone(),
        account_id: account_id.to_string(),
        resources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::resource::Kind;

    fn stack() -> Stack {
        Stack {
            project_name: "jenkins-infra".into(),
            environment: "dev".into(),
            regions: vec!["us-west-2".into(), "ap-northeast-1".into()],
            default_region: "ap-northeast-1".into(),
            ssm_home_region: "ap-northeast-1".into(),
            retention_days: 30,
            noncurrent_retention_days: 7,
            alarm: None,
            parameter_paths: None,
            encryption: EncryptionMode::Aes256,
            kms_key_ids: BTreeMap::new(),
            object_lock: None,
            copies: BTreeMap::new(),
            acknowledged_future_backups: Vec::new(),
            journal: None,
            dashboard: None,
        }
    }

    fn param<'a>(d: &'a DesiredState, region: &str, name: &str) -> &'a str {
        let id = ResourceId::parameter(region, name);
        match d.resources.get(&id) {
            Some(Resource::Parameter(p)) => p.value.as_deref().unwrap(),
            other => panic!("{id}: {other:?}"),
        }
    }

    #[test]
    fn one_bucket_and_parameter_per_region_plus_three_in_home() {
        let d = desired_state(&stack(), "123456789012");
        assert_eq!(d.resources.len(), 2 * 2 + 3);
        assert_eq!(
            param(
                &d,
                "us-west-2",
                "/jenkins/dev/backup/us-west-2/s3-bucket-name"
            ),
            "jenkins-infra-ssm-backup-dev-123456789012-us-west-2"
        );
        assert_eq!(
            param(&d, "ap-northeast-1", "/jenkins/dev/backup/region-list"),
            r#"["us-west-2","ap-northeast-1"]"#
        );
        assert_eq!(
            param(&d, "ap-northeast-1", "/jenkins/dev/backup/default-region"),
            "ap-northeast-1"
        );
        assert_eq!(
            param(&d, "ap-northeast-1", "/jenkins/dev/backup/s3-bucket-name"),
            "jenkins-infra-ssm-backup-dev-123456789012-ap-northeast-1"
        );
    }

    #[test]
    fn an_alarm_section_adds_one_alarm_per_region_in_the_home_region() {
        let mut s = stack();
        s.alarm = Some(crate::core::stack::AlarmConfig {
            sns_topic_arn: "arn:aws:sns:ap-northeast-1:123456789012:ops".into(),
            max_age_hours: 26,
            drill_max_age_days: None,
        });
        let d = desired_state(&s, "123456789012");
        let alarms: Vec<(&str, &str)> = d
            .resources
            .keys()
            .filter(|id| id.kind == Kind::Alarm)
            .map(|id| (id.region(), id.name()))
            .collect();
        assert_eq!(
            alarms,
            [
                (
                    "ap-northeast-1",
                    "jenkins-infra-ssm-backup-dev/ap-northeast-1"
                ),
                ("ap-northeast-1", "jenkins-infra-ssm-backup-dev/us-west-2"),
            ]
        );
        assert_eq!(d.resources.len(), 2 * 2 + 3 + 2);
        // drillMaxAgeDays: a drill alarm per region too, under the same prefix.
        if let Some(config) = s.alarm.as_mut() {
            config.drill_max_age_days = Some(7);
        }
        let d = desired_state(&s, "123456789012");
        let drills: Vec<&str> = d
            .resources
            .keys()
            .filter(|id| id.kind == Kind::Alarm && id.name().ends_with("/drill"))
            .map(|id| id.name())
            .collect();
        assert_eq!(
            drills,
            [
                "jenkins-infra-ssm-backup-dev/ap-northeast-1/drill",
                "jenkins-infra-ssm-backup-dev/us-west-2/drill"
            ]
        );
    }

    #[test]
    fn bucket_has_every_setting_of_the_seeds() {
        let d = desired_state(&stack(), "123456789012");
        let name = "jenkins-infra-ssm-backup-dev-123456789012-us-west-2";
        let id = ResourceId::bucket("us-west-2", name);
        let Some(Resource::Bucket(b)) = d.resources.get(&id) else {
            panic!("no bucket")
        };
        assert_eq!(b.versioning.as_deref(), Some("Enabled"));
        let enc = b.encryption.as_ref().unwrap();
        assert_eq!(
            (enc.algorithm.as_str(), enc.bucket_key_enabled),
            ("AES256", true)
        );
        let rule = &b.lifecycle.as_ref().unwrap()[0];
        assert_eq!(rule.id.as_deref(), Some("delete-old-backups"));
        assert_eq!(
            (rule.expiration_days, rule.noncurrent_expiration_days),
            (Some(30), Some(7))
        );
        assert_eq!(b.public_access_block, Some(PublicAccessBlock::ALL));
        let tags = b.tags.as_ref().unwrap();
        assert_eq!(tags["Name"], name);
        assert_eq!(tags["ManagedBy"], "ssm-keeper");
        assert_eq!(tags["Purpose"], "SSM Parameter Store Backup");
        assert_eq!(tags["DataClassification"], "Confidential");
        assert_eq!(tags["Region"], "us-west-2");
        assert_eq!(tags["Environment"], "dev");
        let policy = b.policy.as_ref().unwrap();
        assert_eq!(policy["Statement"][0]["Sid"], "DenyInsecureConnections");
        assert_eq!(
            policy["Statement"][0]["Resource"][1],
            format!("arn:aws:s3:::{name}/*")
        );
        assert_eq!(
            policy["Statement"][1]["Sid"],
            "DenyUnencryptedObjectUploads"
        );
        assert_eq!(
            policy["Statement"][1]["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption"],
            "AES256"
        );
    }
}
