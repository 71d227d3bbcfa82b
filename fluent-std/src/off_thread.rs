//! [`OffThread`]: a blocking wait run on a helper thread, awaited as a
//! future by any async runtime (no runtime dependency), so that an async
//! caller never blocks its executor.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

type Work<T> = Box<dyn FnOnce() -> T + Send>;

/// The result of `work`, computed on its own thread.
pub(crate) struct OffThread<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

struct Slot<T> {
    /// The work, until the helper thread takes it (or, if no thread could
    /// be started, until the first poll runs it on the caller).
    work: Option<Work<T>>,
    value: Option<T>,
    waker: Option<Waker>,
}

fn lock<T>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Send + 'static> OffThread<T> {
    pub(crate) fn spawn(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let slot = Arc::new(Mutex::new(Slot { work: Some(Box::new(work) as Work<T>), value: None, waker: None }));
        let theirs = slot.clone();
        // If the thread cannot be started, the work stays in the slot.
        let _ = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            let Some(work) = lock(&theirs).work.take() else { return };
            let value = work();
            let mut slot = lock(&theirs);
            slot.value = Some(value);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        });
        OffThread { slot }
    }
}

impl<T> Future for OffThread<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = lock(&self.slot);
        if let Some(value) = slot.value.take() {
            return Poll::Ready(value);
        }
        // No helper thread holds the slot: it could not be started.
        if Arc::strong_count(&self.slot) == 1
            && let Some(work) = slot.work.take()
        {
            drop(slot);
            return Poll::Ready(work());
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
