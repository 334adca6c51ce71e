// Browser end-to-end test of the web pages against a running gateway with the dev identity
// provider: headless Chromium (Debian's /usr/bin/chromium, fake camera and microphone) drives
// the real citizen page and agent console through login, queue, a call with media both ways
// (read from getStats()), and hang-up.
//
//   BALIE_URL=http://localhost:8080 node --test tests/e2e/pages.test.mjs
//
// Needs the npm package playwright-core (never a downloaded browser); it is looked up from this
// folder, the working directory, or PLAYWRIGHT_CORE_DIR (a folder holding node_modules).
// Without BALIE_URL or playwright-core the tests are skipped, not passed silently.
// Run the gateway and this test on loopback only, e.g. inside `unshare -n` (see REAL-PEERS.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const BASE = process.env.BALIE_URL ? process.env.BALIE_URL.replace(/\/$/, '') : null;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=LocalNetworkAccessChecks',
  '--autoplay-policy=no-user-gesture-required',
];

function loadPlaywright() {
  const bases = [
    process.env.PLAYWRIGHT_CORE_DIR && path.join(process.env.PLAYWRIGHT_CORE_DIR, 'x.js'),
    import.meta.url,
    path.join(process.cwd(), 'x.js'),
  ].filter(Boolean);
  for (const b of bases) {
    try {
      return createRequire(b)('playwright-core');
    } catch {
      // try the next place
    }
  }
  return null;
}

const pw = loadPlaywright();
const skip = !BASE ? 'BALIE_URL is not set' : !pw ? 'playwright-core is not installed' : false;

const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

async function withBrowser(fn) {
  const browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

// A page in its own context (own cookies), collecting console errors and uncaught exceptions.
async function openPage(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`${name} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`${name} exception: ${e.message}`));
  return page;
}

async function devLogin(page, { role, loa = 'substantieel', name = '' }) {
  await tid(page, 'login-dev').click();
  await tid(page, 'devlogin-submit').waitFor();
  assert.equal(await tid(page, 'devlogin-subject').inputValue(), '999991772');
  await tid(page, `devlogin-role-${role}`).check();
  await tid(page, 'devlogin-loa').selectOption(loa);
  if (name) await tid(page, 'devlogin-name').fill(name);
  await tid(page, 'devlogin-submit').click();
}

async function inboundStats(page) {
  return page.evaluate(async () => {
    const pc = window.balieDebug.pc();
    if (!pc) return null;
    const out = { state: window.balieDebug.state(), pcState: pc.connectionState, types: [] };
    (await pc.getStats()).forEach((s) => {
      out.types.push(s.type + ':' + (s.kind || ''));
      if (s.type === 'inbound-rtp')
        out[s.kind] = { packets: s.packetsReceived, frames: s.framesDecoded || 0 };
    });
    return out;
  });
}

test('citizen page loads: 112 line, test banner, login button, no errors', { skip, timeout: 60000 }, () =>
  withBrowser(async (browser) => {
    const page = await openPage(browser, 'citizen');
    await page.goto(`${BASE}/`);
    await tid(page, 'login-dev').waitFor();
    assert.match(await tid(page, 'emergency').innerText(), /112/);
    assert.ok(await tid(page, 'emergency').isVisible());
    const session = await page.evaluate(() => fetch('/auth/session').then((r) => r.json()));
    assert.equal(await tid(page, 'dev-banner').isVisible(), session.dev_mode === true);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'nl');
    await tid(page, 'lang-switch').click();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.reload();
    await tid(page, 'login-dev').waitFor();
    assert.match(await tid(page, 'emergency').innerText(), /call 112/);
    assert.deepEqual(page.problems, []);
  }),
);

test('agent page and dev login page load without errors', { skip, timeout: 60000 }, () =>
  withBrowser(async (browser) => {
    const page = await openPage(browser, 'agent');
    await page.goto(`${BASE}/agent`);
    await tid(page, 'login-dev').click();
    await tid(page, 'devlogin-submit').waitFor();
    assert.ok(await tid(page, 'devlogin-role-agent').isChecked(), 'return=/agent preselects the agent role');
    assert.notEqual(await tid(page, 'devlogin-state').inputValue(), '');
    assert.deepEqual(page.problems, []);
  }),
);

test('a citizen and an agent talk: queue, accept, media both ways, hang up', { skip, timeout: 120000 }, () =>
  withBrowser(async (browser) => {
    const citizen = await openPage(browser, 'citizen');
    await citizen.goto(`${BASE}/`);
    await devLogin(citizen, { role: 'citizen' });

    // Choose a service when there is a choice; with one the page skips the step.
    await citizen.waitForFunction(
      () => window.balieDebug && ['service', 'camera'].includes(window.balieDebug.state()),
    );
    if ((await citizen.evaluate(() => window.balieDebug && window.balieDebug.state())) === 'service') {
      await citizen.locator('[data-testid^="service-"]:not([disabled])').first().click();
    }
    await tid(citizen, 'start-camera').click();
    await tid(citizen, 'join').waitFor({ state: 'visible' });
    // The camera check shows the (fake) camera.
    await citizen.waitForFunction(
      () => document.querySelector('[data-testid="local-preview"]').videoWidth > 0,
    );
    await tid(citizen, 'join').click();
    await citizen.waitForFunction(() => window.balieDebug && window.balieDebug.phase() === 'queued', null, {
      timeout: 15000,
    });
    assert.match(await tid(citizen, 'position-text').innerText(), /volgende|nummer/);

    const agent = await openPage(browser, 'agent');
    await agent.goto(`${BASE}/agent`);
    await devLogin(agent, { role: 'agent', name: 'Test Medewerker' });
    await tid(agent, 'presence-toggle').click();
    await agent.locator('[data-testid="queue-row"]').first().waitFor({ timeout: 15000 });
    await tid(agent, 'accept-next').click();

    for (const page of [citizen, agent]) {
      await page.waitForFunction(() => window.balieDebug && window.balieDebug.media() === 'flowing', null, {
        timeout: 30000,
      });
    }
    // Frames decoded on both sides: the gateway relays video each way.
    for (const page of [citizen, agent]) {
      await page.waitForFunction(
        async () => {
          const pc = window.balieDebug.pc();
          if (!pc) return false;
          let frames = 0;
          (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
          });
          return frames > 10;
        },
        null,
        { timeout: 30000, polling: 500 },
      );
    }
    const cs = await inboundStats(citizen);
    const as = await inboundStats(agent);
    assert.ok(cs.audio && cs.audio.packets > 0, `citizen receives audio: ${JSON.stringify(cs)}`);
    assert.ok(as.audio && as.audio.packets > 0, `agent receives audio: ${JSON.stringify(as)}`);
    assert.match(await tid(agent, 'peer-loa').innerText(), /Substantieel/);

    await tid(citizen, 'mute').click();
    assert.equal(await tid(citizen, 'mute').getAttribute('aria-pressed'), 'true');

    await tid(agent, 'hangup').click();
    await tid(citizen, 'restart').waitFor({ state: 'visible', timeout: 15000 });
    await agent.waitForFunction(() => window.balieDebug && window.balieDebug.state() === 'queue');
    assert.equal(await citizen.evaluate(() => window.balieDebug && window.balieDebug.pc()), null);
    assert.deepEqual([...citizen.problems, ...agent.problems], []);
  }),
);
