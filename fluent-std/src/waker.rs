//! [`Waker`]: how emitters, `flush` and `close` wake the worker while it
//! waits in `poll(2)` on its socket (a thread park cannot interrupt a poll).
//!
//! A non-blocking Unix socket pair: `wake` writes one byte, the worker polls
//! the other end next to its connection and drains it after every wait.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// The worker's wake-up channel.
#[derive(Debug)]
pub(crate) struct Waker {
    tx: UnixStream,
    rx: UnixStream,
}

impl Waker {
    pub(crate) fn new() -> io::Result<Self> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(Waker { tx, rx })
    }

    /// Makes the worker's current or next wait return at once. Never
    /// blocks: when the channel is full a wake-up is already pending.
    pub(crate) fn wake(&self) {
        let _ = (&self.tx).write(&[1]);
    }

    /// The end the worker polls.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.rx.as_fd()
    }

    /// Consumes pending wake-ups (the worker, after each wait).
    pub(crate) fn clear(&self) {
        let mut scratch = [0u8; 64];
        loop {
            match (&self.rx).read(&mut scratch) {
                Ok(n) if n == scratch.len() => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
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
            waker.wake(); // never blocks, even when the pair's buffer is full
        }
        assert_eq!(ready(&waker), 1);
        waker.clear();
        assert_eq!(ready(&waker), 0);
    }
}
