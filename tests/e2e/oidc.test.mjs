// OpenID Connect end to end: the gateway logs citizens in through a real OpenID Provider (npm
// `oidc-provider` 9, PKCE required, RS256), agents through a second one (private_key_jwt, roles),
// and refuses every forged or replayed answer from a provider of our own. Each refusal must show a
// page in Dutch and English, make no session, and be counted in /metrics by provider and reason.
//
//   node --test tests/e2e/oidc.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)
//
// Ports are fixed (3001-3003 for the providers, 8080 for the gateway): the redirect URIs are
// registered before anything starts, and the namespace is the test's own.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Gateway } from './lib.mjs';
import { Browserish, DIGID_ACR, FakeOp, rsaKey, startRealOp, walkProvider, wsJoin } from './oidc_peers.mjs';

const BASE = 'http://localhost:8080';
const STAFF_ACR = 'urn:example:staff:two-factor';
const dir = mkdtempSync(path.join(tmpdir(), 'balie-oidc-'));
let gw, digid, staff, fake, browser;

const staffKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const staffPublicJwk = { ...staffKey.publicKey.export({ format: 'jwk' }), kid: 'balie-1', use: 'sig', alg: 'RS256' };

const config = () => `[http]
port = 8080
[media]
workers = 1
port_base = 0
bind = "127.0.0.1"
[shutdown]
grace_s = 1
[identity]
dev_provider = false
[service.algemeen]
min_loa = midden
[service.paspoort]
min_loa = substantieel
[service.parkeren]
min_loa = basis
[oidc.digid]
display_name = "DigiD (test)"
issuer = "http://127.0.0.1:3001"
client_id = "balie-burger"
client_auth = client_secret_basic
client_secret_file = "${dir}/digid.secret"
redirect_uri = "http://localhost:8080/auth/callback/digid"
acr_values = "${DIGID_ACR}"
[oidc.staff]
display_name = "Medewerkers (test)"
issuer = "http://127.0.0.1:3002"
client_id = "balie-medewerker"
client_auth = private_key_jwt
private_key_file = "${dir}/staff.key"
private_key_id = "balie-1"
redirect_uri = "http://localhost:8080/auth/callback/staff"
scope = "openid profile roles"
acr_values = "${STAFF_ACR}"
loa_map = "${STAFF_ACR}=midden"
role = agent
role_claim = roles
role_map = "balie-burgerzaken=algemeen|paspoort, balie-beheer=*"
display_name_claim = name
[oidc.fake]
display_name = "Nep-aanbieder"
issuer = "http://127.0.0.1:3003"
client_id = "balie-fake"
client_auth = client_secret_basic
client_secret = "fake-secret-for-tests"
redirect_uri = "http://localhost:8080/auth/callback/fake"
[oidc.down]
issuer = "http://127.0.0.1:3009"
client_id = "nobody"
client_auth = client_secret_basic
client_secret = "x"
redirect_uri = "http://localhost:8080/auth/callback/down"
`;

before(async () => {
  writeFileSync(path.join(dir, 'digid.secret'), 'digid-secret-with-a/slash+plus\n');
  writeFileSync(path.join(dir, 'staff.key'), staffKey.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const client = (id, extra) => ({ client_id: id, redirect_uris: [`${BASE}/auth/callback/${id === 'balie-burger' ? 'digid' : 'staff'}`], response_types: ['code'], grant_types: ['authorization_code'], ...extra });
  digid = await startRealOp({
    port: 3001,
    clients: [client('balie-burger', { client_secret: 'digid-secret-with-a/slash+plus', token_endpoint_auth_method: 'client_secret_basic' })],
    acrValues: [DIGID_ACR],
    acrFor: () => DIGID_ACR,
  });
  staff = await startRealOp({
    port: 3002,
    clients: [client('balie-medewerker', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [staffPublicJwk] } })],
    acrValues: [STAFF_ACR],
    acrFor: () => STAFF_ACR,
    rolesFor: (name) => (name === 'a.devries' ? ['balie-burgerzaken', 'other-app'] : ['other-app']),
  });
  fake = await new FakeOp(3003, { clientId: 'balie-fake', clientSecret: 'fake-secret-for-tests' }).start();
  gw = await new Gateway(config()).start();
  // Discovery and the keys come in the background: wait until each live provider takes logins.
  for (const id of ['digid', 'staff', 'fake']) {
    const t0 = Date.now();
    for (;;) {
      const r = await fetch(`${BASE}/auth/login?provider=${id}&return=/`, { redirect: 'manual' });
      if (r.status === 302) break;
      assert.ok(Date.now() - t0 < 15000, `${id} never became ready:\n${gw.log(30)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
});

after(async () => {
  if (browser) await browser.close();
  if (gw && gw.proc.exitCode === null) await gw.stop();
  await Promise.all([digid?.close(), staff?.close(), fake?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ----

// Starts a login at the gateway: the provider's authorization URL.
async function startLogin(client, provider, ret = '/') {
  const r = await client.get(`${BASE}/auth/login?provider=${provider}&return=${encodeURIComponent(ret)}`);
  assert.equal(r.status, 302, `login start for ${provider}: ${r.status} ${await r.text()}`);
  return r.headers.get('location');
}

async function session(client) {
  return (await client.get(`${BASE}/auth/session`)).json();
}

async function providerFailures() {
  const text = await (await fetch(`${BASE}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^balie_auth_provider_failures_total\{provider="([^"]+)",reason="([^"]+)"\} (\d+)$/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}

// A callback the gateway must refuse: a page in both languages, no cookie, no session, and one
// more count under provider/reason.
async function expectRefused(client, callbackUrl, { provider, reason, status = 400, words }) {
  const before = await providerFailures();
  const r = await client.get(callbackUrl);
  const body = await r.text();
  assert.equal(r.status, status, `${reason}: HTTP ${r.status}: ${body.slice(0, 400)}\n${gw.log(15)}`);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.match(body, /Inloggen lukt niet \/ Login failed/);
  assert.match(body, / \/ /, 'Dutch, then English');
  if (words) assert.match(body, words);
  assert.ok(!r.headers.getSetCookie().some((c) => /^balie_session=[^;]+/.test(c) && !/^balie_session=;/.test(c)), 'no session cookie');
  assert.equal((await session(client)).authenticated, false, 'no session');
  const after = await providerFailures();
  const key = `${provider}/${reason}`;
  assert.equal((after[key] || 0) - (before[key] || 0), 1, `${key} counted once: ${JSON.stringify(after)}`);
  return body;
}

// ---- the tests ----

test('the login page lists every configured provider; one whose discovery failed answers 503', async () => {
  const s = await (await fetch(`${BASE}/auth/session`)).json();
  assert.deepEqual(
    s.providers.map((p) => [p.id, p.name, p.role]),
    [
      ['digid', 'DigiD (test)', 'citizen'],
      ['staff', 'Medewerkers (test)', 'agent'],
      ['fake', 'Nep-aanbieder', 'citizen'],
      ['down', 'down', 'citizen'],
    ],
  );
  const r = await fetch(`${BASE}/auth/login?provider=down&return=/`, { redirect: 'manual' });
  assert.equal(r.status, 503);
  assert.match(await r.text(), /Probeer het over een minuut opnieuw\. \/ Logging in through this service is not possible yet/);
  assert.ok((await providerFailures())['down/provider_unavailable'] >= 1);
  assert.ok(!gw.lines.some((l) => /999991772|digid-secret|fake-secret/.test(l)), 'no BSN or secret in the log');
});

test('citizen: the full code flow through the real provider (HTTP client), then a WebSocket join', async () => {
  const client = new Browserish();
  const authz = new URL(await startLogin(client, 'digid', '/?via=oidc'));
  assert.equal(authz.origin, digid.issuer);
  const q = authz.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.get('nonce'), /^[A-Za-z0-9_-]{43}$/, '256 random bits');
  assert.match(q.get('state'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(q.get('redirect_uri'), `${BASE}/auth/callback/digid`);
  const callback = await walkProvider(client, authz.toString(), { name: '999991772', until: `${BASE}/auth/callback/digid` });
  assert.equal(new URL(callback).searchParams.get('iss'), digid.issuer, 'RFC 9207 iss on the callback');
  const t0 = Date.now();
  const r = await client.get(callback);
  assert.equal(r.status, 303, `${await r.text()}\n${gw.log(20)}`);
  assert.equal(r.headers.get('location'), '/?via=oidc');
  assert.ok(Date.now() - t0 < 5000);
  const s = await session(client);
  assert.equal(s.authenticated, true);
  assert.equal(s.role, 'citizen');
  assert.equal(s.provider, 'digid');
  assert.equal(s.loa, 'midden', 'MobileTwoFactorContract is midden');
  const frames = await wsJoin(BASE, client.cookieHeader(BASE), { type: 'join', id: 1, service: 'algemeen' });
  assert.deepEqual(frames.find((f) => f.id === 1), { type: 'ack', id: 1 }, JSON.stringify(frames));
  assert.ok(frames.some((f) => f.type === 'queued'), JSON.stringify(frames));
  assert.ok(!gw.lines.some((l) => l.includes('999991772')), 'the BSN is never logged');
});

test('agent: private_key_jwt at the real provider, role claim → services, display name kept', async () => {
  const client = new Browserish();
  const authz = await startLogin(client, 'staff', '/agent');
  const callback = await walkProvider(client, authz, { name: 'a.devries', until: `${BASE}/auth/callback/staff` });
  const r = await client.get(callback);
  assert.equal(r.status, 303, `${await r.text()}\n${gw.log(20)}`);
  assert.equal(r.headers.get('location'), '/agent');
  const s = await session(client);
  assert.equal(s.role, 'agent');
  assert.equal(s.provider, 'staff');
  assert.equal(s.display_name, 'Test a.devries');
  assert.match(s.agent_id, /^agent-[0-9a-f]{12}$/);
  // The role allows algemeen and paspoort: presence for parkeren is refused, without a list ok.
  const answered = (id) => (frames) => frames.some((f) => f.id === id && (f.type === 'ack' || f.type === 'error'));
  const cookie = client.cookieHeader(BASE);
  const no = await wsJoin(BASE, cookie, { type: 'presence', id: 'p1', status: 'available', services: ['parkeren'] }, answered('p1'));
  assert.equal(no.find((f) => f.id === 'p1').code, 'service_not_allowed', JSON.stringify(no));
  const yes = await wsJoin(BASE, cookie, { type: 'presence', id: 'p2', status: 'available', services: ['paspoort'] }, answered('p2'));
  assert.equal(yes.find((f) => f.id === 'p2').type, 'ack', JSON.stringify(yes));
  const all = await wsJoin(BASE, cookie, { type: 'presence', id: 'p3', status: 'available' }, answered('p3'));
  assert.equal(all.find((f) => f.id === 'p3').type, 'ack', JSON.stringify(all));
});

test('agent without a known role is refused (403), and the citizen provider is not offered to agents', async () => {
  const client = new Browserish();
  const authz = await startLogin(client, 'staff', '/agent');
  const callback = await walkProvider(client, authz, { name: 'j.jansen', until: `${BASE}/auth/callback/staff` });
  await expectRefused(client, callback, { provider: 'staff', reason: 'role_unknown', status: 403, words: /geen rol/ });
});

test('PKCE: the provider refuses a token request without the verifier; Balie always sends one', async () => {
  const client = new Browserish();
  const authz = await startLogin(client, 'digid');
  const callback = new URL(await walkProvider(client, authz, { name: '123456782', until: `${BASE}/auth/callback/digid` }));
  // The code, redeemed by someone who has it but not the verifier (what PKCE is for).
  const r = await fetch(`${digid.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`balie-burger:${encodeURIComponent('digid-secret-with-a/slash+plus')}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: `${BASE}/auth/callback/digid` }),
  });
  assert.equal(r.status, 400);
  assert.match(JSON.stringify(await r.json()), /code_verifier|PKCE|invalid_grant|invalid_request/);
  // The fake provider records Balie's token requests: each one carries a verifier that hashes to
  // the challenge of its login (checked there), so a login that succeeds proves it was sent.
  const c2 = new Browserish();
  fake.mode = 'good';
  const cb = await walkProvider(c2, await startLogin(c2, 'fake'), { until: `${BASE}/auth/callback/fake` });
  const ok = await c2.get(cb);
  assert.equal(ok.status, 303, await ok.text());
  const last = fake.tokenRequests.at(-1);
  assert.match(last.code_verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(last.grant_type, 'authorization_code');
  assert.equal(last.redirect_uri, `${BASE}/auth/callback/fake`);
  assert.equal((await session(c2)).loa, 'substantieel', 'eIDAS substantial');
});

test('a replayed callback and a replayed code are refused', async () => {
  const client = new Browserish();
  const authz = await startLogin(client, 'digid');
  const callback = await walkProvider(client, authz, { name: '111222333', until: `${BASE}/auth/callback/digid` });
  assert.equal((await client.get(callback)).status, 303);
  // The same callback again: the state was single use.
  const other = new Browserish();
  await expectRefused(other, callback, { provider: 'digid', reason: 'state_invalid' });
  // The used code with a fresh state of another login: the real provider refuses the code.
  const fresh = new URL(await startLogin(other, 'digid'));
  const replay = new URL(callback);
  replay.searchParams.set('state', fresh.searchParams.get('state'));
  await expectRefused(other, replay.toString(), { provider: 'digid', reason: 'token_refused', words: /al gebruikt/ });
});

// Runs one login at the fake provider in `mode` and expects it refused for `reason`.
async function fakeRefusal(mode, reason, extra = {}) {
  const client = new Browserish();
  fake.mode = mode;
  try {
    const cb = await walkProvider(client, await startLogin(client, 'fake'), { until: `${BASE}/auth/callback/fake` });
    return await expectRefused(client, cb, { provider: 'fake', reason, ...extra });
  } finally {
    fake.mode = 'good';
  }
}

test('forged ID tokens are refused: wrong nonce, expired, alg none, HS256 with the public key', async () => {
  await fakeRefusal('wrong_nonce', 'nonce_mismatch', { words: /klopt niet/ });
  await fakeRefusal('expired', 'token_expired');
  await fakeRefusal('alg_none', 'alg_refused');
  await fakeRefusal('hs256', 'alg_refused');
  await fakeRefusal('wrong_acr', 'loa_unknown', { status: 403 });
});

test('mix-up: a callback whose iss names another provider, or that lacks the promised iss, is refused', async () => {
  fake.callbackIss = digid.issuer;
  try {
    await fakeRefusal('good', 'iss_mismatch', { words: /niet van de inlogdienst die u koos/ });
    fake.callbackIss = 'omit';
    await fakeRefusal('good', 'iss_missing');
  } finally {
    fake.callbackIss = null;
  }
  assert.equal(fake.tokenRequests.filter((t) => !t.code_verifier).length, 0);
});

test('key rotation: an unknown kid makes Balie read the JWKS once more and the login succeeds', async () => {
  const before = fake.jwksFetches;
  fake.rotate('fake-2');
  const client = new Browserish();
  const cb = await walkProvider(client, await startLogin(client, 'fake'), { until: `${BASE}/auth/callback/fake` });
  const r = await client.get(cb);
  assert.equal(r.status, 303, `${await r.text()}\n${gw.log(20)}`);
  assert.equal(fake.jwksFetches, before + 1, 'one refetch');
  assert.equal((await session(client)).authenticated, true);
});

test('a kid that no JWKS has is refused, and does not make Balie fetch the keys again within a minute', async () => {
  const before = fake.jwksFetches;
  await fakeRefusal('unknown_kid', 'unknown_kid');
  assert.equal(fake.jwksFetches, before, 'rate-limited: the rotation above refetched less than 60 s ago');
  const total = Object.entries(await providerFailures()).filter(([k]) => k.startsWith('fake/')).reduce((n, [, v]) => n + v, 0);
  assert.ok(total >= 8, `every refusal counted: ${total}`);
});

test('a slow token endpoint holds up nobody, and a browser that leaves meanwhile is handled', async () => {
  fake.tokenDelayMs = 2500;
  try {
    // While one callback waits for the provider, the gateway answers others at once.
    const waiting = new Browserish();
    const cb = await walkProvider(waiting, await startLogin(waiting, 'fake'), { until: `${BASE}/auth/callback/fake` });
    const t0 = Date.now();
    const slow = waiting.get(cb);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const h0 = Date.now();
    assert.equal((await fetch(`${BASE}/healthz`)).status, 200);
    assert.ok(Date.now() - h0 < 1000, `healthz took ${Date.now() - h0} ms during a token call`);
    const r = await slow;
    assert.equal(r.status, 303, await r.text());
    assert.ok(Date.now() - t0 >= 2400, 'the answer waited for the provider');

    // A browser that gives up before the provider answers: the answer is dropped, no session.
    const leaving = new Browserish();
    const cb2 = await walkProvider(leaving, await startLogin(leaving, 'fake'), { until: `${BASE}/auth/callback/fake` });
    const before = (await providerFailures())['fake/connection_closed'] || 0;
    await new Promise((resolve) => {
      const req = http.get(cb2, { localAddress: leaving.localAddress, headers: { cookie: leaving.cookieHeader(BASE) } });
      req.on('error', () => resolve());
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 800);
    });
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the provider answers meanwhile
    assert.equal(((await providerFailures())['fake/connection_closed'] || 0) - before, 1, gw.log(12));
    assert.equal((await session(leaving)).authenticated, false);
    assert.equal((await fetch(`${BASE}/healthz`)).status, 200);
  } finally {
    fake.tokenDelayMs = 0;
  }
});

test('Chromium: Balie\'s login page → the provider\'s form → back logged in → WebSocket join accepted', async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${BASE}/`);
  const button = page.locator('[data-testid="login-digid"]');
  await button.waitFor();
  assert.equal(await page.locator('[data-testid="login-staff"]').count(), 0, 'agents\' provider not on the citizen page');
  assert.equal(await page.locator('[data-testid="login-fake"]').count(), 1);
  await button.click();
  await page.waitForURL((u) => u.origin === digid.issuer);
  await page.locator('input[name="login"]').fill('123456782');
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  // A consent page may follow; its button continues.
  for (let i = 0; i < 3 && new URL(page.url()).origin === digid.issuer; i++) {
    await page.waitForLoadState();
    if (new URL(page.url()).origin !== digid.issuer) break;
    const next = page.locator('button[type="submit"]');
    if (await next.count()) await next.first().click();
    await page.waitForTimeout(300);
  }
  await page.waitForURL((u) => u.origin === BASE && !u.pathname.startsWith('/auth/'));
  const s = await page.evaluate(() => fetch('/auth/session').then((r) => r.json()));
  assert.equal(s.authenticated, true, JSON.stringify(s));
  assert.equal(s.provider, 'digid');
  const frames = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/ws`, 'balie.v1');
        const got = [];
        ws.onopen = () => ws.send(JSON.stringify({ type: 'join', id: 7, service: 'parkeren' }));
        ws.onmessage = (e) => {
          got.push(JSON.parse(e.data));
          if (got.some((f) => f.type === 'queued' || f.type === 'error')) {
            ws.close();
            resolve(got);
          }
        };
        ws.onerror = () => reject(new Error('WebSocket error'));
        setTimeout(() => reject(new Error(`no answer: ${JSON.stringify(got)}`)), 10000);
      }),
  );
  assert.deepEqual(frames.find((f) => f.id === 7), { type: 'ack', id: 7 }, JSON.stringify(frames));
  assert.ok(frames.some((f) => f.type === 'queued'));
  assert.deepEqual(problems, []);
});

test('the gateway stops cleanly (exit 0; under AddressSanitizer: no leak)', async () => {
  const rc = await gw.stop();
  assert.equal(rc, 0, gw.log(30));
});
