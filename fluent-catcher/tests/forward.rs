//! The Forward listener: every mode, times, acks, heartbeats, the Unix
//! socket, the handshake, shutdown, and both output formats.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use common::{closed_by_peer, connect, message, read_value};
use fluent_catcher::{Config, Output, OutputFormat, TestCatcher};
use fluent_proto::{
    EntriesFormat, EventTime, Options, Timestamp, encode_compressed_packed_forward, encode_entry, encode_forward,
    encode_packed_forward, parse_ack,
};

const WAIT: Duration = Duration::from_secs(20);

fn record(n: u64) -> BTreeMap<&'static str, u64> {
    BTreeMap::from([("n", n)])
}

#[test]
fn every_mode_and_time_form_arrives() {
    let catcher = TestCatcher::start().unwrap();
    let mut stream = connect(catcher.forward_addr());
    let t = |n: u64| Timestamp::Event(EventTime::new(1_490_061_367, n as u32));
    let mut wire = Vec::new();
    // Message, integer and EventTime.
    fluent_proto::encode_message(&mut wire, "m.int", Timestamp::Seconds(1_490_061_367), &record(0), None).unwrap();
    fluent_proto::encode_message(&mut wire, "m.evt", t(1), &record(1), None).unwrap();
    // Forward.
    let recs: Vec<_> = (2..5).map(record).collect();
    encode_forward(&mut wire, "fwd", recs.iter().enumerate().map(|(i, r)| (t(2 + i as u64), r)), None).unwrap();
    // PackedForward, bin and str entries.
    let mut entries = Vec::new();
    for n in 5..8 {
        encode_entry(&mut entries, t(n), &record(n)).unwrap();
    }
    encode_packed_forward(&mut wire, "packed.bin", &entries, EntriesFormat::Bin, None).unwrap();
    let mut entries = Vec::new();
    for n in 8..10 {
        encode_entry(&mut entries, t(n), &record(n)).unwrap();
    }
    encode_packed_forward(
        &mut wire,
        "packed.str",
        &entries,
        EntriesFormat::Str,
        Some(&Options { size: Some(2), ..Default::default() }),
    )
    .unwrap();
    // CompressedPackedForward with two gzip members back to back.
    let mut first = Vec::new();
    encode_entry(&mut first, t(10), &record(10)).unwrap();
    let mut second = Vec::new();
    encode_entry(&mut second, t(11), &record(11)).unwrap();
    let mut members = fluent_proto::gzip::compress(&first, 6);
    members.extend(fluent_proto::gzip::compress(&second, 6));
    wire.extend_from_slice(b"\x93\xa4gzip");
    wire.push(0xc4);
    wire.push(members.len() as u8);
    wire.extend_from_slice(&members);
    wire.extend_from_slice(b"\x81\xaacompressed\xa4gzip");
    // [[time, metadata], record] (Fluent Bit v2) inside Forward.
    wire.extend_from_slice(b"\x92\xa2fb\x91\x92\x92\xd7\x00\x58\xd0\x88\x37\x00\x00\x00\x0c\x81\xa1m\x01\x81\xa1n\x0c");
    // A heartbeat between requests.
    wire.push(0xc0);
    stream.write_all(&wire).unwrap();
    drop(stream);

    let events = catcher.wait_for_events(13, WAIT);
    let got: Vec<(String, Timestamp, u64)> =
        events.iter().map(|e| (e.tag.clone(), e.time, e.record["n"].as_u64().unwrap())).collect();
    let mut want = vec![("m.int".to_owned(), Timestamp::Seconds(1_490_061_367), 0)];
    let tags = [
        "m.evt",
        "fwd",
        "fwd",
        "fwd",
        "packed.bin",
        "packed.bin",
        "packed.bin",
        "packed.str",
        "packed.str",
        "gzip",
        "gzip",
        "fb",
    ];
    for (i, tag) in tags.iter().enumerate() {
        let n = i as u64 + 1;
        want.push((tag.to_string(), t(n), n));
    }
    assert_eq!(got, want);
    let stats = catcher.stop();
    assert_eq!(stats.heartbeats, 1);
    assert_eq!(stats.events_rejected, 0);
}

#[test]
fn acks_echo_the_chunk_byte_for_byte_after_the_events_are_written() {
    let catcher = TestCatcher::start().unwrap();
    let mut stream = connect(catcher.forward_addr());
    // Fluentd's own chunk ids end in a newline: echo exactly.
    for (i, chunk) in ["abc==", "Zm9vYmFy\n", "ünïcode"].iter().enumerate() {
        let options = Options { chunk: Some(chunk), ..Default::default() };
        stream.write_all(&message("ack.me", Timestamp::Seconds(1), "c", i as u64, Some(&options))).unwrap();
        let reply = read_value(&mut stream);
        assert_eq!(parse_ack(&reply).unwrap(), *chunk);
        // The ack promises the event is already written.
        assert_eq!(catcher.stats().events_written, i as u64 + 1);
    }
    drop(stream);
    catcher.wait_for_connections(1, WAIT);
    assert_eq!(catcher.acks(), ["abc==", "Zm9vYmFy\n", "ünïcode"]);
    assert_eq!(catcher.connections()[0].acks, 3);
}

#[test]
fn requests_without_chunk_get_no_reply() {
    let catcher = TestCatcher::start().unwrap();
    let mut stream = connect(catcher.forward_addr());
    stream.write_all(&message("quiet", Timestamp::Seconds(1), "c", 0, None)).unwrap();
    catcher.wait_for_events(1, WAIT);
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = [0u8; 8];
    let read = std::io::Read::read(&mut stream, &mut buf);
    assert!(matches!(read, Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock), "{read:?}");
}

#[test]
fn udp_heartbeat_is_answered_on_the_forward_port() {
    let catcher = TestCatcher::start().unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    socket.send_to(&[0], catcher.forward_addr()).unwrap();
    let mut buf = [9u8; 4];
    let (n, from) = socket.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&[0u8][..], catcher.forward_addr()));
}

#[test]
fn unix_socket_serves_the_forward_protocol() {
    let dir = std::env::temp_dir().join(format!("fluent-catcher-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("forward.sock");
    let catcher = TestCatcher::with_config(Config::default().unix(&path)).unwrap();
    let mut stream = std::os::unix::net::UnixStream::connect(&path).unwrap();
    stream.write_all(&message("unix", Timestamp::Seconds(5), "u", 7, None)).unwrap();
    drop(stream);
    let events = catcher.wait_for_events(1, WAIT);
    assert_eq!((events[0].tag.as_str(), events[0].record["n"].as_u64()), ("unix", Some(7)));
    let connections = catcher.wait_for_connections(1, WAIT);
    assert_eq!(connections[0].listener, fluent_catcher::Listener::ForwardUnix);
    catcher.stop();
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[test]
fn shared_key_handshake_admits_the_right_key_only() {
    use fluent_proto::handshake::{Helo, Ping, Pong, shared_key_digest};
    let catcher = TestCatcher::with_config(Config::default().shared_key("s3cret").hostname("catcher.test")).unwrap();
    for (key, admitted) in [("s3cret", true), ("wrong", false)] {
        let mut stream = connect(catcher.forward_addr());
        let helo_bytes = read_value(&mut stream);
        let helo = Helo::parse(&helo_bytes).unwrap();
        assert_eq!(helo.nonce.len(), 16);
        let salt = b"0123456789abcdef";
        let digest = shared_key_digest(salt, "client.test", helo.nonce, key.as_bytes());
        let mut ping = Vec::new();
        Ping {
            hostname: "client.test",
            shared_key_salt: salt,
            shared_key_hexdigest: digest.as_str(),
            username: "",
            password_digest: "",
        }
        .write(&mut ping)
        .unwrap();
        stream.write_all(&ping).unwrap();
        let pong_bytes = read_value(&mut stream);
        let pong = Pong::parse(&pong_bytes).unwrap();
        assert_eq!(pong.auth_result, admitted);
        if admitted {
            assert!(pong.verify("client.test", salt, helo.nonce, b"s3cret"), "server digest verifies");
            stream.write_all(&message("authed", Timestamp::Seconds(1), "c", 1, None)).unwrap();
            drop(stream);
        } else {
            assert!(closed_by_peer(&mut stream));
        }
    }
    let events = catcher.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tag, "authed");
    assert_eq!(catcher.stats().rejected.get("handshake"), Some(&1));
}

#[test]
fn fluent_bits_non_utf8_salt_is_admitted_and_a_client_without_a_ping_is_told_why() {
    use fluent_proto::handshake::{Helo, Pong, shared_key_digest};
    let catcher = TestCatcher::with_config(Config::default().shared_key("s3cret").hostname("catcher.test")).unwrap();
    // Fluent Bit packs its 16 random salt bytes as a msgpack str.
    let mut stream = connect(catcher.forward_addr());
    let helo = read_value(&mut stream);
    let nonce = Helo::parse(&helo).unwrap().nonce.to_vec();
    let salt = [0xffu8, 0xfe, 0x80, 0xc3, 0x28, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    let digest = shared_key_digest(&salt, "bit.test", &nonce, b"s3cret");
    let mut ping = b"\x96\xa4PING\xa8bit.test\xb0".to_vec();
    ping.extend_from_slice(&salt);
    ping.push(0xd9);
    ping.push(digest.as_str().len() as u8);
    ping.extend_from_slice(digest.as_str().as_bytes());
    ping.extend_from_slice(b"\xa0\xa0");
    stream.write_all(&ping).unwrap();
    let pong = read_value(&mut stream);
    let pong = Pong::parse(&pong).unwrap();
    assert!(pong.auth_result, "{:?}", pong.reason);
    assert_eq!(pong.server_hostname, "catcher.test");
    assert!(pong.verify("bit.test", &salt, &nonce, b"s3cret"));
    stream.write_all(&message("bit", Timestamp::Seconds(1), "c", 1, None)).unwrap();
    drop(stream);
    assert_eq!(catcher.wait_for_events(1, WAIT)[0].tag, "bit");

    // A client that skips the handshake and sends events: PONG false, with
    // the true reason, whether its first frame is small or large.
    for size in [10, 100_000] {
        let mut stream = connect(catcher.forward_addr());
        let _helo = read_value(&mut stream);
        let pad = "x".repeat(size);
        let mut wire = Vec::new();
        fluent_proto::encode_message(
            &mut wire,
            "nohandshake",
            Timestamp::Seconds(1),
            &BTreeMap::from([("pad", pad.as_str())]),
            None,
        )
        .unwrap();
        let _ = stream.write_all(&wire);
        let pong = read_value(&mut stream);
        let pong = Pong::parse(&pong).unwrap();
        assert!(!pong.auth_result);
        assert!(pong.reason.contains("expected a PING"), "{size}: {:?}", pong.reason);
    }
}

#[test]
fn shutdown_writes_everything_received_before_it() {
    let catcher = TestCatcher::start().unwrap();
    let mut stream = connect(catcher.forward_addr());
    let mut wire = Vec::new();
    for n in 0..1000 {
        wire.extend(message("bye", Timestamp::Seconds(1), "c", n, None));
    }
    stream.write_all(&wire).unwrap();
    // Wait until the catcher has read it all, then stop with the
    // connection still open.
    while catcher.stats().bytes_received < wire.len() as u64 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = catcher.stop();
    assert_eq!(stats.events_written, 1000);
    assert!(closed_by_peer(&mut stream), "open connections are closed at shutdown");
}

#[test]
fn fluentd_out_file_format_to_a_file() {
    let path = std::env::temp_dir().join(format!("fluent-catcher-out-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let config = Config::default()
        .forward("127.0.0.1:0".parse().unwrap())
        .no_pickle()
        .output(Output::File(path.clone()))
        .format(OutputFormat::Fluentd)
        .log_connections(false);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stats = runtime.block_on(async {
        let catcher = fluent_catcher::Catcher::bind(config).await.unwrap();
        let addr = catcher.forward_addr().unwrap();
        let handle = catcher.handle();
        let server = tokio::spawn(catcher.run());
        tokio::task::spawn_blocking(move || {
            let mut stream = connect(addr);
            stream.write_all(&message("file.tag", Timestamp::Seconds(1_490_061_367), "f", 3, None)).unwrap();
        })
        .await
        .unwrap();
        while handle.stats().events_received < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        handle.shutdown();
        server.await.unwrap().unwrap()
    });
    assert_eq!(stats.events_written, 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "2017-03-21T01:56:07+00:00\tfile.tag\t{\"client\":\"f\",\"n\":3}\n");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn compressed_request_built_by_the_codec_arrives() {
    let catcher = TestCatcher::start().unwrap();
    let mut entries = Vec::new();
    for n in 0..100 {
        encode_entry(&mut entries, Timestamp::Seconds(n), &record(n)).unwrap();
    }
    let mut wire = Vec::new();
    let options = Options { chunk: Some("gz-1"), size: Some(100), ..Default::default() };
    encode_compressed_packed_forward(&mut wire, "gz", &entries, &options, 6).unwrap();
    let mut stream = connect(catcher.forward_addr());
    stream.write_all(&wire).unwrap();
    assert_eq!(parse_ack(&read_value(&mut stream)).unwrap(), "gz-1");
    let events = catcher.events();
    assert_eq!(events.len(), 100);
    assert!(events.iter().enumerate().all(|(i, e)| e.record["n"] == i as u64));
}

#[test]
fn json_requests_as_fluentd_in_forward_accepts_them() {
    let catcher = TestCatcher::start().unwrap();
    let mut stream = connect(catcher.forward_addr());
    // A Message with integer time, then a Forward with a float time and a
    // chunk, split across two writes in the middle of a request.
    let first = br#"["json.msg", 1490061367, {"k": "v", "n": [1, {"x": null}]}]
["json.fwd", [[1490061367.5, {"i": 1}], [1490061368, {"i": 2}]], {"chunk": "j-1"}]"#;
    let (a, b) = first.split_at(first.len() - 20);
    stream.write_all(a).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    stream.write_all(b).unwrap();
    // The ack comes back as JSON text for a JSON request.
    let mut reply = [0u8; 64];
    let n = std::io::Read::read(&mut stream, &mut reply).unwrap();
    assert_eq!(&reply[..n], br#"{"ack":"j-1"}"#);
    let events = catcher.wait_for_events(3, WAIT);
    assert_eq!(events[0].tag, "json.msg");
    assert_eq!(events[0].time, Timestamp::Seconds(1_490_061_367));
    assert_eq!(
        serde_json::Value::Object(events[0].record.clone()),
        serde_json::json!({"k": "v", "n": [1, {"x": null}]})
    );
    assert_eq!(events[1].time, Timestamp::Event(EventTime::new(1_490_061_367, 500_000_000)));
    assert_eq!((events[1].record["i"].as_u64(), events[2].record["i"].as_u64()), (Some(1), Some(2)));
    // Malformed JSON closes this connection only.
    stream.write_all(b"[\"bad\", }").unwrap();
    assert!(closed_by_peer(&mut stream));
    assert_eq!(catcher.stats().rejected.get("malformed"), Some(&1));
}

#[test]
fn user_authentication_admits_the_right_password_only() {
    use fluent_proto::handshake::{Helo, Ping, Pong, password_digest, shared_key_digest};
    let config = Config::default().shared_key("s3cret").user("fluentd", "pa55").hostname("catcher.test");
    let catcher = TestCatcher::with_config(config).unwrap();
    for (user, password, admitted) in
        [("fluentd", "pa55", true), ("fluentd", "wrong", false), ("nobody", "pa55", false)]
    {
        let mut stream = connect(catcher.forward_addr());
        let helo_bytes = read_value(&mut stream);
        let helo = Helo::parse(&helo_bytes).unwrap();
        assert_eq!(helo.auth.len(), 16, "HELO carries the auth salt");
        let salt = b"0123456789abcdef";
        let digest = shared_key_digest(salt, "client.test", helo.nonce, b"s3cret");
        let user_digest = password_digest(helo.auth, user, password);
        let mut ping = Vec::new();
        Ping {
            hostname: "client.test",
            shared_key_salt: salt,
            shared_key_hexdigest: digest.as_str(),
            username: user,
            password_digest: user_digest.as_str(),
        }
        .write(&mut ping)
        .unwrap();
        stream.write_all(&ping).unwrap();
        let pong_bytes = read_value(&mut stream);
        let pong = Pong::parse(&pong_bytes).unwrap();
        assert_eq!(pong.auth_result, admitted, "{user}:{password}");
        if admitted {
            assert!(pong.verify("client.test", salt, helo.nonce, b"s3cret"));
        } else {
            assert_eq!(pong.reason, "username/password mismatch");
        }
    }
    assert_eq!(catcher.stats().rejected.get("handshake"), Some(&2));
}

#[test]
fn a_read_holding_more_than_a_rounds_lines_is_decoded_in_rounds_without_waiting_for_more() {
    // A request whose lines exceed what one round decodes (4 MiB), and a
    // small one after it in the same write asking for an ack, then nothing
    // more: the rest of the buffer is decoded without waiting for the
    // client.
    let catcher = TestCatcher::start().unwrap();
    let mut stream = connect(catcher.forward_addr());
    let mut wire = Vec::new();
    let entries = b"\x92\x01\x80".repeat(60_000);
    encode_packed_forward(&mut wire, &"r".repeat(64), &entries, EntriesFormat::Bin, None).unwrap();
    let options = Options { chunk: Some("last"), ..Default::default() };
    wire.extend(message("rounds", Timestamp::Seconds(1), "c", 0, Some(&options)));
    stream.write_all(&wire).unwrap();
    assert_eq!(parse_ack(&read_value(&mut stream)).unwrap(), "last");
    assert_eq!(catcher.wait_for_events(60_001, Duration::from_secs(20)).len(), 60_001);
}

#[test]
fn a_long_request_does_not_hold_up_other_clients() {
    // Two compressed requests that take long to inflate and render, one per
    // worker thread of the test catcher, then a small acked request from a
    // third client: it is served while they are still rendering, so its ack
    // comes back first.
    let catcher = TestCatcher::start().unwrap();
    let mut gzip = Vec::new();
    let entries = b"\x92\x01\x80".repeat(2_000_000);
    let options = Options { chunk: Some("heavy"), ..Default::default() };
    encode_compressed_packed_forward(&mut gzip, "heavy", &entries, &options, 1).unwrap();
    let (done, order) = std::sync::mpsc::channel();
    let heavy: Vec<_> = (0..2)
        .map(|_| {
            let (addr, gzip, done) = (catcher.forward_addr(), gzip.clone(), done.clone());
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
                stream.write_all(&gzip).unwrap();
                assert_eq!(parse_ack(&read_value(&mut stream)).unwrap(), "heavy");
                done.send("heavy").unwrap();
            })
        })
        .collect();
    // Give both a moment to arrive and start rendering.
    std::thread::sleep(Duration::from_millis(300));
    let mut light = connect(catcher.forward_addr());
    let options = Options { chunk: Some("light"), ..Default::default() };
    light.write_all(&message("light", Timestamp::Seconds(1), "c", 0, Some(&options))).unwrap();
    assert_eq!(parse_ack(&read_value(&mut light)).unwrap(), "light");
    done.send("light").unwrap();
    for h in heavy {
        h.join().unwrap();
    }
    let order: Vec<&str> = order.try_iter().collect();
    assert_eq!(order[0], "light", "the small request waited behind the long ones: {order:?}");
}
