// Browser end-to-end test of the queue with the real pages (headless Chromium, fake camera and
// microphone): a waiting citizen sees their place change as the citizen before them leaves;
// then an agent transfers a call to a named colleague with a note, the citizen is told they are
// being put through, and the colleague sees the note in the queue and in the call, and talks
// with the citizen.
//
//   node --test tests/e2e/queue.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)

import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Gateway, PageKit, tid } from './lib.mjs';

const CONFIG = `[http]
port = 0
[media]
workers = 1
port_base = 0
bind = "127.0.0.1"
[shutdown]
grace_s = 2
[service.algemeen]
name_nl = "Algemene vragen"
name_en = "General questions"
`;

const NOTE = 'Wil een verhuizing doorgeven; adres al gecontroleerd.';

let gw;
let browser;

before(async () => {
  gw = await new Gateway(CONFIG).start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  kit = new PageKit(browser, gw);
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
});

// ---- page helpers (lib.mjs) ----

let kit;
const openPage = (name) => kit.openPage(name);
const waitDebug = (page, what, values, timeout) => kit.waitDebug(page, what, values, timeout);

// Opens `path` and logs in through the real dev form.
async function login(page, path, who) {
  await kit.visit(page, path);
  await kit.devLogin(page, who);
}

// A citizen through login, camera check and join, until they wait in the queue.
async function citizenJoins(subject, path = '/') {
  const page = await openPage(`citizen ${subject}`);
  await login(page, path, { role: 'citizen', subject });
  await waitDebug(page, 'state', 'camera');
  await tid(page, 'start-camera').click();
  await tid(page, 'join').waitFor({ state: 'visible' });
  await tid(page, 'join').click();
  await waitDebug(page, 'phase', 'queued');
  return page;
}

async function agentReady(subject, name) {
  const page = await openPage(`agent ${name}`);
  await login(page, '/agent', { role: 'agent', subject, name });
  await waitDebug(page, 'state', 'queue');
  await tid(page, 'start-camera').click();
  await tid(page, 'presence-toggle').click();
  await waitDebug(page, 'available', true);
  return page;
}

async function positionText(page, pattern) {
  try {
    await page.waitForFunction(
      (p) => new RegExp(p).test(document.querySelector('[data-testid="position-text"]').innerText),
      pattern.source,
      { timeout: 15000, polling: 100 },
    );
  } catch {
    throw new Error(`position never matched ${pattern}: "${await tid(page, 'position-text').innerText()}"`);
  }
  return tid(page, 'position-text').innerText();
}

test('a waiting citizen sees their place change when the citizen ahead leaves', async () => {
  const first = await citizenJoins('999993653');
  const second = await citizenJoins('999990019');
  assert.match(await positionText(first, /volgende/), /U bent de volgende/);
  assert.match(await positionText(second, /nummer 2/), /U bent nummer 2 in de rij/);
  // Without an agent there is no estimate yet; the page says so rather than guessing.
  assert.match(await tid(second, 'wait-text').innerText(), /weten nog niet/);

  await tid(first, 'leave').click();
  await waitDebug(first, 'state', 'ended');
  assert.match(await positionText(second, /volgende/), /U bent de volgende/, 'moved up without reloading');
  assert.match(await second.title(), /^\(1\)/);

  // An agent comes: now there is an estimate (the default talk time of 5 minutes).
  const agent = await agentReady('anna', 'Anna');
  await second.waitForFunction(() => /minuten|minute/.test(document.querySelector('[data-testid="wait-text"]').innerText));
  await tid(second, 'leave').click();
  await waitDebug(second, 'state', 'ended');
  assert.deepEqual([...first.problems, ...second.problems, ...agent.problems], []);
  for (const p of [first, second, agent]) await p.context().close();
});

test('an agent transfers a call to a named colleague with a note', async () => {
  const anna = await agentReady('anna', 'Anna de Vries');
  const bert = await agentReady('bert', 'Bert Jansen');
  const citizen = await citizenJoins('999993653');

  await anna.locator('[data-testid="queue-row"]').first().waitFor();
  await tid(anna, 'accept-next').click();
  for (const page of [citizen, anna]) await waitDebug(page, 'state', 'call', 20000);
  for (const page of [citizen, anna]) await waitDebug(page, 'media', 'flowing', 30000);

  // Anna picks her colleague by name and writes a note.
  await anna.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="transfer-to"] option')].some((o) => /Bert Jansen/.test(o.textContent)),
  );
  const option = await anna.locator('[data-testid="transfer-to"] option', { hasText: 'Bert Jansen' }).getAttribute('value');
  await tid(anna, 'transfer-to').selectOption(option);
  await tid(anna, 'transfer-note').fill(NOTE);
  await tid(anna, 'transfer-submit').click();

  // Anna is back at the queue; the citizen is told; Bert sees the call with the note.
  await waitDebug(anna, 'state', 'queue');
  await waitDebug(citizen, 'state', 'waiting');
  await tid(citizen, 'transfer-text').waitFor({ state: 'visible' });
  assert.match(await tid(citizen, 'transfer-text').innerText(), /doorverbonden met een collega/);
  const row = bert.locator('[data-testid="queue-row"]').first();
  await row.waitFor();
  assert.match(await row.locator('[data-testid="queue-note"]').innerText(), new RegExp(`Anna de Vries: ${NOTE}`));
  assert.match(await row.innerText(), /Doorverbonden/);
  assert.match(await row.innerText(), /Voor u/);
  assert.equal(await anna.locator('[data-testid="queue-row"]').count(), 0, 'only the colleague is offered it');

  await tid(bert, 'accept-next').click();
  for (const page of [citizen, bert]) await waitDebug(page, 'state', 'call', 20000);
  assert.match(await tid(bert, 'peer-notes-list').innerText(), new RegExp(NOTE));
  // The citizen's media is offered again and flows with the colleague.
  for (const page of [citizen, bert]) await waitDebug(page, 'media', 'flowing', 30000);
  await citizen.waitForFunction(async () => {
    const pc = window.balieDebug.pc();
    if (!pc) return false;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    });
    return frames > 5;
  }, null, { timeout: 20000, polling: 250 });

  await tid(bert, 'hangup').click();
  await waitDebug(citizen, 'state', 'ended');
  assert.deepEqual([...citizen.problems, ...anna.problems, ...bert.problems], []);
  for (const p of [citizen, anna, bert]) await p.context().close();
});

test('a citizen who comes early for an appointment is told its time and waits', async () => {
  const token = readFileSync(`${gw.dir}/data/admin.token`, 'utf8').trim();
  const start = new Date(Date.now() + 40 * 60000);
  const end = new Date(start.getTime() + 15 * 60000);
  const r = await fetch(`${gw.base}/admin/v1/appointments`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ service: 'algemeen', start: start.toISOString(), end: end.toISOString() }),
  });
  const body = await r.text();
  assert.equal(r.status, 201, body);
  const appointment = JSON.parse(body);
  const hhmm = new Intl.DateTimeFormat('nl-NL', { timeZone: 'Europe/Amsterdam', hour: '2-digit', minute: '2-digit' }).format(start);

  // The link from the confirmation: the code survives the login and needs no typing.
  const citizen = await citizenJoins('999993653', `/?afspraak=${appointment.code}`);
  assert.match(await positionText(citizen, /afspraak/), new RegExp(`Uw afspraak is om ${hhmm}\\. U kunt wachten; we helpen u dan\\.`));
  await tid(citizen, 'lang-switch').click();
  assert.match(await positionText(citizen, /appointment/), new RegExp(`Your appointment is at ${hhmm}`));
  await tid(citizen, 'leave').click();
  await waitDebug(citizen, 'state', 'ended');
  assert.deepEqual(citizen.problems, []);
  await citizen.context().close();
});
