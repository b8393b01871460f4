//! The one HTTP client every provider request goes through.
//!
//! reqwest follows ten redirects and has no timeout by default, and the oauth2 crate reads
//! bodies without a limit. A hostile or broken provider could then bounce requests (with
//! credentials) to internal addresses, hang logins forever, or exhaust memory. So: redirects are
//! never followed, every request has a total deadline (the provider's `timeout`), and bodies
//! are read in chunks and refused past a cap.

use crate::error::{Endpoint, Error, HttpErrorKind};
use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::time::Duration;

/// The cap on protocol responses (token, discovery, JWKS, userinfo): far above any real one.
pub(crate) const PROTOCOL_BODY_LIMIT: usize = 1 << 20;
/// The default cap on API responses.
pub(crate) const API_BODY_LIMIT: usize = 16 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const USER_AGENT: &str = concat!("oauth-clients/", env!("CARGO_PKG_VERSION"));

#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
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
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Http {
    pub fn new() -> Result<Http, String> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map(|client| Http { client })
            .map_err(|e| e.to_string())
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` and reads the whole answer within `timeout`, refusing bodies over
    /// `limit` bytes. A 3xx answer is an error, except from an API, whose caller gets it as is
    /// (still not followed: the bearer token must not go where the redirect points).
    pub async fn send(
        &self,
        provider: &'static str,
        endpoint: Endpoint,
        request: reqwest::RequestBuilder,
        timeout: Duration,
        limit: usize,
    ) -> Result<Response, Error> {
        let fail = |kind| Error::Http {
            provider,
            endpoint,
            kind,
        };
        let exchange = async {
            let mut response = request.send().await.map_err(|e| fail(classify(e)))?;
            if let Some(length) = response.content_length() {
                if length > limit as u64 {
                    return Err(fail(HttpErrorKind::TooLarge { limit }));
                }
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| fail(classify(e)))? {
                if body.len() + chunk.len() > limit {
                    return Err(fail(HttpErrorKind::TooLarge { limit }));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status: response.status(),
                headers: std::mem::take(response.headers_mut()),
                body: body.freeze(),
            })
        };
        let started = std::time::Instant::now();
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(fail(HttpErrorKind::Timeout(timeout))),
            Ok(Ok(response)) if endpoint != Endpoint::Api && response.status.is_redirection() => {
                Err(fail(HttpErrorKind::Redirect {
                    status: response.status.as_u16(),
                }))
            }
            Ok(outcome) => outcome,
        };
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

/// reqwest errors without their URL (it could carry parameters) and in our terms.
fn classify(error: reqwest::Error) -> HttpErrorKind {
    let error = error.without_url();
    if error.is_timeout() {
        HttpErrorKind::Other("timed out".into())
    } else if error.is_connect() {
        HttpErrorKind::Connect(source_chain(&error))
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
