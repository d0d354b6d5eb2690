//! The command line itself: usage errors exit 1 (never 2, which `--detailed-exitcode` reserves
//! for "changes"), numbers and URLs are checked before anything runs.

use crate::common::*;

/// Runs the CLI expecting a usage error: exit 1, `expected` on stderr, no AWS client built.
fn refused(args: &[&str], expected: &str) {
    refused_with(args, &[], expected);
}

/// `refused`, with environment variables set (`Some`) or removed (`None`).
fn refused_with(args: &[&str], env: &[(&str, Option<&str>)], expected: &str) -> Run {
    let ws = Workspace::new("cli", &["us-east-1"], "us-east-1");
    let mut full = vec!["--api-stats", "stats.json"];
    full.extend_from_slice(args);
    let run = ws.run_with(&full, env);
    assert_eq!(run.code, 1, "{args:?}\n{run:#?}");
    assert!(
        run.stderr.contains(expected),
        "expected `{expected}` in:\n{}",
        run.stderr
    );
    assert!(
        !ws.path("stats.json").exists(),
        "no AWS client may even be built for bad input"
    );
    run
}

#[test]
fn usage_errors_exit_1_not_2() {
    refused(&["plan"], "--stack");
    refused(
        &["plan", "--stack", "cli", "--no-such-flag"],
        "--no-such-flag",
    );
    refused(&["frobnicate"], "frobnicate");
    refused(
        &["plan", "--stack", "cli", "--format", "yaml"],
        "invalid value 'yaml'",
    );
}

#[test]
fn help_and_version_exit_0() {
    let ws = Workspace::new("cli", &["us-east-1"], "us-east-1");
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let run = ws.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run:#?}");
        assert!(!run.stdout.is_empty());
    }
}

#[test]
fn numbers_are_range_checked_before_the_run() {
    refused(
        &["backup", "--stack", "cli", "--region-timeout", "0"],
        "--region-timeout",
    );
    refused(
        &[
            "backup",
            "--stack",
            "cli",
            "--timeout",
            "307445734561825861",
        ],
        "--timeout",
    );
    refused(
        &["backup", "--stack", "cli", "--max-rps", "4294967296"],
        "--max-rps",
    );
    refused(&["backup", "--stack", "cli", "--max-rps=-1"], "--max-rps");
    refused(
        &["backup", "--stack", "cli", "--region-timeout", "25h"],
        "allowed are 1s to 24h",
    );
    refused(
        &["backup", "--stack", "cli", "--region-timeout", "soon"],
        "not minutes nor a duration",
    );
}

#[test]
fn slack_webhook_is_checked_before_the_run() {
    refused(
        &[
            "backup",
            "--stack",
            "cli",
            "--notify-slack",
            "hooks.slack.com/x",
        ],
        "--notify-slack is not a webhook URL",
    );
    refused(
        &[
            "backup",
            "--stack",
            "cli",
            "--notify-slack",
            "ftp://example.com/x",
        ],
        "https://",
    );
}

#[test]
fn environment_variables_are_named_in_their_errors_and_secrets_never_echoed() {
    let backup = ["backup", "--stack", "cli"];
    refused_with(
        &backup,
        &[("DRY_RUN", Some("maybe"))],
        "DRY_RUN must be true or false (or 1/0, yes/no), not `maybe`",
    );
    let run = refused_with(
        &backup,
        &[(
            "SLACK_WEBHOOK_URL",
            Some("ftp://hooks.example.com/T0/B0/SECRET42"),
        )],
        "SLACK_WEBHOOK_URL (host hooks.example.com) is a ftp: URL; the webhook must be an https:// URL",
    );
    assert!(!run.stderr.contains("SECRET42"), "{}", run.stderr);
    let run = refused_with(
        &backup,
        &[("SLACK_WEBHOOK_URL", Some("hooks.example.com/SECRET42"))],
        "SLACK_WEBHOOK_URL is not a webhook URL",
    );
    assert!(!run.stderr.contains("SECRET42"), "{}", run.stderr);
    let run = refused_with(
        &[
            "backup",
            "--stack",
            "cli",
            "--notify-slack",
            "ftp://hooks.example.com/SECRET42",
        ],
        &[],
        "--notify-slack (host hooks.example.com) is a ftp: URL",
    );
    assert!(!run.stderr.contains("SECRET42"), "{}", run.stderr);
    refused_with(
        &[
            "backup",
            "--stack",
            "cli",
            "--notify-email",
            "ops@example.com",
        ],
        &[
            ("SMTP_HOST", Some("smtp.example.com")),
            ("SMTP_FROM", Some("ssm-backup@example.com")),
            ("SMTP_PORT", Some("smtp")),
        ],
        "SMTP_PORT must be a port number, not `smtp`",
    );
}

#[test]
fn every_commands_help_ends_with_an_example() {
    let ws = Workspace::new("cli", &["us-east-1"], "us-east-1");
    for command in [
        "plan",
        "apply",
        "outputs",
        "backup",
        "verify",
        "restore",
        "force-unlock",
        "completions",
    ] {
        let run = ws.run(&[command, "--help"]);
        assert_eq!(run.code, 0, "{command}: {run:#?}");
        let lines: Vec<&str> = run.stdout.trim_end().lines().collect();
        let n = lines.len();
        assert!(
            n >= 2 && lines[n - 2] == "Example:" && lines[n - 1].starts_with("  ssm-keeper "),
            "{command} --help ends with:\n{}",
            lines[n.saturating_sub(3)..].join("\n")
        );
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let ws = Workspace::new("cli", &["us-east-1"], "us-east-1");
    for shell in ["bash", "zsh", "fish"] {
        let run = ws.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {run:#?}");
        assert!(
            run.stdout.contains("force-unlock"),
            "{shell}: {}",
            run.stdout
        );
    }
    refused(&["completions", "powershell"], "invalid value 'powershell'");
}

#[test]
fn region_before_the_command_is_the_aws_clis_and_restore_keeps_its_own() {
    let ws = Workspace::new("cliregion", &["us-east-1"], "us-east-1");
    let proxy = crate::proxy::Proxy::start(3);
    let sts_region = |args: &[&str]| {
        proxy.clear_record();
        let run = ws.run_with(args, &proxy.env());
        assert_eq!(run.code, 0, "{run:#?}");
        proxy
            .record()
            .into_iter()
            .find(|r| r.operation == "sts:GetCallerIdentity")
            .map(|r| r.region)
            .unwrap()
    };
    assert_eq!(
        sts_region(&["outputs", "--stack", "cliregion"]),
        "us-east-1"
    );
    assert_eq!(
        sts_region(&["--region", "eu-west-1", "outputs", "--stack", "cliregion"]),
        "eu-west-1"
    );
    refused(
        &["--region", "tokyo", "outputs", "--stack", "cli"],
        "not a region name",
    );
}

#[test]
fn restore_regions_are_real_ones_of_the_stacks_partition() {
    refused(
        &[
            "restore",
            "--stack",
            "cli",
            "--region",
            "us-east-1",
            "--target-region",
            "us-wset-2",
        ],
        "--target-region: `us-wset-2` is not a region AWS has: did you mean `us-west-2`?",
    );
    refused(
        &[
            "restore",
            "--stack",
            "cli",
            "--region",
            "us-east-1",
            "--target-region",
            "cn-north-1",
        ],
        "`cn-north-1` is in the aws-cn partition and `us-east-1` in aws",
    );
}

#[test]
fn impossible_dates_and_empty_kms_keys_are_usage_errors() {
    let restore = |extra: &[&str], expected: &str| {
        let mut args = vec!["restore", "--stack", "cli", "--region", "us-east-1"];
        args.extend_from_slice(extra);
        refused(&args, expected);
    };
    for (date, why) in [
        ("2026-13-45", "there is no month 13"),
        ("2026-02-30", "February 2026 has days 01 to 28"),
        ("2026-11-00", "November 2026 has days 01 to 30"),
    ] {
        restore(
            &["--from", date],
            &format!(
                "invalid value '{date}' for '--from <WHICH>': `{date}` is not a date (YYYY-MM-DD): {why}"
            ),
        );
    }
    restore(
        &["--from", ""],
        "invalid value '' for '--from <WHICH>': it is empty",
    );
    restore(
        &["--kms-key-id", ""],
        "invalid value '' for '--kms-key-id <ID>': it is empty: a key ID",
    );
    restore(
        &["--kms-key-id", "alias/"],
        "`alias/` is not a KMS key: a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN, alias/NAME or an alias ARN",
    );
    // The drill takes --kms-key-id too.
    refused(
        &["restore", "--stack", "cli", "--drill", "--kms-key-id", ""],
        "'--kms-key-id <ID>': it is empty",
    );
}
