//! The terminal: the one place that writes to stdout/stderr and asks questions.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal, Write};

/// Whether stdout gets colors: only on a terminal, and never with `NO_COLOR` set.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// A warning: the run goes on, but the operator should know.
pub fn warn(text: &str) {
    err(&format!("WARNING: {text}\n"));
}

/// Asks for an explicit "yes" on the terminal. Without a terminal there is nobody to ask: the
/// error is `refusal`.
pub fn confirm(question: &str, refusal: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{refusal}");
    }
    err(&format!("{question} Only 'yes' is accepted: "));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    Ok(answer.trim() == "yes")
}
