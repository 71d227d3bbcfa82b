//! `FluentHandler`: a `log::Log` that sends each record as one event.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use log::LevelFilter;

use super::formatter::FluentRecordFormatter;
use super::tee::Tee;
use super::template::TemplateError;
use crate::record_sender::WeakRecordSender;
use crate::{AsyncSender, RecordSender, SendError};

/// Why a record was not sent.
///
/// ```
/// use fluent_std::handler::{HandlerError, TemplateError};
/// let e = HandlerError::Format(TemplateError::MissingKey("user".into()));
/// assert!(e.to_string().contains("user"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandlerError {
    /// The formatter could not build the record (a missing attribute).
    Format(TemplateError),
    /// The sender refused it (closed, queue full, ...).
    Send(SendError),
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerError::Format(e) => write!(f, "formatting the record failed: {e}"),
            HandlerError::Send(e) => write!(f, "sending the record failed: {e}"),
        }
    }
}

impl std::error::Error for HandlerError {}

/// fluent-logger-python's `handler.FluentHandler` (over a [`Sender`](crate::Sender))
/// and `asynchandler.FluentHandler` (over an [`AsyncSender`]): each `log`
/// record at or above the level becomes one event under the sender's tag,
/// shaped by a [`FluentRecordFormatter`].
///
/// `log` cannot return errors, so a record that cannot be formatted or sent
/// is counted ([`format_errors`](Self::format_errors),
/// [`send_errors`](Self::send_errors)) and kept as
/// [`last_error`](Self::last_error); [`handle`](Self::handle) returns the
/// error directly.
///
/// ```
/// use fluent_std::handler::FluentHandler;
/// let catcher = fluent_catcher::TestCatcher::start()?;
/// let sender = fluent_std::Sender::builder("app").host("127.0.0.1").port(catcher.forward_addr().port()).build();
/// let handler = FluentHandler::new(sender).level(log::LevelFilter::Info);
/// handler.handle(&log::Record::builder().level(log::Level::Warn).target("db").args(format_args!("slow query")).build())?;
/// let events = catcher.wait_for_events(1, std::time::Duration::from_secs(10));
/// assert_eq!((events[0].tag.as_str(), &events[0].record["message"]), ("app", &"slow query".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FluentHandler {
    sender: RecordSender,
    formatter: FluentRecordFormatter,
    level: LevelFilter,
    /// `RUST_LOG`-style directives, when given (see
    /// [`FluentHandler::env_filter`]).
    filter: Option<env_filter::Filter>,
    flush_timeout: Duration,
    /// A console copy of each record, when asked for.
    tee: Option<Tee>,
    format_errors: AtomicU64,
    send_errors: AtomicU64,
    last_error: Mutex<Option<HandlerError>>,
}

impl fmt::Debug for FluentHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FluentHandler")
            .field("sender", &self.sender)
            .field("formatter", &self.formatter)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl FluentHandler {
    /// A handler over `sender` (a `Sender`, an `AsyncSender`, or a
    /// [`RecordSender`]), every level, the default formatter.
    ///
    /// ```
    /// let _h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build());
    /// ```
    pub fn new(sender: impl Into<RecordSender>) -> Self {
        let sender = sender.into();
        register(&sender);
        FluentHandler {
            sender,
            formatter: FluentRecordFormatter::default(),
            level: LevelFilter::Trace,
            filter: None,
            flush_timeout: Duration::from_secs(5),
            tee: None,
            format_errors: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    /// Filters records with `RUST_LOG`'s directive syntax, as env_logger
    /// does (`"info"`, `"svc=debug,db=trace"`, `"warn,svc::http=off"`, a
    /// `/text` suffix keeping only messages containing it); replaces
    /// [`level`](Self::level). Invalid directives are reported on stderr
    /// and skipped, as env_logger does.
    ///
    /// ```
    /// use fluent_std::handler::FluentHandler;
    /// let h = FluentHandler::new(fluent_std::Sender::builder("app").build()).env_filter("warn,db=trace");
    /// assert_eq!(h.level_filter(), log::LevelFilter::Trace); // the most verbose directive
    /// let db = log::Metadata::builder().level(log::Level::Debug).target("db").build();
    /// let web = log::Metadata::builder().level(log::Level::Info).target("web").build();
    /// assert!(log::Log::enabled(&h, &db));
    /// assert!(!log::Log::enabled(&h, &web));
    /// ```
    pub fn env_filter(mut self, directives: &str) -> Self {
        let filter = env_filter::Builder::new().parse(directives).build();
        self.level = filter.filter();
        self.filter = Some(filter);
        self
    }

    /// The formatter.
    ///
    /// ```
    /// use fluent_std::handler::{FluentHandler, FluentRecordFormatter};
    /// let _h = FluentHandler::new(fluent_std::AsyncSender::builder("app").build()).formatter(FluentRecordFormatter::new().format_json(false));
    /// ```
    pub fn formatter(mut self, formatter: FluentRecordFormatter) -> Self {
        self.formatter = formatter;
        self
    }

    /// The lowest level sent (default: everything).
    ///
    /// ```
    /// let _h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build()).level(log::LevelFilter::Warn);
    /// ```
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// How long `flush` waits for queued records (default 5 s).
    ///
    /// ```
    /// let _h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build()).flush_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Also writes each record the handler sends to stderr, one line in
    /// env_logger's default layout (`[2026-12-06T10:53:53Z WARN  svc::db]
    /// slow query user=ada`, UTC, no colours): the console output of a
    /// program that has one `log` logger. Default off.
    ///
    /// ```
    /// let _h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build()).tee_stderr(true);
    /// ```
    pub fn tee_stderr(self, on: bool) -> Self {
        if on { self.tee(std::io::stderr()) } else { FluentHandler { tee: None, ..self } }
    }

    /// Like [`tee_stderr`](Self::tee_stderr), to any writer (a file, stdout).
    /// A failed write is ignored: the record is still sent.
    ///
    /// ```
    /// let _h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build()).tee(std::io::stdout());
    /// ```
    pub fn tee(mut self, out: impl std::io::Write + Send + 'static) -> Self {
        self.tee = Some(Tee::new(Box::new(out)));
        self
    }

    /// The level filter in force.
    ///
    /// ```
    /// let h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build());
    /// assert_eq!(h.level_filter(), log::LevelFilter::Trace);
    /// ```
    pub fn level_filter(&self) -> LevelFilter {
        self.level
    }

    /// The sender records go through.
    ///
    /// ```
    /// let h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("app").build());
    /// assert!(h.sender().is_async());
    /// ```
    pub fn sender(&self) -> &RecordSender {
        &self.sender
    }

    /// Formats and sends one record (ignoring the level filter).
    ///
    /// ```
    /// use fluent_std::handler::{FluentHandler, HandlerError};
    /// let handler = FluentHandler::new(fluent_std::AsyncSender::builder("app").build());
    /// handler.close();
    /// let record = log::Record::builder().args(format_args!("late")).build();
    /// assert_eq!(handler.handle(&record), Err(HandlerError::Send(fluent_std::SendError::Closed)));
    /// assert_eq!(handler.send_errors(), 1);
    /// ```
    ///
    /// # Errors
    /// [`HandlerError::Format`] or [`HandlerError::Send`]; both are also
    /// counted and kept as [`last_error`](Self::last_error).
    pub fn handle(&self, record: &log::Record<'_>) -> Result<(), HandlerError> {
        let result = match self.formatter.send(record, &self.sender) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.send_errors.fetch_add(1, Relaxed);
                Err(HandlerError::Send(e))
            }
            Err(e) => {
                self.format_errors.fetch_add(1, Relaxed);
                Err(HandlerError::Format(e))
            }
        };
        if let Err(e) = &result {
            *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.clone());
        }
        result
    }

    /// Records that could not be formatted.
    ///
    /// ```
    /// assert_eq!(fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("a").build()).format_errors(), 0);
    /// ```
    pub fn format_errors(&self) -> u64 {
        self.format_errors.load(Relaxed)
    }

    /// Records the sender refused (see the sender's own counters for what
    /// happened after it accepted them).
    ///
    /// ```
    /// assert_eq!(fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("a").build()).send_errors(), 0);
    /// ```
    pub fn send_errors(&self) -> u64 {
        self.send_errors.load(Relaxed)
    }

    /// The last error, if any.
    ///
    /// ```
    /// assert!(fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("a").build()).last_error().is_none());
    /// ```
    pub fn last_error(&self) -> Option<HandlerError> {
        self.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Sends what is queued, then closes the sender: later records are
    /// refused (and counted).
    ///
    /// ```
    /// let h = fluent_std::handler::FluentHandler::new(fluent_std::AsyncSender::builder("a").build());
    /// h.close();
    /// ```
    pub fn close(&self) {
        self.sender.close();
    }

    /// A guard that closes this handler's sender when dropped: keep it in
    /// `main` and the last records are sent before exit, whether or not the
    /// handler was [`install`]ed (a tee of loggers, say).
    ///
    /// ```no_run
    /// let _guard = fluent_std::handler::init("app").guard();
    /// log::info!("sent before main returns");
    /// ```
    pub fn guard(&self) -> crate::FlushGuard {
        crate::FlushGuard::new(self.sender.clone())
    }
}

impl log::Log for FluentHandler {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level && self.filter.as_ref().is_none_or(|f| f.enabled(metadata))
    }

    fn log(&self, record: &log::Record<'_>) {
        let wanted = match &self.filter {
            Some(filter) => filter.matches(record),
            None => record.level() <= self.level,
        };
        if wanted {
            if let Some(tee) = &self.tee {
                tee.write(record);
            }
            let _ = self.handle(record);
        }
    }

    /// Waits until every record logged before the call has been sent (up
    /// to the flush timeout); the handler stays usable.
    fn flush(&self) {
        self.sender.flush(self.flush_timeout);
    }
}

/// Installs `handler` as the global `log` logger (and sets `log`'s maximum
/// level to the handler's). Call [`shutdown`] before exit so the last
/// records are sent.
///
/// ```no_run
/// use fluent_std::handler::{FluentHandler, install};
/// install(FluentHandler::new(fluent_std::AsyncSender::builder("app").build()).level(log::LevelFilter::Info))?;
/// log::info!(user = "ada"; "logged in");
/// fluent_std::handler::shutdown();
/// # Ok::<(), log::SetLoggerError>(())
/// ```
///
/// # Errors
/// Another logger is already installed.
pub fn install(handler: FluentHandler) -> Result<&'static FluentHandler, log::SetLoggerError> {
    let level = handler.level;
    let handler: &'static FluentHandler = Box::leak(Box::new(handler));
    log::set_logger(handler)?;
    log::set_max_level(level);
    Ok(handler)
}

/// The one-call setup, like `env_logger::try_init`: an async handler
/// (Python's `asynchandler.FluentHandler`) with the default formatter,
/// sending under `tag` to `FLUENT_HOST`:`FLUENT_PORT` (default
/// `localhost:24224`) with EventTime (nanosecond) times, as the tracing
/// layer does, filtered by `RUST_LOG` in env_logger's directive syntax
/// (default `info`; see [`FluentHandler::env_filter`]).
///
/// ```no_run
/// let _guard = fluent_std::handler::try_init("app")?.guard();
/// log::warn!("disk almost full");
/// # Ok::<(), log::SetLoggerError>(())
/// ```
///
/// # Errors
/// Another logger is already installed.
pub fn try_init(tag: &str) -> Result<&'static FluentHandler, log::SetLoggerError> {
    let host = std::env::var("FLUENT_HOST").unwrap_or_else(|_| "localhost".to_owned());
    let port = std::env::var("FLUENT_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(24224);
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let sender = AsyncSender::builder(tag).sender(|s| s.host(host).port(port).nanosecond_precision(true)).build();
    install(FluentHandler::new(sender).env_filter(&directives))
}

/// [`try_init`], panicking when another logger is already installed, as
/// `env_logger::init` does.
///
/// ```no_run
/// let _guard = fluent_std::handler::init("app").guard();
/// log::warn!("disk almost full");
/// ```
///
/// # Panics
/// Another logger is already installed.
pub fn init(tag: &str) -> &'static FluentHandler {
    try_init(tag).expect("fluent_std::handler::init: a logger is already installed")
}

/// Every handler's sender, held weakly: [`shutdown`] closes those still
/// alive, however the handlers were installed.
static HANDLERS: Mutex<Vec<WeakRecordSender>> = Mutex::new(Vec::new());

fn register(sender: &RecordSender) {
    let mut handlers = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
    handlers.retain(WeakRecordSender::alive);
    handlers.push(sender.downgrade());
}

/// Sends what every handler still alive has queued and closes its sender
/// (the async sender's close timeout bounds the wait): the installed one,
/// and handlers used inside another logger (a tee). Records logged after
/// this are refused and counted. Does nothing when there is no handler.
///
/// ```
/// fluent_std::handler::shutdown(); // no handler: nothing to do
/// ```
pub fn shutdown() {
    let handlers: Vec<RecordSender> = {
        let handlers = HANDLERS.lock().unwrap_or_else(|e| e.into_inner());
        handlers.iter().filter_map(WeakRecordSender::upgrade).collect()
    };
    for sender in handlers {
        sender.close();
    }
}
