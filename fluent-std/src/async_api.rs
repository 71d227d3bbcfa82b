//! `async` counterparts of [`AsyncSender`]'s waits, for tokio (or any
//! runtime) users: `emit` stays synchronous and never blocks; flushing and
//! closing wait on a helper thread, so the runtime's threads keep running
//! other tasks meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::async_sender::flush_shared;
use crate::off_thread::OffThread;
use crate::{AsyncSender, Stats};

impl AsyncSender {
    /// [`flush`](Self::flush) without blocking the caller's thread: resolves
    /// to true once every event emitted before the call is sent (acked, in
    /// ack mode), false if one was dropped meanwhile, the sender was closed,
    /// or at the deadline.
    ///
    /// ```
    /// # let catcher = fluent_catcher::TestCatcher::start()?;
    /// # let port = catcher.forward_addr().port();
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let sender = fluent_std::AsyncSender::builder("app").sender(|s| s.host("127.0.0.1").port(port)).build();
    /// sender.emit("login", &std::collections::BTreeMap::from([("user", "ada")])).unwrap();
    /// assert!(sender.flush_async(std::time::Duration::from_secs(10)).await);
    /// # });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush_async(&self, timeout: Duration) -> impl Future<Output = bool> + Send + 'static {
        let shared = self.shared.clone();
        OffThread::spawn("fluent-flush", move || {
            let alive = || !shared.closed.load(Ordering::Relaxed);
            flush_shared(&shared, &alive, timeout)
        })
    }

    /// [`close_with`](Self::close_with) without blocking the caller's
    /// thread: the worker sends what is queued until `timeout` (with
    /// `flush`), then the future resolves to the final counters. New emits
    /// are refused from the call on.
    ///
    /// ```
    /// # let catcher = fluent_catcher::TestCatcher::start()?;
    /// # let port = catcher.forward_addr().port();
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    /// let sender = fluent_std::AsyncSender::builder("app").sender(|s| s.host("127.0.0.1").port(port)).build();
    /// sender.emit("login", &std::collections::BTreeMap::from([("user", "ada")])).unwrap();
    /// let stats = sender.close_async(true, std::time::Duration::from_secs(10)).await;
    /// assert_eq!(stats.sent, 1);
    /// # });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_async(&self, flush: bool, timeout: Duration) -> impl Future<Output = Stats> + Send + 'static {
        let handle = self.begin_close(flush, timeout);
        let shared = Arc::clone(&self.shared);
        OffThread::spawn("fluent-close", move || {
            if let Some(handle) = handle {
                let _ = handle.join();
            }
            shared.stats()
        })
    }
}
