//! [`FlushGuard`]: closes a logging integration's sender when dropped, so
//! the last records are sent before the program exits (the idiom of
//! `tracing-appender`'s `WorkerGuard`).

use crate::RecordSender;

/// Sends what is queued and closes the sender when dropped (within the
/// async sender's close timeout). Keep it alive for as long as the program
/// logs, usually as a local in `main`: `let _guard = ...;` (a bare
/// `let _ = ...;` drops it at once).
///
/// ```
/// # let catcher = fluent_catcher::TestCatcher::start()?;
/// # let port = catcher.forward_addr().port();
/// use tracing_subscriber::prelude::*;
/// let sender = fluent_std::AsyncSender::builder("app").sender(|s| s.host("127.0.0.1").port(port)).build();
/// let (layer, guard) = fluent_std::layer::FluentLayer::with_guard(sender);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = "ada", "logged in"));
/// drop(guard); // at the end of main: the event is sent before this returns
/// assert_eq!(catcher.wait_for_events(1, std::time::Duration::from_secs(10)).len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the guard closes the sender when dropped: bind it to a named variable (`let _guard = ...`)"]
#[derive(Debug)]
pub struct FlushGuard {
    sender: RecordSender,
}

impl FlushGuard {
    /// A guard over `sender` (a clone shares the same sender).
    ///
    /// ```
    /// let sender: fluent_std::RecordSender = fluent_std::AsyncSender::builder("app").build().into();
    /// let _guard = fluent_std::FlushGuard::new(sender.clone());
    /// ```
    pub fn new(sender: RecordSender) -> Self {
        FlushGuard { sender }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.sender.close();
    }
}
