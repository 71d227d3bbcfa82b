//! What the `log` handler and the `tracing` layer share besides the sender.

use std::sync::OnceLock;

/// This machine's hostname (`sys_host`), read once.
pub(crate) fn hostname() -> &'static str {
    static HOSTNAME: OnceLock<String> = OnceLock::new();
    HOSTNAME.get_or_init(|| gethostname::gethostname().to_string_lossy().into_owned())
}
