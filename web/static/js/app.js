// Small behaviour shared by every staff page; no inline scripts are allowed by our CSP.

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** Show server times (UTC in the HTML) in the viewer's own time zone. */
function localiseTimes(root = document) {
  for (const element of root.querySelectorAll("time[datetime]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(moment.getTime())) {
      element.title = element.textContent;
      element.textContent = timeFormat.format(moment);
    }
  }
}

/** Forms with data-confirm ask before they submit (e.g. revoking a tablet). */
function confirmForms(root = document) {
  for (const form of root.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
}

localiseTimes();
confirmForms();
