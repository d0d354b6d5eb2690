//! The runbooks (Japanese and English) quote error messages exactly as the tool prints them:
//! every message quoted in a troubleshooting table is found in the source. And the two agree:
//! the same sections, steps, commands and table rows, in the same order, each row with the same
//! commands, flags and numbers. The stamp table of docs/backup.md lists exactly the stamp's
//! tags; docs/safety.md names every command that takes the lock; the IAM section of
//! docs/deployment.md is what `iam-policy` prints for every role.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every Rust source file's text, concatenated.
fn sources(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The code spans (`x` and ``x``) of a table row's first cell.
fn quoted(cell: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = cell;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let fence = "`".repeat(ticks);
        let body = &rest[start + ticks..];
        let Some(end) = body.find(&fence) else { break };
        spans.push(body[..end].trim().to_string());
        rest = &body[end + ticks..];
    }
    spans
}

/// The literal pieces of a quoted message, around its placeholders (`<env>`, `...`, an S3 URL,
/// an SSM path, a signal name, which the tool fills in).
fn fragments(message: &str) -> Vec<String> {
    let mut text = message
        .split(' ')
        .map(|word| if word.starts_with('/') { "\u{0}" } else { word })
        .collect::<Vec<_>>()
        .join(" ");
    for placeholder in ["SIGTERM", "SIGINT"] {
        text = text.replace(placeholder, "\u{0}");
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                for c in chars.by_ref() {
                    if c == '>' {
                        break;
                    }
                }
                pieces.push(std::mem::take(&mut current));
            }
            '\u{0}' => pieces.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    pieces.push(current);
    pieces
        .iter()
        .flat_map(|p| p.split("..."))
        .flat_map(|p| p.split("s3://"))
        .map(|p| p.trim().to_string())
        .filter(|p| p.len() >= 6)
        .collect()
}

#[test]
fn every_message_the_runbooks_quote_is_one_the_tool_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = sources(&root.join("src"));
    let mut checked = 0;
    for runbook in ["docs/runbook.md", "docs/runbook.en.md"] {
        let text = std::fs::read_to_string(root.join(runbook)).unwrap();
        let table = text
            .split("## トラブルシューティング")
            .nth(1)
            .or_else(|| text.split("## Troubleshooting").nth(1))
            .unwrap_or_else(|| panic!("{runbook} has no troubleshooting table"));
        for row in table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| ----"))
        {
            let cell = row[2..].split(" | ").next().unwrap_or_default();
            for message in quoted(cell).iter().filter(|m| m.contains(' ')) {
                for fragment in fragments(message) {
                    assert!(
                        source.contains(&fragment),
                        "{runbook}: `{message}`: the tool prints no `{fragment}`"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} fragments checked");
}

#[test]
fn a_message_the_tool_does_not_print_is_caught() {
    assert_eq!(
        fragments("the `<env>` environment is locked by ..."),
        ["` environment is locked by"]
    );
    assert_eq!(quoted("``a `b` c`` and `d e`"), ["a `b` c", "d e"]);
    let source = "format!(\"the `{environment}` environment is locked by {}\")";
    assert!(
        fragments("the `<env>` environment is locked by ...")
            .iter()
            .all(|f| source.contains(f.as_str()))
    );
    assert!(!source.contains("environment is lockd by"));
    assert_eq!(
        fragments("Region list parameter /jenkins/<env>/backup/region-list is missing"),
        ["Region list parameter", "is missing"]
    );
}

/// A runbook's sections (the text under each `## ` heading), in order.
fn sections(text: &str) -> Vec<&str> {
    text.split("\n## ").skip(1).collect()
}

/// What a section asks an operator to do, whatever the language: its numbered steps, its
/// `ssm-keeper` command lines in order, and its table rows' quoted messages.
fn steps(section: &str) -> (usize, Vec<String>, Vec<Vec<String>>) {
    let numbered = section
        .lines()
        .filter(|l| {
            let digits = l.chars().take_while(char::is_ascii_digit).count();
            digits > 0 && l[digits..].starts_with(". ")
        })
        .count();
    let commands = crate::doc_commands::command_lines(section);
    let rows = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ----"))
        .skip(1)
        .map(|row| {
            let mut spans = quoted(row[2..].split(" | ").next().unwrap_or_default());
            spans.sort();
            spans
        })
        .collect();
    (numbered, commands, rows)
}

#[test]
fn the_japanese_and_english_runbooks_give_the_same_steps_in_the_same_order() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ja = std::fs::read_to_string(root.join("docs/runbook.md")).unwrap();
    let en = std::fs::read_to_string(root.join("docs/runbook.en.md")).unwrap();
    let (ja, en) = (sections(&ja), sections(&en));
    let title = |s: &str| s.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        ja.len(),
        en.len(),
        "sections: {:?} and {:?}",
        ja.iter().map(|s| title(s)).collect::<Vec<_>>(),
        en.iter().map(|s| title(s)).collect::<Vec<_>>()
    );
    let mut commands = 0;
    for (ja, en) in ja.iter().zip(&en) {
        let (ja_steps, en_steps) = (steps(ja), steps(en));
        assert_eq!(
            ja_steps,
            en_steps,
            "`## {}` and `## {}` differ",
            title(ja),
            title(en)
        );
        commands += ja_steps.1.len();
    }
    assert!(commands >= 20, "only {commands} command lines compared");
}

#[test]
fn runbook_sections_that_differ_are_caught() {
    let ja =
        "x\n## A\n1. `ssm-keeper plan --stack <env>`\n2. then `ssm-keeper apply --stack <env>`\n";
    let en =
        "x\n## A\n1. `ssm-keeper apply --stack <env>`\n2. then `ssm-keeper plan --stack <env>`\n";
    let (ja, en) = (sections(ja), sections(en));
    assert_eq!(steps(ja[0]).0, 2);
    assert_ne!(
        steps(ja[0]),
        steps(en[0]),
        "the order of the commands counts"
    );
}

/// The tag names a source file defines as `const X: &str = "ssm-keeper-...";` (not the
/// prefix itself, which ends with `-`).
fn stamp_tags(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.contains(": &str = \"ssm-keeper-"))
        .filter_map(|l| l.split('"').nth(1))
        .filter(|tag| !tag.ends_with('-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_stamp_tag_is_in_the_docs_table_of_the_stamp() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tags = stamp_tags(&std::fs::read_to_string(root.join("src/core/stamp.rs")).unwrap());
    assert!(tags.len() >= 7, "only {tags:?} found in stamp.rs");
    let backup = std::fs::read_to_string(root.join("docs/backup.md")).unwrap();
    let table = backup
        .split("## The stamp (object tags)")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/backup.md has a section on the stamp");
    for tag in &tags {
        assert!(
            table.contains(&format!("| `{tag}` | ")),
            "docs/backup.md's stamp table lacks {tag}"
        );
    }
    // And nothing else: every row names a tag the stamp writes.
    let mut rows = table_tags(table);
    rows.sort();
    let mut written = tags.clone();
    written.sort();
    assert_eq!(
        rows, written,
        "docs/backup.md's stamp table lists exactly the stamp's tags"
    );
}

/// The tags a table lists: the first cell of each row, when it is one `ssm-keeper-...` span.
fn table_tags(table: &str) -> Vec<String> {
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|row| quoted(row[2..].split(" | ").next()?).into_iter().next())
        .collect()
}

#[test]
fn a_stamp_tag_missing_from_the_docs_is_caught() {
    let source = "pub const P: &str = \"ssm-keeper-\";\nconst A: &str = \"ssm-keeper-a\";\n    pub const B: &str = \"ssm-keeper-b\";\nconst C: &str = \"other\";";
    assert_eq!(stamp_tags(source), ["ssm-keeper-a", "ssm-keeper-b"]);
    let table = "| tag | value |\n|---|---|\n| `ssm-keeper-a` | x |\n| `ssm-keeper-old` | `2` |\n\nText `x`.";
    assert_eq!(table_tags(table), ["ssm-keeper-a", "ssm-keeper-old"]);
}

/// What a table row says that does not depend on the language: every code span of every cell,
/// the flags (`--x`) and the numbers (exit codes, minutes) outside them, each list sorted.
fn row_facts(row: &str) -> (Vec<String>, Vec<String>) {
    let cells = row.trim().trim_matches('|');
    // A placeholder is written in the runbook's language (`<date>`, `<日付>`): only its place
    // counts. A span given twice in one language's sentence counts once.
    let mut spans: Vec<String> = quoted(cells).iter().map(|s| placeholders(s)).collect();
    spans.sort();
    spans.dedup();
    // The text outside the code spans.
    let mut plain = String::new();
    let mut rest = cells;
    while let Some(start) = rest.find('`') {
        plain.push_str(&rest[..start]);
        plain.push(' ');
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let body = &rest[start + ticks..];
        match body.find(&"`".repeat(ticks)) {
            Some(end) => rest = &body[end + ticks..],
            None => {
                rest = "";
                break;
            }
        }
    }
    plain.push_str(rest);
    let mut words: Vec<String> = plain
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") || (!w.is_empty() && w.chars().all(|c| c.is_ascii_digit())))
        .map(str::to_string)
        .collect();
    words.sort();
    (spans, words)
}

/// `text` with each `<placeholder>` emptied to `<>`.
fn placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in text.chars() {
        match c {
            '<' => {
                inside = true;
                out.push(c);
            }
            '>' if inside => {
                inside = false;
                out.push(c);
            }
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every table row of a runbook, in order, with the section it is in.
fn table_rows(text: &str) -> Vec<(String, &str)> {
    sections(text)
        .into_iter()
        .flat_map(|section| {
            let title = section.lines().next().unwrap_or_default().to_string();
            section
                .lines()
                .filter(|l| l.starts_with("| ") && !l.starts_with("| ----"))
                .map(move |row| (title.clone(), row))
        })
        .collect()
}

#[test]
fn the_runbooks_tables_hold_the_same_rows_with_the_same_commands_flags_and_codes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ja = std::fs::read_to_string(root.join("docs/runbook.md")).unwrap();
    let en = std::fs::read_to_string(root.join("docs/runbook.en.md")).unwrap();
    let (ja, en) = (table_rows(&ja), table_rows(&en));
    assert_eq!(
        ja.len(),
        en.len(),
        "the runbooks' tables have different numbers of rows"
    );
    let mut spans = 0;
    let mut differ = Vec::new();
    for ((ja_section, ja_row), (en_section, en_row)) in ja.iter().zip(&en) {
        let (ja_facts, en_facts) = (row_facts(ja_row), row_facts(en_row));
        if ja_facts != en_facts {
            differ.push(format!(
                "`## {ja_section}` and `## {en_section}`:\n{ja_row}\n{en_row}\n{ja_facts:?}\n{en_facts:?}"
            ));
        }
        spans += ja_facts.0.len();
    }
    assert!(
        differ.is_empty(),
        "rows that differ:\n\n{}",
        differ.join("\n\n")
    );
    assert!(ja.len() >= 40, "only {} rows compared", ja.len());
    assert!(spans >= 100, "only {spans} code spans compared");
}

#[test]
fn a_table_row_that_names_another_command_or_code_is_caught() {
    let en = "| ``the `<env>` environment is locked by ...`` | Another `apply` / `backup` / `restore` is running. Wait with `--lock-timeout 10m`, 15 minutes. |";
    let ja = "| ``the `<env>` environment is locked by ...`` | 別の `apply` / `backup` が実行中。`--lock-timeout 10m` で待機、15 分。 |";
    assert_ne!(row_facts(ja), row_facts(en));
    let (spans, words) = row_facts(en);
    assert_eq!(
        spans,
        [
            "--lock-timeout 10m",
            "apply",
            "backup",
            "restore",
            "the `<>` environment is locked by ..."
        ]
    );
    assert_eq!(
        row_facts("| a | `--from <日付>` or `/` and `/` |"),
        row_facts("| a | `/` or `--from <date>` |")
    );
    assert_eq!(words, ["15"]);
    assert_eq!(
        row_facts("| a | exit code 143 with --force |").1,
        ["--force", "143"]
    );
    assert_ne!(
        row_facts("| a | exit code 143 |"),
        row_facts("| a | 終了コード 130 |")
    );
}

/// The `command` of each lock the source takes (`LockRequest { ..., command: "x", ... }`).
fn lock_commands(source: &str) -> Vec<String> {
    let mut commands: Vec<String> = source
        .split("LockRequest {")
        .skip(1)
        .filter_map(|rest| {
            let body = &rest[..rest.find('}')?];
            let after = &body[body.find("command: \"")? + "command: \"".len()..];
            Some(after[..after.find('"')?].to_string())
        })
        .collect();
    commands.sort();
    commands.dedup();
    commands
}

#[test]
fn safety_lists_every_command_that_takes_the_lock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands = lock_commands(&sources(&root.join("src/app")));
    assert_eq!(
        commands,
        ["apply", "backup", "restore", "restore --drill"],
        "a command takes the lock or stopped: update this test and docs/safety.md"
    );
    let safety = std::fs::read_to_string(root.join("docs/safety.md")).unwrap();
    let lock = safety
        .split("## One writer at a time: the environment's lock")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/safety.md has a section on the lock");
    // The lock parameter's `command` field: the code spans of its parenthesis.
    let field = lock
        .split("`command` (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("safety.md describes the lock's `command`");
    let mut listed = quoted(field);
    listed.sort();
    assert_eq!(listed, commands, "the lock's `command` in docs/safety.md");
    // The section's first paragraph names each command that takes it.
    let first = lock.split("\n\n").nth(1).unwrap_or_default();
    for command in &commands {
        assert!(
            first.contains(&format!("`{command}")),
            "docs/safety.md does not say that `{command}` takes the lock:\n{first}"
        );
    }
}

#[test]
fn a_lock_command_missing_from_the_docs_is_caught() {
    let source = "let request = LockRequest {\n    region: &home,\n    command: \"restore\",\n    wait,\n};\nLockRequest { command: \"apply\", wait };\nstruct LockRequest { command: &'a str }";
    assert_eq!(lock_commands(source), ["apply", "restore"]);
}

const ROLES: [&str; 5] = ["plan", "apply", "backup", "restore", "verify"];
const IAM_ACCOUNT: &str = "111122223333";

/// What a statement not scoped to the stack is, as the docs table says it: the roles printing
/// it, its actions, its resources (the account as `<account>`) and its condition keys.
type Unscoped = BTreeMap<String, [BTreeSet<String>; 4]>;

/// The policy `iam-policy` prints for `role` and each stack of `stacks` (YAML texts).
fn printed_policies(stacks: &[&str]) -> Vec<(String, serde_json::Value)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
    let mut out = Vec::new();
    for (i, text) in stacks.iter().enumerate() {
        std::fs::write(dir.path().join(format!("stacks/s{i}.yaml")), text).unwrap();
        for role in ROLES {
            let mut args = vec![
                "iam-policy".to_string(),
                "--stack".into(),
                format!("s{i}"),
                "--role".into(),
                role.into(),
                "--account-id".into(),
                IAM_ACCOUNT.into(),
            ];
            if role == "restore" {
                args.extend(["--to-prefix".into(), "/drill/x/".into()]);
            }
            let run = std::process::Command::new(env!("CARGO_BIN_EXE_ssm-keeper"))
                .args(&args)
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            assert!(run.status.success(), "{args:?}: {run:?}");
            out.push((
                role.to_string(),
                serde_json::from_slice(&run.stdout).unwrap(),
            ));
        }
    }
    out
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The statements of `policies` whose resource is `*` or every KMS key of the account.
fn unscoped_statements(policies: &[(String, serde_json::Value)]) -> Unscoped {
    let mut found = Unscoped::new();
    for (role, policy) in policies {
        for statement in policy["Statement"].as_array().unwrap() {
            let resources = strings(&statement["Resource"]);
            if !resources.iter().any(|r| r == "*" || r.ends_with(":key/*")) {
                continue;
            }
            let sid = statement["Sid"]
                .as_str()
                .expect("every statement has a Sid");
            let entry = found.entry(sid.to_string()).or_default();
            entry[0].insert(role.clone());
            entry[1].extend(strings(&statement["Action"]));
            entry[2].extend(
                resources
                    .iter()
                    .map(|r| r.replace(IAM_ACCOUNT, "<account>")),
            );
            if let Some(conditions) = statement["Condition"].as_object() {
                for keys in conditions.values() {
                    entry[3].extend(keys.as_object().unwrap().keys().cloned());
                }
            }
        }
    }
    found
}

/// docs/deployment.md's table of the statements not scoped to the stack.
fn documented_unscoped(deployment: &str) -> Unscoped {
    let table = deployment
        .split("| statement | roles | actions | resource | held by |")
        .nth(1)
        .expect("docs/deployment.md has the table of statements not scoped to the stack");
    let mut documented = Unscoped::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.trim().trim_matches('|').split(" | ").collect();
        assert_eq!(cells.len(), 5, "{row}");
        let sid = quoted(cells[0]).concat();
        let roles = cells[1]
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| ROLES.contains(w))
            .map(str::to_string)
            .collect();
        let conditions = quoted(cells[4])
            .into_iter()
            .filter(|s| s.contains(':'))
            .collect();
        let entry = [
            roles,
            quoted(cells[2]).into_iter().collect(),
            quoted(cells[3]).into_iter().collect(),
            conditions,
        ];
        assert!(
            documented.insert(sid.clone(), entry).is_none(),
            "{sid} listed twice"
        );
    }
    documented
}

/// The code spans of `text`, each with the text between it and the span before it.
fn spans_after(text: &str) -> Vec<(String, String)> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let body = &rest[start + ticks..];
        let Some(end) = body.find(&"`".repeat(ticks)) else {
            break;
        };
        spans.push((rest[..start].to_string(), body[..end].trim().to_string()));
        rest = &body[end + ticks..];
    }
    spans
}

/// An action named in a role's row of the roles table: `svc:Action` spans, and the bare
/// `Action` spans after one (`s3:PutObject`/`PutObjectTagging`), in that service; not one the
/// row says the role never has (`never `ssm:GetParameterHistory``).
fn named_actions(cell: &str) -> BTreeSet<String> {
    let mut service = String::new();
    let mut actions = BTreeSet::new();
    for (before, span) in spans_after(cell) {
        if before.trim_end().ends_with("never") {
            continue;
        }
        let is_name = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && s.chars().all(|c| c.is_ascii_alphanumeric())
        };
        match span.split_once(':') {
            Some((svc, action))
                if is_name(action)
                    && svc
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
            {
                service = svc.to_string();
                actions.insert(span.clone());
            }
            None if is_name(&span) && !service.is_empty() => {
                actions.insert(format!("{service}:{span}"));
            }
            _ => {}
        }
    }
    actions
}

#[test]
fn the_statements_not_scoped_to_the_stack_are_the_ones_iam_policy_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let head = "projectName: p\nenvironment: e\nregions:\n  - us-east-1\n  - eu-west-1\ndefaultRegion: us-east-1\nssmHomeRegion: us-east-1\nalarm:\n  snsTopicArn: arn:aws:sns:us-east-1:111122223333:ops\n  drillMaxAgeDays: 7\ncopies:\n  us-east-1: eu-west-1\n";
    let managed = format!("{head}encryption: kms\njournal:\n  retentionDays: 30\n");
    let named = format!(
        "{head}encryption: kms\nkmsKeyIds:\n  us-east-1: arn:aws:kms:us-east-1:{IAM_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab\n  eu-west-1: arn:aws:kms:eu-west-1:{IAM_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ac\n"
    );
    let policies = printed_policies(&[head, &managed, &named]);
    let deployment = std::fs::read_to_string(root.join("docs/deployment.md")).unwrap();

    // Both ways: each statement not scoped to the stack is in the table, with its roles,
    // actions, resources and condition keys; the table lists nothing else.
    let printed = unscoped_statements(&policies);
    let documented = documented_unscoped(&deployment);
    for (sid, facts) in &printed {
        assert_eq!(
            documented.get(sid),
            Some(facts),
            "docs/deployment.md's row of {sid} (roles, actions, resources, condition keys)"
        );
    }
    for sid in documented.keys() {
        assert!(
            printed.contains_key(sid),
            "docs/deployment.md lists {sid}, which iam-policy does not print unscoped"
        );
    }
    assert!(printed.len() >= 14, "only {printed:?}");

    // The roles table: every action a role's row names is one its policy grants, and the
    // restore row names every action it is granted on the environment's parameters (what it
    // may write, tag and delete).
    let mut granted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (role, policy) in &policies {
        granted
            .entry(ROLES.iter().find(|r| *r == role).unwrap())
            .or_default()
            .extend(ssm_keeper::core::iam::granted_actions(policy));
    }
    let roles = deployment
        .split("| role | used by |")
        .nth(1)
        .expect("docs/deployment.md has the table of roles");
    let mut rows = 0;
    for row in roles.lines().skip(2).take_while(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.trim().trim_matches('|').split(" | ").collect();
        let role = cells[0].split_whitespace().next().unwrap();
        let named = named_actions(cells[2]);
        for action in &named {
            assert!(
                granted[role].contains(action),
                "docs/deployment.md says the {role} role has {action}; iam-policy grants it not"
            );
        }
        rows += 1;
        if role == "restore" {
            let restore = &policies.iter().find(|(r, _)| r == "restore").unwrap().1;
            for statement in restore["Statement"].as_array().unwrap() {
                let on_parameters = strings(&statement["Resource"])
                    .iter()
                    .any(|r| r.ends_with(":parameter/e/*") || r.ends_with(":parameter/*/e/*"));
                for action in strings(&statement["Action"])
                    .iter()
                    .filter(|_| on_parameters)
                {
                    assert!(
                        named.contains(action),
                        "docs/deployment.md's restore row does not name {action}"
                    );
                }
            }
        }
    }
    assert_eq!(rows, ROLES.len());
}

#[test]
fn a_documented_action_is_read_in_its_service() {
    assert_eq!(
        named_actions(
            "`s3:PutObject`/`PutObjectTagging` on the backups, `--to-prefix /drill/<env>/`, `ssm:GetParameters`/`PutParameter`, `SSMKeeper/Backup` (never `ssm:GetParameterHistory`)"
        ),
        [
            "s3:PutObject",
            "s3:PutObjectTagging",
            "ssm:GetParameters",
            "ssm:PutParameter"
        ]
        .map(str::to_string)
        .into()
    );
}
