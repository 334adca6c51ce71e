// Accessibility of every page in every state (WCAG 2.1 AA as axe-core checks it), on a desktop and
// on a phone, in Dutch and in English, and the citizen's whole way to the queue by keyboard alone.
//
//   node --test tests/e2e/a11y.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)
//
// axe-core finds what a machine can find (contrast, names, roles, landmarks, labels); it does not
// replace a person with a screen reader. The keyboard run checks what axe cannot: that every step
// can be reached with Tab and done with Enter or Space, in a sensible order.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { CHROMIUM, CHROMIUM_ARGS, GATEWAY, Gateway, PageKit, tid } from './lib.mjs';

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

const PHONE = { width: 375, height: 740 };
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let gw;
let browser;
let kit;
const checked = [];

before(async () => {
  gw = new Gateway(CONFIG);
  // One agent in the users file, so that the agents' own password login exists too.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BALIE_')));
  execFileSync(GATEWAY, ['--config', gw.config, 'user', 'add', 'a.jansen', '--services', 'algemeen'], {
    input: 'een lang genoeg wachtwoord\n',
    env,
    encoding: 'utf8',
  });
  await gw.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  kit = new PageKit(browser, gw);
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
  console.log(`  axe checked ${checked.length} page states: ${checked.join(', ')}`);
});

// Runs axe on the page as it is now; fails with every violation, its nodes and its help text.
async function axe(page, label) {
  // Animations and transitions end first, so that contrast is judged on the final colours.
  await page.waitForTimeout(150);
  const before = page.problems.length;
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  // axe measures some elements by applying inline styles, which the pages' CSP (style-src 'self')
  // blocks and reports: that is the checker's doing, not the page's, so those reports go.
  const mine = page.problems.splice(before);
  page.problems.push(...mine.filter((m) => !/Applying inline style violates/.test(m)));
  const lines = result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help}\n` +
      v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary.split('\n').slice(1).join(' ')}`).join('\n'),
  );
  assert.equal(result.violations.length, 0, `${label}: ${lines.join('\n')}`);
  assert.ok(result.passes.length > 10, `${label}: axe checked almost nothing (${result.passes.length} rules passed)`);
  checked.push(label);
}

// Every visible part fits the width: no sideways scrolling on a phone (WCAG 1.4.10 reflow).
async function noSidewaysScroll(page, label) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width + 1, `${label}: the page is ${scroll} px wide in a ${width} px window`);
}

async function citizenToCamera(page, subject) {
  await kit.visit(page, '/');
  await kit.devLogin(page, { role: 'citizen', subject });
  await kit.waitDebug(page, 'state', 'service');
}

test('the pages are built on NL Design System components, styled by the theme tokens', async () => {
  for (const name of ['button', 'textbox', 'alert', 'skip-link']) {
    const r = await fetch(`${gw.base}/nlds/${name}.css`);
    assert.equal(r.status, 200, `/nlds/${name}.css (npm ci in signaling/web/nlds?)`);
    assert.match(r.headers.get('content-type'), /text\/css/);
    assert.match(await r.text(), new RegExp(`\\.utrecht-${name}`));
  }
  for (const bad of ['/nlds/Button.css', '/nlds/button', '/nlds/..%2fbutton.css', '/nlds/a/b.css']) {
    assert.equal((await fetch(`${gw.base}${bad}`)).status, 404, bad);
  }
  const page = await kit.openPage('nlds');
  await kit.visit(page, '/');
  const login = tid(page, 'login-dev');
  await login.waitFor();
  assert.match(await login.getAttribute('class'), /utrecht-button--primary-action/);
  // The component draws the button from the theme's token (Balie blue), not from balie.css.
  const look = await login.evaluate((el) => {
    const s = getComputedStyle(el);
    return { bg: s.backgroundColor, token: s.getPropertyValue('--utrecht-button-primary-action-background-color').trim() };
  });
  assert.equal(look.bg, 'rgb(11, 74, 143)', JSON.stringify(look));
  assert.equal(look.token, '#0b4a8f');
  await page.context().close();
});

test('citizen page and dev login form: no violations on a desktop and a phone, in Dutch and English', async () => {
  for (const [size, viewport] of [['desktop', undefined], ['phone', PHONE]]) {
    const page = await kit.openPage(`citizen-${size}`, viewport);
    await kit.visit(page, '/');
    await tid(page, 'login-dev').waitFor();
    await axe(page, `citizen login (${size}, nl)`);
    await noSidewaysScroll(page, `citizen login (${size})`);
    await tid(page, 'lang-switch').click();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await axe(page, `citizen login (${size}, en)`);
    await tid(page, 'lang-switch').click();
    await tid(page, 'login-dev').click();
    await tid(page, 'devlogin-submit').waitFor();
    await axe(page, `dev login form (${size})`);
    await noSidewaysScroll(page, `dev login form (${size})`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  }
});

test('every state of a call on both pages: service, camera, waiting, call, ended; agent console', async () => {
  const citizen = await kit.openPage('citizen', PHONE);
  await citizenToCamera(citizen, '999993653');
  await axe(citizen, 'service choice (phone)');
  await noSidewaysScroll(citizen, 'service choice (phone)');
  await tid(citizen, 'service-algemeen').click();
  await kit.waitDebug(citizen, 'state', 'camera');
  await axe(citizen, 'camera check (phone)');
  await tid(citizen, 'start-camera').click();
  await tid(citizen, 'join').waitFor({ state: 'visible' });
  await axe(citizen, 'camera check with preview (phone)');
  await tid(citizen, 'join').click();
  await kit.waitDebug(citizen, 'phase', 'queued');
  await axe(citizen, 'waiting in the queue (phone)');
  await noSidewaysScroll(citizen, 'waiting in the queue (phone)');
  // The place in line is announced: it sits in a polite live region.
  const live = await tid(citizen, 'position-text').evaluate((el) => el.closest('[aria-live]')?.getAttribute('aria-live'));
  assert.equal(live, 'polite', 'the queue position is in a live region');

  const agent = await kit.openPage('agent');
  await kit.visit(agent, '/agent');
  await axe(agent, 'agent console, logged out');
  await kit.devLogin(agent, { role: 'agent', name: 'Test Medewerker' });
  await kit.waitDebug(agent, 'state', 'queue');
  await axe(agent, 'agent console, away');
  await tid(agent, 'presence-toggle').click();
  await kit.waitDebug(agent, 'available', true);
  await agent.locator('[data-testid="queue-row"]').first().waitFor();
  await axe(agent, 'agent console, one citizen waiting');
  await tid(agent, 'accept-next').click();
  for (const page of [citizen, agent]) await kit.waitDebug(page, 'media', 'flowing', 30000);
  await kit.waitFrames(citizen, 1);
  await axe(citizen, 'in a call (phone)');
  await noSidewaysScroll(citizen, 'in a call (phone)');
  await axe(agent, 'agent console, in a call');
  const state = await tid(citizen, 'state-text').getAttribute('aria-live');
  assert.equal(state, 'polite', 'the call state is announced');

  // On hold: both pages say so; then back.
  await tid(agent, 'hold').click();
  for (const page of [citizen, agent]) await kit.waitDebug(page, 'media', 'held');
  await axe(citizen, 'on hold (phone)');
  await axe(agent, 'agent console, call on hold');
  await tid(agent, 'hold').click();
  for (const page of [citizen, agent]) await kit.waitDebug(page, 'media', 'flowing');

  await tid(agent, 'hangup').click();
  await tid(citizen, 'restart').waitFor({ state: 'visible' });
  await axe(citizen, 'call ended (phone)');
  await kit.waitDebug(agent, 'state', 'queue');
  await axe(agent, 'agent console, after a call');
  // "Mijn contactmomenten": the call just made is in the citizen's own list.
  await citizen.goto(`${gw.base}/contactmomenten`);
  await tid(citizen, 'history-table').waitFor();
  await axe(citizen, 'Mijn contactmomenten (phone)');
  await noSidewaysScroll(citizen, 'Mijn contactmomenten (phone)');
  assert.deepEqual([...citizen.problems, ...agent.problems], []);
  await citizen.context().close();
  await agent.context().close();
});

test("the agents' password login page", async () => {
  const page = await kit.openPage('agent-login');
  await kit.visit(page, '/agent');
  await tid(page, 'login-local').click();
  await tid(page, 'agentlogin-submit').waitFor();
  await axe(page, 'agent password login');
  await tid(page, 'agentlogin-username').fill('a.jansen');
  await tid(page, 'agentlogin-password').fill('niet het goede wachtwoord');
  const [refused] = await Promise.all([page.waitForNavigation(), tid(page, 'agentlogin-submit').click()]);
  assert.equal(refused.status(), 400);
  await axe(page, 'a refused login (the gateway\'s own message page)');
  assert.deepEqual(page.problems.filter((p) => !/status of 4\d\d/.test(p)), []);
  await page.context().close();
});

// Presses Tab until the element with `testid` has the focus; fails when it is not reached within
// `max` presses (then it cannot be reached by keyboard, or only after a long detour).
async function tabTo(page, testid, max = 25) {
  const trail = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? el.getAttribute('data-testid') || `${el.tagName.toLowerCase()}#${el.id}` : 'none';
    });
    trail.push(at);
    if (at === testid) {
      // A visible focus indicator (WCAG 2.4.7): an outline or a box shadow on the focused element.
      const ring = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
      });
      assert.ok(ring, `${testid} shows no focus indicator`);
      return;
    }
  }
  throw new Error(`${testid} not reached with ${max} Tabs; focus went: ${trail.join(' → ')}`);
}

test('by keyboard alone: log in, choose a service, test the camera, wait in line, stop waiting', async () => {
  const page = await kit.openPage('keyboard');
  await kit.visit(page, '/');
  await tid(page, 'login-dev').waitFor();
  await tabTo(page, 'login-dev');
  await page.keyboard.press('Enter');
  await tid(page, 'devlogin-submit').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="devlogin-state"]').value !== '');
  // The form suggests a test BSN and the citizen role; the level is chosen with the arrow keys.
  await tabTo(page, 'devlogin-loa');
  await page.keyboard.press('End');
  await tabTo(page, 'devlogin-submit');
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/auth/')), page.keyboard.press('Enter')]);
  await kit.waitDebug(page, 'state', 'service');
  await tabTo(page, 'service-paspoort');
  await page.keyboard.press('Enter');
  await kit.waitDebug(page, 'state', 'camera');
  await tabTo(page, 'start-camera');
  await page.keyboard.press('Enter');
  await tid(page, 'join').waitFor({ state: 'visible' });
  await tabTo(page, 'join');
  await page.keyboard.press('Space');
  await kit.waitDebug(page, 'phase', 'queued');
  assert.match(await tid(page, 'position-text').innerText(), /volgende|nummer/);
  await tabTo(page, 'leave');
  await page.keyboard.press('Enter');
  await kit.waitDebug(page, 'state', 'ended');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
