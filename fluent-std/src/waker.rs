//! [`Waker`]: how emitters, `flush` and `close` wake the worker while it
//! waits in `poll(2)` on its socket (a thread park cannot interrupt a poll).
//!
//! On Linux an `eventfd` (one descriptor, a counter that never fills);
//! elsewhere a non-blocking Unix socket pair. Whatever the channel, the
//! scheduler may run the woken worker on the emitting thread's core, ahead
//! of it; the worker therefore yields once after such a wake-up (see
//! `worker.rs`), so that the emit is not kept waiting for the worker's turn.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

/// The worker's wake-up channel.
#[derive(Debug)]
pub(crate) struct Waker {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
    #[cfg(not(target_os = "linux"))]
    pair: (std::os::unix::net::UnixStream, std::os::unix::net::UnixStream),
}

impl Waker {
    #[cfg(target_os = "linux")]
    pub(crate) fn new() -> io::Result<Self> {
        use rustix::event::{EventfdFlags, eventfd};
        let fd = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
        Ok(Waker { fd })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new() -> io::Result<Self> {
        let (tx, rx) = std::os::unix::net::UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(Waker { pair: (tx, rx) })
    }

    /// Makes the worker's current or next wait return at once. Never
    /// blocks: when the channel is full a wake-up is already pending.
    pub(crate) fn wake(&self) {
        #[cfg(target_os = "linux")]
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
        #[cfg(not(target_os = "linux"))]
        let _ = io::Write::write(&mut &self.pair.0, &[1]);
    }

    /// The end the worker polls.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        #[cfg(target_os = "linux")]
        return self.fd.as_fd();
        #[cfg(not(target_os = "linux"))]
        return self.pair.1.as_fd();
    }

    /// Consumes pending wake-ups (the worker, after each wait).
    pub(crate) fn clear(&self) {
        let mut scratch = [0u8; 64];
        #[cfg(target_os = "linux")]
        let _ = rustix::io::read(&self.fd, &mut scratch[..8]);
        #[cfg(not(target_os = "linux"))]
        while matches!(io::Read::read(&mut &self.pair.1, &mut scratch), Ok(n) if n > 0) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::event::{PollFd, PollFlags, poll};

    #[test]
    fn a_wake_ends_a_poll_and_clear_rearms_it() {
        let waker = Waker::new().unwrap();
        let zero = rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 };
        let ready = |w: &Waker| poll(&mut [PollFd::from_borrowed_fd(w.fd(), PollFlags::IN)], Some(&zero)).unwrap();
        assert_eq!(ready(&waker), 0);
        for _ in 0..100_000 {
            waker.wake(); // never blocks, however many are pending
        }
        assert_eq!(ready(&waker), 1);
        waker.clear();
        assert_eq!(ready(&waker), 0);
    }
}
