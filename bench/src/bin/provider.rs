//! The local provider as a standalone process, for clients in other languages (the Authlib
//! benchmark): auto-approves every login as `alice`. Prints its discovery URL on the first line
//! of stdout; each line `counts` on stdin answers with the requests per endpoint as JSON.

use oauth_clients_testing::TestProvider;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
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
