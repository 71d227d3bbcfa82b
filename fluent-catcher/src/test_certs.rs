//! [`TestCertificates`]: a throwaway CA with a server and a client
//! certificate, for testing TLS senders against [`crate::TestCatcher`].

use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A CA made on the spot, a server certificate it signed for `localhost`
/// and `127.0.0.1`, and a client certificate for mutual TLS; all PEM.
/// For tests only: the keys live in memory and in files you choose.
///
/// ```
/// let certs = fluent_catcher::TestCertificates::generate()?;
/// assert!(certs.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// let tls = certs.server_tls()?;
/// assert!(!tls.requires_client_certs());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TestCertificates {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

/// Paths of the files [`TestCertificates::write_to`] wrote.
#[derive(Debug, Clone)]
pub struct TestCertificateFiles {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server's certificate chain.
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// The client's certificate chain.
    pub client_cert: PathBuf,
    /// The client's private key.
    pub client_key: PathBuf,
}

impl TestCertificates {
    /// Makes a new CA and signs the two certificates with it.
    ///
    /// ```
    /// let a = fluent_catcher::TestCertificates::generate()?;
    /// let b = fluent_catcher::TestCertificates::generate()?;
    /// assert_ne!(a.ca_pem(), b.ca_pem());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// Key generation or signing failed.
    pub fn generate() -> io::Result<Self> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: another test CA must not pass for this one.
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag).map_err(io::Error::other)?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        ca.distinguished_name.push(DnType::CommonName, format!("fluent-catcher test CA {tag}"));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(failed)?).map_err(failed)?;
        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose, cn: &str| -> io::Result<(String, String)> {
            let mut params = CertificateParams::new(names).map_err(failed)?;
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().map_err(failed)?;
            let cert = params.signed_by(&key, &ca).map_err(failed)?;
            Ok((cert.pem(), key.serialize_pem()))
        };
        let (server_cert, server_key) =
            leaf(vec!["localhost".into(), "127.0.0.1".into()], ExtendedKeyUsagePurpose::ServerAuth, "localhost")?;
        let (client_cert, client_key) =
            leaf(vec!["fluent-client".into()], ExtendedKeyUsagePurpose::ClientAuth, "fluent-client")?;
        Ok(TestCertificates { ca: ca.pem(), server_cert, server_key, client_cert, client_key })
    }

    /// The CA certificate: what a sender must trust.
    ///
    /// ```
    /// # let certs = fluent_catcher::TestCertificates::generate()?;
    /// let tls = fluent_std::TlsConfig::builder().ca_pem(certs.ca_pem()).build();
    /// assert!(tls.is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ca_pem(&self) -> &str {
        &self.ca
    }

    /// The server's certificate.
    ///
    /// ```
    /// # let certs = fluent_catcher::TestCertificates::generate()?;
    /// assert!(certs.server_cert_pem().contains("CERTIFICATE"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert
    }

    /// The server's private key.
    ///
    /// ```
    /// # let certs = fluent_catcher::TestCertificates::generate()?;
    /// assert!(certs.server_key_pem().contains("PRIVATE KEY"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn server_key_pem(&self) -> &str {
        &self.server_key
    }

    /// The client's certificate, for mutual TLS.
    ///
    /// ```
    /// # let certs = fluent_catcher::TestCertificates::generate()?;
    /// assert!(certs.client_cert_pem().contains("CERTIFICATE"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert
    }

    /// The client's private key.
    ///
    /// ```
    /// # let certs = fluent_catcher::TestCertificates::generate()?;
    /// assert!(certs.client_key_pem().contains("PRIVATE KEY"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn client_key_pem(&self) -> &str {
        &self.client_key
    }

    /// The server side: this certificate and key, no client certificates
    /// required.
    ///
    /// ```
    /// let tls = fluent_catcher::TestCertificates::generate()?.server_tls()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// rustls refused the certificate (not expected).
    pub fn server_tls(&self) -> io::Result<crate::TlsServerConfig> {
        crate::TlsServerConfig::from_pem(&self.server_cert, &self.server_key)
    }

    /// Writes the five PEM files into `dir` (`ca.pem`, `server.pem`,
    /// `server.key`, `client.pem`, `client.key`), for tools that take paths.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("test-certs-doc-{}", std::process::id()));
    /// let files = fluent_catcher::TestCertificates::generate()?.write_to(&dir)?;
    /// assert!(files.ca.exists());
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// The directory or a file could not be written.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> io::Result<TestCertificateFiles> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let write = |name: &str, pem: &str| -> io::Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, pem)?;
            Ok(path)
        };
        Ok(TestCertificateFiles {
            ca: write("ca.pem", &self.ca)?,
            server_cert: write("server.pem", &self.server_cert)?,
            server_key: write("server.key", &self.server_key)?,
            client_cert: write("client.pem", &self.client_cert)?,
            client_key: write("client.key", &self.client_key)?,
        })
    }
}

fn failed(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("generating test certificates: {e}"))
}
