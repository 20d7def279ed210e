//! Ctrl-C and SIGTERM: the first stops the running trial with its reports written, the
//! second exits at once.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// Watches for interrupts in `runtime` (tokio's signal streams need its driver): the first
/// cancels `interrupt`, the second ends the process.
pub(super) fn watch(runtime: &Arc<tokio::runtime::Runtime>, interrupt: CancellationToken) {
    runtime.spawn(async move {
        let Some(mut signals) = Interrupts::listen() else {
            return;
        };
        if let Some(signal) = signals.next().await {
            eprintln!(
                "\ninterrupted ({signal}): stopping the trial and writing its reports \
                 (a second interrupt exits at once)"
            );
            interrupt.cancel();
        }
        // A stop that hangs (a teardown stuck on a dead target, say) must not leave the
        // user without a way out: the second signal ends the process now, as Locust's
        // second Ctrl-C does. The reports of trials that ended are on disk already.
        if let Some(signal) = signals.next().await {
            eprintln!("interrupted again ({signal}): exiting without waiting");
            std::process::exit(130);
        }
    });
}

/// Ctrl-C (SIGINT) and SIGTERM (CI cancellations, Kubernetes): both stop the run the same way,
/// reports written. Listened to from the start, so a second signal that follows the first at
/// once is not lost between two listeners.
struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// `None` when no signal can be watched.
    fn listen() -> Option<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Some(Interrupts {
                int: signal(SignalKind::interrupt()).ok()?,
                term: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Interrupts {})
        }
    }

    /// The next signal's name.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                received = self.int.recv() => received.map(|()| "SIGINT"),
                received = self.term.recv() => received.map(|()| "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
        }
    }
}
