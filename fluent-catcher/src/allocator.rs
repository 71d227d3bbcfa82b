//! glibc's allocator, told to give freed memory back.
//!
//! By default glibc raises its mmap threshold each time a large block is
//! freed (up to 32 MiB), so the next blocks below that size come from
//! per-thread heaps, which keep what is freed. After a few large requests
//! on a few threads, the process holds tens of megabytes per thread that
//! no budget counts. With the threshold fixed, large blocks are mapped and
//! unmapped each time, and resident memory follows the memory budgets.
//!
//! glibc reads the setting from the environment when the process starts,
//! so the binary sets it and runs itself again (`exec`, same process id)
//! when it is not already set.

/// The fixed threshold, 4 MiB: what a round of lines or a large request
/// grows past goes back at once. Smaller blocks come from the heaps and are
/// reused (a 128 KiB threshold, glibc's starting point, cost raw ingest
/// about a fifth: every round's lines were fresh pages).
const THRESHOLD: &str = "4194304";
const VARIABLE: &str = "MALLOC_MMAP_THRESHOLD_";

/// Runs this binary again with the threshold fixed, unless the environment
/// already sets it (or this is not glibc); returns only when it did not.
pub(crate) fn fix_mmap_threshold() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || std::env::var_os(VARIABLE).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(VARIABLE, THRESHOLD).exec();
    // Still here: run as we are, with the default allocator settings.
    eprintln!(
        "fluent-catcher: could not restart with {VARIABLE}={THRESHOLD} ({error}); memory freed after large requests may stay resident"
    );
}
