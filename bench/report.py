"""Prints the benchmark table from the JSON results of `bench/run`.

Login rounds (`rust-logins-N.json`, `authlib-N.json`) are pooled: medians and p99 are over
every login of every round. The ratio to Authlib is also given per round, to show the spread.

Usage: report.py RESULTS_DIR
"""

import json
import os
import statistics
import sys
from pathlib import Path


def quantile(values, q):
    values = sorted(values)
    return values[round((len(values) - 1) * q)]


def pooled(rounds):
    """Median and p99 of wall and CPU over all rounds' logins."""
    wall = [w for r in rounds for w in r["wall_us"]]
    cpu = [c for r in rounds for c in r["cpu_us"]]
    return {
        "n": len(cpu),
        "wall_median_us": statistics.median(wall),
        "wall_p99_us": quantile(wall, 0.99),
        "cpu_median_us": statistics.median(cpu),
        "cpu_p99_us": quantile(cpu, 0.99),
        "wall_total_s": sum(wall) / 1e6,
    }


def main():
    results = Path(sys.argv[1])
    count = len(list(results.glob("rust-logins-*.json")))
    rounds = range(1, count + 1)
    rust_rounds = [json.loads((results / f"rust-logins-{i}.json").read_text()) for i in rounds]
    authlib_rounds = [json.loads((results / f"authlib-{i}.json").read_text()) for i in rounds]
    others = json.loads((results / "rust-others.json").read_text())
    compile_cost = json.loads((results / "compile.json").read_text())
    ours = pooled([r["login_ours"] for r in rust_rounds])
    hand = pooled([r["login_hand_written"] for r in rust_rounds])
    authlib = pooled(authlib_rounds)
    micro = others["micro"]

    def row(name, r, note=""):
        return f"| {name} | {r['wall_median_us']:.0f} | {r['wall_p99_us']:.0f} | {r['cpu_median_us']:.0f} | {note} |"

    ratio = lambda a, b: a / b if b else float("nan")
    per_round = [
        ratio(statistics.median(r["login_ours"]["cpu_us"]), statistics.median(a["cpu_us"]))
        for r, a in zip(rust_rounds, authlib_rounds)
    ]
    print(f"Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}")
    print(f"Logins: {count} rounds of {rust_rounds[0]['login_ours']['n']} per side, pooled")
    print()
    print("| per login (callback handling) | wall median µs | wall p99 µs | client CPU median µs | |")
    print("|---|---|---|---|---|")
    print(row("oauth-clients", ours))
    print(row("hand-written oauth2 + openidconnect", hand))
    logins_per_second = authlib["n"] / authlib["wall_total_s"]
    print(row("Authlib 1.9 (Python)", authlib, f"{logins_per_second:.1f} logins/s"))
    print()
    print(f"- wall, oauth-clients / hand-written: {ratio(ours['wall_median_us'], hand['wall_median_us']):.2f}x (target ≤ 1.10x)")
    print(f"- client CPU, oauth-clients / hand-written: {ratio(ours['cpu_median_us'], hand['cpu_median_us']):.2f}x (target ≤ 0.5x)")
    print(
        f"- client CPU, oauth-clients / Authlib: {ratio(ours['cpu_median_us'], authlib['cpu_median_us']):.3f}x "
        f"(target ≤ 0.1x); per round: {', '.join(f'{r:.3f}' for r in per_round)}"
    )
    print()
    print("| round trips | token per warm login | userinfo per warm login | discovery | JWKS |")
    print("|---|---|---|---|---|")
    warm = others["round_trips"]["per_warm_login"]
    first = others["round_trips"]["first_login"]
    print(f"| oauth-clients | {warm['token']} | {warm['userinfo']} | {first['discovery']:.0f} (first login only) | {first['jwks']:.0f} (first login only) |")
    last = authlib_rounds[-1]
    aw = last["per_warm_login"]
    print(f"| Authlib | {aw['token']} | {aw['userinfo']} | {last['discovery_total']} per process | {last['jwks_total']} per process |")
    print()
    print("| operation | median µs | p99 µs | CPU median µs |")
    print("|---|---|---|---|")
    for name, key in [
        ("authorize_redirect", "authorize_redirect"),
        ("ID-token validation (RS256, cached keys)", "id_token_validation_rs256"),
        ("ID-token validation (ES256, cached keys)", "id_token_validation_es256"),
        ("API call through the library", "api_call"),
        ("the same call with bare reqwest", "bare_reqwest_call"),
    ]:
        r = micro[key]
        print(f"| {name} | {r['wall_median_us']:.1f} | {r['wall_p99_us']:.1f} | {r['cpu_median_us']:.1f} |")
    c = others["concurrent_refresh"]
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
