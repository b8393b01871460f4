"""Prints the benchmark table from the JSON results of `bench/run`.

Usage: report.py RESULTS_DIR
"""

import json
import os
import sys
from pathlib import Path


def main():
    results = Path(sys.argv[1])
    rust = json.loads((results / "rust.json").read_text())
    authlib = json.loads((results / "authlib.json").read_text())
    compile_cost = json.loads((results / "compile.json").read_text())
    ours, hand = rust["login_ours"], rust["login_hand_written"]
    micro = rust["micro"]

    def row(name, r, note=""):
        return f"| {name} | {r['wall_median_us']:.0f} | {r['wall_p99_us']:.0f} | {r['cpu_median_us']:.0f} | {note} |"

    ratio = lambda a, b: a / b if b else float("nan")
    print(f"Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}")
    print()
    print("| per login (callback handling) | wall median µs | wall p99 µs | client CPU median µs | |")
    print("|---|---|---|---|---|")
    print(row("oauth-clients", ours))
    print(row("hand-written oauth2 + openidconnect", hand))
    print(row("Authlib 1.9 (Python)", authlib, f"{authlib['logins_per_second']} logins/s"))
    print()
    print(f"- wall, oauth-clients / hand-written: {ratio(ours['wall_median_us'], hand['wall_median_us']):.2f}x (target ≤ 1.10x)")
    print(f"- client CPU, oauth-clients / hand-written: {ratio(ours['cpu_median_us'], hand['cpu_median_us']):.2f}x (target ≤ 0.5x)")
    print(f"- client CPU, oauth-clients / Authlib: {ratio(ours['cpu_median_us'], authlib['cpu_median_us']):.3f}x (target ≤ 0.1x)")
    print()
    print("| round trips | token per warm login | userinfo per warm login | discovery | JWKS |")
    print("|---|---|---|---|---|")
    warm = rust["round_trips"]["per_warm_login"]
    first = rust["round_trips"]["first_login"]
    print(f"| oauth-clients | {warm['token']} | {warm['userinfo']} | {first['discovery']:.0f} (first login only) | {first['jwks']:.0f} (first login only) |")
    aw = authlib["per_warm_login"]
    print(f"| Authlib | {aw['token']} | {aw['userinfo']} | {authlib['discovery_total']} per process | {authlib['jwks_total']} per process |")
    print()
    print("| operation | median µs | p99 µs | CPU median µs |")
    print("|---|---|---|---|")
    for name, key in [
        ("authorize_redirect", "authorize_redirect"),
        ("ID-token validation (RS256, cached keys)", "id_token_validation_rs256"),
        ("API call through the library", "api_call"),
        ("the same call with bare reqwest", "bare_reqwest_call"),
    ]:
        r = micro[key]
        print(f"| {name} | {r['wall_median_us']:.1f} | {r['wall_p99_us']:.1f} | {r['cpu_median_us']:.1f} |")
    c = rust["concurrent_refresh"]
    print()
    print(f"- {c['calls']} concurrent API calls with one expired token: {c['wall_ms']} ms, {c['refresh_requests']} refresh request(s)")
    print(
        f"- compile cost, 50 providers: cargo check {compile_cost['with_50_providers']['check_s_median']} s "
        f"vs {compile_cost['without']['check_s_median']} s without "
        f"({compile_cost['check_s_per_provider'] * 1000:.1f} ms per provider); "
        f"{compile_cost['rmeta_bytes_per_provider']} metadata bytes and "
        f"{compile_cost['source_bytes_per_provider']} source bytes per provider"
    )


if __name__ == "__main__":
    main()
