//! Which parameters belong to an environment: the one rule that backup (what it copies), verify
//! (what a document may hold), restore (what it may write) and iam-policy (what a role may
//! touch) all use. Pure.

use super::desired::backup_prefix;
use super::lock::{LOCK_PREFIX, is_lock_parameter};
use super::stack::Stack;

/// The parameters of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `parameterPaths`: exactly the parameters under these prefixes (each starts and ends
    /// with `/`).
    Paths(Vec<String>),
    /// No `parameterPaths`: every parameter whose name holds the path segment `/{env}/`, the old
    /// job's rule (which also takes `/jenkins/prod/dev/x` into `dev`).
    Segment(String),
}

impl Selection {
    pub fn of(stack: &Stack) -> Self {
        match &stack.parameter_paths {
            Some(paths) => Selection::Paths(paths.clone()),
            None => Selection::Segment(stack.environment.clone()),
        }
    }

    /// Whether `name` belongs to the environment. A lock never does.
    pub fn contains(&self, name: &str) -> bool {
        !is_lock_parameter(name)
            && match self {
                Selection::Paths(paths) => paths.iter().any(|p| name.starts_with(p.as_str())),
                Selection::Segment(env) => name.contains(&format!("/{env}/")),
            }
    }

    /// Whether a name under `prefix` may belong (`restore --only`): under a path, or a path
    /// under it; for the segment rule, a prefix holding the segment.
    pub fn may_hold(&self, prefix: &str) -> bool {
        match self {
            Selection::Paths(paths) => paths
                .iter()
                .any(|p| prefix.starts_with(p.as_str()) || p.starts_with(prefix)),
            Selection::Segment(env) => prefix.contains(&format!("/{env}/")),
        }
    }

    /// The DescribeParameters filter (key, option, values) that lists every parameter of the
    /// selection (and perhaps more: `contains` decides).
    pub fn listing_filter(&self) -> (&'static str, &'static str, Vec<String>) {
        match self {
            Selection::Paths(paths) => ("Name", "BeginsWith", paths.clone()),
            Selection::Segment(env) => ("Name", "Contains", vec![format!("/{env}/")]),
        }
    }

    /// The parameter ARNs' resource parts (after `parameter`) that cover the selection, for IAM.
    pub fn arn_patterns(&self) -> Vec<String> {
        match self {
            Selection::Paths(paths) => paths.iter().map(|p| format!("{p}*")).collect(),
            Selection::Segment(env) => vec![format!("/{env}/*"), format!("/*/{env}/*")],
        }
    }

    /// The rule in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Selection::Paths(paths) => format!("parameterPaths {}", paths.join(", ")),
            Selection::Segment(env) => format!("names holding the segment /{env}/"),
        }
    }
}

/// Why `prefix` may not receive restored parameters (`--to-prefix`), if it may not: it is not a
/// path prefix, or it would cover or fall under the locks or the stack's metadata.
pub fn forbidden_target(prefix: &str, environment: &str) -> Option<String> {
    if let Err(m) = super::stack::check_parameter_path(prefix) {
        return Some(m);
    }
    let metadata = format!("{}/", backup_prefix(environment));
    [LOCK_PREFIX, metadata.as_str()]
        .into_iter()
        .find(|reserved| prefix.starts_with(reserved) || reserved.starts_with(prefix))
        .map(|reserved| {
            format!(
                "`{prefix}` would put restored parameters among {reserved}, which ssm-keeper keeps for its locks and the stack's metadata"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Selection {
        Selection::Paths(p.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_segment_rule_is_the_old_jobs_and_paths_are_exact() {
        let segment = Selection::Segment("dev".into());
        assert!(segment.contains("/jenkins/dev/db/password"));
        assert!(
            segment.contains("/jenkins/prod/dev/api-key"),
            "the old rule's catch"
        );
        assert!(!segment.contains("/prod/devices/serial"));
        assert!(!segment.contains("/jenkins/devops/token"));
        assert!(!segment.contains("/locks/ssm-keeper/dev/x"));

        let exact = paths(&["/jenkins/dev/", "/app/dev/"]);
        assert!(exact.contains("/jenkins/dev/db/password"));
        assert!(exact.contains("/app/dev/x"));
        assert!(!exact.contains("/jenkins/prod/dev/api-key"));
        assert!(!exact.contains("/jenkins/devops/token"));
        assert!(!exact.contains("/app/dev"));
    }

    #[test]
    fn only_and_its_overlap_with_the_selection() {
        let exact = paths(&["/jenkins/dev/"]);
        assert!(exact.may_hold("/jenkins/dev/db/"));
        assert!(exact.may_hold("/jenkins/"));
        assert!(!exact.may_hold("/jenkins/prod/"));
        let segment = Selection::Segment("dev".into());
        assert!(segment.may_hold("/jenkins/dev/"));
        assert!(!segment.may_hold("/jenkins/prod/"));
    }

    #[test]
    fn listing_and_iam_cover_the_selection() {
        assert_eq!(
            Selection::Segment("dev".into()).listing_filter(),
            ("Name", "Contains", vec!["/dev/".to_string()])
        );
        assert_eq!(
            paths(&["/a/dev/"]).listing_filter(),
            ("Name", "BeginsWith", vec!["/a/dev/".to_string()])
        );
        assert_eq!(
            Selection::Segment("dev".into()).arn_patterns(),
            ["/dev/*", "/*/dev/*"]
        );
        assert_eq!(
            paths(&["/a/dev/", "/b/"]).arn_patterns(),
            ["/a/dev/*", "/b/*"]
        );
    }

    #[test]
    fn a_drill_target_never_lands_on_locks_or_metadata() {
        assert_eq!(forbidden_target("/drill/dev/", "dev"), None);
        for bad in ["/", "/drill", "drill/", "/drill//x/"] {
            assert!(forbidden_target(bad, "dev").is_some(), "{bad}");
        }
        for reserved in [
            "/locks/",
            "/locks/ssm-keeper/",
            "/locks/ssm-keeper/dev/",
            "/jenkins/",
            "/jenkins/dev/",
            "/jenkins/dev/backup/",
            "/jenkins/dev/backup/x/",
        ] {
            let why = forbidden_target(reserved, "dev").expect(reserved);
            assert!(why.contains("keeps for its locks"), "{why}");
        }
        assert_eq!(forbidden_target("/jenkins/prod/", "dev"), None);
    }
}
