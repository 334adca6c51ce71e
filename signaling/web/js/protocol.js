// The WebSocket client of signaling protocol v1 (subprotocol "balie.v1"): JSON text frames with a
// "type"; a request carries an "id" and is answered by {"type":"ack"} or {"type":"error"}.
// It reconnects by itself with growing delays and tells the page what it is doing through
// "status" events, so the page can say it in words.

export const SUBPROTOCOL = 'balie.v1';
const REQUEST_TIMEOUT_MS = 10000;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

export class ProtocolError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

export function socketUrl(loc = window.location) {
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
}

export class BalieSocket extends EventTarget {
  constructor({ url = socketUrl(), protocol = SUBPROTOCOL } = {}) {
    super();
    this.url = url;
    this.protocol = protocol;
    this.ws = null;
    this.status = 'idle'; // idle | connecting | open | reconnecting | closed
    this.nextId = 1;
    this.pending = new Map(); // String(id) -> {resolve, reject, timer}
    this.attempt = 0; // failed attempts since the last open
    this.retryTimer = null;
    this.wanted = false; // false after close(): no more reconnects
    this.everOpened = false;
  }

  connect() {
    this.wanted = true;
    if (this.ws && (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN))
      return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setStatus(this.attempt === 0 && !this.everOpened ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url, this.protocol);
    } catch (err) {
      this.scheduleRetry(0, String(err && err.message));
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      const resumed = this.everOpened;
      this.attempt = 0;
      this.everOpened = true;
      this.setStatus('open', { resumed });
    });
    ws.addEventListener('message', (ev) => {
      if (ws === this.ws) this.onFrame(ev.data);
    });
    ws.addEventListener('close', (ev) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.failPending('disconnected');
      if (this.wanted) this.scheduleRetry(ev.code, ev.reason);
      else this.setStatus('closed', { code: ev.code, reason: ev.reason });
    });
    // 'error' is always followed by 'close'; nothing to do here.
  }

  whenOpen() {
    if (this.status === 'open') return Promise.resolve();
    return new Promise((resolve) => {
      const onStatus = (ev) => {
        if (ev.detail.status === 'open') {
          this.removeEventListener('status', onStatus);
          resolve();
        }
      };
      this.addEventListener('status', onStatus);
    });
  }

  scheduleRetry(code, reason) {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.setStatus('reconnecting', { code, reason, attempt: this.attempt, delayMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.wanted) this.connect();
    }, delay);
  }

  setStatus(status, detail = {}) {
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, ...detail } }));
  }

  onFrame(data) {
    if (typeof data !== 'string') return; // the protocol has text frames only
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('balie: ignored a frame that is not JSON');
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
      console.warn('balie: ignored a frame without a type');
      return;
    }
    if ((msg.type === 'ack' || msg.type === 'error') && msg.id !== undefined && msg.id !== null) {
      const key = String(msg.id);
      const p = this.pending.get(key);
      if (p) {
        this.pending.delete(key);
        clearTimeout(p.timer);
        if (msg.type === 'ack') p.resolve(msg);
        else {
          const err = new ProtocolError(String(msg.code || 'error'), msg.message);
          err.data = msg; // extra fields, such as opens_at of `closed`
          p.reject(err);
        }
        return;
      }
    }
    this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    this.dispatchEvent(new CustomEvent(`msg:${msg.type}`, { detail: msg }));
  }

  // Listen for one message type; returns a function that removes the listener.
  on(type, fn) {
    const h = (ev) => fn(ev.detail);
    this.addEventListener(`msg:${type}`, h);
    return () => this.removeEventListener(`msg:${type}`, h);
  }

  // Fire and forget. Returns false when the socket is not open.
  send(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ ...fields, type }));
    return true;
  }

  // A request with an id; resolves with the ack, rejects with a ProtocolError.
  request(type, fields = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new ProtocolError('disconnected', 'not connected'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(String(id));
        reject(new ProtocolError('timeout', 'no answer'));
      }, timeoutMs);
      this.pending.set(String(id), { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  failPending(code) {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ProtocolError(code, code));
    }
    this.pending.clear();
  }

  close() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.failPending('closed');
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closing
      }
    }
    this.setStatus('closed', { code: 1000 });
  }
}
