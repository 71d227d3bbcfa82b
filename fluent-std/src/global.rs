//! Module-level sender: fluent-logger-python's `sender.setup`,
//! `get_global_sender` and `close`.

use std::sync::{Arc, RwLock};

use crate::sender::{Sender, SenderBuilder};

static GLOBAL: RwLock<Option<Arc<Sender>>> = RwLock::new(None);

/// Creates the global sender from `builder` (replacing and closing any
/// previous one).
///
/// ```no_run
/// fluent_std::setup(fluent_std::Sender::builder("app").port(24224));
/// let sender = fluent_std::global_sender().expect("set up above");
/// sender.emit("started", &std::collections::BTreeMap::from([("pid", std::process::id())]))?;
/// fluent_std::close();
/// # Ok::<(), fluent_std::SendError>(())
/// ```
pub fn setup(builder: SenderBuilder) {
    set_global_sender(Some(builder.build()));
}

/// The global sender, if [`setup`] ran (see [`setup`] for an example).
///
/// ```
/// if let Some(sender) = fluent_std::global_sender() {
///     let _ = sender.tag();
/// }
/// ```
pub fn global_sender() -> Option<Arc<Sender>> {
    GLOBAL.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Closes and removes the global sender.
///
/// ```
/// fluent_std::close(); // nothing to close is fine
/// ```
pub fn close() {
    set_global_sender(None);
}

/// Installs `sender` as the global sender (Python's `_set_global_sender`,
/// the testing hook); the previous one is closed.
///
/// ```
/// fluent_std::set_global_sender(Some(fluent_std::Sender::builder("test").build()));
/// fluent_std::set_global_sender(None);
/// ```
pub fn set_global_sender(sender: Option<Sender>) {
    let previous = std::mem::replace(&mut *GLOBAL.write().unwrap_or_else(|e| e.into_inner()), sender.map(Arc::new));
    if let Some(previous) = previous {
        previous.close();
    }
}
