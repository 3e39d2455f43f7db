// The staff and family pages' texts, from the server's message catalogues (web/locale/*.po):
// <html lang> (the language the server chose for this page) picks the catalogue.

export const LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" };
export const TIME_ZONE = "Europe/Helsinki";
export const lang = LOCALES[document.documentElement.lang] ? document.documentElement.lang : "en";
export const locale = LOCALES[lang];

let messages = {};
try {
  const response = await fetch(`/i18n/${lang}.json`, { credentials: "omit" });
  if (response.ok) {
    messages = (await response.json()).messages;
  }
} catch (error) {
  // Without the catalogue the page still works, in the message ids' English.
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The message in the page's language, with {placeholders} filled. */
export function _(id, params = {}) {
  const text = messages[id];
  return fill(typeof text === "string" && text ? text : id, params);
}

/** The plural form for n ({n} is filled in too). */
export function ngettext(singular, plural, n, params = {}) {
  const forms = messages[singular];
  const index = new Intl.PluralRules(locale).select(n) === "one" ? 0 : 1;
  const text = Array.isArray(forms) ? forms[index] : index === 0 ? singular : plural;
  return fill(text, { n, ...params });
}

/** Whether the catalogue has this id (for texts looked up from server values). */
export function has(id) {
  return typeof messages[id] === "string";
}

/** A moment in Helsinki time, in the page's locale. */
export function formatTime(value, options = { hour: "2-digit", minute: "2-digit" }) {
  return new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, ...options }).format(new Date(value));
}

export function formatDateTime(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, ...options }).format(new Date(value));
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(locale, options).format(value);
}
