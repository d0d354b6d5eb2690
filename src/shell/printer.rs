//! The terminal as one value (cargo's `Shell`): it owns stdout and stderr, the colour of stdout
//! and the verbosity, and is the one way a status line, a warning, an error or a confirmation
//! prompt is written. Commands receive it; tests build one over buffers. Logs go through
//! `tracing`, not here. Every write is escaped here (`core::terminal::escape`): no control
//! character of a saved plan, a parameter, an S3 key or an AWS message reaches the terminal raw.

use anyhow::{Context, Result, bail};
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};

use crate::core::terminal::{Painted, Tone, escape};

/// How much the run logs (-q, -v, -vv...); the printer's own lines are the same at every level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    /// -v once or more (the count).
    Verbose(u8),
}

impl Verbosity {
    /// From the global -v (a count) and -q flags.
    pub fn of(verbose: u8, quiet: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        }
    }
}

/// Where a confirmation's answer comes from.
pub enum Input {
    /// Stdin, when it is a terminal: nobody can answer otherwise.
    Terminal,
    /// Nobody to ask: every confirmation is refused.
    None,
    /// This answer, as if typed (tests).
    Answer(String),
}

/// The run's terminal: cheap to clone (a background task, such as the lock's renewal, holds
/// one); every clone writes to the same streams.
#[derive(Clone)]
pub struct Printer(Arc<Inner>);

struct Inner {
    out: Mutex<Box<dyn Write + Send>>,
    err: Mutex<Box<dyn Write + Send>>,
    color: bool,
    verbosity: Verbosity,
    input: Input,
    /// Whether progress spinners are drawn (on stderr, only when it is a terminal).
    progress: bool,
    /// The first write that failed where no caller could be told (see `keep`).
    kept: Mutex<Option<anyhow::Error>>,
}

impl Printer {
    /// The process's stdout and stderr; stdout colored only on a terminal, and never with
    /// `NO_COLOR` set.
    pub fn stdio(verbosity: Verbosity) -> Self {
        let color =
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let mut printer = Printer::new(
            Box::new(io::stdout()),
            Box::new(io::stderr()),
            color,
            verbosity,
            Input::Terminal,
        );
        if let Some(inner) = Arc::get_mut(&mut printer.0) {
            inner.progress = io::stderr().is_terminal();
        }
        printer
    }

    pub fn new(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        color: bool,
        verbosity: Verbosity,
        input: Input,
    ) -> Self {
        Printer(Arc::new(Inner {
            out: Mutex::new(out),
            err: Mutex::new(err),
            color,
            verbosity,
            input,
            progress: false,
            kept: Mutex::new(None),
        }))
    }

    /// A printer into two buffers (stdout, stderr), without colour, answering confirmations
    /// with `input`: what the tests read back.
    pub fn buffered(input: Input) -> (Self, Buffer, Buffer) {
        let (out, err) = (Buffer::default(), Buffer::default());
        let printer = Printer::new(
            Box::new(out.clone()),
            Box::new(err.clone()),
            false,
            Verbosity::Normal,
            input,
        );
        (printer, out, err)
    }

    /// Whether stdout gets colours.
    pub fn color(&self) -> bool {
        self.0.color
    }

    pub fn verbosity(&self) -> Verbosity {
        self.0.verbosity
    }

    /// A spinner counting `{pos}` items at a rate, drawn on stderr when it is a terminal and
    /// hidden otherwise (logs and tests never see it).
    pub fn spinner(&self, message: String) -> indicatif::ProgressBar {
        if !self.0.progress {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(message);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} parameters ({per_sec})")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    /// The command's output, on stdout.
    pub fn out(&self, text: &str) -> Result<()> {
        write(&self.0.out, text)
    }

    /// Painted output on stdout: each span escaped, the painted ones coloured when stdout
    /// takes colours. Only this printer writes colour codes, around text already escaped.
    pub fn painted(&self, text: &Painted) -> Result<()> {
        let mut shown = String::new();
        for (tone, span) in text.spans() {
            let span = escape(span);
            match tone {
                Some(tone) if self.0.color => {
                    shown.push_str(&style(tone).apply_to(span).to_string());
                }
                _ => shown.push_str(&span),
            }
        }
        write_escaped(&self.0.out, &shown)
    }

    /// A line of the run's progress, on stderr.
    pub fn status(&self, line: &str) -> Result<()> {
        write(&self.0.err, &format!("{line}\n"))
    }

    /// A line of progress of the writes (apply's steps, restore's writes), indented on stdout as
    /// each ends. Called back from the writing tasks: a failed write is kept (see `keep`) and
    /// the writes go on.
    pub fn step(&self, line: &str) {
        self.keep(self.out(&format!("  {line}\n")));
    }

    /// A warning: the run goes on, but the operator should know. The one place `WARNING: ` is
    /// written.
    pub fn warn(&self, text: &str) -> Result<()> {
        self.status(&format!("WARNING: {text}"))
    }

    /// The error that ends the run, with its chain of causes.
    pub fn error(&self, error: &anyhow::Error) -> Result<()> {
        self.status(&format!("error: {error:#}"))
    }

    /// For a callback or a background task, which have no caller to hand a failed write to:
    /// the first failure is kept, and `finish` returns it when the command ends.
    pub fn keep(&self, written: Result<()>) {
        if let Err(e) = written {
            let mut kept = self.0.kept.lock().unwrap_or_else(PoisonError::into_inner);
            kept.get_or_insert(e);
        }
    }

    /// The write that failed where no caller could be told, if one did.
    pub fn finish(&self) -> Result<()> {
        let kept = self
            .0
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        kept.map_or(Ok(()), Err)
    }

    /// Asks for an explicit "yes" (on stderr, the answer from the terminal). Without anybody to
    /// ask, the error is `refusal`. Cancel-safe: dropped while waiting, it leaves a thread
    /// blocked on stdin, which the runtime's shutdown does not wait for.
    pub async fn confirm(&self, question: &str, refusal: &str) -> Result<bool> {
        let answered = match &self.0.input {
            Input::Terminal if io::stdin().is_terminal() => None,
            Input::Answer(answer) => Some(answer.clone()),
            Input::Terminal | Input::None => bail!("{refusal}"),
        };
        write(&self.0.err, &format!("{question} Only 'yes' is accepted: "))?;
        let answer = match answered {
            Some(answer) => answer,
            None => tokio::task::spawn_blocking(read_line).await??,
        };
        Ok(answer.trim() == "yes")
    }
}

fn read_line() -> Result<String> {
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    Ok(answer)
}

/// How a tone is coloured.
fn style(tone: Tone) -> console::Style {
    let style = console::Style::new().force_styling(true);
    match tone {
        Tone::Create => style.green(),
        Tone::Change => style.yellow(),
        Tone::Delete => style.red(),
        Tone::Retain => style.cyan(),
        Tone::Dim => style.dim(),
        Tone::Bold => style.bold(),
    }
}

/// Writes `text`, its control characters escaped (its newlines and tabs kept), whole and
/// flushed, so that lines reach the terminal as they happen. Every write of the printer comes
/// here, but `painted`'s.
fn write(stream: &Mutex<Box<dyn Write + Send>>, text: &str) -> Result<()> {
    write_escaped(stream, &escape(text))
}

/// Writes `text`, which is escaped already, whole and flushed.
fn write_escaped(stream: &Mutex<Box<dyn Write + Send>>, text: &str) -> Result<()> {
    let mut stream = stream.lock().unwrap_or_else(PoisonError::into_inner);
    stream.write_all(text.as_bytes())?;
    stream.flush()?;
    Ok(())
}

/// A shared in-memory stream: the printer writes into one clone, the test reads another.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream whose every write fails, as a closed pipe's does.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_goes_to_stdout_and_everything_else_to_stderr() {
        let (printer, out, err) = Printer::buffered(Input::None);
        printer.out("Plan: 1 to create\n").unwrap();
        printer.status("Waiting for the lock").unwrap();
        printer.warn("the Slack notification failed").unwrap();
        printer
            .error(&anyhow::anyhow!("denied").context("reading"))
            .unwrap();
        assert_eq!(out.text(), "Plan: 1 to create\n");
        assert_eq!(
            err.text(),
            "Waiting for the lock\nWARNING: the Slack notification failed\nerror: reading: denied\n"
        );
        assert!(!printer.color());
    }

    #[test]
    fn no_control_character_reaches_either_stream_raw() {
        let (printer, out, err) = Printer::buffered(Input::None);
        let name = "/dev/x\u{1b}[2J\r\u{7}\u{9b}\u{202e}";
        printer
            .out(&format!("  + create {name}\n\tnext\n"))
            .unwrap();
        printer.step(&format!("done     created {name}"));
        printer.status(&format!("Reading {name}")).unwrap();
        printer.warn(&format!("{name} is odd")).unwrap();
        printer
            .error(&anyhow::anyhow!("AccessDenied: {name}").context("reading"))
            .unwrap();
        let shown = "/dev/x\\u001b[2J\\u000d\\u0007\\u009b\\u202e";
        assert_eq!(
            out.text(),
            format!("  + create {shown}\n\tnext\n  done     created {shown}\n")
        );
        assert_eq!(
            err.text(),
            format!(
                "Reading {shown}\nWARNING: {shown} is odd\nerror: reading: AccessDenied: {shown}\n"
            )
        );
    }

    #[test]
    fn painted_text_is_coloured_only_by_the_printer_and_its_data_escaped() {
        use std::fmt::Write as _;
        let painted = Painted::of(|out| {
            out.paint(Tone::Create, "+ create")?;
            writeln!(out, " /dev/x\u{1b}[2J")?;
            out.paint(Tone::Delete, "\u{1b}]0;title\u{7}")
        });
        let out = Buffer::default();
        let coloured = Printer::new(
            Box::new(out.clone()),
            Box::new(Buffer::default()),
            true,
            Verbosity::Normal,
            Input::None,
        );
        coloured.painted(&painted).unwrap();
        assert_eq!(
            out.text(),
            "\u{1b}[32m+ create\u{1b}[0m /dev/x\\u001b[2J\n\u{1b}[31m\\u001b]0;title\\u0007\u{1b}[0m"
        );
        let (plain, out, _) = Printer::buffered(Input::None);
        plain.painted(&painted).unwrap();
        assert_eq!(
            out.text(),
            "+ create /dev/x\\u001b[2J\n\\u001b]0;title\\u0007"
        );
    }

    #[test]
    fn a_failed_write_is_returned_or_kept_for_the_end() {
        let printer = Printer::new(
            Box::new(Closed),
            Box::new(Buffer::default()),
            false,
            Verbosity::Normal,
            Input::None,
        );
        let e = printer.out("x").unwrap_err();
        assert!(e.downcast_ref::<io::Error>().is_some(), "{e:#}");
        assert!(printer.finish().is_ok(), "nothing kept yet");
        printer.keep(printer.out("  done     created bucket b\n"));
        printer.keep(printer.status("fine"));
        assert!(printer.finish().is_err(), "the kept failure is reported");
        assert!(printer.finish().is_ok(), "once");
    }

    #[tokio::test]
    async fn only_yes_confirms_and_nobody_to_ask_is_the_refusal() {
        let (printer, _, err) = Printer::buffered(Input::Answer("yes\n".into()));
        assert!(
            printer
                .confirm("\nApply these changes?", "no")
                .await
                .unwrap()
        );
        assert_eq!(
            err.text(),
            "\nApply these changes? Only 'yes' is accepted: "
        );
        let (printer, _, _) = Printer::buffered(Input::Answer("y\n".into()));
        assert!(!printer.confirm("Go?", "no").await.unwrap());
        let (printer, _, err) = Printer::buffered(Input::None);
        let refused = printer.confirm("Go?", "refusing without a terminal").await;
        assert_eq!(
            refused.unwrap_err().to_string(),
            "refusing without a terminal"
        );
        assert_eq!(err.text(), "", "no question without anybody to ask");
    }

    #[test]
    fn verbosity_comes_from_the_global_flags() {
        assert_eq!(Verbosity::of(0, true), Verbosity::Quiet);
        assert_eq!(Verbosity::of(0, false), Verbosity::Normal);
        assert_eq!(Verbosity::of(2, false), Verbosity::Verbose(2));
    }
}
