//! `restore --drill`: where a drill writes (a scratch path per environment and run), which
//! names SSM would refuse there, the projection at AWS's default PutParameter rate, the
//! per-region report and its renderers. Pure.

use serde::Serialize;
use std::fmt::{self, Write};

/// Every drill writes under this root, and nothing else does. Beside the locks'
/// `/locks/ssm-keeper/`: AWS refuses names whose first level starts with `ssm` or `aws`, so
/// not `/ssm-keeper-drill/`.
pub const DRILL_ROOT: &str = "/drills/ssm-keeper/";
/// AWS's default PutParameter throughput per account and region (10 with higher throughput):
/// how fast a real restore of the region could write, whatever `--max-rps` says.
pub const DEFAULT_PUT_PARAMETER_RPS: f64 = 3.0;
/// SSM's limit on a parameter's name, counted with its whole ARN.
pub const MAX_NAME_WITH_ARN: usize = 1011;
/// SSM's limit on a name's hierarchy levels.
pub const MAX_LEVELS: usize = 15;

/// `/drills/ssm-keeper/<environment>/`: every drill of the environment, the cleanup's scope.
pub fn drill_prefix(environment: &str) -> String {
    format!("{DRILL_ROOT}{environment}/")
}

/// `/drills/ssm-keeper/<environment>/<run id>/`: where one run writes.
pub fn run_prefix(environment: &str, run_id: &str) -> String {
    format!("{}{run_id}/", drill_prefix(environment))
}

/// A run's id, safe in an SSM name: the UTC time to the second and a short random suffix
/// (`20261129T173000Z-3fa9c1`), so runs sort by time and two at once never share one.
pub fn run_id(now: time::OffsetDateTime, random: u32) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:06x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        random & 0xff_ffff
    )
}

/// Why SSM would refuse `name` (too long with its ARN, or too deep), if it would.
pub fn name_problem(name: &str, arn_prefix: &str) -> Option<String> {
    let length = arn_prefix.len() + name.len();
    let levels = name.split('/').filter(|s| !s.is_empty()).count();
    if length > MAX_NAME_WITH_ARN {
        Some(format!(
            "{length} characters with its ARN under the drill path (SSM allows {MAX_NAME_WITH_ARN})"
        ))
    } else if levels > MAX_LEVELS {
        Some(format!(
            "{levels} levels under the drill path (SSM allows {MAX_LEVELS})"
        ))
    } else {
        None
    }
}

/// `arn:<partition>:ssm:<region>:<account>:parameter`: what SSM counts before a name.
pub fn parameter_arn_prefix(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:ssm:{region}:{account}:parameter")
}

/// How long a restore of `parameters` takes at the default PutParameter rate, in seconds.
pub fn projected_seconds(parameters: usize) -> f64 {
    parameters as f64 / DEFAULT_PUT_PARAMETER_RPS
}

/// A region's drill, as it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillResult {
    /// Every parameter written and read back identical.
    Passed,
    /// The backup fails its checks, or a parameter does not read back as written.
    Differs,
    /// The drill could not run (no backup, an AWS error, a missing KMS key).
    Error,
}

impl DrillResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            DrillResult::Passed => "PASSED",
            DrillResult::Differs => "DIFFERS",
            DrillResult::Error => "ERROR",
        }
    }
}

/// One region's drill: what was restored, how it went, how long it took, what was cleaned up.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionDrill {
    pub region: String,
    /// The backup restored (`s3://bucket/key`), when found.
    pub source: Option<String>,
    /// Parameters written and read back.
    pub parameters: usize,
    /// Names not drilled, each with why (outside the environment, a lock, too long there).
    pub skipped: Vec<String>,
    pub result: DrillResult,
    /// What differs or why it could not run; never a value.
    pub problems: Vec<String>,
    /// From finding the backup to the last read-back.
    pub duration_seconds: f64,
    /// `parameters` at `DEFAULT_PUT_PARAMETER_RPS`.
    pub projected_seconds: f64,
    /// Parameters deleted under the environment's drill path (this run's and any left over).
    pub cleaned_up: usize,
    /// Why the cleanup failed, if it did: something may be left under the drill path.
    pub cleanup_error: Option<String>,
}

impl RegionDrill {
    /// Passed, and left nothing behind.
    pub fn ok(&self) -> bool {
        self.result == DrillResult::Passed && self.cleanup_error.is_none()
    }
}

/// 0 every region passed and was cleaned up; 1 a drill or a cleanup could not run; 2 a
/// difference (and nothing worse).
pub fn exit_code(drills: &[RegionDrill]) -> u8 {
    if drills
        .iter()
        .any(|d| d.result == DrillResult::Error || d.cleanup_error.is_some())
    {
        1
    } else if drills.iter().any(|d| d.result == DrillResult::Differs) {
        2
    } else {
        0
    }
}

/// The report for humans: a table, then each region's problems and skipped names.
pub fn render_text(drills: &[RegionDrill]) -> String {
    super::render::text(|out| write_text(out, drills))
}

fn write_text(out: &mut impl Write, drills: &[RegionDrill]) -> fmt::Result {
    writeln!(
        out,
        "{:<16} {:<8} {:>10} {:>12} {:>16} {:>8}",
        "REGION", "RESULT", "PARAMETERS", "DURATION (S)", "AT 3/S (S)", "CLEANED"
    )?;
    for d in drills {
        writeln!(
            out,
            "{:<16} {:<8} {:>10} {:>12.1} {:>16.1} {:>8}",
            d.region,
            d.result.as_str(),
            d.parameters,
            d.duration_seconds,
            d.projected_seconds,
            if d.cleanup_error.is_some() {
                "FAILED".to_string()
            } else {
                d.cleaned_up.to_string()
            }
        )?;
    }
    for d in drills {
        for problem in &d.problems {
            writeln!(out, "  {} {}: {problem}", d.region, d.result.as_str())?;
        }
        if let Some(e) = &d.cleanup_error {
            writeln!(out, "  {} cleanup failed: {e}", d.region)?;
        }
        for skipped in &d.skipped {
            writeln!(out, "  {} not drilled: {skipped}", d.region)?;
        }
    }
    let line = match exit_code(drills) {
        0 => "Every region's backup restored and read back identical; the drill path is empty.",
        2 => "A backup does not restore as it is: see the differences above.",
        _ => "The drill could not run everywhere: see above.",
    };
    writeln!(out, "\n{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(region: &str, result: DrillResult, cleanup_error: Option<&str>) -> RegionDrill {
        RegionDrill {
            region: region.into(),
            source: Some("s3://b/k.json".into()),
            parameters: 30,
            skipped: Vec::new(),
            result,
            problems: Vec::new(),
            duration_seconds: 2.25,
            projected_seconds: projected_seconds(30),
            cleaned_up: 30,
            cleanup_error: cleanup_error.map(str::to_string),
        }
    }

    #[test]
    fn a_run_writes_under_its_own_path_inside_the_environments() {
        let now = time::macros::datetime!(2026-11-29 17:30:05 UTC);
        let id = run_id(now, 0x3fa9c1);
        assert_eq!(id, "20261129T173005Z-3fa9c1");
        assert_eq!(run_id(now, 0xff_3fa9c1), id, "six hex digits");
        let prefix = run_prefix("prod", &id);
        assert_eq!(prefix, "/drills/ssm-keeper/prod/20261129T173005Z-3fa9c1/");
        assert!(prefix.starts_with(&drill_prefix("prod")));
        assert!(crate::core::stack::check_parameter_path(&prefix).is_ok());
    }

    #[test]
    fn names_ssm_would_refuse_under_the_drill_path_are_named() {
        let arn = parameter_arn_prefix("aws", "ap-northeast-1", "123456789012");
        assert_eq!(arn, "arn:aws:ssm:ap-northeast-1:123456789012:parameter");
        let base = "/drills/ssm-keeper/dev/20261129T173005Z-3fa9c1";
        assert_eq!(name_problem(&format!("{base}/app/dev/db"), &arn), None);
        let deep = format!("{base}{}", "/a".repeat(11));
        assert_eq!(name_problem(&deep, &arn), None, "15 levels");
        let too_deep = format!("{base}{}", "/a".repeat(12));
        assert_eq!(
            name_problem(&too_deep, &arn).as_deref(),
            Some("16 levels under the drill path (SSM allows 15)")
        );
        let long = format!(
            "{base}/{}",
            "x".repeat(MAX_NAME_WITH_ARN - arn.len() - base.len())
        );
        assert_eq!(name_problem(&long[..long.len() - 1], &arn), None);
        assert!(
            name_problem(&long, &arn)
                .is_some_and(|p| p.starts_with("1012 characters with its ARN")),
            "{long}"
        );
    }

    #[test]
    fn the_exit_code_is_the_worst_region_and_a_failed_cleanup_is_an_error() {
        use DrillResult::*;
        assert_eq!(exit_code(&[drill("a", Passed, None)]), 0);
        assert_eq!(
            exit_code(&[drill("a", Passed, None), drill("b", Differs, None)]),
            2
        );
        assert_eq!(
            exit_code(&[drill("a", Differs, None), drill("b", Error, None)]),
            1
        );
        assert_eq!(exit_code(&[drill("a", Passed, Some("denied"))]), 1);
        assert!(!drill("a", Passed, Some("denied")).ok());
    }

    #[test]
    fn the_report_names_each_regions_result_durations_and_cleanup() {
        let mut failed = drill("us-west-2", DrillResult::Differs, None);
        failed.problems = vec!["/app/dev/db: value differ after writing".into()];
        failed.skipped = vec!["/locks/ssm-keeper/dev: an ssm-keeper lock is never restored".into()];
        let text = render_text(&[drill("ap-northeast-1", DrillResult::Passed, None), failed]);
        assert_eq!(
            text,
            "REGION           RESULT   PARAMETERS DURATION (S)       AT 3/S (S)  CLEANED\n\
             ap-northeast-1   PASSED           30          2.2             10.0       30\n\
             us-west-2        DIFFERS          30          2.2             10.0       30\n  \
             us-west-2 DIFFERS: /app/dev/db: value differ after writing\n  \
             us-west-2 not drilled: /locks/ssm-keeper/dev: an ssm-keeper lock is never restored\n\
             \nA backup does not restore as it is: see the differences above.\n"
        );
    }
}
