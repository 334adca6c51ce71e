// "Mijn contactmomenten" in a real browser: two sessions of the test citizen end through the
// real WebSocket (tests/integration/journey_peers.py), then the citizen logs in on
// /contactmomenten through the dev form and reads them: a table with a caption and column headers,
// newest first, Dutch first and English after the switch, reachable with the keyboard, and no
// identifier on the page.
//
//   node --test tests/e2e/journey.test.mjs   (inside `unshare -n`; tests/e2e/run.sh does it)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Gateway } from './lib.mjs';

const CONFIG = `[http]
port = 0
[media]
workers = 1
port_base = 0
bind = "127.0.0.1"
[service.algemeen]
name_nl = "Algemene vragen"
name_en = "General questions"
`;
const BSN = '999991772'; // the dev form's suggested test BSN
const here = path.dirname(fileURLToPath(import.meta.url));
const PEERS = path.join(here, '..', 'integration', 'journey_peers.py');

let gw;
let browser;

before(async () => {
  gw = await new Gateway(CONFIG).start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
});

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

test('Mijn contactmomenten: the citizen reads their own sessions', async () => {
  for (const scenario of ['abandon', 'noagent']) {
    execFileSync('/usr/bin/python3', [PEERS, gw.base, BSN, scenario], { timeout: 60000 });
  }
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));

  await page.goto(`${gw.base}/contactmomenten`);
  await tid(page, 'login-dev').waitFor();
  assert.match(await tid(page, 'status').innerText(), /Log in/);
  await tid(page, 'login-dev').click();
  await tid(page, 'devlogin-submit').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  await tid(page, 'devlogin-role-citizen').check();
  await tid(page, 'devlogin-subject').fill(BSN);
  await Promise.all([page.waitForURL((u) => u.pathname === '/contactmomenten'), tid(page, 'devlogin-submit').click()]);

  const table = tid(page, 'history-table');
  await table.waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'nl');
  assert.equal(await table.locator('caption').innerText(), 'Mijn contactmomenten, nieuwste bovenaan');
  assert.deepEqual(await table.locator('thead th').allInnerTexts(), ['Datum', 'Kanaal', 'Dienst', 'Uitkomst', 'Onderwerp']);
  assert.equal(await table.locator('thead th[scope="col"]').count(), 5);
  const rows = table.locator('tbody tr');
  assert.equal(await rows.count(), 2);
  assert.deepEqual(await rows.nth(0).locator('td').allInnerTexts().then((c) => c.slice(1, 4)), [
    'Video',
    'Algemene vragen',
    'Geen medewerker beschikbaar',
  ]);
  assert.equal(await rows.nth(1).locator('td').nth(3).innerText(), 'Gestopt voor het gesprek');
  assert.equal(await page.locator('h1').innerText(), 'Mijn contactmomenten');
  assert.match(await tid(page, 'status').innerText(), /2 contactmoment/);

  // The table's region takes keyboard focus (it may scroll sideways on a small screen).
  let focused = '';
  for (let i = 0; i < 12 && focused !== 'region'; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('role'));
  }
  assert.equal(focused, 'region', 'the table is reachable with Tab');

  await tid(page, 'lang-switch').click();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await page.locator('h1').innerText(), 'My contacts');
  assert.equal(await tid(page, 'history-table').locator('caption').innerText(), 'My contacts, newest first');
  assert.equal(await tid(page, 'history-table').locator('tbody tr').nth(0).locator('td').nth(3).innerText(), 'No staff member available');

  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(BSN), 'the page never shows the BSN');
  assert.deepEqual(problems, []);
  await ctx.close();
});
