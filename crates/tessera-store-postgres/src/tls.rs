//! TLS to PostgreSQL, with libpq's `sslmode` (and `sslrootcert`) in the database URL:
//!
//! | sslmode | encrypted | the server's certificate |
//! | --- | --- | --- |
//! | `disable` | never | - |
//! | no `sslmode`, every host loopback | never | - |
//! | `prefer` (default otherwise) | when the server offers it | not checked |
//! | `require` | always | not checked, unless `sslrootcert` is given (then as `verify-ca`) |
//! | `verify-ca` | always | signed by `sslrootcert` |
//! | `verify-full` | always | signed by `sslrootcert` and naming the host connected to |
//!
//! As in libpq, only `verify-full` protects against an attacker who can redirect the
//! connection; `require` only against one who listens. Unlike libpq, a URL without `sslmode`
//! whose hosts are all loopback (`localhost`, `127.0.0.0/8`, `::1`) is not encrypted: nobody
//! but the machine's own administrator can listen there, who can read the node's memory
//! anyway, and TLS cost such a deployment a quarter of its PostgreSQL throughput
//! (BENCHMARKS.md). `sslmode=prefer` written out keeps libpq's behaviour.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "disable" => Ok(Self::Disable),
            "allow" | "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(format!(
                "sslmode {other:?}: expected disable, prefer, require, verify-ca or verify-full"
            )),
        }
    }
}

/// The TLS part of a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of `url` (the driver knows neither `verify-*` nor
/// `sslrootcert`); returns the rest of the URL and the TLS settings.
pub fn split_url(url: &str) -> Result<(String, TlsSettings), String> {
    let mut settings = TlsSettings {
        mode: SslMode::Prefer,
        root_cert: None,
    };
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut given = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => {
                settings.mode = SslMode::parse(v)?;
                given = true;
            }
            Some(("sslrootcert", v)) => {
                let path = tessera_core::form::decode(v.as_bytes())
                    .map_err(|_| "sslrootcert is not a valid path".to_owned())?;
                settings.root_cert = Some(PathBuf::from(path));
            }
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    if !given && only_loopback(&rest) {
        settings.mode = SslMode::Disable;
    }
    Ok((rest, settings))
}

/// Whether every host of a URL is this machine's loopback (a URL that does not parse is not:
/// its error is the caller's to report).
fn only_loopback(url: &str) -> bool {
    use tokio_postgres::config::Host;
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return false;
    };
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|h| match h {
            Host::Tcp(name) => {
                name.eq_ignore_ascii_case("localhost")
                    || name
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            // TLS is never used over a Unix socket.
            Host::Unix(_) => true,
        })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate, as libpq's `prefer` and `require` do, while still checking that
/// the server holds the key of the certificate it showed (the handshake signatures).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the root, whatever name the certificate carries.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The connector for `settings`; `None` for `disable`.
pub fn connector(
    settings: &TlsSettings,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, String> {
    let provider = provider();
    let verify = match (settings.mode, &settings.root_cert) {
        (SslMode::Disable, _) => return Ok(None),
        (SslMode::Prefer | SslMode::Require, None) => None,
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(
                "sslmode=verify-ca and verify-full need sslrootcert=PATH (the CA certificate, PEM)"
                    .into(),
            );
        }
        (_, Some(path)) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            Some(verifier)
        }
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (settings.mode, verify) {
        (SslMode::VerifyFull, Some(v)) => v,
        (_, Some(v)) => Arc::new(ChainOnly(v)),
        (_, None) => Arc::new(Unverified(provider.clone())),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

/// The driver's own mode for `settings`: only `prefer` falls back to plain text.
pub fn driver_mode(settings: &TlsSettings) -> tokio_postgres::config::SslMode {
    match settings.mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    }
}

/// Why [`connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL or its TLS settings.
    #[error("{0}")]
    Settings(String),
    #[error("cannot connect")]
    Connect(#[source] tokio_postgres::Error),
}

/// Connects one client as the store's pool connects (the URL's `sslmode` and `sslrootcert`),
/// for what reads a database directly: `tessera import-dot`'s source, and tests.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, ConnectError> {
    let (rest, settings) = split_url(url).map_err(ConnectError::Settings)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e| ConnectError::Settings(format!("invalid database URL: {e}")))?;
    config.ssl_mode(driver_mode(&settings));
    let client = match connector(&settings).map_err(ConnectError::Settings)? {
        Some(tls) => {
            let (client, conn) = config.connect(tls).await.map_err(ConnectError::Connect)?;
            tokio::spawn(conn);
            client
        }
        None => {
            let (client, conn) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(ConnectError::Connect)?;
            tokio::spawn(conn);
            client
        }
    };
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_leave_the_url() {
        let (rest, s) = split_url(
            "postgres://u@db:5432/t?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&options=-c%20x%3D1",
        )
        .expect("valid");
        assert_eq!(rest, "postgres://u@db:5432/t?options=-c%20x%3D1");
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (rest, s) = split_url("postgres://u@db/t").expect("valid");
        assert_eq!(
            (rest.as_str(), s.mode),
            ("postgres://u@db/t", SslMode::Prefer)
        );
        // Loopback without an sslmode: plain text; with one, as written.
        for url in [
            "postgres://u@127.0.0.1:5432/t",
            "postgres://u@localhost/t",
            "postgres://u@[::1]:5432/t",
            "postgresql://u@127.0.0.2/t?application_name=x",
        ] {
            assert_eq!(
                split_url(url).expect("valid").1.mode,
                SslMode::Disable,
                "{url}"
            );
        }
        for (url, mode) in [
            ("postgres://u@127.0.0.1/t?sslmode=prefer", SslMode::Prefer),
            ("postgres://u@localhost/t?sslmode=require", SslMode::Require),
            ("postgres://u@localhost.example/t", SslMode::Prefer),
            ("postgres://u@128.0.0.1/t", SslMode::Prefer),
        ] {
            assert_eq!(split_url(url).expect("valid").1.mode, mode, "{url}");
        }
        assert!(split_url("postgres://u@db/t?sslmode=paranoid").is_err());
        assert!(
            connector(&TlsSettings {
                mode: SslMode::VerifyFull,
                root_cert: None
            })
            .is_err(),
            "verify-full without a root is refused, not silently unverified"
        );
    }
}
