// SAML login against a real SimpleSAMLphp IdP (Debian's simplesamlphp, run by `php -S` with a
// private config folder and memcached on a unix socket): headless Chromium logs in through the
// IdP's own login form, once through the HTTP-POST binding and once through the HTTP-Artifact
// binding, and must end in a session that /auth/session shows with the level and the provider,
// never the BSN. The IdP checks our signed AuthnRequest (validate.authnrequest).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, Gateway } from './lib.mjs';

// Fixed ports are safe: run.sh gives every file its own network namespace.
const GW_PORT = 18080;
const IDP_PORT = 18081;
const ARS_TLS_PORT = 18443; // TLS in front of the IdP's ArtifactResolutionService
const GW = `http://localhost:${GW_PORT}`;
const IDP = `http://127.0.0.1:${IDP_PORT}`;
const BSN = '123456782';
const MIDDEN = 'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract';
const SSP_WWW = '/usr/share/simplesamlphp/www';

const dir = mkdtempSync(path.join(tmpdir(), 'balie-saml-'));
let memcached, php, gateway, browser, arsTls;
const arsClients = []; // subjects of the client certificates the TLS front saw
const phpLog = [];

function keypair(name, extra = []) {
  const key = path.join(dir, `${name}.key`), crt = path.join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj',
    `/CN=${name}`, '-keyout', key, '-out', crt, ...extra], { stdio: 'ignore' });
  const b64 = readFileSync(crt, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return { key, crt, b64 };
}

function php_sp(id, sp) {
  const acs = `${GW}/auth/callback/${id}`;
  return `$metadata['${GW}/auth/metadata/${id}'] = [
  'AssertionConsumerService' => [
    ['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => '${acs}', 'index' => 0],
    ['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact', 'Location' => '${acs}', 'index' => 1],
  ],
  'certData' => '${sp.b64}',
  'validate.authnrequest' => true,
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  'simplesaml.nameidattribute' => 'nameid',
  'attributes' => ['nameid'],
];
`;
}

function writeIdpConfig(sp) {
  const cfg = path.join(dir, 'ssp');
  for (const d of ['', 'metadata', 'cert', 'log', 'data', 'tmp']) mkdirSync(path.join(cfg, d), { recursive: true });
  const idp = keypair('idp');
  execFileSync('cp', [idp.key, idp.crt, path.join(cfg, 'cert')]);
  writeFileSync(path.join(cfg, 'config.php'), `<?php
$config = [
  'baseurlpath' => '${IDP}/',
  'certdir' => '${cfg}/cert/', 'loggingdir' => '${cfg}/log/', 'datadir' => '${cfg}/data/',
  'tempdir' => '${cfg}/tmp', 'metadatadir' => '${cfg}/metadata/',
  'secretsalt' => 'balie-e2e-salt-0123456789', 'auth.adminpassword' => 'not-used-0123456789',
  'technicalcontact_email' => 'test@example.org', 'timezone' => 'UTC',
  'enable.saml20-idp' => true, 'production' => false, 'admin.checkforupdates' => false,
  'logging.handler' => 'stderr', 'logging.level' => SimpleSAML\\Logger::NOTICE,
  'store.type' => 'memcache',
  'memcache_store.servers' => [[['hostname' => 'unix://${dir}/memcached.sock']]],
  'session.cookie.secure' => false, 'session.cookie.samesite' => null,
  'language.cookie.secure' => false,
  'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
];
`);
  writeFileSync(path.join(cfg, 'authsources.php'), `<?php
$config = [
  'admin' => ['core:AdminPassword'],
  'citizens' => ['exampleauth:UserPass', 'burger:geheim' => ['nameid' => ['s00000000:${BSN}']]],
];
`);
  writeFileSync(path.join(cfg, 'metadata', 'saml20-idp-hosted.php'), `<?php
$metadata['__DYNAMIC:1__'] = [
  'host' => '__DEFAULT__', 'privatekey' => 'idp.key', 'certificate' => 'idp.crt',
  'auth' => 'citizens', 'saml20.sendartifact' => true, 'validate.authnrequest' => true,
  'saml20.sign.response' => true, 'saml20.sign.assertion' => true,
  'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  'simplesaml.nameidattribute' => 'nameid',
  'authproc' => [10 => ['class' => 'saml:AuthnContextClassRef', 'AuthnContextClassRef' => '${MIDDEN}']],
];
`);
  writeFileSync(path.join(cfg, 'metadata', 'saml20-sp-remote.php'), `<?php\n${php_sp('digid', sp)}${php_sp('digidart', sp)}`);
  return cfg;
}

async function waitFor(fn, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  const sp = keypair('sp');
  const cfg = writeIdpConfig(sp);
  memcached = spawn('memcached', ['-s', path.join(dir, 'memcached.sock'), '-u', 'root', '-m', '16'], { stdio: 'ignore' });
  await waitFor(() => {
    try { return readFileSync('/proc/net/unix', 'utf8').includes('memcached.sock'); } catch { return false; }
  }, 'memcached');
  php = spawn('php', ['-S', `127.0.0.1:${IDP_PORT}`, '-t', SSP_WWW], {
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: cfg, PHP_CLI_SERVER_WORKERS: '4' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: the workers it forks stop with it
  });
  for (const s of [php.stdout, php.stderr]) s.on('data', (d) => phpLog.push(String(d)));
  let idpMeta = '';
  await waitFor(async () => {
    const r = await fetch(`${IDP}/saml2/idp/metadata.php`);
    idpMeta = await r.text();
    return r.status === 200 && idpMeta.includes('IDPSSODescriptor');
  }, 'the IdP metadata');
  assert.match(idpMeta, /ArtifactResolutionService/);
  const metaFile = path.join(dir, 'idp-metadata.xml');
  writeFileSync(metaFile, idpMeta);
  // The artifact provider reaches the ArtifactResolutionService over TLS, as DigiD asks: a TLS
  // front of the test's own that demands a client certificate (the gateway's tls_client_cert).
  const front = keypair('ars-front', ['-addext', 'subjectAltName=IP:127.0.0.1']);
  const client = keypair('balie-tls-client');
  arsTls = tls.createServer({
    key: readFileSync(front.key), cert: readFileSync(front.crt), ca: [readFileSync(client.crt)],
    requestCert: true, rejectUnauthorized: true,
  }, (sock) => {
    arsClients.push(sock.getPeerCertificate().subject?.CN);
    const up = net.connect(IDP_PORT, '127.0.0.1');
    sock.pipe(up).pipe(sock);
    sock.on('error', () => up.destroy());
    up.on('error', () => sock.destroy());
  });
  await new Promise((r) => arsTls.listen(ARS_TLS_PORT, '127.0.0.1', r));
  const artMeta = path.join(dir, 'idp-metadata-tls.xml');
  const arsUrl = /ArtifactResolutionService[^>]*Location="([^"]+)"/.exec(idpMeta)[1];
  writeFileSync(artMeta, idpMeta.replace(arsUrl, arsUrl.replace(IDP, `https://127.0.0.1:${ARS_TLS_PORT}`)));
  const saml = (id, binding, meta, more = '') => `[saml.${id}]
idp_metadata_file = "${meta}"
sp_key_file = "${sp.key}"
sp_cert_file = "${sp.crt}"
binding = ${binding}
display_name = "DigiD (${binding})"
${more}`;
  gateway = new Gateway(`[http]\nport = ${GW_PORT}\npublic_url = "${GW}"\n[media]\nport_base = 0\n` +
    `[identity]\ndev_provider = false\n[service.paspoort]\nmin_loa = midden\n` +
    saml('digid', 'post', metaFile) +
    saml('digidart', 'artifact', artMeta, `tls_client_cert = "${client.crt}"\ntls_client_key = "${client.key}"\n` +
      `tls_ca_file = "${front.crt}"\n`));
  await gateway.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  arsTls?.close();
  const rc = await gateway?.stop();
  if (php) process.kill(-php.pid, 'SIGKILL');
  memcached?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  assert.equal(rc, 0, 'the gateway exits 0 on SIGTERM');
});

function failure(page) {
  return `page ${page.url()}\n--- gateway ---\n${gateway.log(40)}\n--- idp ---\n${phpLog.join('').slice(-3000)}`;
}

async function loginThroughIdp(provider) {
  const page = await (await browser.newContext()).newPage();
  const seen = [];
  page.on('request', (r) => seen.push(`${r.method()} ${r.url().split('?')[0]}`));
  await page.goto(`${GW}/auth/login?provider=${provider}&return=/`);
  try {
    await page.waitForSelector('input[name=username]', { timeout: 10000 });
  } catch (e) {
    throw new Error(`no IdP login form: ${await page.content()}\n${failure(page)}`);
  }
  assert.ok(page.url().startsWith(`${IDP}/`), `at the IdP: ${page.url()}`);
  await page.fill('input[name=username]', 'burger');
  await page.fill('input[name=password]', 'geheim');
  await Promise.all([
    page.waitForURL(`${GW}/`, { timeout: 15000 }).catch(async () => {
      throw new Error(`did not come back: ${(await page.content()).slice(0, 2000)}\n${failure(page)}`);
    }),
    page.click('button[type=submit], input[type=submit]'),
  ]);
  const session = await page.evaluate(async () => (await fetch('/auth/session')).text());
  return { page, seen, session };
}

test('the SP metadata names signed requests, wanted signed assertions, both ACS bindings', async () => {
  const r = await fetch(`${GW}/auth/metadata/digid`);
  assert.equal(r.status, 200);
  const md = await r.text();
  assert.match(md, /AuthnRequestsSigned="true"/);
  assert.match(md, /WantAssertionsSigned="true"/);
  assert.match(md, new RegExp(`entityID="${GW}/auth/metadata/digid"`));
  assert.match(md, /HTTP-POST" Location="http:\/\/localhost:18080\/auth\/callback\/digid"/);
  assert.match(md, /HTTP-Artifact" Location="http:\/\/localhost:18080\/auth\/callback\/digid"/);
  assert.match(md, /X509Certificate>MII/);
});

test('the login page lists both SAML providers', async () => {
  const s = await (await fetch(`${GW}/auth/session`)).json();
  const ids = s.providers.map((p) => p.id);
  assert.deepEqual(ids.sort(), ['digid', 'digidart']);
});

for (const [provider, binding] of [['digid', 'POST'], ['digidart', 'Artifact']]) {
  test(`login through the HTTP-${binding} binding ends in a session at level midden`, async () => {
    const { page, seen, session } = await loginThroughIdp(provider);
    const s = JSON.parse(session);
    assert.equal(s.authenticated, true, failure(page));
    assert.equal(s.role, 'citizen');
    assert.equal(s.loa, 'midden');
    assert.equal(s.provider, provider);
    assert.ok(!session.includes(BSN), 'the BSN never reaches the browser');
    const callback = seen.filter((l) => l.includes(`/auth/callback/${provider}`));
    if (binding === 'Artifact') {
      assert.deepEqual(arsClients, ['balie-tls-client'], 'one ArtifactResolve, with the TLS client certificate');
    }
    assert.deepEqual(callback, [`${binding === 'POST' ? 'POST' : 'GET'} ${GW}/auth/callback/${provider}`]);
    assert.ok(!gateway.lines.some((l) => l.includes(BSN)), 'the BSN is never logged');
    await page.context().close();
  });
}

test('a SAML Response posted a second time is refused', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  let posted = null;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === `${GW}/auth/callback/digid`) posted = r.postData();
  });
  await page.goto(`${GW}/auth/login?provider=digid&return=/`);
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', 'burger');
  await page.fill('input[name=password]', 'geheim');
  await Promise.all([page.waitForURL(`${GW}/`), page.click('button[type=submit], input[type=submit]')]);
  assert.ok(posted && posted.includes('SAMLResponse='), 'the IdP posted a Response');
  const again = await fetch(`${GW}/auth/callback/digid`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: posted,
    redirect: 'manual',
  });
  assert.equal(again.status, 400);
  assert.match(await again.text(), /al gebruikt|already used/);
  await ctx.close();
});

// The IdP's own signed Response, changed on its way from the browser: another BSN in the
// signed assertion, or an unsigned copy of the assertion placed before the signed one.
async function loginWithChangedResponse(change) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.route(`${GW}/auth/callback/digid`, async (route) => {
    const params = new URLSearchParams(route.request().postData());
    const xml = Buffer.from(params.get('SAMLResponse'), 'base64').toString('utf8');
    const changed = change(xml);
    assert.notEqual(changed, xml, 'the change applies');
    params.set('SAMLResponse', Buffer.from(changed, 'utf8').toString('base64'));
    await route.continue({ postData: params.toString() });
  });
  await page.goto(`${GW}/auth/login?provider=digid&return=/`);
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', 'burger');
  await page.fill('input[name=password]', 'geheim');
  await Promise.all([page.waitForURL(`${GW}/auth/callback/digid`), page.click('button[type=submit], input[type=submit]')]);
  const text = await page.textContent('body');
  const session = await page.evaluate(async () => (await fetch('/auth/session')).json());
  await ctx.close();
  return { text, session };
}

async function failures(reason) {
  const text = await (await fetch(`${GW}/metrics`)).text();
  const m = new RegExp(`balie_auth_login_failures_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

test('an IdP-signed Response with another BSN in it is refused', async () => {
  const before = await failures('saml_signature');
  const { text, session } = await loginWithChangedResponse((xml) => xml.replace(`s00000000:${BSN}`, 's00000000:111222333'));
  assert.match(text, /klopt niet|not valid/);
  assert.equal(session.authenticated, false);
  assert.equal(await failures('saml_signature'), before + 1);
});

test('signature wrapping with the IdP-signed Response is refused (an unsigned assertion first)', async () => {
  // SimpleSAMLphp signs the Response too, so its broken signature may be what refuses it first.
  const count = async () => (await failures('saml_structure')) + (await failures('saml_signature'));
  const before = await count();
  const { text, session } = await loginWithChangedResponse((xml) => {
    const start = xml.indexOf('<saml:Assertion');
    const end = xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
    const evil = xml.slice(start, end).replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '')
      .replace(/ID="[^"]+"/, 'ID="_evil"').replace(`s00000000:${BSN}`, 's00000000:111222333');
    return xml.slice(0, start) + evil + xml.slice(start);
  });
  assert.match(text, /klopt niet|not valid/);
  assert.equal(session.authenticated, false);
  assert.equal(await count(), before + 1);
});
