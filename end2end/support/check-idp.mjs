// Smoke check for support/idp.mjs: walks a whole authorization-code + PKCE
// flow against a running IdP with plain HTTP (no browser) and checks the
// ID token. Exits non-zero on any failure.
//
//   node support/check-idp.mjs [login-name]      (default login: alice)
//
// Env: BANDPOOL_TEST_IDP_PORT (default 3200), BANDPOOL_TEST_IDP_REDIRECT
// (default http://127.0.0.1:3100/auth/oidc/callback; must be one the IdP
// was started with).

import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';

const port = process.env.BANDPOOL_TEST_IDP_PORT ?? '3200';
const base = `http://127.0.0.1:${port}`;
const redirectUri = process.env.BANDPOOL_TEST_IDP_REDIRECT
  ?? 'http://127.0.0.1:3100/auth/oidc/callback';
const login = process.argv[2] ?? 'alice';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const jar = new Map();

async function go(url, init = {}) {
  const headers = new Headers(init.headers);
  if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  const res = await fetch(new URL(url, base), { ...init, headers, redirect: 'manual' });
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    const name = pair.slice(0, i);
    const value = pair.slice(i + 1);
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name); else jar.set(name, value);
  }
  return res;
}

const discovery = await (await go('/.well-known/openid-configuration')).json();
assert.equal(discovery.issuer, base);
const jwks = await (await go(discovery.jwks_uri)).json();
assert.ok(jwks.keys.length >= 1 && jwks.keys[0].kty === 'RSA' && !('d' in jwks.keys[0]));
console.log(`discovery ok: authorization=${discovery.authorization_endpoint} token=${discovery.token_endpoint} jwks=${discovery.jwks_uri}`);

const verifier = b64url(randomBytes(32));
const challenge = b64url(createHash('sha256').update(verifier).digest());
const state = b64url(randomBytes(12));
const nonce = b64url(randomBytes(12));
const authUrl = new URL(discovery.authorization_endpoint);
authUrl.search = new URLSearchParams({
  client_id: 'bandpool',
  response_type: 'code',
  redirect_uri: redirectUri,
  scope: 'openid email profile',
  state,
  nonce,
  code_challenge: challenge,
  code_challenge_method: 'S256',
}).toString();

let res = await go(authUrl);
let steps = 0;
let location;
// Follow redirects, filling in the login form and clicking consent if shown.
for (;;) {
  assert.ok(steps++ < 10, 'too many steps');
  if (res.status >= 300 && res.status < 400) {
    location = new URL(res.headers.get('location'), base);
    if (location.href.startsWith(redirectUri)) break;
    res = await go(location);
    continue;
  }
  const html = await res.text();
  assert.equal(res.status, 200, `unexpected ${res.status}: ${html}`);
  const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
  assert.ok(action, `no form in page: ${html.slice(0, 500)}`);
  const isLogin = html.includes('name="login"');
  assert.ok(/<button type="submit">(Sign in|Continue)<\/button>/.test(html), 'button missing');
  assert.ok(!/https?:\/\/(?!127\.0\.0\.1)/.test(html), 'page refers to a non-loopback URL');
  console.log(`interaction page: ${isLogin ? 'login' : 'consent'} action=${action}`);
  const body = isLogin ? new URLSearchParams({ login }) : new URLSearchParams();
  res = await go(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

const params = location.searchParams;
assert.equal(params.get('error'), null, `error: ${params.get('error')} ${params.get('error_description')}`);
assert.equal(params.get('state'), state);
assert.equal(params.get('iss'), base);
const code = params.get('code');
assert.ok(code);
console.log(`redirected to ${location.origin}${location.pathname} with code, state ok, iss=${params.get('iss')}`);

const tokenRes = await fetch(discovery.token_endpoint, {
  method: 'POST',
  headers: {
    authorization: `Basic ${Buffer.from('bandpool:bandpool-test-secret').toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  },
  body: new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  }),
});
const tokens = await tokenRes.json();
assert.equal(tokenRes.status, 200, JSON.stringify(tokens));
const [h, p] = tokens.id_token.split('.');
const header = JSON.parse(Buffer.from(h, 'base64url'));
const claims = JSON.parse(Buffer.from(p, 'base64url'));
console.log('id_token header:', JSON.stringify(header));
console.log('id_token claims:', JSON.stringify(claims));
assert.equal(header.alg, 'RS256');
assert.ok(jwks.keys.some((k) => k.kid === header.kid));
assert.equal(claims.iss, base);
assert.equal(claims.aud, 'bandpool');
assert.equal(claims.nonce, nonce);
assert.equal(claims.sub, login);
assert.equal(claims.email, login.includes('@') ? login : `${login}@example.test`);
assert.equal(claims.email_verified, !login.startsWith('unverified'));
console.log('idp flow ok');
