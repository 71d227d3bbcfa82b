//! The handler's optional console copy: each record it sends, also written
//! as one line in env_logger's default layout.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the copies go, one line per record.
pub(super) struct Tee {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Tee {
    pub(super) fn new(out: Box<dyn Write + Send>) -> Self {
        Tee { out: Mutex::new(out) }
    }

    /// Writes `record` as `[2026-12-06T10:53:53Z WARN  target] message k=v`.
    /// A failed write is ignored: the console copy never costs the record.
    pub(super) fn write(&self, record: &log::Record<'_>) {
        let line = line(record, SystemTime::now());
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = out.write_all(line.as_bytes());
    }
}

fn line(record: &log::Record<'_>, now: SystemTime) -> String {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t = fluent_proto::UtcDateTime::from_unix_seconds(seconds);
    let mut line = format!(
        "[{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z {:<5} {}] {}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        record.level(),
        record.target(),
        record.args()
    );
    let _ = record.key_values().visit(&mut KeyValues(&mut line));
    line.push('\n');
    line
}

/// Appends ` key=value` for each key-value of a record.
struct KeyValues<'a>(&'a mut String);

impl<'kvs> log::kv::VisitSource<'kvs> for KeyValues<'_> {
    fn visit_pair(&mut self, key: log::kv::Key<'kvs>, value: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> {
        let _ = write!(self.0, " {key}={value}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_logger_layout_with_key_values() {
        let kvs = [("user", log::kv::Value::from("ada")), ("attempts", log::kv::Value::from(3))];
        let record = log::Record::builder()
            .level(log::Level::Warn)
            .target("svc::db")
            .args(format_args!("slow query"))
            .key_values(&kvs)
            .build();
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_490_061_367);
        assert_eq!(line(&record, at), "[2017-03-21T01:56:07Z WARN  svc::db] slow query user=ada attempts=3\n");
    }
}
