//! Where event times come from on a device.

use fluent_proto::{EventTime, Timestamp};

use crate::unix_offset::UnixOffset;

/// A source of event times.
///
/// Any `Fn() -> EventTime` is a clock. Firmware without a wall clock can use
/// [`OffsetClock`]: a monotonic counter plus a Unix offset learned later
/// (from SNTP, a GPS fix, or the server).
///
/// ```
/// use fluent_embedded::Clock;
/// use fluent_proto::EventTime;
/// let fixed = || EventTime::new(1_700_000_000, 0);
/// assert_eq!(fixed.now().seconds(), 1_700_000_000);
/// ```
pub trait Clock {
    /// The current time.
    fn now(&self) -> EventTime;
}

impl<F: Fn() -> EventTime> Clock for F {
    fn now(&self) -> EventTime {
        self()
    }
}

/// Whether events carry EventTime (nanoseconds, the default) or integer
/// seconds (fluent-logger-python without `nanosecond_precision`).
///
/// ```
/// assert_eq!(fluent_embedded::TimeMode::default(), fluent_embedded::TimeMode::EventTime);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeMode {
    /// EventTime: seconds and nanoseconds.
    #[default]
    EventTime,
    /// Whole seconds.
    Seconds,
}

impl TimeMode {
    /// `time` in this mode.
    ///
    /// ```
    /// use fluent_proto::{EventTime, Timestamp};
    /// assert_eq!(fluent_embedded::TimeMode::Seconds.stamp(EventTime::new(5, 9)), Timestamp::Seconds(5));
    /// ```
    pub fn stamp(self, time: EventTime) -> Timestamp {
        match self {
            TimeMode::EventTime => Timestamp::Event(time),
            TimeMode::Seconds => Timestamp::Seconds(u64::from(time.seconds())),
        }
    }
}

/// A monotonic tick counter plus a Unix offset that can be set at any time
/// (from any context; on targets without 64-bit atomics, from one context
/// at a time, while any context reads).
///
/// Before the offset is known, times count from the Unix epoch (1970),
/// which receivers show as such; set it as soon as the device learns the
/// time.
///
/// ```
/// use fluent_embedded::{Clock, OffsetClock};
/// static TICKS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// let clock = OffsetClock::new(|| TICKS.load(core::sync::atomic::Ordering::Relaxed), 1_000); // ms ticks
/// TICKS.store(2_500, core::sync::atomic::Ordering::Relaxed);
/// clock.set_unix_offset_ms(1_700_000_000_000);
/// let t = clock.now();
/// assert_eq!((t.seconds(), t.nanoseconds()), (1_700_000_002, 500_000_000));
/// ```
pub struct OffsetClock<F> {
    ticks: F,
    ticks_per_second: u64,
    /// Unix time at tick 0, in milliseconds.
    offset_ms: UnixOffset,
}

impl<F: Fn() -> u64> OffsetClock<F> {
    /// A clock reading `ticks`, which counts `ticks_per_second` per second
    /// (at least 1).
    ///
    /// ```
    /// let clock = fluent_embedded::OffsetClock::new(|| 0, 32_768); // a 32 kHz RTC counter
    /// assert_eq!(fluent_embedded::Clock::now(&clock).seconds(), 0);
    /// ```
    pub const fn new(ticks: F, ticks_per_second: u64) -> Self {
        OffsetClock {
            ticks,
            ticks_per_second: if ticks_per_second == 0 { 1 } else { ticks_per_second },
            offset_ms: UnixOffset::new(),
        }
    }

    /// Sets the Unix time (in milliseconds) at which the counter read 0.
    ///
    /// ```
    /// use fluent_embedded::{Clock, OffsetClock};
    /// let clock = OffsetClock::new(|| 0, 1);
    /// clock.set_unix_offset_ms(1_700_000_000_000);
    /// assert_eq!(clock.now().seconds(), 1_700_000_000);
    /// ```
    pub fn set_unix_offset_ms(&self, offset_ms: u64) {
        self.offset_ms.set(offset_ms);
    }

    /// Learns the offset from the Unix time now (milliseconds).
    ///
    /// ```
    /// use fluent_embedded::{Clock, OffsetClock};
    /// let clock = OffsetClock::new(|| 10, 1); // 10 s since boot
    /// clock.sync_unix_ms(1_700_000_010_000);
    /// assert_eq!(clock.now().seconds(), 1_700_000_010);
    /// ```
    pub fn sync_unix_ms(&self, unix_ms_now: u64) {
        let since_boot_ms = self.elapsed_ns() / 1_000_000;
        self.set_unix_offset_ms(unix_ms_now.saturating_sub(since_boot_ms));
    }

    fn elapsed_ns(&self) -> u64 {
        let ticks = (self.ticks)();
        let secs = ticks / self.ticks_per_second;
        let rem = ticks % self.ticks_per_second;
        secs.saturating_mul(1_000_000_000).saturating_add(rem.saturating_mul(1_000_000_000) / self.ticks_per_second)
    }
}

/// A shared clock, typically a `static`: the producer can hold `&CLOCK`
/// while the rest of the firmware sets its offset.
///
/// ```
/// use fluent_embedded::{Clock, OffsetClock};
/// fn ticks() -> u64 { 5 }
/// static CLOCK: OffsetClock<fn() -> u64> = OffsetClock::new(ticks, 1);
/// static RING: fluent_queue::Ring<256, 8> = fluent_queue::Ring::new(fluent_queue::Mode::Block);
/// let (p, _c) = RING.try_split().unwrap();
/// let producer = fluent_embedded::FluentProducer::new(p, "node7", &CLOCK);
/// CLOCK.set_unix_offset_ms(1_700_000_000_000);
/// assert_eq!((&CLOCK).now().seconds(), 1_700_000_005);
/// # drop(producer);
/// ```
impl<F: Fn() -> u64> Clock for &OffsetClock<F> {
    fn now(&self) -> EventTime {
        (**self).now()
    }
}

impl<F: Fn() -> u64> Clock for OffsetClock<F> {
    fn now(&self) -> EventTime {
        let ns = self.elapsed_ns().saturating_add(self.offset_ms.get().saturating_mul(1_000_000));
        let seconds = u32::try_from(ns / 1_000_000_000).unwrap_or(u32::MAX);
        EventTime::new(seconds, (ns % 1_000_000_000) as u32)
    }
}
