// The openid-client side of the lockstep logins (bench/authlib/bench.py drives it).
//
//   node bench.mjs DISCOVERY_URL
//
// Logs in against the same provider process as the other sides, in two configurations of
// openid-client 6 (the version pinned in package.json here):
// - `defaults`: what `discovery()` gives (plus `allowInsecureRequests`, since the local provider
//   speaks plain HTTP). The ID token from the token endpoint has its claims checked (alg against
//   the metadata, iss, aud, azp, exp, iat, sub, nonce) but its JWS signature is NOT verified and
//   the JWKS is never fetched: openid-client relies on TLS to the token endpoint for the
//   issuer's authenticity. That reliance is not what happens here (loopback HTTP), but the work
//   skipped is the same as over TLS.
// - `checks`: the same plus `enableNonRepudiationChecks`, which verifies the ID token's
//   signature with the provider's JWKS (fetched once, then cached), as the other sides do.
//
// Protocol (the same as `bench lockstep`): prints `ready` after the warm-up logins; then each
// line `defaults W N` or `checks W N` on stdin runs W unmeasured logins and N measured ones,
// answered by one JSON line `{"wall_us": [...], "cpu_us": [...]}`. The timed part of a login is
// the callback handling only: the pending login out of the session, `authorizationCodeGrant`
// (state, iss, code exchange with PKCE, ID-token checks) and reading the claims. CPU is
// `process.cpuUsage()` (user + system of the whole process, like Python's
// `time.process_time()`), so it includes V8's helper threads and libuv's thread pool, where
// WebCrypto's signature check runs.

import * as client from "openid-client";
import * as readline from "node:readline";

const CLIENT_ID = "test-client";
const CLIENT_SECRET = "test-client-secret";
const REDIRECT_URI = "http://127.0.0.1:8080/callback";
const SCOPE = "openid email profile";
const WARMUP = 30;

async function configure(discoveryUrl, nonRepudiation) {
  const execute = [client.allowInsecureRequests];
  if (nonRepudiation) {
    execute.push(client.enableNonRepudiationChecks);
  }
  // client_secret_basic, as the other sides authenticate.
  return client.discovery(
    new URL(discoveryUrl),
    CLIENT_ID,
    undefined,
    client.ClientSecretBasic(CLIENT_SECRET),
    { execute },
  );
}

/// One login; the wall and CPU time (µs) of the callback handling.
async function login(config) {
  // What the app's login route does: the pending login into the user's session.
  const session = {};
  const verifier = client.randomPKCECodeVerifier();
  const pending = {
    verifier,
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
  });
  session.pending = pending;
  // The provider approves at once and sends the browser back.
  const approved = await fetch(url, { redirect: "manual" });
  const location = approved.headers.get("location");
  await approved.arrayBuffer();
  if (!location) {
    throw new Error(`the provider did not redirect (status ${approved.status})`);
  }
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  // The callback: the pending login out of the session, then the grant with every check.
  const { verifier: pkceCodeVerifier, state, nonce } = session.pending;
  delete session.pending;
  const tokens = await client.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const used = process.cpuUsage(cpu);
  const elapsed = process.hrtime.bigint() - wall;
  if (claims?.sub !== "alice") {
    throw new Error(`unexpected subject ${claims?.sub}`);
  }
  return [Number(elapsed) / 1000, used.user + used.system];
}

async function turn(config, warm, n) {
  const out = { wall_us: [], cpu_us: [] };
  for (let i = 0; i < warm + n; i++) {
    const [wall, cpu] = await login(config);
    if (i >= warm) {
      out.wall_us.push(Math.round(wall * 10) / 10);
      out.cpu_us.push(cpu);
    }
  }
  return out;
}

async function main() {
  const discoveryUrl = process.argv[2];
  if (!discoveryUrl) {
    console.error("usage: node bench.mjs DISCOVERY_URL");
    process.exit(2);
  }
  const configs = {
    defaults: await configure(discoveryUrl, false),
    checks: await configure(discoveryUrl, true),
  };
  for (const config of Object.values(configs)) {
    await turn(config, WARMUP, 0);
  }
  process.stdout.write("ready\n");
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [mode, warm, n] = line.trim().split(/\s+/);
    const config = configs[mode];
    if (!config) {
      throw new Error(`unknown command ${JSON.stringify(line)}`);
    }
    const samples = await turn(config, Number(warm), Number(n));
    process.stdout.write(JSON.stringify(samples) + "\n");
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
