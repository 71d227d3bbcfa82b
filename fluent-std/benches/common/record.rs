//! The record every fluent-std bench sends: 5 fields (str, int, float,
//! bool, str), the same as the Python and Go peers' scripts.

/// An access-log record.
#[derive(serde::Serialize)]
pub struct Access<'a> {
    pub host: &'a str,
    pub status: u32,
    pub latency: f64,
    pub cached: bool,
    pub path: &'a str,
}

/// The one instance the benches send.
pub const RECORD: Access<'static> =
    Access { host: "web-7.example.internal", status: 200, latency: 0.01731, cached: true, path: "/api/v1/orders/42" };
