//! Where the central log goes, and what an ack promises about it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// The central log's destination.
///
/// ```
/// use fluent_catcher::Output;
/// let out = Output::Memory(Default::default());
/// assert!(matches!(out, Output::Memory(_)));
/// ```
#[derive(Debug, Clone, Default)]
pub enum Output {
    /// Standard output (the default).
    #[default]
    Stdout,
    /// A file, created if missing and appended to.
    File(PathBuf),
    /// An in-memory buffer (what the test fixture reads back).
    Memory(MemoryOutput),
}

/// A shared in-memory log: every line the writer wrote, in order.
///
/// ```
/// use std::io::Write;
/// let memory = fluent_catcher::MemoryOutput::default();
/// memory.clone().write_all(b"line\n")?;
/// assert_eq!(memory.contents(), b"line\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryOutput(Arc<Mutex<Vec<u8>>>);

impl MemoryOutput {
    /// A copy of everything written so far.
    ///
    /// ```
    /// assert!(fluent_catcher::MemoryOutput::default().contents().is_empty());
    /// ```
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Write for MemoryOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// When the catcher answers a request's `chunk` with `{"ack": chunk}`.
///
/// Either way the ack is sent only after the writer has the events, never
/// on receipt alone, so an acked event survives anything short of what the
/// chosen level does not cover.
///
/// ```
/// use fluent_catcher::AckWhen;
/// assert_eq!(AckWhen::default(), AckWhen::Written);
/// assert_eq!("synced".parse::<AckWhen>(), Ok(AckWhen::Synced));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckWhen {
    /// The events were written to the output (`write(2)` returned): they
    /// survive the catcher crashing, not the machine losing power.
    #[default]
    Written,
    /// The output file was also `fdatasync`ed: the events survive a power
    /// loss. Costs one sync per group of requests (group commit).
    Synced,
}

impl core::str::FromStr for AckWhen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "written" => Ok(AckWhen::Written),
            "synced" | "fsync" => Ok(AckWhen::Synced),
            other => Err(format!("unknown ack level {other:?} (expected written or synced)")),
        }
    }
}

/// The opened output: a buffered writer, and the file to sync if any.
pub(crate) struct OpenOutput {
    pub(crate) writer: io::BufWriter<Box<dyn Write + Send>>,
    pub(crate) file: Option<std::fs::File>,
}

impl Output {
    pub(crate) fn open(&self) -> io::Result<OpenOutput> {
        const BUFFER: usize = 1 << 20;
        Ok(match self {
            Output::Stdout => {
                OpenOutput { writer: io::BufWriter::with_capacity(BUFFER, Box::new(io::stdout())), file: None }
            }
            Output::File(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                let sync = file.try_clone()?;
                OpenOutput { writer: io::BufWriter::with_capacity(BUFFER, Box::new(file)), file: Some(sync) }
            }
            // Unbuffered: what the writer wrote is what a test reads.
            Output::Memory(memory) => {
                OpenOutput { writer: io::BufWriter::with_capacity(0, Box::new(memory.clone())), file: None }
            }
        })
    }
}
