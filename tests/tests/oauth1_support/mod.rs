//! The real OAuth 1.0a provider of `oauth1_interop.rs`: oauthlib's RFC 5849 endpoints
//! (`tests/oauth1-server/server.py`, oauthlib pinned in `requirements.txt`), installed into a
//! virtual environment and started by this harness.
//!
//! The first use makes the venv under cargo's `target/tmp/oauth1-venv` and installs the pinned
//! requirements into it; it does so again whenever `requirements.txt` (or the Python version)
//! changed, which a stamp file in the venv records. It then starts one server process for the
//! whole test binary, with an http and an https listener on free loopback ports, and a
//! certificate for `127.0.0.1` and `localhost` made for this run by a CA of this run
//! ([`Oauth1Server::ca_pem`]). The server exits when its standard input closes, that is when
//! this process ends, however it ends.
//!
//! Needs `python3` with its `venv` module, and PyPI on the first run. When they are missing and
//! the tests run as root with apt-get (a fresh CI machine), Debian's `python3` and
//! `python3-venv` are installed first; otherwise the tests fail saying what to install. They
//! never skip.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;
use url::Url;

/// How long the server may take from its start to its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL_HINT: &str = "the OAuth 1.0a interop tests run oauthlib's provider in a Python \
     virtual environment: install Python 3.8 or newer with its venv module (Debian: apt-get \
     install python3 python3-venv) so that `python3 -m venv` works, with access to PyPI";

/// The directory of `server.py`, `requirements.txt`, `clients.json` and the RSA test key.
pub fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oauth1-server")
}

// ---------------------------------------------------------------------------------------------
// Python and the virtual environment
// ---------------------------------------------------------------------------------------------

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// `python3 --version` when `python3` runs and has the `venv` and `ensurepip` modules.
fn usable_python() -> Result<String, String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, venv, ensurepip; print(sys.version.split()[0])",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `python3`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`python3` has no usable venv module: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Installs Debian's `python3` and `python3-venv` when this process may (root, apt-get).
fn install_python() -> Result<(), String> {
    if !(is_root() && Path::new("/usr/bin/apt-get").exists()) {
        return Err("not root with apt-get, so nothing was installed".into());
    }
    for args in [
        vec!["update", "-qq"],
        vec!["install", "-y", "-qq", "python3", "python3-venv"],
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

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}\n{INSTALL_HINT}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}\n{}\n{INSTALL_HINT}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The venv's Python, with `requirements.txt` installed: made once, remade when the
/// requirements or the Python version changed.
fn venv_python() -> Result<PathBuf, String> {
    let version = match usable_python() {
        Ok(version) => version,
        Err(first) => {
            install_python().map_err(|why| format!("{first}; {why}.\n{INSTALL_HINT}"))?;
            usable_python().map_err(|e| format!("{e}\n{INSTALL_HINT}"))?
        }
    };
    let requirements_path = server_dir().join("requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let stamp = format!("python {version}\n{requirements}");

    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oauth1-venv");
    let python = venv.join("bin").join("python");
    let stamp_path = venv.join("requirements.stamp");
    if python.exists() && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(&stamp) {
        return Ok(python);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the stale {}: {e}", venv.display()))?;
    }
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "`python3 -m venv`",
    )?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
            .arg("-r")
            .arg(&requirements_path),
        "`pip install -r tests/oauth1-server/requirements.txt`",
    )?;
    std::fs::write(&stamp_path, stamp)
        .map_err(|e| format!("cannot write {}: {e}", stamp_path.display()))?;
    Ok(python)
}

// ---------------------------------------------------------------------------------------------
// The certificate of the https listener
// ---------------------------------------------------------------------------------------------

/// A CA made for this run and a server certificate it issued for `127.0.0.1` and `localhost`.
struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

fn pki() -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "oauth-clients OAuth 1.0a interop CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key"))
        .expect("self-signed CA");
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("server parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "oauth1-interop server");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.signed_by(&key, &ca).expect("server certificate");
    Pki {
        ca_pem: ca.pem(),
        server_pem: certificate.pem(),
        server_key_pem: key.serialize_pem(),
    }
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// The running server: its two listeners, the CA its https certificate chains to, and what it
/// logged (one `request METHOD /path STATUS` line per request, and oauthlib's reasons for each
/// refusal, on stderr).
pub struct Oauth1Server {
    /// Port of the http listener (HMAC-SHA1, HMAC-SHA256, RSA-SHA1).
    pub http_port: u16,
    /// Port of the https listener (the same, and PLAINTEXT).
    pub https_port: u16,
    /// PEM of the CA that issued the https listener's certificate.
    pub ca_pem: String,
    child: Mutex<Child>,
    // Held open: the server exits when it closes.
    _stdin: ChildStdin,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Oauth1Server {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The server shared by every test of the binary, started on first use.
pub fn server() -> &'static Oauth1Server {
    static SERVER: OnceLock<Result<Oauth1Server, String>> = OnceLock::new();
    match SERVER.get_or_init(Oauth1Server::start) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

impl Oauth1Server {
    fn start() -> Result<Oauth1Server, String> {
        let python = venv_python()?;
        let pki = pki();
        // The key and certificate are read once, at start: written for that moment only.
        let dir = std::env::temp_dir().join(format!("oauth1-interop-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let (cert, key) = (dir.join("server.pem"), dir.join("server-key.pem"));
        std::fs::write(&cert, &pki.server_pem).map_err(|e| e.to_string())?;
        std::fs::write(&key, &pki.server_key_pem).map_err(|e| e.to_string())?;

        let started = Command::new(&python)
            .arg(server_dir().join("server.py"))
            .args(["--port", "0", "--tls-port", "0", "--exit-with-stdin"])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.display()));
        let mut child = match started {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let err_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                err_log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = ready_tx.send(lines.next().and_then(Result::ok));
            // Keep reading, so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let ready = ready_rx.recv_timeout(START_TIMEOUT);
        let _ = std::fs::remove_dir_all(&dir);
        let stdin = child.stdin.take().expect("piped stdin");
        let fail = |child: &mut Child, why: String| {
            let _ = child.kill();
            let _ = child.wait();
            // Give the stderr reader a moment to collect the rest.
            std::thread::sleep(Duration::from_millis(200));
            let output = log.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
            Err(format!(
                "the OAuth 1.0a server did not start: {why}\n--- server stderr ---\n{output}"
            ))
        };
        let line = match ready {
            Ok(Some(line)) => line,
            Ok(None) => return fail(&mut child, "it exited before its ready line".into()),
            Err(_) => {
                return fail(
                    &mut child,
                    format!("no ready line within {START_TIMEOUT:?}"),
                )
            }
        };
        let ports: Value = match serde_json::from_str(&line) {
            Ok(ports) => ports,
            Err(e) => return fail(&mut child, format!("ready line `{line}`: {e}")),
        };
        let port = |name: &str| ports[name].as_u64().and_then(|p| u16::try_from(p).ok());
        let (Some(http_port), Some(https_port)) = (port("http"), port("https")) else {
            return fail(&mut child, format!("ready line `{line}` lacks a port"));
        };
        Ok(Oauth1Server {
            http_port,
            https_port,
            ca_pem: pki.ca_pem,
            child: Mutex::new(child),
            _stdin: stdin,
            log,
        })
    }

    /// `http://127.0.0.1:PORT` of the http listener.
    pub fn http_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// `https://localhost:PORT` of the https listener (the certificate names `localhost` and
    /// `127.0.0.1`).
    pub fn https_base(&self) -> String {
        format!("https://localhost:{}", self.https_port)
    }

    /// Everything the server logged so far, for failure messages.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// A browser of the tests: trusts the run's CA, follows no redirect.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA PEM"),
            )
            .timeout(Duration::from_secs(10))
            .build()
            .expect("reqwest client")
    }

    /// How many requests the server answered, by `METHOD /path STATUS` (e.g.
    /// `"POST /access_token 200"`), counting only those that carried `oauth_token` (in any
    /// placement): exact for one test's own request or access token, whatever the other tests
    /// of the binary do meanwhile.
    pub async fn token_counts(&self, oauth_token: &str) -> HashMap<String, u64> {
        let mut url = Url::parse(&format!("{}/requests", self.http_base())).expect("URL");
        url.query_pairs_mut()
            .append_pair("oauth_token", oauth_token);
        let response = self
            .browser()
            .get(url.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(response.status(), 200, "GET {url}");
        response.json().await.expect("JSON counts")
    }

    /// Plays the user at the authorization page `authorize_url` (what the client redirected
    /// to), signed in as `user`, who approves at once. Returns what the server answered: the
    /// callback URL it redirected to, or the verifier its `oob` page shows.
    pub async fn approve(&self, authorize_url: &Url, user: &str) -> Approval {
        let mut url = authorize_url.clone();
        url.query_pairs_mut().append_pair("user", user);
        let response = self
            .browser()
            .get(url.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        match status {
            302 => {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or_else(|| panic!("302 from {url} without a Location"));
                Approval::Redirect(Url::parse(location).expect("absolute callback URL"))
            }
            200 => {
                let page = response.text().await.expect("authorize page");
                let verifier = page
                    .strip_prefix("verifier=")
                    .unwrap_or_else(|| panic!("unexpected oob page from {url}: {page}"));
                Approval::Verifier(verifier.to_string())
            }
            _ => Approval::Refused(status, response.text().await.unwrap_or_default()),
        }
    }
}

/// What the authorization page answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Approval {
    /// 302 to the callback, with `oauth_token` and `oauth_verifier`.
    Redirect(Url),
    /// The `oob` page's verifier (`verifier=PIN`, `text/plain`).
    Verifier(String),
    /// Any other status, with the body.
    Refused(u16, String),
}

// ---------------------------------------------------------------------------------------------
// The registered clients
// ---------------------------------------------------------------------------------------------

/// A client registered in `clients.json`.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The consumer key.
    pub key: String,
    /// `HMAC-SHA1`, `HMAC-SHA256`, `RSA-SHA1` or `PLAINTEXT`.
    pub signature_method: String,
    /// The shared secret (none for RSA-SHA1).
    pub secret: Option<String>,
    /// The PKCS#8 PEM private key (RSA-SHA1 only).
    pub rsa_private_key_pem: Option<String>,
}

/// What `clients.json` registers.
pub struct Registration {
    /// The registered callbacks (`oob` among them).
    pub callbacks: Vec<String>,
    /// Users by name: `(user_id, screen_name)`.
    pub users: HashMap<String, (String, String)>,
    /// The registered clients, in file order.
    pub clients: Vec<RegisteredClient>,
}

impl Registration {
    /// The client registered under `key`.
    pub fn client(&self, key: &str) -> &RegisteredClient {
        self.clients
            .iter()
            .find(|c| c.key == key)
            .unwrap_or_else(|| panic!("no client `{key}` in clients.json"))
    }

    /// The first registered callback URL that is not `oob`.
    pub fn callback(&self) -> &str {
        self.callbacks
            .iter()
            .find(|c| *c != "oob")
            .expect("a callback URL in clients.json")
    }
}

/// `clients.json`, read once.
pub fn registration() -> &'static Registration {
    static REGISTRATION: OnceLock<Registration> = OnceLock::new();
    REGISTRATION.get_or_init(|| {
        let path = server_dir().join("clients.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let text_of = |v: &Value| v.as_str().map(str::to_string);
        let callbacks = json["callbacks"]
            .as_array()
            .expect("callbacks")
            .iter()
            .filter_map(text_of)
            .collect();
        let users = json["users"]
            .as_object()
            .expect("users")
            .iter()
            .map(|(name, user)| {
                let field = |f: &str| text_of(&user[f]).expect("user field");
                (name.clone(), (field("user_id"), field("screen_name")))
            })
            .collect();
        let clients = json["clients"]
            .as_array()
            .expect("clients")
            .iter()
            .map(|client| RegisteredClient {
                key: text_of(&client["key"]).expect("client key"),
                signature_method: text_of(&client["signature_method"]).expect("method"),
                secret: text_of(&client["secret"]),
                rsa_private_key_pem: text_of(&client["rsa_private_key"]).map(|file| {
                    let path = server_dir().join(file);
                    std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
                }),
            })
            .collect();
        Registration {
            callbacks,
            users,
            clients,
        }
    })
}
