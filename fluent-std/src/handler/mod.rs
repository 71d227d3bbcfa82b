//! The `log` integration (`log` feature): fluent-logger-python's
//! `handler.FluentHandler` / `asynchandler.FluentHandler` and
//! `FluentRecordFormatter`.
//!
//! ```no_run
//! // Async handler to FLUENT_HOST or localhost:24224, filtered by RUST_LOG;
//! // the guard sends the last records when main returns.
//! let _guard = fluent_std::handler::init("app").guard();
//! log::info!(user = "ada", attempts = 3; "logged in");
//! ```
//!
//! The record sent for that line, with the default formatter:
//! `{"sys_host": <hostname>, "sys_name": <target>, "sys_module": <module
//! path>, "level": "INFO", "file": ..., "line": ..., "user": "ada",
//! "attempts": 3, "message": "logged in"}`.

mod attributes;
mod default_record;
mod formatter;
mod log_handler;
mod tee;
mod template;

pub use attributes::{LogAttributes, level_name};
pub use formatter::FluentRecordFormatter;
pub use log_handler::{FluentHandler, HandlerError, init, install, shutdown, try_init};
pub use template::{FormatStyle, TemplateError};
