//! Handing a connection's decoded lines to the writer, and answering acks
//! once the writer has them.

use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::oneshot;

use crate::close::{CloseReason, reject};
use crate::stream::{Conn, Filled, Stream};
use crate::writer::Batch;

/// Lines decoded from one read, with the chunk ids to acknowledge.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) lines: Vec<u8>,
    pub(crate) events: u64,
    pub(crate) chunks: Vec<String>,
    /// The requests came as JSON text: acks go back as JSON text too.
    pub(crate) json: bool,
    /// The round stopped at its size with complete requests still in the
    /// buffer: decode them before reading more.
    pub(crate) more: bool,
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
    /// Waiting for room in the writer's byte budget is how a slow output
    /// slows the client: this connection stops reading meanwhile.
    pub(crate) async fn hand_off(&mut self, pending: Pending) -> std::io::Result<HandedOff> {
        if pending.events == 0 && pending.chunks.is_empty() {
            return Ok(HandedOff::Done);
        }
        let shared = self.shared.clone();
        self.events += pending.events;
        shared.stats.events_received.fetch_add(pending.events, Relaxed);
        let want = u32::try_from(pending.lines.len()).unwrap_or(u32::MAX).clamp(1, shared.budget_permits);
        let Ok(permit) = shared.budget.clone().acquire_many_owned(want).await else {
            return Ok(HandedOff::WriterFailed);
        };
        let (done, written) = if pending.chunks.is_empty() {
            (None, None)
        } else {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        };
        let batch = Batch { lines: pending.lines, events: pending.events, done, permit };
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
        let more = pending.more;
        match self.hand_off(pending).await {
            Ok(HandedOff::Done) => {}
            Ok(HandedOff::WriterFailed) => {
                return Err(reject(self, "writer-failed", "output failed; events not acknowledged"));
            }
            Err(e) => return Err(format!("writing an ack failed: {e}")),
        }
        decoded?;
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
            Err(e) => Err(format!("read failed: {e}")),
        }
    }
}
