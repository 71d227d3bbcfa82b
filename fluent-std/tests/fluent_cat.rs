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
    let receiver = Receiver::start(2); // the reachability check, then the events
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
    let receiver = Receiver::start(2);
    let port = receiver.port.to_string();
    let status = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", input.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port, "--stop-on-error"])
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(2));
    drop(receiver);
    // A server that takes the bytes and never acks: nothing is vouched for.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let holder = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for _ in 0..2 {
            conns.push(listener.accept().unwrap().0);
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    });
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", input.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port, "--ack", "--close-timeout", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("acked 0") && stderr.contains("unsent 2"), "{stderr}");
    holder.join().unwrap();
}

#[test]
fn nothing_listening_fails_fast_and_names_the_cause() {
    let input = write_input("{\"a\": 1}\n");
    let dead = common::dead_port();
    let port = dead.port.to_string();
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", input.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot connect to 127.0.0.1:") && stderr.contains("refused"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "fails fast: {:?}", started.elapsed());
}

#[test]
fn floats_arrive_unchanged() {
    let receiver = Receiver::start(2); // the reachability check, then the events
    let input = write_input("{\"x\": 90.28571428571429, \"y\": 0.1}\n");
    let output = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", input.to_str().unwrap(), "--host", "127.0.0.1", "--port"])
        .arg(receiver.port.to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = receiver.events();
    assert_eq!(events[0].2, [("x".to_owned(), "90.28571428571429".to_owned()), ("y".to_owned(), "0.1".to_owned())]);
}

#[test]
fn sigint_prints_the_summary() {
    use std::io::Write;
    let receiver = Receiver::start(2); // the reachability check, then the events
    let mut child = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app", "--host", "127.0.0.1", "--port"])
        .arg(receiver.port.to_string())
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"{\"a\": 1}\n{\"a\": 2}\n").unwrap();
    stdin.flush().unwrap();
    // Events at the receiver mean the sender exists, so the handler is installed.
    assert!(receiver.wait_for_events(2, std::time::Duration::from_secs(20)), "the two events never arrived");
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("read 2 events") && stderr.contains("sent 2") && stderr.contains("interrupted"),
        "{stderr}"
    );
    assert_eq!(receiver.events().len(), 2);
}

#[test]
fn the_shared_key_handshake_from_flags_and_the_environment() {
    let catcher = fluent_catcher::TestCatcher::with_config(
        fluent_catcher::Config::default().shared_key("cat key").hostname("catcher.test").user("fluent", "cat pw"),
    )
    .unwrap();
    let port = catcher.forward_addr().port().to_string();
    let input = write_input("{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n{\"a\": 4}\n{\"a\": 5}\n");
    let run = |key: &str| {
        Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
            .args(["app.hs", input.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port, "--ack"])
            .args(["--self-hostname", "cat.test", "--username", "fluent", "--close-timeout", "3"])
            .env("FLUENT_SHARED_KEY", key)
            .env("FLUENT_PASSWORD", "cat pw")
            .output()
            .unwrap()
    };
    let good = run("cat key");
    let stderr = String::from_utf8_lossy(&good.stderr);
    assert!(good.status.success(), "{stderr}");
    assert!(stderr.contains("acked 5"), "{stderr}");
    let bad = run("not the key");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "a refused handshake cannot vouch for delivery: {stderr}");
    assert!(stderr.contains("handshake") && !stderr.contains("not the key"), "{stderr}");
    assert_eq!(catcher.wait_for_events(5, std::time::Duration::from_secs(10)).len(), 5);
}

#[test]
fn tls_flags_deliver_to_a_trusted_server_and_an_untrusted_one_fails_fast() {
    let certs = fluent_catcher::TestCertificates::generate().unwrap();
    let dir = std::env::temp_dir().join(format!("fluent-cat-tls-{}", std::process::id()));
    let files = certs.write_to(&dir).unwrap();
    let config = fluent_catcher::Config::default().shared_key("cat key").hostname("catcher.test");
    let catcher = fluent_catcher::TestCatcher::with_tls(config, &certs).unwrap();
    let port = catcher.tls_forward_addr().unwrap().port().to_string();
    let input = write_input("{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n");
    let run = |tls: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
            .args(["app.tls", input.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port, "--ack"])
            .args(["--self-hostname", "cat.test", "--close-timeout", "3", "--connect-timeout", "2"])
            .args(tls)
            .env("FLUENT_SHARED_KEY", "cat key")
            .output()
            .unwrap()
    };
    let good = run(&["--tls-ca-file", files.ca.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&good.stderr);
    assert!(good.status.success(), "{stderr}");
    assert!(stderr.contains("acked 3"), "{stderr}");
    assert_eq!(catcher.wait_for_events(3, std::time::Duration::from_secs(10)).len(), 3);

    // The system's roots do not include the test CA: refused at once.
    let untrusted = run(&["--tls"]);
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert_eq!(untrusted.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("invalid peer certificate"), "{stderr}");

    let insecure = run(&["--tls-insecure-skip-verify"]);
    let stderr = String::from_utf8_lossy(&insecure.stderr);
    assert!(insecure.status.success(), "{stderr}");
    assert!(stderr.contains("WARNING"), "{stderr}");

    let missing = run(&["--tls-ca-file", "/nonexistent/ca.pem"]);
    assert_eq!(missing.status.code(), Some(2), "{}", String::from_utf8_lossy(&missing.stderr));
    assert_eq!(catcher.wait_for_events(6, std::time::Duration::from_secs(10)).len(), 6);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn servers_fail_over_to_the_standby() {
    let standby = fluent_catcher::TestCatcher::start().unwrap();
    let dead = common::dead_port();
    let input = write_input("{\"a\": 1}\n{\"a\": 2}\n");
    let out = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app.tier", input.to_str().unwrap(), "--ack", "--close-timeout", "3"])
        .args(["--server", &format!("127.0.0.1:{},weight=10", dead.port)])
        .args(["--server", &format!("127.0.0.1:{},standby", standby.forward_addr().port())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("acked 2"), "{stderr}");
    assert_eq!(standby.wait_for_events(2, std::time::Duration::from_secs(10)).len(), 2);
    let bad = Command::new(env!("CARGO_BIN_EXE_fluent-cat"))
        .args(["app.tier", input.to_str().unwrap(), "--server", "no-port"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "clap usage error");
}
