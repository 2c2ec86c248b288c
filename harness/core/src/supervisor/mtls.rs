//! AutoMTLS (SPEC §8.6), which Mattermost does not use and the reference host
//! only does when [`super::HostConfig::auto_mtls`] asks for it.
//!
//! As go-plugin does: each side makes a one-off self-signed certificate (a CA certificate
//! for `localhost`, usable for client and server authentication); the host passes its own
//! PEM in `PLUGIN_CLIENT_CERT`, the plugin answers with its DER in base64 without padding
//! in handshake field 6, and each side trusts exactly the other's certificate. webpki
//! refuses a CA certificate used as an end-entity certificate, so the verifiers here pin
//! the peer's exact DER and only check the handshake signatures with it.
//!
//! The fake interpreter's `auto-mtls` mode uses the same pieces for the plugin side.
//!
//! Keys are ECDSA P-256 (go-plugin uses P-521, which rustls's ring provider does not
//! verify: a go-plugin plugin's own AutoMTLS certificate cannot be checked by this host).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};

pub use super::connect::SERVER_NAME;
use crate::handshake::Address;

/// The variable that carries the host's certificate (PEM) to the plugin.
pub const CLIENT_CERT_ENV: &str = "PLUGIN_CLIENT_CERT";

/// Why AutoMTLS could not be set up. Each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MtlsError {
    #[error("could not make a one-off certificate: {0}")]
    Generate(String),
    #[error(
        "PLUGIN_CLIENT_CERT does not hold a PEM certificate ({0}); the host must pass its certificate as \
         PEM (-----BEGIN CERTIFICATE-----)"
    )]
    ClientPem(String),
    #[error(
        "the server certificate in handshake field 6 is not usable: {0}. Print the DER certificate the plugin \
         serves TLS with, in base64 without padding (Go's base64.RawStdEncoding)"
    )]
    ServerCert(String),
    #[error("the TLS configuration was refused: {0}")]
    Config(String),
}

/// The crypto provider both sides use (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A one-off certificate and its key, made like go-plugin's `generateCert`: self-signed
/// CA, CN and DNS name `localhost`, O `HashiCorp`, key usages digital signature, key
/// encipherment, key agreement and certificate signing, extended key usages client and
/// server authentication.
pub struct Identity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cert_len", &self.cert.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    pub fn generate() -> Result<Self, MtlsError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let err = |e: rcgen::Error| MtlsError::Generate(e.to_string());
        let key = KeyPair::generate().map_err(err)?;
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_string()]).map_err(err)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(Self {
            pem: cert.pem(),
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The certificate as PEM, what the host puts in `PLUGIN_CLIENT_CERT`.
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// The certificate as DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate as handshake field 6: base64 without padding of the DER.
    pub fn handshake_field(&self) -> String {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.cert.as_ref())
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }
}

/// Decodes handshake field 6 (base64 without padding; padded input is accepted too).
pub fn decode_handshake_field(field: &str) -> Result<CertificateDer<'static>, MtlsError> {
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(field.trim_end_matches('='))
        .map_err(|e| MtlsError::ServerCert(format!("not base64 without padding: {e}")))?;
    if der.first() != Some(&0x30) {
        return Err(MtlsError::ServerCert(
            "the decoded bytes are not a DER certificate".into(),
        ));
    }
    Ok(CertificateDer::from(der))
}

/// Reads the host's certificate from the PEM of `PLUGIN_CLIENT_CERT`.
pub fn parse_client_pem(pem: &str) -> Result<CertificateDer<'static>, MtlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| MtlsError::ClientPem(e.to_string()))
}

fn algorithms(provider: &CryptoProvider) -> WebPkiSupportedAlgorithms {
    provider.signature_verification_algorithms
}

fn pinned_check(
    presented: &CertificateDer<'_>,
    pinned: &CertificateDer<'_>,
) -> Result<(), rustls::Error> {
    if presented.as_ref() == pinned.as_ref() {
        Ok(())
    } else {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::ApplicationVerificationFailure,
        ))
    }
}

/// Trusts exactly one server certificate (the one of handshake field 6).
#[derive(Debug)]
struct PinnedServer {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        pinned_check(end_entity, &self.cert).map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Requires a client certificate and trusts exactly one (the one of `PLUGIN_CLIENT_CERT`).
#[derive(Debug)]
struct PinnedClient {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        pinned_check(end_entity, &self.cert).map(|()| ClientCertVerified::assertion())
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn config_error(e: rustls::Error) -> MtlsError {
    MtlsError::Config(e.to_string())
}

/// The host's TLS configuration: trusts only `server_cert`, presents `identity` (None: no
/// client certificate, which a conforming plugin refuses), TLS 1.2 or 1.3, ALPN `h2`
/// (grpc-go servers require it).
pub fn client_config(
    server_cert: CertificateDer<'static>,
    identity: Option<&Identity>,
) -> Result<Arc<ClientConfig>, MtlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedServer {
        cert: server_cert,
        algorithms: algorithms(&provider),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.cert.clone()], id.key())
            .map_err(config_error)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The plugin's TLS configuration: serves `identity`; with `client_cert`, requires a
/// client certificate and accepts exactly that one (without, no client authentication).
pub fn server_config(
    identity: &Identity,
    client_cert: Option<CertificateDer<'static>>,
) -> Result<Arc<ServerConfig>, MtlsError> {
    let provider = provider();
    let algorithms = algorithms(&provider);
    let builder = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = match client_cert {
        Some(cert) => {
            builder.with_client_cert_verifier(Arc::new(PinnedClient { cert, algorithms }))
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(vec![identity.cert.clone()], identity.key())
        .map_err(config_error)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// How a client other than the host reaches a plugin, for cases that check what a plugin
/// accepts.
#[derive(Debug, Clone, Copy)]
pub enum Client<'a> {
    /// HTTP/2 in the clear.
    Plain,
    /// TLS trusting only the certificate of handshake field `server_cert_field`, presenting
    /// `identity` (None: no client certificate).
    Tls {
        server_cert_field: &'a str,
        identity: Option<&'a Identity>,
    },
}

/// One `grpc.health.v1.Health/Check("plugin")` at `address` as `client`, everything bounded
/// by `timeout`. The address is not checked for loopback: callers pass what a plugin they
/// started announced. `Err` says why no answer came (connection, TLS or call failure).
pub async fn health_check_as(
    address: &Address,
    client: Client<'_>,
    timeout: Duration,
) -> Result<(), String> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let target = match address {
        Address::Tcp { host, port } => {
            let host = if host.is_empty() { "127.0.0.1" } else { host };
            let resolved = tokio::time::timeout(timeout, tokio::net::lookup_host((host, *port)))
                .await
                .map_err(|_| format!("{host} did not resolve within {timeout:?}"))?
                .map_err(|e| e.to_string())?
                .next()
                .ok_or_else(|| format!("{host} resolves to no address"))?;
            super::connect::Target::Tcp(resolved)
        }
        Address::Unix(path) => super::connect::Target::Unix(path.into()),
    };
    let tls = match client {
        Client::Plain => None,
        Client::Tls {
            server_cert_field,
            identity,
        } => {
            let cert = decode_handshake_field(server_cert_field).map_err(|e| e.to_string())?;
            Some(client_config(cert, identity).map_err(|e| e.to_string())?)
        }
    };
    let channel = super::connect::dial(&target, tls, timeout).await?;
    let request = HealthCheckRequest {
        service: "plugin".into(),
    };
    match tokio::time::timeout(timeout, HealthClient::new(channel).check(request)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(status)) => Err(format!("{:?}: {}", status.code(), status.message())),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::connect::server_name;

    #[test]
    fn identity_round_trips_through_pem_and_the_handshake_field() {
        let id = Identity::generate().unwrap();
        assert!(id.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(&parse_client_pem(id.cert_pem()).unwrap(), id.cert_der());
        let field = id.handshake_field();
        assert!(!field.ends_with('='), "no padding: {field}");
        assert!(field.len() > crate::handshake::CERT_FIELD_MIN_LEN);
        assert_eq!(&decode_handshake_field(&field).unwrap(), id.cert_der());
        let other = Identity::generate().unwrap();
        assert_ne!(other.cert_der(), id.cert_der(), "each identity is fresh");
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert!(matches!(
            decode_handshake_field("!!!"),
            Err(MtlsError::ServerCert(_))
        ));
        assert!(matches!(
            decode_handshake_field("aGVsbG8gd29ybGQ"),
            Err(MtlsError::ServerCert(_))
        ));
        assert!(matches!(
            parse_client_pem("not pem"),
            Err(MtlsError::ClientPem(_))
        ));
    }

    #[test]
    fn pinning_accepts_only_the_exact_certificate() {
        let a = Identity::generate().unwrap();
        let b = Identity::generate().unwrap();
        assert!(pinned_check(a.cert_der(), a.cert_der()).is_ok());
        assert!(pinned_check(b.cert_der(), a.cert_der()).is_err());
    }

    /// Both configurations against each other in memory: the pinned pair completes a
    /// handshake; a client with another certificate or none is refused by the server.
    #[tokio::test]
    async fn mutual_tls_needs_exactly_the_pinned_certificates() {
        let host = Identity::generate().unwrap();
        let plugin = Identity::generate().unwrap();
        let stranger = Identity::generate().unwrap();
        let server = server_config(&plugin, Some(host.cert_der().clone())).unwrap();
        let attempt = |client: Option<&Identity>| {
            let client = client_config(plugin.cert_der().clone(), client).unwrap();
            let server = server.clone();
            async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let (a, b) = tokio::io::duplex(64 * 1024);
                let accept = async move {
                    let mut tls = tokio_rustls::TlsAcceptor::from(server).accept(b).await?;
                    tls.write_all(b"ok").await?;
                    tls.flush().await?;
                    Ok::<_, std::io::Error>(())
                };
                let connect = async move {
                    let mut tls = tokio_rustls::TlsConnector::from(client)
                        .connect(server_name(), a)
                        .await?;
                    let mut buf = [0u8; 2];
                    tls.read_exact(&mut buf).await?;
                    Ok::<_, std::io::Error>(buf)
                };
                let (served, read) = tokio::time::timeout(
                    Duration::from_secs(10),
                    futures::future::join(accept, connect),
                )
                .await
                .expect("the handshake ends within 10 s");
                served.and(read)
            }
        };
        assert_eq!(attempt(Some(&host)).await.unwrap(), *b"ok");
        assert!(attempt(Some(&stranger)).await.is_err());
        assert!(attempt(None).await.is_err());
    }
}
