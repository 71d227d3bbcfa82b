//! The `tracing` integration (`tracing` feature): a
//! `tracing_subscriber::Layer` that sends every event as one record, with
//! the same shape as the `log` handler's records.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//! let sender = fluent_std::AsyncSender::builder("app").build();
//! // The guard sends the last events when main returns (keep it named).
//! let (layer, _guard) = fluent_std::layer::FluentLayer::with_guard(sender);
//! tracing_subscriber::registry().with(layer).init();
//! let span = tracing::info_span!("request", id = 7);
//! let _entered = span.enter();
//! tracing::info!(user = "ada", "logged in");
//! // record: {"sys_host", "sys_name": target, "sys_module", "level": "INFO",
//! //          "file", "line", "id": 7, "user": "ada", "message": "logged in",
//! //          "spans": ["request"]}
//! ```
//!
//! The record's own keys ([`RESERVED`], or their [Python
//! names](FluentLayer::python_names)) are never overwritten: a span or
//! event field of the same name (`sys_host = "spoofed"`, `file = 42`) goes
//! under `"fields"` instead, `{"fields": {"sys_host": "spoofed"}}`.
//!
//! Field values keep their types (integers, floats, booleans, strings);
//! `?debug` values arrive as their `Debug` text, errors with their chain of
//! causes. With the `valuable` feature, and the program built with
//! `RUSTFLAGS="--cfg tracing_unstable"` as `tracing` requires, a
//! `valuable` value (`order = order.as_value()`) arrives as a map or an
//! array.

mod fields;
mod shape;

use std::fmt;

use fluent_proto::{EventTime, Timestamp};
use serde_json::{Map, Value};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::RecordSender;
use fields::{JsonVisitor, SpanFields};
pub use shape::{CollidingFields, LevelNames, RESERVED, RESERVED_PYTHON, SendErrors};

/// Sends each `tracing` event as one record under the sender's tag:
/// `sys_host`, `sys_name` (target), `sys_module` (module path), `level`,
/// `file`, `line`, the fields of every span the event is in (outermost
/// first; inner spans and the event's own fields win on a name clash), the
/// event's fields (its `message` under `"message"`), and `spans`, the span
/// names from the outermost in. The time is the event's EventTime
/// (nanoseconds). Composes with other layers (e.g. `fmt`).
///
/// Records the sender refuses are counted in
/// [`send_errors`](FluentLayer::send_errors). With
/// [`python_names`](FluentLayer::python_names) the level, file and line go
/// under Python's names (`levelname`, `pathname`, `lineno`), the record
/// shape fluent-logger-python users query by.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// let layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
/// let sender = layer.sender().clone();
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = "ada", "logged in"));
/// sender.close();
/// ```
pub struct FluentLayer {
    sender: RecordSender,
    send_errors: SendErrors,
    tag_by_target: bool,
    span_ids: bool,
    python_names: bool,
    level_names: LevelNames,
    colliding: CollidingFields,
}

impl fmt::Debug for FluentLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FluentLayer").field("sender", &self.sender).finish_non_exhaustive()
    }
}

impl FluentLayer {
    /// A layer sending through `sender` (a `Sender`, an `AsyncSender` or a
    /// [`RecordSender`]).
    ///
    /// ```
    /// let _layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
    /// ```
    pub fn new(sender: impl Into<RecordSender>) -> Self {
        FluentLayer {
            sender: sender.into(),
            send_errors: SendErrors::default(),
            tag_by_target: false,
            span_ids: false,
            python_names: false,
            level_names: LevelNames::Python,
            colliding: CollidingFields::Nest,
        }
    }

    /// A layer and the guard that closes its sender when dropped (the
    /// `tracing-appender` idiom): keep the guard in `main`, and the last
    /// events are sent before the program exits.
    ///
    /// ```
    /// let (_layer, _guard) = fluent_std::layer::FluentLayer::with_guard(fluent_std::AsyncSender::builder("app").build());
    /// ```
    pub fn with_guard(sender: impl Into<RecordSender>) -> (Self, crate::FlushGuard) {
        let layer = Self::new(sender);
        let guard = layer.guard();
        (layer, guard)
    }

    /// A guard that closes this layer's sender when dropped.
    ///
    /// ```
    /// let layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
    /// let _guard = layer.guard();
    /// ```
    pub fn guard(&self) -> crate::FlushGuard {
        crate::FlushGuard::new(self.sender.clone())
    }

    /// Tags each event with its target: `tag.target` (`app.db::pool` for
    /// an event in module `db::pool`), so that Fluentd can route by it.
    /// Default off: every event under the sender's tag.
    ///
    /// ```
    /// let _layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build()).tag_by_target(true);
    /// ```
    pub fn tag_by_target(mut self, on: bool) -> Self {
        self.tag_by_target = on;
        self
    }

    /// Adds `span_id` (the innermost span's id) and `span_ids` (outer to
    /// inner) to each record, to tie events of one span together. Default
    /// off.
    ///
    /// ```
    /// let _layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build()).span_ids(true);
    /// ```
    pub fn span_ids(mut self, on: bool) -> Self {
        self.span_ids = on;
        self
    }

    /// Writes the level, file and line under Python's `LogRecord` names,
    /// `levelname`, `pathname` and `lineno`, instead of `level`, `file`
    /// and `line` ([`RESERVED_PYTHON`]): the shape of fluent-logger-python
    /// records with those attributes in their format. Default off.
    ///
    /// ```
    /// let _layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build()).python_names(true);
    /// ```
    pub fn python_names(mut self, on: bool) -> Self {
        self.python_names = on;
        self
    }

    /// How the level is written: Python's names (the default, `WARNING`,
    /// as the `log` handler sends) or `tracing`'s (`WARN`).
    ///
    /// ```
    /// use fluent_std::layer::{FluentLayer, LevelNames};
    /// let _layer = FluentLayer::new(fluent_std::AsyncSender::builder("app").build()).level_names(LevelNames::Tracing);
    /// ```
    pub fn level_names(mut self, names: LevelNames) -> Self {
        self.level_names = names;
        self
    }

    /// Where fields named like the record's own keys go: nested under
    /// `"fields"` (the default) or prefixed at the top level.
    ///
    /// ```
    /// use fluent_std::layer::{CollidingFields, FluentLayer};
    /// let _layer = FluentLayer::new(fluent_std::AsyncSender::builder("app").build())
    ///     .colliding_fields(CollidingFields::Prefix("field_"));
    /// ```
    pub fn colliding_fields(mut self, placement: CollidingFields) -> Self {
        self.colliding = placement;
        self
    }

    /// The sender (to flush or close it at exit).
    ///
    /// ```
    /// let layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
    /// assert!(layer.sender().is_async());
    /// ```
    pub fn sender(&self) -> &RecordSender {
        &self.sender
    }

    /// Events the sender refused so far.
    ///
    /// ```
    /// let layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
    /// assert_eq!(layer.send_errors(), 0);
    /// ```
    pub fn send_errors(&self) -> u64 {
        self.send_errors.get()
    }

    /// The same count as a handle to keep before the layer moves into a
    /// subscriber.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// let layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
    /// let errors = layer.send_error_counter();
    /// let _subscriber = tracing_subscriber::registry().with(layer);
    /// assert_eq!(errors.get(), 0);
    /// ```
    pub fn send_error_counter(&self) -> SendErrors {
        self.send_errors.clone()
    }

    /// The record's own keys, in this layer's naming.
    fn reserved(&self) -> &'static [&'static str; 8] {
        if self.python_names { &RESERVED_PYTHON } else { &RESERVED }
    }
}

impl<S> Layer<S> for FluentLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut JsonVisitor(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let time = EventTime::now().map(Timestamp::Event).unwrap_or(Timestamp::Seconds(0));
        let meta = event.metadata();
        let mut record = Map::new();
        record.insert("sys_host".into(), crate::handler_support::hostname().into());
        record.insert("sys_name".into(), meta.target().into());
        record.insert("sys_module".into(), meta.module_path().unwrap_or_default().into());
        let [_, _, _, level_key, file_key, line_key, ..] = *self.reserved();
        record.insert(level_key.into(), self.level_names.name(meta.level()).into());
        record.insert(file_key.into(), meta.file().map_or(Value::Null, Value::from));
        record.insert(line_key.into(), meta.line().map_or(Value::Null, Value::from));
        let mut spans = Vec::new();
        let mut ids = Vec::new();
        // Span fields, outer to inner, then the event's: the innermost wins.
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                spans.push(Value::from(span.name()));
                ids.push(Value::from(span.id().into_u64()));
                if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                    fields.extend(span_fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut JsonVisitor(&mut fields));
        let mut colliding = Map::new();
        for (key, value) in fields {
            let ids_key = self.span_ids && (key == "span_id" || key == "span_ids");
            if self.reserved().contains(&key.as_str()) || ids_key {
                colliding.insert(key, value);
            } else {
                record.insert(key, value);
            }
        }
        record.insert("spans".into(), Value::Array(spans));
        if self.span_ids {
            record.insert("span_id".into(), ids.last().cloned().unwrap_or(Value::Null));
            record.insert("span_ids".into(), Value::Array(ids));
        }
        if let CollidingFields::Prefix(prefix) = self.colliding {
            let mut nested = Map::new();
            for (key, value) in colliding {
                let prefixed = format!("{prefix}{key}");
                if self.reserved().contains(&prefixed.as_str()) || (self.span_ids && prefixed.starts_with("span_id")) {
                    nested.insert(key, value);
                } else {
                    record.insert(prefixed, value);
                }
            }
            colliding = nested;
        }
        if !colliding.is_empty() {
            record.insert("fields".into(), Value::Object(colliding));
        }
        let label = if self.tag_by_target { meta.target() } else { "" };
        if self.sender.emit_labelled(label, time, &record).is_err() {
            self.send_errors.add_one();
        }
    }
}
