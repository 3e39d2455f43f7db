// The kiosk's texts come from the server's message catalogues (web/locale/*.po), fetched as
// JSON for the client's language; the staff pages read the same catalogues.

export const LANGUAGES = ["fi", "sv", "en"];
export const LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" };
export const TIME_ZONE = "Europe/Helsinki";

const loaded = new Map();

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

/** Fetch one language's catalogue once; a failed fetch leaves the language without texts. */
export async function loadLanguage(lang) {
  if (!loaded.has(lang)) {
    try {
      const response = await fetch(`/i18n/${lang}.json`, { credentials: "omit" });
      if (!response.ok) {
        return false;
      }
      loaded.set(lang, (await response.json()).messages);
    } catch (error) {
      return false;
    }
  }
  return true;
}

/** The text for key in lang, with {placeholders} filled; falls back to English, then the key. */
export function translate(lang, key, params = {}) {
  const found = loaded.get(lang)?.[key] ?? loaded.get("en")?.[key] ?? key;
  const template = Array.isArray(found) ? found[0] : found;
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
