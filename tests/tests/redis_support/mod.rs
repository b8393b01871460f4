//! Real `redis-server` processes for the Redis token store's tests (`redis_store.rs`).
//!
//! Each server runs on free loopback ports and a Unix socket, with no persistence (`--save ""`, `--appendonly
//! no`), a password, and its data directory and log under cargo's `target/tmp`. It runs under a
//! small `sh` wrapper that stops it (and removes its directory) when the wrapper's standard
//! input closes: when the server is dropped, or when this process ends, however it ends.
//!
//! Needs Debian's `redis-server` (with its TLS support, as Debian builds it). When it is missing
//! and the tests run as root with apt-get (a fresh CI machine), it is installed first;
//! otherwise the tests fail saying what to install. They never skip.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a server may take to answer `PING` after its start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

const INSTALL_HINT: &str = "the Redis token store tests start a real redis-server: install it \
     (Debian: apt-get install redis-server) so that `redis-server` is on the PATH";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn redis_server_runs() -> Result<(), String> {
    let out = Command::new("redis-server")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `redis-server`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`redis-server --version` failed ({})", out.status))
    }
}

/// Installs Debian's `redis-server` when this process may (root, apt-get).
fn install_redis() -> Result<(), String> {
    if !(is_root() && Path::new("/usr/bin/apt-get").exists()) {
        return Err("not root with apt-get, so nothing was installed".into());
    }
    for args in [
        vec!["update", "-qq"],
        vec!["install", "-y", "-qq", "redis-server"],
    ] {
        let status = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if !status.success() {
            return Err(format!("`apt-get {}` failed ({status})", args.join(" ")));
        }
    }
    Ok(())
}

/// `redis-server` is there, installed first if need be (once per test binary).
fn ensure_installed() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| match redis_server_runs() {
            Ok(()) => Ok(()),
            Err(first) => {
                install_redis().map_err(|why| format!("{first}; {why}.\n{INSTALL_HINT}"))?;
                redis_server_runs().map_err(|e| format!("{e}\n{INSTALL_HINT}"))
            }
        })
        .clone()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The certificate files of a TLS listener, and the CA that issued its certificate.
pub struct TlsFiles {
    /// PEM of the CA.
    pub ca_pem: String,
    /// PEM of the server's certificate (for `localhost` and `127.0.0.1`).
    pub cert_pem: String,
    /// PEM of its key.
    pub key_pem: String,
}

/// A CA made for this run and a server certificate it issued for `localhost` and `127.0.0.1`.
pub fn tls_files() -> TlsFiles {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "oauth-clients Redis test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
        .expect("self-signed CA");
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("server parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "redis test server");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.signed_by(&key, &ca).expect("server certificate");
    TlsFiles {
        ca_pem: ca.pem(),
        cert_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
    }
}

struct Running {
    wrapper: Child,
    // Held open: the wrapper stops the server when it closes.
    stdin: ChildStdin,
}

/// A running `redis-server`.
pub struct RedisServer {
    /// The plain TCP port.
    pub port: u16,
    /// The TLS port, for a server started with [`RedisServer::start_tls`].
    pub tls_port: Option<u16>,
    /// The password clients authenticate with.
    pub password: String,
    dir: PathBuf,
    tls: Option<TlsFiles>,
    running: Mutex<Option<Running>>,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server shared by the tests of the binary that need no server of their own, started on
/// first use. Each test keeps its keys apart with a prefix of its own.
pub fn shared() -> &'static RedisServer {
    static SERVER: OnceLock<Result<RedisServer, String>> = OnceLock::new();
    match SERVER.get_or_init(|| RedisServer::start(None)) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

impl RedisServer {
    /// A server of its own (to stop and start again), plain TCP only.
    pub fn start_own() -> RedisServer {
        RedisServer::start(None).unwrap_or_else(|message| panic!("{message}"))
    }

    /// A server with a TLS port too, whose certificate `tls` issued.
    pub fn start_tls(tls: TlsFiles) -> RedisServer {
        RedisServer::start(Some(tls)).unwrap_or_else(|message| panic!("{message}"))
    }

    fn start(tls: Option<TlsFiles>) -> Result<RedisServer, String> {
        ensure_installed()?;
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "redis-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let server = RedisServer {
            port: free_port(),
            tls_port: tls.as_ref().map(|_| free_port()),
            password: format!("test-password-{}", std::process::id()),
            dir,
            tls,
            running: Mutex::new(None),
        };
        server.run()?;
        Ok(server)
    }

    /// Starts the server process (again), on the same ports and directory.
    fn run(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        if let Some(tls) = &self.tls {
            for (name, pem) in [
                ("ca.pem", &tls.ca_pem),
                ("server.pem", &tls.cert_pem),
                ("server-key.pem", &tls.key_pem),
            ] {
                std::fs::write(self.dir.join(name), pem).map_err(|e| e.to_string())?;
            }
        }
        let log = self.dir.join("redis.log");
        let mut args: Vec<String> = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--requirepass",
            &self.password,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(["--dir".to_string(), self.dir.display().to_string()]);
        args.extend([
            "--unixsocket".to_string(),
            self.socket().display().to_string(),
            "--unixsocketperm".to_string(),
            "700".to_string(),
        ]);
        args.extend(["--logfile".to_string(), log.display().to_string()]);
        if let Some(tls_port) = self.tls_port {
            let file = |name: &str| self.dir.join(name).display().to_string();
            args.extend([
                "--tls-port".to_string(),
                tls_port.to_string(),
                "--tls-cert-file".to_string(),
                file("server.pem"),
                "--tls-key-file".to_string(),
                file("server-key.pem"),
                "--tls-ca-cert-file".to_string(),
                file("ca.pem"),
                "--tls-auth-clients".to_string(),
                "no".to_string(),
            ]);
        }
        // The server stops when the wrapper's standard input closes (its own reads
        // /dev/null), and its directory goes with it.
        let mut wrapper = Command::new("sh")
            .arg("-c")
            .arg(concat!(
                r#"dir=$1; shift; redis-server "$@" </dev/null & pid=$!; "#,
                r#"cat >/dev/null; kill "$pid" 2>/dev/null; wait "$pid"; rm -rf -- "$dir""#
            ))
            .arg("redis-wrapper")
            .arg(&self.dir)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run sh to start redis-server: {e}"))?;
        let stdin = wrapper.stdin.take().expect("piped stdin");
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(Running { wrapper, stdin });

        let started = Instant::now();
        loop {
            if self.answers_ping() {
                return Ok(());
            }
            let exited = self
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
                .is_some_and(|r| matches!(r.wrapper.try_wait(), Ok(Some(_))));
            if exited || started.elapsed() > START_TIMEOUT {
                let logged = std::fs::read_to_string(&log).unwrap_or_default();
                self.stop();
                return Err(format!(
                    "redis-server did not start ({}):\n--- redis.log ---\n{logged}",
                    if exited {
                        "it exited".to_string()
                    } else {
                        format!("no PONG within {START_TIMEOUT:?}")
                    },
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the plain port answers `AUTH` and `PING`.
    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "*2\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n*1\r\n$4\r\nPING\r\n",
            self.password.len(),
            self.password
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let mut buffer = [0u8; 64];
        while !answer.ends_with(b"+PONG\r\n") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return false,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
            if answer.len() > 1024 {
                return false;
            }
        }
        true
    }

    /// Stops the server (if running) and waits for it to exit.
    pub fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(Running {
            mut wrapper, stdin, ..
        }) = running
        {
            drop(stdin);
            let _ = wrapper.wait();
        }
    }

    /// Starts the stopped server again, on the same ports, empty.
    pub fn restart(&self) {
        self.run().unwrap_or_else(|message| panic!("{message}"));
    }

    /// `redis://:PASSWORD@127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/0", self.password, self.port)
    }

    /// The server's Unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// `redis+unix:///…/redis.sock?db=0&pass=PASSWORD`.
    pub fn unix_url(&self) -> String {
        format!(
            "redis+unix://{}?db=0&pass={}",
            self.socket().display(),
            self.password
        )
    }

    /// `rediss://:PASSWORD@localhost:TLS_PORT/0`.
    pub fn tls_url(&self) -> String {
        format!(
            "rediss://:{}@localhost:{}/0",
            self.password,
            self.tls_port.expect("a server started with TLS")
        )
    }

    /// The PEM of the CA that issued the TLS certificate.
    pub fn ca_pem(&self) -> &str {
        &self.tls.as_ref().expect("a server started with TLS").ca_pem
    }

    /// A plain client connection, to read and change what the store wrote.
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("a plain connection to the test Redis")
    }
}
