//! Hostile and broken input: each case closes only the offending
//! connection, with a counted reason, while a well-behaved client sending
//! at the same time loses nothing.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use common::{closed_by_peer, connect, message, packed_with_tag};
use fluent_catcher::{Config, Limits, TestCatcher};
use fluent_proto::{Options, Timestamp, encode_entry};

const WAIT: Duration = Duration::from_secs(20);

/// Runs `attack` against a catcher while a good client sends 200 events
/// (half before, half after); asserts the attacker is disconnected, the
/// reason is counted, and every good event is written.
fn survives(config: Config, counter: &str, attack: impl FnOnce(&TestCatcher) -> std::net::TcpStream) {
    let catcher = TestCatcher::with_config(config).unwrap();
    let mut good = connect(catcher.forward_addr());
    let burst = |stream: &mut std::net::TcpStream, range: std::ops::Range<u64>| {
        let mut wire = Vec::new();
        for n in range {
            wire.extend(message("good", Timestamp::Seconds(1), "good", n, None));
        }
        stream.write_all(&wire).unwrap();
    };
    burst(&mut good, 0..100);
    let mut bad = attack(&catcher);
    assert!(closed_by_peer(&mut bad), "the offending connection is closed");
    burst(&mut good, 100..200);
    drop(good);
    let events = catcher.wait_for_events(200, WAIT);
    let good_ns: Vec<u64> =
        events.iter().filter(|e| e.tag == "good").map(|e| e.record["n"].as_u64().unwrap()).collect();
    assert_eq!(good_ns, (0..200).collect::<Vec<_>>(), "the good client's events all arrive, in order");
    // The server still accepts new clients.
    let mut later = connect(catcher.forward_addr());
    later.write_all(&message("later", Timestamp::Seconds(1), "l", 0, None)).unwrap();
    drop(later);
    assert!(catcher.wait_for_events(201, WAIT).iter().any(|e| e.tag == "later"));
    let stats = catcher.stop();
    assert!(stats.rejected.get(counter).copied().unwrap_or(0) >= 1, "{counter} counted: {:?}", stats.rejected);
}

fn send(addr: SocketAddr, bytes: &[u8]) -> std::net::TcpStream {
    let mut stream = connect(addr);
    stream.write_all(bytes).unwrap();
    stream
}

fn forward_attack(bytes: &'static [u8]) -> impl FnOnce(&TestCatcher) -> std::net::TcpStream {
    move |c| send(c.forward_addr(), bytes)
}

#[test]
fn malformed_bytes() {
    survives(Config::default(), "malformed", forward_attack(b"\x93\xa1t\x01\xc1"));
}

#[test]
fn request_that_is_not_an_array() {
    survives(Config::default(), "malformed", forward_attack(b"\x81\xa1k\xa1v"));
}

#[test]
fn non_map_record() {
    survives(Config::default(), "malformed", forward_attack(b"\x93\xa1t\x01\x05"));
}

#[test]
fn absurd_length_prefix() {
    // A str 32 claiming 4 GiB, and an array 32 claiming 4 billion elements.
    survives(Config::default(), "frame-too-large", forward_attack(b"\x93\xa1t\x01\x81\xa1k\xdb\xff\xff\xff\xff"));
    survives(Config::default(), "frame-too-large", forward_attack(b"\xdd\xff\xff\xff\xff\xa1t"));
}

#[test]
fn frame_over_the_size_limit() {
    let config = Config::default().limits(Limits::default().max_frame_len(64 * 1024));
    survives(config, "frame-too-large", |c| {
        let big = "x".repeat(100 * 1024);
        let mut wire = Vec::new();
        fluent_proto::encode_message(&mut wire, "big", Timestamp::Seconds(1), &BTreeMap::from([("k", big)]), None)
            .unwrap();
        send(c.forward_addr(), &wire)
    });
}

#[test]
fn truncated_frame_then_close() {
    survives(Config::default(), "truncated", |c| {
        let stream = send(c.forward_addr(), b"\x93\xa4trun\x01\x81\xa1k");
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        stream
    });
}

#[test]
fn gzip_bomb() {
    // 16 MiB of zeros inflate from ~16 KiB; the cap here is 1 MiB.
    let config = Config::default().limits(Limits::default().max_decompressed_len(1 << 20));
    survives(config, "gzip", |c| {
        let zeros = vec![0u8; 16 << 20];
        let mut wire = Vec::new();
        fluent_proto::encode_compressed_packed_forward(&mut wire, "bomb", &zeros, &Options::default(), 9).unwrap();
        assert!(wire.len() < 64 * 1024);
        send(c.forward_addr(), &wire)
    });
}

#[test]
fn corrupt_gzip() {
    survives(Config::default(), "gzip", forward_attack(b"\x93\xa1t\xc4\x04\x1f\x8b\x08\x00\x81\xaacompressed\xa4gzip"));
}

#[test]
fn refused_pickles_are_skipped_by_their_length_and_the_connection_carries_on() {
    let catcher = TestCatcher::start().unwrap();
    let framed = |pickle: &[u8]| {
        let mut wire = (pickle.len() as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(pickle);
        wire
    };
    let mut stream = connect(catcher.pickle_addr());
    // pickle.dumps of an object whose __reduce__ is (os.system, ("touch /tmp/pwned",)), protocol 1.
    stream.write_all(&framed(b"cposix\nsystem\nq\x00(X\x10\x00\x00\x00touch /tmp/pwnedq\x01tq\x02Rq\x03.")).unwrap();
    // Not a dict.
    stream.write_all(&framed(b"K\x05.")).unwrap();
    // pickle.dumps({'msg': 'after', 'name': 'x'}, 1): the next record is read.
    stream
        .write_all(&framed(b"}q\x00(X\x03\x00\x00\x00msgq\x01X\x05\x00\x00\x00afterq\x02X\x04\x00\x00\x00nameq\x03X\x01\x00\x00\x00xq\x04u."))
        .unwrap();
    drop(stream);
    let events = catcher.wait_for_events(1, WAIT);
    assert_eq!(events[0].record["msg"], "after");
    let stats = catcher.stop();
    assert_eq!(stats.rejected.get("pickle"), Some(&2));
    assert_eq!(stats.events_rejected, 2);
}

#[test]
fn pickle_with_absurd_length() {
    survives(Config::default(), "pickle-too-large", |c| send(c.pickle_addr(), b"\xff\xff\xff\xff}."));
}

#[test]
fn idle_connection_is_closed_and_others_are_served() {
    let config = Config::default().limits(Limits::default().idle_timeout(Duration::from_millis(300)));
    let catcher = TestCatcher::with_config(config).unwrap();
    let mut idle = connect(catcher.forward_addr());
    assert!(closed_by_peer(&mut idle));
    let mut busy = connect(catcher.forward_addr());
    for n in 0..5 {
        busy.write_all(&message("busy", Timestamp::Seconds(1), "b", n, None)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(busy);
    assert_eq!(catcher.wait_for_events(5, WAIT).len(), 5);
    let connections = catcher.wait_for_connections(2, WAIT);
    assert_eq!(connections[0].close_reason.as_deref(), Some("idle timeout"));
    assert_eq!(connections[1].close_reason, None, "a client sending more often than the timeout stays");
}

#[test]
fn connections_over_the_limit_are_refused() {
    let catcher = TestCatcher::with_config(Config::default().limits(Limits::default().max_connections(2))).unwrap();
    let _a = connect(catcher.forward_addr());
    let _b = connect(catcher.forward_addr());
    while catcher.stats().connections_active < 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut c = connect(catcher.forward_addr());
    assert!(closed_by_peer(&mut c));
    assert_eq!(catcher.stats().connections_refused, 1);
    drop(_a);
    // A slot frees up once a client leaves.
    catcher.wait_for_connections(1, WAIT);
    let mut d = connect(catcher.forward_addr());
    d.write_all(&message("after", Timestamp::Seconds(1), "d", 0, None)).unwrap();
    drop(d);
    assert_eq!(catcher.wait_for_events(1, WAIT)[0].tag, "after");
}

#[test]
fn a_request_with_a_malformed_event_is_not_acked_and_none_of_it_is_written() {
    let catcher = TestCatcher::start().unwrap();
    let mut entries = Vec::new();
    encode_entry(&mut entries, Timestamp::Seconds(1), &BTreeMap::from([("n", 0)])).unwrap();
    entries.extend_from_slice(b"\x92\x01\x05"); // record is not a map
    encode_entry(&mut entries, Timestamp::Seconds(1), &BTreeMap::from([("n", 2)])).unwrap();
    let packed = |chunk: Option<&str>| {
        let mut wire = Vec::new();
        let options = Options { chunk, ..Default::default() };
        fluent_proto::encode_packed_forward(
            &mut wire,
            "mixed",
            &entries,
            fluent_proto::EntriesFormat::Bin,
            Some(&options),
        )
        .unwrap();
        wire
    };
    let mut stream = connect(catcher.forward_addr());
    // With an ack asked for: no ack (an ack promises every event), nothing
    // written, all three counted; the connection carries on.
    stream.write_all(&packed(Some("mixed"))).unwrap();
    let mut good = Vec::new();
    let mut entry = Vec::new();
    encode_entry(&mut entry, Timestamp::Seconds(1), &BTreeMap::from([("n", 9)])).unwrap();
    let options = Options { chunk: Some("good"), ..Default::default() };
    fluent_proto::encode_packed_forward(&mut good, "good", &entry, fluent_proto::EntriesFormat::Bin, Some(&options))
        .unwrap();
    stream.write_all(&good).unwrap();
    assert_eq!(
        fluent_proto::parse_ack(&common::read_value(&mut stream)).unwrap(),
        "good",
        "the first ack is the good request's"
    );
    assert_eq!(catcher.stats().events_rejected, 3);
    // Without an ack: the good events are kept, as Fluentd does.
    stream.write_all(&packed(None)).unwrap();
    let ns: Vec<_> = catcher.wait_for_events(3, WAIT).iter().map(|e| e.record["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, [9, 0, 2]);
    assert_eq!(catcher.stats().events_rejected, 4);
    assert_eq!(catcher.acks(), ["good"]);
}

#[test]
fn a_bad_byte_that_hides_the_rest_of_a_request_counts_its_whole_size() {
    // One byte broken in the 2nd of 100 entries: the decoder cannot find the
    // 98 after it. The request (size 100) is not acked and all 100 count.
    let catcher = TestCatcher::start().unwrap();
    let mut entries = Vec::new();
    for n in 0..100u64 {
        encode_entry(&mut entries, Timestamp::Seconds(1), &BTreeMap::from([("n", n)])).unwrap();
    }
    let second = entries.iter().skip(1).position(|&b| b == 0x92).unwrap() + 1;
    entries[second] = 0xc1; // never used in msgpack
    let mut wire = Vec::new();
    let options = Options { chunk: Some("broken"), size: Some(100), ..Default::default() };
    fluent_proto::encode_packed_forward(
        &mut wire,
        "broken",
        &entries,
        fluent_proto::EntriesFormat::Bin,
        Some(&options),
    )
    .unwrap();
    let mut stream = connect(catcher.forward_addr());
    stream.write_all(&wire).unwrap();
    let after = Options { chunk: Some("after"), ..Default::default() };
    stream.write_all(&message("after", Timestamp::Seconds(1), "d", 0, Some(&after))).unwrap();
    assert_eq!(fluent_proto::parse_ack(&common::read_value(&mut stream)).unwrap(), "after");
    assert_eq!(catcher.stats().events_rejected, 100);
    assert_eq!(catcher.wait_for_events(1, WAIT).len(), 1, "only the later request's event");
}

#[test]
fn a_client_trickling_a_frame_is_closed_after_the_frame_timeout() {
    let limits = Limits::default()
        .idle_timeout(Duration::from_secs(60))
        .frame_timeout(Duration::from_millis(800))
        .min_data_rate(1024);
    let catcher = TestCatcher::with_config(Config::default().limits(limits)).unwrap();
    // Slowloris: one byte of a never-finished frame every 50 ms. Each byte
    // restarted the idle timeout; the frame's time does not restart.
    let mut slow = connect(catcher.forward_addr());
    let frame = message("slow", Timestamp::Seconds(1), "s", 0, None);
    // A client sending whole frames as slowly is not closed: each frame ends
    // its time.
    let mut steady = connect(catcher.forward_addr());
    for (i, byte) in frame[..frame.len() - 1].iter().enumerate() {
        if i % 8 == 0 {
            steady.write_all(&message("steady", Timestamp::Seconds(1), "t", i as u64, None)).unwrap();
        }
        if slow.write_all(&[*byte]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(closed_by_peer(&mut slow), "the trickling client is closed");
    let reasons: Vec<_> = catcher.wait_for_connections(1, WAIT).into_iter().filter_map(|c| c.close_reason).collect();
    assert!(reasons.iter().any(|r| r.contains("too slow")), "{reasons:?}");
    drop(steady);
    assert!(catcher.wait_for_events(1, WAIT).iter().all(|e| e.tag == "steady"));
    assert_eq!(catcher.stats().rejected.get("slow"), Some(&1));
}

#[test]
fn one_peer_cannot_take_every_connection() {
    let limits = Limits::default().max_connections_per_peer(2);
    let catcher = TestCatcher::with_config(Config::default().limits(limits)).unwrap();
    let _a = connect(catcher.forward_addr());
    let _b = connect(catcher.forward_addr());
    while catcher.stats().connections_active < 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut c = connect(catcher.forward_addr());
    assert!(closed_by_peer(&mut c), "a third connection from 127.0.0.1 is refused");
    // Another peer address (127.0.0.2) is served.
    let other = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    other.bind(&"127.0.0.2:0".parse::<SocketAddr>().unwrap().into()).unwrap();
    other.connect(&catcher.forward_addr().into()).unwrap();
    let mut other: std::net::TcpStream = other.into();
    other.write_all(&message("other-peer", Timestamp::Seconds(1), "o", 0, None)).unwrap();
    drop(other);
    assert_eq!(catcher.wait_for_events(1, WAIT)[0].tag, "other-peer");
    assert_eq!(catcher.stats().rejected.get("max-connections-per-peer"), Some(&1));
}

#[test]
fn a_long_tag_is_refused() {
    // 290 KB: a 200 KB tag on 30,000 three-byte entries rendered to 6.5 GB.
    survives(Config::default(), "tag-too-long", |c| send(c.forward_addr(), &packed_with_tag(200_000, 30_000)));
}

#[test]
fn a_request_that_renders_to_far_more_than_its_size_is_refused() {
    // 4 KiB (the tag limit) repeated on 30,000 three-byte entries: 120 MB
    // of lines from a 94 KB request.
    survives(Config::default(), "amplification", |c| send(c.forward_addr(), &packed_with_tag(4096, 30_000)));
}

#[test]
fn a_json_request_that_renders_to_far_more_than_its_size_is_refused() {
    survives(Config::default(), "malformed", |c| {
        let entries = vec!["[1,{}]"; 30_000].join(",");
        let request = format!("[\"{}\",[{entries}]]", "t".repeat(4096));
        send(c.forward_addr(), request.as_bytes())
    });
}

#[test]
fn a_request_that_needs_more_than_the_decode_memory_is_refused() {
    // 100,000 tiny entries render to about 4 MB; the budget is 2 MiB.
    let config = Config::default().limits(Limits::default().decode_memory(2 << 20));
    survives(config, "memory", |c| send(c.forward_addr(), &packed_with_tag(8, 100_000)));
}

#[test]
fn requests_that_fit_the_decode_memory_one_at_a_time_all_arrive() {
    // Each request renders to about 1.2 MB and the budget is 2 MiB: they
    // take turns (the writer gives the room back), and every one is acked.
    let catcher = TestCatcher::with_config(Config::default().limits(Limits::default().decode_memory(2 << 20))).unwrap();
    let clients: Vec<_> = (0..3)
        .map(|client| {
            let addr = catcher.forward_addr();
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                let mut wire = Vec::new();
                for n in 0..4 {
                    let chunk = format!("c{client}-{n}");
                    let options = Options { chunk: Some(&chunk), ..Default::default() };
                    let entries = b"\x92\x01\x80".repeat(30_000);
                    fluent_proto::encode_packed_forward(
                        &mut wire,
                        "fits",
                        &entries,
                        fluent_proto::EntriesFormat::Bin,
                        Some(&options),
                    )
                    .unwrap();
                }
                stream.write_all(&wire).unwrap();
                for n in 0..4 {
                    let ack = common::read_value(&mut stream);
                    assert_eq!(fluent_proto::parse_ack(&ack).unwrap(), format!("c{client}-{n}"));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let stats = catcher.stop();
    assert_eq!(stats.events_written, 3 * 4 * 30_000);
    assert!(stats.rejected.is_empty(), "{:?}", stats.rejected);
}
