//! The one place that chooses between `core` atomics and loom's model-checked
//! ones (`RUSTFLAGS="--cfg loom"`), plus the byte-cell primitives every data
//! access goes through, so that loom sees each read and write of frame bytes.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{self, AtomicBool, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{self, AtomicBool, Ordering};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(loom))]
pub(crate) use self::plain::UnsafeCell;

#[cfg(not(loom))]
mod plain {
    /// `core::cell::UnsafeCell` with loom's closure-based accessors.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(core::cell::UnsafeCell::new(value))
        }

        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Copies `src` into the cells starting at `at`.
///
/// # Safety
/// The caller has exclusive access to `cells[at..at + src.len()]` (no other
/// thread reads or writes those bytes until a later release/acquire pair).
#[inline]
pub(crate) unsafe fn copy_in(cells: &[UnsafeCell<u8>], at: usize, src: &[u8]) {
    let dst = &cells[at..at + src.len()];
    #[cfg(not(loom))]
    {
        // SAFETY: `UnsafeCell<u8>` is `repr(transparent)` over `u8`, so the
        // cells are contiguous bytes; the range is in bounds (checked by the
        // slice above) and exclusively ours by the caller's contract.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_ptr() as *mut u8, src.len()) }
    }
    #[cfg(loom)]
    for (cell, byte) in dst.iter().zip(src) {
        // SAFETY: exclusive access by the caller's contract.
        cell.with_mut(|p| unsafe { *p = *byte });
    }
}

/// Copies the cells starting at `at` into `dst`.
///
/// # Safety
/// No other thread writes `cells[at..at + dst.len()]` during the copy.
#[inline]
pub(crate) unsafe fn copy_out(cells: &[UnsafeCell<u8>], at: usize, dst: &mut [u8]) {
    let src = &cells[at..at + dst.len()];
    #[cfg(not(loom))]
    {
        // SAFETY: contiguous bytes as in `copy_in`; nobody writes them now
        // by the caller's contract.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr() as *const u8, dst.as_mut_ptr(), dst.len()) }
    }
    #[cfg(loom)]
    for (cell, byte) in src.iter().zip(dst) {
        // SAFETY: no concurrent writer by the caller's contract.
        cell.with(|p| *byte = unsafe { *p });
    }
}

/// A shared view of `cells[range]`.
///
/// # Safety
/// No thread writes those bytes while the returned slice lives.
#[cfg(not(loom))]
#[inline]
pub(crate) unsafe fn bytes(cells: &[UnsafeCell<u8>], range: core::ops::Range<usize>) -> &[u8] {
    let cells = &cells[range];
    // SAFETY: contiguous `u8`s (repr(transparent)); no writer while the
    // borrow lives, by the caller's contract.
    unsafe { core::slice::from_raw_parts(cells.as_ptr() as *const u8, cells.len()) }
}

/// An exclusive view of `cells[range]`.
///
/// # Safety
/// The caller has exclusive access to those bytes while the slice lives.
#[cfg(not(loom))]
#[inline]
#[allow(clippy::mut_from_ref)]
pub(crate) unsafe fn bytes_mut(cells: &[UnsafeCell<u8>], range: core::ops::Range<usize>) -> &mut [u8] {
    let cells = &cells[range];
    // SAFETY: contiguous `u8`s; exclusive by the caller's contract, and
    // `UnsafeCell` permits mutation through a shared reference.
    unsafe { core::slice::from_raw_parts_mut(cells.as_ptr() as *mut u8, cells.len()) }
}
