// What the browser end-to-end tests share: where the gateway and Chromium are, the flags that
// make Chromium work here (REAL-PEERS.md), and the gateway as a child process with its own data
// folder and a config of the test's choosing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

// With GATEWAY_LOG_COPY_DIR set (tests/run-all.sh does), every gateway line also goes to a file
// there, for the privacy scan at the end of the run.
const copyFile = process.env.GATEWAY_LOG_COPY_DIR
  ? path.join(process.env.GATEWAY_LOG_COPY_DIR, `e2e-node-${process.pid}-${Date.now()}.log`)
  : null;
function copyLine(line) {
  if (!copyFile) return;
  try {
    appendFileSync(copyFile, line + '\n');
  } catch {
    // the copy is for the scan only
  }
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GATEWAY = process.env.E2E_GATEWAY || path.join(ROOT, 'build/dev/balie-gateway');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
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

// ---- the gateway as a child process ----

export class Gateway {
  constructor(config) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'balie-e2e-'));
    this.config = path.join(this.dir, 'balie.conf');
    // Its own data folder (keys, the journey store), removed at the end.
    writeFileSync(this.config, `[general]\ndata_dir = "${this.dir}/data"\n${config}`);
    this.lines = [];
    this.port = null;
  }

  start(timeoutMs = 10000) {
    // Without BALIE_* variables: the gateway reads them as configuration, and refuses unknown ones.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BALIE_')));
    this.proc = spawn(GATEWAY, ['--config', this.config], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve(sig ? `signal ${sig}` : code)));
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      readline.createInterface({ input: stream }).on('line', (l) => {
        this.lines.push(l);
        copyLine(l);
      });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${this.log()}`)), timeoutMs);
      const check = setInterval(() => {
        for (const l of this.lines) {
          const m = /citizen page: https?:\/\/[^:/]+:(\d+)\//.exec(l);
          if (m) {
            this.port = Number(m[1]);
            clearTimeout(timer);
            clearInterval(check);
            resolve(this);
            return;
          }
        }
        if (this.proc.exitCode !== null) {
          clearTimeout(timer);
          clearInterval(check);
          reject(new Error(`the gateway exited at start:\n${this.log()}`));
        }
      }, 50);
    });
  }

  // localhost, not 127.0.0.1: a secure context for getUserMedia, and the Origin the gateway allows.
  get base() {
    return `http://localhost:${this.port}`;
  }

  log(last = 60) {
    return this.lines.slice(-last).join('\n');
  }

  // SIGTERM; resolves with the exit code (or "signal X"), SIGKILL after timeoutMs.
  async stop(timeoutMs = 10000) {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const rc = await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
    return rc;
  }

  // /metrics as {name: sum over its labels}.
  async metrics() {
    const r = await fetch(`${this.base}/metrics`);
    assert.equal(r.status, 200, '/metrics');
    const out = {};
    for (const line of (await r.text()).split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m) out[m[1]] = (out[m[1]] || 0) + Number(m[3]);
    }
    return out;
  }
}

// ---- the pages, driven as a person would ----

export const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

// What every browser test does with a page: open it in its own context, wait for it to load, log
// in through the real dev form, read the page's debug hooks and getStats().
export class PageKit {
  constructor(browser, gw) {
    this.browser = browser;
    this.gw = gw;
  }

  // A page in its own context (own cookies), collecting console errors, uncaught exceptions, and
  // every signaling message it receives and sends ({at, msg}, read from the WebSocket frames).
  async openPage(name, viewport = { width: 1280, height: 900 }) {
    const ctx = await this.browser.newContext({ viewport });
    ctx.setDefaultTimeout(15000);
    const page = await ctx.newPage();
    page.problems = [];
    page.received = [];
    page.sent = [];
    page.on('console', (m) => {
      if (m.type() === 'error') page.problems.push(`${name} console: ${m.text()}`);
    });
    page.on('pageerror', (e) => page.problems.push(`${name} exception: ${e.message}`));
    page.on('websocket', (ws) => {
      const note = (list) => (f) => {
        try {
          list.push({ at: Date.now(), msg: JSON.parse(f.payload) });
        } catch {
          // not JSON: nothing to note
        }
      };
      ws.on('framereceived', note(page.received));
      ws.on('framesent', note(page.sent));
    });
    return page;
  }

  // Opens a page and waits until it has asked the gateway for the session: fails at once, with
  // the page's own words, when it shows "unavailable" (no /auth/session, for instance).
  async visit(page, urlPath) {
    await page.goto(`${this.gw.base}${urlPath}`);
    await page.waitForFunction(() => window.balieDebug && window.balieDebug.state() !== 'loading', null, {
      polling: 100,
    });
    if ((await this.debug(page, 'state')) === 'unavailable') {
      const why = await tid(page, 'unavailable-detail').innerText();
      throw new Error(`${urlPath} says the service is unavailable: ${why}\n${this.gw.log(20)}`);
    }
  }

  // Fills and submits the real dev login form, as a person would.
  async devLogin(page, { role, subject, loa = 'substantieel', name = '' }) {
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
          `navigations: ${responses.join(', ')}; page at ${page.url()} says: ${body}\n${this.gw.log(30)}`,
      );
    } finally {
      page.off('response', onResponse);
    }
  }

  debug(page, what) {
    return page.evaluate((w) => window.balieDebug && window.balieDebug[w](), what);
  }

  async waitDebug(page, what, values, timeout = 15000) {
    const want = [].concat(values);
    try {
      await page.waitForFunction(
        ([w, v]) => window.balieDebug && v.includes(window.balieDebug[w]()),
        [what, want],
        { timeout, polling: 100 },
      );
    } catch (e) {
      throw new Error(`${what}() never became ${want.join('|')} (it is ${await this.debug(page, what)}):\n${this.gw.log(30)}`);
    }
  }

  // Inbound audio bytes and decoded video frames, summed over the inbound-rtp streams.
  inbound(page) {
    return page.evaluate(async () => {
      const pc = window.balieDebug.pc();
      if (!pc) return null;
      const out = { pc: pc.connectionState, ice: pc.iceConnectionState, audioBytes: 0, audioPackets: 0, videoFrames: 0, videoBytes: 0, codecs: [] };
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

  async waitFrames(page, min, timeout = 20000) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < timeout) {
      last = await this.inbound(page);
      if (last && last.videoFrames >= min && last.audioBytes > 0) return last;
      await page.waitForTimeout(250);
    }
    throw new Error(`no media decoded in ${timeout} ms: ${JSON.stringify(last)}\n${this.gw.log(30)}`);
  }
}
