#!/usr/bin/env python3
"""Writes vectors.md: signature base strings and signatures computed by oauthlib (the pinned
version of requirements.txt), for unit tests of the Rust signing code.

    python vectors.py > vectors.md

Every vector is computed twice, by oauthlib's client (`oauthlib.oauth1.Client` with a fixed nonce
and timestamp) and by its signature functions from the raw request, and then checked by the
server's verification (`signature.verify_*` on the request as the server parses it), which is
what server.py runs. The RFC 5849 examples are also checked against the signatures printed in the
RFC, and the result is reported as it is.
"""

import sys
from pathlib import Path
from urllib.parse import urlsplit

import oauthlib
from oauthlib.common import Request
from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_BODY, Client
from oauthlib.oauth1.rfc5849 import signature

HERE = Path(__file__).resolve().parent
RSA_PRIVATE = (HERE / "rsa-client-key.pem").read_text()
RSA_PUBLIC = (HERE / "rsa-client-public.pem").read_text()
FORM = "application/x-www-form-urlencoded"


def server_view(method, uri, body, headers):
    """The request as oauthlib's server endpoints parse it (base.py `_create_request`)."""
    content_type = headers.get("Content-Type", "")
    request = Request(uri, method, body if FORM in content_type else "", headers)
    params = signature.collect_parameters(
        uri_query=request.uri_query, body=request.body, headers=request.headers,
        exclude_oauth_signature=False, with_realm=True)
    request.params = [(k, v) for k, v in params if k not in ("oauth_signature", "realm")]
    request.signature = dict(params)["oauth_signature"]
    return request


def base_string(method, uri, body, headers):
    request = server_view(method, uri, body, headers)
    normalized = signature.normalize_parameters(request.params)
    return signature.signature_base_string(
        method, signature.base_string_uri(request.uri), normalized)


def verify(method, uri, body, headers, sig_method, client_secret=None, token_secret=None):
    request = server_view(method, uri, body, headers)
    if sig_method == "HMAC-SHA1":
        return signature.verify_hmac_sha1(request, client_secret, token_secret)
    if sig_method == "HMAC-SHA256":
        return signature.verify_hmac_sha256(request, client_secret, token_secret)
    if sig_method == "RSA-SHA1":
        return signature.verify_rsa_sha1(request, RSA_PUBLIC)
    if sig_method == "PLAINTEXT":
        return signature.verify_plaintext(request, client_secret, token_secret)
    raise ValueError(sig_method)


def sign(sig_method, base, client_secret=None, token_secret=None):
    if sig_method == "HMAC-SHA1":
        return signature.sign_hmac_sha1(base, client_secret, token_secret)
    if sig_method == "HMAC-SHA256":
        return signature.sign_hmac_sha256(base, client_secret, token_secret)
    if sig_method == "RSA-SHA1":
        return signature.sign_rsa_sha1(base, RSA_PRIVATE)
    if sig_method == "PLAINTEXT":
        return signature.sign_plaintext(client_secret, token_secret)
    raise ValueError(sig_method)


def rfc_header(realm, params, sig):
    fields = [f'realm="{realm}"'] + [f'{k}="{v}"' for k, v in params] + [
        f'oauth_signature="{sig}"']
    return "OAuth " + ", ".join(fields)


def wrap(text, width=96):
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


out = []
say = out.append


def rfc_example(title, method, uri, body, content_type, realm, params, printed,
                client_secret, token_secret, notes=()):
    from urllib.parse import quote
    headers = {"Authorization": rfc_header(realm, params, quote(printed, safe=""))}
    if content_type:
        headers["Content-Type"] = content_type
    base = base_string(method, uri, body, headers)
    ours = sign("HMAC-SHA1", base, client_secret, token_secret)
    accepted = verify(method, uri, body, headers, "HMAC-SHA1", client_secret, token_secret)
    say(f"### {title}\n")
    say(f"- request: `{method} {uri}`" + (f" with body `{body}` (`{content_type}`)" if body else ""))
    say("- protocol parameters: " + ", ".join(f"`{k}={v}`" for k, v in params)
        + f" (and `realm=\"{realm}\"`, which is not signed)")
    say(f"- client secret `{client_secret}`, token secret `{token_secret or ''}`"
        + ("" if token_secret else " (none: the key is `" + client_secret + "&`)"))
    say("- base string (oauthlib), one line:\n")
    say("```\n" + base + "\n```\n")
    say(f"- HMAC-SHA1 signature (oauthlib): `{ours}`")
    say(f"- printed in the RFC: `{printed}`: "
        + ("**the same**; the server's check accepts it" if ours == printed and accepted
           else f"**differs**; the server's check {'accepts' if accepted else 'refuses'} the "
                "RFC's"))
    for note in notes:
        say(f"- {note}")
    say("")
    return base, ours


say("# OAuth 1.0a reference vectors\n")
say(f"Computed by `tests/oauth1-server/vectors.py` with oauthlib {oauthlib.__version__} (the "
    "version `requirements.txt` pins and `server.py` runs); regenerate with "
    "`target/tmp/oauth1-venv/bin/python tests/oauth1-server/vectors.py > tests/oauth1-server/vectors.md`. "
    "Each signature below was computed by oauthlib's client and by its signature functions "
    "(the same result) and checked by the server's verification. Base strings are one line; "
    "nothing here is wrapped except where said.\n")

say("## RFC 5849 §3.4.1.1: the signature base string example\n")
base, ours = rfc_example(
    "The §3.4.1.1 request, client secret `j49sk3j29djd`, token secret `dh893hdasih9`",
    "POST", "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b", "c2&a3=2+q", FORM,
    "Example",
    [("oauth_consumer_key", "9djdj82h48djs9d2"), ("oauth_token", "kkk9d7dh3k39sjv7"),
     ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
     ("oauth_nonce", "7d8f3e4a")],
    "bYT5CMsGcbgUdFHObYMEfcx6bsw=", "j49sk3j29djd", "dh893hdasih9")
RFC_BASE = ("POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D"
            "%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce"
            "%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth"
            "_token%3Dkkk9d7dh3k39sjv7")
say("The base string is "
    + ("**exactly the one printed in §3.4.1.1** (joined into one line), so the parameter "
       "collection, decoding, sorting and encoding rules of §3.4.1 agree with oauthlib."
       if base == RFC_BASE else "**not** the one printed in §3.4.1.1:\n\n```\n" + RFC_BASE + "\n```")
    + " The RFC prints the signature of this request but not the secrets it was made with; with "
    "the secrets above oauthlib's signature "
    + ("is the RFC's." if ours == "bYT5CMsGcbgUdFHObYMEfcx6bsw=" else
       "is not the RFC's (nor is it with the §1.2 secrets, nor without a token secret), so a test "
       "should assert the base string of this example and the signature oauthlib computes, "
       "never the printed `bYT5CMsGcbgUdFHObYMEfcx6bsw=`.")
    + "\n")

say("## RFC 5849 §1.2: the three signed requests of the example\n")
say("Client credentials `dpf43f3p2l4k3l03` / `kd94hf93k423kf44`, all with `realm=\"Photos\"`.\n")
CONSUMER = ("oauth_consumer_key", "dpf43f3p2l4k3l03")
temp_params = [CONSUMER, ("oauth_signature_method", "HMAC-SHA1"),
               ("oauth_timestamp", "137131200"), ("oauth_nonce", "wIjqoS"),
               ("oauth_callback", "http%3A%2F%2Fprinter.example.com%2Fready")]
matches = []
matches.append(rfc_example(
    "Temporary credentials", "POST", "https://photos.example.net/initiate", "", None, "Photos",
    temp_params, "74KNZJeDHnMBp0EMJ9ZHt/XKycU=", "kd94hf93k423kf44", None)[1]
    == "74KNZJeDHnMBp0EMJ9ZHt/XKycU=")
token_params = [CONSUMER, ("oauth_token", "hh5s93j4hdidpola"),
                ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "walatlh"), ("oauth_verifier", "hfdp7dh39dks9884")]
matches.append(rfc_example(
    "Token credentials", "POST", "https://photos.example.net/token", "", None, "Photos",
    token_params, "gKgrFCywp7rO0OXSjdot/IHF7IU=", "kd94hf93k423kf44", "hdhd0244k9j7ao03")[1]
    == "gKgrFCywp7rO0OXSjdot/IHF7IU=")
photo_params = [CONSUMER, ("oauth_token", "nnch734d00sl2jdk"),
                ("oauth_signature_method", "HMAC-SHA1"), ("oauth_timestamp", "137131202"),
                ("oauth_nonce", "chapoH")]
matches.append(rfc_example(
    "The photo request", "GET", "http://photos.example.net/photos?file=vacation.jpg&size=original",
    "", None, "Photos", photo_params, "MdpQcU8iPSUjWoN/UDMsK2sui9I=", "kd94hf93k423kf44",
    "pfkkdhi9sl3r4s00")[1] == "MdpQcU8iPSUjWoN/UDMsK2sui9I=")

say("All three signatures §1.2 prints are the ones oauthlib computes and verifies, so they can be "
    "used as they are; of the worked values checked here only §3.4.1.1's signature disagrees.\n"
    if all(matches) else "At least one signature §1.2 prints is not the one oauthlib computes "
    "(see above): assert oauthlib's values.\n")

say("## One request signed with each method\n")
FIXED = {
    "method": "POST",
    "uri": "http://API.Example.COM:80/1.1/Photos%20Album/upload?title=Sun%20%26%20Sea&tag=b&tag=a",
    "form": "status=caf%C3%A9+%E2%98%83+a%2Bb%3Dc&tag=%7Ezip",
    "consumer_key": "interopConsumerKey0001",
    "consumer_secret": "consumer secret/+&",
    "token": "interopAccessToken0000000001",
    "token_secret": "token~secret%",
    "nonce": "3f9a8c1e7b2d4a6f9e0c",
    "timestamp": "1796000000",
}
say("Inputs, the same for every method (the form body is sent with "
    "`Content-Type: application/x-www-form-urlencoded`; nothing else in the request is signed):\n")
say(f"- method `{FIXED['method']}`")
say(f"- URL `{FIXED['uri']}` (upper-case host, the default port, an encoded space in the path, a "
    "repeated and an encoded query parameter)")
say(f"- form body `{FIXED['form']}` (decoded: `status` = `café ☃ a+b=c`, `tag` = `~zip`)")
say(f"- `oauth_consumer_key` `{FIXED['consumer_key']}`, client secret `{FIXED['consumer_secret']}` "
    "(not used by RSA-SHA1)")
say(f"- `oauth_token` `{FIXED['token']}`, token secret `{FIXED['token_secret']}` (not used by "
    "RSA-SHA1)")
say(f"- `oauth_nonce` `{FIXED['nonce']}`, `oauth_timestamp` `{FIXED['timestamp']}`, "
    "`oauth_version` `1.0`, no `oauth_callback`, no `oauth_verifier`, no realm")
say("- RSA-SHA1 with `tests/oauth1-server/rsa-client-key.pem` (PKCS#8; its public key "
    "`rsa-client-public.pem` is what server.py registers). PKCS#1 v1.5 signatures are "
    "deterministic, so the value is fixed.\n")

for sig_method in ("HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT"):
    kwargs = dict(resource_owner_key=FIXED["token"], signature_method=sig_method,
                  signature_type=SIGNATURE_TYPE_AUTH_HEADER, nonce=FIXED["nonce"],
                  timestamp=FIXED["timestamp"])
    if sig_method == "RSA-SHA1":
        kwargs["rsa_key"] = RSA_PRIVATE
    else:
        kwargs.update(client_secret=FIXED["consumer_secret"],
                      resource_owner_secret=FIXED["token_secret"])
    client = Client(FIXED["consumer_key"], **kwargs)
    uri, headers, body = client.sign(FIXED["uri"], FIXED["method"], FIXED["form"],
                                     {"Content-Type": FORM})
    base = base_string(FIXED["method"], uri, body, headers)
    by_client = server_view(FIXED["method"], uri, body, headers).signature
    by_function = sign(sig_method, base, FIXED["consumer_secret"], FIXED["token_secret"])
    assert by_client == by_function, (sig_method, by_client, by_function)
    assert verify(FIXED["method"], uri, body, headers, sig_method, FIXED["consumer_secret"],
                  FIXED["token_secret"]), sig_method
    body_client = Client(FIXED["consumer_key"], **dict(kwargs, signature_type=SIGNATURE_TYPE_BODY))
    _, _, signed_body = body_client.sign(FIXED["uri"], FIXED["method"], FIXED["form"],
                                         {"Content-Type": FORM})
    say(f"### {sig_method}\n")
    if sig_method == "PLAINTEXT":
        say("PLAINTEXT signs no base string (§3.4.4): the signature is the encoded client secret, "
            "`&`, the encoded token secret.\n")
    else:
        say("Base string:\n")
        say("```\n" + base + "\n```\n")
        key = None
        if sig_method != "RSA-SHA1":
            key = (signature.utils.escape(FIXED["consumer_secret"]) + "&"
                   + signature.utils.escape(FIXED["token_secret"]))
            say(f"HMAC key: `{key}`\n")
    say(f"Signature: `{by_function}`\n")
    say("Authorization header as oauthlib's client writes it (one line):\n")
    say("```\n" + headers["Authorization"] + "\n```\n")
    say("The same request with the protocol parameters in the form body (one line):\n")
    say("```\n" + signed_body + "\n```\n")

say("## oauthlib as a server: one quirk\n")
say("oauthlib's server (`signature.collect_parameters`) percent-decodes the `oauth_` parameters it "
    "finds in the query or in a form body a second time, after the form decoding. A value that "
    "holds an encoded character therefore arrives changed in those two placements (not in the "
    "Authorization header). Of what a client sends, only a PLAINTEXT signature made from secrets "
    "with characters outside the unreserved set is affected (`a%25b&` arrives as `a%b&`), and an "
    "`oauth_callback` with an encoded character. The client is right and the server refuses it; "
    "so the interop server registers `interopPlaintextReserved` (secret `plain text&secret%`), "
    "used in the header only, besides `interopPlaintextClient`, whose secret has unreserved "
    "characters only and works in every placement. The interop callbacks have no encoded "
    "characters.\n")

sys.stdout.write("\n".join(out).rstrip() + "\n")
