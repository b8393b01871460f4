// The real, OpenID Certified provider (npm `oidc-provider`) that `tests/tests/interop.rs` runs
// oauth-clients against.
//
//   node server.mjs [--port N] [--kid KID] [--key-file FILE] [--issuer-path PATH]
//                   [--tenant TID] [--backchannel-logout-uri URL] [--tls CERT,KEY,CA]
//                   [--client-auth FILE] [--fapi] [--exit-with-stdin]
//
// Every option may also come from the environment: PORT, KID, KEY_FILE, ISSUER_PATH, TENANT,
// EXIT_WITH_STDIN=1.
// The port defaults to 3999. With --exit-with-stdin the provider exits when its standard input
// closes, so it cannot outlive the test process that started it. The signing key is an RSA 2048
// key made at start-up (so a restart brings a new key, as in a key rotation) unless KEY_FILE
// names a private JWK (JSON). KID is the key's `kid` (default: the file's, or random). A P-256
// key is published beside it for the client `rp-es256`, which gets ES256-signed ID tokens. The
// issuer is http://127.0.0.1:PORT. Storage is in memory.
//
// Prints `listening on <issuer> kid=<kid>` when ready, then one `request <METHOD> <path>
// <status>` line per request (token requests add `client_auth=basic|post|none`, or the JWT
// and TLS methods described below) on stdout; errors on stderr.
//
// Issue 17, client authentication: with --tls CERT,KEY,CA (PEM files) the provider is served
// over https (the issuer is https://127.0.0.1:PORT) by Node's https server, which asks every
// client for a certificate (`requestCert`) and lets the provider decide (`rejectUnauthorized:
// false`); CA is what client certificates are verified against. oidc-provider's mTLS feature
// (RFC 8705) is then on: `tls_client_auth` (client `rp-tls`, subject CN=rp-tls),
// `self_signed_tls_client_auth` (client `rp-self-signed`) and certificate-bound access tokens;
// the discovery document lists `mtls_endpoint_aliases` under /mtls/..., which serve the same
// endpoints and mark their log lines with ` mtls_alias`. Requests made with a client
// certificate add ` cert=yes` to their log line.
// With --client-auth FILE (JSON: `jwks`, public keys in PEM by client id, and
// `self_signed_certificate`, a PEM certificate) the clients `rp-pkjwt-rsa` (PS256),
// `rp-pkjwt-es` (ES256) and `rp-pkjwt-ed` (EdDSA) authenticate with `private_key_jwt` and
// those keys, and `rp-self-signed` with that certificate. `rp-secret-jwt` (client_secret_jwt)
// is always there. JWT-authenticated token requests log `client_auth=<method> alg=<alg>
// aud=<aud>`; TLS-authenticated ones `client_auth=<method>`.
//
// With --fapi (and --client-auth FILE, whose `jwks` has a P-256 key for `rp-fapi`) the provider
// runs its FAPI 2.0 Security Profile (`features.fapi`, profile 2.0) for every client, and
// registers `rp-fapi`: private_key_jwt (ES256), DPoP-bound tokens, pushed authorization
// requests required, ES256-signed ID tokens.
//
// With --issuer-path PATH (e.g. /realms/staff, where Keycloak puts a realm) the issuer is
// http://127.0.0.1:PORT/PATH and every endpoint is under that path.
//
// With --tenant TID the provider is shaped like one tenant of Microsoft Entra ID behind its
// multi-tenant endpoint ("OpenID Connect on the Microsoft identity platform" and "Validate the
// issuer", learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc and
// .../claims-validation): the issuer is http://127.0.0.1:PORT/TID/v2.0, every endpoint is under
// that path, ID tokens carry `tid` (TID) and `oid`, and
// /common/v2.0/.well-known/openid-configuration serves the same document with the issuer as
// the template http://127.0.0.1:PORT/{tenantid}/v2.0, as Microsoft's `common` tenant does.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import process from 'node:process';
import * as oidc from 'oidc-provider';

function option(name, envName) {
  const flag = `--${name}`;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === flag && i + 1 < args.length) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  const value = process.env[envName];
  return value === undefined || value === '' ? undefined : value;
}

const port = Number.parseInt(option('port', 'PORT') ?? '3999', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid port: ${option('port', 'PORT')}`);
  process.exit(2);
}
const keyFile = option('key-file', 'KEY_FILE');

let signingKey;
if (keyFile) {
  signingKey = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
} else {
  // The key comes out of the generator already in JWK form. Do not generate a KeyObject and
  // then call `.export({ format: 'jwk' })` on it: on Node.js 20 a garbage collection during that
  // export can finalize the key-generation job, which takes the mutex the export holds, and the
  // process hangs for ever (seen about once in a hundred starts).
  ({ privateKey: signingKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'jwk' },
    privateKeyEncoding: { type: 'pkcs8', format: 'jwk' },
  }));
}
signingKey = {
  ...signingKey,
  kid: option('kid', 'KID') ?? signingKey.kid ?? crypto.randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

// A P-256 key beside it, for the client that asks for ES256-signed ID tokens; made at start-up
// (straight in JWK form, as above), its `kid` the RSA key's with `-ec` added.
const { privateKey: ecKey } = crypto.generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  publicKeyEncoding: { type: 'spki', format: 'jwk' },
  privateKeyEncoding: { type: 'pkcs8', format: 'jwk' },
});
const ecSigningKey = { ...ecKey, kid: `${signingKey.kid}-ec`, alg: 'ES256', use: 'sig' };

const tenant = option('tenant', 'TENANT');
const issuerPath = tenant ? `/${tenant}/v2.0` : (option('issuer-path', 'ISSUER_PATH') ?? '');
if (issuerPath !== '' && !/^(\/[A-Za-z0-9._-]+)+$/.test(issuerPath)) {
  console.error(`invalid issuer path: ${issuerPath}`);
  process.exit(2);
}
// issue 17: client authentication (https, client certificates, client keys)
const tlsFiles = option('tls', 'TLS')?.split(',');
if (tlsFiles && tlsFiles.length !== 3) {
  console.error('--tls takes CERT,KEY,CA');
  process.exit(2);
}
const tls = tlsFiles && {
  cert: fs.readFileSync(tlsFiles[0], 'utf8'),
  key: fs.readFileSync(tlsFiles[1], 'utf8'),
  ca: fs.readFileSync(tlsFiles[2], 'utf8'),
};
const clientAuthFile = option('client-auth', 'CLIENT_AUTH');
const clientAuth = clientAuthFile ? JSON.parse(fs.readFileSync(clientAuthFile, 'utf8')) : undefined;
// The peer certificate of the request's connection, if the client presented one.
function peerCertificate(ctx) {
  const peer = ctx.socket?.getPeerCertificate?.();
  return peer?.raw ? new crypto.X509Certificate(peer.raw) : undefined;
}
function publicJwk({ pem, kid }, alg) {
  return { ...crypto.createPublicKey(pem).export({ format: 'jwk' }), alg, kid, use: 'sig' };
}
// issue 17: the FAPI 2.0 run.
const fapi = process.argv.includes('--fapi') || process.env.FAPI === '1';
const fapiClients = fapi && clientAuth?.jwks?.['rp-fapi'] ? [{
  redirect_uris: ['http://127.0.0.1:8080/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_id: 'rp-fapi',
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'ES256',
  jwks: { keys: [publicJwk(clientAuth.jwks['rp-fapi'], 'ES256')] },
  dpop_bound_access_tokens: true,
  require_pushed_authorization_requests: true,
  id_token_signed_response_alg: 'ES256',
}] : [];
const clientAuthClients = [
  {
    ...{
      redirect_uris: ['http://127.0.0.1:8080/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    client_id: 'rp-secret-jwt',
    client_secret: 'rp-secret-jwt-secret-of-at-least-32-bytes',
    token_endpoint_auth_method: 'client_secret_jwt',
  },
  ...(clientAuth
    ? [
        ['rp-pkjwt-rsa', 'PS256'],
        ['rp-pkjwt-es', 'ES256'],
        ['rp-pkjwt-ed', 'EdDSA'],
      ].filter(([clientId]) => clientAuth.jwks?.[clientId]).map(([clientId, alg]) => ({
        redirect_uris: ['http://127.0.0.1:8080/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_id: clientId,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: alg,
        jwks: { keys: [publicJwk(clientAuth.jwks[clientId], alg)] },
      }))
    : []),
  ...(tls
    ? [{
        redirect_uris: ['http://127.0.0.1:8080/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_id: 'rp-tls',
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=rp-tls',
        tls_client_certificate_bound_access_tokens: true,
      }]
    : []),
  ...(tls && clientAuth?.self_signed_certificate
    ? [{
        redirect_uris: ['http://127.0.0.1:8080/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_id: 'rp-self-signed',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        tls_client_certificate_bound_access_tokens: true,
        jwks: {
          keys: [(() => {
            const certificate = new crypto.X509Certificate(clientAuth.self_signed_certificate);
            return {
              ...certificate.publicKey.export({ format: 'jwk' }),
              x5c: [certificate.raw.toString('base64')],
            };
          })()],
        },
      }]
    : []),
];
// issue 17: end of client authentication

const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
const issuer = `${base}${issuerPath}`;
const redirectUris = ['http://127.0.0.1:8080/cb'];
const postLogoutRedirectUris = ['http://127.0.0.1:8080/'];
const common = {
  redirect_uris: redirectUris,
  post_logout_redirect_uris: postLogoutRedirectUris,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};

// issue 17: back-channel logout. With --backchannel-logout-uri URL (or BACKCHANNEL_LOGOUT_URI),
// OpenID Connect Back-Channel Logout 1.0 is on, and the client `rp-bclogout` has that URL as its
// `backchannel_logout_uri` with `backchannel_logout_session_required` (its ID tokens carry
// `sid`): ending a session at the provider POSTs a logout token there.
const backchannelLogoutUri = option('backchannel-logout-uri', 'BACKCHANNEL_LOGOUT_URI');
const backchannelLogoutClients = backchannelLogoutUri ? [{
  ...common,
  client_id: 'rp-bclogout',
  client_secret: 'rp-bclogout-secret',
  token_endpoint_auth_method: 'client_secret_basic',
  backchannel_logout_uri: backchannelLogoutUri,
  backchannel_logout_session_required: true,
}] : [];
const backchannelLogoutFeatures = backchannelLogoutUri
  ? { backchannelLogout: { enabled: true } } : {};
// oidc-provider's outgoing requests refuse special-use addresses, loopback included (its SSRF
// protection, a dispatcher it passes to `fetch`); the test's receiver is on loopback, so with
// this option they go without it.
const backchannelLogoutConfig = backchannelLogoutUri ? {
  fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
} : {};
// issue 17: end of back-channel logout.
// issue 17: par. Pushed authorization requests (RFC 9126; oidc-provider's
// `pushedAuthorizationRequests` feature, its endpoint `/request`): `rp-par-required` is
// registered with `require_pushed_authorization_requests`, so the provider refuses its
// requests unless pushed; `rp-par` may push or not, and the relying party chooses to.
const parClients = [
  {
    ...common,
    client_id: 'rp-par-required',
    client_secret: 'rp-par-required-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    require_pushed_authorization_requests: true,
  },
  {
    ...common,
    client_id: 'rp-par',
    client_secret: 'rp-par-secret',
    token_endpoint_auth_method: 'client_secret_post',
  },
];
const parFeatures = { pushedAuthorizationRequests: { enabled: true } };
// issue 17: dpop
// DPoP (RFC 9449; oidc-provider `features.dPoP`, on by default in 9.x): a nonce secret is set
// and every proof must carry a nonce (`requireNonce`), so the first DPoP request of a client
// is answered `use_dpop_nonce` with a `DPoP-Nonce`. Requests without a proof are unaffected.
// The client `rp-dpop` gets only DPoP-bound access tokens (`dpop_bound_access_tokens`, RFC
// 9449 §5.2). PS256 is allowed beside the default ES256 and EdDSA proofs.
const dpopClients = [
  {
    ...common,
    client_id: 'rp-dpop',
    client_secret: 'rp-dpop-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
  },
];
const dpopFeature = {
  enabled: true,
  nonceSecret: crypto.randomBytes(32),
  requireNonce: () => true,
};
const dpopAlgs = ['ES256', 'PS256', 'EdDSA', 'Ed25519'];
// end issue 17: dpop

const provider = new oidc.Provider(issuer, {
  clients: [
    {
      ...common,
      client_id: 'rp-basic',
      client_secret: 'rp-basic-secret',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      ...common,
      client_id: 'rp-post',
      client_secret: 'rp-post-secret',
      token_endpoint_auth_method: 'client_secret_post',
    },
    {
      ...common,
      client_id: 'public-app',
      token_endpoint_auth_method: 'none',
    },
    {
      ...common,
      client_id: 'rp-es256',
      client_secret: 'rp-es256-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    // issue 17: client credentials. A service client with no user and no redirect.
    {
      client_id: 'rp-service',
      client_secret: 'rp-service-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read api:write',
    },
    ...backchannelLogoutClients,
    ...parClients,
    ...dpopClients,
    // issue 17: client authentication
    ...clientAuthClients,
    ...fapiClients,
  ],
  enabledJWA: { dPoPSigningAlgValues: dpopAlgs },
  jwks: { keys: [signingKey, ecSigningKey] },
  cookies: { keys: ['oauth-clients-interop-cookie-key'] },
  ...backchannelLogoutConfig,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
    // issue 17: client authentication (RFC 8705), with the peer certificate of the connection
    ...(tls
      ? {
          mTLS: {
            enabled: true,
            tlsClientAuth: true,
            selfSignedTlsClientAuth: true,
            certificateBoundAccessTokens: true,
            getCertificate: peerCertificate,
            certificateAuthorized: (ctx) => ctx.socket.authorized === true,
            certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
              && peerCertificate(ctx)?.subject === expected,
          },
        }
      : {}),
    clientCredentials: { enabled: true },
    ...backchannelLogoutFeatures,
    ...parFeatures,
    dPoP: dpopFeature,
    ...(fapi ? { fapi: { enabled: true, profile: '2.0' } } : {}),
  },
  scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
  // issue 17: client authentication: the TLS methods, and RFC 8705 §5 aliases served by the
  // https wrapper below
  ...(tls
    ? {
        clientAuthMethods: [
          'client_secret_basic',
          'client_secret_jwt',
          'client_secret_post',
          'private_key_jwt',
          'tls_client_auth',
          'self_signed_tls_client_auth',
          'none',
        ],
        discovery: {
          mtls_endpoint_aliases: {
            token_endpoint: `${base}${issuerPath}/mtls/token`,
            userinfo_endpoint: `${base}${issuerPath}/mtls/me`,
            revocation_endpoint: `${base}${issuerPath}/mtls/token/revocation`,
          },
        },
      }
    : {}),
  // Microsoft's ID tokens carry the user's claims; oidc-provider's by default only when no
  // access token is issued with them.
  ...(tenant ? { conformIdTokenClaims: false } : {}),
  claims: {
    openid: tenant ? ['sub', 'tid', 'oid'] : ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: `${sub}@example.test`,
          email_verified: true,
          name: sub.charAt(0).toUpperCase() + sub.slice(1),
          ...(tenant ? { tid: tenant, oid: `oid-${sub}` } : {}),
        };
      },
    };
  },
  // Refresh tokens for every client allowed the grant (by default only with offline_access
  // and prompt=consent), rotated on every use, confidential clients included.
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 86400,
    Grant: 86400,
    Interaction: 600,
    Session: 86400,
  },
});

// One line per request; token requests also say how the client authenticated.
provider.use(async (ctx, next) => {
  await next();
  let auth = '';
  if (ctx.method === 'POST' && ctx.path === '/token') {
    const assertion = ctx.oidc?.body?.client_assertion;
    const method = ctx.oidc?.client?.clientAuthMethod;
    if (/^basic /i.test(ctx.get('authorization'))) auth = ' client_auth=basic';
    else if (ctx.oidc?.body?.client_secret !== undefined) auth = ' client_auth=post';
    // issue 17: client authentication: the JWT and TLS methods, as the provider saw them
    else if (typeof assertion === 'string') {
      const part = (i) => JSON.parse(Buffer.from(assertion.split('.')[i] ?? '', 'base64url').toString() || '{}');
      let seen = 'unreadable';
      try {
        const [header, claims] = [part(0), part(1)];
        const kind = header.alg?.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt';
        seen = `${kind} alg=${header.alg} aud=${JSON.stringify(claims.aud)}`;
      } catch { /* logged as unreadable */ }
      auth = ` client_auth=${seen}`;
    } else if (method === 'tls_client_auth' || method === 'self_signed_tls_client_auth') {
      auth = ` client_auth=${method}`;
    } else auth = ' client_auth=none';
  }
  // issue 17: client authentication: requests over an alias, or with a client certificate
  if (tls && ctx.req.mtlsAlias) auth += ' mtls_alias';
  if (tls && peerCertificate(ctx)) auth += ' cert=yes';
  console.log(`request ${ctx.method} ${ctx.path} ${ctx.status}${auth}`);
});

// issue 17: revocation and client credentials. A resource the tests call with the tokens the
// provider issued: it looks the token up in oidc-provider's own storage (a client credentials
// token, or a user's access token) and names its client and scope; 401 when the token is
// unknown, expired or revoked.
provider.use(async (ctx, next) => {
  if (ctx.path !== '/api/whoami') {
    await next();
    return;
  }
  const presented = /^bearer (.+)$/i.exec(ctx.get('authorization') ?? '')?.[1];
  const token = presented
    ? ((await provider.ClientCredentials.find(presented))
      ?? (await provider.AccessToken.find(presented)))
    : undefined;
  if (!token || token.isExpired) {
    ctx.status = 401;
    ctx.set('www-authenticate', 'Bearer error="invalid_token"');
    ctx.body = { error: 'invalid_token' };
    return;
  }
  ctx.body = { client_id: token.clientId, scope: token.scope ?? '', kind: token.kind };
});

for (const event of [
  'server_error',
  'authorization.error',
  'grant.error',
  'end_session.error',
  'userinfo.error',
  'jwks.error',
  'discovery.error',
  'revocation.error',
  'backchannel.error',
]) {
  provider.on(event, (ctx, error) => {
    const detail = error?.error_description ? ` (${error.error_description})` : '';
    console.error(`${event}: ${error?.message ?? error}${detail}`);
  });
}

// Without an issuer path the provider is the whole server; with one, it is mounted under it,
// and for a tenant the multi-tenant discovery document is served beside it.
function mountedServer() {
  const prefix = issuerPath;
  const handle = provider.callback();
  return http.createServer(async (req, res) => {
    const path = req.url.split('?')[0];
    const common = '/common/v2.0/.well-known/openid-configuration';
    if (tenant && req.method === 'GET' && path === common) {
      try {
        const own = await fetch(`${issuer}/.well-known/openid-configuration`);
        const document = await own.json();
        document.issuer = `${base}/{tenantid}/v2.0`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(document));
        console.log(`request GET ${path} 200`);
      } catch (error) {
        console.error(`common discovery: ${error}`);
        res.writeHead(500);
        res.end();
      }
      return;
    }
    if (path === prefix || path.startsWith(`${prefix}/`)) {
      // What a mounting framework does: the provider sees its own paths, and works out its
      // mount path from `originalUrl`.
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      handle(req, res);
      return;
    }
    res.writeHead(404);
    res.end();
  });
}

// issue 17: client authentication: over https, the mTLS aliases (/mtls/...) lead to the same
// endpoints, and the request is marked for the log.
function tlsServer() {
  const handle = issuerPath ? mountedServer().listeners('request')[0] : provider.callback();
  return https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const alias = `${issuerPath}/mtls/`;
    if (req.url.startsWith(alias)) {
      req.mtlsAlias = true;
      req.url = `${issuerPath}/${req.url.slice(alias.length)}`;
    }
    handle(req, res);
  });
}

const server = (tls ? tlsServer() : (issuerPath ? mountedServer() : provider)).listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer} kid=${signingKey.kid}`);
});
server.on('error', (error) => {
  console.error(`cannot listen on 127.0.0.1:${port}: ${error.code ?? ''} ${error.message}`);
  process.exit(1);
});

if (process.argv.includes('--exit-with-stdin') || process.env.EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
