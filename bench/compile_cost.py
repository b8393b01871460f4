"""Compile cost of a 50-provider declaration: `cargo check` of a crate with it, against the
same crate without it (dependencies already built), and the metadata size per provider.

Usage: compile_cost.py WORKSPACE OUT_JSON
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROVIDERS = 50
RUNS = 3


def declaration():
    entries = []
    for i in range(PROVIDERS):
        if i % 2:
            entries.append(
                f"""    idp_{i} {{
        server_metadata_url: "https://idp{i}.example/.well-known/openid-configuration",
        scope: "openid email profile",
        authorize_params: {{ prompt: "select_account" }},
    }},"""
            )
        else:
            entries.append(
                f"""    oauth_{i} {{
        authorize_url: "https://oauth{i}.example/authorize",
        access_token_url: "https://oauth{i}.example/token",
        api_base_url: "https://api.oauth{i}.example/",
        scope: "read write",
        token_endpoint_auth_method: client_secret_post,
    }},"""
            )
    return "oauth_clients::oauth_clients! {\n" + "\n".join(entries) + "\n}\n"


def main():
    workspace, out = Path(sys.argv[1]).resolve(), sys.argv[2]
    # Under the workspace's target directory (CARGO_TARGET_DIR when set), so the dependencies
    # built for an earlier run are reused.
    root = Path(os.environ.get("CARGO_TARGET_DIR", workspace / "target")).resolve() / "bench-compile"
    crate = root / "crate"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        f"""[package]
name = "fifty-providers"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
oauth-clients = {{ path = "{workspace / 'runtime'}" }}

[workspace]
"""
    )
    env = dict(os.environ, CARGO_TARGET_DIR=str(root / "target"))
    lib = crate / "src" / "lib.rs"
    base = "pub fn marker() {}\n"

    def check():
        started = time.perf_counter()
        subprocess.run(["cargo", "check", "-q"], cwd=crate, env=env, check=True)
        return time.perf_counter() - started

    def rmeta():
        files = list((root / "target" / "debug" / "deps").glob("libfifty_providers-*.rmeta"))
        newest = max(files, key=lambda f: f.stat().st_mtime)
        return newest.stat().st_size

    lib.write_text(base)
    check()  # builds the dependencies once
    results = {}
    for name, source in [("without", base), ("with_50_providers", base + declaration())]:
        times = []
        for _ in range(RUNS):
            lib.write_text(source)
            os.utime(lib)
            times.append(check())
        results[name] = {"check_s_median": round(statistics.median(times), 3), "rmeta_bytes": rmeta()}
    results["check_s_per_provider"] = round(
        (results["with_50_providers"]["check_s_median"] - results["without"]["check_s_median"]) / PROVIDERS, 4
    )
    results["rmeta_bytes_per_provider"] = round(
        (results["with_50_providers"]["rmeta_bytes"] - results["without"]["rmeta_bytes"]) / PROVIDERS
    )
    results["source_bytes_per_provider"] = round(len(declaration()) / PROVIDERS)
    Path(out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
