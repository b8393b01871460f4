//! A real PostgreSQL server for `sql_stores.rs`, started by this harness once per test binary.
//!
//! It uses Debian's `postgresql` package: the newest `/usr/lib/postgresql/<version>/bin`. When
//! that is missing and the tests run as root with apt-get (a fresh CI machine), the package is
//! installed first; otherwise the tests fail saying what to install. They never skip.
//!
//! Each run makes a cluster of its own with `initdb` in cargo's `target/tmp/postgres-<pid>` (or
//! the system's temporary directory when the `postgres` user cannot reach `target/tmp`),
//! trusting local connections (the password test's role excepted, see [`PASSWORD_ROLE`]), and
//! starts `postgres` on a free loopback port with its socket in that directory. PostgreSQL
//! refuses to run as root: under root, the directory belongs to the `postgres` user and the
//! server runs as that user. The start is bounded ([`START_TIMEOUT`]), and a failure shows the
//! server's log.
//!
//! Stopping: a watchdog shell started with the server reads this process's end of a pipe;
//! when this process ends, however it ends, the pipe closes and the watchdog stops the server
//! (fast shutdown) and removes the directory. Dropping [`PostgresServer`] does the same at
//! once. Directories left by runs that were killed together with their watchdog are removed by
//! the next run.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the server may take from its start to accepting connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A role that logs in with a password (SCRAM-SHA-256), for the tests of password handling;
/// every other role is trusted.
pub const PASSWORD_ROLE: &str = "oauth_clients_pw";

const INSTALL_HINT: &str = "the PostgreSQL token-store tests run a PostgreSQL server: install \
     Debian's `postgresql` package (apt-get install postgresql), which provides \
     /usr/lib/postgresql/<version>/bin/{initdb,postgres}";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb` and `postgres`.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Installs Debian's `postgresql` when this process may (root, apt-get).
fn install_postgres() -> Result<(), String> {
    if !(is_root() && Path::new("/usr/bin/apt-get").exists()) {
        return Err("PostgreSQL is not installed, and this is not root with apt-get".into());
    }
    for args in [
        vec!["update", "-qq"],
        vec!["install", "-y", "-qq", "postgresql"],
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

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| format!("cannot run `id`: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                format!("no `postgres` user (`id {flag} postgres` failed)\n{INSTALL_HINT}")
            })
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// Removes the directories of earlier runs whose process is gone.
fn remove_stale_dirs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("postgres-")) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh directory for this run's cluster, `postgres-<pid>` in cargo's `target/tmp`, given
/// to `user` when set. When `user` cannot reach it there (a checkout under a private home
/// directory), in the system's temporary directory instead.
fn server_dir(user: Option<(u32, u32)>) -> Result<PathBuf, String> {
    let name = format!("postgres-{}", std::process::id());
    let fallback = std::env::temp_dir().join("oauth-clients-tests");
    for base in [Path::new(env!("CARGO_TARGET_TMPDIR")), fallback.as_path()] {
        remove_stale_dirs(base);
        let dir = base.join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let Some((uid, gid)) = user else {
            return Ok(dir);
        };
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot give {} to postgres: {e}", dir.display()))?;
        let reachable = Command::new("test")
            .arg("-w")
            .arg(&dir)
            .uid(uid)
            .gid(gid)
            .status()
            .is_ok_and(|s| s.success());
        if reachable {
            return Ok(dir);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Err(format!(
        "the postgres user can reach neither {} nor {}",
        env!("CARGO_TARGET_TMPDIR"),
        fallback.display()
    ))
}

/// The running server.
pub struct PostgresServer {
    /// Its loopback port.
    pub port: u16,
    dir: PathBuf,
    child: Mutex<Child>,
    // Held open: the watchdog stops the server when it closes.
    _watchdog: Mutex<ChildStdin>,
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        // A fast shutdown, which ends the server's backends too; a kill if it takes too long.
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server shared by every test of the binary, started on first use.
pub fn server() -> &'static PostgresServer {
    static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();
    match SERVER.get_or_init(PostgresServer::start) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// Runs `command` to its end; its output in the error when it fails.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}\n{INSTALL_HINT}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

impl PostgresServer {
    fn start() -> Result<PostgresServer, String> {
        let bin = match bin_dir() {
            Some(bin) => bin,
            None => {
                install_postgres().map_err(|why| format!("{why}.\n{INSTALL_HINT}"))?;
                bin_dir().ok_or_else(|| {
                    format!(
                        "apt-get installed postgresql, but no initdb was found.\n{INSTALL_HINT}"
                    )
                })?
            }
        };
        // As root, everything runs as `postgres`; otherwise as this user.
        let user = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let as_server_user = |command: &mut Command| {
            if let Some((uid, gid)) = user {
                command.uid(uid).gid(gid);
            }
        };

        let dir = server_dir(user)?;
        let data = dir.join("data");

        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ])
            .current_dir(&dir);
        as_server_user(&mut initdb);
        if let Err(e) = run(&mut initdb, "initdb") {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        // Trusted, but for the password role; written over initdb's file, which keeps its
        // owner and mode.
        let hba = format!(
            "local all all trust\n\
             host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n"
        );
        std::fs::write(data.join("pg_hba.conf"), hba)
            .map_err(|e| format!("cannot write pg_hba.conf: {e}"))?;

        // A port can be taken between finding it free and the server binding it: a few tries.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let log_path = dir.join("server.log");
            let log = std::fs::File::create(&log_path)
                .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
            let mut postgres = Command::new(bin.join("postgres"));
            postgres
                .arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(&dir)
                .args(["-h", "127.0.0.1"])
                // Test data only: no need to survive a crash of the machine.
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            as_server_user(&mut postgres);
            let mut child = postgres
                .spawn()
                .map_err(|e| format!("cannot run postgres: {e}\n{INSTALL_HINT}"))?;
            match wait_until_ready(&mut child, port, &bin) {
                Ok(()) => {
                    let watchdog = watchdog(child.id(), &dir)?;
                    return Ok(PostgresServer {
                        port,
                        dir,
                        child: Mutex::new(child),
                        _watchdog: Mutex::new(watchdog),
                    });
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    last_error =
                        format!("PostgreSQL did not start: {why}\n--- server log ---\n{log}");
                    if !log.contains("could not bind") {
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_error)
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

/// Waits for the server to accept connections: its port open, then `pg_isready`.
fn wait_until_ready(child: &mut Child, port: u16, bin: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status})"));
        }
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .args(["-U", "postgres", "-d", "postgres"])
                .stdin(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("not ready within {START_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A shell that waits for its standard input to close (this process ended), then stops the
/// server (SIGINT: fast shutdown), waits for it and removes its directory.
fn watchdog(pid: u32, dir: &Path) -> Result<ChildStdin, String> {
    let script = "cat >/dev/null; kill -INT \"$1\" 2>/dev/null; i=0; \
                  while kill -0 \"$1\" 2>/dev/null && [ $i -lt 100 ]; do \
                  sleep 0.1; i=$((i+1)); done; \
                  kill -KILL \"$1\" 2>/dev/null; rm -rf \"$2\"";
    let mut child = Command::new("sh")
        .args(["-c", script, "watchdog"])
        .arg(pid.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C meant for the tests reaches it only through the pipe.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the watchdog shell: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Nothing is ever written; a flush checks the pipe is there.
    stdin.flush().map_err(|e| format!("watchdog pipe: {e}"))?;
    Ok(stdin)
}
