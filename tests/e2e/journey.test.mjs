// Journey signals in a real browser. (1) The agent console during a call shows the handover
// context the citizen came with and the citizen's earlier sessions. (2) "Mijn contactmomenten": two sessions of the test citizen end through the
// real WebSocket (tests/integration/journey_peers.py), then the citizen logs in on
// /contactmomenten through the dev form and reads them: a table with a caption and column headers,
// newest first, Dutch first and English after the switch, reachable with the keyboard, and no
// identifier on the page.
//
//   node --test tests/e2e/journey.test.mjs   (inside `unshare -n`; tests/e2e/run.sh does it)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, GATEWAY, Gateway } from './lib.mjs';

const ISSUER = 'https://www.gemeente.example';
const AUDIENCE = 'https://balie.gemeente.example';
const keys = mkdtempSync(path.join(tmpdir(), 'balie-e2e-keys-'));
const MINT = path.join(path.dirname(GATEWAY), 'tests', 'balie-mint-context');

const CONFIG = () => `[journey]
context_issuer = "${ISSUER}"
context_key_file = "${keys}/issuer.pub"
context_audience = "${AUDIENCE}"
[http]
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
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${keys}/issuer.key`]);
  execFileSync('openssl', ['ec', '-in', `${keys}/issuer.key`, '-pubout', '-out', `${keys}/issuer.pub`], { stdio: 'ignore' });
  gw = await new Gateway(CONFIG()).start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
  rmSync(keys, { recursive: true, force: true });
});

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

test('the agent console shows the handover context and the earlier sessions', async () => {
  for (const scenario of ['abandon', 'noagent']) {
    execFileSync('/usr/bin/python3', [PEERS, gw.base, BSN, scenario], { timeout: 60000 });
  }
  const token = execFileSync(MINT, [`${keys}/issuer.key`, ISSUER, AUDIENCE, 'zaak-2026-0042', 'Verhuizing doorgeven', '600'])
    .toString()
    .trim();
  // The citizen (a script on the real WebSocket) joins with the token and waits for a call.
  const citizen = spawn('/usr/bin/python3', [PEERS, gw.base, BSN, 'wait_call', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  let citizenOut = '';
  citizen.stdout.on('data', (d) => (citizenOut += d));
  citizen.stderr.on('data', (d) => (citizenOut += d));
  const citizenDone = new Promise((resolve) => citizen.on('exit', resolve));

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(20000);
  const agent = await ctx.newPage();
  const problems = [];
  agent.on('pageerror', (e) => problems.push(e.message));
  await agent.goto(`${gw.base}/agent`);
  await tid(agent, 'login-dev').click();
  await tid(agent, 'devlogin-submit').waitFor();
  await agent.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  await tid(agent, 'devlogin-role-agent').check();
  await Promise.all([agent.waitForURL((u) => u.pathname === '/agent'), tid(agent, 'devlogin-submit').click()]);
  await tid(agent, 'presence-toggle').click();
  const row = agent.locator('[data-testid="queue-row"]').first();
  await row.waitFor();
  assert.match(await row.locator('[data-testid="queue-context"]').innerText(), /Verhuizing doorgeven/);
  await tid(agent, 'accept-next').click();

  const context = tid(agent, 'peer-context');
  await context.waitFor({ state: 'visible' });
  const contextText = await context.innerText();
  assert.match(contextText, /Verwijzing/);
  assert.match(contextText, /zaak-2026-0042/);
  assert.match(contextText, /Verhuizing doorgeven/);
  const history = tid(agent, 'peer-history');
  await history.locator('tbody tr').first().waitFor();
  assert.equal(await history.locator('caption').innerText(), 'Eerdere contactmomenten, nieuwste bovenaan');
  assert.equal(await history.locator('tbody tr').count(), 2, 'the two earlier sessions');
  assert.equal(await history.locator('tbody tr').nth(0).locator('td').nth(3).innerText(), 'Geen medewerker beschikbaar');
  await tid(agent, 'hangup').click();
  await citizenDone;
  assert.match(citizenOut, /"ended"/, citizenOut);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('Mijn contactmomenten: the citizen reads their own sessions', async () => {
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
  assert.equal(await rows.count(), 3, 'the three sessions of the test before');
  // Newest first: the handed-over call (its outcome depends on how far the script citizen's
  // media got; the outcomes themselves are tested in tests/integration), then the two waits.
  const first = await rows.nth(0).locator('td').allInnerTexts();
  assert.deepEqual([first[1], first[2], first[4]], ['Video', 'Algemene vragen', 'Verhuizing doorgeven']);
  assert.ok(['Gestopt voor het gesprek', 'Verbinding mislukt'].includes(first[3]), first[3]);
  assert.equal(await rows.nth(1).locator('td').nth(3).innerText(), 'Geen medewerker beschikbaar');
  assert.equal(await rows.nth(2).locator('td').nth(3).innerText(), 'Gestopt voor het gesprek');
  assert.equal(await page.locator('h1').innerText(), 'Mijn contactmomenten');
  assert.match(await tid(page, 'status').innerText(), /3 contactmoment/);

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
  assert.equal(await tid(page, 'history-table').locator('tbody tr').nth(1).locator('td').nth(3).innerText(), 'No staff member available');

  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(BSN), 'the page never shows the BSN');
  assert.deepEqual(problems, []);
  await ctx.close();
});
