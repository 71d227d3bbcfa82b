//! Handing a connection's decoded lines to the writer, and answering acks
//! once the writer has them.

use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::oneshot;

use crate::close::{CloseReason, reject};
use crate::memory::Lease;
use crate::stream::{Conn, Filled, Stream};
use crate::writer::Batch;

/// Lines decoded from one read, with the chunk ids to acknowledge.
pub(crate) struct Pending {
    pub(crate) lines: Vec<u8>,
    pub(crate) events: u64,
    pub(crate) chunks: Vec<String>,
    /// The requests came as JSON text: acks go back as JSON text too.
    pub(crate) json: bool,
    /// The round stopped at its size with complete requests still in the
    /// buffer: decode them before reading more.
    pub(crate) more: bool,
    /// Decode-budget bytes held for `lines` (and, while a request is
    /// decoded, its inflated bytes).
    pub(crate) lease: Lease,
    /// The decode budget had not the bytes a request needs: wait for this
    /// many, then decode the buffer again.
    pub(crate) need: Option<usize>,
    /// `Limits::decode_memory`.
    budget: usize,
}

impl Pending {
    /// The decode budget had not the `need` bytes the next request wants
    /// (with the lines already here). With lines to hand off first, the
    /// request is tried again after them, as the first of a round: only
    /// then is what it needs its own.
    pub(crate) fn needs(&mut self, need: usize) {
        self.need = Some(if !self.lines.is_empty() {
            0
        } else if self.lease.held() >= self.budget {
            // It had the whole budget and did not fit.
            usize::MAX
        } else {
            need
        });
    }

    /// A round outside a connection (fuzzing, tests), leasing from `budget`.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn detached(budget: &std::sync::Arc<tokio::sync::Semaphore>) -> Self {
        Pending::with(Lease::new(budget), budget.available_permits())
    }

    /// A new round, with what the connection holds of the decode budget.
    pub(crate) fn new<S>(conn: &mut Conn<S>) -> Self {
        let lease = std::mem::replace(&mut conn.lease, Lease::new(&conn.shared.decode_memory));
        Pending::with(lease, conn.shared.config.limits.decode_memory)
    }

    fn with(lease: Lease, budget: usize) -> Self {
        Pending {
            lines: Vec::new(),
            events: 0,
            chunks: Vec::new(),
            json: false,
            more: false,
            lease,
            need: None,
            budget,
        }
    }
}

/// How a hand-off ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandedOff {
    /// The writer has the lines (and acks, if any, were sent).
    Done,
    /// The writer could not write them or has stopped: no ack was sent.
    WriterFailed,
}

impl<S: Stream> Conn<S> {
    /// Hands `pending` to the writer. With chunk ids, waits until the lines
    /// are written, then sends `{"ack": chunk}` for each, in order.
    ///
    /// The lines carry their share of the decode budget to the writer,
    /// which gives it back once they are written: a slow output slows the
    /// clients, whose connections wait for room before decoding more. What
    /// else the round held of the budget goes back to the connection.
    pub(crate) async fn hand_off(&mut self, mut pending: Pending) -> std::io::Result<HandedOff> {
        let lease = pending.lease.split(pending.lines.capacity());
        self.lease = std::mem::replace(&mut pending.lease, Lease::new(&self.shared.decode_memory));
        if pending.events == 0 && pending.chunks.is_empty() {
            return Ok(HandedOff::Done);
        }
        let shared = self.shared.clone();
        self.events += pending.events;
        shared.stats.events_received.fetch_add(pending.events, Relaxed);
        let (done, written) = if pending.chunks.is_empty() {
            (None, None)
        } else {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        };
        let batch = Batch { lines: pending.lines, events: pending.events, done, lease };
        if shared.writer.send(batch).await.is_err() {
            return Ok(HandedOff::WriterFailed);
        }
        let Some(written) = written else { return Ok(HandedOff::Done) };
        if !matches!(written.await, Ok(true)) {
            return Ok(HandedOff::WriterFailed);
        }
        let mut reply = Vec::new();
        for chunk in &pending.chunks {
            if pending.json {
                serde_json::to_writer(&mut reply, &serde_json::json!({ "ack": chunk }))
                    .map_err(std::io::Error::other)?;
            } else {
                fluent_proto::encode_ack(&mut reply, chunk).map_err(std::io::Error::other)?;
            }
        }
        // Counted (and recorded) before the bytes go out, so a client that
        // has read its ack always finds it in the counters.
        let n = pending.chunks.len() as u64;
        self.acks += n;
        shared.stats.acks_sent.fetch_add(n, Relaxed);
        if shared.config.record_connections {
            shared.record_acks(pending.chunks);
        }
        self.reply(&reply).await?;
        Ok(HandedOff::Done)
    }
}

impl<S: Stream> Conn<S> {
    /// Ends one round of a protocol handler: hands the decoded lines to the
    /// writer (acking them), reports a decoding error, then waits for more
    /// bytes. `Ok(true)`: go on decoding; `Ok(false)`: the client closed
    /// cleanly; `Err`: why the connection ends. `unit` names what a cut-off
    /// read was inside ("frame", "record").
    pub(crate) async fn end_round(
        &mut self,
        pending: Pending,
        decoded: Result<(), CloseReason>,
        unit: &str,
    ) -> Result<bool, CloseReason> {
        let (more, need) = (pending.more, pending.need);
        match self.hand_off(pending).await {
            Ok(HandedOff::Done) => {}
            Ok(HandedOff::WriterFailed) => {
                return Err(reject(self, "writer-failed", "output failed; events not acknowledged"));
            }
            Err(e) => return Err(format!("writing an ack failed: {e}")),
        }
        decoded?;
        if let Some(need) = need {
            return self.wait_for_memory(need).await;
        }
        // Hold nothing of the budget while waiting for the client.
        self.lease.shrink_to(0);
        if more {
            return Ok(true);
        }
        match self.fill().await {
            Ok(Filled::Data) => Ok(true),
            Ok(Filled::Eof) if self.pending().is_empty() => Ok(false),
            Ok(Filled::Eof) => Err(reject(self, "truncated", format!("connection closed inside a {unit}"))),
            Ok(Filled::Idle) => Err(reject(self, "idle", "idle timeout")),
            Ok(Filled::Slow) => {
                Err(reject(self, "slow", format!("a {unit} not completed within the frame timeout (too slow)")))
            }
            Ok(Filled::Shutdown) => Err("catcher shutting down".into()),
            Ok(Filled::NoMemory) => {
                Err(reject(self, "memory", format!("no read buffer memory for a {unit} within the frame timeout")))
            }
            Err(e) => Err(format!("read failed: {e}")),
        }
    }
}

impl<S: Stream> Conn<S> {
    /// The decode budget had not the `need` bytes a request wants: wait for
    /// them (holding nothing meanwhile, so that waiting connections cannot
    /// block each other), then decode the request again. A request that
    /// needs more than the whole budget is refused.
    async fn wait_for_memory(&mut self, need: usize) -> Result<bool, CloseReason> {
        if need == 0 {
            return Ok(true);
        }
        let budget = self.shared.config.limits.decode_memory;
        if need == usize::MAX {
            return Err(reject(self, "memory", format!("a request needs more than the {budget}-byte decode memory")));
        }
        self.shared.stats.memory_waits.fetch_add(1, Relaxed);
        self.lease.shrink_to(0);
        if !self.lease.grow_to(need.min(budget)).await {
            return Err("catcher shutting down".into());
        }
        Ok(true)
    }
}
