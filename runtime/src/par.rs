//! Pushed authorization requests (RFC 9126).
//!
//! A provider's authorization requests are pushed when the declaration or settings say
//! `pushed_authorization_requests: true`, under `security_profile: fapi2`, or when its
//! metadata says `require_pushed_authorization_requests` (§5). The parameters the redirect
//! would have carried (state, nonce, PKCE challenge, scope, redirect URI, extra parameters)
//! are POSTed to the provider's pushed authorization request endpoint with the client's
//! authentication (§2.1), and the redirect then carries only `client_id` and the `request_uri`
//! the provider answered with (§4): nothing in the browser can change the request, and the
//! provider knows who made it before the user sees anything.
//!
//! The answer must be `201 Created` with `request_uri` and `expires_in` (§2.2); an error object
//! is the provider's refusal (§2.3); anything else is a typed error. A `request_uri` that is dead
//! on arrival (an `expires_in` of zero or less, or a lifetime that passed while the answer was
//! on its way) is refused at once rather than sending the user to an error page. When the
//! lifetime runs out while the user is at the provider, the provider sends them back with
//! `invalid_request_uri`; the callback consumes the pending login as for any error redirect
//! and reports [`Error::RequestUriExpired`].

use crate::config::ClientConfig;
use crate::context::Context;
use crate::error::{Endpoint, Error, HttpErrorKind};
use crate::http::Response;
use crate::metadata::Metadata;
use http::StatusCode;
use serde_json::Value;

/// The longest `request_uri` accepted: it goes into the redirect URL.
const MAX_REQUEST_URI: usize = 2048;

/// Reads the pushed authorization request endpoint's answer to a request sent at `sent_ms`,
/// received at `now_ms` (milliseconds since the epoch): the `request_uri`.
pub(crate) fn parse_par_response(
    provider: &'static str,
    response: &Response,
    sent_ms: u64,
    now_ms: u64,
) -> Result<String, Error> {
    let invalid = |reason: String| Error::InvalidPushedAuthorizationResponse { provider, reason };
    let fields = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|value| match value {
            Value::Object(map) => Some(map),
            _ => None,
        });
    // §2.3: an error object, whatever the status.
    if let Some((error, fields)) = fields
        .as_ref()
        .and_then(|f| f.get("error").map(|error| (error, f)))
    {
        let description = fields
            .get("error_description")
            .and_then(Value::as_str)
            .map(str::to_string);
        return Err(Error::PushedAuthorization {
            provider,
            error: error
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "invalid error code".into()),
            description,
            status: response.status.as_u16(),
        });
    }
    if !response.status.is_success() {
        return Err(Error::Http {
            provider,
            endpoint: Endpoint::PushedAuthorization,
            kind: HttpErrorKind::Status {
                status: response.status.as_u16(),
            },
        });
    }
    // §2.2: "201 Created".
    if response.status != StatusCode::CREATED {
        return Err(invalid(format!(
            "the answer has HTTP status {}, not 201 Created",
            response.status.as_u16()
        )));
    }
    let Some(fields) = fields else {
        return Err(invalid("the answer is not a JSON object".into()));
    };
    let request_uri = match fields.get("request_uri") {
        Some(Value::String(uri)) if uri.is_empty() => {
            return Err(invalid("`request_uri` is empty".into()))
        }
        Some(Value::String(uri)) if uri.len() > MAX_REQUEST_URI => {
            return Err(invalid(format!(
                "`request_uri` is longer than {MAX_REQUEST_URI} bytes"
            )))
        }
        Some(Value::String(uri)) if uri.chars().any(char::is_control) => {
            return Err(invalid("`request_uri` has control characters".into()))
        }
        Some(Value::String(uri)) => uri.clone(),
        Some(_) => return Err(invalid("`request_uri` is not a string".into())),
        None => return Err(invalid("the answer has no `request_uri`".into())),
    };
    let expires_in = match fields.get("expires_in") {
        Some(value) => value
            .as_i64()
            .ok_or_else(|| invalid("`expires_in` is not a whole number of seconds".into()))?,
        None => return Err(invalid("the answer has no `expires_in`".into())),
    };
    // Dead on arrival: the user would only meet an error at the provider.
    let lifetime_ms = u64::try_from(expires_in).unwrap_or(0).saturating_mul(1000);
    if lifetime_ms == 0 || sent_ms.saturating_add(lifetime_ms) <= now_ms {
        return Err(Error::RequestUriExpired {
            provider,
            description: Some(format!(
                "`expires_in` was {expires_in} seconds and the answer took {} ms",
                now_ms.saturating_sub(sent_ms)
            )),
        });
    }
    Ok(request_uri)
}

/// The callback's error when the provider refused the `request_uri` (RFC 9126 §4; the code is
/// OpenID Connect Core §3.1.2.6's): the pushed request expired or was used already.
/// `error` and `description` are the callback's `error` and `error_description`.
pub(crate) fn callback_error(
    provider: &'static str,
    error: Option<&str>,
    description: Option<&String>,
) -> Option<Error> {
    (error == Some("invalid_request_uri")).then(|| Error::RequestUriExpired {
        provider,
        description: description.cloned(),
    })
}

impl Context {
    /// Whether this provider's authorization requests are pushed.
    pub(crate) fn pushes(&self, config: &ClientConfig, metadata: &Metadata) -> bool {
        config.pushed_authorization_requests
            || config.is_fapi2()
            || metadata.require_pushed_authorization_requests
    }

    /// Pushes an authorization request's parameters (all but `client_id`, which the client's
    /// authentication adds or which is added here) and returns the `request_uri` for the
    /// redirect.
    pub(crate) async fn push_authorization_request(
        &self,
        config: &ClientConfig,
        params: &[(String, String)],
    ) -> Result<String, Error> {
        let provider = self.name();
        let url = self.endpoint(Endpoint::PushedAuthorization).await?;
        let http = self.http(Endpoint::PushedAuthorization)?;
        let mut form: Vec<(&str, String)> = params
            .iter()
            .filter(|(name, _)| name != "client_id")
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        let request = self.with_user_agent(crate::http::Request::post(url).header(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        ));
        // §2.1: the client authenticates as at the token endpoint.
        let request = self.authenticate_client(config, request, &mut form).await?;
        // `client_id` is an authorization request parameter too; once only.
        if !form.iter().any(|(name, _)| *name == "client_id") {
            form.push(("client_id", config.client_id.clone()));
        }
        let sent_ms = self.now_ms();
        let response = http
            .send(
                provider,
                Endpoint::PushedAuthorization,
                request.form(&form),
                config.timeout,
                crate::http::PROTOCOL_BODY_LIMIT,
            )
            .await?;
        let request_uri = parse_par_response(provider, &response, sent_ms, self.now_ms())?;
        tracing::debug!(provider, "authorization request pushed");
        Ok(request_uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.as_bytes().to_vec().into(),
        }
    }

    fn parse(status: u16, body: &str) -> Result<String, Error> {
        parse_par_response("p", &response(status, body), 1_000_000, 1_000_500)
    }

    #[test]
    fn a_created_answer_gives_the_request_uri() {
        assert_eq!(
            parse(
                201,
                r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#
            )
            .unwrap(),
            "urn:ietf:params:oauth:request_uri:abc"
        );
    }

    #[test]
    fn every_bad_answer_has_its_own_error() {
        let invalid = |status, body| match parse(status, body) {
            Err(Error::InvalidPushedAuthorizationResponse { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(invalid(200, r#"{"request_uri":"u","expires_in":60}"#).contains("not 201"));
        assert!(invalid(201, r#"{"expires_in":60}"#).contains("no `request_uri`"));
        assert!(invalid(201, r#"{"request_uri":"","expires_in":60}"#).contains("empty"));
        assert!(invalid(201, r#"{"request_uri":7,"expires_in":60}"#).contains("not a string"));
        assert!(invalid(201, r#"{"request_uri":"u"}"#).contains("no `expires_in`"));
        assert!(invalid(201, r#"{"request_uri":"u","expires_in":"60"}"#).contains("whole number"));
        assert!(invalid(201, "[]").contains("not a JSON object"));
        match parse(
            400,
            r#"{"error":"invalid_request","error_description":"bad scope"}"#,
        ) {
            Err(Error::PushedAuthorization {
                error,
                description,
                status,
                ..
            }) => {
                assert_eq!(error, "invalid_request");
                assert_eq!(description.as_deref(), Some("bad scope"));
                assert_eq!(status, 400);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(503, "down"),
            Err(Error::Http {
                endpoint: Endpoint::PushedAuthorization,
                kind: HttpErrorKind::Status { status: 503 },
                ..
            })
        ));
    }

    #[test]
    fn a_request_uri_dead_on_arrival_is_expired() {
        for expires_in in ["0", "-5"] {
            let body = format!(r#"{{"request_uri":"u","expires_in":{expires_in}}}"#);
            assert!(
                matches!(parse(201, &body), Err(Error::RequestUriExpired { .. })),
                "{expires_in}"
            );
        }
        // One second of lifetime, and the answer took two.
        let body = r#"{"request_uri":"u","expires_in":1}"#;
        assert!(matches!(
            parse_par_response("p", &response(201, body), 1_000_000, 1_002_000),
            Err(Error::RequestUriExpired { .. })
        ));
        assert!(parse_par_response("p", &response(201, body), 1_000_000, 1_000_999).is_ok());
    }
}
