//! [`Stats::to_prometheus`]: the sender's counters in the Prometheus text
//! format, for whatever serves a service's `/metrics`. A renderer rather
//! than an integration with one metrics crate: it needs no dependency and
//! suits any exporter (write it into the response, or parse it into
//! another registry).

use std::fmt::Write;

use crate::Stats;

impl Stats {
    /// The counters in the Prometheus text format (version 0.0.4), names
    /// prefixed `fluent_sender_`, each sample carrying `labels` (to tell
    /// several senders apart).
    ///
    /// ```
    /// let stats = fluent_std::AsyncSender::builder("app").build().close_with(false, std::time::Duration::ZERO);
    /// let text = stats.to_prometheus(&[("sender", "app")]);
    /// assert!(text.contains("# TYPE fluent_sender_emitted_total counter\nfluent_sender_emitted_total{sender=\"app\"} 0\n"));
    /// assert!(text.contains("fluent_sender_queued_events{sender=\"app\"} 0\n"));
    /// ```
    pub fn to_prometheus(&self, labels: &[(&str, &str)]) -> String {
        let mut set = String::new();
        for (i, (name, value)) in labels.iter().enumerate() {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            let _ = write!(set, "{}{name}=\"{escaped}\"", if i == 0 { "{" } else { "," });
        }
        if !set.is_empty() {
            set.push('}');
        }
        let metrics: [(&str, &str, &str, u64); 16] = [
            ("emitted_total", "counter", "Events emitted (refused ones included).", self.emitted),
            ("sent_total", "counter", "Events delivered: written, or acked in ack mode.", self.sent),
            ("written_total", "counter", "Events written to the server.", self.written),
            ("acked_total", "counter", "Events the server acked.", self.acked),
            ("dropped_queue_total", "counter", "Events refused or evicted by the full queue.", self.dropped_queue),
            ("dropped_buffer_total", "counter", "Events given to the buffer overflow handler.", self.dropped_buffer),
            ("unsent_at_close_total", "counter", "Events still unsent at close.", self.unsent_at_close),
            ("lost_in_flight_total", "counter", "Written events lost with a failed connection.", self.lost_in_flight),
            ("reconnects_total", "counter", "Connections made after the first.", self.reconnects),
            ("connection_errors_total", "counter", "Connections that failed.", self.connection_errors),
            ("bytes_sent_total", "counter", "Bytes written to the server.", self.bytes_sent),
            ("loss_reports_total", "counter", "Loss reports written.", self.loss_reports),
            ("queued_events", "gauge", "Events in the queue.", self.queued_events),
            ("queued_bytes", "gauge", "Bytes in the queue.", self.queued_bytes),
            ("pending_events", "gauge", "Events with the worker, not yet delivered.", self.pending_events),
            ("pending_bytes", "gauge", "Bytes with the worker, not yet delivered.", self.pending_bytes),
        ];
        let mut out = String::with_capacity(2048);
        for (name, kind, help, value) in metrics {
            let _ = writeln!(
                out,
                "# HELP fluent_sender_{name} {help}\n# TYPE fluent_sender_{name} {kind}\nfluent_sender_{name}{set} {value}"
            );
        }
        out
    }
}
