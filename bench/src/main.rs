//! The Rust side of the benchmarks (`bench/run` runs it with the Python and compile-time sides).
//!
//! The local provider runs on its own multi-threaded runtime; the client under test runs on a
//! current-thread runtime on another thread, so the client thread's CPU time (measured with
//! `CLOCK_THREAD_CPUTIME_ID` around the client's own calls) holds only client work.
//!
//! - `bench logins N OUT`: N logins each with oauth-clients and the hand-written flow,
//!   taking turns in blocks, after a warm-up; every login's wall and CPU time goes to OUT (JSON).
//!   `bench/run` runs several such rounds between rounds of the Authlib side.
//! - `bench others OUT`: the single operations, the concurrent refresh and the round trips.

use oauth_clients::testing::{TestProvider, CLIENT_ID, CLIENT_SECRET};
use oauth_clients::{oauth_clients, Callback, MemorySession, Registry, Token};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

oauth_clients! {
    local {
        server_metadata_url: "http://127.0.0.1/.well-known/openid-configuration",
        scope: "openid email profile",
    },
}

const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";
const WARMUP: usize = 30;
/// The two Rust flows take turns in blocks of this many logins: often enough that a drift of
/// the machine's speed affects both alike, seldom enough that each runs with its own code and
/// data warm in the caches, as in an application that only has one of them.
const BLOCK: usize = 10;

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    let mut spec = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `spec` is.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut spec) };
    Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32)
}

/// Wall and CPU time of each iteration.
#[derive(Default)]
struct Samples {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Samples {
    async fn time<F: std::future::IntoFuture<Output = T>, T>(&mut self, future: F) -> T {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        let out = future.await;
        self.cpu.push(thread_cpu() - cpu);
        self.wall.push(wall.elapsed());
        out
    }

    fn quantile(values: &[Duration], q: f64) -> Duration {
        let mut sorted = values.to_vec();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }

    fn us(d: Duration) -> f64 {
        (d.as_nanos() as f64 / 1000.0 * 10.0).round() / 10.0
    }

    fn summary(&self) -> Value {
        json!({
            "n": self.wall.len(),
            "wall_median_us": Self::us(Self::quantile(&self.wall, 0.5)),
            "wall_p99_us": Self::us(Self::quantile(&self.wall, 0.99)),
            "cpu_median_us": Self::us(Self::quantile(&self.cpu, 0.5)),
            "cpu_p99_us": Self::us(Self::quantile(&self.cpu, 0.99)),
        })
    }

    /// The summary with every sample, for pooling rounds.
    fn with_samples(&self) -> Value {
        let mut out = self.summary();
        let list = |values: &[Duration]| values.iter().map(|d| Self::us(*d)).collect::<Vec<_>>();
        out["wall_us"] = json!(list(&self.wall));
        out["cpu_us"] = json!(list(&self.cpu));
        out
    }
}

/// A runtime for providers, away from the measured thread.
fn provider_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A provider auto-approving `alice`, signing ID tokens with ES256 if `es256`, else RS256.
fn start_provider(runtime: &tokio::runtime::Runtime, es256: bool) -> TestProvider {
    runtime
        .block_on(
            TestProvider::builder()
                .auto_approve("alice")
                .behaviour(|b| b.sign_es256 = es256)
                .start(),
        )
        .unwrap()
}

/// What the provider redirects a browser to for `authorize_url` (auto-approved).
async fn approve(http: &reqwest::Client, authorize_url: &str) -> url::Url {
    let response = http.get(authorize_url).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    url::Url::parse(location).unwrap()
}

fn registry(provider: &TestProvider) -> Registry<Providers> {
    registry_at(&provider.discovery_url())
}

/// A registry whose `local` provider is the one publishing `discovery_url`, with the test
/// provider's default client.
fn registry_at(discovery_url: &str) -> Registry<Providers> {
    Providers::builder()
        .settings(
            oauth_clients::Settings::new()
                .set("local", "server_metadata_url", discovery_url)
                .set("local", "client_id", CLIENT_ID)
                .set("local", "client_secret", CLIENT_SECRET),
        )
        .env_source(|_| None)
        .build()
        .unwrap()
}

/// Our callback handling and the hand-written one, taking turns in blocks of [`BLOCK`] logins.
async fn logins(discovery_url: &str, browser: &reqwest::Client, logins: usize) -> Value {
    let registry = registry_at(discovery_url);
    let local = registry.client::<Local>();

    // What a user of the crates would write: discovery once, then per login the code
    // exchange and the ID-token check with openidconnect's verifier.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = discovery_url.trim_end_matches("/.well-known/openid-configuration");
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_string()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(CLIENT_ID.into()),
        Some(ClientSecret::new(CLIENT_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    let (mut ours, mut hand) = (Samples::default(), Samples::default());
    let (mut ours_done, mut hand_done) = (0, 0);
    for i in 0..2 * (WARMUP + logins) {
        let ours_turn = (i / BLOCK).is_multiple_of(2);
        if (ours_turn && ours_done < WARMUP + logins) || hand_done == WARMUP + logins {
            let measured = ours_done >= WARMUP;
            ours_done += 1;
            let session = MemorySession::new();
            let redirect = local
                .authorize_redirect(&session, REDIRECT_URI)
                .await
                .unwrap();
            let callback =
                Callback::from_url(&approve(browser, redirect.location().as_str()).await);
            let handle = local.authorize_access_token(&session, &callback);
            let token = if measured {
                ours.time(handle).await
            } else {
                handle.await
            };
            assert_eq!(token.unwrap().userinfo.unwrap().sub(), "alice");
            continue;
        }

        let measured = hand_done >= WARMUP;
        hand_done += 1;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let callback = Callback::from_url(&approve(browser, url.as_str()).await);
        let handle = async {
            assert_eq!(callback.state.as_deref(), Some(csrf.secret().as_str()));
            let code = AuthorizationCode::new(callback.code.clone().unwrap());
            let token = client
                .exchange_code(code)
                .unwrap()
                .set_pkce_verifier(verifier)
                .request_async(&http)
                .await
                .unwrap();
            let claims = token
                .id_token()
                .unwrap()
                .claims(&client.id_token_verifier(), &nonce)
                .unwrap()
                .clone();
            claims.subject().to_string()
        };
        let sub = if measured {
            hand.time(handle).await
        } else {
            handle.await
        };
        assert_eq!(sub, "alice");
    }
    json!({
        "login_ours": ours.with_samples(),
        "login_hand_written": hand.with_samples(),
    })
}

async fn token_for(
    local: &oauth_clients::Client<Local>,
    browser: &reqwest::Client,
) -> (Token, String) {
    let session = MemorySession::new();
    let redirect = local
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let nonce = redirect
        .location()
        .query_pairs()
        .find(|(k, _)| k == "nonce")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let callback = Callback::from_url(&approve(browser, redirect.location().as_str()).await);
    (
        local
            .authorize_access_token(&session, &callback)
            .await
            .unwrap(),
        nonce,
    )
}

/// ID-token validation alone, with the keys cached: 2000 times the same token.
async fn validation(provider: &TestProvider, browser: &reqwest::Client) -> Value {
    let registry = registry(provider);
    let local = registry.client::<Local>();
    let (token, nonce) = token_for(&local, browser).await;
    let mut validation = Samples::default();
    for _ in 0..2000 {
        validation
            .time(local.parse_id_token(&token, Some(&nonce)))
            .await
            .unwrap();
    }
    validation.summary()
}

async fn micro(
    provider: &TestProvider,
    es256_provider: &TestProvider,
    browser: &reqwest::Client,
) -> Value {
    let registry = registry(provider);
    let local = registry.client::<Local>();
    let (token, _) = token_for(&local, browser).await;

    let mut redirect = Samples::default();
    for _ in 0..2000 {
        let session = MemorySession::new();
        redirect
            .time(local.authorize_redirect(&session, REDIRECT_URI))
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let api = provider.url("api/user");
    let mut ours = Samples::default();
    let mut bare = Samples::default();
    for _ in 0..500 {
        let response = ours.time(local.get(&api, &token)).await.unwrap();
        assert_eq!(response.status(), 200);
        let response = bare
            .time(async {
                http.get(&api)
                    .bearer_auth(&token.access_token)
                    .send()
                    .await?
                    .bytes()
                    .await
            })
            .await
            .unwrap();
        assert!(!response.is_empty());
    }
    json!({
        "authorize_redirect": redirect.summary(),
        "id_token_validation_rs256": validation(provider, browser).await,
        "id_token_validation_es256": validation(es256_provider, browser).await,
        "api_call": ours.summary(),
        "bare_reqwest_call": bare.summary(),
    })
}

async fn concurrent_refresh(provider: &TestProvider, browser: &reqwest::Client) -> Value {
    let registry = registry(provider);
    let local = registry.client::<Local>();
    let (mut token, _) = token_for(&local, browser).await;
    token.expires_at = Some(1);
    let refreshes = provider.count("token.refresh_token");
    let started = Instant::now();
    let token = std::sync::Arc::new(token);
    let api = std::sync::Arc::new(provider.url("api/user"));
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let (local, token, api) = (local.clone(), token.clone(), api.clone());
            tokio::spawn(async move { local.get(&api, &token).await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 200);
    }
    json!({
        "calls": 1000,
        "wall_ms": started.elapsed().as_millis() as u64,
        "refresh_requests": provider.count("token.refresh_token") - refreshes,
    })
}

/// Requests per endpoint: a first (cold) login, then per warm login.
async fn round_trips(provider: &TestProvider, browser: &reqwest::Client) -> Value {
    let registry = registry(provider);
    let local = registry.client::<Local>();
    let count = |name: &str| provider.count(name) as f64;
    let start = provider.counts();
    let since = |name: &str| count(name) - start.get(name).copied().unwrap_or(0) as f64;
    token_for(&local, browser).await;
    let cold = json!({
        "token": since("token"),
        "userinfo": since("userinfo"),
        "discovery": since("discovery"),
        "jwks": since("jwks"),
    });
    let warm_start = provider.counts();
    for _ in 0..100 {
        token_for(&local, browser).await;
    }
    let per_login =
        |name: &str| (count(name) - warm_start.get(name).copied().unwrap_or(0) as f64) / 100.0;
    json!({
        "first_login": cold,
        "per_warm_login": {
            "token": per_login("token"),
            "userinfo": per_login("userinfo"),
            "discovery": per_login("discovery"),
            "jwks": per_login("jwks"),
        },
    })
}

fn main() {
    let usage = "usage: bench logins N OUT.json | bench others OUT.json";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let provider_runtime = provider_runtime();
    let provider = start_provider(&provider_runtime, false);
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (results, out) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["logins", n, out] => {
            let n = n.parse().expect(usage);
            let url = provider.discovery_url();
            (client_runtime.block_on(logins(&url, &browser, n)), out)
        }
        ["others", out] => {
            let es256_provider = start_provider(&provider_runtime, true);
            let results = client_runtime.block_on(async {
                json!({
                    "micro": micro(&provider, &es256_provider, &browser).await,
                    "concurrent_refresh": concurrent_refresh(&provider, &browser).await,
                    "round_trips": round_trips(&provider, &browser).await,
                })
            });
            (results, out)
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    std::fs::write(out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
}
