//! The default formatter's record, serialized straight from the log record
//! without building an intermediate map (the handler's hot path).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::attributes::{LogAttributes, level_name};
use crate::handler_support::hostname;

/// `sys_host`, `sys_name`, `sys_module`, `level`, `file`, `line`, then the
/// key-values, then the message (or the JSON object it holds). A field that
/// a later stage also writes is left out of the earlier one, so each key
/// appears once and the later value wins, exactly as
/// [`FluentRecordFormatter::format_attributes`](super::FluentRecordFormatter::format_attributes)
/// builds its map.
pub(crate) struct DefaultRecord<'r, 'a> {
    pub(crate) attrs: &'r LogAttributes<'a>,
    /// The message's JSON object, when it is one and `format_json` is on.
    pub(crate) merged: Option<Map<String, Value>>,
}

/// One default field's value.
enum Field<'a> {
    Str(&'a str),
    Opt(Option<&'a str>),
    Line(Option<u32>),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(s) | Field::Opt(Some(s)) => serializer.serialize_str(s),
            Field::Line(Some(n)) => serializer.serialize_u32(*n),
            Field::Opt(None) | Field::Line(None) => serializer.serialize_none(),
        }
    }
}

impl DefaultRecord<'_, '_> {
    /// Whether the plain message is written under `"message"`.
    pub(crate) fn writes_message(&self) -> bool {
        self.merged.is_none() && (!self.attrs.message().is_empty() || self.attrs.extra().is_empty())
    }
}

impl Serialize for DefaultRecord<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.attrs.record();
        let extra = self.attrs.extra();
        let writes_message = self.writes_message();
        let in_merged = |key: &str| self.merged.as_ref().is_some_and(|m| m.contains_key(key));
        let mut map = serializer.serialize_map(None)?;
        let defaults = [
            ("sys_host", Field::Str(hostname())),
            ("sys_name", Field::Str(record.target())),
            ("sys_module", Field::Str(record.module_path().unwrap_or_default())),
            ("level", Field::Str(level_name(record.level()).0)),
            ("file", Field::Opt(record.file())),
            ("line", Field::Line(record.line())),
        ];
        for (key, value) in &defaults {
            if !extra.contains_key(*key) && !in_merged(key) {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, value) in extra {
            let later = in_merged(key) || (writes_message && key == "message");
            if !later {
                map.serialize_entry(key, value)?;
            }
        }
        if let Some(object) = &self.merged {
            for (key, value) in object {
                map.serialize_entry(key, value)?;
            }
        } else if writes_message {
            map.serialize_entry("message", self.attrs.message())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::FluentRecordFormatter;

    /// The fast path writes exactly the map the general path builds.
    #[test]
    fn same_record_as_the_map_path() {
        let formatter = FluentRecordFormatter::new();
        let kvs: [&[(&str, log::kv::Value<'_>)]; 4] = [
            &[],
            &[("user", "ada".into()), ("n", 3.into())],
            &[("level", "custom".into()), ("message", "from kv".into())],
            &[("key", "kv loses to the JSON object".into()), ("other", true.into())],
        ];
        for kv in kvs {
            for text in ["plain", "", r#"{"key": "json", "n": [1]}"#, "[1, 2]"] {
                let args = format_args!("{text}");
                let record = log::Record::builder()
                    .target("t")
                    .file(Some("f.rs"))
                    .line(Some(3))
                    .key_values(&kv)
                    .args(args)
                    .build();
                let attrs = LogAttributes::from_record(&record, None);
                let expected = Value::Object(formatter.format_attributes(&attrs).unwrap());
                let merged = formatter.json_object(&attrs);
                let fast = serde_json::to_value(DefaultRecord { attrs: &attrs, merged }).unwrap();
                assert_eq!(fast, expected, "kv {kv:?}, message {text:?}");
            }
        }
    }
}
