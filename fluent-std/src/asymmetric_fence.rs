//! An asymmetric store-load fence: the emit path (hot) pays a compiler
//! fence only; the rare side (close, the worker going to sleep) pays a
//! `membarrier(2)` system call that makes every running thread of the
//! process execute a full memory barrier. This is the technique of
//! userspace RCU and folly's `asymmetric_thread_fence_{light,heavy}`.
//!
//! Both handshakes of the async sender are Dekker-style: one side stores
//! a flag and then loads the other's, and at least one of the two must see
//! the other's store. With a `SeqCst` fence on both sides that is
//! guaranteed by the memory model; here the heavy side's `membarrier`
//! orders the light side's store before its load for every thread that was
//! running, and a thread that was not running has been through a context
//! switch, itself a full barrier.
//!
//! Where `membarrier` is unavailable (not Linux, an old kernel, or a
//! seccomp filter), both sides fall back to a `SeqCst` fence. The choice is
//! made once per process, before any sender exists, so the two sides always
//! agree.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering, compiler_fence, fence};

/// Set once by [`init`] when the process registered for private expedited
/// membarriers. Every thread that fences got its sender (built after
/// `init`) through a synchronizing handoff, so a relaxed load sees it.
static ASYMMETRIC: AtomicBool = AtomicBool::new(false);

/// Whether the process registered for private expedited membarriers.
#[inline]
fn asymmetric() -> bool {
    ASYMMETRIC.load(Ordering::Relaxed)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn register() -> bool {
    use rustix::thread::{MembarrierCommand, membarrier, membarrier_query};
    membarrier_query().contains_command(MembarrierCommand::PrivateExpedited)
        && membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn register() -> bool {
    false
}

/// Decides between the two implementations (call before the fences are used
/// from more than one thread: `AsyncSender::build` does).
pub(crate) fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| ASYMMETRIC.store(register(), Ordering::Relaxed));
}

/// The hot side: orders this thread's earlier stores before its later loads
/// against a concurrent [`heavy`] on another thread.
#[inline]
pub(crate) fn light() {
    if asymmetric() {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The rare side: a full barrier on every thread of the process.
pub(crate) fn heavy() {
    fence(Ordering::SeqCst);
    if asymmetric() {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::thread::{MembarrierCommand, membarrier};
            // Cannot fail once registered (membarrier(2): EPERM only
            // without registration). Should it fail, loop rather than let an
            // emit slip past a close unseen.
            while membarrier(MembarrierCommand::PrivateExpedited).is_err() {
                std::thread::yield_now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;

    /// The Dekker pattern both handshakes use: a light thread and a heavy
    /// thread each store their flag, fence, and read the other's; never both
    /// read `false` in the same round.
    #[test]
    fn one_side_always_sees_the_other() {
        init();
        const ROUNDS: u64 = 50_000;
        let a = Arc::new(AtomicBool::new(false));
        let b = Arc::new(AtomicBool::new(false));
        let round = Arc::new(AtomicU64::new(0));
        let missed_a = Arc::new(AtomicU64::new(u64::MAX));
        let light_side = {
            let (a, b, round, missed) = (a.clone(), b.clone(), round.clone(), missed_a.clone());
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    let mut spins = 0u32;
                    while round.load(Ordering::Acquire) < 2 * r + 1 {
                        // Spin, so that both sides run their sequence at the
                        // same moment; yield if the other is not running.
                        spins += 1;
                        if spins < 100_000 { std::hint::spin_loop() } else { std::thread::yield_now() }
                    }
                    a.store(true, Ordering::Relaxed);
                    light();
                    if !b.load(Ordering::Relaxed) {
                        missed.store(r, Ordering::Relaxed);
                    }
                    round.fetch_add(1, Ordering::AcqRel);
                }
            })
        };
        for r in 0..ROUNDS {
            a.store(false, Ordering::Relaxed);
            b.store(false, Ordering::Relaxed);
            missed_a.store(u64::MAX, Ordering::Relaxed);
            round.fetch_add(1, Ordering::AcqRel);
            // The other thread sees the new round some tens of ns later: a
            // delay that varies from round to round makes the two sequences
            // overlap in some rounds.
            for _ in 0..r % 4 {
                std::hint::spin_loop();
            }
            b.store(true, Ordering::Relaxed);
            heavy();
            let saw_a = a.load(Ordering::Relaxed);
            let mut spins = 0u32;
            while round.load(Ordering::Acquire) < 2 * r + 2 {
                spins += 1;
                if spins < 100_000 { std::hint::spin_loop() } else { std::thread::yield_now() }
            }
            let light_missed = missed_a.load(Ordering::Relaxed) == r;
            assert!(saw_a || !light_missed, "round {r}: neither side saw the other's store");
        }
        light_side.join().unwrap();
    }
}
