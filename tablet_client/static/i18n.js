// The kiosk's texts in Finnish, Swedish and English; the client's settings pick one.

export const LANGUAGES = ["fi", "sv", "en"];
export const LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" };

const TEXTS = {
  fi: {
    "page.title": "Hoiva",
    "connecting.title": "Yhdistetään…",
    "connecting.help": "Odota hetki. Yhteys palaa itsestään.",
    "connecting.replaced": "Hoiva on avattu tällä tabletilla toisessa ikkunassa.",
    "connecting.retry": "Yritä uudelleen",
    "enroll.title": "Ota tabletti käyttöön",
    "enroll.help": "Kirjoita koodi, jonka sait hoitajalta.",
    "enroll.code_label": "Käyttöönottokoodi",
    "enroll.label_label": "Tabletin nimi (vapaaehtoinen)",
    "enroll.submit": "Ota käyttöön",
    "enroll.busy": "Hetki…",
    "enroll.empty": "Kirjoita koodi ensin.",
    "enroll.failed": "Koodi on väärä tai vanhentunut. Pyydä uusi koodi.",
    "enroll.rate_limited": "Liian monta yritystä. Odota hetki ja yritä uudelleen.",
    "enroll.network": "Palvelimeen ei saada yhteyttä. Yritä uudelleen.",
    "enroll.revoked": "Tabletti pitää ottaa uudelleen käyttöön.",
    "idle.greeting": "Hei, {name}!",
    "idle.greeting_anon": "Hei!",
    "idle.call_nurse": "Soita hoitajalle",
    "idle.help_sending": "Lähetetään…",
    "idle.help_sent": "Hoitaja soittaa sinulle pian.",
    "idle.help_failed": "Pyyntö ei mennyt perille. Yritä uudelleen.",
    "idle.help_cancel": "Peru pyyntö",
    "ring.title": "Saapuva puhelu",
    "ring.caller": "{name} soittaa",
    "ring.answer": "Vastaa",
    "ring.decline": "Hylkää",
    "ring.auto": "Vastataan automaattisesti {s} sekunnin kuluttua",
    "call.connecting": "Yhdistetään puhelua…",
    "call.connected": "Puhelu on auki",
    "call.reconnecting": "Yhteys katkesi hetkeksi…",
    "call.end": "Lopeta puhelu",
    "call.tap_sound": "Napauta, niin kuulet äänen",
    "call.no_camera": "Kameraa tai mikrofonia ei saatu käyttöön.",
    "call.remote_video": "Hoitajan kuva",
    "call.self_video": "Oma kuvasi",
    "ended.missed": "Vastaamaton puhelu: {name}",
    "reason.completed": "Puhelu päättyi.",
    "reason.declined": "Puhelu hylättiin.",
    "reason.unanswered": "Puheluun ei vastattu.",
    "reason.cancelled": "Soittaja lopetti puhelun.",
    "reason.busy": "Linja oli varattu.",
    "reason.offline": "Tabletti ei ollut yhteydessä.",
    "reason.dropped": "Yhteys katkesi.",
    "reason.media_failed": "Kuvayhteys ei toiminut.",
    "reason.interrupted": "Palvelu keskeytyi.",
    "reason.revoked": "Tabletin käyttö lopetettiin.",
    "reason.other": "Puhelu päättyi.",
    "reminder.kicker": "Muistutus",
    "reminder.medication": "Lääkkeen aika ({label})",
    "reminder.glucose": "Mittaa verensokeri ({label})",
    "reminder.exercise": "Jumpan aika ({label})",
    "reminder.visit": "{label}",
    "reminder.time": "Klo {time}",
    "reminder.confirm.taken": "Olen ottanut sen",
    "reminder.confirm.done": "Tein sen",
    "reminder.confirm.measured": "Tallenna",
    "reminder.glucose_label": "Verensokeri (mmol/l)",
    "reminder.glucose_invalid": "Tarkista luku: 1–35 mmol/l.",
    "reminder.thanks": "Kiitos! Merkitty tehdyksi.",
    "reminder.failed": "Merkintä ei onnistunut. Yritä uudelleen.",
    "reminder.later": "Ei nyt",
    "reminder.waiting": "Sinulla on muistutus",
  },
  sv: {
    "page.title": "Hoiva",
    "connecting.title": "Ansluter…",
    "connecting.help": "Vänta en stund. Anslutningen kommer tillbaka av sig själv.",
    "connecting.replaced": "Hoiva har öppnats i ett annat fönster på den här surfplattan.",
    "connecting.retry": "Försök igen",
    "enroll.title": "Ta surfplattan i bruk",
    "enroll.help": "Skriv koden som du fick av vårdaren.",
    "enroll.code_label": "Ibruktagningskod",
    "enroll.label_label": "Surfplattans namn (frivilligt)",
    "enroll.submit": "Ta i bruk",
    "enroll.busy": "Ett ögonblick…",
    "enroll.empty": "Skriv koden först.",
    "enroll.failed": "Koden är fel eller har gått ut. Be om en ny kod.",
    "enroll.rate_limited": "För många försök. Vänta en stund och försök igen.",
    "enroll.network": "Servern kan inte nås. Försök igen.",
    "enroll.revoked": "Surfplattan måste tas i bruk på nytt.",
    "idle.greeting": "Hej, {name}!",
    "idle.greeting_anon": "Hej!",
    "idle.call_nurse": "Ring vårdaren",
    "idle.help_sending": "Skickar…",
    "idle.help_sent": "En vårdare ringer dig snart.",
    "idle.help_failed": "Begäran gick inte fram. Försök igen.",
    "idle.help_cancel": "Återkalla",
    "ring.title": "Inkommande samtal",
    "ring.caller": "{name} ringer",
    "ring.answer": "Svara",
    "ring.decline": "Avvisa",
    "ring.auto": "Svarar automatiskt om {s} sekunder",
    "call.connecting": "Kopplar samtalet…",
    "call.connected": "Samtalet är kopplat",
    "call.reconnecting": "Anslutningen bröts en stund…",
    "call.end": "Avsluta samtalet",
    "call.tap_sound": "Tryck för att höra ljudet",
    "call.no_camera": "Kameran eller mikrofonen kunde inte användas.",
    "call.remote_video": "Vårdarens bild",
    "call.self_video": "Din egen bild",
    "ended.missed": "Missat samtal: {name}",
    "reason.completed": "Samtalet avslutades.",
    "reason.declined": "Samtalet avvisades.",
    "reason.unanswered": "Samtalet besvarades inte.",
    "reason.cancelled": "Den som ringde lade på.",
    "reason.busy": "Linjen var upptagen.",
    "reason.offline": "Surfplattan var inte ansluten.",
    "reason.dropped": "Anslutningen bröts.",
    "reason.media_failed": "Videon fungerade inte.",
    "reason.interrupted": "Tjänsten avbröts.",
    "reason.revoked": "Surfplattan togs ur bruk.",
    "reason.other": "Samtalet avslutades.",
    "reminder.kicker": "Påminnelse",
    "reminder.medication": "Dags för medicinen ({label})",
    "reminder.glucose": "Mät blodsockret ({label})",
    "reminder.exercise": "Dags för motion ({label})",
    "reminder.visit": "{label}",
    "reminder.time": "Kl. {time}",
    "reminder.confirm.taken": "Jag har tagit den",
    "reminder.confirm.done": "Jag har gjort det",
    "reminder.confirm.measured": "Spara",
    "reminder.glucose_label": "Blodsocker (mmol/l)",
    "reminder.glucose_invalid": "Kontrollera talet: 1–35 mmol/l.",
    "reminder.thanks": "Tack! Markerat som gjort.",
    "reminder.failed": "Det gick inte att markera. Försök igen.",
    "reminder.later": "Inte nu",
    "reminder.waiting": "Du har en påminnelse",
  },
  en: {
    "page.title": "Hoiva",
    "connecting.title": "Connecting…",
    "connecting.help": "Please wait. The connection comes back by itself.",
    "connecting.replaced": "Hoiva was opened in another window for this tablet.",
    "connecting.retry": "Try again",
    "enroll.title": "Set up this tablet",
    "enroll.help": "Type the code you got from the care team.",
    "enroll.code_label": "Pairing code",
    "enroll.label_label": "Tablet name (optional)",
    "enroll.submit": "Set up",
    "enroll.busy": "One moment…",
    "enroll.empty": "Type the code first.",
    "enroll.failed": "The code is wrong or has expired. Ask for a new code.",
    "enroll.rate_limited": "Too many tries. Wait a moment and try again.",
    "enroll.network": "Cannot reach the server. Try again.",
    "enroll.revoked": "This tablet needs to be set up again.",
    "idle.greeting": "Hello, {name}!",
    "idle.greeting_anon": "Hello!",
    "idle.call_nurse": "Call nurse",
    "idle.help_sending": "Sending…",
    "idle.help_sent": "A nurse will call you soon.",
    "idle.help_failed": "The request did not go through. Try again.",
    "idle.help_cancel": "Cancel request",
    "ring.title": "Incoming call",
    "ring.caller": "{name} is calling",
    "ring.answer": "Answer",
    "ring.decline": "Decline",
    "ring.auto": "Answering automatically in {s} seconds",
    "call.connecting": "Connecting the call…",
    "call.connected": "You are connected",
    "call.reconnecting": "Connection interrupted…",
    "call.end": "End call",
    "call.tap_sound": "Tap to hear the sound",
    "call.no_camera": "The camera or microphone could not be used.",
    "call.remote_video": "The nurse's picture",
    "call.self_video": "Your own picture",
    "ended.missed": "Missed call from {name}",
    "reason.completed": "The call has ended.",
    "reason.declined": "The call was declined.",
    "reason.unanswered": "The call was not answered.",
    "reason.cancelled": "The caller hung up.",
    "reason.busy": "The line was busy.",
    "reason.offline": "The tablet was not connected.",
    "reason.dropped": "The connection was lost.",
    "reason.media_failed": "The video did not work.",
    "reason.interrupted": "The service was interrupted.",
    "reason.revoked": "This tablet was taken out of use.",
    "reason.other": "The call has ended.",
    "reminder.kicker": "Reminder",
    "reminder.medication": "Time for your {label}",
    "reminder.glucose": "Time to measure your blood sugar ({label})",
    "reminder.exercise": "Time for your {label}",
    "reminder.visit": "{label}",
    "reminder.time": "At {time}",
    "reminder.confirm.taken": "I have taken it",
    "reminder.confirm.done": "I did it",
    "reminder.confirm.measured": "Save",
    "reminder.glucose_label": "Blood sugar (mmol/L)",
    "reminder.glucose_invalid": "Check the number: 1–35 mmol/L.",
    "reminder.thanks": "Thank you! Marked as done.",
    "reminder.failed": "That did not go through. Try again.",
    "reminder.later": "Not now",
    "reminder.waiting": "You have a reminder",
  },
};

/** Pick a supported language: the given one, else the browser's, else Finnish. */
export function pickLanguage(wanted, browserLanguages = navigator.languages || []) {
  if (LANGUAGES.includes(wanted)) {
    return wanted;
  }
  for (const tag of browserLanguages) {
    const base = String(tag).slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(base)) {
      return base;
    }
  }
  return "fi";
}

/** The text for key in lang, with {placeholders} filled; falls back to English, then the key. */
export function translate(lang, key, params = {}) {
  const template = TEXTS[lang]?.[key] ?? TEXTS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fill every [data-i18n] element's text and [data-i18n-aria] element's aria-label. */
export function applyTranslations(root, lang) {
  root.documentElement.lang = lang;
  root.title = translate(lang, "page.title");
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = translate(lang, element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-aria]")) {
    element.setAttribute("aria-label", translate(lang, element.dataset.i18nAria));
  }
}

export function allKeysTranslated() {
  const reference = Object.keys(TEXTS.en).sort().join("\n");
  return LANGUAGES.every((lang) => Object.keys(TEXTS[lang]).sort().join("\n") === reference);
}
