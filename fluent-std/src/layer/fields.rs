//! `tracing` field values as JSON values, and a span's fields kept in its
//! extensions.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};

/// A span's fields, kept in the span's extensions.
pub(super) struct SpanFields(pub(super) Map<String, Value>);

/// Collects `tracing` fields as JSON values.
pub(super) struct JsonVisitor<'a>(pub(super) &'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut chain = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            chain.push_str(&format!("\nCaused by: {cause}"));
            source = cause.source();
        }
        self.0.insert(field.name().to_owned(), chain.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").into());
    }
    #[cfg(all(tracing_unstable, feature = "valuable"))]
    fn record_value(&mut self, field: &Field, value: valuable::Value<'_>) {
        let json = serde_json::to_value(valuable_serde::Serializable::new(value))
            .unwrap_or_else(|e| Value::String(format!("unserializable value: {e}")));
        self.0.insert(field.name().to_owned(), json);
    }
}
