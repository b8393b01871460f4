//! Calls to the provider's API with a token (Authlib's `oauth.github.get('user', token=...)`),
//! refreshing it first when it is about to expire.
//!
//! A request is a builder that is awaited directly:
//! `Providers::github().get("user", &token).await?`. Relative paths resolve against
//! `api_base_url`. The token goes in the `Authorization` header (or the form body, with
//! `token_placement: body`), never in the URL. When the call refreshed the token, the response
//! carries the new one ([`ApiResponse::new_token`]) after the token-update hooks have run.

use crate::context::Context;
use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::grant::refresh_after_401;
use crate::token::{OAuth1Token, Token};
use crate::TokenPlacement;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use url::Url;

/// An API request being prepared; `.await` sends it.
#[must_use = "an API request does nothing until awaited"]
pub struct ApiRequest<'a> {
    context: &'a Context,
    method: Method,
    path: String,
    auth: Auth<'a>,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Option<(Bytes, &'static str)>,
    form: Option<Vec<(String, String)>>,
    error: Option<Error>,
}

/// What authorizes an API request: an OAuth 2.0 bearer token, or OAuth 1.0a token credentials
/// that sign it.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Bearer(&'a Token),
    OAuth1(&'a OAuth1Token),
    /// The token stored for this user key.
    User(&'a str),
    /// The client's own token (client credentials grant), for this scope.
    Service(Option<&'a str>),
}

/// What one attempt sends: the credential an [`Auth`] resolved to.
#[derive(Clone, Copy)]
enum Credential<'a> {
    Bearer(&'a Token),
    OAuth1(&'a OAuth1Token),
}

/// The API's answer, read in full.
#[derive(Debug)]
pub struct ApiResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    new_token: Option<Token>,
}

impl ApiResponse {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Fails with [`Error::Http`] ([`HttpErrorKind::Status`]) unless the status is 2xx;
    /// `provider` names the provider in the error.
    pub fn error_for_status(self, provider: &'static str) -> Result<Self, Error> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(Error::Http {
                provider,
                endpoint: Endpoint::Api,
                kind: HttpErrorKind::Status {
                    status: self.status.as_u16(),
                },
            })
        }
    }

    /// The refreshed token, when this call refreshed it: store it in place of the old one
    /// (the token-update hooks have already seen it).
    pub fn new_token(&self) -> Option<&Token> {
        self.new_token.as_ref()
    }

    /// Takes the refreshed token out of the response; see [`new_token`](Self::new_token).
    pub fn take_new_token(&mut self) -> Option<Token> {
        self.new_token.take()
    }
}

impl<'a> ApiRequest<'a> {
    fn new(context: &'a Context, method: Method, path: &str, auth: Auth<'a>) -> Self {
        ApiRequest {
            context,
            method,
            path: path.to_string(),
            auth,
            headers: HeaderMap::new(),
            query: Vec::new(),
            body: None,
            form: None,
            error: None,
        }
    }

    /// Adds a header. An invalid name or value makes the request fail with
    /// [`Error::InvalidRequest`] when awaited.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.fail(format!("invalid header `{name}`")),
        }
        self
    }

    /// Adds query parameters, from anything that serializes to a map (a struct, a `HashMap`,
    /// `serde_json::json!({..})`) or to a list of pairs (`&[("tag", "a"), ("tag", "b")]`, which
    /// keeps order and repeated names); anything else makes the request fail with
    /// [`Error::InvalidRequest`] when awaited.
    pub fn query<T: serde::Serialize + ?Sized>(mut self, query: &T) -> Self {
        let text = |v: serde_json::Value| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        match serde_json::to_value(query) {
            Ok(serde_json::Value::Object(map)) => {
                for (k, v) in map {
                    self.query.push((k, text(v)));
                }
            }
            Ok(serde_json::Value::Array(pairs)) => {
                for pair in pairs {
                    match pair {
                        serde_json::Value::Array(pair) if pair.len() == 2 => {
                            let mut pair = pair.into_iter();
                            let (k, v) = (pair.next(), pair.next());
                            if let (Some(serde_json::Value::String(k)), Some(v)) = (k, v) {
                                self.query.push((k, text(v)));
                                continue;
                            }
                            self.fail("query parameter names must be strings".into());
                        }
                        _ => self.fail(
                            "query parameters must serialize to a map or to (name, value) pairs"
                                .into(),
                        ),
                    }
                }
            }
            _ => self
                .fail("query parameters must serialize to a map or to (name, value) pairs".into()),
        }
        self
    }

    /// Sends a JSON body. Refused for a provider with `token_placement: body` (or OAuth 1.0a
    /// `signature_type: body`).
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body = Some((bytes.into(), "application/json")),
            Err(e) => self.fail(format!("the JSON body does not serialize: {e}")),
        }
        self
    }

    /// Sends a form body. With `token_placement: body`, the access token is added to it; an
    /// OAuth 1.0a request's signature covers its parameters (RFC 5849 §3.4.1.3.1).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        self.form = Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    /// Sends raw bytes with a content type. Refused for a provider with
    /// `token_placement: body`.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &'static str) -> Self {
        self.body = Some((body.into(), content_type));
        self
    }

    fn fail(&mut self, message: String) {
        self.error.get_or_insert(Error::InvalidRequest {
            provider: self.context.name(),
            message,
        });
    }

    async fn send(self) -> Result<ApiResponse, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let context = self.context;
        let provider = context.name();
        let config = context.config()?;
        let mut url = resolve(provider, config.api_base_url.as_ref(), &self.path)?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        // (OAuth 1.0a providers have no `token_placement`: always the header here.)
        if config.token_placement == TokenPlacement::Body && self.body.is_some() {
            return Err(Error::InvalidRequest {
                provider,
                message: "`token_placement: body` puts the token in a form body, so the request cannot have another body".into(),
            });
        }
        let (mut token, mut refreshed, version) = match self.auth {
            // OAuth 1.0a: signed afresh per request; nothing to refresh.
            Auth::OAuth1(token) => {
                return self.attempt(config, &url, Credential::OAuth1(token)).await
            }
            Auth::User(user) if config.oauth1.is_some() => {
                let token = context.stored_oauth1_token(user).await?;
                return self.attempt(config, &url, Credential::OAuth1(&token)).await;
            }
            Auth::User(user) => {
                let (version, token, refreshed) = context.stored_usable_token(user).await?;
                (token, refreshed, Some((user, version)))
            }
            Auth::Bearer(token) => {
                let (token, refreshed) = context.usable_token(token).await?;
                (token, refreshed, None)
            }
            Auth::Service(scope) => (context.service_token(scope, None).await?, false, None),
        };
        loop {
            let response = self
                .attempt(config, &url, Credential::Bearer(&token))
                .await?;
            if let Auth::Service(scope) = self.auth {
                // The grant has no refresh token: a refused token is replaced by a new one,
                // once.
                if response.status == StatusCode::UNAUTHORIZED && !refreshed {
                    token = context
                        .service_token(scope, Some(&token.access_token))
                        .await?;
                    refreshed = true;
                    continue;
                }
                return Ok(response);
            }
            if refresh_after_401(&token, refreshed, response.status) {
                token = match version {
                    // The store's token: refreshed once across processes.
                    Some((user, seen)) => context.refresh_stored(user, seen).await?,
                    None => context.refresh(&token).await?,
                };
                refreshed = true;
                continue;
            }
            return Ok(ApiResponse {
                new_token: refreshed.then_some(token),
                ..response
            });
        }
    }

    async fn attempt(
        &self,
        config: &crate::ClientConfig,
        url: &Url,
        credential: Credential<'_>,
    ) -> Result<ApiResponse, Error> {
        let http = self.context.http(Endpoint::Api)?;
        let mut form = self.form.clone();
        let mut url = url.clone();
        let mut authorization = None;
        match credential {
            Credential::Bearer(token) => match config.token_placement {
                TokenPlacement::Header => {
                    authorization = Some(format!("Bearer {}", token.access_token));
                }
                TokenPlacement::Body => form
                    .get_or_insert_with(Vec::new)
                    .push(("access_token".into(), token.access_token.clone())),
            },
            Credential::OAuth1(token) => {
                let signed = self.context.oauth1_sign(
                    config,
                    &self.method,
                    url,
                    form,
                    self.body.is_some(),
                    Some((&token.oauth_token, &token.oauth_token_secret)),
                    &[],
                )?;
                url = signed.url;
                form = signed.form;
                authorization = signed.authorization;
            }
        }
        let mut request = self.context.with_user_agent(
            crate::http::Request::new(self.method.clone(), url).headers(&self.headers),
        );
        if let Some(authorization) = &authorization {
            request = request.header_text(http::header::AUTHORIZATION, authorization, true);
        }
        if let Some((name, value)) = Context::preset_api_header(config) {
            // Not `HeaderName::from_static`, which panics on upper case: the catalog spells the
            // name as the provider's documentation does (Twitch's `Client-Id`).
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::InvalidRequest {
                    provider: self.context.name(),
                    message: format!("the preset's header name `{name}` is not valid"),
                })?;
            request = request.header_text(name, value, false);
        }
        if let Some(form) = &form {
            request = request.form(form);
        } else if let Some((body, content_type)) = &self.body {
            request = request.body(body.clone(), content_type);
        }
        let response = http
            .send(
                self.context.name(),
                Endpoint::Api,
                request,
                config.timeout,
                crate::http::API_BODY_LIMIT,
            )
            .await?;
        Ok(ApiResponse {
            status: response.status,
            headers: response.headers,
            body: response.body,
            new_token: None,
        })
    }
}

impl<'a> IntoFuture for ApiRequest<'a> {
    type Output = Result<ApiResponse, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// `path` against the API base: relative paths join it (a leading `/` is relative too, so
/// `"/user"` and `"user"` mean the same); absolute URLs must be https (or loopback http).
fn resolve(provider: &'static str, base: Option<&Url>, path: &str) -> Result<Url, Error> {
    let invalid = |message: String| Error::InvalidRequest { provider, message };
    if path.starts_with("https://") || path.starts_with("http://") {
        // The rules of an endpoint URL (https or loopback, no credentials, no fragment): the
        // bearer token goes wherever this points.
        oauth_clients_spec::check_url(oauth_clients_spec::Key::UserinfoEndpoint, path)
            .map_err(|m| invalid(m.replace("`userinfo_endpoint`", "the API URL")))?;
        return Url::parse(path).map_err(|e| invalid(format!("invalid API URL: {e}")));
    }
    let base = base.ok_or_else(|| {
        invalid(format!(
            "`{path}` is relative but provider `{provider}` has no `api_base_url`"
        ))
    })?;
    base.join(path.trim_start_matches('/'))
        .map_err(|e| invalid(format!("invalid API path `{path}`: {e}")))
}

impl Context {
    /// The work of [`Client::get`](crate::Client::get).
    pub(crate) fn get<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        ApiRequest::new(self, Method::GET, path, Auth::Bearer(token))
    }

    /// The work of [`Client::post`](crate::Client::post).
    pub(crate) fn post<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        ApiRequest::new(self, Method::POST, path, Auth::Bearer(token))
    }

    /// The work of [`Client::put`](crate::Client::put).
    pub(crate) fn put<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        ApiRequest::new(self, Method::PUT, path, Auth::Bearer(token))
    }

    /// The work of [`Client::patch`](crate::Client::patch).
    pub(crate) fn patch<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        ApiRequest::new(self, Method::PATCH, path, Auth::Bearer(token))
    }

    /// The work of [`Client::delete`](crate::Client::delete).
    pub(crate) fn delete<'a>(&'a self, path: &str, token: &'a Token) -> ApiRequest<'a> {
        ApiRequest::new(self, Method::DELETE, path, Auth::Bearer(token))
    }

    /// The work of [`Client::request`](crate::Client::request).
    pub(crate) fn request<'a>(
        &'a self,
        method: Method,
        path: &str,
        token: &'a Token,
    ) -> ApiRequest<'a> {
        ApiRequest::new(self, method, path, Auth::Bearer(token))
    }
}

impl Context {
    /// The work of [`OAuth1Client::request`](crate::OAuth1Client::request) and its shorthands:
    /// a request signed with OAuth 1.0a token credentials.
    pub(crate) fn oauth1_request<'a>(
        &'a self,
        method: Method,
        path: &str,
        token: &'a OAuth1Token,
    ) -> ApiRequest<'a> {
        ApiRequest::new(self, method, path, Auth::OAuth1(token))
    }
}

impl Context {
    /// The work of [`ServiceApi`](crate::ServiceApi)'s requests: with the client's own token.
    pub(crate) fn service_request<'a>(
        &'a self,
        method: Method,
        path: &str,
        scope: Option<&'a str>,
    ) -> ApiRequest<'a> {
        ApiRequest::new(self, method, path, Auth::Service(scope))
    }

    /// The work of [`UserApi`](crate::UserApi)'s requests: with the token stored for `user`.
    pub(crate) fn user_request<'a>(
        &'a self,
        method: Method,
        path: &str,
        user: &'a str,
    ) -> ApiRequest<'a> {
        ApiRequest::new(self, method, path, Auth::User(user))
    }
}
