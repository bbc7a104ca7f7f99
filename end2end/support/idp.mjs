// A real OpenID Connect provider for Bandpool's browser tests, built on the
// npm package `oidc-provider`. It keeps everything in memory and is meant
// only for loopback use by the tests. See README.md beside this file.
//
//   node support/idp.mjs
//
// Env:
//   BANDPOOL_TEST_IDP_PORT       port on 127.0.0.1 (default 3200; 0 lets the system
//                                choose, and the ready line's issuer names it)
//   BANDPOOL_TEST_IDP_REDIRECTS  comma-separated redirect URIs for client
//                                `bandpool` (default
//                                http://127.0.0.1:3100/auth/oidc/callback)
//   BANDPOOL_TEST_IDP_CONSENT    `auto` (default): consent is granted without
//                                a page; `prompt`: show the one-button
//                                consent page ("Continue").
//
// The login and consent pages are this file's own (oidc-provider's
// devInteractions pages pull a web font from the internet): plain HTML
// forms that work without JavaScript.
//   login:   <input name="login"> labelled "Login", button "Sign in"; any
//            name is accepted (no password).
//   consent: button "Continue"; both pages have a "Cancel" button, which
//            returns error=access_denied to the client.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.BANDPOOL_TEST_IDP_PORT ?? '3200', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`idp: bad BANDPOOL_TEST_IDP_PORT ${process.env.BANDPOOL_TEST_IDP_PORT}`);
  process.exit(2);
}

// Bind first: the issuer names the bound port, which port 0 leaves to the system. Requests
// wait for the handler below, set once the provider exists (before "ready" is printed).
let handle = null;
const server = http.createServer((req, res) => handle(req, res));
server.on('error', (err) => {
  console.error(`idp: ${err.message}`);
  process.exit(1);
});
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const redirectUris = (process.env.BANDPOOL_TEST_IDP_REDIRECTS
  ?? 'http://127.0.0.1:3100/auth/oidc/callback')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const consentMode = process.env.BANDPOOL_TEST_IDP_CONSENT ?? 'auto';

export const CLIENT_ID = 'bandpool';
export const CLIENT_SECRET = 'bandpool-test-secret';

// A fresh RS256 signing key on each start; the public half is served at
// the discovery document's jwks_uri.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `bandpool-test-${randomUUID().slice(0, 8)}`,
  use: 'sig',
  alg: 'RS256',
};

function accountClaims(id) {
  const email = id.includes('@') ? id : `${id}@example.test`;
  return {
    sub: id,
    email,
    email_verified: !id.startsWith('unverified'),
    name: id,
    preferred_username: id,
  };
}

const configuration = {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      id_token_signed_response_alg: 'RS256',
    },
  ],
  // oidc-provider treats the two secret-based methods as interchangeable:
  // client `bandpool` may use either at the token endpoint.
  responseTypes: ['code'],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  jwks: { keys: [signingKey] },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Put scope-requested claims (email, email_verified, ...) into the ID
  // token itself, not only the userinfo response.
  conformIdTokenClaims: false,
  pkce: { required: () => true }, // oidc-provider supports only S256
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    revocation: { enabled: false },
    introspection: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return accountClaims(id);
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    if (consentMode !== 'auto' || !ctx.oidc.session.accountId) {
      return undefined;
    }
    // Auto-consent: grant whatever was asked for, as a first-party IdP would.
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
    await grant.save();
    return grant;
  },
  // The app under test is on the same host (127.0.0.1) and cookies do not
  // separate ports, so give the IdP's cookies names of their own.
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  cookies: {
    names: {
      session: 'bp_idp_session',
      interaction: 'bp_idp_interaction',
      resume: 'bp_idp_interaction_resume',
    },
    keys: ['bandpool-test-idp-cookie-key'],
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>IdP error</title></head><body>
<h1>IdP error</h1><pre id="error">${JSON.stringify(out, null, 2).replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'))}</pre>
</body></html>`;
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => {
  console.error('idp server_error:', err);
});

// ---- login and consent pages ------------------------------------------

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
})[c]);

function page(res, status, title, body) {
  const html = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} - Bandpool test IdP</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}label,input,button{display:block;margin:.5em 0}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(html);
}

const cancelForm = (uid) => `<form method="post" action="/interaction/${escapeHtml(uid)}/abort">
<button type="submit" name="cancel">Cancel</button>
</form>`;

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) {
    raw += chunk;
    if (raw.length > 64 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(raw);
}

async function interactionRoute(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    page(res, 400, 'Sign-in expired', `<p id="error">${escapeHtml(err.error_description ?? err.message)}</p>`);
    return;
  }
  if (details.uid !== uid) {
    page(res, 400, 'Sign-in expired', '<p id="error">interaction mismatch</p>');
    return;
  }
  const { prompt, params } = details;

  if (req.method === 'GET' && action === '') {
    if (prompt.name === 'login') {
      page(res, 200, 'Sign in', `<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">Login</label>
<input id="login" type="text" name="login" required autofocus value="${escapeHtml(params.login_hint)}">
<button type="submit">Sign in</button>
</form>
${cancelForm(uid)}`);
      return;
    }
    if (prompt.name === 'consent') {
      const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
      page(res, 200, 'Authorize', `<p>${escapeHtml(params.client_id)} asks for: <span id="scopes">${escapeHtml(scopes.join(' '))}</span></p>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm">
<button type="submit">Continue</button>
</form>
${cancelForm(uid)}`);
      return;
    }
    page(res, 501, 'Not supported', `<p id="error">prompt ${escapeHtml(prompt.name)}</p>`);
    return;
  }

  if (req.method !== 'POST') {
    page(res, 405, 'Method not allowed', '');
    return;
  }

  if (action === '/login' && prompt.name === 'login') {
    const login = (await readForm(req)).get('login')?.trim();
    if (!login) {
      page(res, 400, 'Sign in', '<p id="error">login is required</p>');
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: login },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === '/confirm' && prompt.name === 'consent') {
    const { details: missing } = prompt;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    await provider.interactionFinished(req, res, {
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: true });
    return;
  }

  if (action === '/abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  page(res, 400, 'Unexpected step', `<p id="error">${escapeHtml(action)} during ${escapeHtml(prompt.name)}</p>`);
}

const providerCallback = provider.callback();
const interactionPath = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/confirm|\/abort)?\/?$/;

handle = (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  if (pathname === '/favicon.ico') {
    // Browsers ask for it on every page; an empty answer keeps their consoles clean.
    res.writeHead(204).end();
    return;
  }
  const m = interactionPath.exec(pathname);
  if (!m) {
    providerCallback(req, res);
    return;
  }
  interactionRoute(req, res, m[1], m[2] ?? '').catch((err) => {
    console.error('idp interaction error:', err);
    if (!res.headersSent) page(res, 500, 'IdP error', `<p id="error">${escapeHtml(err.message)}</p>`);
    else res.end();
  });
};
console.log(`idp ready ${issuer}`);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
  console.error(`idp: ${signal}, stopping`);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
