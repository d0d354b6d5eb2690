//! The stack's keys about backups at rest: `encryption` (AES256 or kms) and `kmsKeyIds` (the
//! existing keys to use instead of managed ones). Pure.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, HashMap};

use super::{Check, kind};
use crate::core::region::partition;

/// How backup documents are encrypted at rest.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum EncryptionMode {
    /// SSE-S3: S3's own keys (the default, as the original design specifies).
    #[default]
    #[serde(rename = "AES256")]
    Aes256,
    /// SSE-KMS under one customer-managed key per region, managed by the stack or named in
    /// `kmsKeyIds`.
    #[serde(rename = "kms")]
    Kms,
}

impl EncryptionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionMode::Aes256 => "AES256",
            EncryptionMode::Kms => "kms",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == EncryptionMode::default()
    }
}

/// The `kmsKeyIds` mapping again, this time with the place of each entry.
#[derive(Deserialize)]
struct RawKeyIds {
    #[serde(default, rename = "kmsKeyIds")]
    ids: Option<HashMap<Spanned<String>, Spanned<serde_json::Value>>>,
}

/// `encryption`: exactly `AES256` or `kms`.
pub(super) fn encryption(
    check: &mut Check,
    value: &Spanned<serde_json::Value>,
) -> Option<EncryptionMode> {
    let text = check.text("encryption", value)?;
    match text.as_str() {
        "AES256" => Some(EncryptionMode::Aes256),
        "kms" => Some(EncryptionMode::Kms),
        other => {
            check.at(
                "encryption",
                &value.referenced,
                format!(
                    "`{other}` is not an encryption: use AES256 (S3's own keys, the default) or kms (a customer-managed KMS key per region)"
                ),
            );
            None
        }
    }
}

/// `kmsKeyIds`: a mapping from each region of the stack to the ARN of a KMS key in that region,
/// only with `encryption: kms`. `None` after a mistake (each one reported).
pub(super) fn kms_key_ids(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
    regions: Option<&[String]>,
    encryption: Option<EncryptionMode>,
) -> Option<BTreeMap<String, String>> {
    if !value.value.is_object() {
        check.at(
            "kmsKeyIds",
            &value.referenced,
            format!(
                "expected a mapping from each region to the ARN of its KMS key, found {}",
                kind(&value.value)
            ),
        );
        return None;
    }
    let before = check.errors.len();
    if encryption == Some(EncryptionMode::Aes256) {
        check.at(
            "kmsKeyIds",
            &value.referenced,
            "the keys are used only with `encryption: kms`: add it, or remove kmsKeyIds".into(),
        );
    }
    let entries = serde_saphyr::from_str::<RawKeyIds>(text)
        .ok()
        .and_then(|r| r.ids)
        .unwrap_or_default();
    let mut ids = BTreeMap::new();
    for (region, entry) in &entries {
        let name = format!("kmsKeyIds.{}", region.value);
        if let Some(regions) = regions
            && !regions.contains(&region.value)
        {
            check.at(
                &name,
                &region.referenced,
                format!(
                    "`{}` is not one of `regions` ({})",
                    region.value,
                    regions.join(", ")
                ),
            );
            continue;
        }
        let Some(arn) = check.text(&name, entry) else {
            continue;
        };
        match check_key_arn(&arn, &region.value) {
            Ok(()) => {
                ids.insert(region.value.clone(), arn);
            }
            Err(m) => check.at(&name, &entry.referenced, m),
        }
    }
    if let Some(regions) = regions {
        let missing: Vec<&str> = regions
            .iter()
            .filter(|r| !entries.keys().any(|k| &k.value == *r))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            check.at(
                "kmsKeyIds",
                &value.referenced,
                format!(
                    "no key for {}: name one key per region of the stack, or remove kmsKeyIds to let apply manage them",
                    missing.join(", ")
                ),
            );
        }
    }
    (check.errors.len() == before).then_some(ids)
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>`, in `region`. An alias is refused: S3
/// resolves an alias in the caller's account, and its policy conditions name key ARNs.
pub fn check_key_arn(arn: &str, region: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let resource = parts.get(5).copied().unwrap_or_default();
    if resource.starts_with("alias/") {
        return Err(format!(
            "`{arn}` is an alias: name the key's ARN (arn:{}:kms:{region}:<account>:key/<key id>); S3 resolves aliases in the caller's account",
            partition(region)
        ));
    }
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "kms"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && resource.strip_prefix("key/").is_some_and(|id| {
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !well_formed {
        return Err(format!(
            "`{arn}` is not a KMS key ARN: expected arn:{}:kms:{region}:<account>:key/<key id>",
            partition(region)
        ));
    }
    if parts[3] != region {
        return Err(format!(
            "`{arn}` is a key in {}: S3 encrypts with a key of the bucket's own region, {region}",
            parts[3]
        ));
    }
    if parts[1] != partition(region) {
        return Err(format!(
            "`{arn}` is in the {} partition, but {region} is in {}",
            parts[1],
            partition(region)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn a_key_arn_is_of_its_region_and_never_an_alias() {
        assert_eq!(check_key_arn(KEY, "us-west-2"), Ok(()));
        let e = check_key_arn(KEY, "ap-northeast-1").unwrap_err();
        assert!(e.contains("a key in us-west-2"), "{e}");
        let alias = "arn:aws:kms:us-west-2:123456789012:alias/backups";
        assert!(
            check_key_arn(alias, "us-west-2")
                .unwrap_err()
                .contains("is an alias")
        );
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-west-2:1234:key/x",
            "arn:aws:s3:us-west-2:123456789012:key/x",
            "arn:aws:kms:us-west-2:123456789012:key/",
        ] {
            assert!(
                check_key_arn(bad, "us-west-2")
                    .unwrap_err()
                    .contains("not a KMS key ARN"),
                "{bad}"
            );
        }
        let china = "arn:aws:kms:cn-north-1:123456789012:key/k";
        assert!(
            check_key_arn(china, "cn-north-1")
                .unwrap_err()
                .contains("partition")
        );
    }
}

/// The `objectLock` section: S3 Object Lock's default retention of the buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectLockConfig {
    pub mode: LockMode,
    pub days: u32,
}

/// S3 Object Lock's retention modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockMode {
    /// Only principals with `s3:BypassGovernanceRetention` (no ssm-keeper role has it) may
    /// delete a version early or shorten its retention.
    Governance,
    /// Nobody, not even the account's root user, may delete a version early or shorten its
    /// retention.
    Compliance,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// The `objectLock` section again, this time with the place of each key.
#[derive(Deserialize)]
struct RawObjectLock {
    #[serde(default, rename = "objectLock")]
    lock: Option<HashMap<Spanned<String>, Spanned<serde_json::Value>>>,
}

const OBJECT_LOCK_KEYS: [&str; 2] = ["mode", "days"];

/// `objectLock: {mode: GOVERNANCE|COMPLIANCE, days: N}`, exactly these keys. A backup is
/// locked at most as long as the lifecycle keeps it current (`days <= retentionDays`): a longer
/// lock would have the lifecycle expire versions S3 must keep.
pub(super) fn object_lock(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
    retention_days: Option<u32>,
) -> Option<ObjectLockConfig> {
    if !value.value.is_object() {
        check.at(
            "objectLock",
            &value.referenced,
            format!(
                "expected a mapping with mode (GOVERNANCE or COMPLIANCE) and days, found {}",
                kind(&value.value)
            ),
        );
        return None;
    }
    let entries = serde_saphyr::from_str::<RawObjectLock>(text)
        .ok()
        .and_then(|r| r.lock)
        .unwrap_or_default();
    let before = check.errors.len();
    let (mut mode, mut days) = (None, None);
    for (key, entry) in &entries {
        let name = format!("objectLock.{}", key.value);
        match key.value.as_str() {
            "mode" => match check.text(&name, entry).as_deref() {
                Some("GOVERNANCE") => mode = Some(LockMode::Governance),
                Some("COMPLIANCE") => mode = Some(LockMode::Compliance),
                Some(other) => check.at(
                    &name,
                    &entry.referenced,
                    format!("`{other}` is not a retention mode: use GOVERNANCE or COMPLIANCE"),
                ),
                None => {}
            },
            "days" => days = check.days(&name, entry),
            other => check.at(
                &name,
                &key.referenced,
                format!(
                    "unknown key `{other}` in `objectLock`; its keys are: {}",
                    OBJECT_LOCK_KEYS.join(", ")
                ),
            ),
        }
    }
    for (key, found) in [("mode", mode.is_some()), ("days", days.is_some())] {
        if !found && !entries.keys().any(|k| k.value == key) {
            check.at(
                &format!("objectLock.{key}"),
                &value.referenced,
                format!("missing required key `{key}`"),
            );
        }
    }
    if let (Some(days), Some(retention)) = (days, retention_days)
        && days > retention
    {
        check.at(
            "objectLock.days",
            &value.referenced,
            format!(
                "{days} days of lock is longer than retentionDays ({retention}): the lifecycle would expire backups S3 must keep; lock for at most retentionDays, or keep backups longer"
            ),
        );
    }
    match (mode, days) {
        (Some(mode), Some(days)) if check.errors.len() == before => {
            Some(ObjectLockConfig { mode, days })
        }
        _ => None,
    }
}

/// The `copies` mapping again, this time with the place of each entry.
#[derive(Deserialize)]
struct RawCopies {
    #[serde(default)]
    copies: Option<HashMap<Spanned<String>, Spanned<serde_json::Value>>>,
}

/// `copies`: a mapping from a region of the stack to another region of the stack, where backup
/// writes a second copy of that region's documents. `None` after a mistake (each one reported).
pub(super) fn copies(
    check: &mut Check,
    text: &str,
    value: &Spanned<serde_json::Value>,
    regions: Option<&[String]>,
) -> Option<BTreeMap<String, String>> {
    if !value.value.is_object() {
        check.at(
            "copies",
            &value.referenced,
            format!(
                "expected a mapping from a region to the region its copy goes to, found {}",
                kind(&value.value)
            ),
        );
        return None;
    }
    let entries = serde_saphyr::from_str::<RawCopies>(text)
        .ok()
        .and_then(|r| r.copies)
        .unwrap_or_default();
    let before = check.errors.len();
    let mut copies = BTreeMap::new();
    let listed = |region: &str| regions.is_none_or(|rs| rs.iter().any(|r| r == region));
    let named = || regions.map(|rs| rs.join(", ")).unwrap_or_default();
    for (source, entry) in &entries {
        let name = format!("copies.{}", source.value);
        if !listed(&source.value) {
            check.at(
                &name,
                &source.referenced,
                format!("`{}` is not one of `regions` ({})", source.value, named()),
            );
            continue;
        }
        let Some(destination) = check.text(&name, entry) else {
            continue;
        };
        if destination == source.value {
            check.at(
                &name,
                &entry.referenced,
                format!(
                    "`{destination}` would copy the region's backups into its own bucket, which is no copy at all: name another region of the stack"
                ),
            );
        } else if !listed(&destination) {
            check.at(
                &name,
                &entry.referenced,
                format!(
                    "`{destination}` is not one of `regions` ({}): a copy goes to the bucket the stack keeps there",
                    named()
                ),
            );
        } else {
            copies.insert(source.value.clone(), destination);
        }
    }
    (check.errors.len() == before).then_some(copies)
}
