//! The docs match the binary: every `ssm-keeper ...` command line in README.md and docs/ (in
//! fenced blocks and inline code), with the docs' placeholders filled in, parses as the binary
//! parses its arguments. No emulator: the argument parser alone.

use clap::Parser;
use ssm_keeper::cli::Cli;

/// What the docs write for a value the reader supplies, and a value the parser accepts.
const PLACEHOLDERS: [(&str, &str); 13] = [
    ("<env>", "dev"),
    ("<region>", "us-east-1"),
    ("<region2>", "eu-west-1"),
    ("R", "us-east-1"),
    ("<role>", "backup"),
    ("<LOCK_ID>", "0f3c2a"),
    ("LOCK_ID", "0f3c2a"),
    ("FILE", "plan.json"),
    ("PATH", "out/summary.json"),
    ("HOURS", "26"),
    ("YYYY-MM-DD", "2026-11-24"),
    ("S3-KEY", "2026-11-24/k.json"),
    (
        "$SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T0/B0/x",
    ),
];

/// The command lines of a Markdown text: whole lines in fenced blocks (after an optional `$ `,
/// with `\` continuations joined), and inline code spans.
pub(crate) fn command_lines(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut fenced = false;
    let mut pending: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            let line = line.trim().trim_start_matches("$ ");
            let line = match pending.take() {
                Some(start) => format!("{start} {line}"),
                None if line.starts_with("ssm-keeper ") => line.to_string(),
                None => continue,
            };
            match line.strip_suffix('\\') {
                Some(start) => pending = Some(start.trim_end().to_string()),
                None => found.push(line),
            }
            continue;
        }
        found.extend(
            line.split('`')
                .skip(1)
                .step_by(2)
                .filter(|span| span.starts_with("ssm-keeper "))
                .map(str::to_string),
        );
    }
    found
}

/// The arguments of a documented command line, its placeholders filled in; `None` for a
/// mention rather than a command (a bare subcommand name, or `...` eliding its arguments).
fn arguments(line: &str) -> Option<Vec<String>> {
    // The shell's part: redirections, pipes into other commands, comments.
    let command = [" > ", " | ", " #", " && "]
        .iter()
        .filter_map(|cut| line.find(cut))
        .min()
        .map_or(line, |at| &line[..at]);
    // Optional parts, `[--flag VALUE]`, are left out.
    let mut plain = String::new();
    let mut depth = 0;
    for c in command.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let words = shlex::split(&plain)?;
    if words.iter().any(|w| w.contains("...")) || words.len() < 3 && words[1] != "--version" {
        return None;
    }
    Some(
        words
            .into_iter()
            .map(|word| {
                // `a|b|c`: one of them.
                let word = word.split('|').next().unwrap_or_default().to_string();
                PLACEHOLDERS
                    .iter()
                    .find(|(shown, _)| *shown == word)
                    .map_or(word, |(_, value)| value.to_string())
            })
            .collect(),
    )
}

#[test]
fn every_command_line_in_the_docs_parses() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![format!("{root}/README.md")];
    for entry in std::fs::read_dir(format!("{root}/docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path.display().to_string());
        }
    }
    let (mut parsed, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in command_lines(&text) {
            let Some(args) = arguments(&line) else {
                continue;
            };
            match Cli::try_parse_from(&args) {
                Ok(_) => parsed += 1,
                Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => parsed += 1,
                Err(e) => failures.push(format!("{file}: `{line}`: {}", e.kind())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        parsed >= 30,
        "only {parsed} command lines found: is the extraction broken?"
    );
}

#[test]
fn the_extraction_finds_blocks_spans_and_continuations_and_fills_placeholders() {
    let text = "Run `ssm-keeper plan --stack <env>`, or:\n\n```sh\n$ ssm-keeper restore --stack prod \\\n    --region R --apply\nssm-keeper verify --stack dev [--max-age HOURS] > out.txt\n```\n`ssm-keeper apply` alone.\n";
    let lines = command_lines(text);
    assert_eq!(
        lines,
        [
            "ssm-keeper plan --stack <env>",
            "ssm-keeper restore --stack prod --region R --apply",
            "ssm-keeper verify --stack dev [--max-age HOURS] > out.txt",
            "ssm-keeper apply",
        ]
    );
    assert_eq!(
        arguments(&lines[1]).unwrap(),
        [
            "ssm-keeper",
            "restore",
            "--stack",
            "prod",
            "--region",
            "us-east-1",
            "--apply"
        ]
    );
    assert_eq!(
        arguments(&lines[2]).unwrap(),
        ["ssm-keeper", "verify", "--stack", "dev"]
    );
    assert_eq!(arguments(&lines[3]), None, "a mention, not a command");
    // A wrong flag in the docs is found.
    let wrong = arguments("ssm-keeper plan --stack dev --no-such-flag").unwrap();
    assert!(Cli::try_parse_from(&wrong).is_err());
}

/// Words of the design documents' authors, which operators reading the docs or `--help` do not
/// know.
const JARGON: [&str; 3] = ["the seeds", "seeds'", "FR-"];

#[test]
fn no_internal_jargon_in_the_docs_or_the_help() {
    use clap::CommandFactory;
    let root = env!("CARGO_MANIFEST_DIR");
    let mut texts = vec![(
        "README.md".to_string(),
        std::fs::read_to_string(format!("{root}/README.md")).unwrap(),
    )];
    for entry in std::fs::read_dir(format!("{root}/docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            texts.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    let mut cli = Cli::command();
    texts.push(("--help".into(), cli.render_long_help().to_string()));
    for sub in cli.get_subcommands_mut() {
        texts.push((
            format!("{} --help", sub.get_name()),
            sub.render_long_help().to_string(),
        ));
    }
    for (name, text) in &texts {
        for word in JARGON {
            assert!(!text.contains(word), "{name} says `{word}`");
        }
    }
}

/// Whether `actual` is what the docs show, where `...` in the docs stands for any text.
fn shown_as(documented: &str, actual: &str) -> bool {
    let mut parts = documented.split("...");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match (last, part.is_empty()) {
            (true, true) => return true,
            (true, false) => return rest.ends_with(part),
            (false, _) => match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            },
        }
    }
    rest.is_empty()
}

#[test]
fn the_stack_file_error_examples_are_what_validate_prints() {
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = std::fs::read_to_string(format!("{root}/stacks/dev.yaml")).unwrap();
    let docs = std::fs::read_to_string(format!("{root}/docs/stack-file.md")).unwrap();
    let documented: Vec<&str> = docs
        .lines()
        .filter(|l| l.starts_with("error: stacks/dev.yaml:"))
        .collect();
    // The mistakes, in the docs' order, each made in the shipped file.
    let mistakes = [
        ("retentionDays:", "retentionDayz:"),
        ("  - us-west-2", "  - ap-northeast-1"),
        ("defaultRegion: ap-northeast-1", "defaultRegion: eu-west-1"),
        (
            "projectName: jenkins-infra",
            "projectName: jenkins-infrastructure-platform-team-x",
        ),
    ];
    assert_eq!(documented.len(), mistakes.len(), "{documented:#?}");
    let ws = crate::common::Workspace::new("docs", &["us-east-1"], "us-east-1");
    for ((from, to), documented) in mistakes.iter().zip(documented) {
        assert!(shipped.contains(from), "stacks/dev.yaml has no `{from}`");
        ws.write_raw("dev", &shipped.replacen(from, to, 1));
        let run = ws.run(&["validate", "--stack", "dev"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let printed = run.stderr.trim_end();
        assert!(
            shown_as(documented, printed),
            "docs/stack-file.md shows\n  {documented}\nvalidate prints\n  {printed}"
        );
    }
    assert!(shown_as("a ... c", "a b c") && !shown_as("a ... c", "a b d"));
}

/// A shipped stack with its commented optional sections turned on, account-specific values
/// filled in.
fn uncommented(stack: &str) -> String {
    stack
        .lines()
        .map(|line| {
            let Some(text) = line.strip_prefix("# ") else {
                return line.to_string();
            };
            let key = text.split_once(':').is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric())
            });
            if key || text.starts_with("  ") {
                text.replace("<account-id>", "123456789012")
                    .replace("<topic>", "ops-alerts")
                    .replace("<key-id>", "1234abcd-12ab-34cd-56ef-1234567890ab")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_shipped_stacks_optional_sections_are_valid_once_uncommented() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ws = crate::common::Workspace::new("docs", &["us-east-1"], "us-east-1");
    for env in ["dev", "prod"] {
        let shipped = std::fs::read_to_string(format!("{root}/stacks/{env}.yaml")).unwrap();
        let on = uncommented(&shipped);
        for section in [
            "alarm:",
            "parameterPaths:",
            "encryption: kms",
            "kmsKeyIds:",
            "objectLock:",
            "copies:",
        ] {
            assert!(
                on.lines().any(|l| l == section),
                "stacks/{env}.yaml shows no commented `{section}`"
            );
        }
        ws.write_raw(env, &on);
        let run = ws.run(&["validate", "--stack", env]);
        assert_eq!(run.code, 0, "{on}\n{run:#?}");
    }
}
