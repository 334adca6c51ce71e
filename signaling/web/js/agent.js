// The agent console: login, availability, the queue (waiting times tick), taking a call, the call
// with the citizen's verified assurance level and provider, and back to the queue afterwards.

import { roleKey, setAttr, setPlainText, setText, setupLanguageSwitch, t } from './i18n.js';
import {
  $,
  bindConnectionBanner,
  endedKey,
  errorText,
  formatDuration,
  loadSession,
  loaKey,
  providerLabel,
  renderChrome,
  renderLoginButtons,
  showView,
} from './common.js';
import { createChat } from './chat.js';
import { renderContext, renderHistory } from './journey-view.js';
import { when } from './queue-texts.js';
import { BalieSocket } from './protocol.js';
import { CallLeg, LevelMeter, openLocalMedia, stopStream } from './media.js';

const MEDIA_STATES = ['connecting', 'flowing', 'held', 'failed'];
const LONG_WAIT_S = 300;

const st = {
  session: null,
  view: 'loading',
  socket: null,
  available: false,
  queue: [], // the last `queue.waiting` list
  colleagues: [], // the last `queue.colleagues` list: agents we may transfer to
  queueAt: 0, // performance.now() when it arrived
  queueKnown: false,
  seen: new Map(), // call id -> last queue entry seen, for the `call` that follows (bounded)
  stream: null,
  meter: null,
  leg: null,
  callId: null,
  callEntry: null, // the queue entry of the call we took, for service and appointment
  media: null,
  pcState: null,
  muted: false,
  cameraOff: false,
  held: false,
  resumeToken: null,
  tick: null,
};

const chat = createChat('agent', 'chat.peer.agent', () => st.socket);

window.balieDebug = {
  pc: () => (st.leg ? st.leg.pc : null),
  state: () => st.view,
  media: () => st.media,
  available: () => st.available,
  queue: () => st.queue.slice(),
  socket: () => (st.socket ? st.socket.status : 'none'),
};

function go(view, opts) {
  st.view = view;
  showView(view, opts);
}

async function boot() {
  go('loading', { focus: false });
  try {
    st.session = await loadSession();
  } catch (err) {
    setText($('unavailable-detail'), 'unavailable.detail', { detail: err.detail || String(err) });
    go('unavailable');
    return;
  }
  renderChrome(st.session);
  if (!st.session.authenticated || st.session.role !== 'agent') {
    showLogin(st.session.authenticated ? 'agent.role.citizen' : null);
    return;
  }
  const who = $('agent-name');
  const name = st.session.display_name || st.session.agent_id;
  who.hidden = !name;
  setPlainText(who, name || '');
  renderServiceFilter();
  renderPresence();
  renderQueue();
  go('queue', { focus: false });
  connect();
}

function showLogin(noticeKey) {
  const notice = $('login-notice');
  notice.hidden = !noticeKey;
  if (noticeKey) setText(notice, noticeKey);
  const n = st.session.authenticated ? 0 : renderLoginButtons($('login'), st.session.providers.filter((p) => p.role !== 'citizen'), '/agent');
  if (st.session.authenticated) $('login').replaceChildren();
  $('no-providers').hidden = n > 0 || st.session.authenticated;
  go('login', { focus: st.view !== 'loading' });
}

// ---- socket ----

function connect() {
  const sock = new BalieSocket();
  st.socket = sock;
  bindConnectionBanner(sock, $('connection-text'));
  sock.addEventListener('status', (ev) => onSocketStatus(sock, ev.detail));
  sock.on('queue', (m) => {
    if (!Array.isArray(m.waiting)) return;
    st.queue = m.waiting.filter((e) => e && e.call !== undefined);
    if (Array.isArray(m.colleagues)) st.colleagues = m.colleagues.filter((c) => c && c.id);
    if (st.view === 'call') renderTransferTargets();
    // The entry of a call we take may leave the queue before the `call` message comes.
    for (const e of st.queue) {
      st.seen.delete(String(e.call));
      st.seen.set(String(e.call), e);
    }
    while (st.seen.size > 500) st.seen.delete(st.seen.keys().next().value);
    st.queueAt = performance.now();
    st.queueKnown = true;
    renderQueue();
  });
  sock.on('session', takeToken);
  sock.on('call', onCall);
  sock.on('offer', (m) => {
    if (!st.leg) return console.warn('balie: offer without a call');
    st.leg.handleOffer(m.sdp).catch((err) => {
      console.warn('balie: answering the offer failed', err && err.message);
      st.pcState = 'failed';
      renderCallState();
    });
  });
  sock.on('candidate', (m) => st.leg && st.leg.addRemoteCandidate(m));
  sock.on('state', (m) => {
    if (m.call !== undefined && st.callId !== null && String(m.call) !== String(st.callId)) return;
    if (MEDIA_STATES.includes(m.media)) st.media = m.media;
    if (st.media === 'held') st.held = true;
    else if (st.media === 'flowing') st.held = false;
    renderToggles();
    renderCallState();
  });
  sock.on('ended', (m) => {
    if (st.leg || st.view === 'call') endCall(endedKey(m.reason));
  });
  sock.on('chat', (m) => chat.add(m, false));
  sock.on('history', (m) => {
    if (st.callId !== null && String(m.call) === String(st.callId)) renderHistory($('peer-history'), m.signals, serviceName);
  });
  sock.on('error', (m) => console.warn('balie: server error', m.code, m.message));
  sock.connect();
}

function takeToken(m) {
  const token = m && (m.resume_token || (m.type === 'session' ? m.token : null));
  if (typeof token === 'string' && token) st.resumeToken = token;
}

async function onSocketStatus(sock, d) {
  if (sock !== st.socket) return;
  if (d.status === 'reconnecting' && d.attempt === 3) {
    try {
      const s = await loadSession();
      if ((!s.authenticated || s.role !== 'agent') && sock === st.socket) {
        sock.close();
        st.socket = null;
        $('connection-text').hidden = true;
        closeLeg();
        st.session = s;
        renderChrome(s);
        showLogin(s.authenticated ? 'agent.role.citizen' : 'login.expired');
      }
    } catch {
      // the gateway is down; keep trying
    }
    return;
  }
  if (d.status !== 'open') return;
  if (d.resumed && st.resumeToken) {
    try {
      await sock.request('resume_session', { token: st.resumeToken });
      return;
    } catch {
      st.resumeToken = null;
    }
  }
  if (d.resumed && (st.leg || st.view === 'call')) endCall('ended.disconnected');
  sendPresence().catch(() => {});
}

// ---- presence ----

function selectedServices() {
  return [...document.querySelectorAll('.service-filter input:checked')].map((i) => i.value);
}

async function sendPresence() {
  if (!st.socket || st.socket.status !== 'open') return;
  const fields = { status: st.available ? 'available' : 'away' };
  const services = selectedServices();
  if (services.length) fields.services = services;
  try {
    await st.socket.request('presence', fields);
    $('agent-error').hidden = true;
  } catch (err) {
    if (err.code === 'disconnected' || err.code === 'closed') return;
    showError('agent.error.presence', { message: errorText(err) });
    throw err;
  }
}

async function togglePresence() {
  st.available = !st.available;
  renderPresence();
  if (st.available && !st.stream) startMedia(true); // be ready before the first call
  try {
    await sendPresence();
  } catch {
    st.available = !st.available;
    renderPresence();
  }
}

function renderPresence() {
  const btn = $('presence-toggle');
  btn.setAttribute('aria-pressed', String(st.available));
  setText($('presence-text'), st.available ? 'agent.presence.available' : 'agent.presence.away');
}

function renderServiceFilter() {
  const services = st.session.services;
  const box = $('service-filter');
  box.hidden = services.length <= 1;
  const list = box.querySelector('.checkbox-list');
  list.replaceChildren();
  for (const s of services) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = s.id;
    input.dataset.testid = `service-${s.id}`;
    input.addEventListener('change', () => sendPresence().catch(() => {}));
    const span = document.createElement('span');
    setText(span, 'service.name', { v: s.name || s.id });
    label.append(input, span);
    list.appendChild(label);
  }
}

function serviceName(id) {
  const s = st.session.services.find((x) => x.id === id);
  return s ? s.name || s.id : id || '—';
}

// ---- queue ----

function renderQueue() {
  const tbody = $('queue-table').querySelector('tbody');
  const existing = new Map([...tbody.rows].map((r) => [r.dataset.call, r]));
  const hadFocus = tbody.contains(document.activeElement);
  let i = 0;
  for (const e of st.queue) {
    const key = String(e.call);
    let row = existing.get(key);
    if (row) existing.delete(key);
    else row = makeRow(e);
    fillRow(row, e);
    if (tbody.rows[i] !== row) tbody.insertBefore(row, tbody.rows[i] || null);
    i++;
  }
  for (const [, row] of existing) row.remove();
  if (hadFocus && !tbody.contains(document.activeElement)) $('accept-next').focus();
  tickQueue();

  const n = st.queue.length;
  const key = !st.queueKnown
    ? 'agent.queue.unknown'
    : n === 0
      ? 'agent.queue.empty'
      : n === 1
        ? 'agent.queue.countOne'
        : 'agent.queue.count';
  const summary = $('queue-summary');
  const vars = n > 1 ? { n } : null;
  if (summary.dataset.i18n !== key || summary.dataset.i18nVars !== (vars ? JSON.stringify(vars) : undefined))
    setText(summary, key, vars);
  $('accept-next').disabled = n === 0;
}

function makeRow(e) {
  const tr = document.createElement('tr');
  tr.dataset.call = String(e.call);
  tr.dataset.testid = 'queue-row';
  const service = document.createElement('td');
  const waited = document.createElement('td');
  waited.className = 'waited';
  const loa = document.createElement('td');
  const badge = document.createElement('span');
  badge.className = 'loa-badge';
  loa.appendChild(badge);
  const appointment = document.createElement('td');
  const details = document.createElement('td');
  details.className = 'details';
  const action = document.createElement('td');
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = 'btn btn-secondary utrecht-button utrecht-button--secondary-action';
  btn.dataset.testid = `accept-${e.call}`;
  setText(btn, 'agent.queue.accept');
  btn.addEventListener('click', () => accept(e.call));
  action.appendChild(btn);
  const urgent = document.createElement('button');
  urgent.type = 'button';
  urgent.className = 'btn btn-link utrecht-button utrecht-button--subtle';
  urgent.dataset.testid = `prioritize-${e.call}`;
  setText(urgent, 'agent.queue.makeUrgent');
  urgent.addEventListener('click', () => prioritize(e.call));
  action.appendChild(urgent);
  tr.append(service, waited, loa, appointment, details, action);
  return tr;
}

function fillRow(tr, e) {
  const [service, , loa, appointment, details, action] = tr.cells;
  tr.dataset.waited = String(Number(e.waited_s) || 0);
  tr.dataset.lane = e.lane || 'walk_in';
  setText(service, 'service.name', { v: serviceName(e.service) });
  if (e.context && e.context.ref) {
    const ctx = document.createElement('small');
    ctx.className = 'queue-context';
    ctx.dataset.testid = 'queue-context';
    ctx.textContent = ` — ${e.context.topic || e.context.ref}`;
    service.appendChild(ctx);
  }
  setText(loa.firstChild, loaKey(e.loa));
  if (e.appointment_start)
    setText(appointment, e.lane === 'early' ? 'agent.queue.appointmentLater' : 'agent.queue.appointmentAt', {
      time: when(e.appointment_start, { timeOnly: true }),
    });
  else if (e.appointment) setPlainText(appointment, String(e.appointment));
  else setText(appointment, 'agent.queue.noAppointment');
  fillDetails(details, e);
  action.lastChild.hidden = e.lane === 'urgent';
  setAttr(action.firstChild, 'aria-label', 'agent.queue.acceptLabel', {
    service: serviceName(e.service),
    loa: { key: loaKey(e.loa) },
  });
}

// Badges (urgent, transferred, reserved for you) and the notes a transfer brought along.
function fillDetails(cell, e) {
  cell.replaceChildren();
  const badge = (key) => {
    const b = document.createElement('span');
    b.className = 'badge';
    setText(b, key);
    cell.append(b, ' ');
  };
  if (e.lane === 'urgent') badge('agent.queue.urgent');
  if (e.transferred) badge('agent.queue.transferred');
  if (e.assigned) badge('agent.queue.forYou');
  for (const n of Array.isArray(e.notes) ? e.notes : []) {
    const p = document.createElement('p');
    p.className = 'note';
    p.dataset.testid = 'queue-note';
    setText(p, 'agent.queue.note', { from: colleagueName(n.from_agent), text: String(n.text || '') });
    cell.appendChild(p);
  }
}

function colleagueName(id) {
  const c = st.colleagues.find((x) => x.id === id);
  if (c && c.name) return c.name;
  return id ? String(id) : { key: 'agent.colleague' };
}

async function prioritize(callId) {
  if (!st.socket || st.socket.status !== 'open') return;
  try {
    await st.socket.request('prioritize', { call: callId });
  } catch (err) {
    if (err.code === 'disconnected' || err.code === 'closed') return;
    showError('agent.error.prioritize', { message: errorText(err) });
  }
}

function tickQueue() {
  const elapsed = (performance.now() - st.queueAt) / 1000;
  for (const tr of $('queue-table').querySelector('tbody').rows) {
    const s = Number(tr.dataset.waited) + elapsed;
    const cell = tr.cells[1];
    const text = formatDuration(s);
    if (cell.textContent !== text) cell.textContent = text;
    tr.classList.toggle('long', s >= LONG_WAIT_S);
  }
}

async function accept(callId) {
  $('agent-error').hidden = true;
  if (!st.stream) {
    const ok = await startMedia(true);
    if (!ok) {
      showError('agent.error.camera');
      return;
    }
  }
  if (!st.socket || st.socket.status !== 'open') return;
  const fields = callId !== undefined ? { call: callId } : {};
  try {
    await st.socket.request('accept', fields);
  } catch (err) {
    if (err.code === 'disconnected' || err.code === 'closed') return;
    showError('agent.error.accept', { message: errorText(err) });
  }
}

function showError(key, vars) {
  const box = $('agent-error');
  setText(box, key, vars);
  box.hidden = false;
}

// ---- camera ----

async function startMedia(video) {
  const start = $('start-camera');
  start.disabled = true;
  const box = $('media-error');
  box.hidden = true;
  try {
    const stream = await openLocalMedia({ video });
    stopStream(st.stream);
    st.stream = stream;
    const preview = $('local-preview');
    const hasVideo = stream.getVideoTracks().length > 0;
    preview.srcObject = hasVideo ? stream : null;
    preview.closest('.preview').classList.toggle('has-video', hasVideo);
    if (st.meter) st.meter.stop();
    st.meter = new LevelMeter(stream, (level) => ($('mic-level').value = level));
    start.hidden = true;
    $('audio-only').hidden = true;
    return true;
  } catch (err) {
    const kind = err.kind || 'other';
    setText(box.querySelector('.notice-title'), `media.${kind}.title`);
    setText(
      box.querySelector('.notice-body'),
      kind === 'blocked' ? 'media.blocked.step1' : `media.${kind}.body`,
    );
    box.hidden = false;
    $('audio-only').hidden = kind !== 'notfound';
    return false;
  } finally {
    start.disabled = false;
  }
}

// ---- the call ----

function onCall(m) {
  closeLeg();
  st.callId = m.call ?? null;
  st.callEntry = st.seen.get(String(m.call)) || null;
  st.media = null;
  st.pcState = null;
  st.held = false;
  st.muted = false;
  st.cameraOff = false;
  takeToken(m);
  if (st.stream) st.stream.getTracks().forEach((tr) => (tr.enabled = true));
  $('chat-log').replaceChildren();
  $('call-error').hidden = true;
  $('last-call').hidden = true;
  renderPeer(m.peer || {});
  renderContext($('peer-context'), (m.peer || {}).context);
  $('peer-history').hidden = true;
  st.leg = new CallLeg({
    socket: st.socket,
    iceServers: m.ice_servers,
    localStream: st.stream,
    remoteVideo: $('remote-video'),
  });
  st.leg.addEventListener('connection', (ev) => {
    st.pcState = ev.detail.state;
    renderCallState();
  });
  st.leg.addEventListener('remote-audio-blocked', () => ($('play-audio').hidden = false));
  const local = $('local-video');
  const hasVideo = st.stream && st.stream.getVideoTracks().length > 0;
  local.srcObject = hasVideo ? st.stream : null;
  local.hidden = !hasVideo;
  $('camera-off').disabled = !hasVideo;
  renderToggles();
  renderCallState();
  go('call');
}

function renderPeer(peer) {
  const name = typeof peer.display_name === 'string' && peer.display_name ? peer.display_name : null;
  $('peer-name-row').hidden = !name;
  setPlainText($('peer-name'), name || '');
  setText($('peer-loa'), loaKey(peer.loa));
  setText($('peer-provider'), 'service.name', { v: providerLabel(st.session, peer.provider) });
  $('peer-dev').hidden = peer.provider !== 'dev';
  const entry = st.callEntry;
  setText($('peer-service'), 'service.name', {
    v: entry ? serviceName(entry.service) : { key: 'agent.call.unknown' },
  });
  $('peer-appointment-row').hidden = !(entry && entry.appointment);
  if (entry && entry.appointment_start)
    setText($('peer-appointment'), 'agent.queue.appointmentAt', {
      time: when(entry.appointment_start, { timeOnly: true }),
    });
  else setPlainText($('peer-appointment'), entry && entry.appointment ? String(entry.appointment) : '');
  renderNotes(Array.isArray(peer.notes) ? peer.notes : []);
  renderTransferTargets();
  $('transfer-note').value = '';
  $('transfer-error').hidden = true;
}

function renderNotes(notes) {
  const list = $('peer-notes-list');
  list.replaceChildren();
  for (const n of notes) {
    const li = document.createElement('li');
    li.dataset.testid = 'peer-note';
    setText(li, 'agent.call.noteFrom', {
      from: colleagueName(n.from_agent),
      service: serviceName(n.from_service),
      text: String(n.text || ''),
    });
    list.appendChild(li);
  }
  $('peer-notes').hidden = notes.length === 0;
}

// The services (other than the call's) and the colleagues online, as transfer targets.
function renderTransferTargets() {
  const select = $('transfer-to');
  const chosen = select.value;
  select.replaceChildren();
  const current = st.callEntry ? st.callEntry.service : null;
  for (const s of st.session.services) {
    if (s.id === current) continue;
    const o = document.createElement('option');
    o.value = `service:${s.id}`;
    setText(o, 'agent.transfer.service', { service: s.name || s.id });
    select.appendChild(o);
  }
  for (const c of st.colleagues) {
    const o = document.createElement('option');
    o.value = `agent:${c.id}`;
    setText(o, 'agent.transfer.colleague', { name: c.name || c.id });
    select.appendChild(o);
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  $('transfer-submit').disabled = select.options.length === 0;
}

async function transfer(ev) {
  ev.preventDefault();
  const target = $('transfer-to').value;
  if (!target || !st.socket) return;
  const [kind, id] = [target.slice(0, target.indexOf(':')), target.slice(target.indexOf(':') + 1)];
  const fields = kind === 'agent' ? { agent: id } : { service: id };
  const note = $('transfer-note').value.trim();
  if (note) fields.note = note;
  try {
    await st.socket.request('transfer', fields);
  } catch (err) {
    const box = $('transfer-error');
    setText(box, 'agent.transfer.error', { message: errorText(err) });
    box.hidden = false;
  }
}

function renderCallState() {
  const el = $('state-text');
  let key;
  if (st.pcState === 'failed') key = 'call.state.lost';
  else if (st.pcState === 'disconnected') key = 'call.state.unstable';
  else if (st.media) key = roleKey(`call.state.${st.media}`, 'agent');
  else if (st.pcState === 'connected') key = 'call.state.flowing';
  else key = roleKey('call.state.waitingMedia', 'agent');
  if (el.dataset.i18n !== key) setText(el, key);
  el.dataset.state = st.pcState === 'failed' ? 'failed' : st.media || 'connecting';
}

function renderToggles() {
  $('mute').setAttribute('aria-pressed', String(st.muted));
  $('camera-off').setAttribute('aria-pressed', String(st.cameraOff));
  // Hold and resume are one button whose words say what it will do.
  const hold = $('hold');
  const holdKey = st.held ? 'agent.call.resumeAction' : 'agent.call.holdAction';
  if (hold.dataset.i18n !== holdKey) setText(hold, holdKey);
  hold.dataset.held = String(st.held);
  $('hold-overlay').hidden = !st.held;
  const parts = [];
  if (st.muted) parts.push(t('self.muted'));
  if (st.cameraOff) parts.push(t('self.cameraOff'));
  setPlainText($('self-state'), parts.join(' '));
}

async function toggleHold() {
  if (!st.socket) return;
  const want = !st.held;
  const btn = $('hold');
  btn.disabled = true; // one request at a time
  try {
    await st.socket.request(want ? 'hold' : 'resume', {});
    st.held = want;
    renderToggles();
    $('call-error').hidden = true;
  } catch (err) {
    const box = $('call-error');
    setText(box, 'agent.error.hold', { message: errorText(err) });
    box.hidden = false;
  } finally {
    btn.disabled = false;
    // Keep the keyboard where it was: the button stays focused through the change of words.
    if (document.activeElement === document.body) btn.focus();
  }
}

function hangup() {
  if (st.socket && st.socket.status === 'open') st.socket.request('hangup', {}, 3000).catch(() => {});
  endCall('ended.self');
}

function closeLeg() {
  if (st.leg) st.leg.close();
  st.leg = null;
  $('play-audio').hidden = true;
}

function endCall(reasonKey) {
  closeLeg();
  st.callId = null;
  st.callEntry = null;
  st.media = null;
  st.resumeToken = null;
  $('local-video').srcObject = null;
  if (st.stream) st.stream.getTracks().forEach((tr) => (tr.enabled = true));
  const note = $('last-call');
  setText(note, 'agent.lastCall', { reason: { key: roleKey(reasonKey, 'agent') } });
  note.hidden = false;
  renderQueue();
  go('queue');
}

// ---- chat ----

// ---- wiring ----

function wire() {
  $('retry').addEventListener('click', boot);
  $('presence-toggle').addEventListener('click', togglePresence);
  $('start-camera').addEventListener('click', () => startMedia(true));
  $('audio-only').addEventListener('click', () => startMedia(false));
  $('accept-next').addEventListener('click', () => accept(undefined));
  $('hangup').addEventListener('click', hangup);
  $('hold').addEventListener('click', toggleHold);
  $('mute').addEventListener('click', () => {
    st.muted = !st.muted;
    if (st.leg) st.leg.setMuted(st.muted);
    renderToggles();
  });
  $('camera-off').addEventListener('click', () => {
    st.cameraOff = !st.cameraOff;
    if (st.leg) st.leg.setCameraOff(st.cameraOff);
    renderToggles();
  });
  $('play-audio').addEventListener('click', () => {
    $('play-audio').hidden = true;
    if (st.leg) st.leg.playRemote();
  });
  $('chat-form').addEventListener('submit', chat.send);
  $('transfer-form').addEventListener('submit', transfer);
  window.addEventListener('balie:language', renderToggles);
  window.addEventListener('pagehide', () => {
    if (st.socket) st.socket.close();
    stopStream(st.stream);
  });
  st.tick = setInterval(tickQueue, 1000);
}

setupLanguageSwitch();
wire();
boot();
