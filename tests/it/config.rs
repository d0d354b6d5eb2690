//! Bad stack files: a clear error naming file, line and key; exit code 1; no AWS call at all.

use crate::common::*;

const GOOD: &str = "projectName: itest\nenvironment: cfg\nregions:\n  - us-east-1\n  - eu-west-1\ndefaultRegion: us-east-1\nssmHomeRegion: us-east-1\n";

fn rejected(text: &str, expected: &str) {
    let ws = Workspace::new("cfg", &["us-east-1"], "us-east-1");
    ws.write_raw("bad", text);
    let run = ws.run(&["plan", "--stack", "bad", "--api-stats", "stats.json"]);
    assert_eq!(run.code, 1, "{text}\n{run:#?}");
    assert!(
        run.stderr.contains(expected),
        "expected `{expected}` in:\n{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        !ws.path("stats.json").exists(),
        "no AWS client may even be built for bad input"
    );
}

#[test]
fn unknown_key() {
    rejected(
        &format!("{GOOD}retentionDayz: 3\n"),
        "stacks/bad.yaml:8:1: `retentionDayz`: unknown key",
    );
}

#[test]
fn missing_key() {
    rejected(
        &GOOD.replace("ssmHomeRegion: us-east-1\n", ""),
        "`ssmHomeRegion`: missing required key",
    );
}

#[test]
fn empty_regions() {
    rejected(
        &GOOD.replace("regions:\n  - us-east-1\n  - eu-west-1\n", "regions: []\n"),
        "stacks/bad.yaml:3:10: `regions`: the list is empty",
    );
}

#[test]
fn duplicate_region() {
    rejected(
        &GOOD.replace("  - eu-west-1\n", "  - us-east-1\n"),
        "stacks/bad.yaml:5:5: `regions`: region `us-east-1` is listed twice",
    );
}

#[test]
fn malformed_region() {
    rejected(
        &GOOD.replace("  - eu-west-1\n", "  - eu_west_1\n"),
        "stacks/bad.yaml:5:5: `regions`: `eu_west_1` is not a region name",
    );
}

#[test]
fn default_region_not_listed() {
    rejected(
        &GOOD.replace("defaultRegion: us-east-1", "defaultRegion: ap-south-1"),
        "stacks/bad.yaml:6:16: `defaultRegion`: `ap-south-1` is not one of `regions`",
    );
}

#[test]
fn bucket_name_too_long() {
    rejected(
        &GOOD.replace(
            "projectName: itest",
            "projectName: a-much-too-long-project-name-here",
        ),
        "would break S3 naming rules",
    );
}

#[test]
fn bad_characters_in_names() {
    rejected(
        &GOOD.replace("projectName: itest", "projectName: Itest_1"),
        "stacks/bad.yaml:1:14: `projectName`: `Itest_1` contains `I`",
    );
}

#[test]
fn missing_stack_file() {
    let ws = Workspace::new("cfg", &["us-east-1"], "us-east-1");
    let run = ws.run(&["plan", "--stack", "nosuch"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("reading the stack file stacks/nosuch.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn retention_above_the_range_is_refused_not_wrapped() {
    rejected(
        &format!("{GOOD}retentionDays: 2147483648\n"),
        "stacks/bad.yaml:8:16: `retentionDays`: 2147483648 is out of range: allowed are 1 to 36500 days",
    );
}

#[test]
fn several_mistakes_are_reported_together() {
    rejected(
        &(GOOD
            .replace("projectName: itest", "projectName: Itest")
            .replace("  - eu-west-1\n", "  - eu_west_1\n")
            + "retentionDays: lots\n"),
        "3 mistakes in the stack file:\n  stacks/bad.yaml:1:14: `projectName`: `Itest` contains `I`",
    );
}

#[test]
fn yaml_11_booleans_and_numbers_must_be_quoted() {
    rejected(
        &GOOD.replace("environment: cfg", "environment: no"),
        "stacks/bad.yaml:2:14: `environment`: `no` is read by YAML as a boolean, not as text: quote it (\"no\")",
    );
    rejected(
        &GOOD.replace("  - eu-west-1\n", "  - on\n"),
        "stacks/bad.yaml:5:5: `regions`: `on` is read by YAML as a boolean, not as text: quote it (\"on\")",
    );
    rejected(
        &GOOD.replace("environment: cfg", "environment: 0x1f"),
        "`environment`: `0x1f` is read by YAML as a number, not as text: quote it (\"0x1f\")",
    );
}

#[test]
fn names_that_would_share_bucket_names_with_another_stack() {
    rejected(
        &GOOD.replace("projectName: itest", "projectName: a-ssm-backup-b"),
        "`projectName`: `a-ssm-backup-b` contains `ssm-backup`",
    );
    rejected(
        &GOOD.replace("environment: cfg", "environment: b-ssm-backup-c"),
        "`environment`: `b-ssm-backup-c` contains `ssm-backup`",
    );
}

#[test]
fn a_typo_in_a_region_names_the_region_it_was_meant_to_be() {
    rejected(
        &GOOD.replace("  - eu-west-1\n", "  - us-wset-2\n"),
        "stacks/bad.yaml:5:5: `regions`: `us-wset-2` is not a region AWS has: did you mean `us-west-2`?",
    );
    rejected(
        &GOOD.replace("  - eu-west-1\n", "  - cn-north-1\n"),
        "`ssmHomeRegion`: `cn-north-1` is in the aws-cn partition and `us-east-1` in aws",
    );
}

/// `validate` needs no credentials and no endpoint: here there are neither.
fn validate(ws: &Workspace, args: &[&str]) -> Run {
    let mut full = vec!["validate"];
    full.extend_from_slice(args);
    ws.run_with(
        &full,
        &[
            ("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9")),
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
        ],
    )
}

#[test]
fn validate_checks_a_stack_file_offline() {
    let ws = Workspace::new("cfg", &["us-east-1"], "us-east-1");
    ws.write_raw(
        "new",
        &GOOD.replace("  - eu-west-1\n", "  - ap-newplace-1\n"),
    );
    let run = validate(&ws, &["--stack", "cfg"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        "stacks/cfg.yaml is valid: environment `cfg` of `itest` in us-east-1 (home us-east-1).\n"
    );
    let run = validate(&ws, &["--stack", "new"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("--allow-unknown-region"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    // A region newer than this build, accepted when asked.
    let run = validate(&ws, &["--stack", "new", "--allow-unknown-region"]);
    assert_eq!(run.code, 0, "{run:#?}");
}

#[test]
fn a_stack_file_or_saved_plan_must_be_a_regular_file() {
    let ws = Workspace::new("cfg", &["us-east-1"], "us-east-1");
    let run = validate(&ws, &["--stack", "/dev/zero"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("the stack file /dev/zero is not a regular file"),
        "{}",
        run.stderr
    );
    let run = ws.run(&["show", "/dev/zero"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("the saved plan /dev/zero is not a regular file"),
        "{}",
        run.stderr
    );
}
