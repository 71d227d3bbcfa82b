//! Either sender, for the logging integrations: the `log` handler and the
//! `tracing` layer send through the synchronous `Sender` or the
//! `AsyncSender` alike.

use std::sync::Arc;
use std::time::Duration;

use fluent_proto::Timestamp;
use serde::Serialize;

use crate::{AsyncSender, SendError, Sender};

/// The sender a logging integration sends through.
///
/// ```
/// let target: fluent_std::RecordSender = fluent_std::AsyncSender::builder("app").build().into();
/// assert!(target.is_async());
/// ```
#[derive(Clone)]
pub enum RecordSender {
    /// `sender.FluentSender`: each record is written before `log` returns
    /// (Python's `handler.FluentHandler`).
    Sync(Arc<Sender>),
    /// `asyncsender.FluentSender`: each record is queued (Python's
    /// `asynchandler.FluentHandler`).
    Async(Arc<AsyncSender>),
}

impl std::fmt::Debug for RecordSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_async() { "RecordSender::Async" } else { "RecordSender::Sync" })
    }
}

impl From<Sender> for RecordSender {
    fn from(sender: Sender) -> Self {
        RecordSender::Sync(Arc::new(sender))
    }
}

impl From<AsyncSender> for RecordSender {
    fn from(sender: AsyncSender) -> Self {
        RecordSender::Async(Arc::new(sender))
    }
}

/// A [`RecordSender`] that does not keep its sender alive (the `log`
/// handlers' registry).
#[cfg(feature = "log")]
pub(crate) enum WeakRecordSender {
    Sync(std::sync::Weak<Sender>),
    Async(std::sync::Weak<AsyncSender>),
}

#[cfg(feature = "log")]
impl WeakRecordSender {
    pub(crate) fn upgrade(&self) -> Option<RecordSender> {
        match self {
            WeakRecordSender::Sync(s) => s.upgrade().map(RecordSender::Sync),
            WeakRecordSender::Async(s) => s.upgrade().map(RecordSender::Async),
        }
    }

    pub(crate) fn alive(&self) -> bool {
        match self {
            WeakRecordSender::Sync(s) => s.strong_count() > 0,
            WeakRecordSender::Async(s) => s.strong_count() > 0,
        }
    }
}

impl RecordSender {
    #[cfg(feature = "log")]
    pub(crate) fn downgrade(&self) -> WeakRecordSender {
        match self {
            RecordSender::Sync(s) => WeakRecordSender::Sync(Arc::downgrade(s)),
            RecordSender::Async(s) => WeakRecordSender::Async(Arc::downgrade(s)),
        }
    }

    /// Whether records are queued.
    ///
    /// ```
    /// let target: fluent_std::RecordSender = fluent_std::Sender::builder("app").build().into();
    /// assert!(!target.is_async());
    /// ```
    pub fn is_async(&self) -> bool {
        matches!(self, RecordSender::Async(_))
    }

    /// Sends `record` under the sender's tag, at the sender's precision.
    ///
    /// ```no_run
    /// let target: fluent_std::RecordSender = fluent_std::Sender::builder("app").build().into();
    /// target.emit(&std::collections::BTreeMap::from([("k", 1)]))?;
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// As the sender's `emit`.
    pub fn emit<T: Serialize + ?Sized>(&self, record: &T) -> Result<(), SendError> {
        match self {
            RecordSender::Sync(s) => s.emit("", record),
            RecordSender::Async(s) => s.emit("", record),
        }
    }

    /// Sends `record` under the sender's tag with an explicit time.
    ///
    /// ```no_run
    /// let target: fluent_std::RecordSender = fluent_std::Sender::builder("app").build().into();
    /// target.emit_with_time(fluent_std::Timestamp::Seconds(1), &std::collections::BTreeMap::from([("k", 1)]))?;
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// As the sender's `emit_with_time`.
    pub fn emit_with_time<T: Serialize + ?Sized>(&self, time: Timestamp, record: &T) -> Result<(), SendError> {
        match self {
            RecordSender::Sync(s) => s.emit_with_time("", time, record),
            RecordSender::Async(s) => s.emit_with_time("", time, record),
        }
    }

    /// The async sender's counters (`None` for the synchronous sender,
    /// whose emits return their errors).
    ///
    /// ```
    /// let target: fluent_std::RecordSender = fluent_std::AsyncSender::builder("app").build().into();
    /// assert_eq!(target.stats().map(|s| s.emitted), Some(0));
    /// ```
    pub fn stats(&self) -> Option<crate::Stats> {
        match self {
            RecordSender::Sync(_) => None,
            RecordSender::Async(s) => Some(s.stats()),
        }
    }

    /// Sends `record` under `tag.label` (the sender's tag alone when
    /// `label` is empty) with an explicit time.
    ///
    /// ```no_run
    /// let target: fluent_std::RecordSender = fluent_std::Sender::builder("app").build().into();
    /// target.emit_labelled("db", fluent_std::Timestamp::Seconds(1), &std::collections::BTreeMap::from([("k", 1)]))?;
    /// # Ok::<(), fluent_std::SendError>(())
    /// ```
    ///
    /// # Errors
    /// As the sender's `emit_with_time`.
    pub fn emit_labelled<T: Serialize + ?Sized>(
        &self,
        label: &str,
        time: Timestamp,
        record: &T,
    ) -> Result<(), SendError> {
        match self {
            RecordSender::Sync(s) => s.emit_with_time(label, time, record),
            RecordSender::Async(s) => s.emit_with_time(label, time, record),
        }
    }

    /// Waits for queued records to be sent (the synchronous sender has
    /// nothing queued); false when `timeout` passed first.
    ///
    /// ```
    /// let target: fluent_std::RecordSender = fluent_std::AsyncSender::builder("app").build().into();
    /// assert!(target.flush(std::time::Duration::from_millis(10)));
    /// ```
    pub fn flush(&self, timeout: Duration) -> bool {
        match self {
            RecordSender::Sync(_) => true,
            RecordSender::Async(s) => s.flush(timeout),
        }
    }

    /// Closes the sender, sending what is queued first (within the async
    /// sender's close timeout).
    ///
    /// ```
    /// let target: fluent_std::RecordSender = fluent_std::AsyncSender::builder("app").build().into();
    /// target.close();
    /// ```
    pub fn close(&self) {
        match self {
            RecordSender::Sync(s) => s.close(),
            RecordSender::Async(s) => s.close(),
        }
    }
}
