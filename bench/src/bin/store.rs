//! The token store's costs: each backend's operations, and the refresh storm across three
//! processes.
//!
//! `store OUT.json URL...` measures, for each token-store URL (`memory:`, `sqlite://...`,
//! `postgres://...`, `redis://...`):
//! - the cost of one operation, as the runtime does it: saving a token (seal, then
//!   compare-and-swap), loading one (read, then open) and taking and giving back a refresh
//!   lease, each the median of 300 in a row; the bytes of one sealed record against the
//!   token's JSON in the clear; for the in-memory store, this process's memory growth per
//!   1000 tokens saved;
//! - for shared stores, the refresh storm: three worker processes (this binary, `store worker`)
//!   each make 100 API calls at once for one user whose stored token has expired; how many
//!   refresh requests reach the provider, and the callers' waits (p50, p99, max).
//!
//! The provider is the local one, in this process; the workers reach it over loopback.

use oauth_clients::store::TokenBackend;
use oauth_clients::{oauth_clients, Callback, MemorySession, Registry};
use oauth_clients_testing::{TestProvider, CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

oauth_clients! {
    local {
        server_metadata_url: "http://127.0.0.1/.well-known/openid-configuration",
        scope: "openid email profile offline_access",
    },
}

const KEYS: &str = "bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";
const OPERATIONS: usize = 300;
const CALLS_PER_WORKER: usize = 100;

fn registry(discovery_url: &str, store: Arc<dyn TokenBackend>) -> Registry<Providers> {
    Providers::builder()
        .settings(
            oauth_clients::Settings::new()
                .set("local", "server_metadata_url", discovery_url)
                .set("local", "client_id", CLIENT_ID)
                .set("local", "client_secret", CLIENT_SECRET),
        )
        .env_source(|_| None)
        .token_store(store)
        .token_keys(KEYS)
        .build()
        .unwrap()
}

fn median_us(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn quantile_ms(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Logs alice in and keeps her token in the store, expired.
async fn expired_login(provider: &TestProvider, registry: &Registry<Providers>) {
    let local = registry.local();
    let session = MemorySession::new();
    let redirect = local
        .authorize_redirect(&session, REDIRECT_URI)
        .await
        .unwrap();
    let back = provider
        .approve(redirect.location(), "alice")
        .await
        .unwrap();
    let mut token = local
        .authorize_access_token(&session, &Callback::from_url(&back))
        .await
        .unwrap();
    token.expires_at = Some(1);
    local.save_token("alice", &token).await.unwrap();
}

async fn operations(registry: &Registry<Providers>, store: &Arc<dyn TokenBackend>) -> Value {
    let local = registry.local();
    let token = local.load_token("alice").await.unwrap().unwrap();
    let (mut save, mut load, mut lease) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..OPERATIONS {
        let user = format!("bench-{i}");
        let started = Instant::now();
        local.save_token(&user, &token).await.unwrap();
        save.push(started.elapsed());
        let started = Instant::now();
        local.load_token(&user).await.unwrap().unwrap();
        load.push(started.elapsed());
        let started = Instant::now();
        assert!(store
            .acquire_lease("local", &user, "bench", Duration::from_secs(5))
            .await
            .unwrap());
        store.release_lease("local", &user, "bench").await.unwrap();
        lease.push(started.elapsed());
        store.delete("local", &user).await.unwrap();
    }
    let record = store.load("local", "alice").await.unwrap().unwrap();
    json!({
        "save_us": median_us(save),
        "load_us": median_us(load),
        "lease_us": median_us(lease),
        // What one user's token takes in the store, sealed, against its JSON in the clear.
        "record_bytes": record.sealed.len(),
        "token_json_bytes": serde_json::to_vec(&token).unwrap().len(),
    })
}

/// This process's resident memory in KiB (`VmRSS`).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The in-memory store's growth per 1000 sealed tokens (10 000 users' tokens saved).
async fn memory_per_1000(registry: &Registry<Providers>) -> Value {
    const USERS: usize = 10_000;
    let local = registry.local();
    let token = local.load_token("alice").await.unwrap().unwrap();
    let before = rss_kib();
    for i in 0..USERS {
        local
            .save_token(&format!("memory-{i}"), &token)
            .await
            .unwrap();
    }
    let after = rss_kib();
    json!(((after.saturating_sub(before)) as f64 * 1000.0 / USERS as f64 * 10.0).round() / 10.0)
}

/// Three worker processes, 100 calls each at once, one expired token.
async fn storm(provider: &TestProvider, url: &str, registry: &Registry<Providers>) -> Value {
    expired_login(provider, registry).await;
    let before = provider.count("token.refresh_token");
    let exe = std::env::current_exe().unwrap();
    let mut workers: Vec<_> = (0..3)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "worker",
                    url,
                    &provider.discovery_url(),
                    &provider.url("api/user"),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs: Vec<_> = workers
        .iter_mut()
        .map(|w| std::io::BufReader::new(w.stdout.take().unwrap()))
        .collect();
    // Blocking reads of the workers' pipes, off the threads that serve the provider.
    tokio::task::block_in_place(|| {
        for output in &mut outputs {
            let mut line = String::new();
            output.read_line(&mut line).unwrap();
            assert_eq!(line.trim(), "ready");
        }
    });
    for worker in &mut workers {
        writeln!(worker.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let mut waits: Vec<f64> = Vec::new();
    let mut failures = 0;
    tokio::task::block_in_place(|| {
        for (worker, output) in workers.iter_mut().zip(outputs) {
            let lines: Vec<String> = output.lines().map(Result::unwrap).collect();
            let result: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
            let worker_waits = result["waits_ms"].as_array().unwrap();
            waits.extend(worker_waits.iter().map(|v| v.as_f64().unwrap()));
            failures += result["failures"].as_u64().unwrap();
            worker.wait().unwrap();
        }
    });
    waits.sort_by(f64::total_cmp);
    json!({
        "callers": waits.len(),
        "failures": failures,
        "refresh_requests": provider.count("token.refresh_token") - before,
        "wait_p50_ms": quantile_ms(&waits, 0.5),
        "wait_p99_ms": quantile_ms(&waits, 0.99),
        "wait_max_ms": waits.last().copied().unwrap_or_default(),
    })
}

/// One worker process: waits for "go", then makes its calls at once.
async fn worker(url: &str, discovery_url: &str, api: &str) {
    let store = oauth_clients::store::connect(url).await.unwrap();
    let registry = registry(discovery_url, store);
    // The discovery document, fetched before the clock starts, as a running app has it.
    registry.local().metadata().await.unwrap();
    println!("ready");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let calls: Vec<_> = (0..CALLS_PER_WORKER)
        .map(|_| {
            let (registry, api) = (registry.clone(), api.to_string());
            tokio::spawn(async move {
                let started = Instant::now();
                let outcome = registry.local().for_user("alice").get(&api).await;
                let ok = matches!(&outcome, Ok(r) if r.status() == 200);
                (started.elapsed().as_secs_f64() * 1e3, ok)
            })
        })
        .collect();
    let mut waits = Vec::new();
    let mut failures = 0;
    for call in calls {
        let (wait, ok) = call.await.unwrap();
        waits.push(wait);
        failures += usize::from(!ok);
    }
    println!("{}", json!({ "waits_ms": waits, "failures": failures }));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["worker", url, discovery_url, api] => runtime.block_on(worker(url, discovery_url, api)),
        [out, ref urls @ ..] if !urls.is_empty() => {
            let results = runtime.block_on(async {
                let provider = TestProvider::builder().start().await.unwrap();
                let mut results = serde_json::Map::new();
                for url in urls {
                    let store = oauth_clients::store::connect(url).await.unwrap();
                    let registry = registry(&provider.discovery_url(), store.clone());
                    expired_login(&provider, &registry).await;
                    let mut entry = json!({ "operations": operations(&registry, &store).await });
                    if url.starts_with("memory:") {
                        entry["kib_per_1000_tokens"] = memory_per_1000(&registry).await;
                    } else {
                        entry["storm"] = storm(&provider, url, &registry).await;
                    }
                    let backend = url.split(':').next().unwrap_or(url).to_string();
                    eprintln!("{backend}: {entry}");
                    results.insert(backend, entry);
                }
                Value::Object(results)
            });
            std::fs::write(out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
        }
        _ => {
            eprintln!("usage: store OUT.json URL... | store worker URL DISCOVERY_URL API_URL");
            std::process::exit(2);
        }
    }
}
