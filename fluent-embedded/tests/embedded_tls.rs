//! The pump over a no_std TLS 1.3 client, `embedded-tls` (as firmware
//! would use it, with no allocator), into the catcher's TLS listener: the
//! server's certificate is checked against the CA and its name, events go
//! out with acks, and a reconnect opens a new TLS session on the same
//! record buffers. A client that does not trust the CA sends nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CryptoProvider, NoClock, TlsConfig, TlsConnection, TlsContext, TlsError, TlsVerifier,
};
use fluent_catcher::{Config, TestCatcher, TestCertificates};
use fluent_embedded::{EventTime, FluentProducer, Mode, Pump, Ring};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// A crypto provider that checks the server's certificate chain against
/// one CA (DER). `NoClock`: a device without a real-time clock skips the
/// validity dates.
struct Verified<'a> {
    rng: rand_core::OsRng,
    verifier: CertVerifier<'a, Aes128GcmSha256, NoClock, 4096>,
}

impl CryptoProvider for Verified<'_> {
    type CipherSuite = Aes128GcmSha256;
    /// No client certificate, so nothing is signed.
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl rand_core::CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Aes128GcmSha256>, TlsError> {
        Ok(&mut self.verifier)
    }
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().to_vec()
}

/// Opens a TCP connection and a TLS session over it, on `buffers`.
async fn open<'b>(
    addr: std::net::SocketAddr,
    ca: &[u8],
    buffers: &'b mut ([u8; 16640], [u8; 4096]),
) -> Result<TlsConnection<'b, FromTokio<tokio::net::TcpStream>, Aes128GcmSha256>, TlsError> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (read, write) = buffers;
    let mut tls = TlsConnection::new(FromTokio::new(tcp), read, write);
    let config = TlsConfig::new().with_server_name("localhost");
    let provider = Verified { rng: rand_core::OsRng, verifier: CertVerifier::new(Certificate::X509(ca)) };
    tls.open(TlsContext::new(&config, provider)).await?;
    Ok(tls)
}

#[tokio::test]
async fn the_pump_delivers_over_embedded_tls_with_acks_and_reconnects() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let addr = catcher.tls_forward_addr().unwrap();
    let ca = der(certs.ca_pem());
    let ring: &'static Ring<16384, 128> = Box::leak(Box::new(Ring::new(Mode::Block)));
    let (producer, consumer) = ring.try_split().unwrap();
    let mut producer = FluentProducer::new(producer, "tls", || EventTime::new(1_700_000_000, 0));
    let mut pump = Pump::new(consumer).chunk_seed(*b"tls-0001").max_events_per_request(25);
    // The record buffers: one TLS record each way (static on a device).
    let mut buffers = Box::new(([0u8; 16640], [0u8; 4096]));
    for round in 0..2u32 {
        for n in 0..100u32 {
            producer.emit("reading", &BTreeMap::from([("round", round), ("n", n)])).unwrap();
        }
        let mut tls = open(addr, &ca, &mut buffers).await.expect("the catcher's certificate is trusted");
        pump.connection_reset();
        assert_eq!(pump.pump_acked_async(&mut tls).await.unwrap().events, 100);
        let _ = tls.close().await;
    }
    let events = catcher.wait_for_events_async(200, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 200);
    assert!(events.iter().all(|e| e.tag == "tls.reading"));
    assert_eq!(catcher.acks().len(), 8, "4 acked requests per connection");
    assert_eq!(pump.counters().connections, 2);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_sends_nothing() {
    let certs = TestCertificates::generate().unwrap();
    let catcher = TestCatcher::with_tls(Config::default(), &certs).unwrap();
    let other_ca = der(TestCertificates::generate().unwrap().ca_pem());
    let mut buffers = Box::new(([0u8; 16640], [0u8; 4096]));
    let refused = open(catcher.tls_forward_addr().unwrap(), &other_ca, &mut buffers).await;
    let error = refused.err().expect("refused");
    assert!(matches!(error, TlsError::InvalidCertificate | TlsError::InvalidSignature), "{error:?}");
    assert_eq!(catcher.stop().events_written, 0);
}
