// Journey signals as people read them: the citizen's earlier contacts (agent console during a
// call, and the citizen's own "Mijn contactmomenten" page) and a handover context. Texts in
// Dutch first and English; they follow the page's language switch (balie:language).
import { lang } from './i18n.js';

const texts = {
  nl: {
    caption: 'Eerdere contactmomenten, nieuwste bovenaan',
    date: 'Datum',
    channel: 'Kanaal',
    service: 'Dienst',
    outcome: 'Uitkomst',
    topic: 'Onderwerp',
    none: 'Geen eerdere contactmomenten.',
    'channel.video': 'Video',
    'outcome.completed': 'Gesprek gevoerd',
    'outcome.abandoned': 'Gestopt voor het gesprek',
    'outcome.no_agent': 'Geen medewerker beschikbaar',
    'outcome.failed': 'Verbinding mislukt',
    'outcome.dropped': 'Verbinding verbroken',
    'outcome.transferred': 'Doorverbonden',
    'context.title': 'Verwijzing',
    'context.ref': 'Kenmerk',
    'context.topic': 'Onderwerp',
    'context.issuer': 'Van',
  },
  en: {
    caption: 'Earlier contacts, newest first',
    date: 'Date',
    channel: 'Channel',
    service: 'Service',
    outcome: 'Outcome',
    topic: 'Topic',
    none: 'No earlier contacts.',
    'channel.video': 'Video',
    'outcome.completed': 'Conversation held',
    'outcome.abandoned': 'Stopped before the conversation',
    'outcome.no_agent': 'No staff member available',
    'outcome.failed': 'Connection failed',
    'outcome.dropped': 'Connection lost',
    'outcome.transferred': 'Transferred',
    'context.title': 'Referral',
    'context.ref': 'Reference',
    'context.topic': 'Topic',
    'context.issuer': 'From',
  },
};

export function tj(key) {
  return (texts[lang()] || texts.nl)[key] ?? texts.nl[key] ?? key;
}

function cell(tag, text, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = text;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function dateText(ms) {
  const d = new Date(Number(ms) || 0);
  const locale = lang() === 'en' ? 'en-GB' : 'nl-NL';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// A table (caption, column headers) of `signals`; `serviceName(id)` gives a display name.
export function historyTable(signals, serviceName, captionText) {
  const table = document.createElement('table');
  table.className = 'queue-table history-table';
  table.dataset.testid = 'history-table';
  table.appendChild(cell('caption', captionText || tj('caption')));
  const head = document.createElement('thead');
  const hr = document.createElement('tr');
  for (const k of ['date', 'channel', 'service', 'outcome', 'topic']) hr.appendChild(cell('th', tj(k), { scope: 'col' }));
  head.appendChild(hr);
  const body = document.createElement('tbody');
  for (const s of signals) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'history-row';
    const when = cell('td', '');
    when.appendChild(cell('time', dateText(s.joined_ms), { datetime: new Date(Number(s.joined_ms) || 0).toISOString() }));
    tr.append(
      when,
      cell('td', tj(`channel.${s.channel}`)),
      cell('td', serviceName ? serviceName(s.service) : String(s.service || '')),
      cell('td', tj(`outcome.${s.outcome}`)),
      cell('td', s.topic ? String(s.topic) : '—'),
    );
    body.appendChild(tr);
  }
  table.append(head, body);
  return table;
}

// Fills `container` with the history, or a sentence when there is none.
export function renderHistory(container, signals, serviceName, captionText) {
  if (!container) return;
  const list = Array.isArray(signals) ? signals : [];
  const draw = () => {
    if (list.length === 0) container.replaceChildren(cell('p', tj('none'), { class: 'muted' }));
    else {
      const wrap = document.createElement('div');
      wrap.className = 'table-wrap';
      wrap.tabIndex = 0; // a wide table scrolls with the keyboard too
      wrap.setAttribute('role', 'region');
      wrap.setAttribute('aria-label', captionText || tj('caption'));
      wrap.appendChild(historyTable(list, serviceName, captionText));
      container.replaceChildren(wrap);
    }
  };
  draw();
  container.hidden = false;
  window.removeEventListener('balie:language', container._journeyRedraw || (() => {}));
  container._journeyRedraw = draw;
  window.addEventListener('balie:language', draw);
}

// A handover context {ref, topic, issuer} as a small definition list; hidden when none.
export function renderContext(container, context) {
  if (!container) return;
  const draw = () => {
    if (!context || typeof context !== 'object' || !context.ref) {
      container.replaceChildren();
      container.hidden = true;
      return;
    }
    const dl = document.createElement('dl');
    dl.className = 'facts';
    for (const k of ['topic', 'ref', 'issuer']) {
      if (!context[k]) continue;
      const row = document.createElement('div');
      row.append(cell('dt', tj(`context.${k}`)), cell('dd', String(context[k])));
      dl.appendChild(row);
    }
    container.replaceChildren(cell('h3', tj('context.title')), dl);
    container.hidden = false;
  };
  draw();
  window.removeEventListener('balie:language', container._journeyRedraw || (() => {}));
  container._journeyRedraw = draw;
  window.addEventListener('balie:language', draw);
}
