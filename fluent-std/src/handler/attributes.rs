//! A `log::Record` seen as a Python `LogRecord`: named attributes that
//! format templates and `exclude_attrs` work on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// Python's level names and numbers for `log`'s levels (`TRACE`, which
/// Python lacks, is 5).
///
/// ```
/// assert_eq!(fluent_std::handler::level_name(log::Level::Warn), ("WARNING", 30));
/// ```
pub fn level_name(level: log::Level) -> (&'static str, u8) {
    match level {
        log::Level::Error => ("ERROR", 40),
        log::Level::Warn => ("WARNING", 30),
        log::Level::Info => ("INFO", 20),
        log::Level::Debug => ("DEBUG", 10),
        log::Level::Trace => ("TRACE", 5),
    }
}

/// One record's attributes, by their Python names (with Rust aliases),
/// computed when asked for:
///
/// | attribute | value |
/// |---|---|
/// | `name`, `target` | the record's target (Python: the logger name) |
/// | `levelname`, `level` / `levelno` | `"INFO"` ... / `20` ... |
/// | `module`, `module_path` | the module path |
/// | `pathname`, `file` / `filename` | the source file / its last component |
/// | `lineno`, `line` | the line |
/// | `msg`, `message` | the formatted message |
/// | `created` / `msecs` / `asctime` | Unix time as a float / its milliseconds / formatted (UTC) |
/// | `thread` / `threadName` / `process` | thread number / thread name / process id |
/// | any key-value key | its value (Python's `extra`) |
///
/// ```
/// let record = log::Record::builder().target("app").args(format_args!("hi")).build();
/// let attrs = fluent_std::handler::LogAttributes::from_record(&record, None);
/// assert_eq!(attrs.get("name"), Some(serde_json::Value::from("app")));
/// assert_eq!(attrs.get("message"), Some(serde_json::Value::from("hi")));
/// ```
#[derive(Debug, Clone)]
pub struct LogAttributes<'a> {
    record: &'a log::Record<'a>,
    datefmt: Option<&'a str>,
    /// When the record was read (Python's `created`), taken on first use:
    /// the default formatter never asks, so it costs no clock read.
    created: std::cell::OnceCell<Duration>,
    /// Key-value pairs (merged into the record as fields).
    extra: Map<String, Value>,
    /// The message, with any error's chain appended (Python appends the
    /// traceback).
    message: String,
}

/// Every attribute name, aliases included (what `exclude_attrs` starts from).
const NAMES: [&str; 27] = [
    "name",
    "target",
    "levelname",
    "level",
    "levelno",
    "module",
    "module_path",
    "pathname",
    "file",
    "filename",
    "lineno",
    "line",
    "msg",
    "message",
    "created",
    "msecs",
    "asctime",
    "thread",
    "threadName",
    "process",
    "processName",
    "relativeCreated",
    "hostname",
    "funcName",
    "exc_info",
    "exc_text",
    "stack_info",
];

impl<'a> LogAttributes<'a> {
    /// Reads a record; `datefmt` formats `asctime` (strftime subset: `%Y %m
    /// %d %H %M %S %y %z %Z %%`; default `"%Y-%m-%d %H:%M:%S,mmm"` like Python).
    ///
    /// ```
    /// let record = log::Record::builder().level(log::Level::Warn).args(format_args!("x")).build();
    /// let attrs = fluent_std::handler::LogAttributes::from_record(&record, Some("%H:%M"));
    /// assert_eq!(attrs.get("levelno"), Some(30.into()));
    /// ```
    pub fn from_record(record: &'a log::Record<'a>, datefmt: Option<&'a str>) -> Self {
        let mut extra = Map::new();
        let mut errors = Vec::new();
        let _ = record.key_values().visit(&mut KeyValues { extra: &mut extra, errors: &mut errors });
        let mut message = record.args().to_string();
        for chain in errors {
            message.push('\n');
            message.push_str(&chain);
        }
        LogAttributes { record, datefmt, created: std::cell::OnceCell::new(), extra, message }
    }

    /// One attribute (a key-value of the same name as a built-in attribute
    /// does not replace it, as Python refuses `extra` keys that clash).
    ///
    /// ```
    /// let record = log::Record::builder().line(Some(9)).args(format_args!("x")).build();
    /// let attrs = fluent_std::handler::LogAttributes::from_record(&record, None);
    /// assert_eq!(attrs.get("lineno"), Some(9.into()));
    /// assert_eq!(attrs.get("no_such_attribute"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<Value> {
        let r = self.record;
        let file = r.file().unwrap_or_default();
        Some(match name {
            "name" | "target" => r.target().into(),
            "levelname" | "level" => level_name(r.level()).0.into(),
            "levelno" => level_name(r.level()).1.into(),
            "module" | "module_path" => r.module_path().unwrap_or_default().into(),
            "pathname" | "file" => file.into(),
            "filename" => file.rsplit(['/', '\\']).next().unwrap_or(file).into(),
            "lineno" | "line" => r.line().map_or(Value::Null, Value::from),
            "msg" | "message" => self.message.as_str().into(),
            "created" => self.created().as_secs_f64().into(),
            "msecs" => f64::from(self.created().subsec_millis()).into(),
            "relativeCreated" => process_age_ms(self.created()).into(),
            "asctime" => asctime(self.created().as_secs(), self.created().subsec_millis(), self.datefmt).into(),
            "thread" => {
                let id = format!("{:?}", std::thread::current().id());
                id.chars().filter(char::is_ascii_digit).collect::<String>().parse::<u64>().unwrap_or(0).into()
            }
            "threadName" => std::thread::current().name().unwrap_or("unnamed").into(),
            "process" => std::process::id().into(),
            // Python's value for a program's one process.
            "processName" => "MainProcess".into(),
            // fluent-logger-python's formatter adds the machine's name.
            "hostname" => crate::handler_support::hostname().into(),
            // Not known to `log` (Python: the function, the exception, the
            // stack): None, as Python gives when there is none.
            "funcName" | "exc_info" | "exc_text" | "stack_info" => Value::Null,
            other => return self.extra.get(other).cloned(),
        })
    }

    /// When the record was read, since the Unix epoch.
    fn created(&self) -> Duration {
        *self.created.get_or_init(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default())
    }

    /// Every attribute, aliases and key-values included.
    ///
    /// ```
    /// let record = log::Record::builder().args(format_args!("x")).build();
    /// let all = fluent_std::handler::LogAttributes::from_record(&record, None).all();
    /// assert!(all.contains_key("threadName") && all.contains_key("asctime"));
    /// ```
    pub fn all(&self) -> Map<String, Value> {
        let mut all: Map<String, Value> = NAMES.iter().filter_map(|n| Some(((*n).to_owned(), self.get(n)?))).collect();
        for (k, v) in &self.extra {
            all.entry(k.clone()).or_insert_with(|| v.clone());
        }
        all
    }

    /// The record read.
    pub(crate) fn record(&self) -> &log::Record<'a> {
        self.record
    }

    /// The key-value pairs only.
    ///
    /// ```
    /// let kv = [("user", "ada")];
    /// let record = log::Record::builder().key_values(&kv).args(format_args!("x")).build();
    /// let attrs = fluent_std::handler::LogAttributes::from_record(&record, None);
    /// assert_eq!(attrs.extra()["user"], "ada");
    /// ```
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The message (with error chains appended).
    ///
    /// ```
    /// let record = log::Record::builder().args(format_args!("hello {}", 1)).build();
    /// assert_eq!(fluent_std::handler::LogAttributes::from_record(&record, None).message(), "hello 1");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Milliseconds since this process first logged (Python: since the
/// `logging` module loaded).
fn process_age_ms(now: Duration) -> f64 {
    static START: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| now);
    now.saturating_sub(start).as_secs_f64() * 1e3
}

/// `log` key-values as JSON values; errors also noted for the message.
struct KeyValues<'a> {
    extra: &'a mut Map<String, Value>,
    errors: &'a mut Vec<String>,
}

impl<'kvs> log::kv::VisitSource<'kvs> for KeyValues<'_> {
    fn visit_pair(&mut self, key: log::kv::Key<'kvs>, value: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> {
        let json = if let Some(err) = value.to_borrowed_error() {
            let mut chain = format!("{key}: {err}");
            let mut source = err.source();
            while let Some(cause) = source {
                chain.push_str(&format!("\nCaused by: {cause}"));
                source = cause.source();
            }
            self.errors.push(chain);
            Value::String(err.to_string())
        } else if let Some(b) = value.to_bool() {
            Value::Bool(b)
        } else if let Some(u) = value.to_u64() {
            Value::from(u)
        } else if let Some(i) = value.to_i64() {
            Value::from(i)
        } else if let Some(f) = value.to_f64() {
            Value::from(f)
        } else if let Some(s) = value.to_borrowed_str() {
            Value::from(s)
        } else {
            // `:serde` captures keep their structure (maps, sequences);
            // `?` (Debug) and `%` (Display) captures serialize as text.
            serde_json::to_value(&value).unwrap_or_else(|_| Value::String(value.to_string()))
        };
        self.extra.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}

/// `asctime`: Python's default layout, or a strftime subset.
fn asctime(seconds: u64, millis: u32, datefmt: Option<&str>) -> String {
    let t = fluent_proto::UtcDateTime::from_unix_seconds(seconds);
    let Some(fmt) = datefmt else {
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{millis:03}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        );
    };
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{:04}", t.year)),
            Some('y') => out.push_str(&format!("{:02}", t.year % 100)),
            Some('m') => out.push_str(&format!("{:02}", t.month)),
            Some('d') => out.push_str(&format!("{:02}", t.day)),
            Some('H') => out.push_str(&format!("{:02}", t.hour)),
            Some('M') => out.push_str(&format!("{:02}", t.minute)),
            Some('S') => out.push_str(&format!("{:02}", t.second)),
            Some('z') => out.push_str("+0000"),
            Some('Z') => out.push_str("UTC"),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asctime_layouts() {
        assert_eq!(asctime(1_490_061_367, 5, None), "2017-03-21 01:56:07,005");
        assert_eq!(asctime(1_490_061_367, 5, Some("%d/%m/%y %H:%M %Z %q")), "21/03/17 01:56 UTC %q");
    }
}
