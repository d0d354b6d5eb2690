//! What backup stamps on each document as S3 object tags, so that `verify` judges a backup
//! without reading it: its role has no `s3:GetObject` on documents (HeadObject needs it too),
//! only `s3:GetObjectTagging`. The tag names, their encoding, reading them back and comparing
//! them with a document. Pure; no value is ever in a tag.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::backup::{BACKUP_FORMAT_VERSION, DocumentHeader};
use super::document::{BackupDocument, DocumentFormat};
use super::store::DocumentEncryption;

/// Every tag of the stamp starts so; an object with none of them has no stamp (a backup from
/// before stamps, or the old script's).
pub const TAG_PREFIX: &str = "ssm-keeper-";
/// The stamp's first tag: every stamped document carries it (the bucket policy keys on it).
pub const FORMAT: &str = "ssm-keeper-format";
const ENVIRONMENT: &str = "ssm-keeper-environment";
const REGION: &str = "ssm-keeper-region";
const COUNT: &str = "ssm-keeper-parameter-count";
const TIMESTAMP: &str = "ssm-keeper-backup-timestamp";
const NAMES: &str = "ssm-keeper-names-sha256";
const DOCUMENT: &str = "ssm-keeper-document-sha256";
const KEY: &str = "ssm-keeper-key-arn";

/// What a document holds, as its tags say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    pub format_version: u32,
    pub environment: String,
    pub region: String,
    pub parameter_count: u64,
    /// `YYYYMMDD_HHMMSS`, UTC, as the document's `backup_timestamp`.
    pub backup_timestamp: String,
    /// `names_sha256` of the document's parameter names.
    pub names_sha256: String,
    /// The document's SHA-256 as S3 stores it (base64; S3 checked the upload against it), so
    /// that a copy is compared with its primary without reading either. `None` in stamps
    /// written before it was added.
    pub document_sha256: Option<String>,
    /// With `encryption: kms`: the ARN of the KMS key the document is encrypted under, so that
    /// verify checks the key without reading the document. `None` under AES256, and in stamps
    /// written before it was added.
    pub key_arn: Option<String>,
}

/// The SHA-256 (hex) of the parameter names, sorted, each followed by a newline (no SSM name
/// holds one): the same names in any order give the same digest, and
/// `printf '%s\n' NAMES | LC_ALL=C sort | sha256sum` recomputes it by hand.
pub fn names_sha256<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut sorted: Vec<&str> = names.into_iter().collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for name in sorted {
        hasher.update(name.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Stamp {
    /// The stamp of a document of the run `header` holding `names`, whose bytes hash to
    /// `document_sha256` (base64, as S3 stores it).
    pub fn of(header: &DocumentHeader, names: &[String], document_sha256: String) -> Stamp {
        Stamp {
            format_version: header.format_version,
            environment: header.environment.clone(),
            region: header.region.clone(),
            parameter_count: names.len() as u64,
            backup_timestamp: header.backup_timestamp.clone(),
            names_sha256: names_sha256(names.iter().map(String::as_str)),
            document_sha256: Some(document_sha256),
            key_arn: None,
        }
    }

    /// The stamp of the document stored under `encryption`: with its key's ARN under SSE-KMS.
    pub fn under(&self, encryption: &DocumentEncryption) -> Stamp {
        Stamp {
            key_arn: match encryption {
                DocumentEncryption::Aes256 => None,
                DocumentEncryption::Kms { key_arn } => Some(key_arn.clone()),
            },
            ..self.clone()
        }
    }

    /// The tags, in a fixed order.
    pub fn tags(&self) -> Vec<(&'static str, String)> {
        vec![
            (FORMAT, self.format_version.to_string()),
            (ENVIRONMENT, self.environment.clone()),
            (REGION, self.region.clone()),
            (COUNT, self.parameter_count.to_string()),
            (TIMESTAMP, self.backup_timestamp.clone()),
            (NAMES, self.names_sha256.clone()),
        ]
        .into_iter()
        .chain(self.document_sha256.clone().map(|d| (DOCUMENT, d)))
        .chain(self.key_arn.clone().map(|k| (KEY, k)))
        .collect()
    }

    /// The tags as PutObject's `x-amz-tagging` header takes them: URL query encoding.
    pub fn tagging_header(&self) -> String {
        self.tags()
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The stamp an object's tags carry: `None` when it has no `ssm-keeper-` tag at all; an
    /// error saying what is wrong when it has some, but not a whole and valid stamp.
    pub fn from_tags(tags: &[(String, String)]) -> Option<Result<Stamp, String>> {
        if !tags.iter().any(|(k, _)| k.starts_with(TAG_PREFIX)) {
            return None;
        }
        let get = |name: &str| {
            tags.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("the object's tags lack {name}"))
        };
        let number = |name: &str| {
            get(name)?
                .parse::<u64>()
                .map_err(|_| format!("the object's tag {name} is not a number"))
        };
        Some((|| {
            let stamp = Stamp {
                format_version: u32::try_from(number(FORMAT)?)
                    .map_err(|_| format!("the object's tag {FORMAT} is out of range"))?,
                environment: get(ENVIRONMENT)?,
                region: get(REGION)?,
                parameter_count: number(COUNT)?,
                backup_timestamp: get(TIMESTAMP)?,
                names_sha256: get(NAMES)?,
                document_sha256: get(DOCUMENT).ok(),
                key_arn: get(KEY).ok(),
            };
            if stamp.format_version != BACKUP_FORMAT_VERSION {
                return Err(format!(
                    "the object's tags say format {}, not one this ssm-keeper writes ({BACKUP_FORMAT_VERSION})",
                    stamp.format_version
                ));
            }
            Ok(stamp)
        })())
    }

    /// Where the stamp and the document it is on disagree, one line each (a stamp altered
    /// after the backup: tags can change without a new version of the object).
    pub fn disagreements(&self, doc: &BackupDocument) -> Vec<String> {
        let mut out = Vec::new();
        let mut differs = |what: &str, tag: String, document: String| {
            if tag != document {
                out.push(format!(
                    "its tags say {what} {tag}, the document {document}"
                ));
            }
        };
        let format = match doc.format {
            DocumentFormat::V2 => BACKUP_FORMAT_VERSION.to_string(),
            DocumentFormat::Legacy => "(none: the old script's)".into(),
        };
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        differs("format", self.format_version.to_string(), format);
        differs(
            "environment",
            self.environment.clone(),
            or_none(&doc.environment),
        );
        differs("region", self.region.clone(), or_none(&doc.region));
        differs(
            "parameter count",
            self.parameter_count.to_string(),
            doc.parameters.len().to_string(),
        );
        differs(
            "backup timestamp",
            self.backup_timestamp.clone(),
            or_none(&doc.backup_timestamp),
        );
        differs(
            "names digest",
            self.names_sha256.clone(),
            names_sha256(doc.parameters.iter().map(|p| p.name.as_str())),
        );
        out
    }
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::document::read_document;

    fn stamp() -> Stamp {
        Stamp {
            format_version: 2,
            environment: "dev".into(),
            region: "us-east-1".into(),
            parameter_count: 2,
            backup_timestamp: "20261124_130000".into(),
            names_sha256: names_sha256(["/app/dev/b", "/app/dev/a"]),
            document_sha256: None,
            key_arn: None,
        }
    }

    fn owned(tags: Vec<(&str, String)>) -> Vec<(String, String)> {
        tags.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn the_names_digest_is_of_the_sorted_names_each_on_its_line() {
        // `printf '/app/dev/a\n/app/dev/b\n' | sha256sum`
        let expected = "be2abbb0983e3db18a3fad86bbcede55f7e976680074d4255a78179352e5b3b5";
        let digest = names_sha256(["/app/dev/b", "/app/dev/a"]);
        assert_eq!(digest, expected);
        assert_eq!(digest, names_sha256(["/app/dev/a", "/app/dev/b"]));
        assert_ne!(digest, names_sha256(["/app/dev/a"]));
    }

    #[test]
    fn tags_read_back_as_the_stamp_they_were_made_from() {
        let s = stamp();
        assert_eq!(Stamp::from_tags(&owned(s.tags())), Some(Ok(s.clone())));
        assert_eq!(
            s.tagging_header(),
            format!(
                "ssm-keeper-format=2&ssm-keeper-environment=dev&ssm-keeper-region=us-east-1&ssm-keeper-parameter-count=2&ssm-keeper-backup-timestamp=20261124_130000&ssm-keeper-names-sha256={}",
                s.names_sha256
            )
        );
        assert_eq!(url_encode("a b/c=d&e"), "a%20b%2Fc%3Dd%26e");
        // Under SSE-KMS the stamp names the key: eight tags, within S3's ten.
        let arn = "arn:aws:kms:us-east-1:123456789012:key/k-1";
        let mut whole = s.under(&DocumentEncryption::Kms {
            key_arn: arn.into(),
        });
        whole.document_sha256 = Some("abc=".into());
        assert_eq!(whole.key_arn.as_deref(), Some(arn));
        assert_eq!(whole.tags().len(), 8);
        assert_eq!(Stamp::from_tags(&owned(whole.tags())), Some(Ok(whole)));
        assert_eq!(s.under(&DocumentEncryption::Aes256).key_arn, None);
    }

    #[test]
    fn no_stamp_tag_is_no_stamp_and_a_partial_or_wrong_stamp_says_why() {
        assert_eq!(Stamp::from_tags(&[]), None);
        assert_eq!(
            Stamp::from_tags(&[("team".into(), "ops".into())]),
            None,
            "other tags are not a stamp"
        );
        let mut tags = owned(stamp().tags());
        tags.retain(|(k, _)| k != COUNT);
        assert_eq!(
            Stamp::from_tags(&tags),
            Some(Err(
                "the object's tags lack ssm-keeper-parameter-count".into()
            ))
        );
        let mut tags = owned(stamp().tags());
        tags[3].1 = "many".into();
        assert_eq!(
            Stamp::from_tags(&tags),
            Some(Err(
                "the object's tag ssm-keeper-parameter-count is not a number".into()
            ))
        );
        let mut tags = owned(stamp().tags());
        tags[0].1 = "3".into();
        assert!(
            matches!(Stamp::from_tags(&tags), Some(Err(e)) if e.contains("format 3")),
            "{tags:?}"
        );
    }

    #[test]
    fn a_stamp_agrees_with_its_document_and_each_difference_is_named() {
        let doc = r#"{"format_version":2,"backup_timestamp":"20261124_130000","environment":"dev","region":"us-east-1","parameters":[{"Name":"/app/dev/a","Type":"String","Value":"v","Version":1},{"Name":"/app/dev/b","Type":"String","Value":"v","Version":1}],"parameter_count":2}"#;
        let doc = read_document(doc.as_bytes()).unwrap();
        assert_eq!(stamp().disagreements(&doc), Vec::<String>::new());
        let mut altered = stamp();
        altered.parameter_count = 5;
        altered.names_sha256 = names_sha256(["/app/dev/a"]);
        let found = altered.disagreements(&doc);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], "its tags say parameter count 5, the document 2");
        assert!(
            found[1].starts_with("its tags say names digest "),
            "{found:?}"
        );
    }
}
