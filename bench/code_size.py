"""What a declaration costs in a release build, as it grows from 1 provider to 50: the time to
build the application crate (dependencies already built), the binary's size, and how many
compiled copies of the callback handling (`authorize_access_token`) the binary holds.

Every provider is used for real: its login redirect, callback, an API call and, for OpenID
Connect providers, userinfo, so each flow is instantiated for it as an application would.

Usage: code_size.py WORKSPACE OUT_JSON
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIZES = [int(n) for n in os.environ.get("CODE_SIZE_PROVIDERS", "1,50").split(",")]
RUNS = int(os.environ.get("CODE_SIZE_RUNS", "2"))
FLOW = "authorize_access_token"


def provider(i):
    if i % 2:
        return f"""    idp_{i} {{
        server_metadata_url: "https://idp{i}.example/.well-known/openid-configuration",
        scope: "openid email profile",
    }},"""
    return f"""    oauth_{i} {{
        authorize_url: "https://oauth{i}.example/authorize",
        access_token_url: "https://oauth{i}.example/token",
        api_base_url: "https://api.oauth{i}.example/",
        scope: "read write",
    }},"""


def program(n):
    names = [(f"idp_{i}" if i % 2 else f"oauth_{i}", i % 2 == 1) for i in range(n)]
    uses = "\n".join(
        f"        runtime.block_on({'oidc' if oidc else 'oauth'}(Providers::{name}()));" for name, oidc in names
    )
    return f"""use oauth_clients::{{Callback, Client, MemorySession, OpenIdProvider, Provider}};

oauth_clients::oauth_clients! {{
{chr(10).join(provider(i) for i in range(n))}
}}

async fn oauth<P: Provider>(client: Client<P>) -> Option<()> {{
    let session = MemorySession::new();
    client.authorize_redirect(&session, "http://127.0.0.1:8000/callback").await.ok()?;
    let callback = Callback::from_query("code=c&state=s");
    let token = client.authorize_access_token(&session, &callback).await.ok()?;
    client.get("user", &token).await.ok()?;
    Some(())
}}

#[allow(dead_code)] // unused when the declaration has no OpenID Connect provider
async fn oidc<P: OpenIdProvider>(client: Client<P>) -> Option<()> {{
    let token_source = client.clone();
    oauth(token_source).await?;
    let session = MemorySession::new();
    let callback = Callback::from_query("code=c&state=s");
    let token = client.authorize_access_token(&session, &callback).await.ok()?;
    client.userinfo(&token).await.ok()?;
    Some(())
}}

fn main() {{
    // Never true when run: the calls are here so that the flows are compiled for every provider.
    if std::env::args().count() > 99 {{
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
{uses}
    }}
    println!("{{}} providers", Providers::list().len());
}}
"""


def main():
    workspace, out = Path(sys.argv[1]).resolve(), sys.argv[2]
    root = workspace / "target" / "bench-code-size"
    crate = root / "crate"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        f"""[package]
name = "code-size"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
oauth-clients = {{ path = "{workspace / 'runtime'}" }}
tokio = {{ version = "1", features = ["rt"] }}

[workspace]
"""
    )
    # Another checkout's measurement can share the built dependencies (BENCHMARKS.md's
    # before/after): CODE_SIZE_TARGET_DIR names the target folder to use.
    # A relative folder is taken from the current directory (cargo itself runs in the crate's).
    target = Path(os.environ.get("CODE_SIZE_TARGET_DIR", root / "target")).resolve()
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    main_rs = crate / "src" / "main.rs"
    binary = target / "release" / "code-size"

    def build():
        started = time.perf_counter()
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=crate, env=env, check=True)
        return time.perf_counter() - started

    results = {"runs": RUNS}
    for n in SIZES:
        main_rs.write_text(program(n))
        build()  # dependencies, once
        times = []
        for _ in range(RUNS):
            os.utime(main_rs)
            times.append(build())
        symbols = subprocess.run(
            ["nm", "--demangle", "--defined-only", str(binary)], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        flow = [s for s in symbols if FLOW in s]
        results[str(n)] = {
            "build_s_median": round(statistics.median(times), 2),
            "binary_bytes": binary.stat().st_size,
            # Every symbol named after the flow: its code, drop glue, and tracing's call-site
            # statics; and the code alone (text symbols).
            "flow_symbols": len(flow),
            "flow_code": sum(1 for s in flow if s.split()[1] in ("t", "T")),
        }
        ran = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.strip()
        assert ran == f"{n} providers", ran
    Path(out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
