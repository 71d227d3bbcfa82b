//! Module-level asynchronous sender: fluent-logger-python's
//! `asyncsender.setup`, `get_global_sender`, `close` and
//! `_set_global_sender`.

use std::sync::{Arc, RwLock};

use crate::async_sender::{AsyncSender, AsyncSenderBuilder};

static GLOBAL: RwLock<Option<Arc<AsyncSender>>> = RwLock::new(None);

/// Creates the global asynchronous sender (replacing and closing any
/// previous one).
///
/// ```no_run
/// use fluent_std::asynchronous;
/// asynchronous::setup(fluent_std::AsyncSender::builder("app"));
/// asynchronous::global_sender().expect("set up above").emit("started", &std::collections::BTreeMap::from([("ok", true)]))?;
/// asynchronous::close();
/// # Ok::<(), fluent_std::SendError>(())
/// ```
pub fn setup(builder: AsyncSenderBuilder) {
    set_global_sender(Some(builder.build()));
}

/// The global asynchronous sender, if [`setup`] ran.
///
/// ```
/// if let Some(sender) = fluent_std::asynchronous::global_sender() {
///     let _ = sender.stats();
/// }
/// ```
pub fn global_sender() -> Option<Arc<AsyncSender>> {
    GLOBAL.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Closes (with flush) and removes the global asynchronous sender.
///
/// ```
/// fluent_std::asynchronous::close(); // nothing to close is fine
/// ```
pub fn close() {
    set_global_sender(None);
}

/// Installs `sender` as the global asynchronous sender (the testing hook);
/// the previous one is closed with flush.
///
/// ```
/// fluent_std::asynchronous::set_global_sender(Some(fluent_std::AsyncSender::builder("test").build()));
/// fluent_std::asynchronous::set_global_sender(None);
/// ```
pub fn set_global_sender(sender: Option<AsyncSender>) {
    let previous = std::mem::replace(&mut *GLOBAL.write().unwrap_or_else(|e| e.into_inner()), sender.map(Arc::new));
    if let Some(previous) = previous {
        previous.close();
    }
}
