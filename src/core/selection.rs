//! Which parameters belong to an environment: the one rule that backup (what it copies), verify
//! (what a document may hold), restore (what it may write) and iam-policy (what a role may
//! touch) all use. Pure.

use super::drill::DRILL_ROOT;
use super::lock::{LOCK_PREFIX, is_lock_parameter};
use super::stack::Stack;

/// The parameters of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    environment: String,
    rule: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `parameterPaths`: exactly the parameters under these prefixes (each starts and ends
    /// with `/`).
    Paths(Vec<String>),
    /// No `parameterPaths`: every parameter whose name holds the path segment `/{env}/`, the old
    /// job's rule (which also takes `/jenkins/prod/dev/x` into `dev`).
    Segment,
}

impl Selection {
    pub fn of(stack: &Stack) -> Self {
        match &stack.parameter_paths {
            Some(paths) => Selection::paths(&stack.environment, paths.clone()),
            None => Selection::segment(&stack.environment),
        }
    }

    /// The old job's rule: names holding `/{environment}/`.
    pub fn segment(environment: &str) -> Self {
        Selection {
            environment: environment.to_string(),
            rule: Rule::Segment,
        }
    }

    /// Exactly the parameters under `paths`.
    pub fn paths(environment: &str, paths: Vec<String>) -> Self {
        Selection {
            environment: environment.to_string(),
            rule: Rule::Paths(paths),
        }
    }

    /// Whether `name` belongs to the environment. A lock never does, nor the metadata of
    /// another environment (`/jenkins/<other>/backup/...`), nor a drill's scratch copy
    /// (`/drills/ssm-keeper/...`, left by a killed drill until the next one), whatever the rule
    /// says.
    pub fn contains(&self, name: &str) -> bool {
        let foreign_metadata = metadata_environment(name).is_some_and(|e| e != self.environment);
        !is_lock_parameter(name)
            && !foreign_metadata
            && !name.starts_with(DRILL_ROOT)
            && match &self.rule {
                Rule::Paths(paths) => paths.iter().any(|p| name.starts_with(p.as_str())),
                Rule::Segment => name.contains(&format!("/{}/", self.environment)),
            }
    }

    /// Whether a name under `prefix` may belong (`restore --only`): under a path, or a path
    /// under it; for the segment rule, a prefix holding the segment.
    pub fn may_hold(&self, prefix: &str) -> bool {
        match &self.rule {
            Rule::Paths(paths) => paths
                .iter()
                .any(|p| prefix.starts_with(p.as_str()) || p.starts_with(prefix)),
            Rule::Segment => prefix.contains(&format!("/{}/", self.environment)),
        }
    }

    /// The DescribeParameters filter (key, option, values) that lists every parameter of the
    /// selection (and perhaps more: `contains` decides).
    pub fn listing_filter(&self) -> (&'static str, &'static str, Vec<String>) {
        match &self.rule {
            Rule::Paths(paths) => ("Name", "BeginsWith", paths.clone()),
            Rule::Segment => ("Name", "Contains", vec![format!("/{}/", self.environment)]),
        }
    }

    /// The parameter ARNs' resource parts (after `parameter`) that cover the selection, for IAM.
    pub fn arn_patterns(&self) -> Vec<String> {
        match &self.rule {
            Rule::Paths(paths) => paths.iter().map(|p| format!("{p}*")).collect(),
            Rule::Segment => {
                let env = &self.environment;
                vec![format!("/{env}/*"), format!("/*/{env}/*")]
            }
        }
    }

    /// The rule in words, for messages.
    pub fn describe(&self) -> String {
        match &self.rule {
            Rule::Paths(paths) => format!("parameterPaths {}", paths.join(", ")),
            Rule::Segment => format!("names holding the segment /{}/", self.environment),
        }
    }
}

/// The environment whose ssm-keeper metadata `name` is (`/jenkins/<env>/backup/...`), if it is.
pub fn metadata_environment(name: &str) -> Option<&str> {
    let (env, rest) = name.strip_prefix("/jenkins/")?.split_once('/')?;
    rest.starts_with("backup/").then_some(env)
}

/// Why `prefix` may not receive restored parameters (`--to-prefix`), if it may not: it is not a
/// path prefix, or it would cover or fall under the locks or any environment's metadata
/// (`/jenkins/<env>/backup/`).
pub fn forbidden_target(prefix: &str) -> Option<String> {
    if let Err(m) = super::stack::check_parameter_path(prefix) {
        return Some(m);
    }
    let locks = prefix.starts_with(LOCK_PREFIX) || LOCK_PREFIX.starts_with(prefix);
    // `/jenkins/` and `/jenkins/<env>/` hold metadata below them; `/jenkins/<env>/backup/...`
    // is metadata.
    let levels = prefix.trim_matches('/').split('/').count();
    let metadata =
        metadata_environment(prefix).is_some() || (prefix.starts_with("/jenkins/") && levels <= 2);
    let drills = prefix.starts_with(DRILL_ROOT) || DRILL_ROOT.starts_with(prefix);
    (locks || metadata || drills).then(|| {
        format!(
            "`{prefix}` would put restored parameters among {}, which ssm-keeper keeps for its locks, the stacks' metadata and the drills (every `restore --drill` deletes what is there)",
            if locks {
                LOCK_PREFIX
            } else if drills {
                DRILL_ROOT
            } else {
                "/jenkins/<env>/backup/"
            }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Selection {
        Selection::paths("dev", p.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_segment_rule_is_the_old_jobs_and_paths_are_exact() {
        let segment = Selection::segment("dev");
        assert!(segment.contains("/jenkins/dev/db/password"));
        assert!(
            segment.contains("/jenkins/prod/dev/api-key"),
            "the old rule's catch"
        );
        assert!(!segment.contains("/prod/devices/serial"));
        assert!(!segment.contains("/jenkins/devops/token"));
        assert!(!segment.contains("/locks/ssm-keeper/dev/x"));
        // Another environment's metadata never belongs, even to an environment named `backup`.
        assert!(!Selection::segment("backup").contains("/jenkins/prod/backup/region-list"));
        assert!(!paths(&["/jenkins/"]).contains("/jenkins/prod/backup/region-list"));
        assert!(paths(&["/jenkins/"]).contains("/jenkins/dev/backup/region-list"));

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
        let segment = Selection::segment("dev");
        assert!(segment.may_hold("/jenkins/dev/"));
        assert!(!segment.may_hold("/jenkins/prod/"));
    }

    #[test]
    fn listing_and_iam_cover_the_selection() {
        assert_eq!(
            Selection::segment("dev").listing_filter(),
            ("Name", "Contains", vec!["/dev/".to_string()])
        );
        assert_eq!(
            paths(&["/a/dev/"]).listing_filter(),
            ("Name", "BeginsWith", vec!["/a/dev/".to_string()])
        );
        assert_eq!(
            Selection::segment("dev").arn_patterns(),
            ["/dev/*", "/*/dev/*"]
        );
        assert_eq!(
            paths(&["/a/dev/", "/b/"]).arn_patterns(),
            ["/a/dev/*", "/b/*"]
        );
    }

    #[test]
    fn a_drill_target_never_lands_on_locks_or_metadata() {
        assert_eq!(forbidden_target("/drill/dev/"), None);
        assert_eq!(forbidden_target("/jenkins/prod/drill/"), None);
        for bad in ["/", "/drill", "drill/", "/drill//x/"] {
            assert!(forbidden_target(bad).is_some(), "{bad}");
        }
        for reserved in [
            "/locks/",
            "/locks/ssm-keeper/",
            "/locks/ssm-keeper/dev/",
            "/jenkins/",
            "/jenkins/dev/",
            "/jenkins/prod/",
            "/jenkins/dev/backup/",
            "/jenkins/prod/backup/x/",
            "/drills/ssm-keeper/",
            "/drills/ssm-keeper/dev/",
        ] {
            let why = forbidden_target(reserved).expect(reserved);
            assert!(
                why.contains("keeps for its locks, the stacks' metadata and the drills"),
                "{why}"
            );
        }
    }

    #[test]
    fn a_drills_scratch_copy_belongs_to_no_environment() {
        let name = "/drills/ssm-keeper/dev/20261129T173005Z-3fa9c1/app/dev/db";
        assert!(!Selection::segment("dev").contains(name));
        assert!(!paths(&["/drills/ssm-keeper/"]).contains(name));
        assert!(Selection::segment("dev").contains("/app/dev/db"));
    }
}
