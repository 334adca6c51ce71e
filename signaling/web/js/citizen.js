// The citizen page: welcome and login, choose a service, camera and microphone check, waiting
// in the queue, the call, and the end screen. One view at a time; every failure is said in words.

import { roleKey, setText, setPlainText, setupLanguageSwitch, t } from './i18n.js';
import {
  $,
  bindConnectionBanner,
  endedKey,
  errorKey,
  loadSession,
  loaKey,
  loaRank,
  renderChrome,
  renderLoginButtons,
  showView,
} from './common.js';
import { createChat } from './chat.js';
import { joinErrorText, when } from './queue-texts.js';
import { BalieSocket } from './protocol.js';
import { CallLeg, LevelMeter, openLocalMedia, playChime, stopStream } from './media.js';

const HANDOVER_KEY = 'balie.handover';
const MEDIA_STATES = ['connecting', 'flowing', 'held', 'failed'];

const st = {
  session: null,
  view: 'loading',
  service: null, // the chosen service object, or null when the gateway picks
  stream: null,
  meter: null,
  micHeard: false,
  micTimer: null,
  socket: null,
  phase: 'idle', // idle | joining | queued | call | ended
  callId: null,
  leg: null,
  media: null, // last media state from the gateway
  pcState: null,
  muted: false,
  cameraOff: false,
  resumeToken: null,
  lastPosition: null,
  transferring: false, // put through to a colleague: waiting again, with the same session
};

const chat = createChat('citizen', 'chat.peer', () => st.socket);

window.balieDebug = {
  pc: () => (st.leg ? st.leg.pc : null),
  state: () => st.view,
  phase: () => st.phase,
  media: () => st.media,
  socket: () => (st.socket ? st.socket.status : 'none'),
};

function go(view, opts) {
  st.view = view;
  showView(view, opts);
}

// ---- handover: an appointment code or another channel's reference, kept across the login ----

function captureHandover() {
  const q = new URLSearchParams(window.location.search);
  const appointment = q.get('afspraak') || q.get('appointment');
  const context = q.get('context');
  if (!appointment && !context) return;
  try {
    window.sessionStorage.setItem(HANDOVER_KEY, JSON.stringify({ appointment, context }));
  } catch {
    // storage off: the values are still in the URL for this load
  }
}

function handover() {
  let saved = {};
  try {
    saved = JSON.parse(window.sessionStorage.getItem(HANDOVER_KEY) || '{}') || {};
  } catch {
    saved = {};
  }
  const q = new URLSearchParams(window.location.search);
  const typed = $('appointment').value.trim();
  return {
    appointment: typed || q.get('afspraak') || q.get('appointment') || saved.appointment || null,
    context: q.get('context') || saved.context || null,
  };
}

// ---- start ----

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
  if (!st.session.authenticated) {
    showLogin(null);
  } else if (st.session.role === 'agent') {
    showLogin('citizen.role.agent');
  } else {
    startFlow();
  }
}

function showLogin(noticeKey) {
  const notice = $('login-notice');
  notice.hidden = !noticeKey;
  notice.replaceChildren();
  if (noticeKey) {
    const p = document.createElement('span');
    setText(p, noticeKey);
    notice.appendChild(p);
    if (noticeKey === 'citizen.role.agent') {
      const a = document.createElement('a');
      a.href = '/agent';
      a.className = 'notice-link';
      setText(a, 'citizen.role.agentLink');
      notice.append(' ', a);
    }
  }
  const loggedInAsAgent = st.session && st.session.authenticated;
  // The staff logins (the agents' password login, agent-role providers) are not for citizens.
  const providers = st.session.providers.filter((p) => p.id !== 'local' && p.role !== 'agent');
  const n = loggedInAsAgent ? 0 : renderLoginButtons($('login'), providers, '/');
  if (loggedInAsAgent) $('login').replaceChildren();
  $('no-providers').hidden = n > 0 || loggedInAsAgent;
  go('login', { focus: st.view !== 'loading' });
}

function allowed(service) {
  if (!service.min_loa) return true;
  return loaRank(st.session.loa) >= loaRank(service.min_loa);
}

function startFlow() {
  const services = st.session.services;
  if (handover().appointment) {
    // An appointment names its own service (and is kept whatever the opening hours).
    st.service = null;
    showCamera();
  } else if (services.length === 0) {
    st.service = null;
    showCamera();
  } else if (services.length === 1 && allowed(services[0])) {
    st.service = services[0];
    showCamera();
  } else {
    showServices();
  }
}

// ---- step 2: service ----

function showServices() {
  const list = $('services');
  list.replaceChildren();
  let usable = 0;
  for (const s of st.session.services) {
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'btn btn-choice utrecht-button utrecht-button--secondary-action';
    btn.dataset.testid = `service-${s.id}`;
    setServiceName(btn, s);
    li.appendChild(btn);
    const closed = s.open === false;
    if (closed) {
      const hint = document.createElement('p');
      hint.className = 'hint';
      hint.id = `closed-${s.id}`;
      hint.dataset.testid = `closed-${s.id}`;
      if (s.opens_at) setText(hint, 'citizen.service.closed', { when: when(s.opens_at) });
      else setText(hint, 'citizen.service.closedNoTime');
      btn.setAttribute('aria-describedby', hint.id);
      li.appendChild(hint);
    }
    if (allowed(s)) {
      usable++;
      btn.addEventListener('click', () => {
        st.service = s;
        showCamera();
      });
    } else {
      btn.disabled = true;
      const why = document.createElement('p');
      why.className = 'hint';
      why.id = `why-${s.id}`;
      setText(why, 'citizen.service.minLoa', { loa: { key: loaKey(s.min_loa) } });
      btn.setAttribute('aria-describedby', why.id);
      li.appendChild(why);
      li.appendChild(reloginLink(s.min_loa, `relogin-${s.id}`));
    }
    list.appendChild(li);
  }
  $('service-none').hidden = usable > 0;
  const { appointment } = handover();
  if (appointment && !$('appointment').value) {
    $('appointment').value = appointment;
    document.querySelector('details.appointment').open = true;
  }
  go('service', { focus: st.view !== 'loading' });
}

// The way back when a service needs a higher assurance level: log in again with the same provider,
// asking it for that level (the gateway passes `loa` on; the test login preselects it).
function reloginLink(minLoa, testid) {
  const a = document.createElement('a');
  a.className = 'btn btn-secondary utrecht-button utrecht-button--secondary-action';
  a.dataset.testid = testid;
  const provider = encodeURIComponent(st.session.provider || '');
  a.href = `/auth/login?provider=${provider}&loa=${encodeURIComponent(minLoa)}&return=/`;
  setText(a, 'citizen.loa.relogin', { loa: { key: loaKey(minLoa) } });
  return a;
}

// A join refused with `loa_too_low`: say why in plain words, and offer the way back.
function showLoaTooLow(box, minLoa) {
  const body = box.querySelector('.notice-body');
  setText(body, 'citizen.loa.body', {
    loa: { key: loaKey(minLoa) },
    have: { key: loaKey(st.session.loa) },
  });
  const old = box.querySelector('[data-testid="loa-relogin"]');
  if (old) old.remove();
  box.appendChild(reloginLink(minLoa, 'loa-relogin'));
}

// A service name comes from the server as {nl, en}: render it through the i18n machinery with a
// pass-through key so the language switch updates it.
function setServiceName(el, service) {
  const name = service.name || service.id;
  el.dataset.i18n = 'service.name';
  el.dataset.i18nVars = JSON.stringify({ v: name });
  el.textContent = t('service.name', { v: name });
}

// ---- step 3: camera and microphone ----

function showCamera() {
  const chosen = $('chosen-service');
  if (st.service && st.session.services.length > 1) {
    const name = st.service.name || st.service.id;
    setText(chosen, 'citizen.camera.chosen', { service: name });
    chosen.hidden = false;
  } else {
    chosen.hidden = true;
  }
  $('back-to-services').hidden = st.session.services.length <= 1;
  resetCameraCheck();
  go('camera', { focus: st.view !== 'loading' });
}

function resetCameraCheck() {
  stopMeter();
  stopStream(st.stream);
  st.stream = null;
  const preview = $('local-preview');
  preview.srcObject = null;
  preview.closest('.preview').classList.remove('has-video');
  setText(preview.closest('.preview').querySelector('.preview-empty'), 'citizen.camera.empty');
  document.querySelector('.mic-check').hidden = true;
  $('media-error').hidden = true;
  $('audio-only').hidden = true;
  $('join').hidden = true;
  const start = $('start-camera');
  start.hidden = false;
  start.disabled = false;
  setText(start, 'citizen.camera.start');
}

async function startMedia(video) {
  const start = $('start-camera');
  start.disabled = true;
  $('audio-only').disabled = true;
  setText(start, 'citizen.camera.starting');
  $('media-error').hidden = true;
  try {
    const stream = await openLocalMedia({ video });
    onStream(stream);
  } catch (err) {
    showMediaError(err.kind || 'other');
  } finally {
    start.disabled = false;
    $('audio-only').disabled = false;
    setText(start, 'citizen.camera.start');
  }
}

function onStream(stream) {
  st.stream = stream;
  const preview = $('local-preview');
  const hasVideo = stream.getVideoTracks().length > 0;
  preview.srcObject = hasVideo ? stream : null;
  preview.closest('.preview').classList.toggle('has-video', hasVideo);
  if (!hasVideo)
    setText(preview.closest('.preview').querySelector('.preview-empty'), 'citizen.camera.audioOnlyOn');
  $('start-camera').hidden = true;
  $('audio-only').hidden = true;
  document.querySelector('.mic-check').hidden = false;
  startMeter(stream);
  const join = $('join');
  join.hidden = false;
  join.focus();
}

function startMeter(stream) {
  stopMeter();
  st.micHeard = false;
  const hint = $('mic-hint');
  setText(hint, 'mic.waiting');
  st.meter = new LevelMeter(stream, (level) => {
    $('mic-level').value = level;
    if (!st.micHeard && level > 0.3) {
      st.micHeard = true;
      setText(hint, 'mic.ok');
    }
  });
  st.micTimer = setTimeout(() => {
    if (!st.micHeard) setText(hint, 'mic.none');
  }, 10000);
}

function stopMeter() {
  if (st.meter) st.meter.stop();
  st.meter = null;
  clearTimeout(st.micTimer);
}

function showMediaError(kind) {
  const box = $('media-error');
  setText(box.querySelector('.notice-title'), `media.${kind}.title`);
  setText(box.querySelector('.notice-body'), `media.${kind}.body`);
  const steps = box.querySelector('.notice-steps');
  steps.replaceChildren();
  steps.hidden = kind !== 'blocked';
  if (kind === 'blocked') {
    for (const k of [
      'media.blocked.step1',
      'media.blocked.step2',
      'media.blocked.step3',
      'media.blocked.step4',
    ]) {
      const li = document.createElement('li');
      setText(li, k);
      steps.appendChild(li);
    }
  }
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
  $('audio-only').hidden = kind !== 'notfound';
  $('start-camera').hidden = kind === 'unsupported' || kind === 'insecure';
}

// ---- step 4: the queue ----

function ensureSocket() {
  if (st.socket) return st.socket;
  const sock = new BalieSocket();
  st.socket = sock;
  bindConnectionBanner(sock, $('connection-text'));
  sock.addEventListener('status', (ev) => onSocketStatus(sock, ev.detail));
  sock.on('queued', (m) => {
    st.phase = 'queued';
    st.callId = m.call ?? st.callId;
    takeToken(m);
    renderQueueMessage(m);
  });
  sock.on('queue', (m) => {
    if (st.phase === 'queued' || st.phase === 'joining') renderQueueMessage(m);
  });
  sock.on('transferred', onTransferred);
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
    renderCallState();
  });
  sock.on('ended', (m) => {
    if (st.phase === 'call') endCall(endedKey(m.reason), 'call');
    else if (st.phase === 'queued' || st.phase === 'joining') endCall(endedKey(m.reason), 'queue');
  });
  sock.on('chat', (m) => chat.add(m, false));
  sock.on('error', (m) => console.warn('balie: server error', m.code, m.message));
  sock.connect();
  return sock;
}

function takeToken(m) {
  const token = m && (m.resume_token || (m.type === 'session' ? m.token : null));
  if (typeof token === 'string' && token) st.resumeToken = token;
}

async function onSocketStatus(sock, d) {
  if (sock !== st.socket) return;
  if (d.status === 'reconnecting' && d.attempt === 3) {
    // Several failures in a row: perhaps the login expired rather than the network.
    try {
      const s = await loadSession();
      if (!s.authenticated && sock === st.socket) {
        dropSocket();
        leaveCallQuietly();
        st.session = s;
        renderChrome(s);
        showLogin('login.expired');
      }
    } catch {
      // the gateway is down; keep trying
    }
  }
  if (d.status === 'open' && d.resumed) await onReconnected(sock);
}

async function onReconnected(sock) {
  if (st.resumeToken) {
    try {
      await sock.request('resume_session', { token: st.resumeToken });
      return;
    } catch {
      st.resumeToken = null; // fall through: the place or call is gone
    }
  }
  if (st.phase === 'queued' || st.phase === 'joining') {
    setText($('position-text'), 'citizen.waiting.rejoined');
    st.lastPosition = null;
    sendJoin();
  } else if (st.phase === 'call') {
    endCall('ended.disconnected', 'call');
  }
}

function dropSocket() {
  if (st.socket) st.socket.close();
  st.socket = null;
  $('connection-text').hidden = true;
}

async function join() {
  stopMeter();
  st.phase = 'joining';
  st.callId = null;
  st.lastPosition = null;
  setText($('position-text'), 'citizen.waiting.joining');
  setPlainText($('wait-text'), '');
  $('join-error').hidden = true;
  $('leave').hidden = false;
  $('rejoin').hidden = true;
  go('waiting');
  const sock = ensureSocket();
  await sock.whenOpen();
  if (sock === st.socket && st.phase === 'joining') sendJoin();
}

function sendJoin() {
  const fields = {};
  if (st.service) fields.service = st.service.id;
  const { appointment, context } = handover();
  if (appointment) fields.appointment = appointment;
  if (context && !st.contextRefused) fields.context = context;
  st.socket.request('join', fields).catch((err) => {
    if (err.code === 'disconnected' || err.code === 'closed') return; // reconnect handles it
    if (err.code === 'context_invalid') st.contextRefused = true; // joining again goes without it
    st.phase = 'idle';
    const box = $('join-error');
    const body = box.querySelector('.notice-body');
    const relogin = box.querySelector('[data-testid="loa-relogin"]');
    if (relogin) relogin.remove();
    const special = joinErrorText(err);
    if (err.code === 'loa_too_low') {
      const svc = st.service || st.session.services[0] || {};
      showLoaTooLow(box, err.min_loa || svc.min_loa || 'substantieel');
    } else if (special) setText(body, special[0], special[1]);
    else setText(body, errorKey(err.code));
    box.hidden = false;
    setPlainText($('position-text'), '');
    $('rejoin').hidden = false;
    restoreTitle();
  });
}

// An appointment before its turn is told its time instead of a place; otherwise the place.
function renderQueueMessage(m) {
  const appt = m.appointment && m.appointment.start;
  $('transfer-text').hidden = !st.transferring;
  if (appt && m.lane === 'early') {
    const sig = `early|${appt}`;
    if (sig === st.lastPosition) return;
    st.lastPosition = sig;
    setText($('position-text'), 'citizen.waiting.appointment', { time: when(appt, { timeOnly: true }) });
    setPlainText($('wait-text'), '');
    return;
  }
  renderPosition(m.position, m.estimated_wait_s);
}

// The agent put the call through: the old connection closes, the place in line comes next.
function onTransferred() {
  if (st.leg) st.leg.close();
  st.leg = null;
  st.phase = 'queued';
  st.media = null;
  st.transferring = true;
  st.lastPosition = null;
  $('join-error').hidden = true;
  $('leave').hidden = false;
  $('rejoin').hidden = true;
  setText($('transfer-text'), 'citizen.waiting.transfer');
  $('transfer-text').hidden = false;
  setText($('position-text'), 'citizen.waiting.joining');
  setPlainText($('wait-text'), '');
  go('waiting');
}

function renderPosition(position, eta) {
  const pos = Number.isFinite(position) ? position : null;
  const posKey =
    pos === null ? 'citizen.waiting.joining' : pos <= 1 ? 'citizen.waiting.next' : 'citizen.waiting.position';
  let waitKey;
  let m = null;
  if (!Number.isFinite(eta) || eta < 0) waitKey = 'wait.unknown';
  else if (eta < 60) waitKey = 'wait.soon';
  else if (eta < 90) waitKey = 'wait.oneMinute';
  else if (eta < 3600) {
    waitKey = 'wait.minutes';
    m = Math.round(eta / 60);
  } else waitKey = 'wait.hour';
  const sig = `${posKey}|${pos}|${waitKey}|${m}`;
  if (sig === st.lastPosition) return; // no change: do not make screen readers repeat it
  st.lastPosition = sig;
  setText($('position-text'), posKey, pos !== null ? { n: pos } : null);
  setText($('wait-text'), waitKey, m !== null ? { m } : null);
  if (pos !== null) {
    document.body.dataset.titleOverride = '1';
    document.title = t('citizen.waiting.docTitle', { n: pos });
  }
}

function restoreTitle() {
  delete document.body.dataset.titleOverride;
  document.title = t(document.body.dataset.titleKey);
}

async function leave() {
  const sock = st.socket;
  st.phase = 'ended';
  if (sock && sock.status === 'open') {
    try {
      await sock.request('leave', {}, 3000);
    } catch {
      // we stop waiting either way
    }
  }
  finish('ended.left', 'queue');
}

// ---- step 5: the call ----

function onCall(m) {
  if (st.leg) st.leg.close();
  st.transferring = false;
  st.phase = 'call';
  st.callId = m.call ?? st.callId;
  st.media = null;
  st.pcState = null;
  takeToken(m);
  restoreTitle();
  $('chat-log').replaceChildren();
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
  st.muted = false;
  st.cameraOff = false;
  $('camera-off').disabled = !hasVideo;
  renderToggles();
  renderCallState();
  go('call');
  playChime();
}

function renderCallState() {
  const el = $('state-text');
  let key;
  if (st.pcState === 'failed') key = 'call.state.lost';
  else if (st.pcState === 'disconnected') key = 'call.state.unstable';
  else if (st.media) key = roleKey(`call.state.${st.media}`, 'citizen');
  else if (st.pcState === 'connected') key = 'call.state.flowing';
  else key = 'call.state.waitingMedia';
  if (el.dataset.i18n !== key) setText(el, key);
  el.dataset.state = st.pcState === 'failed' ? 'failed' : st.media || 'connecting';
}

function renderToggles() {
  $('mute').setAttribute('aria-pressed', String(st.muted));
  $('camera-off').setAttribute('aria-pressed', String(st.cameraOff));
  const self = $('self-state');
  const hasVideo = st.stream && st.stream.getVideoTracks().length > 0;
  const parts = [];
  if (st.muted) parts.push(t('self.muted'));
  if (!hasVideo) parts.push(t('call.noCamera'));
  else if (st.cameraOff) parts.push(t('self.cameraOff'));
  setPlainText(self, parts.join(' '));
}

async function hangup() {
  const sock = st.socket;
  const wasCall = st.phase === 'call';
  st.phase = 'ended';
  if (sock && sock.status === 'open') {
    sock.request('hangup', {}, 3000).catch(() => {});
  }
  finish(wasCall ? 'ended.self' : 'ended.left', wasCall ? 'call' : 'queue', { keepSocketMs: 3000 });
}

function endCall(reasonKey, where) {
  st.phase = 'ended';
  finish(reasonKey, where);
}

function leaveCallQuietly() {
  if (st.leg) st.leg.close();
  st.leg = null;
  stopMeter();
  stopStream(st.stream);
  st.stream = null;
  st.phase = 'idle';
}

// ---- step 6: the end ----

function finish(reasonKey, where, { keepSocketMs = 0 } = {}) {
  if (st.leg) st.leg.close();
  st.leg = null;
  stopMeter();
  stopStream(st.stream);
  st.stream = null;
  $('local-video').srcObject = null;
  $('play-audio').hidden = true;
  st.resumeToken = null;
  const sock = st.socket;
  st.socket = null;
  $('connection-text').hidden = true;
  if (sock) setTimeout(() => sock.close(), keepSocketMs);
  restoreTitle();
  setText($('ended-title'), where === 'queue' ? 'citizen.ended.titleQueue' : 'citizen.ended.title');
  setText($('ended-text'), reasonKey);
  go('ended');
}

// ---- chat ----

// ---- wiring ----

function wire() {
  $('retry').addEventListener('click', boot);
  $('start-camera').addEventListener('click', () => startMedia(true));
  $('audio-only').addEventListener('click', () => startMedia(false));
  $('back-to-services').addEventListener('click', () => {
    resetCameraCheck();
    showServices();
  });
  $('join').addEventListener('click', join);
  $('leave').addEventListener('click', leave);
  $('rejoin').addEventListener('click', () => {
    dropSocket();
    st.phase = 'idle';
    startFlow();
  });
  $('hangup').addEventListener('click', hangup);
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
  $('restart').addEventListener('click', () => {
    st.phase = 'idle';
    boot();
  });
  window.addEventListener('balie:language', () => {
    renderToggles();
    if (document.body.dataset.titleOverride && st.lastPosition) {
      const n = Number(st.lastPosition.split('|')[1]);
      if (Number.isFinite(n)) document.title = t('citizen.waiting.docTitle', { n });
    }
  });
  window.addEventListener('pagehide', () => {
    if (st.socket) st.socket.close();
    stopStream(st.stream);
  });
}

captureHandover();
setupLanguageSwitch();
wire();
boot();
