//! A `log::Record` seen as a Python `LogRecord`: named attributes that
//! format templates and `exclude_attrs` work on.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// One record's attributes, by their Python names (with Rust aliases):
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
/// assert_eq!(attrs.get("name"), Some(&serde_json::Value::from("app")));
/// assert_eq!(attrs.get("message"), Some(&serde_json::Value::from("hi")));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogAttributes {
    attributes: Map<String, Value>,
    /// Key-value pairs (merged into the record as fields).
    extra: Map<String, Value>,
    /// The message, with any error's chain appended (Python appends the
    /// traceback).
    message: String,
}

impl LogAttributes {
    /// Reads a record; `datefmt` formats `asctime` (strftime subset: `%Y %m
    /// %d %H %M %S %y %z %Z %%`; default `"%Y-%m-%d %H:%M:%S,mmm"` like Python).
    pub fn from_record(record: &log::Record<'_>, datefmt: Option<&str>) -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let created = now.as_secs_f64();
        let (levelname, levelno) = level_name(record.level());
        let text = record.args().to_string();
        let file = record.file().unwrap_or_default();
        let filename = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let thread = std::thread::current();
        let thread_number: u64 =
            format!("{:?}", thread.id()).chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0);
        let mut a = Map::new();
        let mut put = |keys: &[&str], value: Value| {
            for key in keys {
                a.insert((*key).to_owned(), value.clone());
            }
        };
        put(&["name", "target"], record.target().into());
        put(&["levelname", "level"], levelname.into());
        put(&["levelno"], levelno.into());
        put(&["module", "module_path"], record.module_path().unwrap_or_default().into());
        put(&["pathname", "file"], file.into());
        put(&["filename"], filename.into());
        put(&["lineno", "line"], record.line().map_or(Value::Null, Value::from));
        put(&["created"], created.into());
        put(&["msecs"], f64::from(now.subsec_millis()).into());
        put(&["asctime"], asctime(now.as_secs(), now.subsec_millis(), datefmt).into());
        put(&["thread"], thread_number.into());
        put(&["threadName"], thread.name().unwrap_or("unnamed").into());
        put(&["process"], std::process::id().into());

        let mut extra = Map::new();
        let mut errors = Vec::new();
        let mut visitor = KeyValues { extra: &mut extra, errors: &mut errors };
        let _ = record.key_values().visit(&mut visitor);
        let mut message = text;
        for chain in errors {
            message.push('\n');
            message.push_str(&chain);
        }
        put(&["msg", "message"], message.clone().into());
        for (k, v) in &extra {
            a.entry(k.clone()).or_insert_with(|| v.clone());
        }
        LogAttributes { attributes: a, extra, message }
    }

    /// One attribute.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }

    /// Every attribute.
    pub fn all(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// The key-value pairs only.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// The message (with error chains appended).
    pub fn message(&self) -> &str {
        &self.message
    }
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
            Value::String(value.to_string())
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
