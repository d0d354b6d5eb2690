//! Reading a backup document back: this tool's format 2 and the old Jenkins script's (no
//! `format_version`; parameters as `aws ssm get-parameters --with-decryption` printed them).
//! What `verify` and `restore` check before they trust one. Pure.

use serde::Deserialize;
use strum::VariantArray;

use super::backup::{BACKUP_FORMAT_VERSION, BackupParameter};
use super::resource::ParameterKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    /// `format_version: 2`, written by ssm-keeper.
    V2,
    /// The old script's: no format version, no region, and only Name, Type, Value, Version,
    /// LastModifiedDate, ARN and DataType per parameter.
    Legacy,
}

impl DocumentFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            DocumentFormat::V2 => "format 2",
            DocumentFormat::Legacy => "the old script's format",
        }
    }
}

/// A backup document that parsed and holds what it says it holds.
#[derive(Debug, Clone)]
pub struct BackupDocument {
    pub format: DocumentFormat,
    pub environment: Option<String>,
    /// `None` in the old format (one region per environment then).
    pub region: Option<String>,
    pub backup_timestamp: Option<String>,
    pub parameters: Vec<BackupParameter>,
}

impl BackupDocument {
    /// When a format-2 document says it was taken (UTC); `None` for the old script's local time.
    pub fn taken_utc(&self) -> Option<time::OffsetDateTime> {
        (self.format == DocumentFormat::V2)
            .then_some(self.backup_timestamp.as_deref())
            .flatten()
            .and_then(parse_backup_timestamp)
    }
}

/// A `backup_timestamp` (`YYYYMMDD_HHMMSS`, UTC) as a time.
pub fn parse_backup_timestamp(text: &str) -> Option<time::OffsetDateTime> {
    let format = time::macros::format_description!("[year][month][day]_[hour][minute][second]");
    time::PrimitiveDateTime::parse(text, format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[derive(Deserialize)]
struct RawDocument {
    format_version: Option<serde_json::Value>,
    environment: Option<String>,
    region: Option<String>,
    backup_timestamp: Option<String>,
    parameter_count: Option<serde_json::Value>,
    parameters: Option<Vec<BackupParameter>>,
}

/// Parses a document and checks it is whole: a known format, a `parameter_count` equal to the
/// number of parameters, at least one parameter. The error says what is wrong; it never holds
/// a value (serde's messages quote no input here: values are plain strings).
pub fn read_document(bytes: &[u8]) -> Result<BackupDocument, String> {
    let raw: RawDocument = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a backup document (not JSON of the expected shape, at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let format = match &raw.format_version {
        None => DocumentFormat::Legacy,
        Some(v) if v.as_u64() == Some(u64::from(BACKUP_FORMAT_VERSION)) => DocumentFormat::V2,
        Some(v) => {
            return Err(format!(
                "format version {v} is not one this ssm-keeper reads ({BACKUP_FORMAT_VERSION}, or the old script's)"
            ));
        }
    };
    let parameters = raw
        .parameters
        .ok_or("not a backup document: it has no `parameters` list")?;
    let count = raw
        .parameter_count
        .as_ref()
        .and_then(serde_json::Value::as_u64)
        .ok_or("not a backup document: it has no `parameter_count`")?;
    if count != parameters.len() as u64 {
        return Err(format!(
            "parameter_count says {count} but the document holds {} parameters: it is damaged or incomplete",
            parameters.len()
        ));
    }
    if parameters.is_empty() {
        return Err("the document holds no parameter".to_string());
    }
    Ok(BackupDocument {
        format,
        environment: raw.environment,
        region: raw.region,
        backup_timestamp: raw.backup_timestamp,
        parameters,
    })
}

/// Whether a document is the backup of `environment` in `region`: what differs, one line each.
pub fn identity_problems(doc: &BackupDocument, environment: &str, region: &str) -> Vec<String> {
    let mut out = Vec::new();
    if doc.environment.as_deref() != Some(environment) {
        out.push(format!(
            "it is a backup of environment `{}`, not `{environment}`",
            doc.environment.as_deref().unwrap_or("(none)")
        ));
    }
    if let Some(found) = &doc.region
        && found != region
    {
        out.push(format!("it is a backup of region {found}, not {region}"));
    }
    out
}

/// Whether SSM takes `name` as a parameter name: letters, digits, `_.-/`, at most 1011
/// characters.
pub fn is_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 1011
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
}

/// Entries restore would fail on, one line each: a name SSM does not allow (shown escaped, so it
/// cannot forge a line of output), a name held twice, a type SSM does not have, an empty value
/// (PutParameter refuses one). Names are shown; values never. Only the parameter types SSM has
/// (`ParameterKind`) can be restored.
pub fn entry_problems(doc: &BackupDocument) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in &doc.parameters {
        if !is_parameter_name(&p.name) {
            out.push(format!(
                "\"{}\" is not a parameter name SSM allows",
                p.name.escape_debug()
            ));
            continue;
        }
        if !seen.insert(p.name.as_str()) {
            out.push(format!("{} is in the document twice", p.name));
        }
        if p.parameter_kind().is_none() {
            let kinds: Vec<&str> = ParameterKind::VARIANTS.iter().map(|k| k.as_str()).collect();
            out.push(format!(
                "{} has the type `{}`, not one of {}",
                p.name,
                p.kind,
                kinds.join(", ")
            ));
        }
        if p.value.expose().is_empty() {
            out.push(format!("{} has an empty value", p.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_restore_would_fail_on_are_named_without_their_values() {
        assert!(entry_problems(&read_document(V2.as_bytes()).unwrap()).is_empty());
        let bad = r#"{"environment":"dev","parameter_count":3,"parameters":[
          {"Name":"/a","Type":"String","Value":"x","Version":1},
          {"Name":"/a","Type":"Secret","Value":"hidden-7","Version":1},
          {"Name":"/b","Type":"String","Value":"","Version":1}]}"#;
        let problems = entry_problems(&read_document(bad.as_bytes()).unwrap());
        assert_eq!(
            problems,
            [
                "/a is in the document twice",
                "/a has the type `Secret`, not one of String, StringList, SecureString",
                "/b has an empty value",
            ]
        );
        assert!(!problems.concat().contains("hidden-7"));
        let forged = r#"{"environment":"dev","parameter_count":1,"parameters":[
          {"Name":"/app/dev/x\n  us-east-1 OK","Type":"String","Value":"v","Version":1}]}"#;
        assert_eq!(
            entry_problems(&read_document(forged.as_bytes()).unwrap()),
            [r#""/app/dev/x\n  us-east-1 OK" is not a parameter name SSM allows"#]
        );
    }

    const V2: &str = r#"{"format_version":2,"tool_version":"0.1.0","backup_date":"2026-11-23","backup_timestamp":"20261123_130000","environment":"dev","region":"us-east-1","account":"123456789012","parameters":[{"Name":"/app/dev/a","Type":"SecureString","Value":"s3cr3t","DataType":"text","Version":3,"KeyId":"alias/aws/ssm","Tier":"Standard"}],"parameter_count":1}"#;

    /// As the old script wrote it, from `aws ssm get-parameters --with-decryption`.
    const LEGACY: &str = r#"{"backup_date":"2025-10-01","backup_timestamp":"20251001_220000","environment":"dev","parameter_count":2,"parameters":[
      {"Name":"/jenkins/dev/token","Type":"SecureString","Value":"t0k3n","Version":2,"LastModifiedDate":"2025-09-01T10:00:00.123000+09:00","ARN":"arn:aws:ssm:ap-northeast-1:123456789012:parameter/jenkins/dev/token","DataType":"text"},
      {"Name":"/jenkins/dev/hosts","Type":"StringList","Value":"a,b","Version":1,"LastModifiedDate":1693530000.5,"ARN":"arn:aws:ssm:ap-northeast-1:123456789012:parameter/jenkins/dev/hosts","DataType":"text"}]}"#;

    #[test]
    fn reads_format_2_with_every_attribute() {
        let doc = read_document(V2.as_bytes()).unwrap();
        assert_eq!(doc.format, DocumentFormat::V2);
        assert_eq!(doc.region.as_deref(), Some("us-east-1"));
        let p = &doc.parameters[0];
        assert_eq!(
            (p.kind.as_str(), p.value.expose(), p.key_id.as_deref()),
            ("SecureString", "s3cr3t", Some("alias/aws/ssm"))
        );
        assert!(identity_problems(&doc, "dev", "us-east-1").is_empty());
        assert_eq!(
            identity_problems(&doc, "prod", "eu-west-1"),
            [
                "it is a backup of environment `dev`, not `prod`",
                "it is a backup of region us-east-1, not eu-west-1"
            ]
        );
    }

    #[test]
    fn reads_the_old_scripts_documents() {
        let doc = read_document(LEGACY.as_bytes()).unwrap();
        assert_eq!(doc.format, DocumentFormat::Legacy);
        assert_eq!(doc.region, None);
        assert_eq!(doc.parameters.len(), 2);
        assert_eq!(
            doc.parameters[1].last_modified_date.as_deref(),
            Some("1693530000.5")
        );
        assert_eq!(doc.parameters[0].tier, None, "unknown in that format");
        assert!(identity_problems(&doc, "dev", "ap-northeast-1").is_empty());
    }

    #[test]
    fn damaged_documents_are_refused_saying_why() {
        let wrong_count = V2.replace(r#""parameter_count":1"#, r#""parameter_count":2"#);
        assert_eq!(
            read_document(wrong_count.as_bytes()).unwrap_err(),
            "parameter_count says 2 but the document holds 1 parameters: it is damaged or incomplete"
        );
        let cut = &V2[..V2.len() / 2];
        let e = read_document(cut.as_bytes()).unwrap_err();
        assert!(e.starts_with("not a backup document"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let future = V2.replace(r#""format_version":2"#, r#""format_version":9"#);
        assert!(
            read_document(future.as_bytes())
                .unwrap_err()
                .contains("format version 9")
        );
        let empty = r#"{"environment":"dev","parameter_count":0,"parameters":[]}"#;
        assert_eq!(
            read_document(empty.as_bytes()).unwrap_err(),
            "the document holds no parameter"
        );
    }
}
