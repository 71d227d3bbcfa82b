//! The Unix offset of [`OffsetClock`](crate::OffsetClock): a `u64` of
//! milliseconds that any context may read while the time is being set.
//!
//! Where the target has 64-bit atomics it is one `AtomicU64`. Elsewhere
//! (Cortex-M3/M4/M7/M33, 32-bit RISC-V, Xtensa; or any target built with
//! `--cfg fluent_narrow_atomics`, which the host tests use) it is two
//! buffers of two 32-bit halves and a generation count: the setter fills the
//! buffer readers are not using and then publishes it, and a reader retries
//! when the generation moved during its read. A reader never waits for a
//! setter it interrupted (the published buffer is not being written), so an
//! interrupt handler may read while the main loop sets.

#[cfg(all(target_has_atomic = "64", not(fluent_narrow_atomics)))]
mod imp {
    use core::sync::atomic::{AtomicU64, Ordering};

    /// One atomic word.
    #[derive(Debug)]
    pub(crate) struct UnixOffset(AtomicU64);

    impl UnixOffset {
        pub(crate) const fn new() -> Self {
            UnixOffset(AtomicU64::new(0))
        }

        pub(crate) fn get(&self) -> u64 {
            // Relaxed: one independent value; readers need no other memory.
            self.0.load(Ordering::Relaxed)
        }

        pub(crate) fn set(&self, ms: u64) {
            self.0.store(ms, Ordering::Relaxed);
        }
    }
}

#[cfg(not(all(target_has_atomic = "64", not(fluent_narrow_atomics))))]
mod imp {
    use core::sync::atomic::{AtomicU32, Ordering, fence};

    /// Two buffers of (high, low) halves; `generation & 1` is the published
    /// one.
    #[derive(Debug)]
    pub(crate) struct UnixOffset {
        generation: AtomicU32,
        halves: [[AtomicU32; 2]; 2],
    }

    impl UnixOffset {
        pub(crate) const fn new() -> Self {
            UnixOffset {
                generation: AtomicU32::new(0),
                halves: [[AtomicU32::new(0), AtomicU32::new(0)], [AtomicU32::new(0), AtomicU32::new(0)]],
            }
        }

        pub(crate) fn get(&self) -> u64 {
            loop {
                // Acquire pairs with the Release store in `set`: the halves
                // of the buffer it published are visible.
                let generation = self.generation.load(Ordering::Acquire);
                let [high, low] = &self.halves[(generation & 1) as usize];
                let value = u64::from(high.load(Ordering::Relaxed)) << 32 | u64::from(low.load(Ordering::Relaxed));
                // Acquire pairs with the Release fence in `set`: if either
                // load saw a store of a later `set` (which rewrites this
                // buffer only after publishing the other one), the load
                // below sees that publication and we read again.
                fence(Ordering::Acquire);
                if self.generation.load(Ordering::Relaxed) == generation {
                    return value;
                }
            }
        }

        /// One setter at a time (readers may run at any moment).
        pub(crate) fn set(&self, ms: u64) {
            // Relaxed: only the setter writes it.
            let generation = self.generation.load(Ordering::Relaxed).wrapping_add(1);
            let [high, low] = &self.halves[(generation & 1) as usize];
            // Release pairs with the Acquire fence in `get` (see there).
            fence(Ordering::Release);
            high.store((ms >> 32) as u32, Ordering::Relaxed);
            low.store(ms as u32, Ordering::Relaxed);
            // Release pairs with the Acquire load in `get`.
            self.generation.store(generation, Ordering::Release);
        }
    }
}

pub(crate) use imp::UnixOffset;

/// Only the two-buffer form can tear (one `AtomicU64` cannot), so the test
/// runs in the narrow build, which the test command makes.
#[cfg(all(test, not(all(target_has_atomic = "64", not(fluent_narrow_atomics)))))]
mod tests {
    use super::UnixOffset;

    /// Readers on another thread only ever see values that were set, while
    /// the setter keeps changing the value (both halves at once).
    #[test]
    fn readers_never_see_a_torn_value() {
        static OFFSET: UnixOffset = UnixOffset::new();
        let pattern = |i: u64| i << 32 | i;
        let reader = std::thread::spawn(|| {
            for _ in 0..1_000_000 {
                let v = OFFSET.get();
                assert_eq!(v >> 32, v & 0xffff_ffff, "torn read: {v:#x}");
            }
        });
        for i in 0..1_000_000 {
            OFFSET.set(pattern(i));
        }
        reader.join().unwrap();
        assert_eq!(OFFSET.get(), pattern(999_999));
    }
}
