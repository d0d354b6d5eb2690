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
