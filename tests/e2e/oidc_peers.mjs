// The OpenID Providers the OIDC end-to-end test logs in through: the real npm `oidc-provider`
// (happy paths, code replay, PKCE), and a small provider of our own built on node:crypto that can
// forge exactly the ID tokens a refusal test needs (wrong nonce, expired, alg none, HS256, unknown
// kid, key rotation, another issuer on the callback).
import { createHash, createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

export const DIGID_ACR = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract';
export const EIDAS_SUBSTANTIAL = 'http://eidas.europa.eu/LoA/substantial';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function rsaKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicKey, jwk, privateJwk: { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

// ---- the real provider ----

// An oidc-provider 9 on 127.0.0.1:`port` with PKCE required for every client, RS256 keys, and
// devInteractions' login form (any name, any password). The name typed is the account id and the
// subject (a BSN for citizens); `acrFor(name)` is the level the login gets, as a DigiD broker
// would say it; `rolesFor(name)` the agent's roles.
export async function startRealOp({ port, clients, acrFor, rolesFor = () => [], acrValues }) {
  const issuer = `http://127.0.0.1:${port}`;
  const op = new Provider(issuer, {
    clients,
    jwks: { keys: [rsaKey('real-1').privateJwk] },
    pkce: { required: () => true },
    acrValues,
    scopes: ['openid', 'profile', 'roles'],
    claims: { openid: ['sub'], profile: ['name'], roles: ['roles'] },
    // The scope's claims in the ID token itself (the gateway never calls userinfo).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [b64url(randomBytes(32))] },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, name: `Test ${id}`, roles: rolesFor(id) }),
    }),
  });
  // devInteractions logs in without a level; a real broker always says which one it checked.
  const login = op.Session.prototype.loginAccount;
  op.Session.prototype.loginAccount = function (details) {
    return login.call(this, { ...details, acr: acrFor(details.accountId) });
  };
  op.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));
  const server = op.listen(port, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { issuer, op, close: () => new Promise((resolve) => server.close(resolve)) };
}

// ---- a provider that signs what the test asks ----

function signJwt(header, payload, sign) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${sign(input)}`;
}

export class FakeOp {
  constructor(port, { clientId, clientSecret }) {
    this.port = port;
    this.issuer = `http://127.0.0.1:${port}`;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.published = [rsaKey('fake-1')]; // in the JWKS
    this.signer = this.published[0]; // signs ID tokens
    this.jwksFetches = 0;
    this.mode = 'good';
    this.callbackIss = null; // the iss parameter on the callback; null: our own
    this.logins = new Map(); // code → the authorization request
    this.tokenRequests = [];
    this.tokenDelayMs = 0; // how long the token endpoint thinks
  }

  discovery() {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.issuer}/auth`,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      authorization_response_iss_parameter_supported: true,
    };
  }

  // The ID token for a login, as the current mode wants it.
  idToken(login) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: this.issuer, aud: this.clientId, sub: '999991772', nonce: login.nonce, acr: EIDAS_SUBSTANTIAL, iat: now, exp: now + 300 };
    const rs256 = (key) => (input) => createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url');
    const header = { alg: 'RS256', typ: 'JWT', kid: this.signer.kid };
    switch (this.mode) {
      case 'wrong_nonce':
        return signJwt(header, { ...claims, nonce: b64url(randomBytes(32)) }, rs256(this.signer));
      case 'expired':
        return signJwt(header, { ...claims, iat: now - 900, exp: now - 600 }, rs256(this.signer));
      case 'alg_none':
        return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
      case 'hs256': {
        // The classic confusion: HMAC "signed" with the provider's public key as the secret.
        const secret = this.signer.publicKey.export({ format: 'pem', type: 'spki' });
        const h = { alg: 'HS256', typ: 'JWT', kid: this.signer.kid };
        return signJwt(h, claims, (input) => createHmac('sha256', secret).update(input).digest('base64url'));
      }
      case 'unknown_kid': {
        const stranger = rsaKey('never-published');
        return signJwt({ ...header, kid: stranger.kid }, claims, rs256(stranger));
      }
      case 'wrong_acr':
        return signJwt(header, { ...claims, acr: 'urn:example:level-nobody-knows' }, rs256(this.signer));
      default:
        return signJwt(header, claims, rs256(this.signer));
    }
  }

  // A new signing key, published from now on in place of the old one.
  rotate(kid) {
    this.signer = rsaKey(kid);
    this.published = [this.signer];
  }

  handle(req, res, body) {
    const url = new URL(req.url, this.issuer);
    const json = (status, obj) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (url.pathname === '/.well-known/openid-configuration') return json(200, this.discovery());
    if (url.pathname === '/jwks') {
      this.jwksFetches++;
      return json(200, { keys: this.published.map((k) => k.jwk) });
    }
    if (url.pathname === '/auth') {
      const p = Object.fromEntries(url.searchParams);
      const code = b64url(randomBytes(24));
      this.logins.set(code, p);
      const back = new URL(p.redirect_uri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.state);
      if (this.callbackIss !== 'omit') back.searchParams.set('iss', this.callbackIss || this.issuer);
      res.writeHead(303, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = Object.fromEntries(new URLSearchParams(body));
      this.tokenRequests.push(form);
      const auth = Buffer.from((req.headers.authorization || '').replace(/^Basic /, ''), 'base64').toString();
      const [id, secret] = auth.split(':').map(decodeURIComponent);
      if (id !== this.clientId || secret !== this.clientSecret) return json(401, { error: 'invalid_client' });
      const login = this.logins.get(form.code);
      this.logins.delete(form.code); // single use
      if (!login) return json(400, { error: 'invalid_grant' });
      const challenge = createHash('sha256').update(form.code_verifier || '').digest('base64url');
      if (login.code_challenge_method !== 'S256' || challenge !== login.code_challenge) return json(400, { error: 'invalid_grant' });
      return json(200, { access_token: b64url(randomBytes(16)), token_type: 'Bearer', expires_in: 60, id_token: this.idToken(login) });
    }
    res.writeHead(404);
    res.end();
  }

  async start() {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      const delay = req.url.startsWith('/token') ? this.tokenDelayMs : 0;
      req.on('end', () => setTimeout(() => this.handle(req, res, body), delay));
    });
    this.server.listen(this.port, '127.0.0.1');
    await new Promise((resolve) => this.server.once('listening', resolve));
    return this;
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

// ---- an HTTP client that walks a login like a browser ----

// Cookies by host, enough for these servers (no domains, no paths that matter). Each client
// speaks from its own loopback address (127.0.0.2, .3, …), as different people would: the
// gateway limits failed logins per address, and the refusal tests make many.
let nextAddress = 2;

function request(url, { method = 'GET', headers = {}, body, localAddress }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) for (const one of [].concat(v)) h.append(k, one);
        resolve({ status: res.statusCode, headers: h, text: async () => text, json: async () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class Browserish {
  constructor() {
    this.jars = new Map();
    this.localAddress = `127.0.0.${nextAddress++}`;
  }

  cookieHeader(url) {
    const jar = this.jars.get(new URL(url).host) || new Map();
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(url, res) {
    const host = new URL(url).host;
    const jar = this.jars.get(host) || new Map();
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || attrs.some((a) => /max-age=0/i.test(a))) jar.delete(name);
      else jar.set(name, value);
    }
    this.jars.set(host, jar);
  }

  async get(url, extra = {}) {
    const res = await request(url, { headers: { cookie: this.cookieHeader(url), ...extra }, localAddress: this.localAddress });
    this.keep(url, res);
    return res;
  }

  async post(url, form) {
    const res = await request(url, {
      method: 'POST',
      headers: { cookie: this.cookieHeader(url), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      localAddress: this.localAddress,
    });
    this.keep(url, res);
    return res;
  }
}

// From the provider's first page to the redirect back to `until` (the gateway's callback): follows
// redirects and fills devInteractions' forms (login with `name`, then consent). Returns the
// callback URL without calling it.
export async function walkProvider(client, url, { name, until }) {
  for (let step = 0; step < 20; step++) {
    if (url.startsWith(until)) return url;
    const res = await client.get(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).toString();
      continue;
    }
    const html = await res.text();
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
    if (res.status !== 200 || !form) throw new Error(`the provider answered ${res.status} at ${url}: ${html.slice(0, 300)}`);
    const fields = {};
    for (const [input] of form[2].matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(input);
      const value = /value="([^"]*)"/.exec(input);
      if (name) fields[name[1]] = value ? value[1] : '';
    }
    if ('login' in fields) Object.assign(fields, { login: name, password: 'any' });
    const post = await client.post(new URL(form[1].replace(/&amp;/g, '&'), url).toString(), fields);
    if (post.status < 300 || post.status >= 400) throw new Error(`the provider's form answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
    url = new URL(post.headers.get('location'), url).toString();
  }
  throw new Error('the provider never sent the browser back');
}

// ---- a WebSocket client, enough for one join (Node 20 has no WebSocket without a flag) ----

const joined = (frames) => frames.some((f) => f.type === 'queued' || f.type === 'error');

// Opens /ws with the session `cookie`, sends `message`, and resolves with the frames received
// once `done(frames)` (by default: queued or an error).
export function wsJoin(base, cookie, message, done = joined) {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const req = http.request(`${base}/ws`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': key,
        'sec-websocket-protocol': 'balie.v1',
        origin: base,
        cookie,
      },
    });
    const timer = setTimeout(() => reject(new Error('no answer on the WebSocket')), 10000);
    req.on('response', (res) => reject(new Error(`the WebSocket was refused: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.on('upgrade', (res, socket) => {
      const payload = Buffer.from(JSON.stringify(message));
      const mask = randomBytes(4);
      const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
      socket.write(Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]));
      let buf = Buffer.alloc(0);
      const frames = [];
      socket.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2) {
          let len = buf[1] & 127;
          let off = 2;
          if (len === 126) {
            if (buf.length < 4) return;
            len = buf.readUInt16BE(2);
            off = 4;
          }
          if (buf.length < off + len) return;
          if ((buf[0] & 15) === 1) frames.push(JSON.parse(buf.subarray(off, off + len).toString()));
          buf = buf.subarray(off + len);
        }
        if (done(frames)) {
          clearTimeout(timer);
          socket.destroy();
          resolve(frames);
        }
      });
    });
    req.end();
  });
}
