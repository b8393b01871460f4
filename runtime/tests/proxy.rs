//! Provider requests honour the environment's proxy settings, end to end: with `HTTP_PROXY`
//! set, a login's discovery, JWKS and token requests reach the provider through the proxy.
//!
//! A test binary of its own, with one test, because it sets the process's environment.

use oauth_clients::{oauth_clients, MemorySession};
use oauth_clients_testing::TestProvider;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

oauth_clients! {
    local {
        server_metadata_url: "http://127.0.0.1/.well-known/openid-configuration",
        scope: "openid email profile",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";

/// A forward proxy for plain HTTP that sends every connection on to `target` and keeps what
/// the clients sent.
struct ForwardProxy {
    url: String,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl ForwardProxy {
    async fn start(target: String) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let record = sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = TcpStream::connect(&target).await.unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut upstream_read, mut upstream_write) = upstream.into_split();
                let record = record.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 8192];
                    while let Ok(read @ 1..) = client_read.read(&mut buffer).await {
                        record.lock().unwrap().extend_from_slice(&buffer[..read]);
                        if upstream_write.write_all(&buffer[..read]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
                });
            }
        });
        ForwardProxy { url, sent }
    }

    /// Everything the proxy forwarded to the provider.
    fn forwarded(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn provider_requests_go_through_the_environments_proxy() {
    let provider = TestProvider::builder().start().await.unwrap();
    let base = provider
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let target = base.trim_start_matches("http://").to_string();
    let proxy = ForwardProxy::start(target).await;

    // Before the library builds its HTTP client, which reads the environment once. Nothing
    // else in this process reads it concurrently: this binary has only this test.
    for name in [
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "REQUEST_METHOD",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTP_PROXY", &proxy.url);

    let registry = Providers::builder()
        .settings(provider.oidc_settings_for("local"))
        .env_source(|_| None)
        .build()
        .unwrap();
    let local = registry.client::<Local>();
    let token = provider
        .log_in(&local, &MemorySession::new(), REDIRECT_URI, "alice")
        .await
        .unwrap();
    assert_eq!(token.userinfo.unwrap().sub(), "alice");

    // A forward proxy gets each request with the whole URL. (A request line can follow a
    // form body directly: bodies end without a line break.)
    let forwarded = proxy.forwarded();
    for expected in [
        format!("GET {base}/.well-known/openid-configuration HTTP/1.1\r\n"),
        format!("GET {base}/jwks HTTP/1.1\r\n"),
        format!("POST {base}/token HTTP/1.1\r\n"),
    ] {
        assert!(
            forwarded.contains(&expected),
            "{expected:?} not in {forwarded:?}"
        );
    }
}
