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
