//! Renderers: &Plan -> String, one per output format. Pure: no terminal, no color detection
//! (the caller says whether to color), so tests compare exact text.

pub mod json;
pub mod markdown;
pub mod text;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use std::fmt;

use super::plan::{FieldChange, PlanDocument, Summary};
use super::resource::Kind;

/// The text that `write` writes, every write's error returned with `?` (ripgrep's printers do
/// the same into an `io::Write`). Collected as `format!` collects: into a String no write
/// fails, so only a broken `Display` could make it panic, as it would `format!`.
pub fn text(write: impl Fn(&mut fmt::Formatter<'_>) -> fmt::Result) -> String {
    struct Text<F>(F);
    impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Text<F> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (self.0)(f)
        }
    }
    Text(write).to_string()
}

/// The one-line summary every format ends with.
/// What an orphan key is and why it may be removed only with care.
pub const ORPHAN_NOTE: &str = "tagged for this stack, but neither its alias nor a bucket names it: never used by apply. If no backup is encrypted with it, schedule its deletion";

pub fn summary_line(s: &Summary) -> String {
    if !s.has_changes() && s.retained == 0 {
        return "No changes. Live AWS matches the stack.".to_string();
    }
    let replace = if s.replace > 0 {
        format!(" {} to replace,", s.replace)
    } else {
        String::new()
    };
    format!(
        "Plan: {} to create, {} to change,{replace} {} to delete, {} retained.",
        s.create, s.change, s.delete, s.retained
    )
}

/// The destroy options a plan was made with, when any: `apply --plan` applies them as saved,
/// so the preview says so.
pub fn options_line(doc: &PlanDocument) -> Option<String> {
    let flags = doc.diff_options.destroy_flags();
    if flags.is_empty() {
        return None;
    }
    let what = if doc.diff_options.destroy_bucket_objects {
        "the buckets of regions removed from the stack are deleted, with every object version in them"
    } else {
        "the empty buckets of regions removed from the stack are deleted"
    };
    Some(format!("Destroy options: {} ({what}).", flags.join(" ")))
}

/// A value on one line: strings bare, everything else compact JSON.
pub fn inline(value: &Option<Value>) -> String {
    match value {
        None => "(none)".to_string(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

/// Whether a field change reads best as one `live -> desired` line.
pub fn is_scalar_change(f: &FieldChange) -> bool {
    let scalar = |v: &Option<Value>| !matches!(v, Some(Value::Object(_)) | Some(Value::Array(_)));
    scalar(&f.live) && scalar(&f.desired)
}

/// Lines of a JSON diff between the live and desired value: (tag, line) with tag one of
/// ' ', '-', '+'.
pub fn json_diff(f: &FieldChange) -> Vec<(char, String)> {
    let pretty = |v: &Option<Value>| match v {
        None => String::new(),
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
    };
    let (old, new) = (pretty(&f.live), pretty(&f.desired));
    TextDiff::from_lines(&old, &new)
        .iter_all_changes()
        .map(|c| {
            let tag = match c.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            };
            (tag, c.value().trim_end_matches('\n').to_string())
        })
        .collect()
}

pub const SENSITIVE: &str = "(sensitive value hidden)";

/// What becomes of the backups in a retained bucket of a removed region (nothing to say of
/// other kinds).
pub fn retained_backups(
    doc: &PlanDocument,
    kind: Kind,
    expires_after_days: Option<u32>,
) -> Option<String> {
    match kind {
        Kind::Bucket => Some(bucket_retained(doc, expires_after_days)),
        Kind::Key
        | Kind::Parameter
        | Kind::Alarm
        | Kind::LogGroup
        | Kind::LogsPolicy
        | Kind::EventRule
        | Kind::Dashboard => None,
    }
}

fn bucket_retained(doc: &PlanDocument, expires_after_days: Option<u32>) -> String {
    match expires_after_days {
        Some(days) => format!(
            "No more backups go there; its lifecycle rule removes the last one within {days} days: gone by {}.",
            doc.date_after(days)
        ),
        None => {
            "No more backups go there; no lifecycle rule expires the ones it holds.".to_string()
        }
    }
}
