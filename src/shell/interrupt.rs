//! SIGINT and SIGTERM (a Ctrl-C, a Jenkins abort): noticed, not obeyed at once, so that a
//! command that writes can stop at a safe point, say where it stopped and exit 130 or 143.

use tokio::sync::watch;

use super::printer::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// 128 + the signal number, as a shell reports a process killed by it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// The first SIGINT or SIGTERM received since `listen`, shared by every task that needs it.
#[derive(Clone)]
pub struct Interrupt(watch::Receiver<Option<Signal>>);

impl Interrupt {
    /// Takes over SIGINT and SIGTERM for the rest of the process; says on `printer` when one
    /// arrives.
    pub fn listen(printer: &Printer) -> anyhow::Result<Self> {
        use anyhow::Context;
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let (tx, rx) = watch::channel(None);
        let printer = printer.clone();
        tokio::spawn(async move {
            let received = tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
            printer.keep(printer.status(&format!(
                "\n{} received: stopping at the next safe point (a second signal does not hurry it)...",
                received.name()
            )));
            let _ = tx.send(Some(received));
            // Keep the handlers installed: a second signal must not kill the safe stop.
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
        });
        Ok(Interrupt(rx))
    }

    /// One that never fires (library callers and tests that do not care).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(None);
        std::mem::forget(tx);
        Interrupt(rx)
    }

    pub fn received(&self) -> Option<Signal> {
        *self.0.borrow()
    }

    /// Resolves when a signal has been received (at once if one already was).
    pub async fn wait(&self) -> Signal {
        let mut rx = self.0.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(signal) => signal.unwrap_or(Signal::Interrupt),
            Err(_) => std::future::pending().await,
        }
    }
}
