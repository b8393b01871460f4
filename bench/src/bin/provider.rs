//! The local provider as a standalone process, for clients in other languages (the Authlib
//! benchmark): auto-approves every login as `alice`. Prints its discovery URL on the first line
//! of stdout; each line `counts` on stdin answers with the requests per endpoint as JSON.
//! `PROVIDER_THREADS` sets its worker threads (default 1).

use oauth_clients_testing::TestProvider;
use tokio::io::{AsyncBufReadExt, BufReader};

fn main() -> std::io::Result<()> {
    let threads = std::env::var("PROVIDER_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let provider = TestProvider::builder()
        .auto_approve("alice")
        .port(port)
        .start()
        .await?;
    println!("{}", provider.discovery_url());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() == "counts" {
            println!(
                "{}",
                serde_json::to_string(&provider.counts()).unwrap_or_default()
            );
        }
    }
    Ok(())
}
