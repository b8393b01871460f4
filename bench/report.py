"""Prints the benchmark tables from the JSON results of `bench/run`.

Logins (`logins.json`) come from one lockstep run: medians and p99 are over every measured
login of each side. The ratio to Authlib is also given for each fifth of the run, to show the
spread.

The sections about openid-client, the example app under load and the token store's memory
are also rendered as Markdown; with `--write BENCHMARKS.md` each replaces the text between
its markers there (`<!-- report.py: NAME -->` ... `<!-- /report.py: NAME -->`), so a full
run (`RECORD=1 bench/run`) fills them in.

Usage: report.py RESULTS_DIR [--write BENCHMARKS.md]
"""

import datetime
import json
import os
import re
import statistics
import sys
from pathlib import Path

FIFTHS = 5
# Issue 18's goals for this library.
GOAL_CPU_VS_OPENID_CLIENT = 0.2
GOAL_CPU_VS_AUTHLIB = 0.15
GOAL_WALL_VS_HAND = 0.9
GOAL_THROUGHPUT_AT_1000 = 0.9
GOAL_P99_FACTOR = 5
GOAL_KIB_PER_PENDING = 2


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


def ratio(a, b):
    return a / b if b else float("nan")


def verdict(met):
    return "met" if met else "**missed**"


def peers_section(logins, ours, hand, authlib):
    """openid-client against the other sides, and the ratios to every peer."""
    sides = [
        ("oauth-clients", ours),
        ("hand-written oauth2 + openidconnect", hand),
        (f"openid-client {logins.get('openid_client_version', '6')}, signature checked (`enableNonRepudiationChecks`)",
         summary(logins["openid_client_checks"])),
        (f"openid-client {logins.get('openid_client_version', '6')}, defaults (no signature check)",
         summary(logins["openid_client_defaults"])),
        ("Authlib (Python)", authlib),
    ]
    size, turns = logins["turn_size"], logins["turns"]
    lines = [
        f"{turns} turns per side in lockstep, each of {logins['turn_warmup']} unmeasured and {size} measured "
        f"logins ({turns * size} measured per side), one provider process.",
        "",
        "| per login (callback handling) | wall median µs | wall p99 µs | client CPU median µs | client CPU p99 µs |",
        "|---|---|---|---|---|",
    ]
    for name, r in sides:
        lines.append(
            f"| {name} | {r['wall_median_us']:.0f} | {r['wall_p99_us']:.0f} | {r['cpu_median_us']:.0f} | {r['cpu_p99_us']:.0f} |"
        )
    lines += ["", "| oauth-clients / peer | client CPU | wall |", "|---|---|---|"]
    for name, r in sides[1:]:
        lines.append(
            f"| {name} | {ratio(ours['cpu_median_us'], r['cpu_median_us']):.3f}x | {ratio(ours['wall_median_us'], r['wall_median_us']):.2f}x |"
        )
    checks, authlib_r = sides[2][1], authlib
    cpu_oc = ratio(ours["cpu_median_us"], checks["cpu_median_us"])
    cpu_authlib = ratio(ours["cpu_median_us"], authlib_r["cpu_median_us"])
    wall_hand = ratio(ours["wall_median_us"], hand["wall_median_us"])
    per_fifth = []
    for fifth in range(FIFTHS):
        first, last = fifth * turns // FIFTHS * size, (fifth + 1) * turns // FIFTHS * size
        part = lambda side: statistics.median(logins[side]["cpu_us"][first:last] or [float("nan")])
        per_fifth.append(ratio(part("ours"), part("openid_client_checks")))
    lines += [
        "",
        f"- client CPU, oauth-clients / openid-client with its checks on: {cpu_oc:.3f}x "
        f"(goal ≤ {GOAL_CPU_VS_OPENID_CLIENT}x: {verdict(cpu_oc <= GOAL_CPU_VS_OPENID_CLIENT)}); "
        f"per fifth of the run: {', '.join(f'{r:.3f}' for r in per_fifth)}",
        f"- client CPU, oauth-clients / Authlib: {cpu_authlib:.3f}x (goal ≤ {GOAL_CPU_VS_AUTHLIB}x: "
        f"{verdict(cpu_authlib <= GOAL_CPU_VS_AUTHLIB)})",
        f"- wall, oauth-clients / hand-written: {wall_hand:.2f}x (goal ≤ {GOAL_WALL_VS_HAND}x: "
        f"{verdict(wall_hand <= GOAL_WALL_VS_HAND)})",
    ]
    trips = [
        (f"openid-client, {mode}", logins[f"openid_client_{mode}"].get("per_warm_login"))
        for mode in ["checks", "defaults"]
    ]
    if all(t for _, t in trips):
        lines += ["", "| round trips per warm login | token | userinfo | discovery | JWKS |", "|---|---|---|---|---|"]
        for name, t in trips:
            lines.append(f"| {name} | {t['token']} | {t['userinfo']} | {t['discovery']} | {t['jwks']} |")
    return lines


def errors(result):
    """A load result's failed logins, over all its rounds."""
    return result.get("errors_all_rounds", result["errors"])


def per_round(result, key):
    """Every round's figure of a load result, in the order they ran."""
    return ", ".join(str(r[key]) for r in result.get("rounds", [result]))


def control(result, idle_approval):
    """The open loop's approval p99 and its ratio to the idle one, when measured."""
    if idle_approval is None or "approval_p99_ms" not in result:
        return "not measured"
    return f"{result['approval_p99_ms']}, {ratio(result['approval_p99_ms'], idle_approval):.1f}x"


def load_section(load):
    """The example app under load: cold start, memory, closed and open loop."""
    cold, memory = load["cold"], load["memory"]
    closed, open_loop = load["closed_loop"], load["open_loop"]
    peak = load["capacity_logins_per_s"]
    first = cold["first"]
    lines = [
        f"{load['cores']} cores; the app, the provider ({load.get('provider_threads', 1)} worker threads) and the "
        "load generator share them. "
        f"Open-files limit raised to {load['open_files_limit']['soft']}. "
        f"Every closed loop and open-loop rate ran in {load.get('rounds', 1)} rounds, one N (or rate) after another "
        "in each round; a row is the median round (closed loop: by throughput, open loop: by callback p99), "
        "every round's figure in the last column, and the errors are all rounds'.",
        "",
        "| first login after start | login route ms | callback ms | API call ms | whole login ms | discovery requests | JWKS requests |",
        "|---|---|---|---|---|---|---|",
        f"| cold | {first['login_route_ms']} | {first['callback_ms']} | {first['api_ms']} | {first['login_ms']} | "
        f"{first['discovery_requests']} | {first['jwks_requests']} |",
        f"| warm (median of 20, one at a time) | {cold['warm']['login_route_p50_ms']} | {cold['warm']['callback_p50_ms']} | "
        f"{cold['warm']['api_p50_ms']} | {cold['warm']['login_p50_ms']} | 0 | 0 |",
        "",
        "| closed loop: users | logins/s | % of peak | errors | callback p50 ms | callback p99 ms | login p50 ms | login p99 ms | CPU µs per login: app / provider / load generator | logins/s per round |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in closed:
        cpu = r["cpu_per_login_us"]
        lines.append(
            f"| {r['users']} | {r['logins_per_s']} | {100 * ratio(r['logins_per_s'], peak):.0f}% | {errors(r)} | "
            f"{r['callback_p50_ms']} | {r['callback_p99_ms']} | {r['login_p50_ms']} | {r['login_p99_ms']} | "
            f"{cpu['app']:.0f} / {cpu['provider']:.0f} / {cpu['load_generator']:.0f} | {per_round(r, 'logins_per_s')} |"
        )
    idle = next((r for r in closed if r["users"] == 1), None)
    # The idle p99: the median of the one-user rounds' p99, as the open loop's rows are.
    idle_p99 = statistics.median(x["callback_p99_ms"] for x in idle.get("rounds", [idle])) if idle else float("nan")
    # The control: the approval at the provider, a request neither the app nor the library
    # takes part in (absent from runs before it was measured).
    idle_approval = (
        statistics.median(x["approval_p99_ms"] for x in idle.get("rounds", [idle]))
        if idle and "approval_p99_ms" in idle
        else None
    )
    lines += [
        "",
        "| open loop: % of peak | arrivals/s | logins | errors | callback p50 ms | callback p99 ms | p99 / idle p99 | most in flight | callback p99 ms per round | control: approval p99 ms, / idle |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in open_loop:
        lines.append(
            f"| {r['percent_of_capacity']}% | {r['rate_per_s']} | {r['logins']} | {errors(r)} | {r['callback_p50_ms']} | "
            f"{r['callback_p99_ms']} | {ratio(r['callback_p99_ms'], idle_p99):.1f}x | {r['most_in_flight']} | "
            f"{per_round(r, 'callback_p99_ms')} | {control(r, idle_approval)} |"
        )
    per_pending = memory["kib_per_1000_pending"]
    lines += [
        "",
        f"- memory of the app (VmRSS): {memory['rss_start_kib']} KiB before; "
        f"{per_pending} KiB per 1000 pending logins ({memory['pending_logins']} started, never finished); "
        f"{memory['kib_per_1000_stored']} KiB per 1000 finished logins (a signed-in session and a sealed token each; "
        f"{memory['stored_logins']} logins); {load['rss_end_kib']} KiB at the end of the run",
    ]
    at_1000 = next((r for r in closed if r["users"] == 1000), None)
    if at_1000:
        share = ratio(at_1000["logins_per_s"], peak)
        met = errors(at_1000) == 0 and share >= GOAL_THROUGHPUT_AT_1000
        lines.append(
            f"- at 1000 concurrent users: {errors(at_1000)} failed logins, throughput {100 * share:.0f}% of the peak "
            f"(goal: none failed and ≥ {100 * GOAL_THROUGHPUT_AT_1000:.0f}%: {verdict(met)})"
        )
    within = [r for r in open_loop if r["percent_of_capacity"] <= 75]
    if within and idle:
        worst = max(ratio(r["callback_p99_ms"], idle_p99) for r in within)
        lines.append(
            f"- open loop up to 75% of capacity: callback p99 at most {worst:.1f}x the idle p99 of {idle_p99} ms "
            f"(goal ≤ {GOAL_P99_FACTOR}x: {verdict(worst <= GOAL_P99_FACTOR)})"
        )
        if idle_approval:
            control_worst = max(ratio(r["approval_p99_ms"], idle_approval) for r in within)
            lines.append(
                f"- the control, the approval at the provider (no app, no library), in the same rounds: p99 at most "
                f"{control_worst:.1f}x its idle p99 of {idle_approval} ms"
            )
    lines.append(
        f"- app memory per pending login: {per_pending / 1000:.2f} KiB (goal ≤ {GOAL_KIB_PER_PENDING} KiB: "
        f"{verdict(per_pending / 1000 <= GOAL_KIB_PER_PENDING)})"
    )
    return lines


def store_memory_section(store):
    """The token store with encryption on: cost and size of a record."""
    lines = [
        "| token store (sealed with AES-256-GCM) | save µs | load µs | bytes per record (sealed) | token JSON bytes | KiB per 1000 tokens in memory |",
        "|---|---|---|---|---|---|",
    ]
    for backend, entry in store.items():
        ops = entry["operations"]
        lines.append(
            f"| {backend} | {ops['save_us']:.0f} | {ops['load_us']:.0f} | {ops.get('record_bytes', '')} | "
            f"{ops.get('token_json_bytes', '')} | {entry.get('kib_per_1000_tokens', '')} |"
        )
    return lines


def code_size_section(sizes):
    """Build time, binary size and copies of the callback handling, by declared providers."""
    lines = [
        f"Release builds of the application crate alone (dependencies built), median of {sizes['runs']}.",
        "",
        "| providers | build s | binary bytes | `authorize_access_token` symbols (of which code) |",
        "|---|---|---|---|",
    ]
    for n in sorted((k for k in sizes if k.isdigit()), key=int):
        r = sizes[n]
        lines.append(f"| {n} | {r['build_s_median']} | {r['binary_bytes']:,} | {r['flow_symbols']} ({r['flow_code']}) |".replace(",", " "))
    return lines


def write_sections(path, sections, stamp):
    """Replaces each section's text between its markers in `path`."""
    text = Path(path).read_text()
    for name, lines in sections.items():
        begin, end = f"<!-- report.py: {name} -->", f"<!-- /report.py: {name} -->"
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            sys.exit(f"{path} has no markers for the section {name!r}")
        body = "\n".join([begin, "", stamp, "", *lines, "", end])
        text = pattern.sub(lambda _: body, text)
    Path(path).write_text(text)


def main():
    results = Path(sys.argv[1])
    write_to = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--write" else None
    logins = json.loads((results / "logins.json").read_text())
    others = json.loads((results / "rust-others.json").read_text())
    compile_cost = json.loads((results / "compile.json").read_text())
    ours, hand, authlib = (summary(logins[side]) for side in ["ours", "hand", "authlib"])
    micro = others["micro"]

    def row(name, r, note=""):
        return f"| {name} | {r['wall_median_us']:.0f} | {r['wall_p99_us']:.0f} | {r['cpu_median_us']:.0f} | {note} |"

    # The ratio over each fifth of the run: both sides' logins of the same turns.
    size, turns = logins["turn_size"], logins["turns"]
    per_fifth = []
    for fifth in range(FIFTHS):
        first, last = fifth * turns // FIFTHS * size, (fifth + 1) * turns // FIFTHS * size
        part = lambda side: statistics.median(logins[side]["cpu_us"][first:last] or [float("nan")])
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

    # The generated sections.
    sections = {}
    if "openid_client_checks" in logins:
        sections["openid-client"] = peers_section(logins, ours, hand, authlib)
    load_path = results / "load.json"
    if load_path.exists():
        sections["load"] = load_section(json.loads(load_path.read_text()))
    code_size_path = results / "code-size.json"
    if code_size_path.exists():
        sections["code-size"] = code_size_section(json.loads(code_size_path.read_text()))
    if store_path.exists():
        sections["token-store-memory"] = store_memory_section(json.loads(store_path.read_text()))
    stamp = (
        f"Generated by `bench/report.py` from the run of "
        f"{datetime.date.fromtimestamp((results / 'logins.json').stat().st_mtime).isoformat()} "
        f"({os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}):"
    )
    for name, lines in sections.items():
        print()
        print(f"## {name}")
        print()
        print("\n".join(lines))
    if write_to:
        write_sections(write_to, sections, stamp)


if __name__ == "__main__":
    main()
