//! The counters in the Prometheus text format (version 0.0.4), as
//! [`StatsSnapshot::to_prometheus`] renders them and the `/metrics`
//! endpoint serves them.

use std::fmt::Write;

use crate::StatsSnapshot;

/// Appends one metric: its help, type and value.
pub(crate) fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

impl StatsSnapshot {
    /// The counters in the Prometheus text format, every name prefixed
    /// `fluent_catcher_`; refusals by reason as
    /// `fluent_catcher_rejected_total{reason="..."}`.
    ///
    /// ```
    /// let text = fluent_catcher::StatsSnapshot::default().to_prometheus();
    /// assert!(text.contains("# TYPE fluent_catcher_events_written_total counter\nfluent_catcher_events_written_total 0\n"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(2048);
        let counters = [
            ("connections_accepted_total", "Connections accepted since start.", self.connections_accepted),
            ("connections_refused_total", "Connections closed at once: too many open.", self.connections_refused),
            ("bytes_received_total", "Bytes read from clients.", self.bytes_received),
            ("events_received_total", "Events decoded and handed to the writer.", self.events_received),
            ("events_written_total", "Events written to the output.", self.events_written),
            ("events_rejected_total", "Malformed events dropped.", self.events_rejected),
            ("events_lost_total", "Events the output refused (their acks withheld).", self.events_lost),
            ("acks_sent_total", "Acks sent.", self.acks_sent),
            ("heartbeats_total", "Heartbeats received.", self.heartbeats),
            ("memory_waits_total", "Requests that waited for the decode memory budget.", self.memory_waits),
        ];
        for (name, help, value) in counters {
            metric(&mut out, &format!("fluent_catcher_{name}"), "counter", help, value);
        }
        metric(
            &mut out,
            "fluent_catcher_connections_active",
            "gauge",
            "Connections open now.",
            self.connections_active,
        );
        out.push_str("# HELP fluent_catcher_rejected_total Frames and connections refused, by reason.\n");
        out.push_str("# TYPE fluent_catcher_rejected_total counter\n");
        for (reason, n) in &self.rejected {
            // Reasons are this crate's own words: no escaping needed.
            let _ = writeln!(out, "fluent_catcher_rejected_total{{reason=\"{reason}\"}} {n}");
        }
        out
    }
}
