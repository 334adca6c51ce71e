// "Mijn contactmomenten": the logged-in citizen's own journey signals (GET /auth/me/signals),
// newest first, as a table with a caption. Dutch first, English after the language switch.
import { lang, setupLanguageSwitch } from './i18n.js';
import { renderHistory } from './journey-view.js';

const texts = {
  nl: {
    title: 'Mijn contactmomenten',
    docTitle: 'Mijn contactmomenten — Digitale Balie',
    intro:
      'Hier ziet u wanneer u via de Digitale Balie contact had met de gemeente, en hoe dat afliep. Wat u zei of typte staat hier niet: dat bewaren wij niet.',
    loading: 'Even geduld, de gegevens worden geladen…',
    login: 'Log in om uw contactmomenten te zien.',
    loginWith: 'Inloggen met {name}',
    count: 'U had {n} contactmoment(en) via de Digitale Balie.',
    none: 'U heeft nog geen contact gehad via de Digitale Balie.',
    error: 'Het lukt nu niet om uw gegevens op te halen. Probeer het later opnieuw.',
    list: 'Overzicht',
    caption: 'Mijn contactmomenten, nieuwste bovenaan',
    back: 'Terug naar de Digitale Balie',
  },
  en: {
    title: 'My contacts',
    docTitle: 'My contacts — Digital Counter',
    intro:
      'This shows when you were in touch with the municipality through the Digital Counter, and how it ended. What you said or typed is not here: we do not keep it.',
    loading: 'Please wait, loading your details…',
    login: 'Log in to see your contacts.',
    loginWith: 'Log in with {name}',
    count: 'You had {n} contact(s) through the Digital Counter.',
    none: 'You have not been in touch through the Digital Counter yet.',
    error: 'Your details cannot be fetched right now. Please try again later.',
    list: 'Overview',
    caption: 'My contacts, newest first',
    back: 'Back to the Digital Counter',
  },
};

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const tx = (key, vars = {}) =>
  ((texts[lang()] || texts.nl)[key] || texts.nl[key]).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

const state = { status: 'loading', vars: {}, session: null, signals: [] };

function serviceName(id) {
  const svc = state.session && (state.session.services || []).find((s) => s.id === id);
  if (!svc || !svc.name) return String(id || '');
  return svc.name[lang()] || svc.name.nl || String(id);
}

function render() {
  document.title = tx('docTitle');
  $('title').textContent = tx('title');
  $('intro').textContent = tx('intro');
  $('status').textContent = tx(state.status, state.vars);
  $('list-title').textContent = tx('list');
  $('back').textContent = tx('back');
  const login = $('login');
  login.replaceChildren();
  login.hidden = state.status !== 'login';
  if (state.status === 'login') {
    for (const p of (state.session && state.session.providers) || []) {
      const a = document.createElement('a');
      a.className = 'btn btn-primary utrecht-button utrecht-button--primary-action';
      a.dataset.testid = `login-${p.id}`;
      a.href = `/auth/login?provider=${encodeURIComponent(p.id)}&return=${encodeURIComponent('/contactmomenten')}`;
      a.textContent = tx('loginWith', { name: p.name || p.id });
      login.appendChild(a);
    }
  }
  const section = $('list-section');
  section.hidden = state.status !== 'count';
  if (state.status === 'count') renderHistory($('history'), state.signals, serviceName, tx('caption'));
}

async function load() {
  try {
    const sr = await fetch('/auth/session', { credentials: 'same-origin' });
    state.session = await sr.json();
    const logout = document.querySelector('.logout-form');
    if (state.session.authenticated && state.session.role === 'citizen') {
      logout.hidden = false;
      const r = await fetch('/auth/me/signals', { credentials: 'same-origin' });
      if (r.status === 401) state.status = 'login';
      else if (!r.ok) state.status = 'error';
      else {
        const body = await r.json();
        state.signals = Array.isArray(body.signals) ? body.signals : [];
        state.status = state.signals.length ? 'count' : 'none';
        state.vars = { n: state.signals.length };
      }
    } else {
      state.status = 'login';
    }
  } catch (err) {
    console.warn('balie: loading contacts failed', err && err.message);
    state.status = 'error';
  }
  render();
}

setupLanguageSwitch();
window.addEventListener('balie:language', render);
render();
load();
