// Text chat beside the video, the same on both pages: messages go over the signaling socket as
// `chat` {text}; the gateway relays them to the other side with `from`. Text from another
// person is only ever set as textContent, never as HTML.
import { $ } from './common.js';
import { setText } from './i18n.js';

// ownRole: 'citizen' or 'agent' (our own messages relayed back are not shown twice);
// peerKey: the i18n key naming the other person; getSocket: the current BalieSocket or null.
export function createChat(ownRole, peerKey, getSocket) {
  function add(m, mine, failed = false) {
    if (!m || typeof m.text !== 'string') return;
    const from = m.from || m.role;
    if (!mine && from === ownRole) return;
    const li = document.createElement('li');
    li.className = mine ? 'chat-me' : 'chat-peer';
    const who = document.createElement('span');
    who.className = 'chat-who';
    setText(who, mine ? 'chat.me' : peerKey);
    const text = document.createElement('span');
    text.className = 'chat-text';
    text.textContent = m.text;
    li.append(who, text);
    if (failed) {
      const f = document.createElement('span');
      f.className = 'chat-failed';
      setText(f, 'chat.failed');
      li.appendChild(f);
    }
    $('chat-log').appendChild(li);
    li.scrollIntoView({ block: 'nearest' });
  }

  function send(ev) {
    ev.preventDefault();
    const input = $('chat-input');
    const text = input.value.trim();
    const socket = getSocket();
    if (!text || !socket) return;
    input.value = '';
    socket.request('chat', { text }).then(
      () => add({ text }, true),
      () => add({ text }, true, true),
    );
  }

  return { add, send };
}
