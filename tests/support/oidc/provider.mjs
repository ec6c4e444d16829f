// A real OpenID Connect provider for the tests (panva's oidc-provider, OpenID Certified), on loopback only.
// Started by tests/support/oidc_provider.py: `node provider.mjs config.json` (or OIDC_PROVIDER_CONFIG=config.json).
//
// config.json: {"issuer": "http://127.0.0.1:PORT", "port": PORT,
//               "clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
//               "accounts": [{"sub", "preferred_username", "email", "name", "password", "disabled"?: true}]}
//
// Authorization-code flow for confidential clients (client_secret_basic or client_secret_post), scopes
// openid profile email, claims in both userinfo and the id_token. Our own login page replaces the
// devInteractions (form: input#login, input#password, button#submit); consent is granted automatically.
// Plain http works as is: web clients may register http redirect URIs for the code flow (only implicit is
// forced to https), and cookies get the `secure` flag only when the request itself is secure.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const configPath = process.argv[2] || process.env.OIDC_PROVIDER_CONFIG;
if (!configPath) {
  console.error('usage: node provider.mjs config.json (or OIDC_PROVIDER_CONFIG=config.json)');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const port = Number(config.port ?? new URL(config.issuer).port);
const accounts = config.accounts ?? [];

const SCOPES = ['openid', 'profile', 'email'];

function findAccountRecord(sub) {
  return accounts.find((account) => account.sub === sub);
}

function accountForLogin(login) {
  const wanted = String(login ?? '').trim();
  if (!wanted) return undefined;
  return accounts.find((account) => account.preferred_username === wanted || account.email === wanted);
}

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="vi">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title></head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, { login = '', error = '' } = {}) {
  const errorBlock = error ? `<p id="error" class="error" role="alert">${escapeHtml(error)}</p>\n` : '';
  return page('Đăng nhập tài khoản Bộ', `${errorBlock}<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label for="login">Tên đăng nhập</label>
<input id="login" name="login" type="text" value="${escapeHtml(login)}" required autofocus>
<label for="password">Mật khẩu</label>
<input id="password" name="password" type="password" required>
<button id="submit" type="submit">Đăng nhập</button>
</form>`);
}

// A fresh signing key every start: tokens from a previous run are not trusted by a restarted provider.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const configuration = {
  clients: (config.clients ?? []).map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
    application_type: 'web',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // client_secret_post is accepted too: oidc-provider treats basic and post as one family.
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signingKey] },
  cookies: {
    keys: [randomBytes(32).toString('hex')],
    // No `secure` here: oidc-provider adds it only on secure requests, so cookies work over plain http.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  scopes: SCOPES,
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
  },
  // Scope claims in the id_token as well, not only from userinfo.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => false },
  async findAccount(ctx, sub) {
    const account = findAccountRecord(sub);
    if (!account || account.disabled) return undefined;
    return {
      accountId: account.sub,
      async claims() {
        return {
          sub: account.sub,
          preferred_username: account.preferred_username,
          email: account.email,
          email_verified: account.email !== undefined,
          name: account.name,
        };
      },
    };
  },
  // Consent is implied for our configured clients: the grant is made (or completed) here, no consent prompt.
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!grant) {
      grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    }
    grant.addOIDCScope(SCOPES.join(' '));
    await grant.save();
    return grant;
  },
  interactions: {
    url: async (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    const lines = Object.entries(out).map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`);
    ctx.body = page('Lỗi đăng nhập', lines.join('\n'));
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
};

const provider = new Provider(config.issuer, configuration);
provider.proxy = false;

async function readForm(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 64 * 1024) ctx.throw(413, 'form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(ctx, status, html) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = html;
}

// One line per request on stdout (the Python helper keeps it in a log file).
provider.use(async (ctx, next) => {
  const started = Date.now();
  try {
    await next();
  } finally {
    console.log(`${ctx.method} ${ctx.path} ${ctx.status} ${Date.now() - started}ms`);
  }
});

// The interaction pages: GET /interaction/:uid (the form), POST /interaction/:uid/login (its answer).
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
  if (!match) return next();
  const [, uid, isLogin] = match;
  try {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) {
      return sendHtml(ctx, 400, page('Lỗi đăng nhập', '<p>Phiên đăng nhập không hợp lệ.</p>'));
    }
    const { prompt } = details;

    if (!isLogin && ctx.method === 'GET') {
      if (prompt.name === 'login') return sendHtml(ctx, 200, loginPage(uid));
      if (prompt.name === 'consent') {
        // Only reached if loadExistingGrant left something missing: grant what is asked, no screen.
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
        if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
        const grantId = await grant.save();
        const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        ctx.status = 303;
        return ctx.redirect(returnTo);
      }
      return sendHtml(ctx, 400, page('Lỗi đăng nhập', `<p>Bước không hỗ trợ: ${escapeHtml(prompt.name)}</p>`));
    }

    if (isLogin && ctx.method === 'POST') {
      if (prompt.name !== 'login') {
        return sendHtml(ctx, 400, page('Lỗi đăng nhập', '<p>Phiên đăng nhập không hợp lệ.</p>'));
      }
      const form = await readForm(ctx);
      const login = form.get('login') ?? '';
      const password = form.get('password') ?? '';
      const account = accountForLogin(login);
      if (!account || account.password !== password) {
        return sendHtml(ctx, 200, loginPage(uid, { login, error: 'Sai mật khẩu hoặc tên đăng nhập.' }));
      }
      if (account.disabled) {
        return sendHtml(ctx, 200, loginPage(uid, { login, error: 'Tài khoản bị khoá.' }));
      }
      const returnTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { login: { accountId: account.sub } },
        { mergeWithLastSubmission: false },
      );
      ctx.status = 303;
      return ctx.redirect(returnTo);
    }

    ctx.status = 405;
    ctx.body = 'method not allowed';
  } catch (err) {
    if (err.name === 'SessionNotFound') {
      return sendHtml(ctx, 400, page('Lỗi đăng nhập', '<p>Phiên đăng nhập đã hết hạn hoặc không tồn tại.</p>'));
    }
    throw err;
  }
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${config.issuer}`);
});
server.on('error', (err) => {
  console.error(`cannot listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
