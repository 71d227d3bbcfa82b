//! fluent-logger-python's `event.Event`: emit one event at once, through a
//! given sender or the global one.

use serde::Serialize;

use crate::error::SendError;
use crate::sender::Sender;
use fluent_proto::Timestamp;

/// Emits `data` under `label` through `sender`, or the global sender
/// ([`setup`](crate::setup)) when `None`; at `time`, or now when `None`
/// (Python's `Event(label, data, sender=None, time=None)`). `data` must
/// serialize as a map.
///
/// ```no_run
/// use std::collections::BTreeMap;
/// let sender = fluent_std::Sender::builder("app").build();
/// fluent_std::event("follow", &BTreeMap::from([("from", "userA")]), Some(&sender), None)?;
/// fluent_std::setup(fluent_std::Sender::builder("app"));
/// fluent_std::event("follow", &BTreeMap::from([("from", "userB")]), None, None)?;
/// # Ok::<(), fluent_std::SendError>(())
/// ```
///
/// # Errors
/// [`SendError::NoSender`] when no sender is given and none is set up;
/// otherwise as [`Sender::emit_with_time`].
pub fn event<T: Serialize + ?Sized>(
    label: &str,
    data: &T,
    sender: Option<&Sender>,
    time: Option<Timestamp>,
) -> Result<(), SendError> {
    let global;
    let sender = match sender {
        Some(s) => s,
        None => {
            global = crate::global_sender().ok_or(SendError::NoSender)?;
            &global
        }
    };
    match time {
        Some(t) => sender.emit_with_time(label, t, data),
        None => sender.emit(label, data),
    }
}
