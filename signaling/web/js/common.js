// What the citizen page and the agent console share: the session, views, the dev banner,
// login buttons, the connection banner and the words for server error codes.

import { setText, t } from './i18n.js';

export const LOA_ORDER = ['basis', 'midden', 'substantieel', 'hoog'];

export function loaRank(loa) {
  return LOA_ORDER.indexOf(loa);
}

export function loaKey(loa) {
  return LOA_ORDER.includes(loa) ? `loa.${loa}` : 'loa.unknown';
}

export class SessionUnavailable extends Error {
  constructor(detail) {
    super(detail);
    this.name = 'SessionUnavailable';
    this.detail = detail;
  }
}

// GET /auth/session. Throws SessionUnavailable when the gateway cannot be reached or answers
// with something other than the session JSON.
export async function loadSession() {
  let res;
  try {
    res = await fetch('/auth/session', {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
  } catch {
    throw new SessionUnavailable('network');
  }
  if (!res.ok) throw new SessionUnavailable(`HTTP ${res.status}`);
  let data;
  try {
    data = await res.json();
  } catch {
    throw new SessionUnavailable('not JSON');
  }
  if (!data || typeof data !== 'object' || typeof data.authenticated !== 'boolean')
    throw new SessionUnavailable('unexpected answer');
  return {
    ...data,
    services: Array.isArray(data.services) ? data.services.filter((s) => s && s.id) : [],
    providers: Array.isArray(data.providers) ? data.providers.filter((p) => p && p.id) : [],
  };
}

export function $(testid, root = document) {
  return root.querySelector(`[data-testid="${testid}"]`);
}

// Shows one <section data-view>, hides the others, and moves focus to its heading so screen
// reader and keyboard users land at the start of the new step.
export function showView(name, { focus = true } = {}) {
  let shown = null;
  for (const v of document.querySelectorAll('[data-view]')) {
    v.hidden = v.dataset.view !== name;
    if (!v.hidden) shown = v;
  }
  document.body.dataset.currentView = name;
  if (focus && shown) {
    const h = shown.querySelector('h1');
    if (h) h.focus();
  }
  return shown;
}

export function renderChrome(session) {
  const banner = $('dev-banner');
  if (banner) banner.hidden = !session.dev_mode;
  const logout = document.querySelector('.logout-form');
  if (logout) logout.hidden = !session.authenticated;
}

export function renderLoginButtons(container, providers, returnPath) {
  container.replaceChildren();
  for (const p of providers) {
    const a = document.createElement('a');
    a.className = 'btn btn-primary btn-large utrecht-button utrecht-button--primary-action';
    a.href = `/auth/login?provider=${encodeURIComponent(p.id)}&return=${encodeURIComponent(returnPath)}`;
    a.dataset.testid = `login-${p.id}`;
    setText(a, 'login.with', { name: p.name || p.id });
    container.appendChild(a);
  }
  return providers.length;
}

export function providerLabel(session, id) {
  const p = session && session.providers.find((x) => x.id === id);
  if (id === 'dev') return { key: 'provider.dev' };
  if (id === 'local') return { key: 'provider.local' };
  if (p && p.name) return p.name;
  if (id === 'oidc' || id === 'saml') return { key: `provider.${id}` };
  return id || { key: 'agent.call.unknown' };
}

// Says in words what the socket is doing, in an element with role="status".
export function bindConnectionBanner(socket, el) {
  let hideTimer = null;
  socket.addEventListener('status', (ev) => {
    const d = ev.detail;
    clearTimeout(hideTimer);
    if (d.status === 'reconnecting') {
      el.hidden = false;
      el.classList.remove('ok');
      setText(el, 'conn.lost');
    } else if (d.status === 'open' && d.resumed) {
      el.hidden = false;
      el.classList.add('ok');
      setText(el, 'conn.restored');
      hideTimer = setTimeout(() => (el.hidden = true), 5000);
    } else if (d.status === 'connecting') {
      el.hidden = true;
    } else {
      el.hidden = true;
    }
  });
}

// Server error codes are not fixed yet; match on words so close variants get the right text.
export function errorKey(code) {
  const c = String(code || '').toLowerCase();
  if (c.includes('loa') || c.includes('assurance')) return 'join.error.loa';
  if (c.includes('context')) return 'join.error.context';
  if (c.includes('appointment')) return 'join.error.appointment';
  if (c.includes('service')) return 'join.error.service';
  if (c.includes('closed')) return 'join.error.closed';
  if (c.includes('drain') || c.includes('busy') || c.includes('full') || c.includes('capacity'))
    return 'join.error.busy';
  if (c.includes('auth') || c.includes('session') || c.includes('login')) return 'join.error.auth';
  return 'join.error.generic';
}

// The end reason vocabulary is not fixed yet either.
export function endedKey(reason, { self = false } = {}) {
  const r = String(reason || '').toLowerCase();
  if (self) return 'ended.self';
  if (r === 'left' || r.includes('abandon') || r.includes('leave')) return 'ended.left';
  if (r.includes('transfer')) return 'ended.transferred';
  if (r.includes('fail') || r.includes('consent') || r.includes('ice') || r.includes('timeout'))
    return 'ended.failed';
  if (r.includes('drain') || r.includes('closed') || r.includes('shutdown')) return 'ended.closed';
  if (r.includes('no_agent') || r.includes('noagent')) return 'ended.noAgent';
  if (r.includes('disconnect') || r.includes('lost')) return 'ended.disconnected';
  if (r.includes('hangup') || r.includes('hung') || r === 'agent' || r === 'citizen' || r === 'peer')
    return 'ended.peer';
  return 'ended.generic';
}

export function formatDuration(s) {
  const secs = Math.max(0, Math.floor(s));
  const m = Math.floor(secs / 60);
  const r = secs % 60;
  if (m >= 60)
    return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(r).padStart(2, '0')}`;
  return `${m}:${String(r).padStart(2, '0')}`;
}

export function errorText(err) {
  if (!err) return '';
  return err.message && err.message !== err.code ? err.message : t('common.code', { code: err.code || '?' });
}
