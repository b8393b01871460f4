#!/usr/bin/env python3
"""A small OAuth 1.0a provider (RFC 5849) for the interop tests of oauth-clients.

The protocol is oauthlib's (`oauthlib.oauth1` endpoints, pinned in requirements.txt); this file
adds only an in-memory `RequestValidator`, a test-only user who approves every authorization, and
an HTTP front end on the standard library. The registered clients and users are in clients.json.

One process serves two loopback listeners that share every store:

* http (`--port`, 0 picks a free port): HMAC-SHA1, HMAC-SHA256 and RSA-SHA1;
* https (`--tls-port` with `--tls-cert` and `--tls-key`): the same and PLAINTEXT, which sends the
  shared secrets themselves and so is accepted over TLS only (RFC 5849 section 3.4.4).

When both listen it prints one JSON line on stdout, `{"http": PORT, "https": PORT}`, and then only
logs to stderr: one `request METHOD /path STATUS` line per request, and oauthlib's own reasons
when it refuses one.

Endpoints:

* `POST /request_token`: temporary credentials (oauthlib's RequestTokenEndpoint); needs
  `oauth_callback`, either `oob` or a registered callback (with any query).
* `GET /authorize?oauth_token=T[&user=NAME]`: the user (clients.json's default_user when not
  named) approves at once. A callback URL gets a 302 to it with `oauth_token` and
  `oauth_verifier`; `oob` gets a 200 `text/plain` page `verifier=PIN`. A request token is
  authorized once.
* `POST /access_token`: token credentials (AccessTokenEndpoint), with `user_id` and
  `screen_name` as X/Twitter adds them. A request token and its verifier are redeemed once.
* `GET|POST /api/user`: a protected resource (ResourceEndpoint). It answers JSON: the user, the
  client, the HTTP method, where the OAuth parameters came (`header`, `body` or `query`), the
  signature method, and the other parameters received in the query, in a form body, and both.
* `GET /requests`: how many requests each `METHOD /path STATUS` got so far (JSON);
  `GET /requests?oauth_token=T`: the same, counting only requests that carried `oauth_token=T`
  (in any placement), so a test can count what happened to its own token while other tests
  run.

`--exit-with-stdin` makes the process exit when its standard input closes, so it dies with the
test process that started it.
"""

import argparse
import hmac
import json
import logging
import os
import ssl
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.common import CaseInsensitiveDict
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)
from oauthlib.oauth1.rfc5849 import errors, utils

HERE = Path(__file__).resolve().parent

# The methods each listener accepts. PLAINTEXT is a signature only over TLS (RFC 5849 3.4.4).
SIGNED_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1")
TLS_METHODS = SIGNED_METHODS + ("PLAINTEXT",)

FORM = "application/x-www-form-urlencoded"


def load_registry():
    registry = json.loads((HERE / "clients.json").read_text(encoding="utf-8"))
    clients = {}
    for client in registry["clients"]:
        entry = dict(client)
        if "rsa_public_key" in entry:
            entry["rsa_public_key"] = (HERE / entry["rsa_public_key"]).read_text()
        clients[entry["key"]] = entry
    return registry, clients


REGISTRY, CLIENTS = load_registry()
USERS = REGISTRY["users"]
CALLBACKS = REGISTRY["callbacks"]

# Unknown clients and tokens are checked against these, so a refusal takes as long as an
# acceptance (oauthlib's timing advice). The dummy RSA key has the registered key's size.
DUMMY_CLIENT = "dummyClientKeyForTiming"
DUMMY_REQUEST_TOKEN = "dummyRequestTokenForTiming00"
DUMMY_ACCESS_TOKEN = "dummyAccessTokenForTiming000"
DUMMY_SECRET = "dummy-secret-that-signs-nothing"
DUMMY_RSA_PUBLIC_KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def registered_callback(callback):
    """`oob`, or a registered callback URL with any query (no fragment)."""
    if callback == "oob":
        return "oob" in CALLBACKS
    parts = urlsplit(callback)
    if parts.fragment:
        return False
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return any(base == registered for registered in CALLBACKS if registered != "oob")


class Store:
    """Every credential the provider issued, and the nonces it has seen."""

    def __init__(self):
        self.lock = threading.Lock()
        # Serializes token-credential requests, so one request token is redeemed once even
        # when two requests for it arrive together.
        self.redeem = threading.Lock()
        # oauth_token -> {client, secret, callback, realms, verifier, user, used}
        self.request_tokens = {}
        # oauth_token -> {client, secret, user, realms}
        self.access_tokens = {}
        # (client key, timestamp, nonce, token): RFC 5849 3.3's uniqueness scope.
        self.nonces = set()
        self.counts = Counter()
        # oauth_token -> Counter, for the requests that carried it.
        self.token_counts = {}


STORE = Store()


class Validator(RequestValidator):
    """Real checks on in-memory stores. Only what the test clients need differs from
    oauthlib's defaults, and each such setting says why."""

    def __init__(self, tls):
        super().__init__()
        self.tls = tls

    # -- settings -------------------------------------------------------------------------

    @property
    def allowed_signature_methods(self):
        # oauthlib allows every method it knows (and the SHA-512 and RSA-SHA256 variants RFC
        # 5849 does not define); this provider registers the four of RFC 5849 and the HMAC-SHA256
        # that X and others use, and PLAINTEXT only on the TLS listener.
        return TLS_METHODS if self.tls else SIGNED_METHODS

    @property
    def enforce_ssl(self):
        # oauthlib refuses any request to an http:// URI. The http listener is on loopback only
        # and exists to test the signed methods without TLS; it never accepts PLAINTEXT.
        return self.tls

    @property
    def dummy_client(self):
        return DUMMY_CLIENT

    @property
    def dummy_request_token(self):
        return DUMMY_REQUEST_TOKEN

    @property
    def dummy_access_token(self):
        return DUMMY_ACCESS_TOKEN

    # -- clients ----------------------------------------------------------------------------

    def validate_client_key(self, client_key, request):
        # A client signs with the one method it registered.
        client = CLIENTS.get(client_key)
        return client is not None and client["signature_method"] == request.signature_method

    def get_client_secret(self, client_key, request):
        return CLIENTS.get(client_key, {}).get("secret", DUMMY_SECRET)

    def get_rsa_key(self, client_key, request):
        return CLIENTS.get(client_key, {}).get("rsa_public_key", DUMMY_RSA_PUBLIC_KEY)

    def validate_timestamp_and_nonce(
        self, client_key, timestamp, nonce, request, request_token=None, access_token=None
    ):
        # oauthlib has already refused a timestamp more than timestamp_lifetime (600 s) away
        # from now; within it, a nonce is used once per client, timestamp and token.
        key = (client_key, timestamp, nonce, request_token or access_token or "")
        with STORE.lock:
            if key in STORE.nonces:
                return False
            STORE.nonces.add(key)
            return True

    # -- temporary credentials --------------------------------------------------------------

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return registered_callback(redirect_uri)

    def get_default_realms(self, client_key, request):
        return []

    def validate_requested_realms(self, client_key, realms, request):
        # No client is registered for any realm.
        return all(realm in self.realms for realm in realms)

    def save_request_token(self, token, request):
        with STORE.lock:
            STORE.request_tokens[token["oauth_token"]] = {
                "client": request.client_key,
                "secret": token["oauth_token_secret"],
                "callback": request.redirect_uri,
                "realms": list(request.realms or []),
                "verifier": None,
                "user": None,
                "used": False,
            }

    # -- authorization ----------------------------------------------------------------------

    def verify_request_token(self, token, request):
        # A request token, issued and not yet authorized nor redeemed.
        with STORE.lock:
            entry = STORE.request_tokens.get(token)
            return entry is not None and entry["verifier"] is None and not entry["used"]

    def verify_realms(self, token, realms, request):
        with STORE.lock:
            entry = STORE.request_tokens.get(token)
            return entry is not None and all(realm in entry["realms"] for realm in realms)

    def get_realms(self, token, request):
        with STORE.lock:
            entry = STORE.request_tokens.get(token)
            return list(entry["realms"]) if entry else []

    def get_redirect_uri(self, token, request):
        with STORE.lock:
            return STORE.request_tokens[token]["callback"]

    def save_verifier(self, token, verifier, request):
        user = getattr(request, "interop_user", None)
        if user not in USERS:
            raise errors.InvalidRequestError(description="Unknown user.")
        with STORE.lock:
            entry = STORE.request_tokens[token]
            entry["verifier"] = verifier["oauth_verifier"]
            entry["user"] = user

    # -- token credentials ------------------------------------------------------------------

    def validate_request_token(self, client_key, token, request):
        # Issued to this client and not redeemed yet.
        with STORE.lock:
            entry = STORE.request_tokens.get(token)
            return entry is not None and entry["client"] == client_key and not entry["used"]

    def get_request_token_secret(self, client_key, token, request):
        with STORE.lock:
            entry = STORE.request_tokens.get(token)
            if entry is not None and entry["client"] == client_key:
                return entry["secret"]
            return DUMMY_SECRET

    def validate_verifier(self, client_key, token, verifier, request):
        with STORE.lock:
            entry = STORE.request_tokens.get(token)
            if entry is None or entry["client"] != client_key or entry["verifier"] is None:
                return False
            if not hmac.compare_digest(entry["verifier"].encode(), verifier.encode()):
                return False
            request.interop_user = entry["user"]
            return True

    def invalidate_request_token(self, client_key, request_token, request):
        with STORE.lock:
            entry = STORE.request_tokens.get(request_token)
            if entry is not None:
                entry["used"] = True

    def save_access_token(self, token, request):
        with STORE.lock:
            STORE.access_tokens[token["oauth_token"]] = {
                "client": request.client_key,
                "secret": token["oauth_token_secret"],
                "user": request.interop_user,
                "realms": list(request.realms or []),
            }

    # -- protected resources ----------------------------------------------------------------

    def validate_access_token(self, client_key, token, request):
        with STORE.lock:
            entry = STORE.access_tokens.get(token)
            if entry is None or entry["client"] != client_key:
                return False
            request.interop_user = entry["user"]
            return True

    def get_access_token_secret(self, client_key, token, request):
        with STORE.lock:
            entry = STORE.access_tokens.get(token)
            if entry is not None and entry["client"] == client_key:
                return entry["secret"]
            return DUMMY_SECRET

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        with STORE.lock:
            entry = STORE.access_tokens.get(token)
            return entry is not None and all(realm in entry["realms"] for realm in realms or [])


class AccessTokens(AccessTokenEndpoint):
    """Token credentials with the user's id and name, as X/Twitter answers them."""

    def create_access_token(self, request, credentials):
        user = USERS[request.interop_user]
        extra = dict(credentials)
        extra.update(user_id=user["user_id"], screen_name=user["screen_name"])
        return super().create_access_token(request, extra)


class AutoApprove(AuthorizationEndpoint):
    """The user named in the request (or the default one) approves every request token."""

    def create_verifier(self, request, credentials):
        query = dict(parse_qsl(urlsplit(request.uri).query))
        request.interop_user = query.get("user", REGISTRY["default_user"])
        return super().create_verifier(request, credentials)


class Endpoints:
    def __init__(self, tls):
        validator = Validator(tls)
        self.request_token = RequestTokenEndpoint(validator)
        self.authorize = AutoApprove(validator)
        self.access_token = AccessTokens(validator)
        self.resource = ResourceEndpoint(validator)


def signature_type(request):
    """Where the OAuth protocol parameters of an accepted request were."""
    authorization = request.headers.get("Authorization", "")
    if authorization[:6].lower() == "oauth ":
        return "header"
    if any(name == "oauth_signature" for name, _ in parse_qsl(request.body or "")):
        return "body"
    return "query"


def plain_params(pairs):
    """The parameters that are not OAuth's, a name given more than once as a list."""
    params = {}
    for name, value in pairs:
        if name.startswith("oauth_") or name == "realm":
            continue
        if name in params:
            if not isinstance(params[name], list):
                params[name] = [params[name]]
            params[name].append(value)
        else:
            params[name] = value
    return params


class Handler(BaseHTTPRequestHandler):
    server_version = "oauth1-interop"
    # A stalled client cannot hold a thread for long.
    timeout = 15

    def log_message(self, format, *args):
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def send(self, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        # Counted before the answer leaves, so a client that has its answer sees it counted.
        path = urlsplit(self.path).path
        line = f"{self.command} {path} {status}"
        with STORE.lock:
            STORE.counts[line] += 1
            token = getattr(self, "oauth_token", None)
            if token:
                STORE.token_counts.setdefault(token, Counter())[line] += 1
        print(f"request {line}", file=sys.stderr, flush=True)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value):
        self.send(status, json.dumps(value), {"Content-Type": "application/json"})

    def request_parts(self):
        """The absolute URI (scheme of this listener, authority as the client named it), the
        body and the headers; None when the Host is not this listener."""
        port = self.server.server_address[1]
        host = self.headers.get("Host", "")
        if host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return None
        uri = f"{self.server.scheme}://{host}{self.path}"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        # Header names in any case, as oauthlib reads them.
        headers = CaseInsensitiveDict(dict(self.headers.items()))
        return uri, body, headers

    def find_oauth_token(self, uri, body, headers):
        """The `oauth_token` the request carries, wherever it is, for the per-token counts."""
        params = parse_qsl(urlsplit(uri).query)
        if FORM in headers.get("Content-Type", ""):
            params += parse_qsl(body)
        authorization = headers.get("Authorization", "")
        if authorization[:6].lower() == "oauth ":
            try:
                params += utils.parse_authorization_header(authorization)
            except ValueError:
                pass
        return next((value for name, value in params if name == "oauth_token"), None)

    def dispatch(self):
        self.oauth_token = None
        try:
            parts = self.request_parts()
            if parts is None:
                return self.send(400, "error=unknown+host", {"Content-Type": FORM})
            uri, body, headers = parts
            self.oauth_token = self.find_oauth_token(uri, body, headers)
            path = urlsplit(self.path).path
            routes = {
                ("POST", "/request_token"): self.request_token,
                ("GET", "/authorize"): self.authorize,
                ("POST", "/access_token"): self.access_token,
                ("GET", "/api/user"): self.api_user,
                ("POST", "/api/user"): self.api_user,
                ("GET", "/requests"): self.requests,
            }
            route = routes.get((self.command, path))
            if route is None:
                return self.send(404, "not found", {"Content-Type": "text/plain"})
            route(uri, body, headers)
        except Exception as e:  # Never die on a request: log it and answer 500.
            logging.exception("request %s %s failed", self.command, self.path)
            try:
                self.send(500, f"server error: {type(e).__name__}", {"Content-Type": "text/plain"})
            except Exception:
                pass

    do_GET = dispatch
    do_POST = dispatch

    # -- endpoints --------------------------------------------------------------------------

    def reply(self, headers, body, status):
        self.send(status, body or "", headers or {})

    def request_token(self, uri, body, headers):
        self.reply(*self.server.endpoints.request_token.create_request_token_response(
            uri, "POST", body, headers))

    def authorize(self, uri, body, headers):
        user = dict(parse_qsl(urlsplit(uri).query)).get("user", REGISTRY["default_user"])
        if user not in USERS:
            return self.send(400, "error=unknown+user", {"Content-Type": FORM})
        try:
            headers, body, status = self.server.endpoints.authorize.create_authorization_response(
                uri, "GET", None, headers)
        except errors.OAuth1Error as e:
            return self.send(e.status_code, e.urlencoded, {"Content-Type": FORM})
        if status == 200:
            # oob: the page the user would copy the PIN from.
            verifier = dict(parse_qsl(body))["oauth_verifier"]
            return self.send(200, f"verifier={verifier}", {"Content-Type": "text/plain"})
        self.reply(headers, body, status)

    def access_token(self, uri, body, headers):
        with STORE.redeem:
            answer = self.server.endpoints.access_token.create_access_token_response(
                uri, "POST", body, headers)
        self.reply(*answer)

    def api_user(self, uri, body, headers):
        valid, request = self.server.endpoints.resource.validate_protected_resource_request(
            uri, self.command, body, headers)
        if not valid:
            return self.send_json(401, {"error": "unauthorized"})
        form_body = FORM in headers.get("Content-Type", "")
        query = parse_qsl(urlsplit(uri).query, keep_blank_values=True)
        form = parse_qsl(body, keep_blank_values=True) if form_body else []
        user = USERS[request.interop_user]
        self.send_json(200, {
            "user": user["screen_name"],
            "user_id": user["user_id"],
            "client": request.client_key,
            "method": self.command,
            "signature_method": request.signature_method,
            "signature_type": signature_type(request),
            "query": plain_params(query),
            "form": plain_params(form),
            "params": plain_params(query + form),
        })

    def requests(self, uri, body, headers):
        token = dict(parse_qsl(urlsplit(uri).query)).get("oauth_token")
        # This request is not counted under the token it asks about.
        self.oauth_token = None
        with STORE.lock:
            counts = dict(STORE.token_counts.get(token, {}) if token else STORE.counts)
        self.send_json(200, counts)


class Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, tls_context=None):
        self.tls_context = tls_context
        self.scheme = "https" if tls_context else "http"
        self.endpoints = Endpoints(tls=tls_context is not None)
        super().__init__(("127.0.0.1", port), Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        if self.tls_context is not None:
            # The handshake happens on the request's own thread, not the accepting one.
            sock = self.tls_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request, client_address):
        logging.warning("connection from %s failed: %s", client_address, sys.exc_info()[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="http port (0: a free one)")
    parser.add_argument("--tls-port", type=int, default=None,
                        help="https port (0: a free one); needs --tls-cert and --tls-key")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) of the https listener")
    parser.add_argument("--tls-key", help="PEM private key of the https listener")
    parser.add_argument("--exit-with-stdin", action="store_true",
                        help="exit when standard input closes")
    args = parser.parse_args()
    if (args.tls_port is not None) != bool(args.tls_cert and args.tls_key):
        parser.error("--tls-port needs --tls-cert and --tls-key, and they need --tls-port")

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # oauthlib says why it refused a request (which check, the signature base string).
    logging.getLogger("oauthlib").setLevel(logging.DEBUG)

    listeners = [Listener(args.port)]
    ready = {"http": listeners[0].server_address[1]}
    if args.tls_port is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(args.tls_cert, args.tls_key)
        listeners.append(Listener(args.tls_port, context))
        ready["https"] = listeners[1].server_address[1]

    for listener in listeners:
        threading.Thread(target=listener.serve_forever, daemon=True).start()
    print(json.dumps(ready), flush=True)

    if args.exit_with_stdin:
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)
    threading.Event().wait()


if __name__ == "__main__":
    main()
