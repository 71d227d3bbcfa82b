//! The record's shape: its own keys, where colliding fields go, how
//! levels are named, and the count of refused events.

/// The keys the layer writes itself; fields with these names go under
/// `"fields"`.
///
/// ```
/// assert!(fluent_std::layer::RESERVED.contains(&"sys_host"));
/// ```
pub const RESERVED: [&str; 8] = ["sys_host", "sys_name", "sys_module", "level", "file", "line", "spans", "fields"];

/// The keys the layer writes with [`python_names`](super::FluentLayer::python_names)
/// on: Python's `LogRecord` names for the level, file and line.
///
/// ```
/// assert!(fluent_std::layer::RESERVED_PYTHON.contains(&"levelname"));
/// ```
pub const RESERVED_PYTHON: [&str; 8] =
    ["sys_host", "sys_name", "sys_module", "levelname", "pathname", "lineno", "spans", "fields"];

/// Where a field named like one of the record's own keys goes.
///
/// ```
/// use fluent_std::layer::CollidingFields;
/// assert_eq!(CollidingFields::default(), CollidingFields::Nest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CollidingFields {
    /// Under `"fields"`: `{"fields": {"file": 42}}` (the default).
    #[default]
    Nest,
    /// At the top level with this prefix: `Prefix("field_")` sends
    /// `{"field_file": 42}`. The prefixed key replaces an ordinary field of
    /// the same name; one that is itself reserved is nested instead.
    Prefix(&'static str),
}

/// How the layer writes an event's level.
///
/// ```
/// use fluent_std::layer::LevelNames;
/// assert_eq!(LevelNames::default(), LevelNames::Python);
/// assert_eq!(LevelNames::Python.name(&tracing::Level::WARN), "WARNING");
/// assert_eq!(LevelNames::Tracing.name(&tracing::Level::WARN), "WARN");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LevelNames {
    /// Python's `logging` names, as the `log` handler sends them:
    /// `ERROR`, `WARNING`, `INFO`, `DEBUG`, and `TRACE` (which Python lacks).
    #[default]
    Python,
    /// `tracing`'s own names: `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`.
    Tracing,
}

impl LevelNames {
    /// The name of `level` in this style.
    ///
    /// ```
    /// assert_eq!(fluent_std::layer::LevelNames::Tracing.name(&tracing::Level::TRACE), "TRACE");
    /// ```
    pub fn name(self, level: &tracing::Level) -> &'static str {
        match (self, *level) {
            (LevelNames::Python, tracing::Level::WARN) => "WARNING",
            (_, level) => level.as_str(),
        }
    }
}

/// Events the layer could not hand to its sender (closed, full, or not
/// encodable): a handle that stays readable after the layer has moved into
/// a subscriber.
///
/// ```
/// let layer = fluent_std::layer::FluentLayer::new(fluent_std::AsyncSender::builder("app").build());
/// let errors = layer.send_error_counter();
/// assert_eq!(errors.get(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SendErrors(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl SendErrors {
    /// The count now.
    ///
    /// ```
    /// assert_eq!(fluent_std::layer::SendErrors::default().get(), 0);
    /// ```
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn add_one(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}
