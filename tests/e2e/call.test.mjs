// Browser end-to-end test of the real gateway with real pages: headless Chromium (Debian's
// /usr/bin/chromium, fake camera and microphone) drives the citizen page and the agent console
// through the dev login form, the service choice, the camera check, the queue, a call with media
// both ways (read from getStats()), and the hang-up; then the gateway must stop cleanly.
//
//   node --test tests/e2e/call.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)
//
// The test starts build/dev/balie-gateway itself (E2E_GATEWAY names another binary).
// playwright-core comes from tests/e2e/node_modules (`npm ci` there); never a downloaded browser.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Gateway } from './lib.mjs';

// Two services, so the citizen really chooses one.
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
min_loa = midden
[service.paspoort]
name_nl = "Paspoort en ID-kaart"
name_en = "Passport and ID card"
min_loa = substantieel
`;


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

// ---- page helpers ----

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

// A page in its own context (own cookies), collecting console errors and uncaught exceptions.
async function openPage(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`${name} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`${name} exception: ${e.message}`));
  return page;
}

// Opens a page and waits until it has asked the gateway for the session: fails at once, with the
// page's own words, when it shows "unavailable" (no /auth/session, for instance).
async function visit(page, urlPath) {
  await page.goto(`${gw.base}${urlPath}`);
  await page.waitForFunction(() => window.balieDebug && window.balieDebug.state() !== 'loading', null, {
    polling: 100,
  });
  if ((await debug(page, 'state')) === 'unavailable') {
    const why = await tid(page, 'unavailable-detail').innerText();
    throw new Error(`${urlPath} says the service is unavailable: ${why}\n${gw.log(20)}`);
  }
}

// Fills and submits the real dev login form, as a person would.
async function devLogin(page, { role, subject, loa = 'substantieel', name = '' }) {
  await tid(page, 'login-dev').click();
  await tid(page, 'devlogin-submit').waitFor();
  // The form's script copies `state` from the URL into the form; a submit before that is refused.
  await page.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  assert.equal(await tid(page, 'devlogin-subject').inputValue(), '999991772', 'the form suggests a test BSN');
  await tid(page, `devlogin-role-${role}`).check();
  if (subject) await tid(page, 'devlogin-subject').fill(subject);
  await tid(page, 'devlogin-loa').selectOption(loa);
  if (name) await tid(page, 'devlogin-name').fill(name);
  const responses = [];
  const onResponse = (r) => {
    if (r.request().isNavigationRequest()) responses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  };
  page.on('response', onResponse);
  try {
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/auth/')), tid(page, 'devlogin-submit').click()]);
  } catch (e) {
    const body = (await page.locator('body').innerText().catch(() => '?')).slice(0, 300);
    throw new Error(
      `${role} login did not come back from the dev form (${e.message.split('\n')[0]}); ` +
        `navigations: ${responses.join(', ')}; page at ${page.url()} says: ${body}\n${gw.log(30)}`,
    );
  } finally {
    page.off('response', onResponse);
  }
}

const debug = (page, what) => page.evaluate((w) => window.balieDebug && window.balieDebug[w](), what);

async function waitDebug(page, what, values, timeout = 15000) {
  const want = [].concat(values);
  try {
    await page.waitForFunction(
      ([w, v]) => window.balieDebug && v.includes(window.balieDebug[w]()),
      [what, want],
      { timeout, polling: 100 },
    );
  } catch (e) {
    throw new Error(`${what}() never became ${want.join('|')} (it is ${await debug(page, what)}):\n${gw.log(30)}`);
  }
}

// Runs in a page: every 50 ms, notes the first time (ms, page clock) of each event.
function startTimeline() {
  const t0 = performance.now();
  const tl = (window.e2eTimeline = {});
  const note = (k) => {
    if (!(k in tl)) tl[k] = Math.round(performance.now() - t0);
  };
  const timer = setInterval(async () => {
    const pc = window.balieDebug.pc();
    if (!pc) return;
    if (pc.connectionState === 'connected') note('connected');
    if (window.balieDebug.media() === 'flowing') note('flowing');
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated) note('nominated');
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.pliCount > 0) note('pliIn');
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.packetsSent > 0) note('firstVideoSent');
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.packetsReceived > 0) note('firstAudioPacket');
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        if (s.packetsReceived > 0) note('firstVideoPacket');
        if (s.framesReceived > 0) note('firstFrameReceived');
        if (s.framesDecoded > 0) {
          note('firstFrame');
          tl.atFirstFrame = tl.atFirstFrame || { nackSent: s.nackCount, pliSent: s.pliCount, lost: s.packetsLost, packets: s.packetsReceived };
        }
      }
    });
    if ('firstFrame' in tl && 'pliIn' in tl) clearInterval(timer);
  }, 50);
  setTimeout(() => clearInterval(timer), 30000);
}

// Inbound audio bytes and decoded video frames, summed over the inbound-rtp streams.
async function inbound(page) {
  return page.evaluate(async () => {
    const pc = window.balieDebug.pc();
    if (!pc) return null;
    const out = { pc: pc.connectionState, audioBytes: 0, audioPackets: 0, videoFrames: 0, videoBytes: 0, codecs: [] };
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.audioBytes += s.bytesReceived || 0;
        out.audioPackets += s.packetsReceived || 0;
      } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.videoFrames += s.framesDecoded || 0;
        out.videoBytes += s.bytesReceived || 0;
        out.size = [s.frameWidth, s.frameHeight];
      } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
        // Keyframe requests that reached this sender through the gateway, and keyframes sent.
        out.pliIn = (out.pliIn || 0) + (s.pliCount || 0);
        out.firIn = (out.firIn || 0) + (s.firCount || 0);
        out.keyFramesSent = (out.keyFramesSent || 0) + (s.keyFramesEncoded || 0);
      } else if (s.type === 'codec') {
        out.codecs.push(s.mimeType);
      }
    });
    return out;
  });
}

async function waitFrames(page, min, timeout = 20000) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    last = await inbound(page);
    if (last && last.videoFrames >= min && last.audioBytes > 0) return last;
    await page.waitForTimeout(250);
  }
  throw new Error(`no media decoded in ${timeout} ms: ${JSON.stringify(last)}\n${gw.log(30)}`);
}

// ---- the tests ----

test('citizen page loads: 112 line, test banner, login button, language switch, no errors', async () => {
  const page = await openPage('citizen');
  await visit(page, '/');
  await tid(page, 'login-dev').waitFor();
  assert.match(await tid(page, 'emergency').innerText(), /112/);
  assert.ok(await tid(page, 'emergency').isVisible());
  const session = await page.evaluate(() => fetch('/auth/session').then((r) => r.json()));
  assert.equal(session.authenticated, false);
  assert.equal(await tid(page, 'dev-banner').isVisible(), session.dev_mode === true);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'nl');
  await tid(page, 'lang-switch').click();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.reload();
  await tid(page, 'login-dev').waitFor();
  assert.match(await tid(page, 'emergency').innerText(), /call 112/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('agent console and the dev login form load without errors', async () => {
  const page = await openPage('agent');
  await visit(page, '/agent');
  await tid(page, 'login-dev').click();
  await tid(page, 'devlogin-submit').waitFor();
  // The form's script fills in the state from the URL and preselects the role from `return`.
  await page.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  assert.ok(await tid(page, 'devlogin-role-agent').isChecked(), 'return=/agent preselects the agent role');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a citizen and an agent talk through the gateway: media both ways, then the agent hangs up', async () => {
  const t0 = Date.now();
  const lap = {};
  const citizen = await openPage('citizen');
  await visit(citizen, '/');
  await devLogin(citizen, { role: 'citizen', subject: '999993653', name: 'Test Inwoner' });
  const session = await citizen.evaluate(() => fetch('/auth/session').then((r) => r.json()));
  assert.equal(session.authenticated, true, JSON.stringify(session));
  assert.equal(session.role, 'citizen');
  assert.equal(session.loa, 'substantieel');
  assert.deepEqual(session.services.map((s) => s.id).sort(), ['algemeen', 'paspoort']);

  // Two services: the citizen picks one, then checks camera and microphone.
  await waitDebug(citizen, 'state', 'service');
  await tid(citizen, 'service-algemeen').click();
  await waitDebug(citizen, 'state', 'camera');
  await tid(citizen, 'start-camera').click();
  await tid(citizen, 'join').waitFor({ state: 'visible' });
  await citizen.waitForFunction(() => document.querySelector('[data-testid="local-preview"]').videoWidth > 0);
  await tid(citizen, 'join').click();
  await waitDebug(citizen, 'phase', 'queued');
  assert.match(await tid(citizen, 'position-text').innerText(), /volgende|nummer/);
  lap.queued = Date.now() - t0;

  const agent = await openPage('agent');
  await visit(agent, '/agent');
  await devLogin(agent, { role: 'agent', name: 'Test Medewerker' });
  await waitDebug(agent, 'state', 'queue');
  await tid(agent, 'presence-toggle').click();
  await waitDebug(agent, 'available', true);
  await agent.locator('[data-testid="queue-row"]').first().waitFor({ timeout: 15000 });
  await tid(agent, 'accept-next').click();
  // A timeline on each page, for the first picture's story: when the peer connection connected,
  // when its candidate pair was nominated, when a keyframe request reached our video sender,
  // when the first audio and video came in, when the first frame was decoded.
  for (const page of [citizen, agent]) await page.evaluate(startTimeline);

  for (const page of [citizen, agent]) await waitDebug(page, 'state', 'call', 20000);
  lap.call = Date.now() - t0;
  for (const page of [citizen, agent]) await waitDebug(page, 'media', 'flowing', 30000);
  lap.flowing = Date.now() - t0;
  // The first picture on each side, timed from "flowing" (DESIGN.md §3: the gateway asks for a
  // keyframe as soon as a leg is ready, so it should come within a round trip or so).
  const flowingAt = Date.now();
  const firstPicture = await Promise.all(
    [citizen, agent].map((page) => waitFrames(page, 1).then(() => Date.now() - flowingAt)),
  );
  lap.firstPictureAfterFlowing = { citizen: firstPicture[0], agent: firstPicture[1] };

  // Media keeps coming both ways: sample both, and again a few seconds later.
  const first = await Promise.all([inbound(citizen), inbound(agent)]);
  await citizen.waitForTimeout(3000);
  const later = await Promise.all([inbound(citizen), inbound(agent)]);
  ['citizen', 'agent'].forEach((who, i) => {
    const a = first[i];
    const b = later[i];
    const detail = `${who}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`;
    assert.equal(b.pc, 'connected', detail);
    // Opus at 20 ms a packet is 50 packets a second; the fake microphone's beeps are small.
    assert.ok(b.audioPackets >= a.audioPackets + 100 && b.audioBytes > a.audioBytes + 3000, `${who} receives audio: ${detail}`);
    assert.ok(b.videoFrames >= a.videoFrames + 20, `${who} decodes video: ${detail}`);
    assert.ok(firstPicture[i] < 10000, `${who} waited ${firstPicture[i]} ms for the first picture`);
    assert.ok(b.codecs.some((c) => /opus/i.test(c)) && b.codecs.some((c) => /vp8/i.test(c)), detail);
  });
  assert.match(await tid(agent, 'peer-loa').innerText(), /Substantieel/);
  assert.match(await tid(agent, 'peer-provider').innerText(), /Testlogin/);
  // identity.show_citizen_name is off by default: the name the test login gave stays hidden.
  assert.equal(await tid(agent, 'peer-name-row').isHidden(), true);

  await tid(citizen, 'mute').click();
  assert.equal(await tid(citizen, 'mute').getAttribute('aria-pressed'), 'true');

  // Chat beside the video, both ways: each side sees the other's words once, as text.
  const say = async (page, text) => {
    await tid(page, 'chat-input').fill(text);
    await tid(page, 'chat-input').press('Enter');
  };
  const chatLines = (page) => page.locator('[data-testid="chat-log"] .chat-text').allInnerTexts();
  await say(citizen, 'Goedemiddag, ik heb een vraag <b>over</b> mijn paspoort.');
  await agent.waitForFunction(() => document.querySelectorAll('[data-testid="chat-log"] li').length >= 1);
  await say(agent, 'Goedemiddag! Waarmee kan ik helpen?');
  await citizen.waitForFunction(() => document.querySelectorAll('[data-testid="chat-log"] li').length >= 2);
  await agent.waitForFunction(() => document.querySelectorAll('[data-testid="chat-log"] li').length >= 2);
  const expected = ['Goedemiddag, ik heb een vraag <b>over</b> mijn paspoort.', 'Goedemiddag! Waarmee kan ik helpen?'];
  assert.deepEqual(await chatLines(citizen), expected, 'the citizen sees both messages once, in order');
  assert.deepEqual(await chatLines(agent), expected, 'the agent sees both messages once, in order');
  assert.equal(await agent.locator('[data-testid="chat-log"] b').count(), 0, 'chat text is never HTML');

  await tid(agent, 'hangup').click();
  await tid(citizen, 'restart').waitFor({ state: 'visible', timeout: 15000 });
  await waitDebug(citizen, 'state', 'ended');
  await waitDebug(agent, 'state', 'queue');
  assert.ok(await tid(agent, 'last-call').isVisible(), 'the agent sees how the last call ended');
  assert.equal(await debug(citizen, 'pc'), null);
  lap.ended = Date.now() - t0;
  const timelines = await Promise.all([citizen, agent].map((page) => page.evaluate(() => window.e2eTimeline)));
  console.log(`  timeline (ms after accept): citizen ${JSON.stringify(timelines[0])}, agent ${JSON.stringify(timelines[1])}`);
  const [c, a] = later;
  const keys = (x) => `PLI in ${x.pliIn}, FIR in ${x.firIn}, keyframes sent ${x.keyFramesSent}`;
  console.log(
    `  laps (ms from start): ${JSON.stringify(lap)}; after 3 s citizen ${c.videoFrames - first[0].videoFrames} ` +
      `frames ${c.size}, agent ${a.videoFrames - first[1].videoFrames} frames ${a.size}; ` +
      `citizen ${keys(c)}; agent ${keys(a)}`,
  );
  assert.deepEqual([...citizen.problems, ...agent.problems], []);
  await citizen.context().close();
  await agent.context().close();
});

test('the gateway stops cleanly on SIGTERM', async () => {
  await browser.close();
  browser = null;
  const rc = await gw.stop();
  assert.equal(rc, 0, `exit ${rc}:\n${gw.log(30)}`);
  gw = null;
});
