//! [`TlsServerConfig`]: the certificate a TLS listener presents, and the
//! client certificates it may require (rustls, with the `ring` provider).

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

/// A TLS listener's settings: its certificate chain and key, and
/// optionally the CA that client certificates must chain to (mutual TLS).
/// TLS 1.2 and 1.3. Cheap to clone.
///
/// ```no_run
/// let tls = fluent_catcher::TlsServerConfig::from_pem_files("server.pem", "server.key")?
///     .require_client_certs("clients-ca.pem")?;
/// let config = fluent_catcher::Config::default().tls_forward("0.0.0.0:24225".parse().unwrap(), tls);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsServerConfig {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    client_roots: Option<Arc<rustls::RootCertStore>>,
    pub(crate) server: Arc<ServerConfig>,
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("chain_len", &self.chain.len())
            .field("requires_client_certs", &self.client_roots.is_some())
            .finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// Reads the certificate chain (PEM, leaf first) and its private key
    /// (PEM: PKCS#8, PKCS#1 or SEC1).
    ///
    /// ```
    /// let err = fluent_catcher::TlsServerConfig::from_pem_files("/nonexistent.pem", "/nonexistent.key").unwrap_err();
    /// assert!(err.to_string().contains("/nonexistent.pem"));
    /// ```
    ///
    /// # Errors
    /// A file cannot be read, holds no certificate or key, or the key does
    /// not suit the certificate.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let chain = read_certs(cert.as_ref())?;
        let key = PrivateKeyDer::from_pem_file(key.as_ref())
            .map_err(|e| invalid(format!("reading the private key {}: {e}", key.as_ref().display())))?;
        Self::from_der(chain, key)
    }

    /// The same from PEM text (a test server's generated certificate).
    ///
    /// ```
    /// let err = fluent_catcher::TlsServerConfig::from_pem("no", "no").unwrap_err();
    /// assert!(err.to_string().contains("no certificate"));
    /// ```
    ///
    /// # Errors
    /// As [`TlsServerConfig::from_pem_files`].
    pub fn from_pem(cert: &str, key: &str) -> io::Result<Self> {
        let chain: Vec<_> = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(invalid("no certificate in the PEM text".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| invalid(format!("private key: {e}")))?;
        Self::from_der(chain, key)
    }

    fn from_der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> io::Result<Self> {
        let server = Arc::new(build(&chain, &key, None)?);
        Ok(TlsServerConfig { chain, key: Arc::new(key), client_roots: None, server })
    }

    /// Requires every client to present a certificate that chains to a CA
    /// in this PEM file (mutual TLS); a client without one is refused
    /// during the TLS handshake.
    ///
    /// ```no_run
    /// let tls = fluent_catcher::TlsServerConfig::from_pem_files("server.pem", "server.key")?.require_client_certs("ca.pem")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The file cannot be read or holds no usable CA certificate.
    pub fn require_client_certs(mut self, ca_file: impl AsRef<Path>) -> io::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(ca_file.as_ref())? {
            roots.add(cert).map_err(|e| invalid(format!("client CA in {}: {e}", ca_file.as_ref().display())))?;
        }
        let roots = Arc::new(roots);
        self.server = Arc::new(build(&self.chain, &self.key, Some(roots.clone()))?);
        self.client_roots = Some(roots);
        Ok(self)
    }

    /// Whether clients must present a certificate.
    ///
    /// ```no_run
    /// let tls = fluent_catcher::TlsServerConfig::from_pem_files("server.pem", "server.key")?;
    /// assert!(!tls.requires_client_certs());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn requires_client_certs(&self) -> bool {
        self.client_roots.is_some()
    }
}

/// *ring*: it builds with a C compiler alone, quickly, for every target
/// Rust supports (aws-lc-rs, rustls's default, takes far longer to build).
/// rustls deprecates it for lacking post-quantum key exchange, which
/// Forward clients do not require.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn build(
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    client_roots: Option<Arc<rustls::RootCertStore>>,
) -> io::Result<ServerConfig> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?;
    let builder = match client_roots {
        Some(roots) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| invalid(format!("client CA: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder.with_single_cert(chain.to_vec(), key.clone_key()).map_err(|e| invalid(format!("certificate and key: {e}")))
}

fn read_certs(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {message}"))
}
