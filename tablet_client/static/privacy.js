// "Who has seen my information": the client's own view of the access log (MyData).
// The server writes the sentences; this screen only lists them, newest first.

const $ = (id) => document.getElementById(id);

export async function loadAccessLog(token, t) {
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
    when.textContent = new Date(entry.at).toLocaleString();
    item.append(when, " ", entry.text);
    list.append(item);
  }
  if (entries.length === 0) {
    $("privacy-empty").textContent = t("privacy.empty");
    $("privacy-empty").hidden = false;
  }
}
