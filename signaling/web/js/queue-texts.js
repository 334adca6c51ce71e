// Texts of the queue features (opening hours, appointments, transfers, the urgent lane), Dutch
// first, and the formatting of the gateway's RFC 3339 times in Amsterdam time.

import { addTexts } from './i18n.js';

addTexts({
  nl: {
    'join.error.closedUntil': 'De Digitale Balie is nu gesloten. U kunt weer terecht op {when}.',
    'join.error.appointmentEarly':
      'U bent te vroeg. Uw afspraak is op {when}. U kunt vanaf twee uur van tevoren wachten.',
    'join.error.appointmentEnded': 'De tijd van deze afspraak is voorbij. Maak een nieuwe afspraak.',
    'join.error.appointmentInUse': 'Met deze afspraakcode wacht al iemand.',
    'citizen.service.closed': 'Nu gesloten. Weer open op {when}.',
    'citizen.service.closedNoTime': 'Nu gesloten.',
    'citizen.waiting.appointment': 'Uw afspraak is om {time}. U kunt wachten; we helpen u dan.',
    'citizen.waiting.appointmentNow': 'Uw afspraak begint. U bent zo aan de beurt.',
    'citizen.waiting.transfer': 'U wordt doorverbonden met een collega. Blijf op deze pagina.',
    'agent.queue.col.details': 'Bijzonderheden',
    'agent.queue.urgent': 'Urgent',
    'agent.queue.makeUrgent': 'Urgent maken',
    'agent.queue.makeUrgentLabel': 'Urgent maken: {service}, {waited} gewacht',
    'agent.queue.transferred': 'Doorverbonden',
    'agent.queue.forYou': 'Voor u',
    'agent.queue.appointmentAt': 'Afspraak {time}',
    'agent.queue.appointmentLater': 'Afspraak {time} (nog niet aan de beurt)',
    'agent.queue.note': 'Notitie van {from}: {text}',
    'agent.error.prioritize': 'Urgent maken is niet gelukt: {message}',
    'agent.transfer.title': 'Doorverbinden',
    'agent.transfer.to': 'Naar',
    'agent.transfer.service': 'Dienst: {service}',
    'agent.transfer.colleague': 'Collega: {name}',
    'agent.transfer.note': 'Notitie voor de collega (hoogstens 500 tekens)',
    'agent.transfer.submit': 'Doorverbinden',
    'agent.transfer.error': 'Doorverbinden is niet gelukt: {message}',
    'agent.call.notes': 'Notities bij doorverbinden',
    'agent.call.noteFrom': '{from} ({service}): {text}',
    'agent.colleague': 'collega',
  },
  en: {
    'join.error.closedUntil': 'The Digital Counter is closed now. You can come back on {when}.',
    'join.error.appointmentEarly':
      'You are early. Your appointment is on {when}. You can wait from two hours before.',
    'join.error.appointmentEnded': 'The time of this appointment has passed. Please make a new one.',
    'join.error.appointmentInUse': 'Someone is already waiting with this appointment code.',
    'citizen.service.closed': 'Closed now. Open again on {when}.',
    'citizen.service.closedNoTime': 'Closed now.',
    'citizen.waiting.appointment':
      'Your appointment is at {time}. You can wait; we will help you then.',
    'citizen.waiting.appointmentNow': 'Your appointment is starting. It will be your turn soon.',
    'citizen.waiting.transfer': 'You are being transferred to a colleague. Please stay on this page.',
    'agent.queue.col.details': 'Details',
    'agent.queue.urgent': 'Urgent',
    'agent.queue.makeUrgent': 'Make urgent',
    'agent.queue.makeUrgentLabel': 'Make urgent: {service}, waited {waited}',
    'agent.queue.transferred': 'Transferred',
    'agent.queue.forYou': 'For you',
    'agent.queue.appointmentAt': 'Appointment {time}',
    'agent.queue.appointmentLater': 'Appointment {time} (not due yet)',
    'agent.queue.note': 'Note from {from}: {text}',
    'agent.error.prioritize': 'Making it urgent did not work: {message}',
    'agent.transfer.title': 'Transfer',
    'agent.transfer.to': 'To',
    'agent.transfer.service': 'Service: {service}',
    'agent.transfer.colleague': 'Colleague: {name}',
    'agent.transfer.note': 'Note for your colleague (at most 500 characters)',
    'agent.transfer.submit': 'Transfer',
    'agent.transfer.error': 'The transfer did not work: {message}',
    'agent.call.notes': 'Transfer notes',
    'agent.call.noteFrom': '{from} ({service}): {text}',
    'agent.colleague': 'colleague',
  },
});

const ZONE = 'Europe/Amsterdam';

// An RFC 3339 time as {nl, en} texts in Amsterdam time, so a language switch re-renders it.
// `timeOnly`: "14:30"; else "maandag 23 november 14:30".
export function when(text, { timeOnly = false } = {}) {
  const d = new Date(text);
  if (!text || Number.isNaN(d.getTime())) return { nl: '—', en: '—' };
  const opts = timeOnly
    ? { timeZone: ZONE, hour: '2-digit', minute: '2-digit' }
    : { timeZone: ZONE, weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' };
  return {
    nl: new Intl.DateTimeFormat('nl-NL', opts).format(d),
    en: new Intl.DateTimeFormat('en-GB', opts).format(d),
  };
}

// The text key (and its values) for a refused join, from the error's code and fields.
export function joinErrorText(err) {
  const code = String((err && err.code) || '');
  const data = (err && err.data) || {};
  if (code === 'closed' && data.opens_at) return ['join.error.closedUntil', { when: when(data.opens_at) }];
  if (code === 'appointment_too_early' && data.starts_at)
    return ['join.error.appointmentEarly', { when: when(data.starts_at) }];
  if (code === 'appointment_ended') return ['join.error.appointmentEnded', null];
  if (code === 'appointment_in_use') return ['join.error.appointmentInUse', null];
  return null;
}
