// "Who has seen my information": the client's own view of the access log (MyData).
// The server writes the sentences; this screen only lists them, newest first.

import { TIME_ZONE } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/** List the access log; `locale` (e.g. "fi-FI") formats the times as the page's language. */
export async function loadAccessLog(token, t, locale) {
  const list = $("privacy-list");
  list.replaceChildren();
  $("privacy-empty").hidden = true;
  let entries = [];
  try {
    const response = await fetch("/api/tablet/access-log", {
      headers: { Authorization: `Bearer ${token}` },
      credentials: "omit",
    });
    if (!response.ok) throw new Error(String(response.status));
    entries = (await response.json()).entries;
  } catch {
    $("privacy-empty").textContent = t("privacy.unavailable");
    $("privacy-empty").hidden = false;
    return;
  }
  for (const entry of entries) {
    const item = document.createElement("li");
    const when = document.createElement("time");
    when.dateTime = entry.at;
    when.textContent = new Intl.DateTimeFormat(locale, {
      timeZone: TIME_ZONE,
      dateStyle: "medium",
      timeStyle: "short",
    }).format(new Date(entry.at));
    item.append(when, " ", entry.text);
    list.append(item);
  }
  if (entries.length === 0) {
    $("privacy-empty").textContent = t("privacy.empty");
    $("privacy-empty").hidden = false;
  }
}
