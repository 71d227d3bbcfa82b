//! A fault-injecting Forward server: each of its first `faulty` connections
//! misbehaves in one way; later connections are well-behaved (they decode
//! every request and ack it when asked).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use fluent_proto::{Decoded, Frame, FrameDecoder, Limits, encode_ack};
use socket2::{Domain, Socket, Type};

/// How a connection misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Nothing listens: connections are refused.
    Refuse,
    /// The listen queue is full, so SYNs go unanswered: connects hang.
    SynBlackhole,
    /// Accepts and never reads.
    NeverRead,
    /// Reads about 1 KB a second.
    SlowRead,
    /// Reads this many bytes, then stops reading (keeps the connection).
    BlackholeAfter(usize),
    /// Reads this many bytes, then resets the connection.
    ResetAfter(usize),
    /// Reads this many bytes, stops reading for this long (a live server's
    /// garbage collection), then reads on.
    PauseAfter(usize, Duration),
    /// Shuts down its sending side at once, and keeps reading.
    HalfClose,
    /// Acks one request, then closes (Fluentd's `deny_keepalive`).
    CloseAfterEachAck,
    /// Acks one request, then takes this long to close (a busy
    /// `deny_keepalive` server).
    SlowCloseAfterEachAck(Duration),
    /// Acks one request, then resets the connection.
    ResetAfterEachRequest,
    /// Reads and decodes, never acks.
    NeverAck,
    /// Acks with another chunk id.
    WrongChunk,
    /// Reads on, and sends msgpack `nil`s back as fast as it can.
    Flood,
}

/// The server; stops (and drops its connections) when dropped.
pub struct FaultServer {
    pub port: u16,
    /// The `n` field of every event received, in order, duplicates included.
    pub received: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Kept open: a bound port no listener answers, or a full listen queue.
    _held: Vec<Socket>,
}

impl FaultServer {
    /// `faulty`: how many connections get the fault (`usize::MAX`: all).
    pub fn start(fault: Fault, faulty: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        match fault {
            Fault::Refuse => {
                // Bound, never listening: refused, and no other test can take
                // the port meanwhile.
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                socket.bind(&any.into()).unwrap();
                let port = socket.local_addr().unwrap().as_socket().unwrap().port();
                FaultServer { port, received, stop, threads: Vec::new(), _held: vec![socket] }
            }
            Fault::SynBlackhole => {
                let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                listener.bind(&any.into()).unwrap();
                listener.listen(0).unwrap();
                let addr = listener.local_addr().unwrap();
                let mut held = vec![listener];
                // Fill the accept queue until a connect goes unanswered.
                for _ in 0..16 {
                    let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                    match c.connect_timeout(&addr, Duration::from_millis(200)) {
                        Ok(()) => held.push(c),
                        Err(_) => break,
                    }
                }
                let port = addr.as_socket().unwrap().port();
                FaultServer { port, received, stop, threads: Vec::new(), _held: held }
            }
            _ => {
                let listener = TcpListener::bind(any).unwrap();
                let port = listener.local_addr().unwrap().port();
                let (stop2, received2) = (stop.clone(), received.clone());
                let accepted = Arc::new(AtomicUsize::new(0));
                let acceptor = thread::spawn(move || {
                    let mut conns = Vec::new();
                    // Blocking accepts (a connection per request is a case);
                    // `drop` connects once to end the loop.
                    while !stop2.load(Ordering::Relaxed) {
                        let Ok((stream, _)) = listener.accept() else { continue };
                        if stop2.load(Ordering::Relaxed) {
                            break;
                        }
                        let index = accepted.fetch_add(1, Ordering::Relaxed);
                        let behaviour = if index < faulty { Some(fault) } else { None };
                        let (stop3, received3) = (stop2.clone(), received2.clone());
                        conns.push(thread::spawn(move || serve(stream, behaviour, &stop3, &received3)));
                    }
                    for c in conns {
                        let _ = c.join();
                    }
                });
                FaultServer { port, received, stop, threads: vec![acceptor], _held: Vec::new() }
            }
        }
    }

    /// Distinct events received.
    pub fn distinct(&self) -> usize {
        self.distinct_from(0)
    }

    /// Distinct events received whose `n` is `first` or more.
    pub fn distinct_from(&self, first: u64) -> usize {
        let mut seen: Vec<u64> = self.received.lock().unwrap().iter().copied().filter(|&n| n >= first).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// Waits until `count` distinct events were received, or `within` has
    /// passed (events written to the kernel can take a while to be read on
    /// a loaded machine); returns how many were.
    pub fn await_distinct(&self, count: u64, within: Duration) -> u64 {
        self.await_distinct_from(0, count, within)
    }

    /// [`Self::await_distinct`], counting only events whose `n` is `first`
    /// or more.
    pub fn await_distinct_from(&self, first: u64, count: u64, within: Duration) -> u64 {
        let started = Instant::now();
        while (self.distinct_from(first) as u64) < count && started.elapsed() < within {
            thread::sleep(Duration::from_millis(20));
        }
        self.distinct_from(first) as u64
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if !self.threads.is_empty() {
            let _ = TcpStream::connect(("127.0.0.1", self.port));
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Serves one connection with `fault`, or well (`None`).
fn serve(mut stream: TcpStream, fault: Option<Fault>, stop: &Arc<AtomicBool>, received: &Mutex<Vec<u64>>) {
    stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    let hold = |stream: TcpStream| {
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(5));
        }
        drop(stream);
    };
    if fault == Some(Fault::NeverRead) {
        return hold(stream);
    }
    if fault == Some(Fault::HalfClose) {
        let _ = stream.shutdown(Shutdown::Write);
    }
    if fault == Some(Fault::Flood) {
        let mut writer = stream.try_clone().unwrap();
        let stop = Arc::clone(stop);
        thread::spawn(move || {
            let nils = [0xc0u8; 64 * 1024];
            while !stop.load(Ordering::Relaxed) && writer.write_all(&nils).is_ok() {}
        });
    }
    let mut decoder = FrameDecoder::new(Limits::default());
    let mut buf = Vec::new();
    let mut total = 0usize;
    let mut read = [0u8; 8192];
    let mut slow_budget = Instant::now();
    let mut paused = false;
    while !stop.load(Ordering::Relaxed) {
        let want = match fault {
            Some(Fault::SlowRead) => {
                // About 1 KB a second, in 100-byte reads.
                if Instant::now() < slow_budget {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                }
                slow_budget = Instant::now() + Duration::from_millis(100);
                100
            }
            Some(Fault::BlackholeAfter(n) | Fault::ResetAfter(n)) => (n - total).min(read.len()),
            Some(Fault::PauseAfter(n, pause)) if !paused => {
                if total >= n {
                    thread::sleep(pause);
                    paused = true;
                    continue;
                }
                (n - total).min(read.len())
            }
            _ => read.len(),
        };
        match stream.read(&mut read[..want]) {
            Ok(0) => return,
            Ok(n) => {
                total += n;
                buf.extend_from_slice(&read[..n]);
            }
            Err(_) => continue,
        }
        match fault {
            Some(Fault::BlackholeAfter(n)) if total >= n => return hold(stream),
            Some(Fault::ResetAfter(n)) if total >= n => {
                let socket = socket2::SockRef::from(&stream);
                let _ = socket.set_linger(Some(Duration::ZERO));
                return;
            }
            _ => {}
        }
        while let Ok(Decoded::Frame { frame, consumed }) = decoder.decode(&buf) {
            let mut reply = Vec::new();
            if let Frame::Request(r) = frame {
                for e in r.events().flatten() {
                    if let Ok(Some(fluent_proto::Value::UInt(n))) = e.record.get("n") {
                        received.lock().unwrap().push(n);
                    }
                }
                if let Some(chunk) = r.options().chunk {
                    match fault {
                        Some(Fault::NeverAck | Fault::HalfClose) => {}
                        Some(Fault::WrongChunk) => drop(encode_ack(&mut reply, "not-your-chunk")),
                        _ => drop(encode_ack(&mut reply, chunk)),
                    }
                }
            }
            buf.drain(..consumed);
            if !reply.is_empty() {
                let _ = stream.write_all(&reply);
            }
            if fault == Some(Fault::CloseAfterEachAck) {
                return;
            }
            if let Some(Fault::SlowCloseAfterEachAck(delay)) = fault {
                thread::sleep(delay);
                return;
            }
            if fault == Some(Fault::ResetAfterEachRequest) {
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                return;
            }
        }
    }
}
