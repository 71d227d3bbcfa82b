//! [`SharedProducer`]: the producer in a `static`, usable from the main loop
//! and from interrupt handlers alike, with no unsafe code: each use runs in
//! a critical section (`critical-section` feature).

use core::cell::RefCell;

use critical_section::Mutex;
use serde::Serialize;

use crate::{Clock, EmitError, FluentProducer};

/// A [`FluentProducer`] behind a critical section, for a `static`: install
/// it once at start-up, then emit from anywhere, interrupt handlers
/// included. The critical section (interrupts masked, on a single core)
/// lasts one encode into the ring; the pump runs outside it, on the
/// consumer end.
///
/// ```
/// use fluent_embedded::{EventTime, FluentProducer, Mode, Ring, SharedProducer};
/// type Producer = FluentProducer<'static, &'static Ring<1024, 16>, fn() -> EventTime>;
/// static RING: Ring<1024, 16> = Ring::new(Mode::Overwrite);
/// static PRODUCER: SharedProducer<Producer> = SharedProducer::new();
///
/// fn now() -> EventTime { EventTime::new(1_700_000_000, 0) }
/// let (producer, consumer) = RING.try_split().unwrap();
/// PRODUCER.install(FluentProducer::new(producer, "node7", now as fn() -> EventTime)).ok().unwrap();
///
/// // In an interrupt handler:
/// #[derive(serde::Serialize)]
/// struct Reading { celsius: f32 }
/// PRODUCER.emit("temp", &Reading { celsius: 21.5 })?;
/// assert_eq!(consumer.counters().frames, 1);
/// # Ok::<(), fluent_embedded::EmitError>(())
/// ```
pub struct SharedProducer<P> {
    cell: Mutex<RefCell<Option<P>>>,
}

impl<P> SharedProducer<P> {
    /// An empty slot (`const`: for a `static`).
    ///
    /// ```
    /// static SLOT: fluent_embedded::SharedProducer<()> = fluent_embedded::SharedProducer::new();
    /// assert!(!SLOT.is_installed());
    /// ```
    pub const fn new() -> Self {
        SharedProducer { cell: Mutex::new(RefCell::new(None)) }
    }

    /// Puts the producer in the slot; hands it back if one is there already.
    ///
    /// ```
    /// static SLOT: fluent_embedded::SharedProducer<u8> = fluent_embedded::SharedProducer::new();
    /// assert_eq!(SLOT.install(1), Ok(()));
    /// assert_eq!(SLOT.install(2), Err(2));
    /// ```
    ///
    /// # Errors
    /// A producer was installed before: `producer` is handed back.
    pub fn install(&self, producer: P) -> Result<(), P> {
        critical_section::with(|cs| {
            let mut slot = self.cell.borrow_ref_mut(cs);
            if slot.is_some() {
                return Err(producer);
            }
            *slot = Some(producer);
            Ok(())
        })
    }

    /// Whether a producer is installed.
    ///
    /// ```
    /// static SLOT: fluent_embedded::SharedProducer<u8> = fluent_embedded::SharedProducer::new();
    /// SLOT.install(1).unwrap();
    /// assert!(SLOT.is_installed());
    /// ```
    pub fn is_installed(&self) -> bool {
        critical_section::with(|cs| self.cell.borrow_ref(cs).is_some())
    }

    /// Runs `f` on the producer inside a critical section; `None` when none
    /// is installed, or when called from inside `f` itself.
    ///
    /// ```
    /// static SLOT: fluent_embedded::SharedProducer<u32> = fluent_embedded::SharedProducer::new();
    /// assert_eq!(SLOT.with(|n| *n), None);
    /// SLOT.install(41).unwrap();
    /// assert_eq!(SLOT.with(|n| { *n += 1; *n }), Some(42));
    /// ```
    pub fn with<T>(&self, f: impl FnOnce(&mut P) -> T) -> Option<T> {
        critical_section::with(|cs| {
            let mut slot = self.cell.borrow(cs).try_borrow_mut().ok()?;
            slot.as_mut().map(f)
        })
    }

    /// Takes the producer back out (to re-split at run time, say).
    ///
    /// ```
    /// static SLOT: fluent_embedded::SharedProducer<u8> = fluent_embedded::SharedProducer::new();
    /// SLOT.install(7).unwrap();
    /// assert_eq!(SLOT.take(), Some(7));
    /// assert!(!SLOT.is_installed());
    /// ```
    pub fn take(&self) -> Option<P> {
        critical_section::with(|cs| self.cell.borrow_ref_mut(cs).take())
    }
}

impl<P> Default for SharedProducer<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'t, R, C, H> SharedProducer<FluentProducer<'t, R, C, H>>
where
    R: core::ops::Deref,
    R::Target: fluent_queue::Storage,
    C: Clock,
    H: fluent_queue::OnEvict,
{
    /// [`FluentProducer::emit`] on the installed producer;
    /// [`EmitError::NotInstalled`] when there is none (or from inside
    /// [`with`](Self::with)), counted nowhere: nothing was there to count.
    ///
    /// # Errors
    /// As [`FluentProducer::emit`], or [`EmitError::NotInstalled`].
    pub fn emit<T: Serialize + ?Sized>(&self, label: &str, record: &T) -> Result<(), EmitError> {
        self.with(|p| p.emit(label, record)).unwrap_or(Err(EmitError::NotInstalled))
    }
}
