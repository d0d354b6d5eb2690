//! The shipped GitHub workflows and the roles' trust policies agree: for each role, the OIDC
//! subjects of the jobs that assume it (read from .github/workflows/, the manual jobs of
//! apply.yml included) are exactly the subjects `iam-policy --trust github` prints for the
//! repository's stacks, and `--also-branch-subject` adds only the default branch's subject to
//! the roles whose jobs moved into the stacks' environments. And the workflows keep what the
//! audit (`make zizmor`) asks of them: permissions only at job level, no persisted checkout
//! credentials, every job that reads a secret or assumes the backup, verify or restore role in
//! the stack's GitHub environment.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REPOSITORY: &str = "my-org/infra";
const ACCOUNT: &str = "111122223333";
/// The default branch (`iam-policy --branch`'s default).
const BRANCH: &str = "main";
const ROLES: [&str; 5] = ["plan", "apply", "backup", "verify", "restore"];
/// The roles whose jobs run in each stack's GitHub environment.
const STACK_ROLES: [&str; 3] = ["backup", "verify", "restore"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every shipped workflow: its file name and its document.
fn workflows() -> Vec<(String, Value)> {
    let dir = root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let doc: Value =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                doc,
            )
        })
        .collect()
}

/// The repository's stacks, by name (`stacks/<name>.yaml`).
fn stacks() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("stacks"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The roles a job assumes: each `role-to-assume: ${{ vars.SSM_KEEPER_<ROLE>_ROLE_ARN }}`.
fn assumed_roles(job: &Value) -> Vec<String> {
    let mut roles = Vec::new();
    for step in job["steps"].as_array().into_iter().flatten() {
        let uses = step["uses"].as_str().unwrap_or_default();
        if !uses.starts_with("aws-actions/configure-aws-credentials@") {
            continue;
        }
        let arn = step["with"]["role-to-assume"].as_str().unwrap_or_default();
        let role = arn
            .trim()
            .strip_prefix("${{ vars.SSM_KEEPER_")
            .and_then(|rest| rest.strip_suffix("_ROLE_ARN }}"))
            .unwrap_or_else(|| panic!("a role that is not SSM_KEEPER_<ROLE>_ROLE_ARN: {arn}"));
        roles.push(role.to_lowercase());
    }
    roles
}

/// The job's GitHub environments, its matrix expanded (`ssm-keeper-${{ matrix.environment }}`
/// is one environment per value): empty for a job bound to none. Also the matrix key the name
/// uses, if any.
fn environments(job: &Value) -> (Vec<String>, Option<String>) {
    let name = match &job["environment"] {
        Value::Null => return (Vec::new(), None),
        Value::String(name) => name.clone(),
        other => other["name"].as_str().unwrap().to_string(),
    };
    let Some(start) = name.find("${{") else {
        return (vec![name], None);
    };
    let end = name.find("}}").unwrap();
    let expression = name[start + 3..end].trim();
    let key = expression
        .strip_prefix("matrix.")
        .unwrap_or_else(|| panic!("an environment named by {expression}, not by the matrix"));
    let values = job["strategy"]["matrix"][key]
        .as_array()
        .unwrap_or_else(|| panic!("matrix.{key} is not a list of values"));
    let names = values
        .iter()
        .map(|v| {
            format!(
                "{}{}{}",
                &name[..start],
                v.as_str().unwrap(),
                &name[end + 2..]
            )
        })
        .collect();
    (names, Some(key.to_string()))
}

/// The OIDC subjects of a job: its environments' if it is bound to one, otherwise the refs its
/// workflow's triggers run it on.
fn subjects(workflow: &Value, job: &Value) -> BTreeSet<String> {
    let (names, _) = environments(job);
    if !names.is_empty() {
        return names
            .iter()
            .map(|name| format!("repo:{REPOSITORY}:environment:{name}"))
            .collect();
    }
    let mut subjects = BTreeSet::new();
    for (event, config) in workflow["on"].as_object().unwrap() {
        match event.as_str() {
            "pull_request" => {
                subjects.insert(format!("repo:{REPOSITORY}:pull_request"));
            }
            "push" => {
                assert!(config["tags"].is_null(), "a role assumed on a tag push");
                for branch in config["branches"].as_array().unwrap() {
                    let branch = branch.as_str().unwrap();
                    subjects.insert(format!("repo:{REPOSITORY}:ref:refs/heads/{branch}"));
                }
            }
            // A schedule runs on the default branch; a manual run is started from it (the
            // roles trust no other ref).
            "schedule" | "workflow_dispatch" => {
                subjects.insert(format!("repo:{REPOSITORY}:ref:refs/heads/{BRANCH}"));
            }
            other => panic!("a role assumed on {other}: which subject does it have?"),
        }
    }
    subjects
}

/// The subjects `iam-policy --trust github` prints for `role` over the repository's stacks.
fn printed_subjects(role: &str, extra: &[&str]) -> BTreeSet<String> {
    let mut args = vec![
        "iam-policy",
        "--role",
        role,
        "--account-id",
        ACCOUNT,
        "--trust",
        "github",
        "--repository",
        REPOSITORY,
    ];
    let stacks = stacks();
    for stack in &stacks {
        args.extend(["--stack", stack]);
    }
    args.extend(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_ssm-keeper"))
        .args(&args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sub = &document["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"];
    match sub {
        Value::String(one) => BTreeSet::from([one.clone()]),
        Value::Array(many) => many
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
        other => panic!("{role}: no subject in {other}"),
    }
}

#[test]
fn the_trust_policies_name_exactly_the_subjects_the_workflows_use() {
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut jobs_per_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, workflow) in workflows() {
        for (name, job) in workflow["jobs"].as_object().unwrap() {
            for role in assumed_roles(job) {
                assert!(ROLES.contains(&role.as_str()), "{file} {name}: {role}");
                used.entry(role.clone())
                    .or_default()
                    .extend(subjects(&workflow, job));
                jobs_per_role
                    .entry(role)
                    .or_default()
                    .push(format!("{file}:{name}"));
            }
        }
    }
    // Every role is assumed somewhere: the plan role by the pull requests' plan and by the
    // apply workflow's manual plan, apply behind its gate, backup and verify by the nightly,
    // restore by the drill.
    assert_eq!(
        jobs_per_role["plan"],
        ["apply.yml:plan", "plan.yml:plan"],
        "{jobs_per_role:?}"
    );
    assert_eq!(jobs_per_role["apply"], ["apply.yml:apply"]);
    assert_eq!(jobs_per_role["backup"], ["nightly.yml:backup"]);
    assert_eq!(jobs_per_role["verify"], ["nightly.yml:backup"]);
    assert_eq!(jobs_per_role["restore"], ["drill.yml:drill"]);

    for role in ROLES {
        assert_eq!(
            printed_subjects(role, &[]),
            used[role],
            "the trust policy of the {role} role and the jobs that assume it ({:?})",
            jobs_per_role[role]
        );
    }
    // The pull requests' plan keeps its own subject; apply keeps its approval gate.
    assert!(used["plan"].contains(&format!("repo:{REPOSITORY}:pull_request")));
    assert_eq!(
        used["apply"],
        BTreeSet::from([format!("repo:{REPOSITORY}:environment:production")])
    );
    // Backup, verify and restore: each stack's environment, ssm-keeper-<stack>, and nothing
    // else.
    let per_stack: BTreeSet<String> = stacks()
        .iter()
        .map(|stack| format!("repo:{REPOSITORY}:environment:ssm-keeper-{stack}"))
        .collect();
    for role in STACK_ROLES {
        assert_eq!(used[role], per_stack, "{role}");
    }

    // For the switch: the old subject (the default branch) beside the new ones, for the roles
    // whose jobs moved; plan's and apply's unchanged.
    let branch = format!("repo:{REPOSITORY}:ref:refs/heads/{BRANCH}");
    for role in ROLES {
        let mut expected = used[role].clone();
        if STACK_ROLES.contains(&role) {
            assert!(!expected.contains(&branch), "{role}");
            expected.insert(branch.clone());
        }
        assert_eq!(
            printed_subjects(role, &["--also-branch-subject"]),
            expected,
            "{role} --also-branch-subject"
        );
    }
}

/// Whether a job reads a secret (`secrets.` anywhere in it).
fn reads_a_secret(job: &Value) -> bool {
    job.to_string().contains("secrets.")
}

/// The lines of job `name` in the workflow's text: from `  name:` to the next job or top-level
/// key.
fn job_lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("  {name}:");
    let mut lines = text.lines().skip_while(|l| *l != header);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no job {name} in the text"));
    let rest = lines
        .take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#'));
    std::iter::once(first).chain(rest).collect()
}

#[test]
fn the_workflows_keep_what_the_audit_asks() {
    let stacks = stacks();
    for (file, workflow) in workflows() {
        // Nothing granted to the whole workflow.
        assert_eq!(
            workflow["permissions"],
            serde_json::json!({}),
            "{file}: permissions belong to the jobs"
        );
        let text = std::fs::read_to_string(root().join(".github/workflows").join(&file)).unwrap();
        for (name, job) in workflow["jobs"].as_object().unwrap() {
            let at = format!("{file} {name}");
            // Each job says what it needs, each permission with its reason on its line.
            let permissions = job["permissions"]
                .as_object()
                .unwrap_or_else(|| panic!("{at}: no job-level permissions"));
            let lines = job_lines(&text, name);
            for (scope, level) in permissions {
                let line = format!("{scope}: {}", level.as_str().unwrap());
                let commented = lines.iter().any(|l| {
                    l.trim_start().starts_with(&line)
                        && l.split_once(" # ")
                            .is_some_and(|(_, why)| !why.trim().is_empty())
                });
                assert!(commented, "{at}: `{line}` has no comment saying why");
            }
            for step in job["steps"].as_array().into_iter().flatten() {
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    assert_eq!(
                        step["with"]["persist-credentials"],
                        Value::Bool(false),
                        "{at}: the checkout keeps the token in .git"
                    );
                }
            }
            let roles = assumed_roles(job);
            let stack_role = roles.iter().any(|r| STACK_ROLES.contains(&r.as_str()));
            let (environments, key) = environments(job);
            if stack_role || reads_a_secret(job) {
                // The stack's environment, named after the stack the job passes to --stack.
                let key = key.unwrap_or_else(|| panic!("{at}: in no stack's environment"));
                assert_eq!(
                    job["env"]["STACK"],
                    format!("${{{{ matrix.{key} }}}}"),
                    "{at}: the environment is not named after the stack"
                );
                let expected: Vec<String> =
                    stacks.iter().map(|s| format!("ssm-keeper-{s}")).collect();
                assert_eq!(environments, expected, "{at}");
            } else if roles.iter().any(|r| r == "plan") {
                assert!(
                    environments.is_empty(),
                    "{at}: the plan role's jobs are unbound"
                );
            }
        }
    }
}

#[test]
fn the_stack_names_its_environment_wherever_its_file_is() {
    // `--stack dev` and `--stack stacks/dev.yaml` are the same stack: ssm-keeper-dev.
    let by = |stack: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_ssm-keeper"))
            .args([
                "iam-policy",
                "--stack",
                stack,
                "--role",
                "backup",
                "--account-id",
                ACCOUNT,
                "--trust",
                "github",
                "--repository",
                REPOSITORY,
            ])
            .current_dir(root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
            .clone()
    };
    let expected = format!("repo:{REPOSITORY}:environment:ssm-keeper-dev");
    assert_eq!(by("dev"), Value::String(expected.clone()));
    assert_eq!(
        by(Path::new("stacks").join("dev.yaml").to_str().unwrap()),
        Value::String(expected)
    );
}
