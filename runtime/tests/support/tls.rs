// Shared by several test binaries; each uses part of it.
#![allow(dead_code)]

//! A private PKI made for each test run, and an https front for the local provider: what a
//! company's identity provider behind its own CA looks like to the library.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

/// A root CA, a server certificate for `127.0.0.1` and a client certificate, both issued by
/// that CA; everything in PEM.
pub struct Pki {
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key_pem: String,
    pub client_pem: String,
    pub client_key_pem: String,
}

impl Pki {
    pub fn new() -> Pki {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Example Corp Private Root CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let leaf = |names: Vec<String>, usage| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(names).unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, "oauth-clients test");
            params.extended_key_usages = vec![usage];
            let certificate = params.signed_by(&key, &ca).unwrap();
            (certificate.pem(), key.serialize_pem())
        };
        let (server_pem, server_key_pem) = leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key_pem) = leaf(
            vec!["client.example".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        Pki {
            ca_pem: ca.pem(),
            server_pem,
            server_key_pem,
            client_pem,
            client_key_pem,
        }
    }
}

/// Whether the front asks connecting clients for a certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Off,
    /// Asks, and goes on without one.
    Optional,
    /// Ends the handshake of a client without a certificate from the CA.
    Required,
}

/// An https server with the PKI's server certificate that passes every connection on to a
/// plain-http `target`, and notes for each handshake whether the client showed a certificate.
pub struct TlsFront {
    /// `https://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    presented: Arc<Mutex<Vec<bool>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(target: String, pki: &Pki, client_auth: ClientAuth) -> TlsFront {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_auth {
            ClientAuth::Off => builder.with_no_client_auth(),
            mode => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
                    .unwrap();
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                );
                let verifier = if mode == ClientAuth::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().unwrap())
            }
        };
        let config = builder
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(pki.server_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let presented = Arc::new(Mutex::new(Vec::new()));
        let seen = presented.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, target, seen) = (acceptor.clone(), target.clone(), seen.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate, or is refused, ends here.
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    seen.lock()
                        .unwrap()
                        .push(tls.get_ref().1.peer_certificates().is_some());
                    let mut upstream = TcpStream::connect(&target).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsFront {
            base,
            presented,
            task,
        }
    }

    /// For each completed handshake so far, whether the client showed a certificate.
    pub fn presented(&self) -> Vec<bool> {
        self.presented.lock().unwrap().clone()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
