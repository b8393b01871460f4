//! OAuth 1.0a request signing (RFC 5849 §3), without I/O: the signature base string, the four
//! signature methods, and where the protocol parameters go.
//!
//! A request is signed over its method, its URL without query, and every parameter it carries:
//! the query's, a form body's (`application/x-www-form-urlencoded` only, §3.4.1.3.1) and the
//! `oauth_*` protocol parameters. Where those protocol parameters then travel (the
//! `Authorization` header, the body or the query, §3.5) does not change the signature.

use crate::config::{Secret, SignatureMethod};
use crate::secret_jwt::RsaKey;
use base64::Engine;
use url::Url;

/// The client's credentials and, after the first leg, the token's (RFC 5849 §1.1).
pub(crate) struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: Option<&'a Secret>,
    pub rsa_key: Option<&'a RsaKey>,
    pub token: Option<&'a str>,
    pub token_secret: Option<&'a str>,
}

/// Percent-encoding of RFC 5849 §3.6: everything but `A-Z a-z 0-9 - . _ ~`, as UTF-8, with
/// upper-case hex digits.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The base string URI (§3.4.1.2): scheme and host in lower case, the port only when not the
/// scheme's default, the path; no query, no fragment.
pub(crate) fn base_uri(url: &Url) -> String {
    // `Url` already lower-cases scheme and host and drops a default port.
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    out
}

/// The signature base string (§3.4.1.1). `params` are every request parameter except
/// `oauth_signature` (and `realm`), decoded: the query's, the form body's and the protocol
/// parameters.
pub(crate) fn base_string(method: &str, url: &Url, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    // §3.4.1.3.2: sorted by encoded name, then encoded value, in byte order.
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_uri(url)),
        encode(&normalized)
    )
}

/// The signature of `base` with `method` (§3.4.2 – §3.4.4), base64 for the HMACs and RSA.
pub(crate) fn signature(
    method: SignatureMethod,
    base: &str,
    credentials: &Credentials<'_>,
) -> Result<String, String> {
    let key = format!(
        "{}&{}",
        encode(
            credentials
                .consumer_secret
                .map(Secret::expose)
                .unwrap_or("")
        ),
        encode(credentials.token_secret.unwrap_or(""))
    );
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let hmac = |algorithm| {
        let key = ring::hmac::Key::new(algorithm, key.as_bytes());
        b64(ring::hmac::sign(&key, base.as_bytes()).as_ref())
    };
    match method {
        SignatureMethod::HmacSha1 => Ok(hmac(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY)),
        SignatureMethod::HmacSha256 => Ok(hmac(ring::hmac::HMAC_SHA256)),
        SignatureMethod::Plaintext => Ok(key),
        SignatureMethod::RsaSha1 => {
            let rsa = credentials
                .rsa_key
                .ok_or_else(|| "RSA-SHA1 needs `rsa_key`".to_string())?;
            rsa.sign(base.as_bytes()).map(|bytes| b64(&bytes))
        }
    }
}

/// A fresh nonce: 24 letters and digits (about 142 bits), which every server's character and
/// length rules accept.
pub(crate) fn nonce() -> Result<String, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    use ring::rand::SecureRandom;
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::with_capacity(24);
    let mut buffer = [0u8; 64];
    while out.len() < 24 {
        rng.fill(&mut buffer)
            .map_err(|_| "the system's random source failed".to_string())?;
        // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
        for byte in buffer.iter().filter(|b| **b < 248).take(24 - out.len()) {
            out.push(ALPHABET[usize::from(*byte % 62)] as char);
        }
    }
    Ok(out)
}

/// A request to sign: its method, URL (with any query) and form body parameters.
pub(crate) struct Unsigned<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// The form body's parameters, when the body is `application/x-www-form-urlencoded`.
    pub form: Option<&'a [(String, String)]>,
}

/// Signs a request: the protocol parameters (`oauth_callback` or `oauth_verifier` among
/// `extra`), with `oauth_signature` last.
pub(crate) fn sign(
    request: &Unsigned<'_>,
    method: SignatureMethod,
    credentials: &Credentials<'_>,
    timestamp: u64,
    nonce: String,
    extra: &[(&'static str, String)],
) -> Result<Vec<(&'static str, String)>, String> {
    let mut protocol: Vec<(&'static str, String)> = vec![
        ("oauth_consumer_key", credentials.consumer_key.to_string()),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", method.as_str().to_string()),
        ("oauth_timestamp", timestamp.to_string()),
        ("oauth_version", "1.0".to_string()),
    ];
    if let Some(token) = credentials.token {
        protocol.push(("oauth_token", token.to_string()));
    }
    protocol.extend(extra.iter().cloned());
    let mut params: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    params.extend(request.form.into_iter().flatten().cloned());
    params.extend(
        protocol
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone())),
    );
    let base = base_string(request.method, request.url, &params);
    protocol.push(("oauth_signature", signature(method, &base, credentials)?));
    Ok(protocol)
}

/// The `Authorization` header for signed protocol parameters (§3.5.1).
pub(crate) fn authorization_header(protocol: &[(&'static str, String)]) -> String {
    let fields: Vec<String> = protocol
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", encode(value)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_section_3_6() {
        assert_eq!(encode("abcABC123-._~"), "abcABC123-._~");
        assert_eq!(encode("a b+c/d=e&f%"), "a%20b%2Bc%2Fd%3De%26f%25");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(encode("*!'()"), "%2A%21%27%28%29");
    }

    #[test]
    fn base_string_uris_follow_section_3_4_1_2() {
        let uri = |s| base_uri(&Url::parse(s).unwrap());
        // The RFC's own two examples.
        assert_eq!(
            uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            uri("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
        assert_eq!(uri("https://api.example/a#frag"), "https://api.example/a");
    }

    /// RFC 5849 §3.4.1.1: the example request's base string, byte for byte, with its
    /// parameters taken from the query (`b5`, `a3`, `c@`, `a2`), the form body (`c2`, `a3`)
    /// and the `Authorization` header.
    #[test]
    fn the_base_string_of_section_3_4_1_1() {
        let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let mut params: Vec<(String, String)> = url
            .query_pairs()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        params.extend(
            url::form_urlencoded::parse(b"c2&a3=2+q")
                .map(|(n, v)| (n.into_owned(), v.into_owned())),
        );
        for (name, value) in [
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
        ] {
            params.push((name.into(), value.into()));
        }
        assert_eq!(
            base_string("post", &url, &params),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
    }

    /// The three signed requests of RFC 5849 §1.2 (temporary credentials, token credentials,
    /// a protected resource): their HMAC-SHA1 signatures as the RFC prints them.
    #[test]
    fn the_signed_requests_of_section_1_2() {
        let secret = Secret::new("kd94hf93k423kf44");
        let sign =
            |method: &str, url: &str, params: &[(&str, &str)], token: Option<(&str, &str)>| {
                let url = Url::parse(url).unwrap();
                let mut all: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .collect();
                all.extend(params.iter().map(|(n, v)| (n.to_string(), v.to_string())));
                all.push(("oauth_consumer_key".into(), "dpf43f3p2l4k3l03".into()));
                all.push(("oauth_signature_method".into(), "HMAC-SHA1".into()));
                if let Some((token, _)) = token {
                    all.push(("oauth_token".into(), token.into()));
                }
                let credentials = Credentials {
                    consumer_key: "dpf43f3p2l4k3l03",
                    consumer_secret: Some(&secret),
                    rsa_key: None,
                    token: token.map(|(t, _)| t),
                    token_secret: token.map(|(_, s)| s),
                };
                let base = base_string(method, &url, &all);
                signature(SignatureMethod::HmacSha1, &base, &credentials).unwrap()
            };
        assert_eq!(
            sign(
                "POST",
                "https://photos.example.net/initiate",
                &[
                    ("oauth_timestamp", "137131200"),
                    ("oauth_nonce", "wIjqoS"),
                    ("oauth_callback", "http://printer.example.com/ready"),
                ],
                None
            ),
            "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
        );
        assert_eq!(
            sign(
                "POST",
                "https://photos.example.net/token",
                &[
                    ("oauth_timestamp", "137131201"),
                    ("oauth_nonce", "walatlh"),
                    ("oauth_verifier", "hfdp7dh39dks9884"),
                ],
                Some(("hh5s93j4hdidpola", "hdhd0244k9j7ao03"))
            ),
            "gKgrFCywp7rO0OXSjdot/IHF7IU="
        );
        assert_eq!(
            sign(
                "GET",
                "http://photos.example.net/photos?file=vacation.jpg&size=original",
                &[("oauth_timestamp", "137131202"), ("oauth_nonce", "chapoH")],
                Some(("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00"))
            ),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        );
    }

    /// One request signed with each method, as oauthlib (the interop server's library) signs
    /// it: `tests/oauth1-server/vectors.md`. The URL has an upper-case host, the default port,
    /// an encoded space in its path and a repeated query parameter; the form body has non-ASCII
    /// and reserved characters; both secrets need encoding.
    #[test]
    fn every_method_signs_the_reference_request_as_oauthlib_does() {
        let url = Url::parse(
            "http://API.Example.COM:80/1.1/Photos%20Album/upload?title=Sun%20%26%20Sea&tag=b&tag=a",
        )
        .unwrap();
        let form = [
            ("status".to_string(), "café ☃ a+b=c".to_string()),
            ("tag".to_string(), "~zip".to_string()),
        ];
        let secret = Secret::new("consumer secret/+&");
        let rsa =
            RsaKey::from_pem(include_str!("../../tests/oauth1-server/rsa-client-key.pem")).unwrap();
        let credentials = Credentials {
            consumer_key: "interopConsumerKey0001",
            consumer_secret: Some(&secret),
            rsa_key: Some(&rsa),
            token: Some("interopAccessToken0000000001"),
            token_secret: Some("token~secret%"),
        };
        let signature_by = |method| {
            let protocol = sign(
                &Unsigned {
                    method: "POST",
                    url: &url,
                    form: Some(&form),
                },
                method,
                &credentials,
                1796000000,
                "3f9a8c1e7b2d4a6f9e0c".into(),
                &[],
            )
            .unwrap();
            let (name, value) = protocol.last().unwrap().clone();
            assert_eq!(name, "oauth_signature");
            value
        };
        assert_eq!(
            signature_by(SignatureMethod::HmacSha1),
            "B/nLF24eBva2w6F0sjey4fev0T8="
        );
        assert_eq!(
            signature_by(SignatureMethod::HmacSha256),
            "xmeZ/gz1H7PO4cGLfLqIAwqIP3pAyUpeywjTUgHkn80="
        );
        assert_eq!(
            signature_by(SignatureMethod::RsaSha1),
            "Hp6gENhQg1m/NDzkXia8ITUjmBEq3SZMsMgzoviMwA2lu5a/s9xOZ//jrk5KWTQgwEQiMEhJruxttZg5+F0eXFtbc522aPEouKm0BF4qyVhnl8JkJtR4t2qK1vY9iqeNWPMF0b9TJt28CqW+jcLbIcvzkPzXbKgm5/GPfYCmOZYxq+pkM9S0NcVHvDFBFYkC8LQAsRJTd7PmruiUnAYXi8NzXLULI54aFy+znfze0Rm9tzotwSrrKytMrG+IWbWcIqaSbXGSHzLaZVwa1lKuRiw9JiB5uhQfZ10u5Vwsg53x50DzsVIq0ZcJLjhGBfBpzjN4jh8FRrI5tbFAd3U1lg=="
        );
        assert_eq!(
            signature_by(SignatureMethod::Plaintext),
            "consumer%20secret%2F%2B%26&token~secret%25"
        );
    }

    #[test]
    fn plaintext_is_the_encoded_secrets() {
        let secret = Secret::new("kd94hf93k423kf44");
        let credentials = Credentials {
            consumer_key: "dpf43f3p2l4k3l03",
            consumer_secret: Some(&secret),
            rsa_key: None,
            token: Some("hh5s93j4hdidpola"),
            token_secret: Some("hdhd0244k9j7ao03"),
        };
        assert_eq!(
            signature(SignatureMethod::Plaintext, "ignored", &credentials).unwrap(),
            "kd94hf93k423kf44&hdhd0244k9j7ao03"
        );
        let odd = Secret::new("a&b c");
        let credentials = Credentials {
            consumer_secret: Some(&odd),
            token_secret: None,
            ..credentials
        };
        assert_eq!(
            signature(SignatureMethod::Plaintext, "", &credentials).unwrap(),
            "a%26b%20c&"
        );
    }

    #[test]
    fn nonces_are_fresh_letters_and_digits() {
        let a = nonce().unwrap();
        let b = nonce().unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_header_quotes_encoded_values() {
        let header = authorization_header(&[
            ("oauth_consumer_key", "key".into()),
            ("oauth_signature", "a+b/c=".into()),
        ]);
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"key\", oauth_signature=\"a%2Bb%2Fc%3D\""
        );
    }

    #[test]
    fn rsa_keys_are_read_from_pem_and_never_shown() {
        assert!(RsaKey::from_pem("not a key")
            .unwrap_err()
            .contains("not an RSA private key in PEM form"));
        let err = RsaKey::from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(
            err.starts_with("`rsa_key` is not an RSA private key"),
            "{err}"
        );
    }
}
