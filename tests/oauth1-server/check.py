#!/usr/bin/env python3
"""Checks a running server.py with oauthlib's own client: the three-legged login and signed API
calls for every registered client in each placement, and that the server refuses what it must
(a replayed nonce, a wrong secret, a changed parameter, PLAINTEXT over http, a request token
redeemed twice, an unregistered callback, a client signing with a method it did not register).

    python check.py --http PORT --https PORT --ca CERT.pem

It needs only the venv of requirements.txt; the Rust harness does not run it (the Rust tests
are the interop tests). Exit status 0 when every check passed.
"""

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from oauthlib.oauth1 import (
    SIGNATURE_TYPE_AUTH_HEADER,
    SIGNATURE_TYPE_BODY,
    SIGNATURE_TYPE_QUERY,
    Client,
)

HERE = Path(__file__).resolve().parent
REGISTRY = json.loads((HERE / "clients.json").read_text(encoding="utf-8"))
CALLBACK = REGISTRY["callbacks"][0]
FORM = "application/x-www-form-urlencoded"
PLACEMENTS = {
    "header": SIGNATURE_TYPE_AUTH_HEADER,
    "body": SIGNATURE_TYPE_BODY,
    "query": SIGNATURE_TYPE_QUERY,
}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Http:
    def __init__(self, ca):
        context = ssl.create_default_context(cafile=ca)
        self.opener = urllib.request.build_opener(
            NoRedirect, urllib.request.HTTPSHandler(context=context))

    def send(self, method, uri, headers=None, body=None):
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(uri, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()


def client_for(entry, placement, **tokens):
    kwargs = dict(signature_method=entry["signature_method"],
                  signature_type=PLACEMENTS[placement], **tokens)
    if "rsa_private_key" in entry:
        kwargs["rsa_key"] = (HERE / entry["rsa_private_key"]).read_text()
    else:
        kwargs["client_secret"] = entry["secret"]
    return Client(entry["key"], **kwargs)


def signed(client, method, uri, params=None):
    """Signs a request as oauthlib's client does; form parameters go in the body of a POST."""
    if method == "POST":
        body = urlencode(params or [])
        return (method, *client.sign(uri, method, body, {"Content-Type": FORM}))
    if params:
        uri = f"{uri}?{urlencode(params)}"
    return (method, *client.sign(uri, method))


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def expect(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed.append(f"{name}: {detail}")
            print(f"FAILED {name}: {detail}", file=sys.stderr)


def login(http, base, entry, placement, checks, name, user="bob", callback=CALLBACK):
    """Runs the three legs; returns the token credentials (or None) and the raw answers."""
    client = client_for(entry, placement, callback_uri=callback)
    status, _, body = http.send(*signed(client, "POST", f"{base}/request_token"))
    checks.expect(f"{name} request_token", status == 200, f"{status} {body}")
    if status != 200:
        return None
    temporary = dict(parse_qsl(body))
    checks.expect(f"{name} callback confirmed", temporary.get("oauth_callback_confirmed") == "true",
                  body)
    status, headers, page = http.send(
        "GET", f"{base}/authorize?oauth_token={temporary['oauth_token']}&user={user}")
    if callback == "oob":
        checks.expect(f"{name} oob page", status == 200 and page.startswith("verifier="),
                      f"{status} {page}")
        verifier = page.removeprefix("verifier=")
    else:
        checks.expect(f"{name} authorize redirects", status == 302, f"{status} {page}")
        location = urlsplit(headers.get("Location", ""))
        checks.expect(f"{name} back to the callback",
                      f"{location.scheme}://{location.netloc}{location.path}" == callback,
                      str(location))
        answer = dict(parse_qsl(location.query))
        checks.expect(f"{name} same token back", answer.get("oauth_token") == temporary["oauth_token"],
                      str(answer))
        verifier = answer.get("oauth_verifier", "")
    client = client_for(entry, placement, resource_owner_key=temporary["oauth_token"],
                        resource_owner_secret=temporary["oauth_token_secret"], verifier=verifier)
    access = signed(client, "POST", f"{base}/access_token")
    status, _, body = http.send(*access)
    checks.expect(f"{name} access_token", status == 200, f"{status} {body}")
    if status != 200:
        return None
    token = dict(parse_qsl(body))
    user_entry = REGISTRY["users"][user]
    checks.expect(f"{name} user fields",
                  token.get("user_id") == user_entry["user_id"]
                  and token.get("screen_name") == user_entry["screen_name"], body)
    # The same request again: refused (its nonce is used, and so is the request token).
    status, _, _ = http.send(*access)
    checks.expect(f"{name} access_token replay refused", status == 401, str(status))
    # The same request token and verifier, freshly signed: refused (redeemed once).
    client = client_for(entry, placement, resource_owner_key=temporary["oauth_token"],
                        resource_owner_secret=temporary["oauth_token_secret"], verifier=verifier)
    status, _, _ = http.send(*signed(client, "POST", f"{base}/access_token"))
    checks.expect(f"{name} request token redeemed once", status == 401, str(status))
    return token


def api_calls(http, base, entry, placement, token, checks, name, user="bob"):
    client = client_for(entry, placement, resource_owner_key=token["oauth_token"],
                        resource_owner_secret=token["oauth_token_secret"])
    expected_user = REGISTRY["users"][user]["screen_name"]
    # GET with query parameters (a body placement cannot go in a GET: oauthlib signs it in the
    # query instead, as the RFC allows only form bodies).
    get_placement = "query" if placement == "body" else placement
    get_client = client_for(entry, get_placement, resource_owner_key=token["oauth_token"],
                            resource_owner_secret=token["oauth_token_secret"])
    request = signed(get_client, "GET", f"{base}/api/user", [("a", "1"), ("b", "2 3/€")])
    status, _, body = http.send(*request)
    checks.expect(f"{name} GET /api/user", status == 200, f"{status} {body}")
    if status == 200:
        answer = json.loads(body)
        want = {"user": expected_user, "client": entry["key"], "method": "GET",
                "signature_method": entry["signature_method"], "signature_type": get_placement,
                "query": {"a": "1", "b": "2 3/€"}, "form": {}, "params": {"a": "1", "b": "2 3/€"}}
        got = {k: answer[k] for k in want}
        checks.expect(f"{name} GET answer", got == want, f"{got} != {want}")
    status, _, _ = http.send(*request)
    checks.expect(f"{name} GET replay refused", status == 401, str(status))

    request = signed(client, "POST", f"{base}/api/user", [("b", "2 3"), ("b", "x&y=z")])
    status, _, body = http.send(*request)
    checks.expect(f"{name} POST /api/user", status == 200, f"{status} {body}")
    if status == 200:
        answer = json.loads(body)
        want = {"method": "POST", "signature_type": placement, "query": {},
                "form": {"b": ["2 3", "x&y=z"]}}
        got = {k: answer[k] for k in want}
        checks.expect(f"{name} POST answer", got == want, f"{got} != {want}")

    # A changed parameter: the signature no longer covers the request (PLAINTEXT covers none).
    method, uri, headers, body = signed(client, "POST", f"{base}/api/user", [("b", "2")])
    status, _, _ = http.send(method, uri.replace("b=2", "b=3"), headers, body.replace("b=2", "b=3"))
    if entry["signature_method"] == "PLAINTEXT":
        checks.expect(f"{name} changed parameter passes (PLAINTEXT)", status == 200, str(status))
    else:
        checks.expect(f"{name} changed parameter refused", status == 401, str(status))
    # A wrong token secret (RSA-SHA1 signs with the private key alone: nothing to get wrong).
    if entry["signature_method"] != "RSA-SHA1":
        wrong = client_for(entry, get_placement, resource_owner_key=token["oauth_token"],
                           resource_owner_secret=token["oauth_token_secret"] + "x")
        status, _, _ = http.send(*signed(wrong, "GET", f"{base}/api/user"))
        checks.expect(f"{name} wrong token secret refused", status == 401, str(status))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, required=True)
    parser.add_argument("--https", type=int, required=True)
    parser.add_argument("--ca", required=True)
    args = parser.parse_args()
    http = Http(args.ca)
    checks = Checks()
    plain = f"http://127.0.0.1:{args.http}"
    tls = f"https://localhost:{args.https}"

    for entry in REGISTRY["clients"]:
        method = entry["signature_method"]
        bases = [tls] if method == "PLAINTEXT" else [plain, tls]
        # oauthlib's server decodes oauth_ parameters of the query and body twice: this
        # client's PLAINTEXT signature holds percent-encoded characters (clients.json).
        placements = ["header"] if entry["key"] == "interopPlaintextReserved" else PLACEMENTS
        for base in bases:
            for placement in placements:
                name = f"{method} {placement} {urlsplit(base).scheme}"
                token = login(http, base, entry, placement, checks, name)
                if token:
                    api_calls(http, base, entry, placement, token, checks, name)

    by_method = {e["signature_method"]: e for e in REGISTRY["clients"]}
    # oob: the verifier is shown on the authorize page.
    token = login(http, plain, by_method["HMAC-SHA1"], "header", checks, "oob", callback="oob")
    checks.expect("oob login", token is not None)
    # PLAINTEXT over http: refused before anything is issued.
    client = client_for(by_method["PLAINTEXT"], "header", callback_uri=CALLBACK)
    status, _, body = http.send(*signed(client, "POST", f"{plain}/request_token"))
    checks.expect("PLAINTEXT over http refused", status == 400, f"{status} {body}")
    # A client signing with another method than it registered.
    other = dict(by_method["HMAC-SHA1"], signature_method="HMAC-SHA256")
    client = client_for(other, "header", callback_uri=CALLBACK)
    status, _, _ = http.send(*signed(client, "POST", f"{plain}/request_token"))
    checks.expect("unregistered method refused", status == 401, str(status))
    # A wrong client secret.
    wrong = dict(by_method["HMAC-SHA1"], secret="not the secret")
    client = client_for(wrong, "header", callback_uri=CALLBACK)
    status, _, _ = http.send(*signed(client, "POST", f"{plain}/request_token"))
    checks.expect("wrong client secret refused", status == 401, str(status))
    # An unregistered callback.
    client = client_for(by_method["HMAC-SHA1"], "header", callback_uri="http://evil.example/cb")
    status, _, _ = http.send(*signed(client, "POST", f"{plain}/request_token"))
    checks.expect("unregistered callback refused", status == 401, str(status))
    # A request token is authorized once.
    client = client_for(by_method["HMAC-SHA1"], "header", callback_uri=CALLBACK)
    status, _, body = http.send(*signed(client, "POST", f"{plain}/request_token"))
    temporary = dict(parse_qsl(body))
    first, _, _ = http.send("GET", f"{plain}/authorize?oauth_token={temporary['oauth_token']}")
    again, _, _ = http.send("GET", f"{plain}/authorize?oauth_token={temporary['oauth_token']}")
    checks.expect("authorized once", (first, again) == (302, 400), f"{first} {again}")

    print(f"{checks.passed} passed, {len(checks.failed)} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
