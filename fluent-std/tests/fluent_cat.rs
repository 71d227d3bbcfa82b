//! `fluent-cat` end to end: JSON lines in, events at a receiver, the summary
//! and the exit codes.
#![cfg(feature = "cli")]

mod common;

use std::process::Command;

use common::Receiver;

fn write_input(lines: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("fluent-cat-{}-{}.jsonl", std::process::id(), lines.len()));
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn sends_every_object_and_skips_malformed_lines() {
    let receiver = Receiver::start(1);
    let input = write_input("{\"a\": 1}\n{\"b\": \"two\"}\nnot json\n[1, 2]\n\n{\"c\": true}\n");
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app.cat", input.to_str().unwrap(), "--host", "127.0.0.1", "--port"])
        .arg(receiver.port.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(":3:") && stderr.contains(":4: not a JSON object"), "{stderr}");
    assert!(stderr.contains("read 3 events (2 malformed lines skipped), sent 3"), "{stderr}");
    let events = receiver.events();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|(tag, _, _)| tag == "app.cat"));
    assert_eq!(events[1].2, [("b".to_owned(), "two".to_owned())]);
}

#[test]
fn stop_on_error_and_unsent_events_set_the_exit_code() {
    let input = write_input("{\"a\": 1}\nbroken\n{\"b\": 2}\n");
    let nowhere = "/nonexistent-fluent-cat-dir/fluent.sock";
    let status = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", input.to_str().unwrap(), "--socket", nowhere, "--stop-on-error", "--close-timeout", "0"])
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(2));
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", input.to_str().unwrap(), "--socket", nowhere, "--close-timeout", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsent 2"));
}
