//! Interop with a real OAuth 1.0a provider (RFC 5849): oauthlib's endpoints behind
//! `tests/oauth1-server/server.py`, with oauthlib pinned in `requirements.txt`. The harness
//! (`oauth1_support`) installs it into a virtual environment and starts it; see there for what
//! it needs. Without Python the tests fail, they never skip.

mod oauth1_support;

use oauth1_support::{registration, server};

/// `name=value` pairs of a form-encoded answer.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// A PLAINTEXT Authorization header for a temporary-credentials request, written out by hand
/// (RFC 5849 3.4.4 and 3.5.1): the harness's own check that the server takes the registered
/// PLAINTEXT client, over https only.
fn plaintext_request_token_header(nonce: &str) -> String {
    let client = registration().client("interopPlaintextClient");
    let encode = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
            .replace('*', "%2A")
            .replace("%7E", "~")
    };
    let signature = format!("{}&", encode(client.secret.as_deref().unwrap()));
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "OAuth oauth_consumer_key=\"{}\", oauth_signature_method=\"PLAINTEXT\", \
         oauth_timestamp=\"{timestamp}\", oauth_nonce=\"{nonce}\", oauth_callback=\"{}\", \
         oauth_signature=\"{}\"",
        client.key,
        encode(registration().callback()),
        encode(&signature)
    )
}

#[tokio::test]
async fn the_server_answers_plaintext_over_https_only() {
    let server = server();
    let browser = server.browser();

    let over_http = browser
        .post(format!("{}/request_token", server.http_base()))
        .header(
            "Authorization",
            plaintext_request_token_header("harnessnonce0000000001"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(over_http.status(), 400, "{}", server.log());
    let body = over_http.text().await.unwrap();
    assert_eq!(
        form_pairs(&body)[0],
        ("error".to_string(), "invalid_signature_method".to_string()),
        "{body}"
    );

    let over_https = browser
        .post(format!("{}/request_token", server.https_base()))
        .header(
            "Authorization",
            plaintext_request_token_header("harnessnonce0000000002"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(over_https.status(), 200, "{}", server.log());
    let answer = form_pairs(&over_https.text().await.unwrap());
    let names: Vec<&str> = answer.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "oauth_token",
            "oauth_token_secret",
            "oauth_callback_confirmed"
        ]
    );
    assert_eq!(answer[2].1, "true");
}

#[tokio::test]
async fn the_server_refuses_a_request_without_oauth_parameters() {
    let server = server();
    let response = server
        .browser()
        .post(format!("{}/request_token", server.http_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        form_pairs(&response.text().await.unwrap()),
        [
            ("error".to_string(), "invalid_request".to_string()),
            (
                "error_description".to_string(),
                "Missing mandatory OAuth parameters.".to_string()
            )
        ]
    );
}
