//! A command-line login: `cargo run -p examples --bin cli`, then open the printed URL.
//!
//! It starts the embedded OpenID Connect provider on a free loopback port (its sign-in page
//! opens in your browser; any user name works), listens for the redirect back on another
//! loopback port, and prints the claims of whoever signed in. `--provider github` or
//! `--provider google` signs in there instead, once `GITHUB_CLIENT_ID`/`GITHUB_CLIENT_SECRET`
//! or `GOOGLE_CLIENT_ID`/`GOOGLE_CLIENT_SECRET` are set (a GitHub OAuth app with the callback
//! URL `http://127.0.0.1/callback`, a Google "Desktop app" client). `--timeout SECONDS` changes
//! how long it waits (5 minutes by default). `--provider local_oauth1` signs in with the
//! embedded provider's OAuth 1.0a endpoints out of band: open the URL, approve, and type the PIN
//! the page shows (`--provider trello` does the same at Trello, with `TRELLO_CLIENT_ID` and
//! `TRELLO_CLIENT_SECRET` set).

use examples::{cli, providers};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: cli [--provider local|github|google|local_oauth1|trello] [--timeout SECONDS]";

struct Options {
    provider: String,
    timeout: Duration,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        provider: "local".into(),
        timeout: cli::DEFAULT_TIMEOUT,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--provider" => options.provider = args.next().ok_or(USAGE)?,
            "--timeout" => {
                let seconds = args.next().and_then(|s| s.parse().ok()).ok_or(USAGE)?;
                options.timeout = Duration::from_secs(seconds);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let local = match providers::start_local_provider(0).await {
        Ok(local) => local,
        Err(error) => {
            eprintln!("the local provider could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let registry = match providers::registry(&local).build() {
        Ok(registry) => registry,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let wait = match options.timeout.as_secs() {
        seconds if seconds % 60 == 0 => format!("{} min", seconds / 60),
        seconds => format!("{seconds} s"),
    };
    let show = |url: &url::Url| {
        eprintln!("Open this URL in your browser to sign in:\n\n    {url}\n");
        eprintln!("Waiting for the sign-in (up to {wait})...");
    };
    let outcome = match options.provider.as_str() {
        // OAuth 1.0a, out of band: the provider shows a PIN to type in here.
        "local_oauth1" | "trello" => {
            let read_pin = |url: url::Url| async move {
                eprintln!("Open this URL in your browser to sign in:\n\n    {url}\n");
                eprint!("Then type the PIN it shows: ");
                tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map(|_| line)
                })
                .await
                .map_err(std::io::Error::other)?
            };
            cli::login_oob(&registry, &options.provider, read_pin).await
        }
        provider => cli::login(&registry, provider, options.timeout, show).await,
    };
    match outcome {
        Ok(user) => {
            println!(
                "Signed in with {} as {}.",
                providers::display_name(user.provider),
                user.user
            );
            for (name, value) in &user.claims {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                println!("  {name}: {text}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
