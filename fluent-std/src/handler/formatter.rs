//! `FluentRecordFormatter`: what a log record becomes as a Fluentd record.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::attributes::LogAttributes;
use super::default_record::DefaultRecord;
use super::template::{FormatStyle, TemplateError, render};
use crate::handler_support::hostname;

type FieldsFn = Arc<dyn Fn(&LogAttributes<'_>) -> Map<String, Value> + Send + Sync>;

#[derive(Clone)]
enum Fields {
    Default,
    Templates(Vec<(String, String)>),
    Function(FieldsFn),
    AllExcept(BTreeSet<String>),
}

/// fluent-logger-python's `FluentRecordFormatter`: turns a `log::Record`
/// into the map sent as the event's record.
///
/// - Default fields: `sys_host` (hostname, read once), `sys_name` (the
///   target, Python's logger name), `sys_module` (the module path), plus
///   `level`, `file` and `line`.
/// - [`fmt`](Self::fmt): fields from format templates over the record's
///   [attributes](LogAttributes), in the [`FormatStyle`] chosen; a missing
///   attribute is an error unless
///   [`fill_missing_fmt_key`](Self::fill_missing_fmt_key) (then `null`).
/// - [`fmt_fn`](Self::fmt_fn): a function of the attributes returns the fields.
/// - [`exclude_attrs`](Self::exclude_attrs): every attribute except these
///   (templates ignored).
/// - Then the message: key-values are merged as fields (Python's dict
///   message); a message that is a JSON object is merged when `format_json`
///   is on (default); any other message goes under `message`, with the
///   chain of any error key-value appended (Python appends the traceback).
///
/// ```
/// use fluent_std::handler::{FluentRecordFormatter, FormatStyle};
/// let formatter = FluentRecordFormatter::new()
///     .fmt([("where", "{name}:{lineno}")])
///     .style(FormatStyle::Brace);
/// let record = log::Record::builder().target("app").line(Some(7)).args(format_args!("hi")).build();
/// let map = formatter.format(&record)?;
/// assert_eq!(map["where"], "app:7");
/// assert_eq!(map["message"], "hi");
/// # Ok::<(), fluent_std::handler::TemplateError>(())
/// ```
#[derive(Clone)]
pub struct FluentRecordFormatter {
    fields: Fields,
    style: FormatStyle,
    datefmt: Option<String>,
    fill_missing_fmt_key: bool,
    format_json: bool,
}

impl fmt::Debug for FluentRecordFormatter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = match &self.fields {
            Fields::Default => "default".to_owned(),
            Fields::Templates(t) => format!("{t:?}"),
            Fields::Function(_) => "function".to_owned(),
            Fields::AllExcept(set) => format!("all except {set:?}"),
        };
        f.debug_struct("FluentRecordFormatter")
            .field("fields", &fields)
            .field("style", &self.style)
            .field("datefmt", &self.datefmt)
            .field("fill_missing_fmt_key", &self.fill_missing_fmt_key)
            .field("format_json", &self.format_json)
            .finish()
    }
}

impl Default for FluentRecordFormatter {
    fn default() -> Self {
        FluentRecordFormatter {
            fields: Fields::Default,
            style: FormatStyle::Percent,
            datefmt: None,
            fill_missing_fmt_key: false,
            format_json: true,
        }
    }
}

impl FluentRecordFormatter {
    /// The default formatter.
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Fields from format templates (Python's `fmt` dict).
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new().fmt([("lvl", "%(levelname)s")]);
    /// ```
    pub fn fmt<K: Into<String>, V: Into<String>>(mut self, fields: impl IntoIterator<Item = (K, V)>) -> Self {
        self.fields = Fields::Templates(fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Fields from a function of the record's attributes (Python's callable
    /// `fmt`).
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new()
    ///     .fmt_fn(|a| serde_json::Map::from_iter([("lvl".to_owned(), a.get("levelno").unwrap_or_default())]));
    /// ```
    pub fn fmt_fn(mut self, f: impl Fn(&LogAttributes<'_>) -> Map<String, Value> + Send + Sync + 'static) -> Self {
        self.fields = Fields::Function(Arc::new(f));
        self
    }

    /// Every attribute except these (Python's `exclude_attrs`; templates
    /// are then ignored). An empty list sends every attribute.
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new().exclude_attrs(["thread", "process"]);
    /// ```
    pub fn exclude_attrs<S: Into<String>>(mut self, attrs: impl IntoIterator<Item = S>) -> Self {
        self.fields = Fields::AllExcept(attrs.into_iter().map(Into::into).collect());
        self
    }

    /// The template style (default `%`).
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new().style(fluent_std::handler::FormatStyle::Dollar);
    /// ```
    pub fn style(mut self, style: FormatStyle) -> Self {
        self.style = style;
        self
    }

    /// How `asctime` is written (strftime subset, UTC).
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new().datefmt("%H:%M:%S");
    /// ```
    pub fn datefmt(mut self, datefmt: impl Into<String>) -> Self {
        self.datefmt = Some(datefmt.into());
        self
    }

    /// A template naming a missing attribute yields `null` instead of an
    /// error.
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new().fill_missing_fmt_key(true);
    /// ```
    pub fn fill_missing_fmt_key(mut self, on: bool) -> Self {
        self.fill_missing_fmt_key = on;
        self
    }

    /// Whether a message that is a JSON object is merged into the record
    /// (default on).
    ///
    /// ```
    /// let _f = fluent_std::handler::FluentRecordFormatter::new().format_json(false);
    /// ```
    pub fn format_json(mut self, on: bool) -> Self {
        self.format_json = on;
        self
    }

    /// The record map for a `log` record.
    ///
    /// ```
    /// let record = log::Record::builder().target("db").args(format_args!("slow")).build();
    /// let map = fluent_std::handler::FluentRecordFormatter::new().format(&record)?;
    /// assert_eq!((&map["sys_name"], &map["message"]), (&"db".into(), &"slow".into()));
    /// # Ok::<(), fluent_std::handler::TemplateError>(())
    /// ```
    ///
    /// # Errors
    /// A template names an attribute the record lacks (and
    /// `fill_missing_fmt_key` is off), or is malformed.
    pub fn format(&self, record: &log::Record<'_>) -> Result<Map<String, Value>, TemplateError> {
        self.format_attributes(&LogAttributes::from_record(record, self.datefmt.as_deref()))
    }

    /// The record map for attributes already read.
    ///
    /// ```
    /// let record = log::Record::builder().args(format_args!("{{\"k\": 1}}")).build();
    /// let attrs = fluent_std::handler::LogAttributes::from_record(&record, None);
    /// let map = fluent_std::handler::FluentRecordFormatter::new().format_attributes(&attrs)?;
    /// assert_eq!(map["k"], 1);
    /// assert!(!map.contains_key("message"));
    /// # Ok::<(), fluent_std::handler::TemplateError>(())
    /// ```
    ///
    /// # Errors
    /// As [`format`](Self::format).
    pub fn format_attributes(&self, attrs: &LogAttributes<'_>) -> Result<Map<String, Value>, TemplateError> {
        let mut data = match &self.fields {
            Fields::Default => {
                let mut m = Map::new();
                m.insert("sys_host".into(), hostname().into());
                for (field, attr) in [
                    ("sys_name", "name"),
                    ("sys_module", "module"),
                    ("level", "levelname"),
                    ("file", "pathname"),
                    ("line", "lineno"),
                ] {
                    m.insert(field.into(), attrs.get(attr).unwrap_or_default());
                }
                m
            }
            Fields::Templates(templates) => {
                let lookup = |key: &str| attrs.get(key);
                let mut m = Map::new();
                for (field, template) in templates {
                    let value = match render(template, self.style, &lookup) {
                        Ok(text) => Value::String(text),
                        Err(TemplateError::MissingKey(_)) if self.fill_missing_fmt_key => Value::Null,
                        Err(e) => return Err(e),
                    };
                    m.insert(field.clone(), value);
                }
                m
            }
            Fields::Function(f) => f(attrs),
            Fields::AllExcept(excluded) => attrs
                .all()
                .iter()
                .filter(|(k, _)| !excluded.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        // The message: key-values merged (a dict message), a JSON object
        // merged, anything else under "message".
        for (k, v) in attrs.extra() {
            data.insert(k.clone(), v.clone());
        }
        match self.json_object(attrs) {
            Some(object) => data.extend(object),
            None => {
                if !attrs.message().is_empty() || attrs.extra().is_empty() {
                    data.insert("message".into(), attrs.message().into());
                }
            }
        }
        Ok(data)
    }

    /// The message's JSON object, when it is one and `format_json` is on.
    pub(crate) fn json_object(&self, attrs: &LogAttributes<'_>) -> Option<Map<String, Value>> {
        let message = attrs.message();
        if !self.format_json || !message.trim_start().starts_with('{') {
            return None;
        }
        match serde_json::from_str::<Value>(message) {
            Ok(Value::Object(object)) => Some(object),
            _ => None,
        }
    }

    /// Sends the record for `record` through `sender`: the default fields
    /// take a path that serializes straight from the record.
    pub(crate) fn send(
        &self,
        record: &log::Record<'_>,
        sender: &crate::RecordSender,
    ) -> Result<Result<(), crate::SendError>, TemplateError> {
        let attrs = LogAttributes::from_record(record, self.datefmt.as_deref());
        if matches!(self.fields, Fields::Default) {
            let merged = self.json_object(&attrs);
            return Ok(sender.emit(&DefaultRecord { attrs: &attrs, merged }));
        }
        let map = self.format_attributes(&attrs)?;
        Ok(sender.emit(&map))
    }
}
