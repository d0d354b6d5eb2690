//! The runbooks (Japanese and English) quote error messages exactly as the tool prints them:
//! every message quoted in a troubleshooting table is found in the source. And the two agree:
//! the same sections, steps, commands and table rows, in the same order.

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
}

#[test]
fn a_stamp_tag_missing_from_the_docs_is_caught() {
    let source = "pub const P: &str = \"ssm-keeper-\";\nconst A: &str = \"ssm-keeper-a\";\n    pub const B: &str = \"ssm-keeper-b\";\nconst C: &str = \"other\";";
    assert_eq!(stamp_tags(source), ["ssm-keeper-a", "ssm-keeper-b"]);
}
