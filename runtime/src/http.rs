//! The one HTTP client every provider request goes through.
//!
//! reqwest follows ten redirects and has no timeout by default, and the oauth2 crate reads
//! bodies without a limit. A hostile or broken provider could then bounce requests (with
//! credentials) to internal addresses, hang logins forever, or exhaust memory. So: redirects are
//! never followed, every request has a total deadline (the provider's `timeout`), and bodies
//! are read in chunks and refused past a cap.
//!
//! Requests go straight to hyper (the HTTP engine under reqwest), with one TLS configuration
//! (rustls with ring, the webpki roots, HTTP/1.1). reqwest's request layers (URL re-parsing,
//! redirect and retry bookkeeping, serde form encoding) took about a sixth of a login's client
//! CPU (BENCHMARKS.md), and none of them is wanted here. A request that the
//! environment's proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, read
//! once, the same way reqwest reads them) send through a proxy goes through reqwest instead,
//! with the same TLS configuration, so proxies work as they do with reqwest.

use crate::error::{Endpoint, Error, HttpErrorKind};
use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The cap on protocol responses (token, discovery, JWKS, userinfo): far above any real one.
pub(crate) const PROTOCOL_BODY_LIMIT: usize = 1 << 20;
/// The default cap on API responses.
pub(crate) const API_BODY_LIMIT: usize = 16 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections are closed after this long (reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP keep-alive probes (reqwest's defaults): a provider that vanished is noticed.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_RETRIES: u32 = 3;
pub(crate) const USER_AGENT_VALUE: &str = concat!("oauth-clients/", env!("CARGO_PKG_VERSION"));

type Direct = hyper_util::client::legacy::Client<
    Deadline<hyper_rustls::HttpsConnector<HttpConnector>>,
    Full<Bytes>,
>;

#[derive(Clone)]
pub(crate) struct Http {
    direct: Direct,
    /// Which destinations the environment sends through a proxy.
    proxies: Arc<Matcher>,
    /// The client for those: reqwest, configured from the same environment.
    proxied: reqwest::Client,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").finish_non_exhaustive()
    }
}

/// Where the proxy settings come from.
enum Proxies {
    /// The environment, as reqwest reads it.
    System,
    /// Every request through this proxy (tests).
    #[cfg(test)]
    All(String),
    /// No proxy, whatever the environment says (tests).
    #[cfg(test)]
    None,
}

/// A request to a provider, built by the flows and the API client, sent by [`Http::send`].
/// Building never fails: an invalid header value is remembered and reported by `send`.
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

/// rustls with ring, `roots`, TLS 1.2 and 1.3, ALPN `http/1.1`: for both transports.
fn tls_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector whose whole connection set-up (TCP and TLS) must finish within `limit`, as
/// reqwest bounds it; the TCP connector's own timeout only covers the TCP part.
#[derive(Clone)]
struct Deadline<C> {
    inner: C,
    limit: Duration,
}

impl<C> tower_service::Service<http::Uri> for Deadline<C>
where
    C: tower_service::Service<http::Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: http::Uri) -> Self::Future {
        let (connecting, limit) = (self.inner.call(destination), self.limit);
        Box::pin(async move {
            match tokio::time::timeout(limit, connecting).await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(format!("no connection within {} ms", limit.as_millis()).into()),
            }
        })
    }
}

impl Http {
    /// The client: the webpki roots, the environment's proxy settings.
    pub fn new() -> Result<Http, String> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Http::build(Proxies::System, roots, CONNECT_TIMEOUT)
    }

    fn build(
        proxies: Proxies,
        roots: rustls::RootCertStore,
        connect_timeout: Duration,
    ) -> Result<Http, String> {
        let tls = Arc::new(tls_config(roots)?);

        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_keepalive(Some(TCP_KEEPALIVE));
        connector.set_keepalive_interval(Some(TCP_KEEPALIVE));
        connector.set_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
        // https, or plain http (loopback providers in development and tests).
        let connector = Deadline {
            inner: hyper_rustls::HttpsConnector::from((connector, tls.clone())),
            limit: connect_timeout,
        };
        let direct =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .build(connector);

        let proxied = reqwest::Client::builder()
            .use_preconfigured_tls(Arc::unwrap_or_clone(tls))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .user_agent(USER_AGENT_VALUE);
        let (proxied, matcher) = match proxies {
            // reqwest reads the environment with this same matcher.
            Proxies::System => (proxied, Matcher::from_system()),
            #[cfg(test)]
            Proxies::All(proxy) => (
                proxied
                    .no_proxy()
                    .proxy(reqwest::Proxy::all(&proxy).map_err(|e| e.to_string())?),
                Matcher::builder().all(proxy).build(),
            ),
            #[cfg(test)]
            Proxies::None => (proxied.no_proxy(), Matcher::builder().build()),
        };
        Ok(Http {
            direct,
            proxies: Arc::new(matcher),
            proxied: proxied.build().map_err(|e| e.to_string())?,
        })
    }

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
        // Never the URL itself in an error: it can carry parameters.
        let uri = http::Uri::try_from(&request.url[..url::Position::AfterQuery]).map_err(|_| {
            fail(HttpErrorKind::Other(
                "the URL is not a valid HTTP URI".into(),
            ))
        })?;
        let mut headers = request.headers;
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }

        let started = std::time::Instant::now();
        let exchange = async {
            if self.proxies.intercept(&uri).is_some() {
                let mut proxied = reqwest::Request::new(request.method, request.url);
                *proxied.headers_mut() = headers;
                *proxied.body_mut() = Some(request.body.into());
                let response = self.proxied.execute(proxied).await;
                read_reqwest(response, limit).await
            } else {
                let mut direct = http::Request::new(Full::new(request.body));
                *direct.method_mut() = request.method;
                *direct.uri_mut() = uri;
                *direct.headers_mut() = headers;
                let response = self.direct.request(direct).await;
                read_direct(response, limit).await
            }
        };
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

async fn read_direct(
    response: Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>,
    limit: usize,
) -> Result<Response, HttpErrorKind> {
    let response = response.map_err(|error| {
        let message = source_chain(&error);
        if error.is_connect() {
            HttpErrorKind::Connect(message)
        } else {
            HttpErrorKind::Other(message)
        }
    })?;
    let (parts, mut incoming) = response.into_parts();
    check_length(hyper::body::Body::size_hint(&incoming).exact(), limit)?;
    let mut body = BytesMut::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| HttpErrorKind::Other(source_chain(&e)))?;
        if let Some(chunk) = frame.data_ref() {
            append(&mut body, chunk, limit)?;
        }
    }
    Ok(Response {
        status: parts.status,
        headers: parts.headers,
        body: body.freeze(),
    })
}

async fn read_reqwest(
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

    fn webpki() -> rustls::RootCertStore {
        rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }
    }

    /// Never a proxy, whatever the environment says.
    fn direct() -> Http {
        Http::build(Proxies::None, webpki(), CONNECT_TIMEOUT).unwrap()
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
        let http = Http::build(Proxies::All(proxy), webpki(), CONNECT_TIMEOUT).unwrap();
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

    /// The body cap, redirect refusal and status pass-through hold on both transports.
    #[tokio::test]
    async fn both_transports_apply_the_same_rules() {
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
                        Http::build(Proxies::All(base), webpki(), CONNECT_TIMEOUT).unwrap(),
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
        let trusting = Http::build(Proxies::None, roots, CONNECT_TIMEOUT).unwrap();
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
        let direct = Http::build(Proxies::None, webpki(), limit).unwrap();
        let proxied =
            Http::build(Proxies::All(format!("http://{address}")), webpki(), limit).unwrap();
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
