// Media through TURN: citizens behind strict firewalls reach the gateway only through a TURN
// server. A local coturn (Debian `coturn`) checks the time-limited credentials the gateway hands
// out in `ice_servers` (TURN REST convention, `use-auth-secret`); the citizen's Chromium is
// forced to relay-only (iceTransportPolicy 'relay'), the agent is aiortc. Media must flow both
// ways, and the citizen's selected candidate pair must be a relayed one.
//
//   node --test tests/e2e/turn.test.mjs      (inside `unshare -n`; tests/e2e/run.sh does it)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, GATEWAY } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECRET = 'e2e-turn-shared-secret-0123456789';
const TURN_PORT = 3478;

// A child process whose output lines are kept; `ready` matches a line that says it started.
function child(cmd, args, ready, env = process.env) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines = [];
  for (const s of [proc.stdout, proc.stderr]) readline.createInterface({ input: s }).on('line', (l) => lines.push(l));
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(sig ? `signal ${sig}` : code)));
  const started = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${cmd} did not start:\n${lines.slice(-20).join('\n')}`)), 10000);
    const iv = setInterval(() => {
      const m = lines.map((l) => ready.exec(l)).find(Boolean);
      if (m || proc.exitCode !== null) {
        clearTimeout(t);
        clearInterval(iv);
        if (m) resolve(m);
        else reject(new Error(`${cmd} exited:\n${lines.slice(-20).join('\n')}`));
      }
    }, 50);
  });
  return { proc, lines, exited, started };
}

let dir, turn, gw, port, browser;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'balie-turn-'));
  turn = child(
    'turnserver',
    ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${TURN_PORT}`,
      '--min-port=49160', '--max-port=49200', '--fingerprint', '--use-auth-secret',
      `--static-auth-secret=${SECRET}`, '--realm=balie.test', '--no-tls', '--no-dtls', '--no-cli',
      '--no-multicast-peers', '--allow-loopback-peers', '--log-file=stdout', '--simple-log'],
    /listener opened on|Total General servers/i,
  );
  await turn.started;
  const config = path.join(dir, 'balie.conf');
  writeFileSync(config, `[general]
data_dir = "${dir}/data"
[http]
port = 0
[media]
workers = 1
port_base = 0
bind = "127.0.0.1"
[turn]
urls = "turn:127.0.0.1:${TURN_PORT}?transport=udp"
secret = "${SECRET}"
ttl_s = 600
[shutdown]
grace_s = 2
`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BALIE_')));
  gw = child(GATEWAY, ['--config', config], /citizen page: https?:\/\/[^:/]+:(\d+)\//, env);
  port = Number((await gw.started)[1]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  for (const c of [gw, turn]) {
    if (c && c.proc.exitCode === null) c.proc.kill('SIGTERM');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The dev login without the form (call.test.mjs covers the form): returns the session cookie.
async function devCookie(role, subject) {
  const base = `http://localhost:${port}`;
  let r = await fetch(`${base}/auth/login?provider=dev&return=/`, { redirect: 'manual' });
  const state = new URL(r.headers.get('location'), base).searchParams.get('state');
  r = await fetch(`${base}/auth/dev/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ state, subject, loa: 'substantieel', role, name: '' }),
  });
  r = await fetch(new URL(r.headers.get('location'), base), { redirect: 'manual' });
  const cookie = /balie_session=([^;]+)/.exec(r.headers.get('set-cookie') || '');
  assert.ok(cookie, `no session cookie for the ${role}`);
  return cookie[1];
}

test('a relay-only citizen reaches the gateway through coturn and media flows both ways', async () => {
  const ctx = await browser.newContext();
  await ctx.addCookies([{ name: 'balie_session', value: await devCookie('citizen', '999991772'), url: `http://localhost:${port}` }]);
  // As a browser behind a firewall that lets nothing but TURN through: relay candidates only.
  await ctx.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = function (config = {}) {
      return new Native({ ...config, iceTransportPolicy: 'relay' });
    };
    window.RTCPeerConnection.prototype = Native.prototype;
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  const tid = (id) => page.locator(`[data-testid="${id}"]`);
  await page.goto(`http://localhost:${port}/`);
  await page.waitForFunction(() => window.balieDebug && ['service', 'camera'].includes(window.balieDebug.state()));
  if ((await page.evaluate(() => window.balieDebug.state())) === 'service') await tid('service-algemeen').click();
  await tid('start-camera').click();
  await tid('join').waitFor({ state: 'visible' });
  await tid('join').click();
  await page.waitForFunction(() => window.balieDebug.phase() === 'queued');

  const agent = child('/usr/bin/python3', [path.join(HERE, 'aiortc_peer.py'), '--url', `http://localhost:${port}`,
    '--role', 'agent', '--subject', 'agent-turn', '--seconds', '6', '--hangup'], /./,
    Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BALIE_'))));
  agent.started.catch(() => {}); /* only its exit and summary matter */

  // The citizen's side: media decoded, over a relayed candidate pair.
  await page.waitForFunction(() => window.balieDebug.pc() && window.balieDebug.state() === 'call', null, { timeout: 30000 });
  let stats;
  for (let i = 0; i < 60; i++) {
    stats = await page.evaluate(async () => {
      const out = { frames: 0, audioBytes: 0, localType: null };
      const report = await window.balieDebug.pc().getStats();
      const byId = new Map();
      report.forEach((s) => byId.set(s.id, s));
      report.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') out.frames = s.framesDecoded || 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioBytes = s.bytesReceived || 0;
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const pair = byId.get(s.selectedCandidatePairId);
          const local = pair && byId.get(pair.localCandidateId);
          out.localType = local ? local.candidateType : null;
        }
      });
      return out;
    });
    if (stats.frames >= 20 && stats.audioBytes > 0 && stats.localType) break;
    await page.waitForTimeout(250);
  }
  assert.equal(stats.localType, 'relay', `the citizen's media must go through TURN: ${JSON.stringify(stats)}`);
  assert.ok(stats.frames >= 20, `the citizen decoded video through TURN: ${JSON.stringify(stats)}`);
  assert.ok(stats.audioBytes > 0);

  // The agent's side: it hangs up after its seconds and reports what it decoded.
  const rc = await agent.exited;
  const summary = JSON.parse(agent.lines.filter((l) => l.startsWith('{')).pop() || '{}');
  assert.equal(rc, 0, `the agent peer failed: ${agent.lines.slice(-10).join('\n')}`);
  assert.ok(summary.video_frames >= 20, `agent decoded: ${JSON.stringify(summary)}`);
  // The credentials the gateway handed out: the TURN URL, and a username "<expiry>:balie".
  const ice = (summary.ice_servers || [])[0] || {};
  assert.deepEqual(ice.urls, [`turn:127.0.0.1:${TURN_PORT}?transport=udp`]);
  assert.match(ice.username || '', /^\d+:balie$/);
  assert.ok(Number(ice.username.split(':')[0]) > Date.now() / 1000, 'the credentials expire in the future');
  console.log(`  relayed: citizen ${stats.frames} video frames over a ${stats.localType} pair; ` +
    `agent ${summary.video_frames} video and ${summary.audio_frames} audio frames`);
  await ctx.close();
  gw.proc.kill('SIGTERM');
  assert.equal(await gw.exited, 0, 'the gateway stops cleanly');
});
