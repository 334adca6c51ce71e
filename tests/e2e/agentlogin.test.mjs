// Browser end-to-end test of the agents' own login and of the assurance-level policy, with the
// real gateway and Debian's Chromium:
// - an agent added with `balie-gateway user add` logs in through the real password form (a wrong
//   password first) and lands on the console, which shows its name and takes only its services;
// - a citizen logged in below a service's level sees why in plain words, with a button that logs
//   in again asking for that level (the test login form preselects it), after which the service
//   can be chosen.
//
//   node --test tests/e2e/agentlogin.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, GATEWAY, Gateway } from './lib.mjs';

const PASSWORD = 'een lang genoeg wachtwoord';

const CONFIG = `[http]
port = 0
[media]
workers = 1
port_base = 0
[shutdown]
grace_s = 1
[service.algemeen]
name_nl = "Algemene vragen"
name_en = "General questions"
min_loa = midden
[service.paspoort]
name_nl = "Paspoort en ID-kaart"
name_en = "Passport and ID card"
min_loa = substantieel
`;

let gw;
let browser;

before(async () => {
  gw = new Gateway(CONFIG);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BALIE_')));
  const out = execFileSync(
    GATEWAY,
    ['--config', gw.config, 'user', 'add', 'a.jansen', '--services', 'paspoort', '--name', 'Anna Jansen'],
    { input: `${PASSWORD}\n`, env, encoding: 'utf8' },
  );
  assert.match(out, /agent a\.jansen added/);
  await gw.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
});

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

async function openPage(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`${name} exception: ${e.message}`));
  return page;
}

async function visit(page, urlPath) {
  await page.goto(`${gw.base}${urlPath}`);
  await page.waitForFunction(() => window.balieDebug && window.balieDebug.state() !== 'loading', null, {
    polling: 100,
  });
}

test('an agent logs in with the password form and sees the console with its own services', async () => {
  const page = await openPage('agent');
  await visit(page, '/agent');
  assert.equal(await page.evaluate(() => window.balieDebug.state()), 'login');
  await tid(page, 'login-local').click();
  await tid(page, 'agentlogin-submit').waitFor();
  // Accessible: each field has its label.
  assert.equal(await page.getByLabel('Gebruikersnaam').getAttribute('autocomplete'), 'username');
  assert.equal(await page.getByLabel('Wachtwoord').getAttribute('type'), 'password');

  // A wrong password first: a page in Dutch and English, nothing about which part was wrong.
  await tid(page, 'agentlogin-username').fill('a.jansen');
  await tid(page, 'agentlogin-password').fill('dit is niet het wachtwoord');
  const [wrong] = await Promise.all([page.waitForNavigation(), tid(page, 'agentlogin-submit').click()]);
  assert.equal(wrong.status(), 400);
  const text = await page.locator('body').innerText();
  assert.match(text, /gebruikersnaam of het wachtwoord klopt niet/);
  assert.match(text, /user name or password is not correct/);

  // Back to the form (the same login attempt) and the right password.
  await page.goBack();
  await tid(page, 'agentlogin-submit').waitFor();
  await tid(page, 'agentlogin-username').fill('a.jansen');
  await tid(page, 'agentlogin-password').fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/agent'), tid(page, 'agentlogin-submit').click()]);
  await page.waitForFunction(() => window.balieDebug && window.balieDebug.state() === 'queue', null, {
    polling: 100,
  });
  assert.equal(await tid(page, 'agent-name').innerText(), 'Anna Jansen');
  // One service allowed: no filter to choose from.
  assert.equal(await tid(page, 'service-filter').isHidden(), true);
  await tid(page, 'presence-toggle').click();
  await page.waitForFunction(() => window.balieDebug.available() && window.balieDebug.socket() === 'open', null, {
    polling: 100,
  });
  assert.equal(await tid(page, 'agent-error').isHidden(), true, 'presence was accepted');
  const session = await page.evaluate(async () => (await fetch('/auth/session')).json());
  assert.equal(session.provider, 'local');
  assert.deepEqual(
    session.services.map((s) => s.id),
    ['paspoort'],
  );
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a citizen below the level is told why and can log in again at that level', async () => {
  const page = await openPage('citizen');
  await visit(page, '/');
  // The staff login is not offered to citizens.
  assert.equal(await tid(page, 'login-local').count(), 0);
  await tid(page, 'login-dev').click();
  await tid(page, 'devlogin-submit').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  await tid(page, 'devlogin-loa').selectOption('basis');
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), tid(page, 'devlogin-submit').click()]);
  await page.waitForFunction(() => window.balieDebug && window.balieDebug.state() === 'service', null, {
    polling: 100,
  });

  // Both services need more than basis: disabled, with the reason and the way back.
  assert.equal(await tid(page, 'service-paspoort').isDisabled(), true);
  const why = await page.locator('#why-paspoort').innerText();
  assert.match(why, /niveau Substantieel of hoger/);
  const relogin = tid(page, 'relogin-paspoort');
  assert.match(await relogin.innerText(), /Opnieuw inloggen met niveau Substantieel/);
  const href = await relogin.getAttribute('href');
  assert.equal(href, '/auth/login?provider=dev&loa=substantieel&return=/');

  // In English too.
  await tid(page, 'lang-switch').click();
  assert.match(await relogin.innerText(), /Log in again with level Substantial/);
  await tid(page, 'lang-switch').click();

  // The button asks the login for that level: the test form has it selected already.
  await tid(page, 'relogin-algemeen').click();
  await tid(page, 'devlogin-submit').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  assert.equal(await tid(page, 'devlogin-loa').inputValue(), 'midden');
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), tid(page, 'devlogin-submit').click()]);
  await page.waitForFunction(() => window.balieDebug && window.balieDebug.state() === 'service', null, {
    polling: 100,
  });
  assert.equal(await tid(page, 'service-algemeen').isDisabled(), false, 'now at midden');
  assert.equal(await tid(page, 'service-paspoort').isDisabled(), true, 'still below substantieel');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
