//! The backup bucket's key layout, pure: where a backup document is stored, which keys are a
//! region's backups (this tool's and the old script's), the day prefix they are listed by, and
//! the pointers to the newest one. The one place these keys are spelled; no I/O.

/// How a backup document is encrypted at rest: as its bucket's default encryption says (which
/// the bucket policy enforces). Pointers hold only a key name and stay under AES256, so that
/// verify reads them without any KMS permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentEncryption {
    /// SSE-S3.
    Aes256,
    /// SSE-KMS under this key (its ARN) with the S3 Bucket Key.
    Kms { key_arn: String },
}

impl DocumentEncryption {
    /// From a bucket's default encryption (algorithm, key): a KMS default must name a key ARN.
    pub fn from_default(algorithm: &str, key: Option<&str>) -> Result<Self, String> {
        match (algorithm, key) {
            ("aws:kms", Some(key)) if key.contains(":key/") => Ok(DocumentEncryption::Kms {
                key_arn: key.to_string(),
            }),
            ("aws:kms" | "aws:kms:dsse", _) => Err(format!(
                "its default encryption is {algorithm} with {}, not a key ARN; backups are written only under the key the stack names",
                key.unwrap_or("no key")
            )),
            _ => Ok(DocumentEncryption::Aes256),
        }
    }
}

/// The pointer the old readers follow: written for the default region only.
pub const DEFAULT_POINTER_KEY: &str = "latest.txt";

/// The start of this tool's backup keys of `environment` in `region`, after the day.
fn document_stem(region: &str, environment: &str) -> String {
    format!("{region}/ssm-backup-{environment}-{region}-")
}

/// The start of the old script's backup keys, after the day (one region per environment then).
fn old_document_stem(environment: &str) -> String {
    format!("ssm-backup-{environment}-")
}

/// `{YYYY-MM-DD}/{region}/ssm-backup-{env}-{region}-{timestamp}.json`
pub fn document_key(date: &str, region: &str, environment: &str, timestamp: &str) -> String {
    format!(
        "{}{}{timestamp}.json",
        day_prefix(date),
        document_stem(region, environment)
    )
}

/// `{YYYY-MM-DD}/`: every backup of that day, of every region and of both layouts, starts so.
pub fn day_prefix(date: &str) -> String {
    format!("{date}/")
}

/// The two key layouts a region's backup may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// This tool's: `{YYYY-MM-DD}/{region}/ssm-backup-{env}-{region}-{timestamp}.json`.
    Ours,
    /// The old script's: `{YYYY-MM-DD}/ssm-backup-{env}-{timestamp}.json` (one region per
    /// environment then, its timestamp in local time).
    Old,
}

/// Whether `key` is a backup of `environment` in `region`, and of which layout.
pub fn backup_layout(key: &str, region: &str, environment: &str) -> Option<Layout> {
    let (date, rest) = key.split_once('/')?;
    let timestamp = |s: &str| {
        s.strip_suffix(".json").is_some_and(|t| {
            t.len() == 15
                && t.char_indices()
                    .all(|(i, c)| if i == 8 { c == '_' } else { c.is_ascii_digit() })
        })
    };
    if date.len() != 10 {
        return None;
    }
    let ours = document_stem(region, environment);
    let old = old_document_stem(environment);
    [(ours, Layout::Ours), (old, Layout::Old)]
        .into_iter()
        .find(|(prefix, _)| rest.strip_prefix(prefix.as_str()).is_some_and(timestamp))
        .map(|(_, layout)| layout)
}

/// Whether `key` is a backup of `environment` in `region`: this tool's layout, or the old
/// script's.
pub fn is_backup_key(key: &str, region: &str, environment: &str) -> bool {
    backup_layout(key, region, environment).is_some()
}

/// `latest-{region}.txt`: names the region's newest backup.
pub fn pointer_key(region: &str) -> String {
    format!("latest-{region}.txt")
}

/// Where a bucket holds the copies of other regions' backups (the stack's `copies`).
pub const COPY_PREFIX: &str = "copies/";

/// The copy of the document `primary_key` in the destination's bucket:
/// `copies/{YYYY-MM-DD}/{region}/ssm-backup-{env}-{region}-{timestamp}.json`.
pub fn copy_document_key(primary_key: &str) -> String {
    format!("{COPY_PREFIX}{primary_key}")
}

/// `copies/latest-{region}.txt`: names the newest copy of the region's backup.
pub fn copy_pointer_key(region: &str) -> String {
    format!("{COPY_PREFIX}{}", pointer_key(region))
}

/// Every pointer key of any region as IAM resource patterns (`*` any text): the verify role
/// may read these objects, and no document.
pub const POINTER_KEY_PATTERNS: [&str; 3] =
    [DEFAULT_POINTER_KEY, "latest-*.txt", "copies/latest-*.txt"];

/// The pointers to the newest backup: `latest-{region}.txt`, and for the default region also
/// `latest.txt` (for old readers).
pub fn pointer_keys(region: &str, is_default: bool) -> Vec<String> {
    let mut keys = vec![pointer_key(region)];
    if is_default {
        keys.push(DEFAULT_POINTER_KEY.to_string());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_encrypted_as_its_bucket_says_and_only_under_a_key_arn() {
        let key = "arn:aws:kms:us-west-2:123456789012:key/k-1";
        assert_eq!(
            DocumentEncryption::from_default("aws:kms", Some(key)),
            Ok(DocumentEncryption::Kms {
                key_arn: key.into()
            })
        );
        assert_eq!(
            DocumentEncryption::from_default("AES256", None),
            Ok(DocumentEncryption::Aes256)
        );
        for (algorithm, key) in [
            ("aws:kms", None),
            (
                "aws:kms",
                Some("arn:aws:kms:us-west-2:123456789012:alias/x"),
            ),
            ("aws:kms:dsse", Some(key)),
        ] {
            assert!(DocumentEncryption::from_default(algorithm, key).is_err());
        }
    }

    #[test]
    fn backup_keys_of_a_region_and_environment() {
        let key = document_key("2026-11-23", "us-west-2", "dev", "20261123_130000");
        assert!(is_backup_key(&key, "us-west-2", "dev"));
        assert!(!is_backup_key(&key, "us-east-1", "dev"));
        assert!(!is_backup_key(&key, "us-west-2", "prod"));
        assert!(is_backup_key(
            "2025-10-01/ssm-backup-dev-20251001_220000.json",
            "us-west-2",
            "dev"
        ));
        assert!(!is_backup_key(
            "2025-10-01/ssm-backup-dev-2-20251001_220000.json",
            "us-west-2",
            "dev"
        ));
        assert!(!is_backup_key("latest-us-west-2.txt", "us-west-2", "dev"));
        assert_eq!(backup_layout(&key, "us-west-2", "dev"), Some(Layout::Ours));
        assert_eq!(
            backup_layout(
                "2025-10-01/ssm-backup-dev-20251001_220000.json",
                "us-west-2",
                "dev"
            ),
            Some(Layout::Old)
        );
    }

    #[test]
    fn keys_follow_the_seeds() {
        assert_eq!(
            document_key("2026-11-23", "us-west-2", "dev", "20261123_130000"),
            "2026-11-23/us-west-2/ssm-backup-dev-us-west-2-20261123_130000.json"
        );
        assert_eq!(
            pointer_keys("us-west-2", false),
            vec!["latest-us-west-2.txt"]
        );
        assert_eq!(
            pointer_keys("ap-northeast-1", true),
            vec!["latest-ap-northeast-1.txt", "latest.txt"]
        );
    }

    #[test]
    fn the_pointer_of_a_region_is_the_first_of_its_pointers() {
        for (region, is_default) in [("us-east-1", false), ("eu-central-1", true)] {
            let key = pointer_key(region);
            assert_eq!(key, format!("latest-{region}.txt"));
            assert_eq!(pointer_keys(region, is_default)[0], key);
            assert_eq!(
                pointer_keys(region, is_default).contains(&DEFAULT_POINTER_KEY.to_string()),
                is_default
            );
            assert!(!is_backup_key(&key, region, "dev"));
            assert!(!is_backup_key(DEFAULT_POINTER_KEY, region, "dev"));
        }
    }

    #[test]
    fn a_day_prefix_starts_every_backup_key_of_that_day_and_no_other() {
        let prefix = day_prefix("2026-11-23");
        assert_eq!(prefix, "2026-11-23/");
        let keys = [
            (
                document_key("2026-11-23", "us-west-2", "dev", "20261123_130000"),
                true,
            ),
            (
                "2026-11-23/ssm-backup-dev-20261123_220000.json".into(),
                true,
            ),
            (
                document_key("2026-11-24", "us-west-2", "dev", "20261124_000000"),
                false,
            ),
            (
                document_key("2026-11-2", "us-west-2", "dev", "20261102_000000"),
                false,
            ),
        ];
        for (key, of_the_day) in keys {
            assert_eq!(key.starts_with(&prefix), of_the_day, "{key}");
        }
    }

    /// IAM's wildcard: `*` matches any text, `/` included.
    fn iam_matches(pattern: &str, key: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == key,
            Some((head, tail)) => {
                key.len() >= head.len() + tail.len() && key.starts_with(head) && key.ends_with(tail)
            }
        }
    }

    #[test]
    fn the_pointer_patterns_match_every_pointer_and_no_backup() {
        let matches = |key: &str| POINTER_KEY_PATTERNS.iter().any(|p| iam_matches(p, key));
        for region in ["us-east-1", "ap-northeast-1", "cn-north-1"] {
            for key in pointer_keys(region, true) {
                assert!(matches(&key), "{key}");
            }
            let document = document_key("2026-11-23", region, "dev", "20261123_130000");
            assert!(!matches(&document), "{document}");
            assert!(matches(&copy_pointer_key(region)));
            assert!(!matches(&copy_document_key(&document)));
        }
        // Every key that can be a backup starts with a date, never with `latest`.
        assert!(!matches("2026-11-23/ssm-backup-dev-20261123_220000.json"));
    }
}
