"""Logins with Authlib against the local provider, timed like the Rust side.

Runs the same OpenID Connect code flow as the Rust benchmark: PKCE, nonce, code exchange,
ID-token validation. The callback is handled step by step as Authlib's Django and Flask
`authorize_access_token` does it (the pending login from the session, code exchange, ID token),
without the web framework's request object. Authlib's `parse_id_token` does not compare `aud`
with the client id, so the check is made explicitly: both sides do the same work. Client CPU
per login is `time.process_time()` around Authlib's calls only; the provider runs in another
process. Each login's wall and CPU times are written out, for `report.py` to pool rounds.

Usage: bench.py PROVIDER_BINARY OUT_JSON [LOGINS]
"""

import json
import statistics
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
WARMUP = 30
LOGINS = 1000
LEEWAY = 120  # what authorize_access_token passes to parse_id_token


class App(OAuth2Mixin, OpenIDMixin, BaseApp):
    """What Authlib's Django and Flask integrations build, without a web framework."""

    client_cls = OAuth2Session


def main():
    binary, out = sys.argv[1], sys.argv[2]
    logins = int(sys.argv[3]) if len(sys.argv) > 3 else LOGINS
    provider = subprocess.Popen(
        [binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    discovery = provider.stdout.readline().strip()

    def counts():
        provider.stdin.write("counts\n")
        provider.stdin.flush()
        return json.loads(provider.stdout.readline())

    app = App(
        FrameworkIntegration("local"),
        "local",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        server_metadata_url=discovery,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
    )
    browser = requests.Session()
    wall, cpu = [], []
    before = None
    for i in range(WARMUP + logins):
        if i == WARMUP:
            before = counts()
        # What authorize_redirect does: the pending login goes into the user's session.
        session = {}
        rv = app.create_authorization_url(redirect_uri=REDIRECT_URI)
        data = dict(rv, redirect_uri=REDIRECT_URI)
        state = data.pop("state")
        app.framework.set_state_data(session, state, data)
        location = browser.get(rv["url"], allow_redirects=False).headers["location"]
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
        assert CLIENT_ID in (userinfo["aud"] if isinstance(userinfo["aud"], list) else [userinfo["aud"]])
        elapsed_cpu, elapsed_wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
        assert userinfo["sub"] == "alice"
        if i >= WARMUP:
            wall.append(elapsed_wall)
            cpu.append(elapsed_cpu)
    after = counts()
    provider.terminate()

    def quantile(values, q):
        values = sorted(values)
        return values[round((len(values) - 1) * q)]

    def per_login(name):
        return (after.get(name, 0) - before.get(name, 0)) / logins

    us = lambda seconds: round(seconds * 1e6, 1)
    result = {
        "n": logins,
        "wall_median_us": us(statistics.median(wall)),
        "wall_p99_us": us(quantile(wall, 0.99)),
        "cpu_median_us": us(statistics.median(cpu)),
        "cpu_p99_us": us(quantile(cpu, 0.99)),
        "logins_per_second": round(logins / sum(wall), 1),
        "per_warm_login": {name: per_login(name) for name in ["token", "userinfo", "discovery", "jwks"]},
        "discovery_total": after.get("discovery", 0),
        "jwks_total": after.get("jwks", 0),
        "wall_us": [us(w) for w in wall],
        "cpu_us": [us(c) for c in cpu],
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_us") or not isinstance(v, list)}, indent=2))


if __name__ == "__main__":
    main()
