// The dev identity provider's login form (/auth/dev/authorize). It copies `state` and `return`
// from the query into the form, which POSTs back to /auth/dev/authorize. Test use only.

import { setText, setupLanguageSwitch } from './i18n.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

// The "elfproef" of a BSN: 9 digits, sum of digit * (9..2) minus the last digit, divisible by 11.
export function bsnValid(s) {
  if (!/^\d{9}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(s[i]) * (9 - i);
  sum -= Number(s[8]);
  return sum % 11 === 0 && sum !== 0;
}

// Only a local path may come back as `return`: no scheme, no "//host".
function safeReturn(r) {
  return typeof r === 'string' && r.startsWith('/') && !r.startsWith('//') && !r.includes('\\') ? r : '/';
}

function checkSubject() {
  const v = $('devlogin-subject').value.trim();
  const out = $('devlogin-subject-check');
  const citizen = $('devlogin-role-citizen').checked;
  if (!citizen || !v) {
    out.textContent = '';
    delete out.dataset.i18n;
    return;
  }
  setText(out, bsnValid(v) ? 'devlogin.subject.valid' : 'devlogin.subject.invalid');
}

function init() {
  setupLanguageSwitch();
  const q = new URLSearchParams(window.location.search);
  const state = q.get('state');
  const ret = safeReturn(q.get('return') || '/');
  $('devlogin-state').value = state || '';
  $('devlogin-return').value = ret;
  $('devlogin-cancel').href = ret;
  // A level the gateway asked for (a service needs it) is preselected.
  const loa = q.get('loa');
  if (['basis', 'midden', 'substantieel', 'hoog'].includes(loa)) $('devlogin-loa').value = loa;
  if (ret === '/agent' || ret.startsWith('/agent/') || ret.startsWith('/agent?')) {
    $('devlogin-role-agent').checked = true;
  }
  if (!state) {
    $('devlogin-error').hidden = false;
    $('devlogin-form').hidden = true;
    return;
  }
  $('devlogin-subject').addEventListener('input', checkSubject);
  for (const r of document.querySelectorAll('input[name="role"]')) r.addEventListener('change', checkSubject);
  checkSubject();
  window.addEventListener('balie:language', checkSubject);
}

init();
