//! [`TlsConfig`]: TLS for the connection to the server (rustls, with the
//! `ring` provider).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// TLS settings for a sender: whom to trust, which name to check, and an
/// optional client certificate. Cheap to clone (the rustls configuration
/// is shared). Build it with [`TlsConfig::builder`] and give it to
/// [`SenderBuilder::tls`](crate::SenderBuilder::tls).
///
/// TLS applies to TCP endpoints; a `unix://` endpoint stays plain.
///
/// ```no_run
/// let tls = fluent_std::TlsConfig::builder().ca_file("/etc/fluent/ca.pem").build()?;
/// let sender = fluent_std::Sender::builder("app").host("aggregator.example").port(24224).tls(tls).build();
/// # Ok::<(), fluent_std::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) client: Arc<ClientConfig>,
    /// Checked against the certificate instead of the host (and sent as SNI
    /// when it is a name).
    pub(crate) server_name: Option<ServerName<'static>>,
    insecure: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// A builder: by default the system's root certificates are trusted and
    /// the certificate must name the host connected to.
    ///
    /// ```
    /// let builder = fluent_std::TlsConfig::builder().server_name("aggregator.internal");
    /// ```
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder::default()
    }

    /// Whether this configuration accepts any server certificate
    /// ([`TlsConfigBuilder::insecure_skip_verify`]).
    ///
    /// ```
    /// let tls = fluent_std::TlsConfig::builder().insecure_skip_verify().build().unwrap();
    /// assert!(tls.skips_verification());
    /// ```
    pub fn skips_verification(&self) -> bool {
        self.insecure
    }

    /// The name checked against the server's certificate: the override, or
    /// the host.
    pub(crate) fn name_for(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_owned())
            .map_err(|_| TlsError(format!("{host:?} is not a valid TLS server name; set one with server_name")))
    }
}

/// The options of a [`TlsConfig`].
#[derive(Debug, Default, Clone)]
pub struct TlsConfigBuilder {
    ca_files: Vec<PathBuf>,
    ca_pem: Vec<Vec<u8>>,
    client_cert: Option<(PathBuf, PathBuf)>,
    server_name: Option<String>,
    insecure: bool,
}

impl TlsConfigBuilder {
    /// Trusts the CA certificates in this PEM file instead of the system's
    /// roots (Fluentd's `tls_cert_path`). Repeatable.
    ///
    /// ```
    /// let _ = fluent_std::TlsConfig::builder().ca_file("ca.pem");
    /// ```
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_files.push(path.as_ref().to_owned());
        self
    }

    /// Trusts the CA certificates in these PEM bytes instead of the system's
    /// roots (for example a test server's own CA). Repeatable.
    ///
    /// ```
    /// let err = fluent_std::TlsConfig::builder().ca_pem("not a certificate").build().unwrap_err();
    /// assert!(err.to_string().contains("no certificate"));
    /// ```
    pub fn ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.ca_pem.push(pem.as_ref().to_owned());
        self
    }

    /// A client certificate chain and its private key (PEM files), for a
    /// server that requires mutual TLS.
    ///
    /// ```
    /// let _ = fluent_std::TlsConfig::builder().client_cert_files("client.pem", "client.key");
    /// ```
    pub fn client_cert_files(mut self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Self {
        self.client_cert = Some((cert.as_ref().to_owned(), key.as_ref().to_owned()));
        self
    }

    /// The name the server's certificate must carry, instead of the host
    /// connected to; sent as SNI. For connecting by address to a server
    /// whose certificate names it by name.
    ///
    /// ```
    /// let _ = fluent_std::TlsConfig::builder().server_name("aggregator.internal");
    /// ```
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// **Insecure**: accepts any server certificate, so anyone on the path
    /// can read and alter the logs (the shared-key handshake still proves the
    /// server knows the key). The traffic is encrypted but the server is not
    /// authenticated. For trying a setup out only; use
    /// [`ca_file`](Self::ca_file) for a private CA.
    ///
    /// ```
    /// let tls = fluent_std::TlsConfig::builder().insecure_skip_verify().build().unwrap();
    /// assert!(tls.skips_verification());
    /// ```
    pub fn insecure_skip_verify(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Reads the files and builds the configuration (TLS 1.2 and 1.3).
    ///
    /// ```
    /// let err = fluent_std::TlsConfig::builder().ca_file("/nonexistent/ca.pem").build().unwrap_err();
    /// assert!(err.to_string().contains("/nonexistent/ca.pem"));
    /// ```
    pub fn build(self) -> Result<TlsConfig, TlsError> {
        // *ring*: it builds with a C compiler alone, in seconds, for every
        // target Rust supports (aws-lc-rs, rustls's default, needs much
        // longer and more tooling). rustls deprecates it for lacking the
        // post-quantum key exchange, which Forward aggregators do not require.
        #[allow(deprecated)]
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?;
        let builder = if self.insecure {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                provider.signature_verification_algorithms,
            )))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let mut client = match &self.client_cert {
            Some((cert, key)) => {
                let chain = read_certs(cert)?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| TlsError(format!("reading the private key {}: {e}", key.display())))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| TlsError(format!("client certificate: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        // SNI is sent for names only (never for an address).
        client.enable_sni = true;
        let server_name = match self.server_name {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|_| TlsError(format!("{name:?} is not a valid server name")))?,
            ),
            None => None,
        };
        Ok(TlsConfig { client: Arc::new(client), server_name, insecure: self.insecure })
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        if self.ca_files.is_empty() && self.ca_pem.is_empty() {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                let why = found.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
                return Err(TlsError(format!("no usable root certificate in the system's store{why}; give a CA file")));
            }
            return Ok(roots);
        }
        for path in &self.ca_files {
            for cert in read_certs(path)? {
                roots.add(cert).map_err(|e| TlsError(format!("CA certificate in {}: {e}", path.display())))?;
            }
        }
        for pem in &self.ca_pem {
            let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError(format!("CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(TlsError("no certificate in the CA PEM".into()));
            }
            for cert in certs {
                roots.add(cert).map_err(|e| TlsError(format!("CA certificate: {e}")))?;
            }
        }
        Ok(roots)
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| TlsError(format!("reading {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

/// Why a [`TlsConfig`] could not be built: a file that cannot be read or
/// holds no usable certificate or key, or an invalid server name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS configuration: {}", self.0)
    }
}

impl std::error::Error for TlsError {}

/// The verifier behind `insecure_skip_verify`: any certificate, but the
/// handshake's signatures are still checked (so the session key is the
/// peer's).
#[derive(Debug)]
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
