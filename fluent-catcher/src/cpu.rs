//! CPU shared fairly: a request that takes long to decode (large, or
//! compressed) is decoded with the runtime told so, and the worker's other
//! connections move to another thread meanwhile, instead of waiting behind
//! it.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Requests at least this large on the wire (or compressed, whatever their
/// size) count as long work: about a millisecond of rendering and more.
pub(crate) const HEAVY_BYTES: usize = 256 << 10;

/// Runs `work`, a piece of decoding. When it is `long`, on a multi-thread
/// runtime, the worker's other tasks are handed to another thread while it
/// runs (`block_in_place`); otherwise it just runs.
pub(crate) fn run<R>(long: bool, work: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if long && handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
