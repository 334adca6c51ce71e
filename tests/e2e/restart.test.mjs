// Browser end-to-end test of the ICE restart: a call between the real citizen page and the real
// agent console (headless Chromium, as in call.test.mjs) runs through a small UDP proxy of this
// test's own, which stands in front of the gateway's media port. The test cuts the citizen's path
// in the proxy (both directions) for 12 s: the gateway must notice the quiet path (9 s without a
// valid check), send the citizen a new offer (new ICE credentials) on the same WebSocket and tell
// both pages `connecting`; the page answers on its existing RTCPeerConnection. When the path comes
// back the call must recover by itself: `balie_ice_restarts_recovered_total` counts it, both pages
// are `flowing` again and decode new video frames. Then the agent hangs up and the gateway stops
// cleanly on SIGTERM.
//
//   node --test tests/e2e/restart.test.mjs   (inside `unshare -n`; tests/e2e/run.sh does it)
//
// Addresses: the gateway binds media on 127.0.0.1:PORT and announces 127.0.0.2 (candidates carry
// the announced address with the worker's port), so the browsers send to 127.0.0.2:PORT, where
// the proxy listens (all of 127/8 is on loopback). The proxy keeps one upstream socket per browser
// source, so the gateway sees each browser leg as its own source, as it would without the proxy.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, Gateway, PageKit, tid } from './lib.mjs';

const MEDIA_PORT = Number(process.env.E2E_RESTART_PORT || 41000);
const GATEWAY_IP = '127.0.0.1';
const PROXY_IP = '127.0.0.2';
const CUT_MS = 12000; // longer than the gateway's 9 s quiet time, well under consent's 30 s
const CONFIG = `[http]
port = 0
[media]
workers = 1
port_base = ${MEDIA_PORT}
bind = "${GATEWAY_IP}"
announce = "${PROXY_IP}"
[shutdown]
grace_s = 2
[service.algemeen]
name_nl = "Algemene vragen"
name_en = "General questions"
min_loa = midden
`;


// ---- the UDP proxy ----

// The USERNAME of a STUN Binding request (RFC 5389 §15.3), or null: the browser's checks carry
// "<gateway ufrag>:<browser ufrag>" (RFC 8445 §7.2.2), which tells the proxy whose source it is.
function stunUsername(buf) {
  if (buf.length < 20 || buf.readUInt16BE(0) !== 0x0001 || buf.readUInt32BE(4) !== 0x2112a442) return null;
  const end = Math.min(buf.length, 20 + buf.readUInt16BE(2));
  for (let off = 20; off + 4 <= end; ) {
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (off + 4 + len > end) return null;
    if (type === 0x0006) return buf.toString('utf8', off + 4, off + 4 + len);
    off += 4 + ((len + 3) & ~3);
  }
  return null;
}

class Proxy {
  constructor(listenIp, port, upstreamIp) {
    this.listenIp = listenIp;
    this.port = port;
    this.upstreamIp = upstreamIp;
    this.clients = new Map(); // "ip:port" -> { sock, who, up, down, dropped }
    this.ufrags = new Map(); // gateway ufrag -> 'citizen' | 'agent'
    this.cutFor = null; // while set: drop both ways for every source but the agent's
  }

  start() {
    this.sock = dgram.createSocket('udp4');
    this.sock.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    return new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind(this.port, this.listenIp, () => resolve(this));
    });
  }

  tag(ufrag, who) {
    this.ufrags.set(ufrag, who);
    for (const c of this.clients.values()) if (!c.who && c.ufrag === ufrag) c.who = who;
  }

  // A source is the agent's while its checks carry an agent-leg ufrag; during a cut, everything
  // else is dropped, including sources the citizen's browser opens after the cut began.
  cut() {
    this.cutFor = 'citizen';
  }

  restore() {
    this.cutFor = null;
  }

  blocked(client) {
    return this.cutFor !== null && client.who !== 'agent';
  }

  fromClient(msg, rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`;
    let client = this.clients.get(key);
    if (!client) {
      client = { key, who: null, ufrag: null, up: 0, down: 0, dropped: 0, lastCheck: 0, sock: dgram.createSocket('udp4') };
      client.sock.on('message', (back) => {
        if (this.blocked(client)) {
          client.dropped++;
          return;
        }
        client.down++;
        this.sock.send(back, rinfo.port, rinfo.address);
      });
      client.sock.on('error', () => {});
      this.clients.set(key, client);
    }
    const user = stunUsername(msg);
    if (user) client.ufrag = user.split(':')[0];
    // Tagged late too: a check may pass before the test has read the offer's ufrag.
    if (!client.who && client.ufrag) client.who = this.ufrags.get(client.ufrag) || null;
    if (this.blocked(client)) {
      client.dropped++;
      return;
    }
    client.up++;
    if (user) client.lastCheck = Date.now();
    client.sock.send(msg, this.port, this.upstreamIp);
  }

  summary() {
    const line = (c) => `${c.key} ${c.who} up ${c.up} down ${c.down} dropped ${c.dropped}`;
    return [...this.clients.values()].map(line).join('; ');
  }

  close() {
    for (const c of this.clients.values()) c.sock.close();
    this.sock.close();
  }
}

let gw;
let proxy;
let browser;
let kit;

before(async () => {
  proxy = await new Proxy(PROXY_IP, MEDIA_PORT, GATEWAY_IP).start();
  gw = await new Gateway(CONFIG).start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  kit = new PageKit(browser, gw);
});

after(async () => {
  if (browser) await browser.close();
  if (gw) await gw.stop();
  if (proxy) proxy.close();
});

// ---- page helpers (lib.mjs) ----

const openPage = (name) => kit.openPage(name);
const visit = (page, urlPath) => kit.visit(page, urlPath);
const devLogin = (page, who) => kit.devLogin(page, who);
const waitDebug = (page, what, values, timeout) => kit.waitDebug(page, what, values, timeout);
const inbound = (page) => kit.inbound(page);
const debug = (page, what) => kit.debug(page, what);

// Polls until test(value) holds; returns the value, or throws with what it last saw.
async function until(what, fn, test, timeout, every = 200) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    last = await fn();
    if (test(last)) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`${what}: not within ${timeout} ms (last ${JSON.stringify(last)}); proxy: ${proxy.summary()}\n` +
    `gateway:\n${restartLog(gw)}\n${gw.log(20)}`);
}

// Gateway log lines that tell the restart's story, for failure messages and the timeline.
const restartLog = (gw) =>
  gw.lines.filter((l) => /quiet|restart|reconnect|consent|disconnect|ice/i.test(l)).slice(-20).join('\n');

const offers = (page) => page.received.filter((r) => r.msg.type === 'offer');
const answers = (page) => page.sent.filter((r) => r.msg.type === 'answer');
const states = (page, media, since) =>
  page.received.filter((r) => r.msg.type === 'state' && r.msg.media === media && r.at >= since);
const ufragOf = (sdp) => (/a=ice-ufrag:(\S+)/.exec(sdp) || [])[1];

// ---- the test ----

test('a quiet citizen path makes the gateway restart ICE, and the call recovers by itself', async () => {
  const citizen = await openPage('citizen');
  await visit(citizen, '/');
  await devLogin(citizen, { role: 'citizen', subject: '999993653' });
  await waitDebug(citizen, 'state', ['camera', 'service']);
  if ((await debug(citizen, 'state')) === 'service') await tid(citizen, 'service-algemeen').click();
  await waitDebug(citizen, 'state', 'camera');
  await tid(citizen, 'start-camera').click();
  await tid(citizen, 'join').waitFor({ state: 'visible' });
  await citizen.waitForFunction(() => document.querySelector('[data-testid="local-preview"]').videoWidth > 0);
  await tid(citizen, 'join').click();
  await waitDebug(citizen, 'phase', 'queued');

  const agent = await openPage('agent');
  await visit(agent, '/agent');
  await devLogin(agent, { role: 'agent', name: 'Test Medewerker' });
  await waitDebug(agent, 'state', 'queue');
  await tid(agent, 'presence-toggle').click();
  await waitDebug(agent, 'available', true);
  await agent.locator('[data-testid="queue-row"]').first().waitFor({ timeout: 15000 });
  await tid(agent, 'accept-next').click();
  for (const page of [citizen, agent]) await waitDebug(page, 'state', 'call', 20000);

  // The proxy learns whose source is whose from the gateway ufrag in each page's offer.
  const pages = { citizen, agent };
  const both = (fn) => Promise.all(Object.entries(pages).map(([name, p]) => fn(p, name)));
  const [cOffer, aOffer] = await both((p, name) =>
    until(`${name}'s first offer`, () => offers(p).length, (n) => n >= 1, 15000).then(() => offers(p)[0].msg.sdp),
  );
  const candidate = new RegExp(`a=candidate:\\S+ 1 udp \\d+ ${PROXY_IP.replace(/\./g, '\\.')} ${MEDIA_PORT} typ host`);
  for (const sdp of [cOffer, aOffer]) assert.match(sdp, candidate, 'the candidate is the proxy');
  proxy.tag(ufragOf(cOffer), 'citizen');
  proxy.tag(ufragOf(aOffer), 'agent');

  await both((p) => waitDebug(p, 'media', 'flowing', 30000));
  const before = await both((p) => until('frames before the cut', () => inbound(p), (s) => s && s.videoFrames >= 20, 20000));
  const tagged = () => [...proxy.clients.values()].map((c) => c.who);
  await until('the proxy sees both browsers', tagged, (w) => w.includes('citizen') && w.includes('agent'), 5000);
  // The page must answer the restart on the same RTCPeerConnection.
  await both((p) => p.evaluate(() => (window.e2ePc = window.balieDebug.pc())));
  const m0 = await gw.metrics();

  // Cut the citizen's path, both ways.
  const tCut = Date.now();
  proxy.cut();
  // The last check of the citizen's that went through: the gateway's quiet time counts from it.
  const citizenSources = [...proxy.clients.values()].filter((c) => c.who === 'citizen');
  const tl = { lastCitizenCheck: Math.max(...citizenSources.map((c) => c.lastCheck)) - tCut, cut: 0 };
  const since = (t) => t - tCut;
  const limit = CUT_MS + 3000;
  await Promise.all([
    until('the restart offer to the citizen', () => offers(citizen).length, (n) => n >= 2, limit).then(() => {
      tl.restartOffer = since(offers(citizen)[1].at);
    }),
    until("the citizen's answer to it", () => answers(citizen).length, (n) => n >= 2, limit).then(() => {
      tl.restartAnswer = since(answers(citizen)[1].at);
    }),
    both((p, name) =>
      until(`${name} told connecting`, () => states(p, 'connecting', tCut).length, (n) => n >= 1, limit).then(() => {
        tl[`${name}Connecting`] = since(states(p, 'connecting', tCut)[0].at);
      }),
    ),
  ]);
  assert.equal(offers(agent).length, 1, 'the agent, whose path stayed up, gets no new offer');
  const newUfrag = ufragOf(offers(citizen)[1].msg.sdp);
  assert.ok(newUfrag && newUfrag !== ufragOf(cOffer), 'the restart offer carries new ICE credentials');
  proxy.tag(newUfrag, 'citizen');
  const m1 = await gw.metrics();
  const restarts = m1.balie_ice_restarts_total - (m0.balie_ice_restarts_total || 0);
  assert.ok(restarts >= 1, `balie_ice_restarts_total went up by ${restarts}`);
  for (const p of [citizen, agent]) assert.equal(await debug(p, 'state'), 'call', 'still in the call');

  // Restore the path when the cut has lasted CUT_MS; nobody does anything else.
  await new Promise((r) => setTimeout(r, Math.max(0, tCut + CUT_MS - Date.now())));
  const atRestore = await both((p) => inbound(p));
  const tRestore = Date.now();
  proxy.restore();
  tl.restore = since(tRestore);

  const recovered0 = m0.balie_ice_restarts_recovered_total || 0;
  const recovered = (m) => m.balie_ice_restarts_recovered_total > recovered0;
  await until('balie_ice_restarts_recovered_total', () => gw.metrics(), recovered, 20000);
  tl.recoveredMetric = since(Date.now());
  await both((p, name) =>
    until(`${name} told flowing again`, () => states(p, 'flowing', tRestore).length, (n) => n >= 1, 20000).then(() => {
      tl[`${name}Flowing`] = since(states(p, 'flowing', tRestore)[0].at);
    }),
  );
  for (const p of [citizen, agent]) {
    assert.equal(await debug(p, 'media'), 'flowing');
    assert.ok(await p.evaluate(() => window.balieDebug.pc() === window.e2ePc), 'the same RTCPeerConnection');
  }
  const firsts = await both((p, name) => {
    const i = name === 'citizen' ? 0 : 1;
    const newFrame = (s) => s && s.videoFrames > atRestore[i].videoFrames;
    return until(`${name} decodes a new frame`, () => inbound(p), newFrame, 20000).then((s) => {
      tl[`${name}FirstFrame`] = since(Date.now());
      return s;
    });
  });
  // And keeps decoding: 20 more frames (about a second of the fake camera), and audio, both sides.
  const afterwards = await both((p, name) => {
    const i = name === 'citizen' ? 0 : 1;
    const going = (s) => s.videoFrames >= firsts[i].videoFrames + 20 && s.audioPackets > atRestore[i].audioPackets + 50;
    return until(`${name} keeps decoding`, () => inbound(p), going, 15000);
  });
  const m2 = await gw.metrics();
  const frames = (list) => list.map((s) => s.videoFrames).join('/');
  console.log(`  timeline (ms after the cut): ${JSON.stringify(tl)}`);
  console.log(`  gateway: ${gw.lines.filter((l) => /ICE restart/.test(l)).join(' | ')}`);
  console.log(
    `  frames decoded (citizen/agent): before the cut ${frames(before)}, at restore ${frames(atRestore)}, ` +
      `at the end ${frames(afterwards)}; restarts ${m2.balie_ice_restarts_total}, recovered ` +
      `${m2.balie_ice_restarts_recovered_total}; proxy: ${proxy.summary()}`,
  );
  // The gateway's quiet time is 9 s without a valid check (docs/media.md, "ICE restart").
  const quiet = tl.restartOffer - tl.lastCitizenCheck;
  assert.ok(quiet >= 8500 && quiet <= 11000, `the restart offer came ${quiet} ms after the citizen's last check, not ~9 s`);

  await tid(agent, 'hangup').click();
  await waitDebug(citizen, 'state', 'ended');
  await waitDebug(agent, 'state', 'queue');
  // Console errors from the pages are reported, not fatal: a restart may make Chromium log.
  const problems = [...citizen.problems, ...agent.problems];
  if (problems.length) console.log(`  page messages: ${problems.join('; ')}`);
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
