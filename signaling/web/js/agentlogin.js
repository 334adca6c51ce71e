// The local provider's login page (/auth/local/authorize): agents' user name and password from
// the users file. The form posts to the page's own URL (which carries `state`); this script only
// fills the hidden field, says so when the page was opened without a state, and switches language.

import { setupLanguageSwitch } from './i18n.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

function init() {
  setupLanguageSwitch();
  const state = new URLSearchParams(window.location.search).get('state');
  $('agentlogin-state').value = state || '';
  if (!state) {
    $('agentlogin-error').hidden = false;
    $('agentlogin-form').hidden = true;
    return;
  }
  $('agentlogin-username').focus();
}

init();
