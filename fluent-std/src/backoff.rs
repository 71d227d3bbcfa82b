//! Capped exponential backoff with jitter for reconnecting.

use std::time::{Duration, Instant};

/// When the next connection attempt is allowed.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    not_before: Option<Instant>,
    seed: u64,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        let seed = Instant::now().elapsed().as_nanos() as u64 ^ (std::process::id() as u64).rotate_left(32) | 1;
        Backoff { initial, max, current: initial, not_before: None, seed }
    }

    /// Time left before the next attempt, if any.
    pub(crate) fn wait_left(&self, now: Instant) -> Option<Duration> {
        self.not_before.and_then(|t| t.checked_duration_since(now)).filter(|d| !d.is_zero())
    }

    /// A connection succeeded: attempts are free again.
    pub(crate) fn reset(&mut self) {
        self.current = self.initial;
        self.not_before = None;
    }

    /// An attempt failed: wait the current delay (with +-25% jitter), then
    /// double it, up to the cap.
    pub(crate) fn failed(&mut self, now: Instant) {
        // xorshift64: cheap jitter, no need for cryptographic randomness.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = 0.75 + (self.seed % 1000) as f64 / 2000.0;
        let delay = self.current.mul_f64(jitter).min(self.max);
        self.not_before = Some(now + delay);
        self.current = (self.current * 2).min(self.max);
    }
}
