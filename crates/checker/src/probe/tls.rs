//! The TLS client of SSL_GET (and genhash `-S`): rustls with TLS 1.2 and 1.3 only.
//!
//! rustls implements neither TLS 1.0/1.1 nor SSLv3, so a real server that speaks only those
//! fails SSL_GET here where keepalived (OpenSSL) may still pass: this is deliberate.
//!
//! As in keepalived, the server's certificate is **not verified** by default ([`TlsVerify::None`]):
//! any certificate, any name, any date is accepted; the handshake's signatures are still checked,
//! so the server must hold the key of the certificate it shows. [`TlsVerify::Roots`] verifies
//! the chain and the name against the given trust anchors.
//!
//! A [`rustls::ClientConfig`] is built once per check (see [`client_config`]), never per attempt.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default)]
pub enum TlsVerify {
    /// Not verified (keepalived's behaviour).
    #[default]
    None,
    /// Verified against these trust anchors, with the SNI name (or the address) as the name.
    Roots(Arc<RootCertStore>),
}

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// rustls refused the protocol versions or the verifier.
    #[error("TLS client configuration")]
    Rustls(#[from] rustls::Error),
    /// A name meant for SNI is not a valid DNS name.
    #[error("invalid SNI name {0:?}")]
    BadSniName(String),
}

/// Accepts any certificate; checks the handshake signatures with the provider's algorithms.
#[derive(Debug)]
struct NoVerify(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerify {
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

/// A client configuration: TLS 1.2 and 1.3, no ALPN (HTTP/1 only), no client certificate,
/// SNI sent only when `enable_sni`.
pub fn client_config(
    verify: &TlsVerify,
    enable_sni: bool,
) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algs = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let mut config = match verify {
        TlsVerify::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(algs)))
            .with_no_client_auth(),
        TlsVerify::Roots(roots) => builder
            .with_root_certificates(Arc::clone(roots))
            .with_no_client_auth(),
    };
    config.enable_sni = enable_sni;
    Ok(Arc::new(config))
}

/// The name given to rustls: `sni` when set (it must be a DNS name), else the address (rustls
/// sends no SNI for an address).
pub fn server_name(
    sni: Option<&str>,
    addr: std::net::IpAddr,
) -> Result<ServerName<'static>, TlsConfigError> {
    match sni {
        Some(name) => ServerName::try_from(name.to_owned())
            .map_err(|_| TlsConfigError::BadSniName(name.to_owned())),
        None => Ok(ServerName::IpAddress(addr.into())),
    }
}
