//! The pump over `embedded_io_async` transports (`async` feature): the
//! same requests, release rules and error handling as the blocking pump.

use core::ops::Deref;

use embedded_io_async::{Read, Write};
use fluent_proto::ChunkId;
use fluent_queue::{ReadGrant, Storage};

use crate::error::PumpError;
use crate::frame;
use crate::pump::{Pump, Pumped};
use crate::request::{ACK_BUFFER, AckState, Framing, Run, ack_decoder, check_ack};

impl<R> Pump<R>
where
    R: Deref,
    R::Target: Storage,
{
    /// [`pump`](Pump::pump) over an async transport (embassy-net's
    /// `TcpSocket`, a tokio stream through `embedded-io-adapters`).
    ///
    /// ```
    /// # async fn demo<W: embedded_io_async::Write>(mut socket: W) {
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (_p, c) = RING.try_split().unwrap();
    /// let mut pump = fluent_embedded::Pump::new(c);
    /// if let Err(e) = pump.pump_async(&mut socket).await {
    ///     // reconnect, then pump.connection_reset()
    /// #   let _ = e;
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`pump`](Pump::pump).
    pub async fn pump_async<W: Write>(&mut self, transport: &mut W) -> Result<Pumped, PumpError<W::Error>> {
        self.drain(false, async |grant, tag, run, framing, _chunk| {
            write_request(transport, grant, tag, run, framing).await
        })
        .await
    }

    /// [`pump_acked`](Pump::pump_acked) over an async transport.
    ///
    /// ```
    /// # async fn demo<T: embedded_io_async::Read + embedded_io_async::Write>(mut socket: T) {
    /// # use fluent_queue::{Mode, Ring};
    /// # static RING: Ring<1024, 16> = Ring::new(Mode::Block);
    /// # let (_p, c) = RING.try_split().unwrap();
    /// let mut pump = fluent_embedded::Pump::new(c).chunk_seed(*b"dev-0042");
    /// let _ = pump.pump_acked_async(&mut socket).await;
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`pump_acked`](Pump::pump_acked).
    pub async fn pump_acked_async<T: Read + Write>(
        &mut self,
        transport: &mut T,
    ) -> Result<Pumped, PumpError<T::Error>> {
        self.drain(true, async |grant, tag, run, framing, chunk| {
            write_request(transport, grant, tag, run, framing).await?;
            match chunk {
                Some(chunk) => read_ack(transport, chunk).await,
                None => Ok(()),
            }
        })
        .await
    }
}

async fn write_request<W: Write, R>(
    w: &mut W,
    grant: &ReadGrant<'_, R>,
    tag: &str,
    run: &Run,
    framing: &Framing,
) -> Result<(), PumpError<W::Error>>
where
    R: Deref,
    R::Target: Storage,
{
    write_all(w, framing.head()).await?;
    write_all(w, tag.as_bytes()).await?;
    write_all(w, framing.bin()).await?;
    for i in 0..run.frames {
        if let Some((_, entry)) = frame::split(grant.frame(i)) {
            write_all(w, entry).await?;
        }
    }
    write_all(w, framing.options()).await?;
    w.flush().await.map_err(PumpError::Io)
}

/// [`crate::pump::write_all`] over an async transport.
pub(crate) async fn write_all<W: Write>(w: &mut W, mut bytes: &[u8]) -> Result<(), PumpError<W::Error>> {
    while !bytes.is_empty() {
        match w.write(bytes).await {
            Ok(0) => return Err(PumpError::WriteZero),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) => return Err(PumpError::Io(e)),
        }
    }
    Ok(())
}

/// Reads one msgpack value (the ack) and checks it names `chunk`.
async fn read_ack<T: Read>(t: &mut T, chunk: &ChunkId) -> Result<(), PumpError<T::Error>> {
    let mut buf = [0u8; ACK_BUFFER];
    let mut len = 0;
    let mut decoder = ack_decoder();
    loop {
        let Some(dst) = buf.get_mut(len..) else { return Err(PumpError::BadAck) };
        match t.read(dst).await {
            Ok(0) => return Err(PumpError::NoAck),
            Ok(n) => len += n,
            Err(e) => return Err(PumpError::Io(e)),
        }
        match check_ack(&mut decoder, buf.get(..len).unwrap_or_default(), chunk) {
            AckState::Incomplete => {}
            AckState::Matched => return Ok(()),
            AckState::Wrong => return Err(PumpError::BadAck),
        }
    }
}
