//! Reading token-endpoint answers (RFC 6749 §5.1, §5.2), without I/O.
//!
//! Providers differ: GitHub answers form-encoded unless asked for JSON (so we ask), some send
//! `"bearer"` or `"BEARER"`, some leave out `expires_in`, some send it as a string, and some
//! answer errors with status 200. `access_token` and `token_type` are required (RFC 6749
//! §5.1): an answer without either is refused, not patched up. Every answer either becomes a
//! [`Token`] or a typed error; none panics, and no error repeats a token value.

use crate::error::Error;
use crate::http::Response;
use crate::token::Token;
use serde_json::{Map, Value};

/// Reads a token endpoint's answer. `now` is the current time in seconds since the epoch.
pub(crate) fn parse_token_response(
    provider: &'static str,
    response: &Response,
    now: u64,
) -> Result<Token, Error> {
    let invalid = |reason: &str| Error::InvalidTokenResponse {
        provider,
        reason: reason.to_string(),
    };
    let fields = parse_fields(response).ok_or_else(|| {
        if response.status.is_success() {
            invalid(&format!(
                "the answer is neither a JSON object nor form-encoded (content type `{}`)",
                response.content_type()
            ))
        } else {
            Error::Http {
                provider,
                endpoint: crate::error::Endpoint::Token,
                kind: crate::error::HttpErrorKind::Status {
                    status: response.status.as_u16(),
                },
            }
        }
    })?;

    // An error object, whatever the status (GitHub answers errors with 200).
    if let Some(error) = fields.get("error") {
        let text = |name| fields.get(name).and_then(Value::as_str).map(str::to_string);
        return Err(Error::TokenEndpoint {
            provider,
            error: error
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "invalid error code".into()),
            description: text("error_description"),
            status: response.status.as_u16(),
        });
    }
    if !response.status.is_success() {
        return Err(Error::Http {
            provider,
            endpoint: crate::error::Endpoint::Token,
            kind: crate::error::HttpErrorKind::Status {
                status: response.status.as_u16(),
            },
        });
    }
    token_from_fields(provider, fields, now)
}

/// A JSON object, or form-encoded pairs, as a JSON map; `None` if the body is neither.
fn parse_fields(response: &Response) -> Option<Map<String, Value>> {
    let form = response
        .content_type()
        .starts_with("application/x-www-form-urlencoded");
    if !form {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&response.body) {
            return Some(map);
        }
    }
    if form || response.content_type().starts_with("text/plain") {
        let pairs: Map<String, Value> = url::form_urlencoded::parse(&response.body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        if !pairs.is_empty() {
            return Some(pairs);
        }
    }
    None
}

pub(crate) fn token_from_fields(
    provider: &'static str,
    mut fields: Map<String, Value>,
    now: u64,
) -> Result<Token, Error> {
    let invalid = |reason: String| Error::InvalidTokenResponse { provider, reason };
    // A list of scope tokens instead of RFC 6749's space-separated string: Twitch sends one
    // ("Getting OAuth Access Tokens", dev.twitch.tv/docs/authentication/getting-tokens-oauth).
    let scope = match fields.remove("scope") {
        Some(Value::Array(tokens)) => Some(
            tokens
                .iter()
                .map(|t| t.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("`scope` is not a string".into()))?
                .join(" "),
        ),
        Some(Value::String(scope)) => Some(scope),
        None | Some(Value::Null) => None,
        Some(_) => return Err(invalid("`scope` is not a string".into())),
    };
    // Bitbucket Cloud names it `scopes` (until its announced switch to `scope`; "OAuth 2.0",
    // developer.atlassian.com/cloud/bitbucket/oauth-2): read as the granted scope, and kept.
    let scope = scope.or_else(|| {
        fields
            .get("scopes")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let mut take_string = |name: &str| -> Result<Option<String>, Error> {
        match fields.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(format!("`{name}` is not a string"))),
        }
    };
    let access_token = take_string("access_token")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("no `access_token`".into()))?;
    // RFC 6749 §5.1 requires token_type: without it, how the token is to be used is unknown,
    // and guessing bearer could misuse a token bound to a key (DPoP, mac). Any type but
    // bearer is refused for the same reason.
    let token_type = take_string("token_type")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("no `token_type`".into()))?;
    // `DPoP` (RFC 9449 §5) is read here too; the token request checks that it is the type
    // asked for (a DPoP token only with DPoP on, and only a DPoP token then).
    let token_type = if token_type.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else if token_type.eq_ignore_ascii_case("dpop") {
        "DPoP"
    } else {
        return Err(Error::UnsupportedTokenType {
            provider,
            token_type,
        });
    };
    let refresh_token = take_string("refresh_token")?.filter(|t| !t.is_empty());

    let id_token = take_string("id_token")?;
    let expires_in = match fields.remove("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| invalid("`expires_in` is negative".into()))?,
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<u64>()
                .map_err(|_| invalid("`expires_in` is not a number".into()))?,
        ),
        Some(_) => return Err(invalid("`expires_in` is not a number".into())),
    };
    // Keep the record of how long it was issued for, as Authlib does.
    if let Some(seconds) = expires_in {
        fields.insert("expires_in".into(), Value::from(seconds));
    }
    Ok(Token {
        access_token,
        token_type: token_type.into(),
        expires_at: expires_in.map(|s| now.saturating_add(s)),
        refresh_token,
        scope,
        id_token,
        userinfo: None,
        profile: None,
        dpop_jkt: None,
        extra: fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
    use reqwest::StatusCode;

    fn response(status: u16, content_type: &str, body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.to_string().into(),
        }
    }

    #[test]
    fn json_token_with_extra_fields() {
        let token = parse_token_response(
            "p",
            &response(
                200,
                "application/json",
                r#"{"access_token":"at","token_type":"bEARER","expires_in":3600,"refresh_token":"rt","scope":"a b","x":1}"#,
            ),
            1_000,
        )
        .unwrap();
        assert_eq!(token.access_token, "at");
        assert_eq!(token.token_type, "Bearer");
        assert_eq!(token.expires_at, Some(4_600));
        assert_eq!(token.refresh_token.as_deref(), Some("rt"));
        assert_eq!(token.scopes(), ["a", "b"]);
        assert_eq!(token.extra["x"], 1);
        assert_eq!(token.extra["expires_in"], 3600);
    }

    #[test]
    fn short_lived_tokens_are_not_refreshed_on_arrival() {
        let token = |expires_in: u64| {
            parse_token_response(
                "p",
                &response(
                    200,
                    "application/json",
                    &format!(
                        r#"{{"access_token":"a","token_type":"Bearer","expires_in":{expires_in}}}"#
                    ),
                ),
                1_000,
            )
            .unwrap()
        };
        // 30 s tokens with a 60 s leeway: refreshed only in their last 15 s.
        assert!(!token(30).needs_refresh(1_000, 60));
        assert!(!token(30).needs_refresh(1_014, 60));
        assert!(token(30).needs_refresh(1_015, 60));
        // Long-lived tokens keep the full leeway.
        assert!(!token(3_600).needs_refresh(4_539, 60));
        assert!(token(3_600).needs_refresh(4_540, 60));
    }

    #[test]
    fn form_encoded_token() {
        let token = parse_token_response(
            "p",
            &response(
                200,
                "application/x-www-form-urlencoded; charset=utf-8",
                "access_token=gho_abc&scope=user%3Aemail&token_type=bearer",
            ),
            0,
        )
        .unwrap();
        assert_eq!(token.access_token, "gho_abc");
        assert_eq!(token.scope.as_deref(), Some("user:email"));
        assert_eq!(token.expires_at, None);
    }

    #[test]
    fn errors_are_typed_whatever_the_status() {
        for status in [200, 400, 401] {
            let error = parse_token_response(
                "p",
                &response(
                    status,
                    "application/json",
                    r#"{"error":"invalid_grant","error_description":"bad code"}"#,
                ),
                0,
            )
            .unwrap_err();
            match error {
                Error::TokenEndpoint {
                    error,
                    description,
                    status: s,
                    ..
                } => {
                    assert_eq!(error, "invalid_grant");
                    assert_eq!(description.as_deref(), Some("bad code"));
                    assert_eq!(s, status);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn unusable_answers_are_typed_errors() {
        let cases = [
            (
                200,
                "application/json",
                r#"{"token_type":"Bearer"}"#,
                "no `access_token`",
            ),
            (
                200,
                "application/json",
                r#"{"access_token":7}"#,
                "`access_token` is not a string",
            ),
            (
                200,
                "text/html",
                "<html>oops</html>",
                "neither a JSON object",
            ),
            (200, "application/json", r#"["a"]"#, "neither a JSON object"),
            (
                200,
                "application/json",
                r#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#,
                "not a number",
            ),
        ];
        for (status, content_type, body, expected) in cases {
            let error = parse_token_response("p", &response(status, content_type, body), 0)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{body}: {error}");
        }
        assert!(matches!(
            parse_token_response("p", &response(502, "text/html", "<h1>Bad gateway</h1>"), 0),
            Err(Error::Http { .. })
        ));
        assert!(matches!(
            parse_token_response("p", &response(200, "application/json", r#"{"access_token":"a","token_type":"mac"}"#), 0),
            Err(Error::UnsupportedTokenType { token_type, .. }) if token_type == "mac"
        ));
    }

    #[test]
    fn token_type_is_required() {
        // RFC 6749 §5.1: REQUIRED. Absent, null or empty, it is not guessed to be bearer.
        for (content_type, body) in [
            ("application/json", r#"{"access_token":"a"}"#),
            (
                "application/json",
                r#"{"access_token":"a","token_type":null}"#,
            ),
            (
                "application/json",
                r#"{"access_token":"a","token_type":""}"#,
            ),
            (
                "application/x-www-form-urlencoded",
                "access_token=a&scope=x",
            ),
        ] {
            match parse_token_response("p", &response(200, content_type, body), 0) {
                Err(Error::InvalidTokenResponse { provider, reason }) => {
                    assert_eq!(
                        (provider, reason.as_str()),
                        ("p", "no `token_type`"),
                        "{body}"
                    )
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_token_response("p", &response(200, "application/json", r#"{"access_token":"a","token_type":7}"#), 0),
            Err(Error::InvalidTokenResponse { reason, .. }) if reason == "`token_type` is not a string"
        ));
    }

    #[test]
    fn debug_hides_token_values() {
        let token = parse_token_response(
            "p",
            &response(200, "application/json", r#"{"access_token":"sentinel-at","refresh_token":"sentinel-rt","id_token":"sentinel-id","token_type":"Bearer"}"#),
            0,
        )
        .unwrap();
        let debug = format!("{token:?}");
        assert!(!debug.contains("sentinel"), "{debug}");
    }
}
