"""Find every message the templates and scripts use, and add new ones to the catalogues.

`python -m web.i18n_extract` runs the same extraction as `pybabel extract -F
web/locale/babel.cfg` and adds any new message to fi, sv and en (untranslated, for a
translator); tests/web/test_i18n_catalogues.py fails until they are translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import write_po

from web.i18n import LANGUAGES, LOCALE_DIR, po_path, read_catalog

ROOT = LOCALE_DIR.parent.parent
# Mirrors web/locale/babel.cfg.
METHOD_MAP = [
    ("web/templates/**.html", "jinja2"),
    ("tablet_client/templates/**.html", "jinja2"),
    ("web/static/js/**.js", "javascript"),
    ("tablet_client/static/**.js", "javascript"),
    # Texts the server writes: presenters' tables, report columns (message ids in the domain,
    # marked N_() and translated by the page or the export).
    ("web/**.py", "python"),
    ("care_sessions/reports.py", "python"),
]
# Scripts build sentences in template literals too: `● ${_("Recording")}` must be found.
OPTIONS_MAP = {
    "web/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "tablet_client/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "web/static/js/**.js": {"parse_template_string": "true"},
    "tablet_client/static/**.js": {"parse_template_string": "true"},
}
# N_() marks a message that a page translates later; t() is the kiosk's translate.
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "t": None}

MessageId = str | tuple[str, ...]


def extracted() -> Iterator[tuple[MessageId, str]]:
    """(message id, "file:line") for every message used in a template or script."""
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            # ngettext's singular and plural; a None (non-literal) argument is not a message.
            forms = tuple(m for m in message if isinstance(m, str))
            if forms:
                yield (forms if len(forms) > 1 else forms[0]), f"{filename}:{lineno}"
        elif message:
            yield message, f"{filename}:{lineno}"


def add_new_messages(locale_dir: Path = LOCALE_DIR) -> dict[str, int]:
    """Add every extracted message missing from a catalogue; returns how many per language."""
    found = list(extracted())
    added: dict[str, int] = {}
    for language in LANGUAGES:
        catalog: Catalog = read_catalog(language, locale_dir)
        count = 0
        for message_id, location in found:
            key = message_id[0] if isinstance(message_id, tuple) else message_id
            if key in catalog:
                continue
            path, _, line = location.partition(":")
            catalog.add(
                message_id,
                "" if isinstance(message_id, str) else ("", ""),
                locations=[(path, int(line))],
            )
            count += 1
        if count:
            with po_path(language, locale_dir).open("wb") as po:
                write_po(po, catalog, width=100, omit_header=False, sort_output=True)
        added[language] = count
    return added


if __name__ == "__main__":
    for language, count in add_new_messages().items():
        print(f"{language}: {count} new")
