//! The one HTTP path every provider request takes: discovery, JWKS, token, userinfo, logout and
//! API calls alike.
//!
//! Requests go through reqwest, the HTTP client the rest of the Rust ecosystem configures, so
//! what users already know (roots, proxies, client certificates, pools, DNS) applies here. Some
//! things are not theirs to change, because a hostile or broken provider could abuse them:
//! - redirects are never followed (a provider could bounce a request, with its credentials, to
//!   an internal address), and a 3xx from a protocol endpoint is an error;
//! - every request has a total deadline (the provider's `timeout`), kept outside reqwest, and
//!   connection set-up (TCP, a proxy's tunnel, TLS) has its own;
//! - bodies are read in chunks and refused past a cap (a declared length over it is refused
//!   before anything is read);
//! - TLS is always verified, with rustls (ring) and the roots chosen on the registry builder;
//! - nothing is retried (a token request sent twice could redeem a code twice).
//!
//! [`HttpSettings`] gathers the user's choices and builds one reqwest client from them: first
//! the library's defaults, then the user's own builder closure, then the invariants above once
//! more, so no closure can turn them off. A provider with a client certificate (RFC 8705 mTLS;
//! a certificate belongs to one client registration) gets a client of its own.

use crate::error::{Endpoint, Error, HttpErrorKind};
use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The cap on protocol responses (token, discovery, JWKS, userinfo): far above any real one.
pub(crate) const PROTOCOL_BODY_LIMIT: usize = 1 << 20;
/// The default cap on API responses.
pub(crate) const API_BODY_LIMIT: usize = 16 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const USER_AGENT_VALUE: &str = concat!("oauth-clients/", env!("CARGO_PKG_VERSION"));

/// Which built-in root certificates TLS trusts, besides those added with
/// [`RegistryBuilder::add_root_certificates_pem`](crate::RegistryBuilder::add_root_certificates_pem).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRoots {
    /// Mozilla's root certificates, compiled in (the `webpki-roots` crate): the same on every
    /// machine, and what browsers trust.
    #[default]
    WebPki,
    /// The operating system's store, read once when the registry is built. On Linux and other
    /// Unix systems the environment variables `SSL_CERT_FILE` and `SSL_CERT_DIR` name it, as
    /// for OpenSSL; a company CA installed on the machine is trusted this way.
    Native,
    /// None: only the certificates added on the builder are trusted (a private CA, and no
    /// public one).
    OnlyAdded,
}

/// A function that adjusts the reqwest client builder.
pub(crate) type Customize =
    Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

/// A client certificate and its key, for mutual TLS.
pub(crate) struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// Reads a certificate chain (the client's certificate first) and its private key
    /// (PKCS #8, PKCS #1 or SEC1) from PEM.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<ClientIdentity, String> {
        let chain = certificates(chain, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| format!("the client certificate's key is not a PEM private key: {e}"))?;
        let identity = ClientIdentity { chain, key };
        // Made once here so a key that does not fit its certificate is reported at start-up.
        tls_config(webpki(), Some(&identity))?;
        Ok(identity)
    }
}

/// Every certificate in a PEM text; at least one.
pub(crate) fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let found = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the {what} PEM cannot be read: {e}"))?;
    if found.is_empty() {
        return Err(format!("the {what} PEM has no `CERTIFICATE` block"));
    }
    Ok(found)
}

/// Where requests go through a proxy.
#[derive(Clone, Default)]
enum Proxies {
    /// As the environment says (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), read
    /// by reqwest when the client is built.
    #[default]
    Environment,
    /// Never.
    Off,
    /// Every request through this proxy.
    All(Box<reqwest::Proxy>),
}

/// What the user chose for the registry's HTTP clients.
#[derive(Clone, Default)]
pub(crate) struct HttpSettings {
    pub roots: TlsRoots,
    pub added_roots: Vec<CertificateDer<'static>>,
    proxies: Proxies,
    pub customize: Option<Customize>,
    /// The connection set-up deadline, when not the default (tests).
    connect_timeout: Option<Duration>,
}

impl HttpSettings {
    /// Every request through `proxy` (`http://`, `https://`), whatever the environment says.
    pub fn proxy(&mut self, proxy: &str) -> Result<(), String> {
        let proxy = reqwest::Proxy::all(proxy).map_err(|e| {
            format!(
                "the proxy URL is not valid: {}",
                source_chain(&e.without_url())
            )
        })?;
        self.proxies = Proxies::All(Box::new(proxy));
        Ok(())
    }

    /// No proxy, whatever the environment says.
    pub fn no_proxy(&mut self) {
        self.proxies = Proxies::Off;
    }

    /// The root store: the built-in roots chosen, and the added ones.
    pub fn root_store(&self) -> Result<rustls::RootCertStore, String> {
        let mut roots = match self.roots {
            TlsRoots::WebPki => webpki(),
            TlsRoots::Native => native_roots()?,
            TlsRoots::OnlyAdded => rustls::RootCertStore::empty(),
        };
        for certificate in &self.added_roots {
            roots
                .add(certificate.clone())
                .map_err(|e| format!("an added root certificate cannot be used: {e}"))?;
        }
        if roots.is_empty() {
            return Err("no root certificate is trusted: add one, or choose built-in roots".into());
        }
        Ok(roots)
    }

    /// A client trusting `roots`, presenting `identity` when there is one.
    pub fn client(
        &self,
        roots: rustls::RootCertStore,
        identity: Option<&ClientIdentity>,
    ) -> Result<Http, String> {
        let tls = tls_config(roots, identity)?;
        // The library's defaults, which the user's closure may change.
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT_VALUE)
            .connect_timeout(self.connect_timeout.unwrap_or(CONNECT_TIMEOUT))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true);
        builder = match &self.proxies {
            Proxies::Environment => builder,
            Proxies::Off => builder.no_proxy(),
            Proxies::All(proxy) => builder.proxy(reqwest::Proxy::clone(proxy)),
        };
        if let Some(customize) = &self.customize {
            builder = customize(builder);
        }
        // The invariants, whatever the closure did. A preconfigured rustls configuration
        // replaces every TLS setting reqwest's builder has (its `danger_*` switches, roots,
        // identities, versions), so verification stays on, with the chosen roots.
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .danger_accept_invalid_certs(false)
            .danger_accept_invalid_hostnames(false)
            .use_preconfigured_tls(tls)
            .build()
            .map_err(|e| source_chain(&e))?;
        Ok(Http { client })
    }
}

fn webpki() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The operating system's roots. Certificates the store holds but rustls cannot parse are
/// skipped (some stores carry odd old ones); a store with none usable is an error.
fn native_roots() -> Result<rustls::RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = match found.errors.first() {
            Some(error) => format!(": {error}"),
            None => String::new(),
        };
        return Err(format!(
            "the operating system's root certificates could not be read{why}"
        ));
    }
    Ok(roots)
}

/// rustls with ring, `roots`, TLS 1.2 and 1.3, ALPN `http/1.1`, and the client certificate
/// when there is one.
fn tls_config(
    roots: rustls::RootCertStore,
    identity: Option<&ClientIdentity>,
) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => builder
            .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|e| format!("the client certificate cannot be used: {e}"))?,
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A reqwest client that applies the rules of this module. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").finish_non_exhaustive()
    }
}

/// A request to a provider, built by the flows and the API client, sent by [`Http::send`].
/// Building never fails: an invalid header value is remembered and reported by `send`.
/// Cloned to send it again (a DPoP nonce retry).
#[derive(Clone)]
pub(crate) struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
    invalid: Option<&'static str>,
}

impl std::fmt::Debug for Request {
    /// The body can hold the client secret, a code, a verifier or a token, the URL query
    /// parameters: neither is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Request {
    pub fn new(method: Method, url: Url) -> Request {
        Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            invalid: None,
        }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn get(url: Url) -> Request {
        Request::new(Method::GET, url)
    }

    pub fn post(url: Url) -> Request {
        Request::new(Method::POST, url)
    }

    /// Adds a header whose value is known to be valid.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Request {
        self.headers.append(name, value);
        self
    }

    /// Adds a header from text that may not be a valid header value (a configured user
    /// agent, a token); `sensitive` keeps it out of debug output.
    pub fn header_text(mut self, name: HeaderName, value: &str, sensitive: bool) -> Request {
        match HeaderValue::try_from(value) {
            Ok(mut value) => {
                value.set_sensitive(sensitive);
                self.headers.append(name, value);
            }
            Err(_) => {
                self.invalid.get_or_insert(if sensitive {
                    "a credential is not a valid header value"
                } else {
                    "a header value is not valid"
                });
            }
        }
        self
    }

    /// Adds the caller's headers.
    pub fn headers(mut self, headers: &HeaderMap) -> Request {
        for (name, value) in headers {
            self.headers.append(name, value.clone());
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Request {
        self.header_text(
            http::header::AUTHORIZATION,
            &format!("Bearer {token}"),
            true,
        )
    }

    /// Appends query parameters to the URL.
    #[cfg(test)]
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Request {
        if !pairs.is_empty() {
            self.url.query_pairs_mut().extend_pairs(pairs);
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Request {
        // Room for every pair with a third of its bytes escaped, so the body is rarely grown.
        let raw: usize = pairs
            .iter()
            .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2)
            .sum();
        let body = url::form_urlencoded::Serializer::new(String::with_capacity(raw + raw / 3 * 2))
            .extend_pairs(pairs)
            .finish();
        self.body(body.into(), "application/x-www-form-urlencoded")
    }

    /// A body with its content type.
    pub fn body(mut self, body: Bytes, content_type: &str) -> Request {
        self.headers.remove(http::header::CONTENT_TYPE);
        self.body = body;
        self.header_text(http::header::CONTENT_TYPE, content_type, false)
    }
}

/// A response read in full.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Http {
    /// Sends `request` and reads the whole answer within `timeout`, refusing bodies over
    /// `limit` bytes. A 3xx answer is an error, except from an API, whose caller gets it as is
    /// (still not followed: the bearer token must not go where the redirect points).
    pub async fn send(
        &self,
        provider: &'static str,
        endpoint: Endpoint,
        request: Request,
        timeout: Duration,
        limit: usize,
    ) -> Result<Response, Error> {
        let fail = |kind| Error::Http {
            provider,
            endpoint,
            kind,
        };
        if let Some(problem) = request.invalid {
            return Err(fail(HttpErrorKind::Other(problem.into())));
        }
        let mut outgoing = reqwest::Request::new(request.method, request.url);
        *outgoing.headers_mut() = request.headers;
        if !request.body.is_empty() {
            *outgoing.body_mut() = Some(request.body.into());
        }

        let started = std::time::Instant::now();
        let exchange = async { read(self.client.execute(outgoing).await, limit).await };
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(HttpErrorKind::Timeout(timeout)),
            Ok(Ok(response)) if endpoint != Endpoint::Api && response.status.is_redirection() => {
                Err(HttpErrorKind::Redirect {
                    status: response.status.as_u16(),
                })
            }
            Ok(outcome) => outcome,
        }
        .map_err(fail);
        // Never the URL, headers or body: they can carry codes and tokens.
        match &outcome {
            Ok(response) => tracing::debug!(
                provider,
                %endpoint,
                status = response.status.as_u16(),
                bytes = response.body.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "provider answered"
            ),
            Err(error) => tracing::warn!(provider, %endpoint, %error, "request to provider failed"),
        }
        outcome
    }
}

/// A body whose length is known (from `Content-Length`, or zero for an answer that cannot have
/// one, such as to HEAD) and over the cap is refused before any of it is read.
fn check_length(length: Option<u64>, limit: usize) -> Result<(), HttpErrorKind> {
    match length {
        Some(length) if length > limit as u64 => Err(HttpErrorKind::TooLarge { limit }),
        _ => Ok(()),
    }
}

/// Appends a chunk unless that takes the body over the cap.
fn append(body: &mut BytesMut, chunk: &[u8], limit: usize) -> Result<(), HttpErrorKind> {
    if body.len() + chunk.len() > limit {
        return Err(HttpErrorKind::TooLarge { limit });
    }
    body.extend_from_slice(chunk);
    Ok(())
}

async fn read(
    response: Result<reqwest::Response, reqwest::Error>,
    limit: usize,
) -> Result<Response, HttpErrorKind> {
    let mut response = response.map_err(classify)?;
    check_length(response.content_length(), limit)?;
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        append(&mut body, &chunk, limit)?;
    }
    Ok(Response {
        status: response.status(),
        headers: std::mem::take(response.headers_mut()),
        body: body.freeze(),
    })
}

/// reqwest errors without their URL (it could carry parameters) and in our terms.
fn classify(error: reqwest::Error) -> HttpErrorKind {
    let error = error.without_url();
    if error.is_connect() {
        HttpErrorKind::Connect(source_chain(&error))
    } else if error.is_timeout() {
        HttpErrorKind::Other("timed out".into())
    } else {
        HttpErrorKind::Other(source_chain(&error))
    }
}

fn source_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{ACCEPT, USER_AGENT};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server that answers one request with `answer` and hands back the request it got.
    async fn serve_once(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let read = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length || read == 0 {
                        break;
                    }
                }
            }
            socket.write_all(answer.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
            String::from_utf8(request).unwrap()
        });
        (base, task)
    }

    /// Never a proxy, whatever the environment says.
    fn no_proxy() -> HttpSettings {
        let mut settings = HttpSettings::default();
        settings.no_proxy();
        settings
    }

    fn direct() -> Http {
        no_proxy().client(webpki(), None).unwrap()
    }

    /// Every request through `proxy`.
    fn through(proxy: &str) -> HttpSettings {
        let mut settings = HttpSettings::default();
        settings.proxy(proxy).unwrap();
        settings
    }

    async fn send(http: &Http, endpoint: Endpoint, request: Request) -> Result<Response, Error> {
        http.send("p", endpoint, request, Duration::from_secs(5), 64)
            .await
    }

    fn url(base: &str, path: &str) -> Url {
        Url::parse(&format!("{base}{path}")).unwrap()
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"a\":\"b c\"}";

    #[tokio::test]
    async fn direct_request_is_sent_as_built() {
        let http = direct();
        let (base, server) = serve_once(OK).await;
        let request = Request::post(url(&base, "/token?x=1"))
            .query(&[("y", "a b")])
            .bearer("tok")
            .form(&[("grant_type", "authorization_code"), ("code", "a&b=c d")]);
        let response = send(&http, Endpoint::Token, request).await.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.content_type(), "application/json");
        assert_eq!(&response.body[..], br#"{"a":"b c"}"#);

        let seen = server.await.unwrap().to_ascii_lowercase();
        assert!(
            seen.starts_with("post /token?x=1&y=a+b http/1.1\r\n"),
            "{seen}"
        );
        assert!(seen.contains("\r\nauthorization: bearer tok\r\n"), "{seen}");
        assert!(
            seen.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"),
            "{seen}"
        );
        assert!(
            seen.contains(&format!(
                "\r\nuser-agent: {}\r\n",
                USER_AGENT_VALUE.to_ascii_lowercase()
            )),
            "{seen}"
        );
        assert!(seen.contains("\r\naccept: */*\r\n"), "{seen}");
        assert!(
            seen.ends_with("\r\n\r\ngrant_type=authorization_code&code=a%26b%3dc+d"),
            "{seen}"
        );
    }

    #[tokio::test]
    async fn proxied_request_goes_through_the_proxy() {
        // The "proxy" answers itself: what matters is that the request reached it, in the
        // absolute form a forward proxy gets.
        let (proxy, server) = serve_once(OK).await;
        let http = through(&proxy).client(webpki(), None).unwrap();
        let request = Request::get(Url::parse("http://provider.invalid/jwks").unwrap())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header_text(USER_AGENT, "my-app/1", false);
        let response = send(&http, Endpoint::Jwks, request).await.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(&response.body[..], br#"{"a":"b c"}"#);

        let seen = server.await.unwrap().to_ascii_lowercase();
        assert!(
            seen.starts_with("get http://provider.invalid/jwks http/1.1\r\n"),
            "{seen}"
        );
        assert!(seen.contains("\r\naccept: application/json\r\n"), "{seen}");
        assert!(seen.contains("\r\nuser-agent: my-app/1\r\n"), "{seen}");
        assert!(!seen.contains("oauth-clients/"), "{seen}");
    }

    /// The body cap, redirect refusal and status pass-through hold with and without a proxy.
    #[tokio::test]
    async fn direct_and_proxied_requests_apply_the_same_rules() {
        const LONG_DECLARED: &str =
            "HTTP/1.1 200 OK\r\ncontent-length: 65\r\nconnection: close\r\n\r\n";
        const LONG_CHUNKED: &str = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n28\r\n0123456789012345678901234567890123456789\r\n28\r\n0123456789012345678901234567890123456789\r\n0\r\n\r\n";
        const REDIRECT: &str = "HTTP/1.1 302 Found\r\nlocation: http://10.0.0.1/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        // The length of what a GET would get: no body follows, so nothing is over the cap.
        const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\nconnection: close\r\n\r\n";
        let too_large = || Err(HttpErrorKind::TooLarge { limit: 64 });
        for proxied in [false, true] {
            for (method, answer, endpoint, expected) in [
                (Method::GET, LONG_DECLARED, Endpoint::Token, too_large()),
                (Method::GET, LONG_CHUNKED, Endpoint::Token, too_large()),
                (
                    Method::GET,
                    REDIRECT,
                    Endpoint::Token,
                    Err(HttpErrorKind::Redirect { status: 302 }),
                ),
                (Method::GET, REDIRECT, Endpoint::Api, Ok(StatusCode::FOUND)),
                (Method::HEAD, HEAD, Endpoint::Api, Ok(StatusCode::OK)),
            ] {
                let (base, server) = serve_once(answer).await;
                let (http, target) = if proxied {
                    (
                        through(&base).client(webpki(), None).unwrap(),
                        "http://provider.invalid/x".to_string(),
                    )
                } else {
                    (direct(), format!("{base}/x"))
                };
                let request = Request::new(method.clone(), Url::parse(&target).unwrap());
                let outcome = send(&http, endpoint, request)
                    .await
                    .map(|r| r.status)
                    .map_err(|e| match e {
                        Error::Http { kind, .. } => kind,
                        other => panic!("{other:?}"),
                    });
                assert_eq!(outcome, expected, "proxied: {proxied}, answer: {answer:?}");
                drop(server);
            }
        }
    }

    #[tokio::test]
    async fn invalid_header_values_are_errors_not_panics() {
        let http = direct();
        let target = Url::parse("http://127.0.0.1:9/").unwrap();
        for (request, message) in [
            (
                Request::get(target.clone()).bearer("a\nb"),
                "a credential is not a valid header value",
            ),
            (
                Request::get(target.clone()).header_text(USER_AGENT, "x\r\ny: z", false),
                "a header value is not valid",
            ),
            (
                Request::post(target.clone()).body(Bytes::new(), "text/plain\n"),
                "a header value is not valid",
            ),
        ] {
            match send(&http, Endpoint::Api, request).await {
                Err(Error::Http {
                    kind: HttpErrorKind::Other(m),
                    ..
                }) => assert_eq!(m, message),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn refused_connections_are_connect_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let http = direct();
        match send(&http, Endpoint::Token, Request::get(url(&base, "/"))).await {
            Err(Error::Http {
                kind: HttpErrorKind::Connect(message),
                ..
            }) => {
                assert!(message.to_lowercase().contains("refused"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// An https server with a self-signed certificate for 127.0.0.1, answering `OK`.
    async fn tls_server() -> (String, tokio::task::JoinHandle<()>) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("testdata/self-signed.crt")).unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("testdata/self-signed.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                // A client that refuses the certificate ends the handshake: not an error here.
                if let Ok(mut stream) = acceptor.accept(socket).await {
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer).await;
                    let _ = stream.write_all(OK.as_bytes()).await;
                    let _ = stream.shutdown().await;
                }
            }
        });
        (base, task)
    }

    #[tokio::test]
    async fn tls_certificates_are_verified() {
        let (base, server) = tls_server().await;
        // Not in the webpki roots: refused before any request is sent.
        match send(&direct(), Endpoint::Token, Request::get(url(&base, "/"))).await {
            Err(Error::Http {
                kind: HttpErrorKind::Connect(message),
                ..
            }) => {
                assert!(message.contains("certificate"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // Trusted: the same server answers over TLS.
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                rustls::pki_types::CertificateDer::from_pem_slice(include_bytes!(
                    "testdata/self-signed.crt"
                ))
                .unwrap(),
            )
            .unwrap();
        let trusting = no_proxy().client(roots, None).unwrap();
        let response = send(&trusting, Endpoint::Token, Request::get(url(&base, "/")))
            .await
            .unwrap();
        assert_eq!(&response.body[..], br#"{"a":"b c"}"#);
        server.abort();
    }

    /// A server that accepts connections and then says nothing, not even a TLS handshake.
    async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (address, task)
    }

    /// The connection deadline covers the TLS handshake (and a proxy's tunnel), not only
    /// TCP, and both transports report it as a connect error, well before the total deadline.
    #[tokio::test]
    async fn connection_set_up_has_its_own_deadline() {
        let (address, server) = silent_server().await;
        let limit = Duration::from_millis(200);
        let mut direct = no_proxy();
        direct.connect_timeout = Some(limit);
        let mut proxied = through(&format!("http://{address}"));
        proxied.connect_timeout = Some(limit);
        let (direct, proxied) = (
            direct.client(webpki(), None).unwrap(),
            proxied.client(webpki(), None).unwrap(),
        );
        for (http, target) in [
            (direct, format!("https://{address}/")),
            (proxied, "https://provider.invalid/".to_string()),
        ] {
            let started = std::time::Instant::now();
            let request = Request::get(Url::parse(&target).unwrap());
            let outcome = http
                .send("p", Endpoint::Token, request, Duration::from_secs(10), 64)
                .await;
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{:?}",
                started.elapsed()
            );
            match outcome {
                Err(Error::Http {
                    kind: HttpErrorKind::Connect(_),
                    ..
                }) => {}
                other => panic!("{target}: {other:?}"),
            }
        }
        server.abort();
    }

    /// A closure that asks reqwest to follow redirects, retry, and accept any certificate
    /// changes none of it: the library's rules are applied after it.
    #[tokio::test]
    async fn a_user_builder_cannot_turn_off_the_rules() {
        let mut settings = no_proxy();
        settings.customize = Some(Arc::new(|builder: reqwest::ClientBuilder| {
            builder
                .redirect(reqwest::redirect::Policy::limited(10))
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true)
                .tls_built_in_root_certs(false)
        }));
        let http = settings.client(webpki(), None).unwrap();

        // A redirect to a second server, which must never see a connection.
        let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let answer: &'static str = Box::leak(
            format!(
                "HTTP/1.1 302 Found\r\nlocation: http://{}/stolen\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                target.local_addr().unwrap()
            )
            .into_boxed_str(),
        );
        for (endpoint, expected) in [
            (
                Endpoint::Token,
                Err(HttpErrorKind::Redirect { status: 302 }),
            ),
            (Endpoint::Api, Ok(StatusCode::FOUND)),
        ] {
            let (base, server) = serve_once(answer).await;
            let outcome = send(&http, endpoint, Request::get(url(&base, "/token")))
                .await
                .map(|r| r.status)
                .map_err(|e| match e {
                    Error::Http { kind, .. } => kind,
                    other => panic!("{other:?}"),
                });
            assert_eq!(outcome, expected);
            server.await.unwrap();
        }
        let followed = tokio::time::timeout(Duration::from_millis(300), target.accept()).await;
        assert!(followed.is_err(), "the redirect was followed");

        // A certificate no root vouches for is still refused.
        let (base, server) = tls_server().await;
        match send(&http, Endpoint::Token, Request::get(url(&base, "/"))).await {
            Err(Error::Http {
                kind: HttpErrorKind::Connect(message),
                ..
            }) => assert!(message.contains("certificate"), "{message}"),
            other => panic!("{other:?}"),
        }
        server.abort();
    }

    /// What the closure may change does change: here the user agent and a default header.
    #[tokio::test]
    async fn a_user_builder_changes_what_is_theirs() {
        let mut settings = no_proxy();
        settings.customize = Some(Arc::new(|builder: reqwest::ClientBuilder| {
            let mut headers = HeaderMap::new();
            headers.insert("x-tenant", HeaderValue::from_static("blue"));
            builder.user_agent("my-app/2").default_headers(headers)
        }));
        let http = settings.client(webpki(), None).unwrap();
        let (base, server) = serve_once(OK).await;
        send(&http, Endpoint::Jwks, Request::get(url(&base, "/jwks")))
            .await
            .unwrap();
        let seen = server.await.unwrap().to_ascii_lowercase();
        assert!(seen.contains("\r\nuser-agent: my-app/2\r\n"), "{seen}");
        assert!(seen.contains("\r\nx-tenant: blue\r\n"), "{seen}");
    }

    #[test]
    fn unreadable_certificates_and_keys_are_reported() {
        let cert = include_bytes!("testdata/self-signed.crt");
        let key = include_bytes!("testdata/self-signed.key");
        assert!(ClientIdentity::from_pem(cert, key).is_ok());
        let other_key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        for (chain, key, expected) in [
            (
                &b"nothing"[..],
                &key[..],
                "the client certificate PEM has no `CERTIFICATE` block",
            ),
            (
                &cert[..],
                &b"nothing"[..],
                "the client certificate's key is not a PEM private key",
            ),
            (
                &cert[..],
                other_key.as_bytes(),
                "the client certificate cannot be used",
            ),
        ] {
            match ClientIdentity::from_pem(chain, key) {
                Err(message) => assert!(message.starts_with(expected), "{message}"),
                Ok(_) => panic!("accepted: {expected}"),
            }
        }
        assert_eq!(
            certificates(
                b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
                "root certificate"
            )
            .unwrap_err()
            .split(':')
            .next(),
            Some("the root certificate PEM cannot be read")
        );
        let mut only_added = HttpSettings {
            roots: TlsRoots::OnlyAdded,
            ..HttpSettings::default()
        };
        assert_eq!(
            only_added.root_store().unwrap_err(),
            "no root certificate is trusted: add one, or choose built-in roots"
        );
        only_added.added_roots = certificates(cert, "root certificate").unwrap();
        assert_eq!(only_added.root_store().unwrap().len(), 1);
        assert!(HttpSettings::default()
            .proxy("not a url")
            .unwrap_err()
            .starts_with("the proxy URL is not valid"));
    }

    #[test]
    fn request_debug_shows_no_secrets() {
        let request = Request::post(Url::parse("https://idp.example/token?code=c0de").unwrap())
            .bearer("t0ken")
            .form(&[("client_secret", "s3cret")]);
        let shown = format!("{request:?}");
        assert!(shown.contains("idp.example"), "{shown}");
        for secret in ["c0de", "t0ken", "s3cret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
