//! The stack file (`stacks/<env>.yaml`): its raw serde schema and the validated `Stack`.
//! Every error names the file, line, column and key. Pure: the caller reads the file.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// A validated stack: everything `desired` needs besides the account id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stack {
    pub project_name: String,
    pub environment: String,
    pub regions: Vec<String>,
    pub default_region: String,
    pub ssm_home_region: String,
    pub retention_days: u32,
    pub noncurrent_retention_days: u32,
}

pub const DEFAULT_RETENTION_DAYS: u32 = 30;
pub const DEFAULT_NONCURRENT_RETENTION_DAYS: u32 = 7;
/// A hundred years: far beyond any backup policy, and far below where S3's 32-bit day counts
/// would wrap.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// A stack file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub key: String,
    pub message: String,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": `{}`: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for StackError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawStack {
    project_name: Spanned<String>,
    environment: Spanned<String>,
    regions: Spanned<Vec<Spanned<String>>>,
    default_region: Spanned<String>,
    ssm_home_region: Spanned<String>,
    retention_days: Option<Spanned<u32>>,
    noncurrent_retention_days: Option<Spanned<u32>>,
}

const KEYS: [&str; 7] = [
    "projectName",
    "environment",
    "regions",
    "defaultRegion",
    "ssmHomeRegion",
    "retentionDays",
    "noncurrentRetentionDays",
];

/// The 12 digits every account id has: bucket names are checked at their final length
/// before any AWS call.
const ACCOUNT_ID_PLACEHOLDER: &str = "000000000000";

/// Parses and validates a stack file. `file` is only used in messages.
pub fn parse(file: &str, text: &str) -> Result<Stack, StackError> {
    let raw: RawStack = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))?;
    let err = |key: &str, loc: &serde_saphyr::Location, message: String| StackError {
        file: file.to_string(),
        line: loc.line(),
        column: loc.column(),
        key: key.to_string(),
        message,
    };

    check_name(&raw.project_name.value, "project name")
        .map_err(|m| err("projectName", &raw.project_name.referenced, m))?;
    check_name(&raw.environment.value, "environment")
        .map_err(|m| err("environment", &raw.environment.referenced, m))?;

    if raw.regions.value.is_empty() {
        return Err(err(
            "regions",
            &raw.regions.referenced,
            "the list is empty: name at least one region".into(),
        ));
    }
    let mut regions: Vec<String> = Vec::with_capacity(raw.regions.value.len());
    for region in &raw.regions.value {
        check_region(&region.value).map_err(|m| err("regions", &region.referenced, m))?;
        if regions.contains(&region.value) {
            return Err(err(
                "regions",
                &region.referenced,
                format!("region `{}` is listed twice", region.value),
            ));
        }
        regions.push(region.value.clone());
    }

    check_region(&raw.default_region.value)
        .map_err(|m| err("defaultRegion", &raw.default_region.referenced, m))?;
    if !regions.contains(&raw.default_region.value) {
        return Err(err(
            "defaultRegion",
            &raw.default_region.referenced,
            format!(
                "`{}` is not one of `regions` ({})",
                raw.default_region.value,
                regions.join(", ")
            ),
        ));
    }
    check_region(&raw.ssm_home_region.value)
        .map_err(|m| err("ssmHomeRegion", &raw.ssm_home_region.referenced, m))?;

    let days = |field: &Option<Spanned<u32>>, key: &str, default: u32| match field {
        None => Ok(default),
        Some(d) if !(1..=MAX_RETENTION_DAYS).contains(&d.value) => Err(err(
            key,
            &d.referenced,
            format!(
                "{} is out of range: allowed are 1 to {MAX_RETENTION_DAYS} days",
                d.value
            ),
        )),
        Some(d) => Ok(d.value),
    };
    let retention_days = days(&raw.retention_days, "retentionDays", DEFAULT_RETENTION_DAYS)?;
    let noncurrent_retention_days = days(
        &raw.noncurrent_retention_days,
        "noncurrentRetentionDays",
        DEFAULT_NONCURRENT_RETENTION_DAYS,
    )?;

    for region in &raw.regions.value {
        let name = bucket_name(
            &raw.project_name.value,
            &raw.environment.value,
            ACCOUNT_ID_PLACEHOLDER,
            &region.value,
        );
        check_bucket_name(&name).map_err(|m| {
            err(
                "projectName",
                &raw.project_name.referenced,
                format!(
                    "the bucket name for {} would break S3 naming rules: {m}",
                    region.value
                ),
            )
        })?;
    }

    Ok(Stack {
        project_name: raw.project_name.value,
        environment: raw.environment.value,
        regions,
        default_region: raw.default_region.value,
        ssm_home_region: raw.ssm_home_region.value,
        retention_days,
        noncurrent_retention_days,
    })
}

/// `{projectName}-ssm-backup-{environment}-{account}-{region}`: the seeds' naming contract.
pub fn bucket_name(project: &str, environment: &str, account_id: &str, region: &str) -> String {
    format!(
        "{}{region}",
        bucket_prefix(project, environment, account_id)
    )
}

/// What every bucket name of one stack and account starts with (the region follows).
pub fn bucket_prefix(project: &str, environment: &str, account_id: &str) -> String {
    format!("{project}-ssm-backup-{environment}-{account_id}-")
}

/// A stack for tests: project `p`, environment `dev`, the first region default and home.
#[cfg(test)]
pub(crate) fn sample(regions: &[&str]) -> Stack {
    Stack {
        project_name: "p".into(),
        environment: "dev".into(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        default_region: regions[0].into(),
        ssm_home_region: regions[0].into(),
        retention_days: DEFAULT_RETENTION_DAYS,
        noncurrent_retention_days: DEFAULT_NONCURRENT_RETENTION_DAYS,
    }
}

fn yaml_error(file: &str, e: &serde_saphyr::Error) -> StackError {
    let message = e.to_string();
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    // serde names the key in its message (`unknown field `x``, `missing field `y``).
    let key = message
        .split('`')
        .nth(1)
        .filter(|k| !k.contains(' '))
        .unwrap_or_default()
        .to_string();
    let first_line = message.lines().next().unwrap_or_default().to_string();
    let message = if first_line.contains("unknown field") {
        format!("unknown key `{key}`; the keys are: {}", KEYS.join(", "))
    } else if first_line.contains("missing field") {
        format!("missing required key `{key}`")
    } else {
        first_line
    };
    StackError {
        file: file.to_string(),
        line,
        column,
        key,
        message,
    }
}

fn check_name(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{value}` contains `{c}`: use lowercase letters, digits and hyphens (it becomes part of bucket names and SSM paths)"
        ));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(format!("`{value}` must not start or end with a hyphen"));
    }
    Ok(())
}

/// AWS region names: `us-east-1`, `ap-northeast-1`, `us-gov-west-1`, ...
pub fn check_region(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a region name (expected something like `ap-northeast-1`)"
        ))
    }
}

/// S3 general purpose bucket naming rules.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    if name.len() < 3 || name.len() > 63 {
        return Err(format!(
            "`{name}` is {} characters long; S3 allows 3 to 63 (shorten projectName or environment)",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(format!("`{name}` contains `{c}`"));
    }
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(format!(
            "`{name}` must begin and end with a letter or digit"
        ));
    }
    if name.contains("..") {
        return Err(format!("`{name}` contains two adjacent periods"));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!(
                "`{name}` starts with the reserved prefix `{prefix}`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
projectName: jenkins-infra
environment: dev
regions:
  - ap-northeast-1
  - us-west-2
defaultRegion: ap-northeast-1
ssmHomeRegion: ap-northeast-1
";

    fn parse_err(text: &str) -> StackError {
        parse("stacks/dev.yaml", text).expect_err("should be rejected")
    }

    #[test]
    fn good_stack_parses_with_defaults() {
        let stack = parse("stacks/dev.yaml", GOOD).unwrap();
        assert_eq!(stack.project_name, "jenkins-infra");
        assert_eq!(stack.regions, ["ap-northeast-1", "us-west-2"]);
        assert_eq!(stack.retention_days, 30);
        assert_eq!(stack.noncurrent_retention_days, 7);
    }

    #[test]
    fn retention_can_be_set() {
        let text = format!("{GOOD}retentionDays: 90\nnoncurrentRetentionDays: 14\n");
        let stack = parse("f", &text).unwrap();
        assert_eq!(
            (stack.retention_days, stack.noncurrent_retention_days),
            (90, 14)
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e = parse_err(&format!("{GOOD}retentionDayz: 3\n"));
        assert_eq!(e.key, "retentionDayz");
        assert_eq!(e.line, 8);
        assert!(e.to_string().starts_with("stacks/dev.yaml:8:"), "{e}");
        assert!(e.message.contains("unknown key"), "{e}");
    }

    #[test]
    fn missing_key_is_named() {
        let e = parse_err(&GOOD.replace("ssmHomeRegion: ap-northeast-1\n", ""));
        assert_eq!(e.key, "ssmHomeRegion");
        assert!(e.message.contains("missing"), "{e}");
        assert!(e.line >= 1, "{e:?}");
    }

    #[test]
    fn empty_regions_rejected() {
        let text = GOOD
            .replace("  - ap-northeast-1\n  - us-west-2\n", "")
            .replace("regions:\n", "regions: []\n");
        let e = parse_err(&text);
        assert_eq!((e.key.as_str(), e.line), ("regions", 3), "{e}");
        assert!(e.message.contains("empty"));
    }

    #[test]
    fn duplicate_region_points_at_second_entry() {
        let e = parse_err(&GOOD.replace("  - us-west-2\n", "  - us-west-2\n  - us-west-2\n"));
        assert_eq!((e.key.as_str(), e.line), ("regions", 6), "{e}");
        assert!(e.message.contains("twice"));
    }

    #[test]
    fn malformed_region_rejected() {
        for bad in [
            "us_west_2",
            "uswest2",
            "US-WEST-2",
            "us-west-",
            "u-west-2",
            "us-west-2a",
        ] {
            let e = parse_err(&GOOD.replace("  - us-west-2\n", &format!("  - {bad}\n")));
            assert_eq!((e.key.as_str(), e.line), ("regions", 5), "{bad}: {e}");
            assert!(e.message.contains("not a region name"), "{e}");
        }
        let e = parse_err(&GOOD.replace("ssmHomeRegion: ap-northeast-1", "ssmHomeRegion: tokyo"));
        assert_eq!(e.key, "ssmHomeRegion");
    }

    #[test]
    fn default_region_must_be_listed() {
        let e =
            parse_err(&GOOD.replace("defaultRegion: ap-northeast-1", "defaultRegion: eu-west-1"));
        assert_eq!((e.key.as_str(), e.line), ("defaultRegion", 6), "{e}");
        assert!(e.message.contains("not one of"));
    }

    #[test]
    fn long_bucket_name_rejected_before_any_call() {
        let e = parse_err(&GOOD.replace("jenkins-infra", "a-very-long-project-name-for-backups"));
        assert_eq!(e.key, "projectName");
        assert!(e.message.contains("63"), "{e}");
    }

    #[test]
    fn bad_characters_rejected() {
        for bad in ["Jenkins", "jenkins_infra", "jenkins.infra", "-jenkins"] {
            let e = parse_err(&GOOD.replace(
                "projectName: jenkins-infra",
                &format!("projectName: \"{bad}\""),
            ));
            assert_eq!((e.key.as_str(), e.line), ("projectName", 1), "{bad}: {e}");
        }
        let e = parse_err(&GOOD.replace("environment: dev", "environment: Dev/1"));
        assert_eq!(e.key, "environment");
    }

    #[test]
    fn retention_out_of_range_names_the_range() {
        for bad in ["0", "36501", "4294967295"] {
            let e = parse_err(&format!("{GOOD}retentionDays: {bad}\n"));
            assert_eq!((e.key.as_str(), e.line), ("retentionDays", 8), "{bad}: {e}");
            assert!(e.message.contains("1 to 36500"), "{e}");
        }
        let e = parse_err(&format!("{GOOD}noncurrentRetentionDays: 50000\n"));
        assert_eq!(e.key, "noncurrentRetentionDays");
    }

    #[test]
    fn wrong_type_is_an_error_with_location() {
        let e = parse_err(&GOOD.replace(
            "regions:\n  - ap-northeast-1\n  - us-west-2\n",
            "regions: ap-northeast-1\n",
        ));
        assert!(e.line >= 3, "{e:?}");
    }

    #[test]
    fn bucket_name_rules() {
        assert!(
            check_bucket_name("jenkins-infra-ssm-backup-dev-123456789012-ap-northeast-1").is_ok()
        );
        assert!(check_bucket_name("ab").is_err());
        assert!(check_bucket_name(&"a".repeat(64)).is_err());
        assert!(check_bucket_name("a..b").is_err());
        assert!(check_bucket_name("xn--abc").is_err());
        assert!(check_bucket_name("abc-").is_err());
    }
}
