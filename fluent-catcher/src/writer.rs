//! The writer task: the one owner of the output. Connection tasks hand it
//! batches of ready-made lines through a bounded channel; it writes them in
//! arrival order, flushes on an interval, and confirms batches that carry
//! acks once they are written (and synced, if asked): group commit, one
//! flush for every batch that arrived together.
//!
//! File I/O blocks, so the task runs on its own thread (a current-thread
//! runtime) instead of stalling a connection worker.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::memory::Lease;

use crate::output::{AckWhen, OpenOutput};
use crate::stats::Stats;

/// Lines for the writer, with what to tell the sender.
pub(crate) struct Batch {
    /// Whole lines, each ending in `\n`.
    pub(crate) lines: Vec<u8>,
    /// How many events the lines hold.
    pub(crate) events: u64,
    /// Told `true` once the lines are written (per [`AckWhen`]), `false` if
    /// the output failed.
    pub(crate) done: Option<oneshot::Sender<bool>>,
    /// The share of the decode budget this batch holds until written.
    pub(crate) lease: Lease,
}

/// At most this much is written between two looks at the flush clock.
const GROUP_BYTES: usize = 8 << 20;

pub(crate) fn spawn(
    mut output: OpenOutput,
    ack: AckWhen,
    flush_interval: Duration,
    stats: Arc<Stats>,
    mut rx: mpsc::Receiver<Batch>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("fluent-catcher-writer".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("fluent-catcher: writer runtime failed to start: {e}");
                return;
            }
        };
        runtime.block_on(async move {
            let mut last_flush = Instant::now();
            let mut dirty = false;
            let mut waiting: Vec<oneshot::Sender<bool>> = Vec::new();
            loop {
                let next = if dirty {
                    let left = flush_interval.saturating_sub(last_flush.elapsed());
                    match tokio::time::timeout(left, rx.recv()).await {
                        Ok(next) => next,
                        Err(_) => {
                            flush(&mut output, false, &stats);
                            dirty = false;
                            last_flush = Instant::now();
                            continue;
                        }
                    }
                } else {
                    rx.recv().await
                };
                let Some(first) = next else { break };
                let mut written = 0;
                let mut ok_group = true;
                let mut batch = Some(first);
                while let Some(b) = batch.take() {
                    written += b.lines.len();
                    let ok = write(&mut output, &b, &stats);
                    ok_group &= ok;
                    dirty = true;
                    if let Some(done) = b.done {
                        if ok {
                            waiting.push(done);
                        } else {
                            let _ = done.send(false);
                        }
                    }
                    drop(b.lease);
                    if written < GROUP_BYTES {
                        batch = rx.try_recv().ok();
                    }
                }
                let due = last_flush.elapsed() >= flush_interval;
                if !waiting.is_empty() || due {
                    let ok = flush(&mut output, ack == AckWhen::Synced && !waiting.is_empty(), &stats);
                    dirty = false;
                    last_flush = Instant::now();
                    for done in waiting.drain(..) {
                        let _ = done.send(ok && ok_group);
                    }
                }
            }
            flush(&mut output, ack == AckWhen::Synced, &stats);
        });
    })
}

fn write(output: &mut OpenOutput, batch: &Batch, stats: &Stats) -> bool {
    match output.writer.write_all(&batch.lines) {
        Ok(()) => {
            stats.events_written.fetch_add(batch.events, Relaxed);
            true
        }
        Err(e) => {
            eprintln!("fluent-catcher: writing the output failed, {} events lost: {e}", batch.events);
            stats.events_lost.fetch_add(batch.events, Relaxed);
            stats.reject("output-error");
            false
        }
    }
}

fn flush(output: &mut OpenOutput, sync: bool, stats: &Stats) -> bool {
    let mut result = output.writer.flush();
    if let (true, Ok(()), Some(file)) = (sync, &result, &output.file) {
        result = file.sync_data();
    }
    match result {
        Ok(()) => true,
        Err(e) => {
            eprintln!("fluent-catcher: flushing the output failed: {e}");
            stats.reject("output-error");
            false
        }
    }
}
