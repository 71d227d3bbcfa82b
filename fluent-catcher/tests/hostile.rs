//! The `fluent-catcher` binary under hostile clients, inside a 1 GiB
//! address-space cap (`prlimit --as`), so that a regression that asks for
//! memory fails this test instead of the machine. While the attackers run,
//! a steady client sends events asking for acks: the catcher must stay up
//! and every acked event must be in the file.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{connect, message, read_value};
use fluent_proto::{Options, Timestamp};

const CAP: &str = "--as=1073741824";

/// The catcher in a child process under the cap; its Forward address.
fn start(out: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new("prlimit")
        .arg(CAP)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_fluent-catcher"))
        .args(["--listen", "127.0.0.1:0", "--pickle-listen", "127.0.0.1:0", "--quiet", "--out"])
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) runs the catcher");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut ready = String::new();
    stderr.read_line(&mut ready).unwrap();
    assert!(ready.starts_with("fluent-catcher: listening on forward tcp 127.0.0.1:"), "{ready}");
    let port: u16 = ready.split("127.0.0.1:").nth(1).unwrap().split([' ', ',']).next().unwrap().parse().unwrap();
    // Keep draining its log so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});
    (child, ([127, 0, 0, 1], port).into())
}

fn packed_with_tag(tag_len: usize, entries: usize) -> Vec<u8> {
    let mut wire = Vec::new();
    let entries = b"\x92\x01\x80".repeat(entries);
    fluent_proto::encode_packed_forward(
        &mut wire,
        &"t".repeat(tag_len),
        &entries,
        fluent_proto::EntriesFormat::Bin,
        None,
    )
    .unwrap();
    wire
}

/// Each attack on its own connection; errors (the catcher closing on us)
/// are expected.
fn attacks(addr: SocketAddr) -> Vec<std::thread::JoinHandle<()>> {
    let send = move |bytes: Vec<u8>| {
        std::thread::spawn(move || {
            if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                let _ = s.write_all(&bytes);
                let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                let _ = std::io::Read::read(&mut s, &mut [0u8; 64]);
            }
        })
    };
    let json_entries = vec!["[1,{}]"; 30_000].join(",");
    let mut handles = vec![
        // A 200 KB tag on 30,000 tiny entries: 6.5 GB of lines.
        send(packed_with_tag(200_000, 30_000)),
        // The longest tag allowed on 30,000 tiny entries: 120 MB of lines.
        send(packed_with_tag(4096, 30_000)),
        send(format!("[\"{}\",[{json_entries}]]", "t".repeat(4096)).into_bytes()),
    ];
    // Unfinished JSON, then a byte every 20 ms: each byte used to re-parse
    // the whole buffer.
    handles.push(std::thread::spawn(move || {
        let Ok(mut s) = std::net::TcpStream::connect(addr) else { return };
        let mut start = b"[\"slow\",[".to_vec();
        start.extend(b"[1,{\"k\":\"v\"}],".repeat(200_000));
        if s.write_all(&start).is_err() {
            return;
        }
        for _ in 0..100 {
            if s.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }));
    handles
}

#[test]
fn hostile_clients_neither_crash_the_catcher_nor_cost_an_acked_event() {
    let out = std::env::temp_dir().join(format!("fluent-catcher-hostile-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let (mut child, addr) = start(&out);
    let attackers = attacks(addr);

    let mut good = connect(addr);
    let mut acked = 0u64;
    for n in 0..300u64 {
        let chunk = format!("good-{n}");
        let options = Options { chunk: Some(&chunk), ..Default::default() };
        good.write_all(&message("good", Timestamp::Seconds(1), "good", n, Some(&options))).unwrap();
        let ack = read_value(&mut good);
        assert_eq!(fluent_proto::parse_ack(&ack).unwrap(), chunk);
        acked += 1;
        if n % 50 == 0 {
            assert!(child.try_wait().unwrap().is_none(), "the catcher died under attack");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(good);
    for a in attackers {
        a.join().unwrap();
    }
    assert!(child.try_wait().unwrap().is_none(), "the catcher died under attack");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the catcher did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let good_lines = text.lines().filter(|l| l.contains("\"good\"")).count() as u64;
    assert_eq!(good_lines, acked, "every acked event is in the file");
    let _ = std::fs::remove_file(&out);
}
