//! The Rust side of the benchmarks (`bench/run` runs it with the Python and compile-time sides).
//!
//! The client under test runs on a current-thread runtime on the main thread, and the provider
//! elsewhere (another process, or another runtime's thread), so the client thread's CPU time
//! (measured with `CLOCK_THREAD_CPUTIME_ID` around the client's own calls) holds only client
//! work.
//!
//! - `bench lockstep DISCOVERY_URL`: logins with oauth-clients and with the hand-written flow,
//!   a turn at a time on command (`ours W N`, `hand W N` on stdin: W logins unmeasured, then N
//!   measured, whose wall and CPU times come back as a JSON line on stdout). The coordinator,
//!   `bench/authlib/bench.py`, runs Authlib's logins between these turns, against the same
//!   provider process.
//! - `bench others OUT`: the single operations, the concurrent refresh and the round trips,
//!   against providers in this process.

use oauth_clients::{oauth_clients, Callback, MemorySession, Registry, Token};
use oauth_clients_testing::{TestProvider, CLIENT_ID, CLIENT_SECRET};
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
/// Logins of each flow before any is measured.
const WARMUP: usize = 30;

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

    /// Every sample, for the coordinator to pool.
    fn raw(&self) -> Value {
        let list = |values: &[Duration]| values.iter().map(|d| Self::us(*d)).collect::<Vec<_>>();
        json!({"wall_us": list(&self.wall), "cpu_us": list(&self.cpu)})
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

/// The two Rust flows, set up once and then run a turn at a time.
struct Flows {
    registry: Registry<Providers>,
    /// What a user of the crates would write: discovery once, then per login the code
    /// exchange and the ID-token check with openidconnect's verifier.
    hand: HandWritten,
    http: reqwest::Client,
    browser: reqwest::Client,
}

type HandWritten = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

impl Flows {
    async fn new(discovery_url: &str, browser: reqwest::Client) -> Flows {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let issuer = discovery_url.trim_end_matches("/.well-known/openid-configuration");
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(issuer.to_string()).unwrap(),
            &http,
        )
        .await
        .unwrap();
        let hand = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(CLIENT_ID.into()),
            Some(ClientSecret::new(CLIENT_SECRET.into())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());
        Flows {
            registry: registry_at(discovery_url),
            hand,
            http,
            browser,
        }
    }

    /// `n` logins with oauth-clients, timing `authorize_access_token` only.
    async fn ours(&self, n: usize, samples: &mut Samples) {
        let local = self.registry.client::<Local>();
        for _ in 0..n {
            let session = MemorySession::new();
            let redirect = local
                .authorize_redirect(&session, REDIRECT_URI)
                .await
                .unwrap();
            let callback =
                Callback::from_url(&approve(&self.browser, redirect.location().as_str()).await);
            let token = samples
                .time(local.authorize_access_token(&session, &callback))
                .await;
            assert_eq!(token.unwrap().userinfo.unwrap().sub(), "alice");
        }
    }

    /// `n` logins written by hand, timing the callback handling only.
    async fn hand_written(&self, n: usize, samples: &mut Samples) {
        for _ in 0..n {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (url, csrf, nonce) = self
                .hand
                .authorize_url(
                    AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                    CsrfToken::new_random,
                    Nonce::new_random,
                )
                .add_scope(Scope::new("email".into()))
                .add_scope(Scope::new("profile".into()))
                .set_pkce_challenge(challenge)
                .url();
            let callback = Callback::from_url(&approve(&self.browser, url.as_str()).await);
            let handle = async {
                assert_eq!(callback.state.as_deref(), Some(csrf.secret().as_str()));
                let code = AuthorizationCode::new(callback.code.clone().unwrap());
                let token = self
                    .hand
                    .exchange_code(code)
                    .unwrap()
                    .set_pkce_verifier(verifier)
                    .request_async(&self.http)
                    .await
                    .unwrap();
                let claims = token
                    .id_token()
                    .unwrap()
                    .claims(&self.hand.id_token_verifier(), &nonce)
                    .unwrap()
                    .clone();
                claims.subject().to_string()
            };
            assert_eq!(samples.time(handle).await, "alice");
        }
    }
}

/// `bench lockstep DISCOVERY_URL`: logins on command, for the coordinator (bench.py), which
/// runs Authlib's logins between these turns against the same provider.
fn lockstep(runtime: &tokio::runtime::Runtime, discovery_url: &str, browser: reqwest::Client) {
    use std::io::{BufRead, Write};
    let flows = runtime.block_on(Flows::new(discovery_url, browser));
    runtime.block_on(async {
        let mut discard = Samples::default();
        flows.ours(WARMUP, &mut discard).await;
        flows.hand_written(WARMUP, &mut discard).await;
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let (mut discard, mut samples) = (Samples::default(), Samples::default());
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [flow @ ("ours" | "hand"), warm, n] => runtime.block_on(async {
                let (warm, n) = (warm.parse().unwrap(), n.parse().unwrap());
                if flow == "ours" {
                    flows.ours(warm, &mut discard).await;
                    flows.ours(n, &mut samples).await;
                } else {
                    flows.hand_written(warm, &mut discard).await;
                    flows.hand_written(n, &mut samples).await;
                }
            }),
            _ => panic!("unknown command {line:?}"),
        }
        writeln!(out, "{}", samples.raw()).unwrap();
        out.flush().unwrap();
    }
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
    let usage = "usage: bench lockstep DISCOVERY_URL | bench others OUT.json";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["lockstep", discovery_url] => lockstep(&client_runtime, discovery_url, browser),
        ["others", out] => {
            let provider_runtime = provider_runtime();
            let provider = start_provider(&provider_runtime, false);
            let es256_provider = start_provider(&provider_runtime, true);
            let results = client_runtime.block_on(async {
                json!({
                    "micro": micro(&provider, &es256_provider, &browser).await,
                    "concurrent_refresh": concurrent_refresh(&provider, &browser).await,
                    "round_trips": round_trips(&provider, &browser).await,
                })
            });
            std::fs::write(out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
