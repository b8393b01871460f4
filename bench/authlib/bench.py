"""The login benchmark: Authlib, oauth-clients, the hand-written Rust flow and openid-client
(Node), in lockstep.

One local provider process serves every client. The Rust flows run in another process
(`bench lockstep DISCOVERY_URL`), a turn of logins at a time on command; openid-client runs in
a Node process with the same protocol (`bench/openid-client/bench.mjs`), twice configured:
with its defaults (no ID-token signature check) and with its non-repudiation checks on (the
signature verified with the JWKS, the same work as the others); Authlib runs here. The sides
take turns (in an order that rotates every turn), so a slower or faster spell of the machine
falls on all of them alike. Each turn starts
with unmeasured logins: on this machine a process that resumes after a pause runs its first
tens of milliseconds faster (the Rust flows by about a quarter), and caches are cold after the
other sides' turns, so only logins past that point are measured, the steady state of each side.

Authlib's callback handling follows its Django and Flask `authorize_access_token` step by step
(the pending login from the session through `FrameworkIntegration`, code exchange, ID token),
without the web framework's request object. Authlib's `parse_id_token` does not compare `aud`
with the client id, so the check is made explicitly: every side does the same work. Client CPU
per login is `time.process_time()` around Authlib's calls only. The provider counts requests per
endpoint; Authlib's share is taken around its own turns.

Usage: bench.py PROVIDER_BINARY RUST_BENCH_BINARY OUT_JSON [TURNS [TURN_SIZE [OPENID_CLIENT_DIR]]]

OPENID_CLIENT_DIR holds bench.mjs with openid-client installed beside it (`npm ci`, as
`bench/run` does); without it, openid-client is left out.
"""

import json
import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import requests
from authlib.integrations.base_client import FrameworkIntegration, OAuth2Mixin, OpenIDMixin
from authlib.integrations.base_client.sync_app import BaseApp
from authlib.integrations.requests_client import OAuth2Session

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "http://127.0.0.1:8080/callback"
WARMUP = 30  # logins before the first turn
TURN_WARMUP = 30  # unmeasured logins at the start of every turn
TURNS = 10
TURN_SIZE = 100  # measured logins per turn and side
LEEWAY = 120  # what authorize_access_token passes to parse_id_token
ENDPOINTS = ["token", "userinfo", "discovery", "jwks"]


class App(OAuth2Mixin, OpenIDMixin, BaseApp):
    """What Authlib's Django and Flask integrations build, without a web framework."""

    client_cls = OAuth2Session


class Provider:
    """The standalone provider process: its discovery URL and its request counts."""

    def __init__(self, binary):
        self.process = subprocess.Popen(
            [binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.discovery = self.process.stdout.readline().strip()

    def counts(self):
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self):
        self.process.terminate()


class Peer:
    """Another process's flows (the Rust ones, openid-client's), one turn at a time."""

    def __init__(self, command, name):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            sys.exit(f"the {name} side did not start (said {ready!r})")

    def turn(self, flow, n):
        self.process.stdin.write(f"{flow} {TURN_WARMUP} {n}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"a peer process stopped during a turn of {flow!r}")
        return json.loads(line)

    def stop(self):
        self.process.stdin.close()
        self.process.wait()


class Authlib:
    def __init__(self, discovery):
        self.app = App(
            FrameworkIntegration("local"),
            "local",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            server_metadata_url=discovery,
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
        self.browser = requests.Session()

    def login(self):
        """One login; the wall and CPU time of the callback handling only."""
        app = self.app
        # What authorize_redirect does: the pending login goes into the user's session.
        session = {}
        rv = app.create_authorization_url(redirect_uri=REDIRECT_URI)
        data = dict(rv, redirect_uri=REDIRECT_URI)
        state = data.pop("state")
        app.framework.set_state_data(session, state, data)
        location = self.browser.get(rv["url"], allow_redirects=False).headers["location"]
        query = parse_qs(urlparse(location).query)
        params = {"code": query["code"][0], "state": query["state"][0]}
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        # What authorize_access_token does: the pending login out of the session, code
        # exchange, ID-token validation.
        state_data = app.framework.get_state_data(session, params.get("state"))
        app.framework.clear_state_data(session, params.get("state"))
        params = app._format_state_params(state_data, params)
        token = app.fetch_access_token(**params)
        userinfo = app.parse_id_token(token, nonce=state_data["nonce"], leeway=LEEWAY)
        token["userinfo"] = userinfo
        aud = userinfo["aud"]
        assert CLIENT_ID in (aud if isinstance(aud, list) else [aud])
        cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
        assert userinfo["sub"] == "alice"
        return wall, cpu

    def turn(self, n, warm=TURN_WARMUP):
        us = lambda seconds: round(seconds * 1e6, 1)
        times = [self.login() for _ in range(warm + n)][warm:]
        return {"wall_us": [us(w) for w, _ in times], "cpu_us": [us(c) for _, c in times]}


def openid_client_version(directory):
    """The installed openid-client's version (package.json pins it exactly)."""
    path = os.path.join(directory, "node_modules", "openid-client", "package.json")
    with open(path) as f:
        return json.load(f)["version"]


def main():
    provider_binary, rust_binary, out = sys.argv[1], sys.argv[2], sys.argv[3]
    turns = int(sys.argv[4]) if len(sys.argv) > 4 else TURNS
    turn_size = int(sys.argv[5]) if len(sys.argv) > 5 else TURN_SIZE
    openid_client_dir = sys.argv[6] if len(sys.argv) > 6 else None
    provider = Provider(provider_binary)
    rust = Peer([rust_binary, "lockstep", provider.discovery], "Rust")
    peers = [rust]
    node = None
    if openid_client_dir:
        script = os.path.join(openid_client_dir, "bench.mjs")
        node = Peer(["node", script, provider.discovery], "openid-client")
        peers.append(node)

    # Authlib's requests, counted around its own work only (the Rust side shares the provider).
    authlib_requests = {name: 0 for name in ENDPOINTS}
    warm_requests = {name: 0 for name in ENDPOINTS}

    def counted(work, into):
        before = provider.counts()
        result = work()
        after = provider.counts()
        for total in into:
            for name in ENDPOINTS:
                total[name] += after.get(name, 0) - before.get(name, 0)
        return result

    authlib = counted(lambda: Authlib(provider.discovery), [authlib_requests])
    counted(lambda: authlib.turn(0, warm=WARMUP), [authlib_requests])

    runs = {
        "authlib": lambda: counted(lambda: authlib.turn(turn_size), [authlib_requests, warm_requests]),
        "ours": lambda: rust.turn("ours", turn_size),
        "hand": lambda: rust.turn("hand", turn_size),
    }
    # openid-client's requests per configuration, around its own turns.
    openid_client_warm = {}
    if node:
        for mode in ["defaults", "checks"]:
            warm = openid_client_warm[f"openid_client_{mode}"] = {name: 0 for name in ENDPOINTS}
            runs[f"openid_client_{mode}"] = lambda mode=mode, warm=warm: counted(
                lambda: node.turn(mode, turn_size), [warm]
            )
    order = list(runs)
    results = {side: {"wall_us": [], "cpu_us": [], "turn_cpu_medians": []} for side in order}
    for t in range(turns):
        k = t % len(order)
        for side in order[k:] + order[:k]:
            samples = runs[side]()
            results[side]["wall_us"] += samples["wall_us"]
            results[side]["cpu_us"] += samples["cpu_us"]
            cpu = sorted(samples["cpu_us"])
            results[side]["turn_cpu_medians"].append(cpu[len(cpu) // 2])
    for peer in peers:
        peer.stop()
    provider.stop()

    logins = turns * (TURN_WARMUP + turn_size)
    results["authlib"]["per_warm_login"] = {name: warm_requests[name] / logins for name in ENDPOINTS}
    results["authlib"]["requests_total"] = authlib_requests
    for side, warm in openid_client_warm.items():
        results[side]["per_warm_login"] = {name: warm[name] / logins for name in ENDPOINTS}
    if node:
        results["openid_client_version"] = openid_client_version(openid_client_dir)
    results["turns"] = turns
    results["turn_size"] = turn_size
    results["turn_warmup"] = TURN_WARMUP
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
