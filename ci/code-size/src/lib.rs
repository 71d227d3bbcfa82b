//! A minimal fluent-embedded sender: a static ring, one emit, one pump.
//! Built twice by `ci/code_size.sh`, with and without the `sender`
//! feature, to measure the code the sender adds.
#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[cfg(feature = "sender")]
mod sender {
    use fluent_embedded::{EventTime, FluentProducer, Mode, Pump, Ring};

    #[derive(serde::Serialize)]
    struct Reading {
        seq: u32,
        millivolts: u16,
    }

    static RING: Ring<1024, 16> = Ring::new(Mode::Overwrite);
    static TICKS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

    fn now() -> EventTime {
        EventTime::new(TICKS.load(core::sync::atomic::Ordering::Relaxed), 0)
    }

    /// A UART that takes every byte (the transport is the firmware's).
    struct Uart;

    impl embedded_io::ErrorType for Uart {
        type Error = core::convert::Infallible;
    }

    impl embedded_io::Write for Uart {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            Ok(core::hint::black_box(buf).len())
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    /// Emits one reading and pumps the ring into the UART; the bytes
    /// written, or -1.
    #[unsafe(no_mangle)]
    pub extern "C" fn fluent_size_emit_and_pump(seq: u32) -> isize {
        let Some((producer, consumer)) = RING.try_split() else { return -1 };
        let mut producer = FluentProducer::new(producer, "node7", now);
        let mut pump = Pump::new(consumer);
        if producer.emit("reading", &Reading { seq, millivolts: 3300 }).is_err() {
            return -1;
        }
        match pump.pump(&mut Uart) {
            Ok(_) => pump.counters().bytes as isize,
            Err(_) => -1,
        }
    }
}

/// The same entry point, empty: the baseline.
#[cfg(not(feature = "sender"))]
#[unsafe(no_mangle)]
pub extern "C" fn fluent_size_emit_and_pump(seq: u32) -> isize {
    core::hint::black_box(seq) as isize
}
