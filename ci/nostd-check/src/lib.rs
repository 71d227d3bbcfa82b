//! Exercises fluent-proto's allocation-free API from a `#![no_std]` staticlib
//! so that every generic path is instantiated and compiled for a target
//! without std.
#![no_std]

use fluent_embedded::Clock as _;
use fluent_proto::{
    ChunkId, Decoded, EntriesFormat, EventTime, Frame, FrameDecoder, Limits, Options, SliceSink, Timestamp,
    encode_entry, encode_message, encode_packed_forward,
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[derive(serde::Serialize)]
struct Telemetry<'a> {
    sensor: &'a str,
    celsius: f32,
    seq: u32,
    ok: bool,
}

/// Encodes one telemetry event in Message mode into `out`; returns its length
/// or -1 when `out` is too small.
///
/// # Safety
/// `out` must point to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fluent_check_encode(out: *mut u8, len: usize) -> isize {
    // SAFETY: the caller promises `out` is valid for `len` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(out, len) };
    let mut sink = SliceSink::new(buf);
    let record = Telemetry { sensor: "t0", celsius: 21.5, seq: 7, ok: true };
    let time = Timestamp::Event(EventTime::new(1_700_000_000, 0));
    match encode_message(&mut sink, "fw.telemetry", time, &record, None) {
        Ok(n) => n as isize,
        Err(_) => -1,
    }
}

/// Builds a PackedForward request with a chunk id in a fixed buffer, decodes
/// it back, and returns the number of events found (or -1).
#[unsafe(no_mangle)]
pub extern "C" fn fluent_check_round_trip(seed: u8) -> isize {
    let mut entries = [0u8; 256];
    let mut sink = SliceSink::new(&mut entries);
    for seq in 0..3 {
        let record = Telemetry { sensor: "t0", celsius: 20.0, seq, ok: seq % 2 == 0 };
        if encode_entry(&mut sink, Timestamp::Seconds(u64::from(seq)), &record).is_err() {
            return -1;
        }
    }
    let entries = sink.written();
    let chunk = ChunkId::generate(|b| b.fill(seed));
    let options = Options { size: Some(3), chunk: Some(chunk.as_str()), compressed: None };
    let mut frame = [0u8; 512];
    let mut out = SliceSink::new(&mut frame);
    if encode_packed_forward(&mut out, "fw", entries, EntriesFormat::Bin, Some(&options)).is_err() {
        return -1;
    }
    let mut decoder = FrameDecoder::new(Limits::default());
    match decoder.decode(out.written()) {
        Ok(Decoded::Frame { frame: Frame::Request(r), .. }) => r.events().filter(Result::is_ok).count() as isize,
        _ => -1,
    }
}

static RING: fluent_queue::Ring<1024, 16> = fluent_queue::Ring::new(fluent_queue::Mode::Overwrite);

/// Encodes telemetry straight into a static fluent-queue ring (reserve,
/// serialize in place, commit), then drains it; returns the bytes drained.
#[unsafe(no_mangle)]
pub extern "C" fn fluent_check_queue() -> isize {
    let Some((mut producer, mut consumer)) = RING.try_split() else { return -1 };
    for seq in 0..40u32 {
        let Ok(mut grant) = producer.reserve(64) else { return -1 };
        let mut sink = SliceSink::new(grant.as_mut_slice());
        let record = Telemetry { sensor: "t0", celsius: 20.0, seq, ok: true };
        let Ok(n) = encode_entry(&mut sink, Timestamp::Seconds(u64::from(seq)), &record) else { return -1 };
        grant.commit(n);
    }
    let Some(batch) = consumer.read() else { return -1 };
    let (a, b) = batch.as_slices();
    let total = (a.len() + b.len()) as isize;
    batch.release();
    total
}

/// Computes a handshake digest; returns its first byte.
#[unsafe(no_mangle)]
pub extern "C" fn fluent_check_handshake() -> u8 {
    let digest = fluent_proto::handshake::shared_key_digest(b"salt", "fw", &[0; 16], b"key");
    digest.as_str().as_bytes().first().copied().unwrap_or(0)
}

static EMBEDDED_RING: fluent_queue::Ring<2048, 32> = fluent_queue::Ring::new(fluent_queue::Mode::Block);

/// A millisecond tick counter, as a timer interrupt would keep it.
static TICKS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

fn ticks() -> u64 {
    u64::from(TICKS.load(core::sync::atomic::Ordering::Relaxed))
}

static CLOCK: fluent_embedded::OffsetClock<fn() -> u64> = fluent_embedded::OffsetClock::new(ticks, 1_000);

/// The embedded sender end to end: a producer emitting into a static ring,
/// the pump writing PackedForward requests to a buffer through
/// `embedded_io::Write`; returns the bytes written (or -1).
#[unsafe(no_mangle)]
pub extern "C" fn fluent_check_embedded() -> isize {
    let Some((producer, consumer)) = EMBEDDED_RING.try_split() else { return -1 };
    CLOCK.set_unix_offset_ms(1_700_000_000_000);
    let mut producer = fluent_embedded::FluentProducer::new(producer, "fw", || CLOCK.now());
    let mut pump = fluent_embedded::Pump::new(consumer);
    for seq in 0..10u32 {
        let record = Telemetry { sensor: "t0", celsius: 20.0, seq, ok: true };
        if producer.emit("telemetry", &record).is_err() {
            return -1;
        }
    }
    let mut wire = [0u8; 1024];
    let mut transport: &mut [u8] = &mut wire;
    match pump.pump(&mut transport) {
        Ok(_) => (1024 - transport.len()) as isize,
        Err(_) => -1,
    }
}

static ISR_RING: fluent_embedded::Ring<1024, 16> = fluent_embedded::Ring::new(fluent_embedded::Mode::Overwrite);

type IsrProducer = fluent_embedded::FluentProducer<
    'static,
    &'static fluent_embedded::Ring<1024, 16>,
    &'static fluent_embedded::OffsetClock<fn() -> u64>,
>;

/// The producer shared with interrupt handlers, without unsafe code (the
/// critical-section implementation comes from the firmware's HAL at link
/// time).
static ISR_PRODUCER: fluent_embedded::SharedProducer<IsrProducer> = fluent_embedded::SharedProducer::new();

/// Start-up: installs the shared producer.
#[unsafe(no_mangle)]
pub extern "C" fn fluent_check_install() -> i32 {
    let Some((producer, _consumer)) = ISR_RING.try_split() else { return -1 };
    match ISR_PRODUCER.install(fluent_embedded::FluentProducer::new(producer, "isr", &CLOCK)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// An interrupt handler emitting through the shared producer.
#[unsafe(no_mangle)]
pub extern "C" fn fluent_check_isr(seq: u32) -> i32 {
    let record = Telemetry { sensor: "isr", celsius: 0.5, seq, ok: true };
    match ISR_PRODUCER.emit("tick", &record) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// A device's salt source for the handshake (its random number generator).
fn salt() -> [u8; 16] {
    let t = TICKS.load(core::sync::atomic::Ordering::Relaxed).to_le_bytes();
    [t[0], t[1], t[2], t[3], 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
}

/// The shared-key handshake, with no allocator: a link configured with it
/// (the connector and its transport would be the device's network stack).
pub fn fluent_check_security() -> fluent_embedded::Security<'static> {
    fluent_embedded::Security::new("shared key", "node7", salt).user("fluent", "secret")
}
