//! What text may reach a terminal: every control character escaped but the newlines and tabs
//! that lay it out (`escape`), and text painted in tones the printer colours (`Painted`), never
//! a raw colour code in the core. A saved plan, a parameter's name or description, an S3 key or
//! an AWS error message could otherwise clear the operator's screen. Pure.

use std::borrow::Cow;
use std::fmt::{self, Write};

/// Whether `c` would act on a terminal rather than be shown: C0 controls but `\n` and `\t`,
/// DEL, C1 controls, the bidirectional formatting characters (U+202E turns the rest of a line
/// around) and the Unicode line and paragraph separators.
fn is_control(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            true
        }
        _ => false,
    }
}

/// `text` with each control character (see `is_control`) written `\uXXXX`: JSON's own escape,
/// so that JSON output stays valid and means the same, and text output shows the code. Text
/// without one is borrowed as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            // Every such character is in the Basic Multilingual Plane: one `\uXXXX`.
            let _ = write!(escaped, "\\u{:04x}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// How a span of painted text is shown when the terminal takes colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Create,
    Change,
    Delete,
    Retain,
    Dim,
    Bold,
}

/// Text in spans, each plain or in a tone: a renderer writes it with `write!` and `paint`, the
/// printer escapes every span and colours the painted ones when stdout takes colours. The core
/// never holds a colour code, so no data can pass for one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Painted {
    spans: Vec<(Option<Tone>, String)>,
}

impl Painted {
    /// What `write` writes into a new `Painted` (into memory no write fails).
    pub fn of(write: impl FnOnce(&mut Painted) -> fmt::Result) -> Painted {
        let mut painted = Painted::default();
        let _ = write(&mut painted);
        painted
    }

    /// `text` in `tone`.
    pub fn paint(&mut self, tone: Tone, text: impl fmt::Display) -> fmt::Result {
        self.spans.push((Some(tone), text.to_string()));
        Ok(())
    }

    /// The spans in order: `None` for plain text.
    pub fn spans(&self) -> impl Iterator<Item = (Option<Tone>, &str)> {
        self.spans.iter().map(|(tone, text)| (*tone, text.as_str()))
    }

    /// The text without its tones (not escaped).
    pub fn plain(&self) -> String {
        self.spans.iter().map(|(_, text)| text.as_str()).collect()
    }
}

impl Write for Painted {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.spans.last_mut() {
            Some((None, text)) => text.push_str(s),
            _ => self.spans.push((None, s.to_string())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_layout_kept() {
        let cases = [
            ("/dev/x\u{1b}[2J", "/dev/x\\u001b[2J"),
            ("a\rb", "a\\u000db"),
            ("bell\u{7}", "bell\\u0007"),
            ("nul\u{0}", "nul\\u0000"),
            ("del\u{7f}", "del\\u007f"),
            ("csi\u{9b}2J", "csi\\u009b2J"),
            ("next line\u{85}", "next line\\u0085"),
            ("evil\u{202e}txt.exe", "evil\\u202etxt.exe"),
            ("\u{2066}isolate\u{2069}", "\\u2066isolate\\u2069"),
            ("\u{200f}\u{61c}", "\\u200f\\u061c"),
            ("line\u{2028}sep", "line\\u2028sep"),
            // Kept: the renderers' own layout, and everything printable.
            ("a\n\tb\n", "a\n\tb\n"),
            ("/jenkins/dev/db_パスワード", "/jenkins/dev/db_パスワード"),
            (
                "back\\slash \"quoted\" é ß 🙂",
                "back\\slash \"quoted\" é ß 🙂",
            ),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(escape(text), want, "{text:?}");
        }
        assert!(matches!(escape("plain\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_json_stays_valid_and_means_the_same() {
        let value =
            serde_json::json!({"name": "/x\u{1b}[2J\u{202e}\u{7f}\u{85}\\\u{202e}", "n": 1});
        let json = serde_json::to_string_pretty(&value).unwrap();
        assert!(json.contains('\u{202e}'), "serde leaves bidi controls raw");
        let escaped = escape(&json);
        assert!(!escaped.chars().any(is_control_or_newline), "{escaped}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }

    fn is_control_or_newline(c: char) -> bool {
        c != '\n' && is_control(c)
    }

    #[test]
    fn painted_text_keeps_its_spans_in_order() {
        let painted = Painted::of(|out| {
            write!(out, "  ")?;
            out.paint(Tone::Create, "+ create")?;
            writeln!(out, " /a")?;
            writeln!(out, "next")
        });
        assert_eq!(
            painted.spans().collect::<Vec<_>>(),
            [
                (None, "  "),
                (Some(Tone::Create), "+ create"),
                (None, " /a\nnext\n"),
            ]
        );
        assert_eq!(painted.plain(), "  + create /a\nnext\n");
    }
}
