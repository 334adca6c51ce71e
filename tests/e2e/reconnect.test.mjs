// Reconnect with real pages: the citizen's WebSocket is cut mid-call (and then the agent's), the
// pages reconnect by themselves and resume with their token, and the call goes on: media keeps
// flowing, nobody is told the call ended, and chat reaches the new sockets.
//
//   node --test tests/e2e/reconnect.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)
//
// The cut is made by Playwright's WebSocket routing (page.routeWebSocket): every socket of the
// page goes through the test, which can close both ends at once, as a network fault would.

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
[reconnect]
grace_s = 20
`;

let gw;
let browser;
let kit;

before(async () => {
  gw = await new Gateway(CONFIG).start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  kit = new PageKit(browser, gw);
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
});

// Routes the page's WebSockets through the test; returns a function that cuts the live one.
async function cuttable(page) {
  const live = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    live.push({ ws, server });
  });
  return async () => {
    const conn = live.pop();
    assert.ok(conn, 'a WebSocket to cut');
    await conn.server.close({ code: 4000, reason: 'network fault' });
    await conn.ws.close({ code: 4000, reason: 'network fault' });
  };
}

async function until(what, fn, ok, timeout = 15000) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${timeout} ms (last ${JSON.stringify(last)})\n${gw.log(20)}`);
}

test('a cut WebSocket mid-call resumes and the call goes on', async () => {
  const citizen = await kit.openPage('citizen');
  const cutCitizen = await cuttable(citizen);
  await kit.visit(citizen, '/');
  await kit.devLogin(citizen, { role: 'citizen', subject: '999993653' });
  await kit.waitDebug(citizen, 'state', ['camera', 'service']);
  if ((await kit.debug(citizen, 'state')) === 'service') await citizen.locator('[data-testid^="service-"]').first().click();
  await tid(citizen, 'start-camera').click();
  await tid(citizen, 'join').waitFor({ state: 'visible' });
  await tid(citizen, 'join').click();
  await kit.waitDebug(citizen, 'phase', 'queued');

  // Cut while waiting: the place in line is kept.
  const callId = citizen.received.find((r) => r.msg.type === 'queued').msg.call;
  await cutCitizen();
  await until('resumed while waiting', () => gw.metrics(), (m) => m.balie_reconnect_resumed_total === 1);
  assert.equal(await kit.debug(citizen, 'phase'), 'queued');
  const requeued = citizen.received.filter((r) => r.msg.type === 'queued');
  assert.equal(requeued[requeued.length - 1].msg.call, callId, 'the same place in line');

  const agent = await kit.openPage('agent');
  const cutAgent = await cuttable(agent);
  await kit.visit(agent, '/agent');
  await kit.devLogin(agent, { role: 'agent', name: 'Test Medewerker' });
  await kit.waitDebug(agent, 'state', 'queue');
  await tid(agent, 'presence-toggle').click();
  await kit.waitDebug(agent, 'available', true);
  await agent.locator('[data-testid="queue-row"]').first().waitFor();
  await tid(agent, 'accept-next').click();
  for (const page of [citizen, agent]) await kit.waitDebug(page, 'media', 'flowing', 30000);
  await kit.waitFrames(citizen, 5);
  await kit.waitFrames(agent, 5);

  // Cut the citizen's socket, then the agent's: each page reconnects and resumes by itself.
  for (const [who, page, cut, n] of [['citizen', citizen, cutCitizen, 2], ['agent', agent, cutAgent, 3]]) {
    const before = await kit.inbound(page);
    await cut();
    await until(`${who} resumed`, () => gw.metrics(), (m) => m.balie_reconnect_resumed_total === n);
    await kit.waitDebug(page, 'socket', 'open');
    for (const p of [citizen, agent]) assert.equal(await kit.debug(p, 'state'), 'call', `${who} cut: still in the call`);
    const later = await until(`${who}: media after the cut`, () => kit.inbound(page), (s) => s.videoFrames >= before.videoFrames + 30);
    assert.equal(later.pc, 'connected');
  }
  for (const page of [citizen, agent]) {
    assert.ok(!page.received.some((r) => r.msg.type === 'ended'), 'nobody was told the call ended');
  }
  const m = await gw.metrics();
  assert.equal(m.balie_calls_active, 1);
  assert.equal(m.balie_reconnect_refused_total, 0);

  // Chat reaches the new sockets, both ways.
  await tid(citizen, 'chat-input').fill('Ben ik er nog?');
  await tid(citizen, 'chat-input').press('Enter');
  await agent.waitForFunction(() => [...document.querySelectorAll('[data-testid="chat-log"] .chat-text')].some((e) => e.textContent === 'Ben ik er nog?'));
  await tid(agent, 'chat-input').fill('Ja, ik zie u nog.');
  await tid(agent, 'chat-input').press('Enter');
  await citizen.waitForFunction(() => [...document.querySelectorAll('[data-testid="chat-log"] .chat-text')].some((e) => e.textContent === 'Ja, ik zie u nog.'));

  await tid(agent, 'hangup').click();
  await tid(citizen, 'restart').waitFor({ state: 'visible' });
  assert.deepEqual([...citizen.problems, ...agent.problems].filter((p) => !/WebSocket/.test(p)), []);
  await citizen.context().close();
  await agent.context().close();
});
