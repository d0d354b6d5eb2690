//! Least-privilege IAM policies, one per role (`ssm-keeper iam-policy --role ...`), scoped to the
//! stack's buckets, parameter paths, lock and alarms; and the IAM action behind each API
//! operation ssm-keeper calls (for the AccessDenied hint and the minimality proof). Pure.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use strum::VariantArray;

use super::alarm::{METRIC_NAMESPACE, alarm_prefix};
use super::desired::{
    backup_prefix, copies_parameter, default_region_parameter, key_alias, manages_keys,
    metadata_parameters, region_bucket_parameter, region_list_parameter,
};
use super::drill::drill_prefix;
use super::journal;
use super::lock::{lock_parameter, takeover_parameter};
use super::region::partition;
use super::resource::BucketAttribute;
use super::selection::Selection;
use super::stack::{EncryptionMode, Stack, bucket_prefix};
use super::store::POINTER_KEY_PATTERNS;

/// Who runs which commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::VariantArray)]
pub enum Role {
    /// `plan` and `outputs` in pull requests: read-only.
    Plan,
    /// `apply`, by the operator.
    Apply,
    /// `backup`, the nightly job.
    Backup,
    /// `restore --apply`.
    Restore,
    /// `verify`, the nightly monitor: read-only.
    Verify,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Plan => "plan",
            Role::Apply => "apply",
            Role::Backup => "backup",
            Role::Restore => "restore",
            Role::Verify => "verify",
        }
    }
}

/// The KMS actions SSM performs on the caller's behalf for a SecureString with a customer
/// managed key (never called by ssm-keeper itself: granted only through SSM, `kms:ViaService`).
pub const KMS_VIA_SSM: [&str; 3] = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/// The KMS actions S3 performs on the caller's behalf for a document under the stack's key
/// (`encryption: kms`): a data key to write one, a decryption to read one. Granted only through
/// S3 (`kms:ViaService`).
pub const KMS_VIA_S3: [&str; 2] = ["kms:GenerateDataKey", "kms:Decrypt"];

/// The IAM policy document for `role`. `extra_prefixes` widens restore to parameter paths
/// outside the environment (`--to-prefix` of a drill).
pub fn policy(stack: &Stack, account_id: &str, role: Role, extra_prefixes: &[String]) -> Value {
    let arns = Arns::of(stack, account_id, extra_prefixes);
    let statements = match role {
        Role::Plan => plan_statements(&arns),
        Role::Apply => apply_statements(&arns),
        Role::Backup => backup_statements(&arns),
        Role::Verify => verify_statements(&arns),
        Role::Restore => restore_statements(&arns),
    };
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The resources a stack's policies are scoped to, as ARN patterns.
struct Arns {
    buckets: String,
    objects: String,
    /// The pointers (`latest*.txt`) of every bucket: the only objects verify may read.
    pointers: Vec<String>,
    /// Every metadata parameter of the environment, in any region: backup, restore and apply.
    metadata: String,
    /// The metadata names the stack computes (home region's region list, default region, old
    /// bucket key, copies), and the narrowest pattern that still finds a removed region's
    /// bucket parameter: what plan reads.
    plan_metadata: Vec<String>,
    /// The region list and the default region: all verify reads.
    verify_metadata: Vec<String>,
    lock: String,
    /// The claim a run makes before taking over an expired lock.
    takeover: String,
    /// The environment's parameters, by the one selection rule backup and restore use.
    environment: Vec<String>,
    /// Restore alone may also write under a drill's target paths.
    restorable: Vec<String>,
    /// `restore --drill`'s scratch path of the environment: written, read back, deleted.
    drill: String,
    alarms: String,
    keys: String,
    /// The managed key's alias, and its ARN pattern.
    key_alias: String,
    key_alias_arn: String,
    /// With `encryption: kms`: the keys documents are encrypted with, and the condition that
    /// picks the managed ones out of `keys`.
    backup_keys: Option<(Vec<String>, Option<Value>)>,
    /// The keys `kmsKeyIds` names.
    named_keys: Vec<String>,
    /// Whether apply manages a key per region (kms without `kmsKeyIds`): plan then lists the
    /// keys tagged with its alias, to find orphans.
    manages_keys: bool,
    /// The journal's EventBridge rule, in any region.
    journal_rule: String,
    /// The journal's log group and its streams, in any region.
    journal_group: Vec<String>,
    /// The environment's dashboard (global: no region in its ARN).
    dashboard: String,
}

impl Arns {
    fn of(stack: &Stack, account_id: &str, extra_prefixes: &[String]) -> Arns {
        let p = partition(&stack.ssm_home_region);
        let env = &stack.environment;
        let buckets = format!(
            "arn:{p}:s3:::{}*",
            bucket_prefix(&stack.project_name, env, account_id)
        );
        let home_parameter = |name: &str| {
            format!(
                "arn:{p}:ssm:{}:{account_id}:parameter{name}",
                stack.ssm_home_region
            )
        };
        let parameter_arn = |path: &str| format!("arn:{p}:ssm:*:{account_id}:parameter{path}");
        let environment: Vec<String> = Selection::of(stack)
            .arn_patterns()
            .iter()
            .map(|path| parameter_arn(path))
            .collect();
        let restorable = environment
            .iter()
            .cloned()
            .chain(
                extra_prefixes
                    .iter()
                    .map(|prefix| parameter_arn(&format!("{prefix}*"))),
            )
            .collect();
        Arns {
            objects: format!("{buckets}/*"),
            pointers: POINTER_KEY_PATTERNS
                .iter()
                .map(|key| format!("{buckets}/{key}"))
                .collect(),
            buckets,
            metadata: format!(
                "arn:{p}:ssm:*:{account_id}:parameter{}/*",
                backup_prefix(env)
            ),
            // Read in every region: a region's leftovers of another home region are shown.
            plan_metadata: metadata_parameters(env)
                .iter()
                .chain(std::iter::once(&copies_parameter(env)))
                .map(|name| parameter_arn(name))
                .chain(std::iter::once(parameter_arn(&region_bucket_parameter(
                    env, "*",
                ))))
                .collect(),
            verify_metadata: [region_list_parameter(env), default_region_parameter(env)]
                .iter()
                .map(|name| home_parameter(name))
                .collect(),
            lock: home_parameter(&lock_parameter(env)),
            takeover: home_parameter(&takeover_parameter(env, "*")),
            environment,
            restorable,
            drill: parameter_arn(&format!("{}*", drill_prefix(env))),
            alarms: format!(
                "arn:{p}:cloudwatch:*:{account_id}:alarm:{}*",
                alarm_prefix(&stack.project_name, env)
            ),
            keys: format!("arn:{p}:kms:*:{account_id}:key/*"),
            key_alias_arn: format!(
                "arn:{p}:kms:*:{account_id}:{}",
                key_alias(&stack.project_name, env)
            ),
            key_alias: key_alias(&stack.project_name, env),
            backup_keys: backup_keys(stack, account_id),
            named_keys: stack.kms_key_ids.values().cloned().collect(),
            manages_keys: crate::core::desired::manages_keys(stack),
            journal_rule: format!(
                "arn:{p}:events:*:{account_id}:rule/{}",
                journal::rule_name(&stack.project_name, env)
            ),
            journal_group: {
                let group = format!(
                    "arn:{p}:logs:*:{account_id}:log-group:{}",
                    journal::log_group_name(&stack.project_name, env)
                );
                vec![group.clone(), format!("{group}:*")]
            },
            dashboard: super::dashboard::dashboard_arn(
                p,
                account_id,
                &super::dashboard::dashboard_name(&stack.project_name, env),
            ),
        }
    }
}

/// With `encryption: kms`: the keys documents are encrypted with (the managed ones: any key of
/// the account, under the condition that it carries the stack's alias as its Name tag).
fn backup_keys(stack: &Stack, account_id: &str) -> Option<(Vec<String>, Option<Value>)> {
    let p = partition(&stack.ssm_home_region);
    match stack.encryption {
        EncryptionMode::Aes256 => None,
        EncryptionMode::Kms if manages_keys(stack) => Some((
            vec![format!("arn:{p}:kms:*:{account_id}:key/*")],
            Some(json!({
                "aws:ResourceTag/Name": key_alias(&stack.project_name, &stack.environment)
            })),
        )),
        EncryptionMode::Kms => Some((stack.kms_key_ids.values().cloned().collect(), None)),
    }
}

/// What plan reads of a backup key.
const READ_KEY_ACTIONS: [&str; 4] = [
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
    "kms:ListResourceTags",
];

/// The managed keys' metadata: observed by alias, for every stack (a key left from an earlier
/// `encryption: kms` is shown kept, or scheduled for deletion), only keys tagged with the stack's
/// alias, as apply's are; and the keys `kmsKeyIds` names, by their ARNs. When the alias names a
/// key outside those (moved by someone with kms:UpdateAlias), the region's aliases say which
/// key (ListAliases: names and key IDs, no resource-level permission), so plan shows the
/// replacement naming both keys.
fn read_keys(a: &Arns) -> Vec<Value> {
    let mut out = stack_keys(
        a,
        ("ReadBackupKeys", "ReadNamedBackupKeys"),
        &READ_KEY_ACTIONS,
    );
    out.push(statement(
        "FindMovedBackupKeyAlias",
        &["kms:ListAliases"],
        vec!["*".into()],
    ));
    out
}

/// `actions` on the stack's keys only: the managed ones (any key tagged with the stack's
/// alias) under `sids.0`, those `kmsKeyIds` names under `sids.1`.
fn stack_keys(a: &Arns, sids: (&str, &str), actions: &[&str]) -> Vec<Value> {
    let mut out = vec![json!({
        "Sid": sids.0,
        "Effect": "Allow",
        "Action": actions,
        "Resource": [a.keys],
        "Condition": { "StringEquals": { "aws:ResourceTag/Name": a.key_alias } },
    })];
    if !a.named_keys.is_empty() {
        out.push(statement(sids.1, actions, a.named_keys.clone()));
    }
    out
}

/// Create the managed keys (tagged with their alias), keep them as the stack says, point the
/// alias, schedule the deletion of unused ones: only keys that carry the alias in their Name
/// tag.
fn manage_keys(a: &Arns) -> [Value; 3] {
    let tagged = |key: &str| json!({ "StringEquals": { key: a.key_alias } });
    [
        json!({
            "Sid": "CreateBackupKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateKey", "kms:TagResource"],
            "Resource": ["*"],
            "Condition": tagged("aws:RequestTag/Name"),
        }),
        json!({
            "Sid": "ManageBackupKeys",
            "Effect": "Allow",
            "Action": [
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:UpdateKeyDescription",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:EnableKey",
                "kms:CancelKeyDeletion",
                "kms:ScheduleKeyDeletion",
                "kms:CreateAlias"
            ],
            "Resource": [a.keys],
            "Condition": tagged("aws:ResourceTag/Name"),
        }),
        statement(
            "ManageBackupKeyAlias",
            &["kms:CreateAlias"],
            vec![a.key_alias_arn.clone()],
        ),
    ]
}

/// With `encryption: kms`: `action` on the documents' keys, only through S3.
fn via_s3(a: &Arns, sid: &str, action: &str) -> Option<Value> {
    let (keys, tagged) = a.backup_keys.as_ref()?;
    let mut condition = json!({ "StringLike": { "kms:ViaService": "s3.*.amazonaws.com" } });
    if let Some(tagged) = tagged {
        condition["StringEquals"] = tagged.clone();
    }
    Some(json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": [action],
        "Resource": keys,
        "Condition": condition,
    }))
}

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    json!({ "Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources })
}

/// SSM's own calls to KMS for the caller: only those, never the caller's directly.
fn via_ssm() -> Value {
    json!({ "StringLike": { "kms:ViaService": "ssm.*.amazonaws.com" } })
}

/// HeadBucket, the version count of removed regions' buckets, and every managed attribute.
fn read_buckets(a: &Arns) -> Value {
    let mut actions = vec!["s3:ListBucket", "s3:ListBucketVersions"];
    actions.extend(BucketAttribute::VARIANTS.iter().map(|b| b.iam_actions().0));
    statement("ReadBackupBuckets", &actions, vec![a.buckets.clone()])
}

/// The metadata parameters a role reads (`names`: ARNs or ARN patterns).
fn read_metadata(names: Vec<String>) -> Value {
    statement("ReadMetadata", &["ssm:GetParameters"], names)
}

fn lock_statement(a: &Arns) -> Value {
    statement(
        "EnvironmentLock",
        &[
            "ssm:GetParameter",
            "ssm:PutParameter",
            "ssm:DeleteParameter",
        ],
        vec![a.lock.clone(), a.takeover.clone()],
    )
}

fn describe_parameters() -> Value {
    statement(
        "ListParameters",
        &["ssm:DescribeParameters"],
        vec!["*".into()],
    )
}

/// Parameter tags, 100 a request (GetResources takes no resource-level permission).
fn read_tags() -> Value {
    statement("ReadParameterTags", &["tag:GetResources"], vec!["*".into()])
}

/// The listing (ListBucket: the newest object's size and checksum, the previous backups; restore
/// also lists a day's backups, `--from DATE`), each backup's versions, and its stamp (its tags,
/// GetObjectTagging, which needs no s3:GetObject). Nothing here reads a document.
fn read_backup_metadata(a: &Arns) -> [Value; 2] {
    [
        statement(
            "ReadBackupsListing",
            &["s3:ListBucket", "s3:ListBucketVersions"],
            vec![a.buckets.clone()],
        ),
        statement(
            "ReadBackupStamps",
            &["s3:GetObjectTagging"],
            vec![a.objects.clone()],
        ),
    ]
}

/// The journal's rule and its targets, and (listed: no resource-level permission) the log
/// groups under `/ssm-keeper/` and the account's Logs resource policies. Read whether or not
/// the stack keeps a journal: one left from before is removed.
fn read_journal_resources(a: &Arns) -> [Value; 2] {
    [
        statement(
            "ReadJournalRule",
            &["events:DescribeRule", "events:ListTargetsByRule"],
            vec![a.journal_rule.clone()],
        ),
        statement(
            "ListJournalLogGroupsAndLogsPolicies",
            &["logs:DescribeLogGroups", "logs:DescribeResourcePolicies"],
            vec!["*".into()],
        ),
    ]
}

/// When the journal starts and how long it keeps events (`snapshots`, `restore --at`): a
/// listing, which takes no resource-level permission.
fn find_journal() -> Value {
    statement("FindJournal", &["logs:DescribeLogGroups"], vec!["*".into()])
}

/// The journal's events (`changes`, `restore --at`): this stack's log group only.
fn read_journal(a: &Arns) -> Value {
    statement(
        "ReadJournal",
        &["logs:FilterLogEvents"],
        a.journal_group.clone(),
    )
}

fn plan_statements(a: &Arns) -> Vec<Value> {
    vec![
        read_buckets(a),
        statement(
            "FindBucketsOfRemovedRegions",
            &["s3:ListAllMyBuckets"],
            vec!["*".into()],
        ),
        read_metadata(a.plan_metadata.clone()),
        // Listed by name prefix: a listing is authorized on `*`, like DescribeParameters.
        statement(
            "ReadBackupAlarms",
            &["cloudwatch:DescribeAlarms"],
            vec!["*".into()],
        ),
        // Read whether or not the stack has a dashboard: one left from before is removed.
        statement(
            "ReadBackupDashboard",
            &["cloudwatch:GetDashboard"],
            vec![a.dashboard.clone()],
        ),
    ]
    .into_iter()
    .chain(read_journal_resources(a))
    .chain(read_keys(a))
    .chain(find_orphan_keys(a))
    .collect()
}

/// The keys tagged with the managed key's alias, listed by that tag to find the orphans (a
/// key created by a run that died before its alias): GetResources takes no resource-level
/// permission, and returns only what matches the tag filter; their metadata is read under
/// `ReadBackupKeys`.
fn find_orphan_keys(a: &Arns) -> Option<Value> {
    a.manages_keys.then(|| {
        statement(
            "FindOrphanBackupKeys",
            &["tag:GetResources"],
            vec!["*".into()],
        )
    })
}

fn apply_statements(a: &Arns) -> Vec<Value> {
    let mut out = plan_statements(a);
    out.extend([
        statement(
            "ManageBackupBuckets",
            &manage_buckets(),
            vec![a.buckets.clone()],
        ),
        statement(
            "DestroyBackupsOfRemovedRegions",
            &["s3:DeleteObjectVersion"],
            vec![a.objects.clone()],
        ),
        statement(
            "WriteMetadata",
            &["ssm:PutParameter", "ssm:DeleteParameter"],
            vec![a.metadata.clone()],
        ),
        statement(
            "ManageBackupAlarms",
            &["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
            vec![a.alarms.clone()],
        ),
        statement(
            "ManageBackupDashboard",
            &["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
            vec![a.dashboard.clone()],
        ),
        statement(
            "ManageJournalRule",
            &[
                "events:PutRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:DeleteRule",
            ],
            vec![a.journal_rule.clone()],
        ),
        statement(
            "ManageJournalLogGroup",
            &[
                "logs:CreateLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteLogGroup",
            ],
            a.journal_group.clone(),
        ),
        // Account-level Logs resource policies take no resource-level permission.
        statement(
            "ManageJournalLogsPolicy",
            &["logs:PutResourcePolicy", "logs:DeleteResourcePolicy"],
            vec!["*".into()],
        ),
        lock_statement(a),
    ]);
    out.extend(manage_keys(a));
    out
}

/// Create, set every managed attribute (in apply order), delete.
fn manage_buckets() -> Vec<&'static str> {
    let mut actions = vec!["s3:CreateBucket"];
    actions.extend(
        BucketAttribute::apply_order()
            .iter()
            .map(|b| b.iam_actions().1),
    );
    actions.push("s3:DeleteBucket");
    actions
}

fn backup_statements(a: &Arns) -> Vec<Value> {
    vec![
        // The region list, default region and copies apply wrote (under parameterPaths the
        // environment's paths need not hold them).
        read_metadata(vec![a.metadata.clone()]),
        describe_parameters(),
        read_tags(),
        statement(
            "ReadEnvironmentParameters",
            &["ssm:GetParameters"],
            a.environment.clone(),
        ),
        json!({
            "Sid": "DecryptSecureStringsThroughSsm",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [a.keys],
            "Condition": via_ssm(),
        }),
        statement(
            "WriteBackups",
            // PutObjectTagging: a document is uploaded with its stamp (x-amz-tagging).
            // GetObject: after a lost answer to PutObject, to tell our own object apart.
            &["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject"],
            vec![a.objects.clone()],
        ),
        // Documents are written under the bucket's own default encryption.
        statement(
            "ReadBucketEncryption",
            &["s3:GetEncryptionConfiguration"],
            vec![a.buckets.clone()],
        ),
    ]
    .into_iter()
    .chain(via_s3(a, "EncryptBackups", "kms:GenerateDataKey"))
    .chain([
        json!({
            "Sid": "PublishBackupMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": { "StringEquals": { "cloudwatch:namespace": METRIC_NAMESPACE } },
        }),
        lock_statement(a),
    ])
    .collect()
}

/// Plain verify reads no document: s3:GetObject on the pointers only (HeadObject would need
/// it on the documents too), and no KMS at all. `verify --deep` runs with the restore role.
fn verify_statements(a: &Arns) -> Vec<Value> {
    let mut out = vec![
        read_metadata(a.verify_metadata.clone()),
        describe_parameters(),
        statement("ReadPointers", &["s3:GetObject"], a.pointers.clone()),
        // `changes`: the journal and parameter metadata, never a value (GetParameterHistory
        // returns values: it is the restore role's).
        read_journal(a),
        // `snapshots`: when the journal starts.
        find_journal(),
    ];
    out.extend(read_backup_metadata(a));
    out.extend(check_backup_keys(a));
    out
}

/// With `encryption: kms`: verify's `key` check (plain and `--deep`) describes the stack's
/// keys, and no other.
fn check_backup_keys(a: &Arns) -> Vec<Value> {
    match a.backup_keys {
        Some(_) => stack_keys(
            a,
            ("CheckBackupKeys", "CheckNamedBackupKeys"),
            &["kms:DescribeKey"],
        ),
        None => Vec::new(),
    }
}

/// Restore (and `verify --deep`) reads the documents themselves.
fn restore_statements(a: &Arns) -> Vec<Value> {
    let mut out = vec![
        read_metadata(vec![a.metadata.clone()]),
        describe_parameters(),
        read_tags(),
        // `changes --history` and `restore --at`: the journal and each version's history.
        read_journal(a),
        find_journal(),
        statement(
            "ReadParameterHistory",
            &["ssm:GetParameterHistory"],
            a.environment.clone(),
        ),
    ];
    out.push(statement(
        "ReadBackups",
        &["s3:GetObject"],
        vec![a.objects.clone()],
    ));
    out.extend(read_backup_metadata(a));
    out.extend([
        statement(
            "RestoreParameters",
            &[
                "ssm:GetParameters",
                "ssm:PutParameter",
                "ssm:AddTagsToResource",
                "ssm:RemoveTagsFromResource",
                // --recreate deletes a parameter to write it again.
                "ssm:DeleteParameter",
            ],
            a.restorable.clone(),
        ),
        json!({
            "Sid": "EncryptAndReadBackSecureStringsThroughSsm",
            "Effect": "Allow",
            "Action": KMS_VIA_SSM,
            "Resource": [a.keys],
            "Condition": via_ssm(),
        }),
        // restore --drill writes the backup under its scratch path, reads it back and
        // deletes everything there (this run's and any a killed drill left), in batches.
        statement(
            "RestoreDrills",
            &[
                "ssm:GetParameters",
                "ssm:PutParameter",
                "ssm:AddTagsToResource",
                "ssm:DeleteParameters",
            ],
            vec![a.drill.clone()],
        ),
        json!({
            "Sid": "PublishDrillMetrics",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": { "StringEquals": { "cloudwatch:namespace": METRIC_NAMESPACE } },
        }),
        lock_statement(a),
    ]);
    out.extend(via_s3(a, "DecryptBackups", "kms:Decrypt"));
    // `verify --deep`'s `key` check. The parameters' own keys (any application's) are not
    // described: restore leaves a key it may not describe to PutParameter (`missing_keys`).
    out.extend(check_backup_keys(a));
    out
}

/// The policy of `role` for every stack named: one document, each statement once (by Sid)
/// with the resources of all the stacks, so a role serving dev and prod needs one policy that
/// no second stack's policy replaces.
pub fn policy_for_stacks(
    stacks: &[&Stack],
    account_id: &str,
    role: Role,
    extra_prefixes: &[String],
) -> Value {
    let mut merged: Vec<Value> = Vec::new();
    for stack in stacks {
        let document = policy(stack, account_id, role, extra_prefixes);
        for statement in document["Statement"].as_array().into_iter().flatten() {
            let same = merged.iter_mut().find(|s| s["Sid"] == statement["Sid"]);
            match same {
                Some(existing) => add_resources(existing, statement),
                None => merged.push(statement.clone()),
            }
        }
    }
    json!({ "Version": "2012-10-17", "Statement": merged })
}

/// Adds the resources of `statement` that `existing` (of the same Sid) lacks, in order, and
/// the condition values it lacks (a key's values become a list: any of them).
fn add_resources(existing: &mut Value, statement: &Value) {
    if let Some(resources) = existing["Resource"].as_array_mut() {
        for resource in statement["Resource"].as_array().into_iter().flatten() {
            if !resources.contains(resource) {
                resources.push(resource.clone());
            }
        }
    }
    let conditions = statement["Condition"].as_object().into_iter().flatten();
    for (operator, keys) in conditions {
        for (key, value) in keys.as_object().into_iter().flatten() {
            let slot = &mut existing["Condition"][operator][key];
            let mut values = match slot.take() {
                Value::Array(values) => values,
                Value::Null => Vec::new(),
                one => vec![one],
            };
            for v in value
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![value.clone()])
            {
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            *slot = match <[Value; 1]>::try_from(values) {
                Ok([one]) => one,
                Err(values) => Value::Array(values),
            };
        }
    }
}

/// IAM's limit on a managed policy's size, in characters without whitespace.
pub const MANAGED_POLICY_MAX_CHARS: usize = 6144;

/// A policy's size as IAM counts it against `MANAGED_POLICY_MAX_CHARS`.
pub fn policy_size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Who assumes a role: GitHub Actions through its OIDC provider, or the Jenkins controller's
/// role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trusted {
    GitHub {
        /// `OWNER/REPO`.
        repository: String,
        /// The default branch the manual plan of the apply workflow runs from.
        branch: String,
        /// The GitHub environment apply runs in (its approval gate).
        environment: String,
        /// The stacks' names (`stacks/<name>.yaml`, as the workflows pass them to `--stack`):
        /// backup, verify and restore run in each one's environment (`github_environment`).
        stacks: Vec<String>,
        /// Backup, verify and restore also from the default branch, unbound: the subject their
        /// jobs had before they ran in the stacks' environments, trusted beside the new ones
        /// while the workflows switch (`--also-branch-subject`).
        also_branch_subject: bool,
    },
    Jenkins {
        /// The ARN of the controller's (or agent's) role.
        principal: String,
    },
}

/// The GitHub OIDC provider's host, as IAM names it in condition keys and ARNs.
const GITHUB_OIDC: &str = "token.actions.githubusercontent.com";

/// The GitHub environment of a stack, where the workflows' jobs that assume its backup, verify
/// or restore role (or read a secret) run: `ssm-keeper-<stack>`, `<stack>` the stack's name
/// (`stacks/<stack>.yaml`). No required reviewers: the nightly never waits.
pub fn github_environment(stack: &str) -> String {
    format!("ssm-keeper-{stack}")
}

/// The OIDC subjects (`sub`) of GitHub Actions jobs that may assume `role`: plan from pull
/// requests (unbound) and from the default branch (the apply workflow's manual plan, unbound),
/// apply only in its protected environment, backup, verify and restore only in each stack's
/// environment (and from the default branch too while switching, `also_branch_subject`).
pub fn github_subjects(
    role: Role,
    repository: &str,
    branch: &str,
    environment: &str,
    stacks: &[String],
    also_branch_subject: bool,
) -> Vec<String> {
    let branch_subject = format!("repo:{repository}:ref:refs/heads/{branch}");
    match role {
        Role::Plan => vec![format!("repo:{repository}:pull_request"), branch_subject],
        Role::Apply => vec![format!("repo:{repository}:environment:{environment}")],
        Role::Backup | Role::Verify | Role::Restore => {
            let mut subjects: Vec<String> = Vec::new();
            for stack in stacks {
                let subject = format!(
                    "repo:{repository}:environment:{}",
                    github_environment(stack)
                );
                if !subjects.contains(&subject) {
                    subjects.push(subject);
                }
            }
            if also_branch_subject {
                subjects.push(branch_subject);
            }
            subjects
        }
    }
}

/// The trust policy of `role` for `trusted`: who may assume it. For GitHub, the token's subject
/// decides (`github_subjects`): one subject as a string, several as a list (any of them).
pub fn trust_policy(trusted: &Trusted, role: Role, partition: &str, account_id: &str) -> Value {
    let statement = match trusted {
        Trusted::GitHub {
            repository,
            branch,
            environment,
            stacks,
            also_branch_subject,
        } => {
            let subjects = github_subjects(
                role,
                repository,
                branch,
                environment,
                stacks,
                *also_branch_subject,
            );
            let subject = match subjects.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            json!({
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {
                    "Federated": format!("arn:{partition}:iam::{account_id}:oidc-provider/{GITHUB_OIDC}")
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        format!("{GITHUB_OIDC}:aud"): "sts.amazonaws.com",
                        format!("{GITHUB_OIDC}:sub"): subject,
                    }
                }
            })
        }
        Trusted::Jenkins { principal } => json!({
            "Sid": "JenkinsController",
            "Effect": "Allow",
            "Principal": { "AWS": principal },
            "Action": "sts:AssumeRole",
        }),
    };
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

/// Every action a policy document grants.
pub fn granted_actions(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// Whether an IAM action changes something (the read-only roles grant none).
pub fn is_write_action(action: &str) -> bool {
    let name = action.split(':').nth(1).unwrap_or(action);
    let read = ["Get", "List", "Describe", "Head", "Filter"]
        .iter()
        .any(|read| name.starts_with(read));
    !read && action != "kms:Decrypt"
}

/// The IAM actions an API operation (`service:Operation`, as ssm-keeper calls it) needs.
/// `None` for an operation that needs no permission (`sts:GetCallerIdentity`) or that
/// ssm-keeper does not call.
pub fn iam_actions(operation: &str) -> Option<&'static [&'static str]> {
    Some(match operation {
        "s3:ListBuckets" => &["s3:ListAllMyBuckets"],
        "s3:HeadBucket" | "s3:ListObjectsV2" => &["s3:ListBucket"],
        "s3:ListObjectVersions" => &["s3:ListBucketVersions"],
        "s3:GetBucketVersioning" => &["s3:GetBucketVersioning"],
        "s3:GetBucketEncryption" => &["s3:GetEncryptionConfiguration"],
        "s3:GetBucketLifecycleConfiguration" => &["s3:GetLifecycleConfiguration"],
        "s3:GetPublicAccessBlock" => &["s3:GetBucketPublicAccessBlock"],
        "s3:GetBucketPolicy" => &["s3:GetBucketPolicy"],
        "s3:GetBucketTagging" => &["s3:GetBucketTagging"],
        "s3:GetObjectLockConfiguration" => &["s3:GetBucketObjectLockConfiguration"],
        "s3:PutObjectLockConfiguration" => &["s3:PutBucketObjectLockConfiguration"],
        "s3:CreateBucket" => &["s3:CreateBucket"],
        "s3:PutPublicAccessBlock" => &["s3:PutBucketPublicAccessBlock"],
        "s3:PutBucketEncryption" => &["s3:PutEncryptionConfiguration"],
        "s3:PutBucketVersioning" => &["s3:PutBucketVersioning"],
        "s3:PutBucketLifecycleConfiguration" => &["s3:PutLifecycleConfiguration"],
        "s3:PutBucketPolicy" => &["s3:PutBucketPolicy"],
        "s3:PutBucketTagging" => &["s3:PutBucketTagging"],
        "s3:DeleteBucket" => &["s3:DeleteBucket"],
        // ssm-keeper deletes every version by its id.
        "s3:DeleteObjects" => &["s3:DeleteObjectVersion"],
        "s3:GetObject" | "s3:HeadObject" => &["s3:GetObject"],
        "s3:GetObjectTagging" => &["s3:GetObjectTagging"],
        // A document goes up with its stamp as tags, which AWS authorizes as tagging too.
        "s3:PutObject" => &["s3:PutObject", "s3:PutObjectTagging"],
        "ssm:GetParameters" => &["ssm:GetParameters"],
        "ssm:GetParameter" => &["ssm:GetParameter"],
        "ssm:PutParameter" => &["ssm:PutParameter"],
        "ssm:DeleteParameter" => &["ssm:DeleteParameter"],
        "ssm:DeleteParameters" => &["ssm:DeleteParameters"],
        "ssm:DescribeParameters" => &["ssm:DescribeParameters"],
        "ssm:AddTagsToResource" => &["ssm:AddTagsToResource"],
        "ssm:RemoveTagsFromResource" => &["ssm:RemoveTagsFromResource"],
        "tagging:GetResources" => &["tag:GetResources"],
        "kms:DescribeKey" => &["kms:DescribeKey"],
        "kms:ListAliases" => &["kms:ListAliases"],
        "kms:GetKeyRotationStatus" => &["kms:GetKeyRotationStatus"],
        "kms:GetKeyPolicy" => &["kms:GetKeyPolicy"],
        "kms:ListResourceTags" => &["kms:ListResourceTags"],
        // Tags given at creation need kms:TagResource too.
        "kms:CreateKey" => &["kms:CreateKey", "kms:TagResource"],
        "kms:EnableKeyRotation" => &["kms:EnableKeyRotation"],
        "kms:PutKeyPolicy" => &["kms:PutKeyPolicy"],
        "kms:UpdateKeyDescription" => &["kms:UpdateKeyDescription"],
        "kms:TagResource" => &["kms:TagResource"],
        "kms:UntagResource" => &["kms:UntagResource"],
        "kms:EnableKey" => &["kms:EnableKey"],
        "kms:CancelKeyDeletion" => &["kms:CancelKeyDeletion"],
        "kms:ScheduleKeyDeletion" => &["kms:ScheduleKeyDeletion"],
        "kms:CreateAlias" => &["kms:CreateAlias"],
        "cloudwatch:DescribeAlarms" => &["cloudwatch:DescribeAlarms"],
        "cloudwatch:PutMetricAlarm" => &["cloudwatch:PutMetricAlarm"],
        "cloudwatch:DeleteAlarms" => &["cloudwatch:DeleteAlarms"],
        "cloudwatch:PutMetricData" => &["cloudwatch:PutMetricData"],
        "cloudwatch:GetDashboard" => &["cloudwatch:GetDashboard"],
        "cloudwatch:PutDashboard" => &["cloudwatch:PutDashboard"],
        "cloudwatch:DeleteDashboards" => &["cloudwatch:DeleteDashboards"],
        "ssm:GetParameterHistory" => &["ssm:GetParameterHistory"],
        "events:DescribeRule" => &["events:DescribeRule"],
        "events:ListTargetsByRule" => &["events:ListTargetsByRule"],
        "events:PutRule" => &["events:PutRule"],
        "events:PutTargets" => &["events:PutTargets"],
        "events:RemoveTargets" => &["events:RemoveTargets"],
        "events:DeleteRule" => &["events:DeleteRule"],
        "logs:DescribeLogGroups" => &["logs:DescribeLogGroups"],
        "logs:DescribeResourcePolicies" => &["logs:DescribeResourcePolicies"],
        "logs:CreateLogGroup" => &["logs:CreateLogGroup"],
        "logs:PutRetentionPolicy" => &["logs:PutRetentionPolicy"],
        "logs:DeleteLogGroup" => &["logs:DeleteLogGroup"],
        "logs:PutResourcePolicy" => &["logs:PutResourcePolicy"],
        "logs:DeleteResourcePolicy" => &["logs:DeleteResourcePolicy"],
        "logs:FilterLogEvents" => &["logs:FilterLogEvents"],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stack::sample;

    const ACCOUNT: &str = "123456789012";

    fn stack() -> Stack {
        let mut s = sample(&["us-east-1", "eu-west-1"]);
        s.project_name = "jenkins-infra".into();
        s
    }

    #[test]
    fn read_only_roles_grant_no_write_action() {
        for role in [Role::Plan, Role::Verify] {
            let actions = granted_actions(&policy(&stack(), "123456789012", role, &[]));
            let writes: Vec<&String> = actions.iter().filter(|a| is_write_action(a)).collect();
            assert!(writes.is_empty(), "{role:?} grants {writes:?}");
        }
        for role in [Role::Apply, Role::Backup, Role::Restore] {
            let actions = granted_actions(&policy(&stack(), "123456789012", role, &[]));
            assert!(actions.iter().any(|a| is_write_action(a)), "{role:?}");
        }
    }

    #[test]
    fn every_resource_is_scoped_to_the_stack_but_the_unscopable_ones() {
        for &role in Role::VARIANTS {
            let doc = policy(&stack(), "123456789012", role, &[]);
            for s in doc["Statement"].as_array().unwrap() {
                for r in s["Resource"].as_array().unwrap() {
                    let r = r.as_str().unwrap();
                    let actions = s["Action"].as_array().unwrap();
                    let managing_keys = actions.iter().any(|a| {
                        let a = a.as_str().unwrap();
                        a.starts_with("kms:") && is_write_action(a) && !KMS_VIA_SSM.contains(&a)
                    });
                    if managing_keys && s["Sid"] != "ManageBackupKeyAlias" {
                        // Keys are created and changed only when tagged with the stack's alias.
                        let tag = &s["Condition"]["StringEquals"];
                        let alias = "alias/jenkins-infra-ssm-backup-dev";
                        assert!(
                            tag["aws:RequestTag/Name"] == alias
                                || tag["aws:ResourceTag/Name"] == alias,
                            "{role:?}: {s}"
                        );
                        continue;
                    }
                    if r == "*" {
                        // No resource-level permission exists for these.
                        assert!(
                            actions.iter().all(|a| [
                                "s3:ListAllMyBuckets",
                                "ssm:DescribeParameters",
                                "cloudwatch:DescribeAlarms",
                                "cloudwatch:PutMetricData",
                                "tag:GetResources",
                                "kms:ListAliases",
                                "logs:DescribeLogGroups",
                                "logs:DescribeResourcePolicies",
                                "logs:PutResourcePolicy",
                                "logs:DeleteResourcePolicy"
                            ]
                            .contains(&a.as_str().unwrap())),
                            "{role:?}: {s}"
                        );
                        continue;
                    }
                    assert!(
                        r.contains("jenkins-infra-ssm-backup-dev")
                            || r.contains("/dev/")
                            || r.ends_with("/locks/ssm-keeper/dev")
                            || r.ends_with("/locks/ssm-keeper/dev.takeover.*")
                            || r.starts_with("arn:aws:kms:*:123456789012:key/")
                            || r == "arn:aws:kms:*:123456789012:alias/jenkins-infra-ssm-backup-dev",
                        "{role:?}: {r}"
                    );
                }
            }
        }
        let doc = policy(&stack(), "123456789012", Role::Apply, &[]);
        let text = doc.to_string();
        assert!(text.contains("arn:aws:s3:::jenkins-infra-ssm-backup-dev-123456789012-*"));
        assert!(text.contains("arn:aws:ssm:*:123456789012:parameter/jenkins/dev/backup/*"));
        assert!(text.contains("arn:aws:ssm:us-east-1:123456789012:parameter/locks/ssm-keeper/dev"));
        assert!(
            text.contains("arn:aws:cloudwatch:*:123456789012:alarm:jenkins-infra-ssm-backup-dev/*")
        );
        assert!(
            text.contains(
                "arn:aws:cloudwatch::123456789012:dashboard/jenkins-infra-ssm-backup-dev\""
            )
        );
    }

    #[test]
    fn with_kms_backup_encrypts_restore_decrypts_and_verify_neither_only_through_s3() {
        let mut kms = stack();
        kms.encryption = EncryptionMode::Kms;
        let via_s3_of = |stack: &Stack, role: Role| -> Vec<(String, Value)> {
            policy(stack, ACCOUNT, role, &[])["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Condition"]["StringLike"]["kms:ViaService"] == "s3.*.amazonaws.com")
                .map(|s| (s["Action"][0].as_str().unwrap().to_string(), s.clone()))
                .collect()
        };
        let via_s3 = |role| via_s3_of(&kms, role);
        let actions = |role| via_s3(role).into_iter().map(|(a, _)| a).collect::<Vec<_>>();
        assert_eq!(actions(Role::Backup), ["kms:GenerateDataKey"]);
        assert_eq!(actions(Role::Restore), ["kms:Decrypt"]);
        assert!(actions(Role::Verify).is_empty());
        let (_, managed) = via_s3(Role::Backup).remove(0);
        assert_eq!(
            managed["Condition"]["StringEquals"]["aws:ResourceTag/Name"],
            "alias/jenkins-infra-ssm-backup-dev"
        );
        // Existing keys: exactly those, no tag condition.
        let key = "arn:aws:kms:us-east-1:123456789012:key/k";
        let mut named = kms.clone();
        named.kms_key_ids = [("us-east-1".to_string(), key.to_string())].into();
        let (_, named_keys) = via_s3_of(&named, Role::Backup).remove(0);
        assert_eq!(named_keys["Resource"], json!([key]));
        assert!(named_keys["Condition"].get("StringEquals").is_none());
        // The backup role decrypts only through SSM (SecureStrings), never a document.
        let backup = policy(&kms, ACCOUNT, Role::Backup, &[]);
        for s in backup["Statement"].as_array().unwrap() {
            if s["Action"]
                .as_array()
                .unwrap()
                .contains(&json!("kms:Decrypt"))
            {
                assert_eq!(s["Condition"], via_ssm(), "{s}");
            }
        }
        // An AES256 stack's backup and restore policies name no KMS action through S3.
        assert!(
            !policy(&stack(), ACCOUNT, Role::Backup, &[])
                .to_string()
                .contains("s3.*.amazonaws.com")
        );
    }

    #[test]
    fn no_role_may_bypass_object_lock_or_change_a_retention() {
        let mut locked = stack();
        locked.encryption = EncryptionMode::Kms;
        for &role in Role::VARIANTS {
            let actions = granted_actions(&policy(&locked, ACCOUNT, role, &[]));
            for forbidden in [
                "s3:BypassGovernanceRetention",
                "s3:PutObjectRetention",
                "s3:PutObjectLegalHold",
            ] {
                assert!(!actions.contains(forbidden), "{role:?} grants {forbidden}");
            }
        }
    }

    #[test]
    fn a_drill_prefix_widens_restore_only_to_that_path() {
        let doc = policy(
            &stack(),
            "123456789012",
            Role::Restore,
            &["/drill/dev/".to_string()],
        );
        assert!(
            doc.to_string()
                .contains("arn:aws:ssm:*:123456789012:parameter/drill/dev/*")
        );
        // Never the backup role: it would read (decrypted) whatever lies there.
        let backup = policy(
            &stack(),
            "123456789012",
            Role::Backup,
            &["/drill/dev/".to_string()],
        );
        assert!(!backup.to_string().contains("/drill/"), "{backup}");
    }

    #[test]
    fn the_restore_role_cleans_up_only_its_environments_drill_path() {
        let doc = policy(&stack(), ACCOUNT, Role::Restore, &[]);
        let statements = doc["Statement"].as_array().unwrap();
        let deleting: Vec<&Value> = statements
            .iter()
            .filter(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("ssm:DeleteParameters"))
            })
            .collect();
        assert_eq!(deleting.len(), 1);
        assert_eq!(
            deleting[0]["Resource"],
            json!(["arn:aws:ssm:*:123456789012:parameter/drills/ssm-keeper/dev/*"])
        );
        assert!(statements.iter().any(|s| s["Sid"] == "PublishDrillMetrics"
            && s["Condition"]["StringEquals"]["cloudwatch:namespace"] == METRIC_NAMESPACE));
        for role in [Role::Backup, Role::Verify, Role::Plan, Role::Apply] {
            let text = policy(&stack(), ACCOUNT, role, &[]).to_string();
            assert!(!text.contains("drills/ssm-keeper"), "{role:?}: {text}");
        }
    }

    #[test]
    fn parameter_paths_scope_the_roles_to_exactly_those_paths() {
        let mut scoped = stack();
        scoped.parameter_paths = Some(vec!["/jenkins/dev/".into(), "/app/dev/".into()]);
        for role in [Role::Backup, Role::Restore] {
            let text = policy(&scoped, "123456789012", role, &[]).to_string();
            assert!(
                text.contains("arn:aws:ssm:*:123456789012:parameter/jenkins/dev/*"),
                "{text}"
            );
            assert!(
                text.contains("arn:aws:ssm:*:123456789012:parameter/app/dev/*"),
                "{text}"
            );
            assert!(!text.contains("parameter/*/dev/*"), "{text}");
        }
    }

    #[test]
    fn every_granted_action_is_one_an_operation_needs_or_kms_through_ssm() {
        let needed: BTreeSet<&str> = [
            "s3:ListBuckets",
            "s3:HeadBucket",
            "s3:ListObjectVersions",
            "s3:GetBucketVersioning",
            "s3:GetBucketEncryption",
            "s3:GetBucketLifecycleConfiguration",
            "s3:GetPublicAccessBlock",
            "s3:GetBucketPolicy",
            "s3:GetBucketTagging",
            "s3:GetObjectLockConfiguration",
            "s3:PutObjectLockConfiguration",
            "s3:CreateBucket",
            "s3:PutPublicAccessBlock",
            "s3:PutBucketEncryption",
            "s3:PutBucketVersioning",
            "s3:PutBucketLifecycleConfiguration",
            "s3:PutBucketPolicy",
            "s3:PutBucketTagging",
            "s3:DeleteBucket",
            "s3:DeleteObjects",
            "s3:GetObject",
            "s3:GetObjectTagging",
            "s3:PutObject",
            "ssm:GetParameters",
            "ssm:GetParameter",
            "ssm:PutParameter",
            "ssm:DeleteParameter",
            "ssm:DeleteParameters",
            "ssm:DescribeParameters",
            "ssm:AddTagsToResource",
            "ssm:RemoveTagsFromResource",
            "tagging:GetResources",
            "kms:DescribeKey",
            "kms:ListAliases",
            "kms:GetKeyRotationStatus",
            "kms:GetKeyPolicy",
            "kms:ListResourceTags",
            "kms:CreateKey",
            "kms:EnableKeyRotation",
            "kms:PutKeyPolicy",
            "kms:UpdateKeyDescription",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:EnableKey",
            "kms:CancelKeyDeletion",
            "kms:ScheduleKeyDeletion",
            "kms:CreateAlias",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:PutMetricData",
            "cloudwatch:GetDashboard",
            "cloudwatch:PutDashboard",
            "cloudwatch:DeleteDashboards",
            "ssm:GetParameterHistory",
            "events:DescribeRule",
            "events:ListTargetsByRule",
            "events:PutRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:DeleteRule",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteLogGroup",
            "logs:PutResourcePolicy",
            "logs:DeleteResourcePolicy",
            "logs:FilterLogEvents",
        ]
        .iter()
        .flat_map(|op| iam_actions(op).unwrap().iter().copied())
        .collect();
        for &role in Role::VARIANTS {
            for action in granted_actions(&policy(&stack(), "123456789012", role, &[])) {
                assert!(
                    needed.contains(action.as_str()) || KMS_VIA_SSM.contains(&action.as_str()),
                    "{role:?}: {action}"
                );
            }
        }
        assert_eq!(iam_actions("sts:GetCallerIdentity"), None);
    }

    #[test]
    fn one_policy_covers_every_stack_each_statement_once() {
        let dev = stack();
        let mut prod = stack();
        prod.environment = "prod".into();
        for &role in Role::VARIANTS {
            let both = policy_for_stacks(&[&dev, &prod], ACCOUNT, role, &[]);
            let statements = both["Statement"].as_array().unwrap();
            let sids: BTreeSet<&str> = statements
                .iter()
                .map(|s| s["Sid"].as_str().unwrap())
                .collect();
            assert_eq!(sids.len(), statements.len(), "{role:?}: a Sid twice");
            // Everything either stack's own policy grants, on the same resources.
            for single in [&dev, &prod] {
                let own = policy(single, ACCOUNT, role, &[]);
                for statement in own["Statement"].as_array().unwrap() {
                    let merged = statements
                        .iter()
                        .find(|s| s["Sid"] == statement["Sid"])
                        .unwrap();
                    assert_eq!(merged["Action"], statement["Action"]);
                    // Each condition value of either stack is among the merged ones.
                    let conditions = statement["Condition"].as_object().into_iter().flatten();
                    for (operator, keys) in conditions {
                        for (key, value) in keys.as_object().unwrap() {
                            let merged = &merged["Condition"][operator][key];
                            assert!(
                                merged == value
                                    || merged.as_array().is_some_and(|m| m.contains(value)),
                                "{role:?}: {operator} {key}: {merged} lacks {value}"
                            );
                        }
                    }
                    for resource in statement["Resource"].as_array().unwrap() {
                        assert!(
                            merged["Resource"].as_array().unwrap().contains(resource),
                            "{role:?}: {resource} missing"
                        );
                    }
                }
            }
            assert_eq!(
                policy_for_stacks(&[&dev], ACCOUNT, role, &[]),
                policy(&dev, ACCOUNT, role, &[]),
                "one stack: the same policy as before"
            );
        }
        let text = policy_for_stacks(&[&dev, &prod], ACCOUNT, Role::Backup, &[]).to_string();
        assert!(text.contains("-ssm-backup-dev-") && text.contains("-ssm-backup-prod-"));
    }

    #[test]
    fn trust_policies_name_who_may_assume_each_role() {
        let github = Trusted::GitHub {
            repository: "my-org/infra".into(),
            branch: "main".into(),
            environment: "production".into(),
            stacks: vec!["dev".into()],
            also_branch_subject: false,
        };
        let subject_of = |github: &Trusted, role| {
            trust_policy(github, role, "aws", ACCOUNT)["Statement"][0]["Condition"]["StringEquals"]
                ["token.actions.githubusercontent.com:sub"]
                .clone()
        };
        let subject = |role| subject_of(&github, role);
        assert_eq!(
            subject(Role::Plan),
            json!([
                "repo:my-org/infra:pull_request",
                "repo:my-org/infra:ref:refs/heads/main"
            ])
        );
        assert_eq!(
            subject(Role::Apply),
            "repo:my-org/infra:environment:production"
        );
        // Backup, verify and restore: only in each stack's environment, ssm-keeper-<stack>.
        let both = Trusted::GitHub {
            repository: "my-org/infra".into(),
            branch: "main".into(),
            environment: "production".into(),
            stacks: vec!["dev".into(), "prod".into(), "dev".into()],
            also_branch_subject: false,
        };
        let switching = Trusted::GitHub {
            repository: "my-org/infra".into(),
            branch: "main".into(),
            environment: "production".into(),
            stacks: vec!["dev".into(), "prod".into()],
            also_branch_subject: true,
        };
        for role in [Role::Backup, Role::Verify, Role::Restore] {
            assert_eq!(
                subject(role),
                "repo:my-org/infra:environment:ssm-keeper-dev"
            );
            assert_eq!(
                subject_of(&both, role),
                json!([
                    "repo:my-org/infra:environment:ssm-keeper-dev",
                    "repo:my-org/infra:environment:ssm-keeper-prod"
                ])
            );
            // While the workflows switch: the old subject (the default branch) beside the new.
            assert_eq!(
                subject_of(&switching, role),
                json!([
                    "repo:my-org/infra:environment:ssm-keeper-dev",
                    "repo:my-org/infra:environment:ssm-keeper-prod",
                    "repo:my-org/infra:ref:refs/heads/main"
                ])
            );
        }
        // Plan and apply keep their subjects: the flag adds nothing to them.
        for role in [Role::Plan, Role::Apply] {
            assert_eq!(subject_of(&switching, role), subject(role));
        }
        let document = trust_policy(&github, Role::Plan, "aws-cn", ACCOUNT);
        let statement = &document["Statement"][0];
        assert_eq!(
            statement["Principal"]["Federated"],
            format!("arn:aws-cn:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")
        );
        assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
        assert_eq!(
            statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        let jenkins = Trusted::Jenkins {
            principal: format!("arn:aws:iam::{ACCOUNT}:role/jenkins"),
        };
        let document = trust_policy(&jenkins, Role::Backup, "aws", ACCOUNT);
        assert_eq!(
            document["Statement"][0]["Principal"]["AWS"],
            format!("arn:aws:iam::{ACCOUNT}:role/jenkins")
        );
        assert_eq!(document["Statement"][0]["Action"], "sts:AssumeRole");
    }

    #[test]
    fn the_verify_role_reads_no_document_and_decrypts_nothing() {
        // Under `encryption: kms` its only KMS action is DescribeKey, on the stack's keys only
        // (the `key` check); under AES256 it has none.
        let mut kms = stack();
        kms.encryption = EncryptionMode::Kms;
        let doc = policy(&kms, ACCOUNT, Role::Verify, &[]);
        let kms_statements: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Action"].to_string().contains("kms:"))
            .collect();
        assert_eq!(kms_statements.len(), 1, "{doc}");
        assert_eq!(kms_statements[0]["Action"], json!(["kms:DescribeKey"]));
        assert_eq!(
            kms_statements[0]["Condition"]["StringEquals"]["aws:ResourceTag/Name"],
            "alias/jenkins-infra-ssm-backup-dev"
        );
        let doc = policy(&stack(), ACCOUNT, Role::Verify, &[]);
        let statements = doc["Statement"].as_array().unwrap();
        for s in statements {
            let actions = s["Action"].as_array().unwrap();
            assert!(
                !actions
                    .iter()
                    .any(|a| a.as_str().unwrap().starts_with("kms:")),
                "{s}"
            );
            if actions.iter().any(|a| a == "s3:GetObject") {
                assert_eq!(
                    s["Resource"],
                    json!([
                        "arn:aws:s3:::jenkins-infra-ssm-backup-dev-123456789012-*/latest.txt",
                        "arn:aws:s3:::jenkins-infra-ssm-backup-dev-123456789012-*/latest-*.txt",
                        "arn:aws:s3:::jenkins-infra-ssm-backup-dev-123456789012-*/copies/latest-*.txt"
                    ]),
                    "GetObject (and so HeadObject) on the pointers only"
                );
            }
        }
        let granted = granted_actions(&doc);
        assert!(granted.contains("s3:GetObjectTagging"), "{granted:?}");
        // The restore role, which `verify --deep` runs with, reads the documents.
        let restore = policy(&stack(), ACCOUNT, Role::Restore, &[]);
        assert!(restore["Statement"].as_array().unwrap().iter().any(|s| {
            s["Action"] == json!(["s3:GetObject"])
                && s["Resource"]
                    == json!(["arn:aws:s3:::jenkins-infra-ssm-backup-dev-123456789012-*/*"])
        }));
    }

    /// The verify and plan roles read only the metadata names the stack computes (plan also the
    /// narrowest pattern that finds a removed region's bucket parameter), never the whole
    /// `backup/*` tree whose SecureStrings they could otherwise decrypt.
    #[test]
    fn the_read_only_roles_read_only_the_metadata_names_the_stack_computes() {
        let resources = |role: Role, sid: &str| -> Vec<String> {
            policy(&stack(), ACCOUNT, role, &[])["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Sid"] == sid)
                .flat_map(|s| s["Resource"].as_array().unwrap().clone())
                .map(|r| r.as_str().unwrap().to_string())
                .collect()
        };
        let home = "arn:aws:ssm:us-east-1:123456789012:parameter/jenkins/dev/backup";
        assert_eq!(
            resources(Role::Verify, "ReadMetadata"),
            [
                format!("{home}/region-list"),
                format!("{home}/default-region")
            ]
        );
        let home = "arn:aws:ssm:*:123456789012:parameter/jenkins/dev/backup";
        assert_eq!(
            resources(Role::Plan, "ReadMetadata"),
            [
                format!("{home}/region-list"),
                format!("{home}/default-region"),
                format!("{home}/s3-bucket-name"),
                format!("{home}/copies"),
                "arn:aws:ssm:*:123456789012:parameter/jenkins/dev/backup/*/s3-bucket-name"
                    .to_string(),
            ]
        );
        for role in [Role::Plan, Role::Verify] {
            let text = policy(&stack(), ACCOUNT, role, &[]).to_string();
            assert!(!text.contains("/backup/*\""), "{role:?}: {text}");
        }
    }

    /// Orphan keys are listed by their alias tag (tag:GetResources, which has no resource-level
    /// permission) only for a stack whose keys apply manages.
    #[test]
    fn plan_lists_tagged_keys_only_when_apply_manages_them() {
        let listing = |stack: &Stack| -> Vec<String> {
            policy(stack, ACCOUNT, Role::Plan, &[])["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Sid"] == "FindOrphanBackupKeys")
                .map(|s| format!("{} {}", s["Action"], s["Resource"]))
                .collect()
        };
        assert_eq!(listing(&stack()), Vec::<String>::new());
        let mut managed = stack();
        managed.encryption = EncryptionMode::Kms;
        assert_eq!(listing(&managed), [r#"["tag:GetResources"] ["*"]"#]);
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        managed.kms_key_ids.insert("us-east-1".into(), arn.into());
        assert_eq!(listing(&managed), Vec::<String>::new());
    }

    /// The statements of `role`'s policy for `stack` that grant kms:DescribeKey.
    fn describing_keys(stack: &Stack, role: Role) -> Vec<Value> {
        policy(stack, ACCOUNT, role, &[])["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("kms:DescribeKey"))
            })
            .cloned()
            .collect()
    }

    /// Plan reads only the stack's keys: the managed ones by their alias tag (as apply changes
    /// them), and those `kmsKeyIds` names by ARN.
    #[test]
    fn plan_reads_only_the_stacks_keys() {
        let read_keys = |stack: &Stack| describing_keys(stack, Role::Plan);
        let statements = read_keys(&stack());
        assert_eq!(statements.len(), 1, "{statements:?}");
        assert_eq!(
            statements[0]["Condition"]["StringEquals"]["aws:ResourceTag/Name"],
            "alias/jenkins-infra-ssm-backup-dev"
        );
        let mut named = stack();
        named.encryption = EncryptionMode::Kms;
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        named.kms_key_ids.insert("us-east-1".into(), arn.into());
        let statements = read_keys(&named);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[1]["Resource"], json!([arn]));
        assert!(statements[1]["Condition"].is_null());
    }

    /// Restore describes no key under `AES256`, and under `encryption: kms` only the stack's
    /// (for `verify --deep`'s `key` check): never every key of the account.
    #[test]
    fn restore_describes_only_the_stacks_keys() {
        let describing = |stack: &Stack| describing_keys(stack, Role::Restore);
        assert_eq!(describing(&stack()), Vec::<Value>::new());
        let mut kms = stack();
        kms.encryption = EncryptionMode::Kms;
        let statements = describing(&kms);
        assert_eq!(statements.len(), 1, "{statements:?}");
        assert_eq!(
            statements[0]["Condition"]["StringEquals"]["aws:ResourceTag/Name"],
            "alias/jenkins-infra-ssm-backup-dev"
        );
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        kms.kms_key_ids.insert("us-east-1".into(), arn.into());
        let statements = describing(&kms);
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert_eq!(statements[1]["Resource"], json!([arn]));
        assert!(statements[1]["Condition"].is_null());
    }
}
