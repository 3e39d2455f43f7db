// Small behaviour shared by every staff page; no inline scripts are allowed by our CSP.
// (Times arrive written in the page's language and Helsinki time: see web/i18n.py.)

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

confirmForms();
