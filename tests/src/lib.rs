//! Shared helpers for the interop tests: a record value type that can be
//! written as a Rust record, a Python literal and a Go literal; a canonical
//! JSON form that both sides of a comparison produce; and peer-process
//! helpers that fail with a clear message when a peer is missing.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fluent_proto::{EventTime, Value};
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::json;

/// A record value: every msgpack type a record can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// nil
    Nil,
    /// boolean
    Bool(bool),
    /// integer
    Int(i64),
    /// unsigned integer past i64
    UInt(u64),
    /// float 32 (Go only: Python has no f32)
    F32(f32),
    /// float 64
    F64(f64),
    /// string
    Str(String),
    /// binary
    Bin(Vec<u8>),
    /// array
    Array(Vec<Val>),
    /// map with string keys, in order
    Map(Vec<(String, Val)>),
    /// an EventTime value inside a record (ext type 0)
    Time(EventTime),
}

impl serde::Serialize for Val {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Nil => s.serialize_unit(),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::Int(i) => s.serialize_i64(*i),
            Val::UInt(u) => s.serialize_u64(*u),
            Val::F32(f) => s.serialize_f32(*f),
            Val::F64(f) => s.serialize_f64(*f),
            Val::Str(t) => s.serialize_str(t),
            Val::Bin(b) => s.serialize_bytes(b),
            Val::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Val::Map(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Val::Time(t) => t.serialize(s),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Val {
    /// The value as a Python expression (evaluated with `ExtType` in scope).
    pub fn to_python(&self) -> String {
        match self {
            Val::Nil => "None".into(),
            Val::Bool(b) => if *b { "True" } else { "False" }.into(),
            Val::Int(i) => i.to_string(),
            Val::UInt(u) => u.to_string(),
            Val::F32(f) => format!("{f:?}"),
            Val::F64(f) => format!("{f:?}"),
            Val::Str(s) => serde_json::to_string(s).expect("json string"),
            Val::Bin(b) => format!("bytes.fromhex('{}')", hex(b)),
            Val::Array(items) => format!("[{}]", items.iter().map(Val::to_python).collect::<Vec<_>>().join(", ")),
            Val::Map(pairs) => format!(
                "{{{}}}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).expect("key"), v.to_python()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Val::Time(t) => format!("ExtType(0, bytes.fromhex('{}'))", hex(&t.to_payload())),
        }
    }

    /// The value as a Go expression of type `interface{}` (non-negative
    /// integers as unsigned types: msgp writes signed ones with signed markers).
    pub fn to_go(&self) -> String {
        match self {
            Val::Nil => "nil".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) if *i >= 0 => format!("uint64({i})"),
            Val::Int(i) => format!("int64({i})"),
            Val::UInt(u) => format!("uint64({u})"),
            Val::F32(f) => format!("float32({f:e})"),
            Val::F64(f) => format!("float64({f:e})"),
            Val::Str(s) => serde_json::to_string(s).expect("json string"),
            Val::Bin(b) => {
                format!("[]byte{{{}}}", b.iter().map(|x| format!("0x{x:02x}")).collect::<Vec<_>>().join(", "))
            }
            Val::Array(items) => {
                format!("[]interface{{}}{{{}}}", items.iter().map(Val::to_go).collect::<Vec<_>>().join(", "))
            }
            Val::Map(pairs) => format!(
                "map[string]interface{{}}{{{}}}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).expect("key"), v.to_go()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Val::Time(t) => format!("eventTime(time.Unix({}, {}))", t.seconds(), t.nanoseconds()),
        }
    }

    /// The canonical JSON form (see `py/canonical.py`, which must agree).
    pub fn canonical(&self) -> serde_json::Value {
        match self {
            Val::Nil => json!(null),
            Val::Bool(b) => json!(b),
            Val::Int(i) => json!(i),
            Val::UInt(u) => json!(u),
            Val::F32(f) => json!(f64::from(*f)),
            Val::F64(f) => json!(f),
            Val::Str(s) => json!(s),
            Val::Bin(b) => json!({ "$bin": hex(b) }),
            Val::Array(items) => json!(items.iter().map(Val::canonical).collect::<Vec<_>>()),
            Val::Map(pairs) => json!(pairs.iter().map(|(k, v)| json!([k, v.canonical()])).collect::<Vec<_>>()),
            Val::Time(t) => json!({ "$ext": [0, hex(&t.to_payload())] }),
        }
    }
}

/// The canonical JSON form of a decoded value.
pub fn canonical(value: Value<'_>) -> serde_json::Value {
    match value {
        Value::Nil => json!(null),
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::F32(f) => json!(f64::from(f)),
        Value::F64(f) => json!(f),
        Value::Str(s) => json!(s),
        Value::Bin(b) => json!({ "$bin": hex(b) }),
        Value::Array(a) => json!(a.iter().map(|v| canonical(v.expect("element"))).collect::<Vec<_>>()),
        Value::Map(m) => json!(
            m.iter()
                .map(|p| {
                    let (k, v) = p.expect("pair");
                    json!([canonical(k), canonical(v)])
                })
                .collect::<Vec<_>>()
        ),
        Value::Ext(t, d) => json!({ "$ext": [t, hex(d)] }),
    }
}

/// The canonical JSON form of an event time.
pub fn canonical_time(time: fluent_proto::Timestamp) -> serde_json::Value {
    match time {
        fluent_proto::Timestamp::Seconds(s) => json!(s),
        fluent_proto::Timestamp::Event(t) => json!({ "$time": [t.seconds(), t.nanoseconds()] }),
    }
}

/// Records that together hold every msgpack type and width a record can hold.
pub fn coverage_records() -> Vec<Vec<(String, Val)>> {
    let s = |t: &str| Val::Str(t.to_owned());
    let kv = |k: &str, v: Val| (k.to_owned(), v);
    vec![
        vec![kv("bar", s("baz"))],
        vec![kv("nil", Val::Nil), kv("t", Val::Bool(true)), kv("f", Val::Bool(false))],
        vec![
            kv("fix", Val::Int(127)),
            kv("u8", Val::Int(255)),
            kv("u16", Val::Int(65535)),
            kv("u32", Val::Int(4294967295)),
            kv("u64", Val::UInt(u64::MAX)),
            kv("nfix", Val::Int(-32)),
            kv("i8", Val::Int(-128)),
            kv("i16", Val::Int(-32768)),
            kv("i32", Val::Int(-2147483648)),
            kv("i64", Val::Int(i64::MIN)),
        ],
        vec![kv("zero", Val::F64(0.0)), kv("pi", Val::F64(std::f64::consts::PI)), kv("big", Val::F64(-1.5e300))],
        vec![
            kv("fixstr", s("héllo ✓")),
            kv("str8", Val::Str("a".repeat(200))),
            kv("str16", Val::Str("b".repeat(60_000))),
            kv("str32", Val::Str("c".repeat(70_000))),
            kv("empty", s("")),
            kv("quotes", s("\"'\\\n\t\u{1}")),
        ],
        vec![
            kv("bin8", Val::Bin((0..=255).collect())),
            kv("bin16", Val::Bin(vec![7; 300])),
            kv("bin32", Val::Bin(vec![9; 70_000])),
            kv("bin0", Val::Bin(vec![])),
        ],
        vec![
            kv("arr", Val::Array(vec![Val::Int(1), s("two"), Val::Nil, Val::Array(vec![])])),
            kv("arr16", Val::Array((0..20).map(Val::Int).collect())),
            kv("map", Val::Map(vec![kv("inner", Val::Map(vec![kv("deep", Val::Int(-1))]))])),
            kv("map16", Val::Map((0..20).map(|i| (format!("k{i}"), Val::Int(i))).collect())),
        ],
        vec![kv("at", Val::Time(EventTime::new(1490061367, 861646890)))],
        vec![],
    ]
}

/// The Python interpreter the tests run (`PYTHON`, else `python3`).
pub fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// This package's `py/` directory.
pub fn py_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("py")
}

/// Fails with a clear message when a Python module the tests need is missing.
pub fn require_python_modules(modules: &[&str]) {
    let probe = modules.iter().map(|m| format!("import {m}")).collect::<Vec<_>>().join("; ");
    let ok = Command::new(python()).args(["-c", &probe]).status().map(|s| s.success()).unwrap_or(false);
    assert!(
        ok,
        "interop test needs the Python modules {modules:?}; run `ci/test.sh` (it installs them) \
         or `pip install fluent-logger msgpack`"
    );
}

/// Runs a command to completion, asserting success, returning stdout.
pub fn run(command: &mut Command) -> Vec<u8> {
    let output = command.output().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs `spawn(port)` against a loopback listener and returns every byte the
/// peer sent, over however many connections, concatenated in order.
pub fn capture(spawn: impl FnOnce(u16) -> Child) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let mut child = spawn(port);
    let mut captured = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).expect("blocking");
                stream.read_to_end(&mut captured).expect("read");
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait().expect("wait") {
                    assert!(status.success(), "peer exited with {status}");
                    // One last accept for a connection made just before exit.
                    if let Ok((mut stream, _)) = listener.accept() {
                        stream.set_nonblocking(false).expect("blocking");
                        stream.read_to_end(&mut captured).expect("read");
                    }
                    return captured;
                }
                assert!(std::time::Instant::now() < deadline, "peer did not finish in time");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Decodes a stream of frames with msgpack-python (`py/decode_ours.py`):
/// one canonical JSON value per frame.
pub fn decode_with_msgpack_python(wire: &[u8]) -> Vec<serde_json::Value> {
    let mut child = Command::new(python())
        .arg(py_dir().join("decode_ours.py"))
        .current_dir(py_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().expect("stdin");
    let bytes = wire.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &bytes).expect("write"));
    let output = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    assert!(output.status.success(), "decode_ours.py failed");
    String::from_utf8(output.stdout).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json")).collect()
}

/// Spawns a process with piped stdin/stderr inherited.
pub fn spawn(command: &mut Command) -> Child {
    command.stdin(Stdio::null()).spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"))
}

/// This package's `node/` directory (its `node_modules` holds the npm peers).
pub fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Runs npm's client (`tests/node/catcher_client.js`) against a catcher on
/// `port`: `count` events in ack mode with the shared key and, when given,
/// a user; over TLS trusting `tls_ca` (a PEM file) when given. Its exit
/// status and output.
pub fn node_client(
    port: u16,
    key: &str,
    user: Option<(&str, &str)>,
    count: u32,
    tls_ca: Option<&std::path::Path>,
) -> std::process::Output {
    require_node();
    let (name, password) = user.unwrap_or(("-", "-"));
    let mut command = Command::new("node");
    command
        .arg(node_dir().join("catcher_client.js"))
        .args([&port.to_string(), key, name, password, &count.to_string()])
        .current_dir(node_dir());
    if let Some(ca) = tls_ca {
        command.env("TLS_CA", ca);
    }
    command.output().expect("node")
}

/// npm's `FluentServer` (`tests/node/forward_server.js`) with key
/// "node key" and user fluent / "pw 2", `env` added (`TLS_CERT`,
/// `TLS_KEY`, `TLS_CA` for TLS): the process, its output lines (one JSON
/// event each, `{"tag", "record"}`), and its port. Closing its stdin stops
/// it.
pub fn node_forward_server(
    env: &[(&str, &std::path::Path)],
) -> (Child, std::io::Lines<std::io::BufReader<std::process::ChildStdout>>, u16) {
    use std::io::BufRead;
    require_node();
    let mut command = Command::new("node");
    command
        .arg(node_dir().join("forward_server.js"))
        .args(["node key", "fluent", "pw 2"])
        .envs(env.iter().copied())
        .current_dir(node_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut server = command.spawn().expect("node");
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let ready: serde_json::Value =
        serde_json::from_str(&lines.next().expect("the port line").expect("read")).expect("json");
    (server, lines, ready["port"].as_u64().expect("port") as u16)
}

/// Checks that npm's client (its `output`) had `count` events acked, and
/// that the catcher wrote them in order (`n` = 0, 1, ...); the events.
pub fn assert_node_client_delivered(
    output: &std::process::Output,
    catcher: &fluent_catcher::TestCatcher,
    count: u32,
) -> Vec<fluent_catcher::CaughtEvent> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.trim(), format!(r#"{{"acked":{count}}}"#));
    let events = catcher.wait_for_events(count as usize, std::time::Duration::from_secs(20));
    let ns: Vec<u64> = events.iter().map(|e| e.record["n"].as_u64().expect("n")).collect();
    assert_eq!(ns, (0..u64::from(count)).collect::<Vec<_>>());
    events
}

/// Fails with a clear message unless Node.js and the npm peers are installed.
pub fn require_node() {
    let ok = Command::new("node").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    let pkg = node_dir().join("node_modules/@fluent-org/logger/package.json").exists();
    assert!(
        ok && pkg,
        "interop test needs Node.js and @fluent-org/logger; run `ci/test.sh` (it installs them) or \
         `npm ci --prefix tests/node`"
    );
}

/// Fails with a clear message unless Go and Debian's fluent-logger-golang
/// sources are installed.
pub fn require_go() {
    let ok = Command::new("go").arg("version").output().map(|o| o.status.success()).unwrap_or(false);
    let pkg = std::path::Path::new("/usr/share/gocode/src/github.com/fluent/fluent-logger-golang/fluent").exists();
    assert!(
        ok && pkg,
        "interop test needs Go and fluent-logger-golang; run `ci/test.sh` (it installs them) or \
         `apt-get install golang-go golang-github-fluent-fluent-logger-golang-dev`"
    );
}

/// Builds a Go `main` package (GOPATH mode, against Debian's packaged
/// sources under /usr/share/gocode) and returns the binary's path.
pub fn build_go_program(name: &str, program: &str) -> PathBuf {
    require_go();
    let gopath = std::env::temp_dir().join(format!("fluent-go-{name}-{}", std::process::id()));
    let src = gopath.join("src").join(name);
    std::fs::create_dir_all(&src).expect("go source dir");
    std::fs::write(src.join("main.go"), program).expect("main.go");
    let cache = std::env::var("GOCACHE")
        .unwrap_or_else(|_| std::env::temp_dir().join("fluent-go-cache").to_string_lossy().into_owned());
    let binary = gopath.join(format!("{name}-bin"));
    run(Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{}:/usr/share/gocode", gopath.display()))
        .env("GOCACHE", cache)
        .env("GOFLAGS", ""));
    binary
}
