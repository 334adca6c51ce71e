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
import { CHROMIUM, CHROMIUM_ARGS, Gateway, PageKit, tid } from './lib.mjs';

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
  kit = new PageKit(browser, gw);
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
});

// ---- page helpers (lib.mjs) ----

let kit;
const openPage = (name) => kit.openPage(name);
const visit = (page, urlPath) => kit.visit(page, urlPath);
const devLogin = (page, who) => kit.devLogin(page, who);
const debug = (page, what) => kit.debug(page, what);
const waitDebug = (page, what, values, timeout) => kit.waitDebug(page, what, values, timeout);
const inbound = (page) => kit.inbound(page);
const waitFrames = (page, min, timeout) => kit.waitFrames(page, min, timeout);

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
