"""The message catalogues: complete in fi, sv and en, and current with the templates and scripts."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog

from web.i18n import LANGUAGES, Catalogues, Formatter, negotiate, read_catalog
from web.i18n_extract import extracted

ROOT = Path(__file__).resolve().parents[2]
# The kiosk and the family page address their messages by key ("idle.call_nurse"); some keys
# are built from a wire value (reason.<end reason>), so the shell and scripts name them as
# string literals rather than in a t() call.
_KEY = re.compile(
    r"""["'`]((?:enroll|idle|ring|call|reason|ended|reminder|meal|privacy|connecting|page|family)\.[A-Za-z_.]+)["'`]"""
)
_CATALOGUES = {language: read_catalog(language) for language in LANGUAGES}


def _translated(catalog: Catalog, message_id: str) -> bool:
    message = catalog.get(message_id)
    if message is None or message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    return all(strings)


_CALL = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
_ATTRIBUTE = re.compile(r'data-i18n(?:-aria)?="([^"]+)"')
# Keys kept in tables and passed around before t() (a help state, a meal's end reason).
_TABLED = re.compile(r"""["']((?:enroll|idle|meal|reason)\.[a-z_]+)["']""")


def _keyed_ids() -> set[str]:
    used = set(_ATTRIBUTE.findall((ROOT / "tablet_client/templates/tablet.html").read_text()))
    for path in sorted((ROOT / "tablet_client/static").glob("*.js")):
        text = path.read_text()
        used |= set(_CALL.findall(text)) | set(_TABLED.findall(text))
    return used


def test_every_extracted_message_is_in_all_three_catalogues() -> None:
    """`pybabel extract` finds nothing new: each message of a template or script is catalogued."""
    missing = {
        language: sorted(
            {
                str(message_id if isinstance(message_id, str) else message_id[0])
                for message_id, _ in extracted()
                if (message_id if isinstance(message_id, str) else message_id[0]) not in catalog
            }
        )
        for language, catalog in _CATALOGUES.items()
    }
    assert missing == {language: [] for language in LANGUAGES}


def test_no_english_left_in_finnish_or_swedish() -> None:
    """Every message has a Finnish and a Swedish text; none is fuzzy or empty."""
    for language in ("fi", "sv"):
        catalog = _CATALOGUES[language]
        untranslated = [
            str(message.id)
            for message in catalog
            if message.id and not _translated(catalog, message.id)
        ]
        assert untranslated == [], language


def test_keyed_kiosk_and_family_messages_have_text_in_every_language() -> None:
    """The kiosk's keys (data-i18n, t("…"), tables of keys) have a text in fi, sv and en."""
    keys = _keyed_ids() | {str(m.id) for m in _CATALOGUES["en"] if _KEY.fullmatch(f'"{m.id}"')}
    assert "idle.call_nurse" in keys
    for language, catalog in _CATALOGUES.items():
        missing = sorted(key for key in keys if not _translated(catalog, key))
        assert missing == [], language


def test_same_ids_and_placeholders_in_every_catalogue() -> None:
    """A translation keeps the message's placeholders, so formatting never fails at run time."""
    ids = {
        language: {str(m.id) for m in catalog if m.id} for language, catalog in _CATALOGUES.items()
    }
    assert ids["fi"] == ids["sv"] == ids["en"]
    python_format = re.compile(r"%\(\w+\)[sd]")
    script_format = re.compile(r"\{\w+\}")
    for language in ("fi", "sv"):
        for message in _CATALOGUES[language]:
            if not message.id:
                continue
            source = message.id if isinstance(message.id, str) else message.id[1]
            if not isinstance(message.id, str):
                # Plural forms; the singular may drop the count ("one tablet").
                continue
            if _KEY.fullmatch(f'"{source}"'):
                source = str(_CATALOGUES["en"][source].string)
            text = str(message.string)
            # Python's % formatting fails on a missing or unknown name; a script's {name} may
            # be left out where the sentence reads better without it.
            assert sorted(python_format.findall(text)) == sorted(python_format.findall(source)), (
                language,
                source,
            )
            assert set(script_format.findall(text)) <= set(script_format.findall(source)), (
                language,
                source,
            )


def test_catalogues_compile_and_plural_forms_follow_the_count() -> None:
    catalogues = Catalogues()
    fi = catalogues["fi"]
    assert fi.ngettext("%(num)d tablet", "%(num)d tablets", 1) == "1 tabletti"
    assert fi.ngettext("%(num)d tablet", "%(num)d tablets", 3) == "3 tablettia"
    assert catalogues["sv"].ngettext("%(num)d tablet", "%(num)d tablets", 2) == "2 surfplattor"
    assert catalogues["sv"].gettext("Sign out") == "Logga ut"
    assert catalogues["en"].gettext("Sign out") == "Sign out"
    assert b'"idle.call_nurse":"Soita hoitajalle"' in fi.script_json


def test_accept_language_picks_the_first_language_we_speak() -> None:
    assert negotiate("sv-FI,sv;q=0.9,en;q=0.8") == "sv"
    assert negotiate("de-DE,fi;q=0.5,en;q=0.7") == "en"
    assert negotiate("fi") == "fi"
    assert negotiate(None) == "en"


def test_dates_numbers_and_durations_in_helsinki_and_the_locale() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 7, 15, 59, tzinfo=UTC)  # 17:59 in Helsinki
    assert Formatter("fi").clock(moment) == "17.59"
    assert Formatter("sv").clock(moment) == "17.59"  # Finland's Swedish
    assert Formatter("en").duration(125) == "2 min 5 s"
    assert Formatter("sv").duration(3 * 3600 + 120) == "3 tim 2 min"
    assert Formatter("en").moment(moment) == "07/12/2026, 17:59"
    assert Formatter("fi").percent(0.5) == "50,0\u00a0%"
    assert Formatter("fi").duration(185) == "3 min 5 s"


# A user-visible text set straight from an English literal, not through _() or ngettext().
_LITERAL_TEXT = re.compile(
    r"""(?:\.textContent|\.title|\.placeholder)\s*=\s*["'`][A-Za-z]"""
    r"""|setAttribute\(\s*["']aria-label["']\s*,\s*["'`][A-Za-z]"""
)


def test_staff_scripts_translate_what_they_show() -> None:
    """Every staff and family script's text goes through the catalogue, not an English literal."""
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((ROOT / "web/static/js").glob("*.js"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _LITERAL_TEXT.search(line)
    ]
    assert offenders == []


def test_extraction_reads_scripts_and_their_template_literals() -> None:
    """Messages in staff scripts are extracted, also from inside a `template literal`."""
    found = {
        (message_id if isinstance(message_id, str) else message_id[0]): location
        for message_id, location in extracted()
    }
    assert found["Take help request from {name}"].startswith("web/static/js/dashboard.js")
    assert found["Recording"].startswith("web/static/js/dashboard-insight.js")
    assert found["{n} tablet"].startswith("web/static/js/fleet.js")
