// Texts of the Balie pages in Dutch (first, B1 level) and English, and the language switch.
// Elements carry `data-i18n="key"` (text content) and `data-i18n-attr="attr:key;…"` (attributes);
// setText() remembers the key and values on the element so a language switch re-renders it.

const STORAGE_KEY = 'balie.lang';

const nl = {
  'common.skip': 'Naar de inhoud',
  'common.loading': 'Even geduld, de pagina wordt geladen…',
  'common.retry': 'Opnieuw proberen',
  'common.logout': 'Uitloggen',
  'common.code': '(foutcode: {code})',
  'lang.switch': 'English',
  'emergency.pre': 'Bij spoed:',
  'emergency.call': 'bel 112',
  'dev.banner': 'Testomgeving — geen echte DigiD',

  'unavailable.title': 'Balie is niet bereikbaar',
  'unavailable.body':
    'Het lukt nu niet om de Digitale Balie te bereiken. Dat ligt niet aan u. Probeer het over een paar minuten opnieuw.',
  'unavailable.detail': 'Technische melding: {detail}',

  'login.with': 'Inloggen met {name}',
  'login.none': 'Inloggen is nu niet mogelijk. Probeer het later opnieuw.',
  'login.expired': 'U bent niet meer ingelogd. Log opnieuw in.',

  'loa.basis': 'Basis',
  'loa.midden': 'Midden',
  'loa.substantieel': 'Substantieel',
  'loa.hoog': 'Hoog',
  'loa.unknown': 'Onbekend',
  'provider.dev': 'Testlogin (geen echte DigiD)',
  'provider.oidc': 'OpenID Connect',
  'provider.saml': 'SAML',

  'citizen.title': 'Digitale Balie',
  'citizen.brand': 'Digitale Balie',
  'citizen.footer': 'De Digitale Balie is een dienst van uw gemeente.',
  'citizen.welcome.title': 'Welkom bij de Digitale Balie',
  'citizen.welcome.lead':
    'Hier praat u via video met een medewerker van de gemeente. U heeft een camera en een microfoon nodig.',
  'citizen.welcome.step1': 'U logt in, zodat wij weten wie u bent.',
  'citizen.welcome.step2': 'U kiest waarover u wilt praten.',
  'citizen.welcome.step3': 'U test uw camera en microfoon.',
  'citizen.welcome.step4': 'U wacht even. Daarna ziet en hoort u een medewerker.',
  'citizen.role.agent':
    'U bent ingelogd als medewerker. Ga naar de pagina voor medewerkers, of log uit en log in als inwoner.',
  'citizen.role.agentLink': 'Naar de pagina voor medewerkers',

  'service.name': '{v}',
  'citizen.service.title': 'Waarover wilt u praten?',
  'citizen.service.lead': 'Kies het onderwerp. Zo komt u bij de juiste medewerker.',
  'citizen.service.none':
    'Met uw manier van inloggen kunt u nu geen gesprek starten. Log uit en log in met een hoger niveau.',
  'citizen.service.minLoa': 'Hiervoor moet u inloggen met niveau {loa} of hoger.',
  'citizen.appointment.summary': 'Ik heb een afspraakcode',
  'citizen.appointment.label': 'Afspraakcode (staat in uw bevestiging)',

  'citizen.camera.title': 'Camera en microfoon testen',
  'citizen.camera.lead':
    'De medewerker wil u graag zien en horen. Uw browser vraagt zo of de Balie uw camera en microfoon mag gebruiken. Kies dan "Toestaan".',
  'citizen.camera.chosen': 'Uw onderwerp: {service}',
  'citizen.camera.empty': 'Hier ziet u straks uzelf.',
  'citizen.camera.meter': 'Geluid van uw microfoon',
  'citizen.camera.start': 'Camera en microfoon aanzetten',
  'citizen.camera.starting': 'Even wachten op toestemming…',
  'citizen.camera.audioOnly': 'Doorgaan met alleen geluid',
  'citizen.camera.join': 'Het werkt: naar de wachtrij',
  'citizen.camera.back': 'Ander onderwerp kiezen',
  'citizen.camera.audioOnlyOn': 'U gaat verder zonder camera. De medewerker kan u wel horen.',

  'mic.waiting': 'Zeg iets. Beweegt de balk? Dan hoort de microfoon u.',
  'mic.ok': 'Wij horen u. Uw microfoon werkt.',
  'mic.none': 'We horen nog niets. Staat uw microfoon aan? Zit het geluid niet op stil?',

  'media.blocked.title': 'De camera of microfoon is geblokkeerd',
  'media.blocked.body': 'Uw browser geeft de Balie geen toegang. Zo zet u het aan:',
  'media.blocked.step1': 'Klik op het slotje of het camera-icoon links naast het webadres bovenin.',
  'media.blocked.step2': 'Zet Camera en Microfoon op "Toestaan".',
  'media.blocked.step3': 'Klik daarna hieronder op "Camera en microfoon aanzetten".',
  'media.blocked.step4': 'Op een telefoon: kijk bij Instellingen, dan uw browser, dan Camera en Microfoon.',
  'media.notfound.title': 'We vinden geen camera',
  'media.notfound.body':
    'Er lijkt geen camera aangesloten te zijn. U kunt verder met alleen geluid: de medewerker hoort u dan wel, maar ziet u niet.',
  'media.nomic.title': 'We vinden geen microfoon',
  'media.nomic.body':
    'Zonder microfoon kan de medewerker u niet horen. Sluit een microfoon of een koptelefoon met microfoon aan en probeer het opnieuw.',
  'media.inuse.title': 'Uw camera of microfoon is al in gebruik',
  'media.inuse.body':
    'Een ander programma gebruikt uw camera of microfoon, bijvoorbeeld Teams, Zoom of een ander tabblad. Sluit dat programma en probeer het opnieuw.',
  'media.insecure.title': 'Deze pagina mag uw camera niet gebruiken',
  'media.insecure.body': 'Open de Digitale Balie via een webadres dat begint met https://.',
  'media.unsupported.title': 'Uw browser kan niet videobellen',
  'media.unsupported.body': 'Gebruik een nieuwe versie van Chrome, Edge, Firefox of Safari.',
  'media.other.title': 'De camera of microfoon starten lukt niet',
  'media.other.body': 'Probeer het opnieuw. Lukt het dan nog niet? Sluit uw browser en open hem opnieuw.',

  'citizen.waiting.title': 'U staat in de wachtrij',
  'citizen.waiting.joining': 'U wordt aangemeld…',
  'citizen.waiting.keepOpen': 'Houd deze pagina open. U hoort een geluid als de medewerker er is.',
  'citizen.waiting.leave': 'Stoppen met wachten',
  'citizen.waiting.next': 'U bent de volgende.',
  'citizen.waiting.position': 'U bent nummer {n} in de rij.',
  'citizen.waiting.rejoined': 'De verbinding was even weg. U bent opnieuw aangemeld.',
  'citizen.waiting.docTitle': '({n}) Digitale Balie',
  'wait.unknown': 'We weten nog niet hoe lang het duurt.',
  'wait.soon': 'U bent waarschijnlijk binnen een minuut aan de beurt.',
  'wait.oneMinute': 'Verwachte wachttijd: ongeveer 1 minuut.',
  'wait.minutes': 'Verwachte wachttijd: ongeveer {m} minuten.',
  'wait.hour': 'Verwachte wachttijd: meer dan een uur.',

  'join.error.generic': 'Aanmelden voor de wachtrij is niet gelukt.',
  'join.error.loa': 'Voor dit onderwerp moet u inloggen met een hoger niveau.',
  'join.error.closed': 'De Digitale Balie is nu gesloten. Probeer het later opnieuw.',
  'join.error.busy':
    'De Balie neemt nu even geen nieuwe gesprekken aan. Probeer het over een paar minuten opnieuw.',
  'join.error.service': 'Dit onderwerp bestaat niet meer. Kies een ander onderwerp.',
  'join.error.auth': 'U bent niet meer ingelogd. Log opnieuw in.',
  'join.error.appointment': 'Deze afspraakcode kennen we niet. Kijk of u hem goed heeft overgetypt.',
  'join.error.context':
    'De verwijzing waarmee u hier kwam is niet (meer) geldig. U kunt zich wel aanmelden zonder verwijzing: kies Opnieuw proberen.',

  'conn.lost': 'Verbinding verbroken, we proberen opnieuw…',
  'conn.retryIn': 'Verbinding verbroken, we proberen opnieuw over {s} seconden…',
  'conn.connecting': 'Verbinding maken met de Balie…',
  'conn.restored': 'De verbinding is hersteld.',

  'call.state.connecting': 'Verbinding maken…',
  'call.state.flowing': 'U bent verbonden.',
  'call.state.held': 'U staat even in de wacht. Blijf aan de lijn.',
  'call.state.held.agent': 'Het gesprek staat in de wacht. De inwoner ziet een wachtscherm.',
  'call.state.failed': 'Beeld en geluid komen niet door. Even geduld…',
  'call.state.unstable': 'Beeld en geluid haperen. Even geduld…',
  'call.state.lost': 'De verbinding is verbroken.',
  'call.state.waitingMedia': 'De medewerker is er. Beeld en geluid worden klaargezet…',
  'call.state.waitingMedia.agent': 'Gesprek aangenomen. Beeld en geluid worden klaargezet…',
  'call.playAudio': 'Geluid aanzetten',
  'call.mute': 'Microfoon uit',
  'call.cameraOff': 'Camera uit',
  'call.hangup': 'Ophangen',
  'call.noCamera': 'U belt zonder camera.',
  'self.muted': 'Uw microfoon staat uit: de ander hoort u niet.',
  'self.cameraOff': 'Uw camera staat uit: de ander ziet u niet.',
  'citizen.call.title': 'Gesprek met de medewerker',

  'chat.title': 'Berichten',
  'chat.label': 'Typ een bericht',
  'chat.send': 'Versturen',
  'chat.me': 'U',
  'chat.peer': 'Medewerker',
  'chat.peer.agent': 'Inwoner',
  'chat.failed': 'Dit bericht is niet verstuurd.',

  'citizen.ended.title': 'Het gesprek is afgelopen',
  'citizen.ended.titleQueue': 'U staat niet meer in de wachtrij',
  'citizen.ended.thanks': 'Bedankt voor uw bezoek aan de Digitale Balie.',
  'citizen.ended.restart': 'Opnieuw beginnen',
  'ended.self': 'U heeft opgehangen.',
  'ended.peer': 'De medewerker heeft het gesprek beëindigd.',
  'ended.failed.agent': 'De verbinding met de inwoner viel weg. Het gesprek is gestopt.',
  'ended.peer.agent': 'De inwoner heeft opgehangen.',
  'ended.left': 'U bent gestopt met wachten.',
  'ended.left.agent': 'De inwoner is gestopt met wachten.',
  'ended.failed': 'De verbinding viel weg. Het gesprek is gestopt.',
  'ended.closed': 'De Digitale Balie is gesloten. Probeer het later opnieuw.',
  'ended.noAgent': 'Er was helaas geen medewerker beschikbaar. Probeer het later opnieuw.',
  'ended.disconnected': 'De verbinding met de Balie is verbroken. U kunt opnieuw beginnen.',
  'ended.disconnected.agent': 'De verbinding met de Balie was verbroken. Het gesprek is gestopt.',
  'ended.self.agent': 'U heeft opgehangen.',
  'ended.transferred': 'Het gesprek is doorverbonden.',
  'ended.generic': 'Het gesprek is beëindigd.',

  'agent.title': 'Balie — medewerkers',
  'agent.brand': 'Digitale Balie — medewerkers',
  'agent.unavailable.body':
    'De server van de Digitale Balie antwoordt niet. Probeer het over een paar minuten opnieuw of meld het bij de beheerder.',
  'agent.login.title': 'Inloggen als medewerker',
  'agent.login.lead': 'Log in om gesprekken uit de wachtrij aan te nemen.',
  'agent.role.citizen': 'U bent ingelogd als inwoner. Log uit en log daarna in als medewerker.',
  'agent.queue.pageTitle': 'Wachtrij en beschikbaarheid',
  'agent.presence.title': 'Beschikbaarheid',
  'agent.presence.available': 'U bent beschikbaar. U krijgt gesprekken.',
  'agent.presence.away': 'U bent afwezig. U krijgt geen gesprekken.',
  'agent.presence.toggle': 'Beschikbaar',
  'agent.presence.services': 'Diensten die ik aanneem',
  'agent.presence.servicesHint': 'Niets aangevinkt: alle diensten.',
  'agent.camera.title': 'Camera en microfoon',
  'agent.camera.empty': 'Camera staat uit.',
  'agent.camera.meter': 'Geluid van uw microfoon',
  'agent.camera.start': 'Camera aanzetten',
  'agent.queue.title': 'Wachtrij',
  'agent.queue.acceptNext': 'Volgende aannemen',
  'agent.queue.unknown': 'Nog geen gegevens over de wachtrij.',
  'agent.queue.empty': 'Er wacht niemand.',
  'agent.queue.countOne': '1 inwoner wacht.',
  'agent.queue.count': '{n} inwoners wachten.',
  'agent.queue.caption': 'Wachtende inwoners, langst wachtend bovenaan',
  'agent.queue.col.service': 'Dienst',
  'agent.queue.col.waited': 'Wachttijd',
  'agent.queue.col.loa': 'Betrouwbaarheidsniveau',
  'agent.queue.col.appointment': 'Afspraak',
  'agent.queue.col.action': 'Actie',
  'agent.queue.accept': 'Aannemen',
  'agent.queue.acceptLabel': 'Aannemen: {service} ({loa})',
  'agent.queue.noAppointment': 'Geen',
  'agent.lastCall': 'Vorig gesprek: {reason}',
  'agent.error.accept': 'Aannemen is niet gelukt: {message}',
  'agent.error.presence': 'Beschikbaarheid doorgeven is niet gelukt: {message}',
  'agent.error.hold': 'In de wacht zetten is niet gelukt: {message}',
  'agent.error.camera': 'Zet eerst uw camera of microfoon aan.',
  'agent.call.title': 'Gesprek met inwoner',
  'agent.call.hold': 'In de wacht',
  'agent.call.holdAction': 'In de wacht zetten',
  'agent.call.resumeAction': 'Gesprek hervatten',
  'agent.call.citizen': 'Inwoner',
  'agent.call.name': 'Naam',
  'agent.call.loa': 'Betrouwbaarheidsniveau',
  'agent.call.provider': 'Ingelogd met',
  'agent.call.service': 'Dienst',
  'agent.call.appointment': 'Afspraak',
  'agent.call.devWarning': 'Let op: testlogin. Deze identiteit is niet echt gecontroleerd.',
  'agent.call.unknown': 'Onbekend',

  'devlogin.title': 'Testlogin — geen echte DigiD',
  'devlogin.brand': 'Digitale Balie — testlogin',
  'devlogin.heading': 'Testlogin (geen echte DigiD)',
  'devlogin.lead':
    "Dit formulier is alleen voor testen en demonstraties. Er wordt niets gecontroleerd: u kiest zelf wie u bent en met welk niveau u inlogt. Gebruik alleen test-BSN's, nooit een echt BSN.",
  'devlogin.noState':
    'Deze testlogin is niet via de Balie gestart. Ga terug naar de startpagina en klik daar op Inloggen.',
  'devlogin.home': 'Naar de startpagina',
  'devlogin.role': 'Ik log in als',
  'devlogin.role.citizen': 'Inwoner',
  'devlogin.role.agent': 'Medewerker',
  'devlogin.subject': 'Test-BSN of testnummer',
  'devlogin.subject.hint': 'Bijvoorbeeld 999991772 (een test-BSN dat de elfproef doorstaat).',
  'devlogin.subject.valid': 'Dit nummer doorstaat de elfproef.',
  'devlogin.subject.invalid': 'Let op: dit is geen geldig BSN-nummer (de elfproef klopt niet).',
  'devlogin.loa': 'Betrouwbaarheidsniveau',
  'devlogin.name': 'Naam (mag leeg blijven)',
  'devlogin.submit': 'Inloggen (test)',
  'devlogin.cancel': 'Annuleren',
  'agentlogin.title': 'Inloggen voor medewerkers — Digitale Balie',
  'agentlogin.heading': 'Inloggen als medewerker',
  'agentlogin.lead': 'Log in met de gebruikersnaam en het wachtwoord die de beheerder u heeft gegeven.',
  'agentlogin.noState':
    'Deze inlogpagina is niet via de Balie geopend. Ga naar de pagina voor medewerkers en klik daar op Inloggen.',
  'agentlogin.console': 'Naar de pagina voor medewerkers',
  'agentlogin.username': 'Gebruikersnaam',
  'agentlogin.password': 'Wachtwoord',
  'agentlogin.submit': 'Inloggen',
  'agentlogin.cancel': 'Annuleren',
  'provider.local': 'Medewerkersaccount',
  'citizen.loa.title': 'U moet opnieuw inloggen',
  'citizen.loa.body':
    'Voor dit onderwerp moet u inloggen met betrouwbaarheidsniveau {loa} of hoger. U bent nu ingelogd met niveau {have}. Log opnieuw in met een middel dat dit niveau heeft.',
  'citizen.loa.relogin': 'Opnieuw inloggen met niveau {loa}',
};

const en = {
  'common.skip': 'Skip to content',
  'common.loading': 'Please wait, the page is loading…',
  'common.retry': 'Try again',
  'common.logout': 'Log out',
  'common.code': '(error code: {code})',
  'lang.switch': 'Nederlands',
  'emergency.pre': 'In an emergency:',
  'emergency.call': 'call 112',
  'dev.banner': 'Test environment — not the real DigiD',

  'unavailable.title': 'Balie cannot be reached',
  'unavailable.body':
    'We cannot reach the Digital Counter right now. This is not your fault. Please try again in a few minutes.',
  'unavailable.detail': 'Technical message: {detail}',

  'login.with': 'Log in with {name}',
  'login.none': 'Logging in is not possible right now. Please try again later.',
  'login.expired': 'You are no longer logged in. Please log in again.',

  'loa.basis': 'Basic',
  'loa.midden': 'Medium',
  'loa.substantieel': 'Substantial',
  'loa.hoog': 'High',
  'loa.unknown': 'Unknown',
  'provider.dev': 'Test login (not the real DigiD)',
  'provider.oidc': 'OpenID Connect',
  'provider.saml': 'SAML',

  'citizen.title': 'Digital Counter',
  'citizen.brand': 'Digital Counter',
  'citizen.footer': 'The Digital Counter is a service of your municipality.',
  'citizen.welcome.title': 'Welcome to the Digital Counter',
  'citizen.welcome.lead':
    'Here you talk to someone from the municipality by video. You need a camera and a microphone.',
  'citizen.welcome.step1': 'You log in, so we know who you are.',
  'citizen.welcome.step2': 'You choose what you want to talk about.',
  'citizen.welcome.step3': 'You test your camera and microphone.',
  'citizen.welcome.step4': 'You wait a little. Then you see and hear a staff member.',
  'citizen.role.agent':
    'You are logged in as a staff member. Go to the staff page, or log out and log in as a resident.',
  'citizen.role.agentLink': 'Go to the staff page',

  'service.name': '{v}',
  'citizen.service.title': 'What do you want to talk about?',
  'citizen.service.lead': 'Choose a subject. This way you reach the right person.',
  'citizen.service.none':
    'With the way you logged in, you cannot start a call now. Log out and log in with a higher level.',
  'citizen.service.minLoa': 'For this you need to log in with level {loa} or higher.',
  'citizen.appointment.summary': 'I have an appointment code',
  'citizen.appointment.label': 'Appointment code (in your confirmation)',

  'citizen.camera.title': 'Test your camera and microphone',
  'citizen.camera.lead':
    'The staff member would like to see and hear you. Your browser will ask if the Counter may use your camera and microphone. Choose "Allow".',
  'citizen.camera.chosen': 'Your subject: {service}',
  'citizen.camera.empty': 'You will see yourself here.',
  'citizen.camera.meter': 'Sound from your microphone',
  'citizen.camera.start': 'Turn on camera and microphone',
  'citizen.camera.starting': 'Waiting for permission…',
  'citizen.camera.audioOnly': 'Continue with sound only',
  'citizen.camera.join': 'It works: join the queue',
  'citizen.camera.back': 'Choose another subject',
  'citizen.camera.audioOnlyOn': 'You continue without a camera. The staff member can still hear you.',

  'mic.waiting': 'Say something. Does the bar move? Then the microphone hears you.',
  'mic.ok': 'We can hear you. Your microphone works.',
  'mic.none': 'We cannot hear anything yet. Is your microphone on? Is the sound muted?',

  'media.blocked.title': 'The camera or microphone is blocked',
  'media.blocked.body': 'Your browser does not give the Counter access. This is how to allow it:',
  'media.blocked.step1': 'Click the padlock or camera icon to the left of the web address at the top.',
  'media.blocked.step2': 'Set Camera and Microphone to "Allow".',
  'media.blocked.step3': 'Then click "Turn on camera and microphone" below.',
  'media.blocked.step4': 'On a phone: look in Settings, then your browser, then Camera and Microphone.',
  'media.notfound.title': 'We cannot find a camera',
  'media.notfound.body':
    'There seems to be no camera. You can continue with sound only: the staff member will hear you, but not see you.',
  'media.nomic.title': 'We cannot find a microphone',
  'media.nomic.body':
    'Without a microphone the staff member cannot hear you. Connect a microphone or a headset and try again.',
  'media.inuse.title': 'Your camera or microphone is already in use',
  'media.inuse.body':
    'Another program is using your camera or microphone, for example Teams, Zoom or another tab. Close that program and try again.',
  'media.insecure.title': 'This page may not use your camera',
  'media.insecure.body': 'Open the Digital Counter with a web address that starts with https://.',
  'media.unsupported.title': 'Your browser cannot make video calls',
  'media.unsupported.body': 'Use a recent version of Chrome, Edge, Firefox or Safari.',
  'media.other.title': 'The camera or microphone does not start',
  'media.other.body': 'Please try again. Still not working? Close your browser and open it again.',

  'citizen.waiting.title': 'You are in the queue',
  'citizen.waiting.joining': 'Signing you in…',
  'citizen.waiting.keepOpen': 'Keep this page open. You will hear a sound when the staff member is ready.',
  'citizen.waiting.leave': 'Stop waiting',
  'citizen.waiting.next': 'You are next.',
  'citizen.waiting.position': 'You are number {n} in the queue.',
  'citizen.waiting.rejoined': 'The connection was lost for a moment. You have joined the queue again.',
  'citizen.waiting.docTitle': '({n}) Digital Counter',
  'wait.unknown': 'We do not know yet how long it will take.',
  'wait.soon': 'It will probably be your turn within a minute.',
  'wait.oneMinute': 'Expected waiting time: about 1 minute.',
  'wait.minutes': 'Expected waiting time: about {m} minutes.',
  'wait.hour': 'Expected waiting time: more than an hour.',

  'join.error.generic': 'Joining the queue did not work.',
  'join.error.loa': 'For this subject you need to log in with a higher level.',
  'join.error.closed': 'The Digital Counter is closed now. Please try again later.',
  'join.error.busy': 'The Counter is not taking new calls right now. Please try again in a few minutes.',
  'join.error.service': 'This subject no longer exists. Please choose another subject.',
  'join.error.auth': 'You are no longer logged in. Please log in again.',
  'join.error.appointment': 'We do not know this appointment code. Please check that you typed it correctly.',
  'join.error.context':
    'The link that brought you here is not (or no longer) valid. You can still join without it: choose Try again.',

  'conn.lost': 'Connection lost, trying again…',
  'conn.retryIn': 'Connection lost, trying again in {s} seconds…',
  'conn.connecting': 'Connecting to the Counter…',
  'conn.restored': 'The connection is back.',

  'call.state.connecting': 'Connecting…',
  'call.state.flowing': 'You are connected.',
  'call.state.held': 'You are on hold for a moment. Please stay on the line.',
  'call.state.held.agent': 'The call is on hold. The resident sees a waiting screen.',
  'call.state.failed': 'Sound and picture are not coming through. Please wait…',
  'call.state.unstable': 'Sound and picture are unstable. Please wait…',
  'call.state.lost': 'The connection was lost.',
  'call.state.waitingMedia': 'The staff member is here. Setting up sound and picture…',
  'call.state.waitingMedia.agent': 'Call accepted. Setting up sound and picture…',
  'call.playAudio': 'Turn on sound',
  'call.mute': 'Microphone off',
  'call.cameraOff': 'Camera off',
  'call.hangup': 'Hang up',
  'call.noCamera': 'You are calling without a camera.',
  'self.muted': 'Your microphone is off: the other person cannot hear you.',
  'self.cameraOff': 'Your camera is off: the other person cannot see you.',
  'citizen.call.title': 'Call with the staff member',

  'chat.title': 'Messages',
  'chat.label': 'Type a message',
  'chat.send': 'Send',
  'chat.me': 'You',
  'chat.peer': 'Staff member',
  'chat.peer.agent': 'Resident',
  'chat.failed': 'This message was not sent.',

  'citizen.ended.title': 'The call has ended',
  'citizen.ended.titleQueue': 'You are no longer in the queue',
  'citizen.ended.thanks': 'Thank you for visiting the Digital Counter.',
  'citizen.ended.restart': 'Start again',
  'ended.self': 'You hung up.',
  'ended.peer': 'The staff member ended the call.',
  'ended.failed.agent': 'The connection to the resident was lost. The call has stopped.',
  'ended.peer.agent': 'The resident hung up.',
  'ended.left': 'You stopped waiting.',
  'ended.left.agent': 'The resident stopped waiting.',
  'ended.failed': 'The connection was lost. The call has stopped.',
  'ended.closed': 'The Digital Counter is closed. Please try again later.',
  'ended.noAgent': 'Sorry, no staff member was available. Please try again later.',
  'ended.disconnected': 'The connection to the Counter was lost. You can start again.',
  'ended.disconnected.agent': 'The connection to the Counter was lost. The call has stopped.',
  'ended.self.agent': 'You hung up.',
  'ended.transferred': 'The call was transferred.',
  'ended.generic': 'The call has ended.',

  'agent.title': 'Balie — staff',
  'agent.brand': 'Digital Counter — staff',
  'agent.unavailable.body':
    'The Digital Counter server does not answer. Try again in a few minutes or tell the administrator.',
  'agent.login.title': 'Log in as staff member',
  'agent.login.lead': 'Log in to take calls from the queue.',
  'agent.role.citizen': 'You are logged in as a resident. Log out, then log in as a staff member.',
  'agent.queue.pageTitle': 'Queue and availability',
  'agent.presence.title': 'Availability',
  'agent.presence.available': 'You are available. You will get calls.',
  'agent.presence.away': 'You are away. You will not get calls.',
  'agent.presence.toggle': 'Available',
  'agent.presence.services': 'Services I take',
  'agent.presence.servicesHint': 'Nothing ticked: all services.',
  'agent.camera.title': 'Camera and microphone',
  'agent.camera.empty': 'Camera is off.',
  'agent.camera.meter': 'Sound from your microphone',
  'agent.camera.start': 'Turn on camera',
  'agent.queue.title': 'Queue',
  'agent.queue.acceptNext': 'Take next call',
  'agent.queue.unknown': 'No queue information yet.',
  'agent.queue.empty': 'Nobody is waiting.',
  'agent.queue.countOne': '1 resident is waiting.',
  'agent.queue.count': '{n} residents are waiting.',
  'agent.queue.caption': 'Waiting residents, longest waiting first',
  'agent.queue.col.service': 'Service',
  'agent.queue.col.waited': 'Waiting time',
  'agent.queue.col.loa': 'Assurance level',
  'agent.queue.col.appointment': 'Appointment',
  'agent.queue.col.action': 'Action',
  'agent.queue.accept': 'Take call',
  'agent.queue.acceptLabel': 'Take call: {service} ({loa})',
  'agent.queue.noAppointment': 'None',
  'agent.lastCall': 'Previous call: {reason}',
  'agent.error.accept': 'Taking the call did not work: {message}',
  'agent.error.presence': 'Changing your availability did not work: {message}',
  'agent.error.hold': 'Putting the call on hold did not work: {message}',
  'agent.error.camera': 'Turn on your camera or microphone first.',
  'agent.call.title': 'Call with resident',
  'agent.call.hold': 'On hold',
  'agent.call.holdAction': 'Put on hold',
  'agent.call.resumeAction': 'Resume the call',
  'agent.call.citizen': 'Resident',
  'agent.call.name': 'Name',
  'agent.call.loa': 'Assurance level',
  'agent.call.provider': 'Logged in with',
  'agent.call.service': 'Service',
  'agent.call.appointment': 'Appointment',
  'agent.call.devWarning': 'Note: test login. This identity has not really been checked.',
  'agent.call.unknown': 'Unknown',

  'devlogin.title': 'Test login — not the real DigiD',
  'devlogin.brand': 'Digital Counter — test login',
  'devlogin.heading': 'Test login (not the real DigiD)',
  'devlogin.lead':
    'This form is only for testing and demonstrations. Nothing is checked: you choose who you are and with which level you log in. Only use test citizen service numbers (BSN), never a real one.',
  'devlogin.noState':
    'This test login was not started from the Counter. Go back to the start page and click Log in there.',
  'devlogin.home': 'Go to the start page',
  'devlogin.role': 'I log in as',
  'devlogin.role.citizen': 'Resident',
  'devlogin.role.agent': 'Staff member',
  'devlogin.subject': 'Test BSN or test number',
  'devlogin.subject.hint': 'For example 999991772 (a test BSN that passes the eleven check).',
  'devlogin.subject.valid': 'This number passes the eleven check.',
  'devlogin.subject.invalid': 'Note: this is not a valid BSN (the eleven check fails).',
  'devlogin.loa': 'Assurance level',
  'devlogin.name': 'Name (may be left empty)',
  'devlogin.submit': 'Log in (test)',
  'devlogin.cancel': 'Cancel',
  'agentlogin.title': 'Staff login — Digital Counter',
  'agentlogin.heading': 'Log in as a staff member',
  'agentlogin.lead': 'Log in with the user name and password the administrator gave you.',
  'agentlogin.noState':
    'This login page was not opened through the Counter. Go to the staff page and click Log in there.',
  'agentlogin.console': 'Go to the staff page',
  'agentlogin.username': 'User name',
  'agentlogin.password': 'Password',
  'agentlogin.submit': 'Log in',
  'agentlogin.cancel': 'Cancel',
  'provider.local': 'Staff account',
  'citizen.loa.title': 'Please log in again',
  'citizen.loa.body':
    'For this subject you need to log in with assurance level {loa} or higher. You are now logged in with level {have}. Log in again with a means that has this level.',
  'citizen.loa.relogin': 'Log in again with level {loa}',
};

const dictionaries = { nl, en };
export const LANGUAGES = ['nl', 'en'];

// Adds the texts of a feature kept in its own module (queue-texts.js, …).
export function addTexts(more) {
  for (const l of LANGUAGES) Object.assign(dictionaries[l], more[l] || {});
}

function storedLanguage() {
  try {
    const v = window.localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(v) ? v : null;
  } catch {
    return null; // storage can be disabled (private mode, strict settings)
  }
}

let current = storedLanguage() || 'nl';

export function lang() {
  return current;
}

export function has(key) {
  return key in dictionaries[current] || key in nl;
}

// A value may be a plain string or number, a {nl, en} object (a service name from the server),
// or {key, vars} (another text to translate).
function resolveValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    if (typeof v.key === 'string') return t(v.key, v.vars);
    return String(v[current] ?? v.nl ?? v.en ?? Object.values(v)[0] ?? '');
  }
  return String(v);
}

export function t(key, vars) {
  const s = dictionaries[current][key] ?? nl[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? resolveValue(vars[name]) : m));
}

// Role-aware lookup: `key.role` when that exists, else `key`.
export function roleKey(key, role) {
  return role && has(`${key}.${role}`) ? `${key}.${role}` : key;
}

export function setText(el, key, vars) {
  if (!el) return;
  el.dataset.i18n = key;
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  el.textContent = t(key, vars);
}

// Text that does not come from the dictionary (server text, user input): clear the key.
export function setPlainText(el, text) {
  if (!el) return;
  delete el.dataset.i18n;
  delete el.dataset.i18nVars;
  el.textContent = text;
}

export function setAttr(el, attr, key, vars) {
  if (!el) return;
  const spec = (el.dataset.i18nAttr || '').split(';').filter((p) => p && !p.startsWith(`${attr}:`));
  spec.push(`${attr}:${key}`);
  el.dataset.i18nAttr = spec.join(';');
  if (vars) el.dataset[`i18nVars${attr.replace(/[^a-z]/gi, '')}`] = JSON.stringify(vars);
  el.setAttribute(attr, t(key, vars));
}

function parseVars(json) {
  if (!json) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n, parseVars(el.dataset.i18nVars));
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const part of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = part.split(':');
      if (!attr || !key) continue;
      const vars = parseVars(el.dataset[`i18nVars${attr.replace(/[^a-z]/gi, '')}`]);
      el.setAttribute(attr, t(key, vars));
    }
  }
  document.documentElement.lang = current;
  const titleKey = document.body && document.body.dataset.titleKey;
  if (titleKey && !document.body.dataset.titleOverride) document.title = t(titleKey);
  for (const btn of document.querySelectorAll('.lang-switch')) {
    // The button names the other language, in that language.
    btn.lang = current === 'nl' ? 'en' : 'nl';
  }
}

export function setLanguage(l) {
  if (!LANGUAGES.includes(l)) return;
  current = l;
  try {
    window.localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // Not remembered, still switched.
  }
  applyI18n();
  window.dispatchEvent(new CustomEvent('balie:language', { detail: { lang: l } }));
}

export function setupLanguageSwitch() {
  for (const btn of document.querySelectorAll('.lang-switch')) {
    btn.addEventListener('click', () => setLanguage(current === 'nl' ? 'en' : 'nl'));
  }
  applyI18n();
}
