//! Asking the operator before a command writes, and saying when a signal cancelled it.

use anyhow::Result;
use std::process::ExitCode;

use crate::shell::interrupt::{Interrupt, Signal};
use crate::shell::printer::Printer;

/// Asks the operator to confirm `what` (`Apply`, `Restore`); `Some(exit code)` when it is not
/// to go ahead (answered otherwise, or a signal while asking).
pub async fn confirm(
    printer: &Printer,
    what: &'static str,
    interrupt: &Interrupt,
) -> Result<Option<ExitCode>> {
    ask(
        printer,
        format!("\n{what} these changes?"),
        what,
        "refusing to apply without a terminal to confirm on: review the plan and pass --auto-approve",
        interrupt,
    )
    .await
}

/// Asks `question` on the terminal (`refusal` is the error without one); `Some(exit code)` when
/// `what` is not to go ahead.
pub async fn ask(
    printer: &Printer,
    question: String,
    what: &str,
    refusal: &'static str,
    interrupt: &Interrupt,
) -> Result<Option<ExitCode>> {
    let answer = tokio::select! {
        answer = printer.confirm(&question, refusal) => answer?,
        signal = interrupt.wait() => return cancelled(printer, what, signal).map(Some),
    };
    if answer {
        return Ok(None);
    }
    printer.status(&format!("{what} cancelled; nothing was changed."))?;
    Ok(Some(ExitCode::from(1)))
}

/// Stopped by a signal before any change was made.
pub fn cancelled(printer: &Printer, what: &str, signal: Signal) -> Result<ExitCode> {
    printer.status(&format!(
        "\n{what} cancelled by {}; nothing was changed.",
        signal.name()
    ))?;
    Ok(ExitCode::from(signal.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::printer::Input;

    #[tokio::test]
    async fn anything_but_yes_cancels_and_nothing_is_changed() {
        let (printer, out, err) = Printer::buffered(Input::Answer("no\n".into()));
        let code = confirm(&printer, "Apply", &Interrupt::never())
            .await
            .unwrap();
        assert_eq!(code, Some(ExitCode::from(1)));
        assert_eq!(
            err.text(),
            "\nApply these changes? Only 'yes' is accepted: Apply cancelled; nothing was changed.\n"
        );
        assert_eq!(out.text(), "");
        let (printer, _, _) = Printer::buffered(Input::Answer("yes\n".into()));
        assert_eq!(
            confirm(&printer, "Restore", &Interrupt::never())
                .await
                .unwrap(),
            None
        );
    }

    #[test]
    fn a_signal_before_any_change_says_so_and_exits_by_the_signal() {
        let (printer, _, err) = Printer::buffered(Input::None);
        let code = cancelled(&printer, "Restore", Signal::Terminate).unwrap();
        assert_eq!(code, ExitCode::from(143));
        assert_eq!(
            err.text(),
            "\nRestore cancelled by SIGTERM; nothing was changed.\n"
        );
    }
}
