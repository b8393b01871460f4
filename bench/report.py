"""Prints the benchmark table from the JSON results of `bench/run`.

Logins (`logins.json`) come from one lockstep run: medians and p99 are over every measured
login of each side. The ratio to Authlib is also given for each fifth of the run, to show the
spread.

Usage: report.py RESULTS_DIR
"""

import json
import os
import statistics
import sys
from pathlib import Path

FIFTHS = 5


def quantile(values, q):
    values = sorted(values)
    return values[round((len(values) - 1) * q)]


def summary(side):
    """Median and p99 of wall and CPU over a side's logins."""
    wall, cpu = side["wall_us"], side["cpu_us"]
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
    logins = json.loads((results / "logins.json").read_text())
    others = json.loads((results / "rust-others.json").read_text())
    compile_cost = json.loads((results / "compile.json").read_text())
    ours, hand, authlib = (summary(logins[side]) for side in ["ours", "hand", "authlib"])
    micro = others["micro"]

    def row(name, r, note=""):
        return f"| {name} | {r['wall_median_us']:.0f} | {r['wall_p99_us']:.0f} | {r['cpu_median_us']:.0f} | {note} |"

    ratio = lambda a, b: a / b if b else float("nan")
    # The ratio over each fifth of the run: both sides' logins of the same turns.
    size, turns = logins["turn_size"], logins["turns"]
    per_fifth = []
    for fifth in range(FIFTHS):
        first, last = fifth * turns // FIFTHS * size, (fifth + 1) * turns // FIFTHS * size
        part = lambda side: statistics.median(logins[side]["cpu_us"][first:last])
        per_fifth.append(ratio(part("ours"), part("authlib")))
    print(f"Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}")
    print(
        f"Logins: {turns} turns per side, in lockstep, each of {logins['turn_warmup']} unmeasured "
        f"and {size} measured logins; {turns * size} measured per side"
    )
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
        f"(target ≤ 0.1x); per fifth of the run: {', '.join(f'{r:.3f}' for r in per_fifth)}"
    )
    print()
    print("| round trips | token per warm login | userinfo per warm login | discovery | JWKS |")
    print("|---|---|---|---|---|")
    warm = others["round_trips"]["per_warm_login"]
    first = others["round_trips"]["first_login"]
    print(f"| oauth-clients | {warm['token']} | {warm['userinfo']} | {first['discovery']:.0f} (first login only) | {first['jwks']:.0f} (first login only) |")
    aw, total = logins["authlib"]["per_warm_login"], logins["authlib"]["requests_total"]
    print(f"| Authlib | {aw['token']} | {aw['userinfo']} | {total['discovery']} per process | {total['jwks']} per process |")
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
    store_path = results / "store.json"
    if store_path.exists():
        store = json.loads(store_path.read_text())
        print()
        print("| token store | save µs | load µs | lease take + give back µs | storm: callers | refresh requests | wait p50 ms | wait p99 ms | wait max ms | failures |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for backend, entry in store.items():
            ops = entry["operations"]
            storm = entry.get("storm")
            tail = (
                f"{storm['callers']} (3 processes) | {storm['refresh_requests']} | {storm['wait_p50_ms']:.1f} | "
                f"{storm['wait_p99_ms']:.1f} | {storm['wait_max_ms']:.1f} | {storm['failures']}"
                if storm
                else "one process only | | | | |"
            )
            print(f"| {backend} | {ops['save_us']:.0f} | {ops['load_us']:.0f} | {ops['lease_us']:.0f} | {tail} |")


if __name__ == "__main__":
    main()
