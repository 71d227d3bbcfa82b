//! The wall clock `AsyncSender::emit` reads: the CPU's time-stamp counter
//! (through `quanta`), anchored to the system clock once per
//! [`REANCHOR`] per thread, as low-latency loggers (Quill, NanoLog) do.
//!
//! `SystemTime::now()` costs about 40 ns under a hypervisor's clock source
//! (kvm-clock), a third of an emit; a counter read is about 10 ns. Each
//! emitting thread keeps its own anchor (a system-clock reading and the
//! counter value at that moment) and converts later counter readings to wall
//! time by adding the elapsed nanoseconds. It re-reads the system clock when
//! the anchor is older than [`REANCHOR`], so the time follows NTP
//! adjustments and clock steps within that period, and the error of the
//! counter's calibration (parts per million) stays within microseconds.
//! Without an invariant counter, `quanta` reads the OS monotonic clock
//! instead: slower, equally correct.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use fluent_proto::{EventTime, Timestamp};

/// How long one anchor is used before the system clock is read again.
pub(crate) const REANCHOR: Duration = Duration::from_millis(50);

/// The process-wide calibrated counter (calibration runs once).
fn counter() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Calibrates the counter now (so that the first emit does not).
pub(crate) fn warm_up() {
    let _ = counter();
}

/// [`REANCHOR`] in nanoseconds.
const REANCHOR_NS: u64 = REANCHOR.as_nanos() as u64;

/// One thread's anchor: wall time (nanoseconds since the Unix epoch; a u64
/// lasts until 2554) at `raw` counter ticks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThreadClock {
    raw: u64,
    wall_ns: u64,
}

impl ThreadClock {
    /// Anchored now.
    pub(crate) fn new() -> Self {
        let raw = counter().raw();
        ThreadClock { raw, wall_ns: system_now_ns() }
    }

    /// The current wall time in nanoseconds since the Unix epoch.
    #[inline]
    pub(crate) fn now_ns(&mut self) -> u64 {
        let clock = counter();
        let raw = clock.raw();
        // A counter read on another core may be a few ticks behind the
        // anchor: `delta_as_nanos` saturates at 0.
        let elapsed = clock.delta_as_nanos(self.raw, raw);
        if elapsed < REANCHOR_NS {
            return self.wall_ns + elapsed;
        }
        self.reanchor(raw)
    }

    #[cold]
    fn reanchor(&mut self, raw: u64) -> u64 {
        *self = ThreadClock { raw, wall_ns: system_now_ns() };
        self.wall_ns
    }

    /// The current time as an event timestamp: EventTime with
    /// `nanosecond_precision`, else whole seconds.
    #[inline]
    pub(crate) fn timestamp(&mut self, nanosecond_precision: bool) -> Timestamp {
        let ns = self.now_ns();
        let seconds = ns / 1_000_000_000;
        if nanosecond_precision {
            Timestamp::Event(EventTime::new(seconds as u32, (ns % 1_000_000_000) as u32))
        } else {
            Timestamp::Seconds(seconds)
        }
    }
}

fn system_now() -> Duration {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
}

fn system_now_ns() -> u64 {
    u64::try_from(system_now().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_system_clock() {
        let mut clock = ThreadClock::new();
        for _ in 0..200 {
            let before = system_now();
            let ours = Duration::from_nanos(clock.now_ns());
            let after = system_now();
            // Within the anchor period, the counter's error is microseconds;
            // allow 2 ms for a hypervisor's clock and scheduling.
            let slack = Duration::from_millis(2);
            assert!(ours + slack >= before && ours <= after + slack, "{before:?} <= {ours:?} <= {after:?}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn reanchors_after_the_period() {
        let mut clock = ThreadClock::new();
        let first = clock.raw;
        std::thread::sleep(REANCHOR + Duration::from_millis(5));
        let _ = clock.now_ns();
        assert_ne!(clock.raw, first, "a stale anchor is replaced");
        let anchored = clock.raw;
        let _ = clock.now_ns();
        assert_eq!(clock.raw, anchored, "a fresh anchor is kept");
    }

    #[test]
    fn whole_seconds_or_event_time() {
        let mut clock = ThreadClock::new();
        let seconds = system_now().as_secs();
        match clock.timestamp(false) {
            Timestamp::Seconds(s) => assert!(s == seconds || s == seconds + 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(clock.timestamp(true), Timestamp::Event(_)));
    }
}
