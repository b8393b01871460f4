//! Throughput, latency and memory of the example app under load.
//!
//! `load OUT.json APP_BINARY PROVIDER_BINARY` starts the local provider (bench's `provider`
//! binary) and the example app (the examples' `app` binary, release) as two processes, the app
//! pointed at that provider with `LOCAL_PROVIDER_URL`, its tokens in the in-memory token store
//! sealed with a key (`OAUTH_CLIENTS_TOKEN_KEYS`: encryption on) and its sessions in memory.
//! This process simulates the users. A user's login is what a browser does:
//!
//! 1. `GET /login/local` on the app: a pending login in a new session (cookie), and a
//!    redirect to the provider's authorization endpoint;
//! 2. the user approves at the provider (`POST /authorize` with a user name of the simulated
//!    user's own, so that every user gets a token of its own);
//! 3. back to the app's callback (`GET /auth/local?code=...&state=...`) with the session
//!    cookie: code exchange, ID-token validation, the token sealed into the store, the session
//!    cycled; timed on its own as the *callback latency*;
//! 4. one API call (`POST /api`): the app loads and opens the user's token and calls the
//!    provider's API with it.
//!
//! Measured, in this order:
//! - the first login after start (cold: discovery and JWKS fetched by the app), and warm ones;
//! - the app's memory (VmRSS from `/proc/<pid>/status`) per 1000 pending logins (step 1
//!   only) and per 1000 finished logins (a signed-in session and a sealed token each);
//! - closed loop: N users (`LOAD_USERS`, default 1,10,100,1000) each logging in back to back
//!   for `LOAD_SECS` seconds (default 10; longer for many users, see [`closed_loop`]): logins
//!   per second, errors, callback and login latency, and each process's CPU per login;
//! - open loop: logins arriving as a Poisson process at 25, 50, 75 and 90% of the capacity
//!   (the highest closed-loop throughput), for `OPEN_SECS` seconds each (default 6): latency
//!   and errors.
//!
//! Both loops run in `LOAD_ROUNDS` rounds (default 3), each round going through every N (or
//! rate) in turn, and each N (or rate) reports its median round, with every round's figures
//! beside it. On this 2-core machine one closed loop's throughput varies by about 10% from
//! round to round; the highest of single runs, taken as the capacity, then came out above
//! what the others sustained, and everything measured against it looked worse than it was.
//!
//! `PENDING` (default 5000) and `STORED` (default 1000) set how many logins the memory
//! measurements make. The open-files limit is raised to the hard limit (the app holds a socket
//! per concurrent user, and this process two).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The key the app seals tokens with (test material, not a secret).
const KEYS: &str = "bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Concurrency of the memory measurements' logins.
const MEMORY_CONCURRENCY: usize = 20;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Raises the soft open-files limit to the hard one; the limits after.
fn raise_open_files() -> (libc::rlim_t, libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read or write one rlimit, which `limit` is.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    (limit.rlim_cur, limit.rlim_max)
}

/// A process's resident memory in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A process's CPU time so far (user + system), from `/proc/<pid>/stat`.
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos((ticks(11) + ticks(12)) * 1_000_000_000 / hz)
}

/// The provider process: its base URL, and its request counts on demand.
struct Provider {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    base: String,
    /// Its worker threads.
    threads: usize,
}

impl Provider {
    /// Starts the provider with one worker thread per core, as a server sizes its runtime: with
    /// one thread (as in the lockstep logins, where one request is in flight at a time) that
    /// thread, signing an RS256 ID token per login, is the whole system's bottleneck, and the
    /// load test would measure the provider's queue rather than the app.
    fn start(binary: &str) -> Provider {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut child = Command::new(binary)
            .env("PROVIDER_THREADS", threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .trim_end_matches("/.well-known/openid-configuration")
            .to_string();
        Provider {
            child,
            stdin,
            stdout,
            base,
            threads,
        }
    }

    fn counts(&mut self) -> BTreeMap<String, u64> {
        writeln!(self.stdin, "counts").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_default()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example app's process and the address it serves.
struct App {
    child: Child,
    base: String,
}

impl App {
    fn start(binary: &str, provider: &Provider, log: &std::path::Path) -> App {
        let mut child = Command::new(binary)
            .env("PORT", "0")
            .env("LOCAL_PROVIDER_PORT", "0")
            .env("LOCAL_PROVIDER_URL", &provider.base)
            .env("TOKEN_STORE_URL", "memory:")
            .env("OAUTH_CLIENTS_TOKEN_KEYS", KEYS)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut base = None;
        for line in (&mut stdout).lines() {
            let line = line.unwrap();
            // "oauth-clients demo: open http://127.0.0.1:PORT/ in your browser"
            if let Some(rest) = line.split("open ").nth(1) {
                base = rest
                    .split_whitespace()
                    .next()
                    .map(|u| u.trim_end_matches('/').to_string());
                break;
            }
        }
        // The rest of its output is not needed; keep the pipe drained.
        std::thread::spawn(move || for _ in stdout.lines() {});
        App {
            child,
            base: base.expect("the app did not print its address"),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The times of one login.
#[derive(Clone, Copy)]
struct Times {
    /// `GET /login/local`.
    start: Duration,
    /// The approval at the provider (`POST /authorize`): a request that involves neither the
    /// app nor the library, the control for what the machine alone adds under load.
    approval: Duration,
    /// The callback request, from sending it to the end of the answer.
    callback: Duration,
    /// The API call.
    api: Duration,
    /// The whole login, API call included.
    total: Duration,
}

/// The cookie pairs of `Set-Cookie` headers, as one `Cookie` header.
fn cookies(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

fn location(response: &reqwest::Response) -> Result<String, String> {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("no redirect (status {})", response.status().as_u16()))
}

/// The simulated browser and the two addresses.
struct Users {
    http: reqwest::Client,
    app: String,
}

impl Users {
    fn new(app: &App) -> Users {
        Users {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            app: app.base.clone(),
        }
    }

    /// Step 1 only: a login started and never finished. The provider's authorization URL.
    async fn start_login(&self) -> Result<(String, String), String> {
        let response = self
            .http
            .get(format!("{}/login/local", self.app))
            .send()
            .await
            .map_err(|e| format!("login route: {e}"))?;
        if response.status() != 302 {
            return Err(format!(
                "login route: status {}",
                response.status().as_u16()
            ));
        }
        let (cookie, authorize) = (cookies(&response), location(&response)?);
        response.bytes().await.map_err(|e| e.to_string())?;
        Ok((cookie, authorize))
    }

    /// A whole login as `user`, then one API call.
    async fn login(&self, user: &str) -> Result<Times, String> {
        let started = Instant::now();
        let (cookie, authorize) = self.start_login().await?;
        let start = started.elapsed();
        // The user approves: the authorization request's parameters with a user name.
        let authorize = url::Url::parse(&authorize).map_err(|e| e.to_string())?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(authorize.query_pairs())
            .append_pair("username", user)
            .append_pair("decision", "allow")
            .finish();
        let mut endpoint = authorize.clone();
        endpoint.set_query(None);
        let approval_started = Instant::now();
        let response = self
            .http
            .post(endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| format!("approval: {e}"))?;
        let callback_url = location(&response).map_err(|e| format!("approval: {e}"))?;
        response.bytes().await.map_err(|e| e.to_string())?;
        let approval = approval_started.elapsed();

        let callback_started = Instant::now();
        let response = self
            .http
            .get(&callback_url)
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .map_err(|e| format!("callback: {e}"))?;
        let status = response.status();
        let signed_in = cookies(&response);
        let target = location(&response).unwrap_or_default();
        response
            .bytes()
            .await
            .map_err(|e| format!("callback: {e}"))?;
        let callback = callback_started.elapsed();
        if status != 303 || target != "/profile" || signed_in.is_empty() {
            return Err(format!("callback: status {}", status.as_u16()));
        }

        let api_started = Instant::now();
        let response = self
            .http
            .post(format!("{}/api", self.app))
            .header(reqwest::header::COOKIE, &signed_in)
            .send()
            .await
            .map_err(|e| format!("api: {e}"))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("api: {e}"))?;
        if status != 200 || !body.contains(r#"id="api-status">200<"#) {
            return Err(format!("api: status {}", status.as_u16()));
        }
        Ok(Times {
            start,
            approval,
            callback,
            api: api_started.elapsed(),
            total: started.elapsed(),
        })
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// p50 and p99 of each of a set of logins' times, in ms; every callback latency as well
/// when `all`.
fn latencies(times: &[Times], all: bool) -> Value {
    let pick = |f: fn(&Times) -> Duration| {
        let mut v: Vec<Duration> = times.iter().map(f).collect();
        v.sort();
        v
    };
    let (start, approval, callback, api, total) = (
        pick(|t| t.start),
        pick(|t| t.approval),
        pick(|t| t.callback),
        pick(|t| t.api),
        pick(|t| t.total),
    );
    let mut out = json!({
        "login_route_p50_ms": ms(quantile(&start, 0.5)),
        "login_route_p99_ms": ms(quantile(&start, 0.99)),
        "approval_p50_ms": ms(quantile(&approval, 0.5)),
        "approval_p99_ms": ms(quantile(&approval, 0.99)),
        "callback_p50_ms": ms(quantile(&callback, 0.5)),
        "callback_p99_ms": ms(quantile(&callback, 0.99)),
        "api_p50_ms": ms(quantile(&api, 0.5)),
        "api_p99_ms": ms(quantile(&api, 0.99)),
        "login_p50_ms": ms(quantile(&total, 0.5)),
        "login_p99_ms": ms(quantile(&total, 0.99)),
    });
    if all {
        out["callback_ms"] = json!(callback.iter().map(|d| ms(*d)).collect::<Vec<_>>());
    }
    out
}

/// Errors by kind, and how many.
#[derive(Default)]
struct Errors(BTreeMap<String, u64>);

impl Errors {
    fn add(&mut self, error: String) {
        *self.0.entry(error).or_default() += 1;
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    fn json(&self) -> Value {
        json!(self.0)
    }
}

/// CPU used per login by the app, the provider and this process, over a phase.
struct CpuMeter {
    pids: [String; 3],
    before: [Duration; 3],
}

impl CpuMeter {
    fn start(app: u32, provider: u32) -> CpuMeter {
        let pids = [app.to_string(), provider.to_string(), "self".to_string()];
        let before = [0, 1, 2].map(|i| cpu_time(&pids[i]));
        CpuMeter { pids, before }
    }

    fn per_login_us(&self, logins: usize) -> Value {
        let used = |i: usize| {
            let spent = cpu_time(&self.pids[i]).saturating_sub(self.before[i]);
            (spent.as_secs_f64() * 1e6 / logins.max(1) as f64).round()
        };
        json!({ "app": used(0), "provider": used(1), "load_generator": used(2) })
    }
}

/// Logins one after another by `concurrency` users until `count` are done.
async fn logins(users: &Arc<Users>, prefix: &str, count: usize, concurrency: usize) -> Errors {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (users, next, prefix) = (users.clone(), next.clone(), prefix.to_string());
            tokio::spawn(async move {
                let mut errors = Errors::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break errors;
                    }
                    if let Err(e) = users.login(&format!("{prefix}-{i}")).await {
                        errors.add(e);
                    }
                }
            })
        })
        .collect();
    let mut errors = Errors::default();
    for task in tasks {
        for (kind, n) in task.await.unwrap().0 {
            *errors.0.entry(kind).or_default() += n;
        }
    }
    errors
}

/// The first login after start, then 20 warm ones, one at a time.
async fn cold(users: &Arc<Users>, provider: &mut Provider) -> Value {
    let before = provider.counts();
    let first = users.login("cold-0").await.expect("the first login failed");
    let after = provider.counts();
    let fetched =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    let mut warm = Vec::new();
    for i in 1..=20 {
        warm.push(
            users
                .login(&format!("cold-{i}"))
                .await
                .expect("a warm login failed"),
        );
    }
    json!({
        "first": {
            "login_route_ms": ms(first.start),
            "callback_ms": ms(first.callback),
            "api_ms": ms(first.api),
            "login_ms": ms(first.total),
            "discovery_requests": fetched("discovery"),
            "jwks_requests": fetched("jwks"),
        },
        "warm": latencies(&warm, false),
    })
}

/// Memory of the app per 1000 pending logins, then per 1000 finished ones.
async fn memory(users: &Arc<Users>, app: &App, pending: usize, stored: usize) -> Value {
    // Warm the app's pools and caches first, so the growth measured is per login.
    let errors = logins(users, "memory-warm", 200, MEMORY_CONCURRENCY).await;
    assert_eq!(errors.total(), 0, "warm-up logins failed: {:?}", errors.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_start = rss_kib(app.pid());
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..MEMORY_CONCURRENCY)
        .map(|_| {
            let (users, next) = (users.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < pending {
                    users.start_login().await.expect("a login could not start");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_pending = rss_kib(app.pid());
    let errors = logins(users, "stored", stored, MEMORY_CONCURRENCY).await;
    assert_eq!(errors.total(), 0, "logins failed: {:?}", errors.0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_stored = rss_kib(app.pid());
    let per_1000 = |from: u64, to: u64, n: usize| {
        (to.saturating_sub(from) as f64 * 1000.0 / n as f64 * 10.0).round() / 10.0
    };
    json!({
        "rss_start_kib": rss_start,
        "pending_logins": pending,
        "rss_after_pending_kib": rss_pending,
        "kib_per_1000_pending": per_1000(rss_start, rss_pending, pending),
        "stored_logins": stored,
        "rss_after_stored_kib": rss_stored,
        "kib_per_1000_stored": per_1000(rss_pending, rss_stored, stored),
    })
}

/// N users logging in back to back. Throughput and latencies count the logins finished after
/// a ramp-up and before the end: the ramp-up is the first fifth of `secs`, or two logins'
/// expected time if longer (`cycle`: N divided by the best throughput seen so far, since with
/// N users in flight each login takes about that long), and the run lasts `secs`, or five
/// cycles more than the ramp-up if longer, so every window holds a few logins per user.
async fn closed_loop(
    users: &Arc<Users>,
    n: usize,
    secs: f64,
    cycle: f64,
    app: &App,
    provider: &Provider,
) -> Value {
    let started = Instant::now();
    // Two login times of ramp-up and five in the window: with 1000 users, the window's
    // first completions are of logins whose early steps ran during the ramp-up, which counted
    // over a shorter window (one login time of ramp-up, three in the window) gave a rate above
    // what the machine's cores could do (the CPU per login times the rate exceeded 2 cores).
    let ramp = (secs / 5.0).max(2.0 * cycle);
    let secs = secs.max(ramp + 5.0 * cycle);
    let (ramp, end) = (Duration::from_secs_f64(ramp), Duration::from_secs_f64(secs));
    let meter = CpuMeter::start(app.pid(), provider.child.id());
    let tasks: Vec<_> = (0..n)
        .map(|u| {
            let users = users.clone();
            tokio::spawn(async move {
                let (mut done, mut errors) = (Vec::new(), Errors::default());
                // One identity per simulated user: its token is replaced at each login.
                let user = format!("user-{u}");
                while started.elapsed() < end {
                    match users.login(&user).await {
                        Ok(times) => done.push((started.elapsed(), times)),
                        Err(e) => errors.add(e),
                    }
                }
                (done, errors)
            })
        })
        .collect();
    let (mut counted, mut errors, mut all) = (Vec::new(), Errors::default(), 0);
    for task in tasks {
        let (done, task_errors) = task.await.unwrap();
        all += done.len();
        counted.extend(
            done.into_iter()
                .filter(|(at, _)| *at >= ramp && *at <= end)
                .map(|(_, t)| t),
        );
        for (kind, k) in task_errors.0 {
            *errors.0.entry(kind).or_default() += k;
        }
    }
    let window = (end - ramp).as_secs_f64();
    let mut out = json!({
        "users": n,
        "seconds": secs,
        "ramp_up_seconds": ramp.as_secs_f64(),
        "logins": all,
        "logins_in_window": counted.len(),
        "logins_per_s": (counted.len() as f64 / window * 10.0).round() / 10.0,
        "errors": errors.total(),
        "error_kinds": errors.json(),
        "cpu_per_login_us": meter.per_login_us(all),
        "drain_s": ((started.elapsed().as_secs_f64() - secs) * 100.0).round() / 100.0,
    });
    if let (Value::Object(out), Value::Object(l)) = (&mut out, latencies(&counted, true)) {
        out.extend(l);
    }
    out
}

/// The round whose `key` is the median of the rounds' (the lower middle one of an even
/// number), with every round's throughput, callback p99 and errors under `rounds`.
fn median_round(mut rounds: Vec<Value>, key: &str) -> Value {
    let summary: Vec<Value> = rounds
        .iter()
        .map(|r| {
            json!({
                "logins_per_s": r["logins_per_s"],
                "callback_p50_ms": r["callback_p50_ms"],
                "callback_p99_ms": r["callback_p99_ms"],
                "approval_p99_ms": r["approval_p99_ms"],
                "errors": r["errors"],
            })
        })
        .collect();
    let errors: u64 = rounds.iter().filter_map(|r| r["errors"].as_u64()).sum();
    rounds.sort_by(|a, b| {
        let (a, b) = (a[key].as_f64(), b[key].as_f64());
        a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut median = rounds.swap_remove((rounds.len() - 1) / 2);
    median["rounds"] = Value::Array(summary);
    // A login that failed in any round counts: the errors are every round's.
    median["errors_all_rounds"] = json!(errors);
    median
}

/// A small random-number generator (xorshift64*), for the arrival times.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Logins arriving at `rate` per second (a Poisson process) for `secs` seconds.
async fn open_loop(users: &Arc<Users>, rate: f64, secs: f64, rng: &mut Rng) -> Value {
    let started = tokio::time::Instant::now();
    let end = started + Duration::from_secs_f64(secs);
    let mut at = started;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new((Vec::new(), Errors::default())));
    let mut tasks = Vec::new();
    let mut i = 0;
    loop {
        at += Duration::from_secs_f64(-rng.unit().ln() / rate);
        if at >= end {
            break;
        }
        tokio::time::sleep_until(at).await;
        i += 1;
        let (users, in_flight, most, results) = (
            users.clone(),
            in_flight.clone(),
            most.clone(),
            results.clone(),
        );
        // As many identities as the largest closed loop's users; their tokens are replaced.
        let user = format!("user-{}", i % 1000);
        tasks.push(tokio::spawn(async move {
            let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            most.fetch_max(now, Ordering::Relaxed);
            let outcome = users.login(&user).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let mut results = results.lock().unwrap();
            match outcome {
                Ok(times) => results.0.push(times),
                Err(e) => results.1.add(e),
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let results = results.lock().unwrap();
    let mut out = json!({
        "rate_per_s": (rate * 10.0).round() / 10.0,
        "seconds": secs,
        "arrivals": i,
        "logins": results.0.len(),
        "errors": results.1.total(),
        "error_kinds": results.1.json(),
        "most_in_flight": most.load(Ordering::Relaxed),
    });
    if let (Value::Object(out), Value::Object(l)) = (&mut out, latencies(&results.0, true)) {
        out.extend(l);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, app_binary, provider_binary] = &args[..] else {
        eprintln!("usage: load OUT.json APP_BINARY PROVIDER_BINARY");
        std::process::exit(2);
    };
    let open_files = raise_open_files();
    let user_counts: Vec<usize> = std::env::var("LOAD_USERS")
        .unwrap_or_else(|_| "1,10,100,1000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let secs = env_number("LOAD_SECS", 10) as f64;
    let open_secs = env_number("OPEN_SECS", 6) as f64;
    let rounds = env_number("LOAD_ROUNDS", 3).max(1);
    let pending = env_number("PENDING", 5000) as usize;
    let stored = env_number("STORED", 1000) as usize;
    let out_dir = std::path::Path::new(out)
        .parent()
        .unwrap_or(std::path::Path::new("."));

    let mut provider = Provider::start(provider_binary);
    let app = App::start(app_binary, &provider, &out_dir.join("load-app.log"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let users = Arc::new(Users::new(&app));
    let results = runtime.block_on(async {
        let rss_idle = rss_kib(app.pid());
        let cold = cold(&users, &mut provider).await;
        eprintln!("load: cold {cold}");
        let memory = memory(&users, &app, pending, stored).await;
        eprintln!("load: memory {memory}");
        let mut closed_rounds: Vec<Vec<Value>> = vec![Vec::new(); user_counts.len()];
        let mut best: f64 = 0.0;
        for round in 1..=rounds {
            for (i, &n) in user_counts.iter().enumerate() {
                let cycle = if best > 0.0 { n as f64 / best } else { 0.0 };
                let result = closed_loop(&users, n, secs, cycle, &app, &provider).await;
                best = best.max(result["logins_per_s"].as_f64().unwrap_or(0.0));
                eprintln!(
                    "load: closed loop, round {round}, {n} users: {} logins/s, {} errors, callback p50 {} ms p99 {} ms",
                    result["logins_per_s"],
                    result["errors"],
                    result["callback_p50_ms"],
                    result["callback_p99_ms"]
                );
                closed_rounds[i].push(result);
            }
        }
        let closed: Vec<Value> = closed_rounds
            .into_iter()
            .map(|r| median_round(r, "logins_per_s"))
            .collect();
        let capacity = closed
            .iter()
            .filter_map(|r| r["logins_per_s"].as_f64())
            .fold(0.0, f64::max);
        let mut open = Vec::new();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        let mut rng = Rng(seed);
        if capacity > 0.0 {
            let percents = [25, 50, 75, 90];
            let mut open_rounds: Vec<Vec<Value>> = vec![Vec::new(); percents.len()];
            for round in 1..=rounds {
                for (i, percent) in percents.into_iter().enumerate() {
                    let rate = capacity * percent as f64 / 100.0;
                    let mut result = open_loop(&users, rate, open_secs, &mut rng).await;
                    result["percent_of_capacity"] = json!(percent);
                    eprintln!(
                        "load: open loop, round {round}, at {percent}% ({rate:.1}/s): {} logins, {} errors, callback p50 {} ms p99 {} ms",
                        result["logins"], result["errors"], result["callback_p50_ms"], result["callback_p99_ms"]
                    );
                    open_rounds[i].push(result);
                }
            }
            open = open_rounds
                .into_iter()
                .map(|r| median_round(r, "callback_p99_ms"))
                .collect();
        }
        json!({
            "open_files_limit": { "soft": open_files.0, "hard": open_files.1 },
            "rounds": rounds,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "provider_threads": provider.threads,
            "rss_idle_kib": rss_idle,
            "rss_end_kib": rss_kib(app.pid()),
            "cold": cold,
            "memory": memory,
            "closed_loop": closed,
            "capacity_logins_per_s": capacity,
            "open_loop": open,
        })
    });
    std::fs::write(out, serde_json::to_string_pretty(&results).unwrap()).unwrap();
}
