//! Golden bytes from the real fluent-logger-python (PyPI `fluent-logger`):
//! for the same tag, time and record, this codec's Message-mode frame is
//! byte-identical to what `FluentSender` puts on the wire, in integer-time
//! and in nanosecond (EventTime from a float) mode.

use std::process::Command;

use fluent_proto::{EventTime, Timestamp, encode_message};
use fluent_tests::{Val, capture, coverage_records, py_dir, python, require_python_modules, spawn};

fn events() -> Vec<(String, Val)> {
    coverage_records().into_iter().enumerate().map(|(i, r)| (format!("label{i}"), Val::Map(r))).collect()
}

fn run_python(mode: &str, times: &[String]) -> Vec<u8> {
    require_python_modules(&["fluent.sender", "msgpack"]);
    let dir = std::env::temp_dir().join(format!("fluent-golden-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.py");
    let body: Vec<String> = events()
        .iter()
        .zip(times)
        .map(|((label, record), time)| format!("    ({label:?}, {time}, {}),", record.to_python()))
        .collect();
    std::fs::write(&file, format!("EVENTS = [\n{}\n]\n", body.join("\n"))).unwrap();
    capture(|port| {
        spawn(
            Command::new(python())
                .arg(py_dir().join("send_with_fluent_logger.py"))
                .arg(&file)
                .arg(port.to_string())
                .arg(mode),
        )
    })
}

fn ours(times: &[Timestamp]) -> Vec<u8> {
    let mut out = Vec::new();
    for ((label, record), time) in events().iter().zip(times) {
        encode_message(&mut out, &format!("golden.{label}"), *time, record, None).unwrap();
    }
    out
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    format!(
        "lengths {} vs {}, first difference at byte {at}: ours {:02x?} python {:02x?}",
        a.len(),
        b.len(),
        &a[at.saturating_sub(8)..(at + 8).min(a.len())],
        &b[at.saturating_sub(8)..(at + 8).min(b.len())]
    )
}

#[test]
fn integer_time_frames_are_byte_identical() {
    let seconds: Vec<u64> = (0..events().len() as u64).map(|i| 1_490_061_367 + i * 1000).collect();
    let python = run_python("int", &seconds.iter().map(u64::to_string).collect::<Vec<_>>());
    let ours = ours(&seconds.iter().map(|s| Timestamp::Seconds(*s)).collect::<Vec<_>>());
    assert!(ours == python, "{}", first_difference(&ours, &python));
}

#[test]
// The literal exactly as PROTOCOL.md writes it.
#[allow(clippy::excessive_precision)]
fn nanosecond_frames_are_byte_identical() {
    let floats: Vec<f64> = (0..events().len()).map(|i| 1490061367.8616468906402588 + i as f64 * 0.123456789).collect();
    let python = run_python("nano", &floats.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>());
    let times: Vec<Timestamp> = floats.iter().map(|f| Timestamp::Event(EventTime::from_f64(*f).unwrap())).collect();
    let ours = ours(&times);
    assert!(ours == python, "{}", first_difference(&ours, &python));
}
