//! [`OffThread`]: a blocking wait run on a helper thread, awaited as a
//! future by any async runtime (no runtime dependency), so that an async
//! caller never blocks its executor.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The result of `work`, computed on its own thread.
pub(crate) struct OffThread<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    /// The thread could not be started: `work` ran on the caller.
    inline: Option<Box<dyn FnOnce() -> T + Send>>,
}

impl<T: Send + 'static> OffThread<T> {
    pub(crate) fn spawn(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Self {
        let slot = Arc::new(Mutex::new(Slot { value: None, waker: None, inline: None }));
        let theirs = slot.clone();
        let work: Box<dyn FnOnce() -> T + Send> = Box::new(work);
        let (tell, handed) = std::sync::mpsc::channel::<Box<dyn FnOnce() -> T + Send>>();
        let spawned = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            let Ok(work) = handed.recv() else { return };
            let value = work();
            let mut slot = theirs.lock().unwrap_or_else(|e| e.into_inner());
            slot.value = Some(value);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        });
        match spawned {
            Ok(_) => {
                let _ = tell.send(work);
            }
            Err(_) => slot.lock().unwrap_or_else(|e| e.into_inner()).inline = Some(work),
        }
        OffThread { slot }
    }
}

impl<T> Future for OffThread<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(work) = slot.inline.take() {
            return Poll::Ready(work());
        }
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
