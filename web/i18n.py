"""One set of message catalogues (fi, sv, en) for every page, the kiosk's script included.

The .po files under web/locale/ are the only source: they are compiled in memory when the
application starts (a few milliseconds), so no compiled .mo file can drift from its .po.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from markupsafe import Markup

LANGUAGES = ("fi", "sv", "en")
# A request that names none of ours (no Accept-Language at all: scripts, API clients) reads
# English; every browser in Finland names fi or sv first.
FALLBACK_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
TIMEZONE = ZoneInfo("Europe/Helsinki")
LANGUAGE_NAMES = {"fi": "suomi", "sv": "svenska", "en": "English"}
# Locales for Intl in the browser: Finland's Swedish, and English with day-first dates.
BROWSER_LOCALES = {"fi": "fi-FI", "sv": "sv-FI", "en": "en-GB"}
_Unit = Literal["hour", "minute", "second"]


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    with po_path(language, locale_dir).open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def _compiled(catalog: Catalog) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def _script_messages(catalog: Catalog) -> dict[str, str | list[str]]:
    """Every translated message as the browser's scripts read it: id to text (or forms)."""
    messages: dict[str, str | list[str]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = [str(s) for s in message.string] if message.string else []
            if forms and all(forms):
                messages[str(message.id[0])] = forms
        elif message.string:
            messages[str(message.id)] = str(message.string)
    return messages


def parse_accept_language(header: str) -> list[str]:
    """Language tags from an Accept-Language header, most preferred first."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(header: str | None) -> str:
    """The first of our languages the browser asks for, else the fallback."""
    for tag in parse_accept_language(header or ""):
        base = tag.split("-")[0].lower()
        # Norwegian and Danish readers understand Swedish better than English.
        if base in ("nb", "nn", "no", "da"):
            base = "sv"
        if base in LANGUAGES:
            return base
    return FALLBACK_LANGUAGE


def coerce_language(value: object) -> str | None:
    text = str(value or "").strip().lower()
    return text if text in LANGUAGES else None


@dataclass(frozen=True)
class Formatter:
    """Dates, times, numbers and durations for one language, in Helsinki's time."""

    language: str

    @property
    def locale(self) -> Locale:
        # Finland's Swedish writes dates and times as Finnish does (30.11.2026 9.00).
        return Locale.parse({"en": "en_GB", "sv": "sv_FI"}.get(self.language, self.language))

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(TIMEZONE)

    def moment(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_datetime(self._local(moment), "short", tzinfo=TIMEZONE, locale=self.locale)

    def day(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_date(self._local(moment).date(), "medium", locale=self.locale)

    def iso_date(self, text: str) -> str:
        """A calendar day given as YYYY-MM-DD, written the locale's way."""
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return text
        return format_date(day, "medium", locale=self.locale)

    def clock(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_time(self._local(moment), "short", tzinfo=TIMEZONE, locale=self.locale)

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, pattern, locale=self.locale)

    def percent(self, ratio: float | None, digits: int = 1) -> str:
        """A ratio (0.5) as a percentage in the locale's style ("50,0 %" in Finnish)."""
        if ratio is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "\u00a0%"
        if self.language == "en":
            pattern = pattern.replace("\u00a0", "")
        return format_percent(ratio, pattern, locale=self.locale)

    def duration(self, seconds: float | None) -> str:
        """A call's length as "3 min 5 s" in the locale's abbreviations."""
        if seconds is None:
            return ""
        whole = max(0, round(seconds))
        hours, rest = divmod(whole, 3600)
        minutes, secs = divmod(rest, 60)
        if self.language == "en":
            # CLDR's English "2 mins 5 secs" reads oddly in a table; the units are SI's.
            if hours:
                return f"{hours} h {minutes} min"
            return f"{minutes} min {secs} s" if minutes else f"{secs} s"
        parts: list[tuple[int, _Unit]] = []
        if hours:
            parts = [(hours * 3600, "hour"), (minutes * 60, "minute")]
        elif minutes:
            parts = [(minutes * 60, "minute"), (secs, "second")]
        else:
            parts = [(secs, "second")]
        return " ".join(
            format_timedelta(
                timedelta(seconds=amount),
                granularity=unit,
                threshold=10_000,
                format="short",
                locale=self.locale,
            )
            for amount, unit in parts
        )


@dataclass(frozen=True)
class Language:
    """Everything a page needs to speak one language."""

    code: str
    translations: Translations
    script_json: bytes

    @property
    def browser_locale(self) -> str:
        return BROWSER_LOCALES[self.code]

    @property
    def format(self) -> Formatter:
        return Formatter(self.code)

    def gettext(self, message: str, **variables: Any) -> str:
        text = self.translations.ugettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, count: int, **variables: Any) -> str:
        text = self.translations.ungettext(singular, plural, count)
        return text % {"num": count, **variables}


class Catalogues:
    """The three languages, compiled once at start-up from their .po files."""

    def __init__(self, locale_dir: Path = LOCALE_DIR, languages: Iterable[str] = LANGUAGES) -> None:
        self._languages: dict[str, Language] = {}
        for code in languages:
            catalog = read_catalog(code, locale_dir)
            self._languages[code] = Language(
                code=code,
                translations=_compiled(catalog),
                script_json=json.dumps(
                    {
                        "lang": code,
                        "locale": BROWSER_LOCALES[code],
                        "messages": _script_messages(catalog),
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                ).encode(),
            )

    def __getitem__(self, code: str) -> Language:
        return self._languages.get(code) or self._languages[FALLBACK_LANGUAGE]


class LocalMoment(str):
    """A moment as Helsinki time ("2026-12-07 17:59"); a page shows it in its own language.

    Row builders that have no request at hand return one; the templates' output hook and
    gettext's placeholders write it with the page's Formatter (see install()).
    """

    at: datetime

    def __new__(cls, at: datetime) -> LocalMoment:
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        text = super().__new__(cls, at.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M"))
        text.at = at
        return text


def _localised(language: Language, value: object) -> object:
    return language.format.moment(value.at) if isinstance(value, LocalMoment) else value


@jinja2.pass_context
def _context_gettext(context: jinja2.runtime.Context, message: str, **variables: Any) -> str:
    language: Language = context["i18n"]
    text: str = language.translations.ugettext(message)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    # Like jinja2's newstyle gettext: always a format string ("%%" is a percent sign).
    return text % {name: _localised(language, value) for name, value in variables.items()}


@jinja2.pass_context
def _context_ngettext(
    context: jinja2.runtime.Context, singular: str, plural: str, count: int, **variables: Any
) -> str:
    language: Language = context["i18n"]
    text: str = language.translations.ungettext(singular, plural, count)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    variables.setdefault("num", count)
    return text % {name: _localised(language, value) for name, value in variables.items()}


@jinja2.pass_context
def _finalize(context: jinja2.runtime.Context, value: object) -> object:
    return _localised(context["i18n"], value)


def N_(message: str) -> str:
    """Marks a message id for extraction where a page translates it later."""
    return message


def install(environment: jinja2.Environment) -> None:
    """Give templates _(), gettext(), ngettext() and {% trans %} from the page's language."""
    environment.add_extension("jinja2.ext.i18n")
    install_callables: Callable[..., None] = environment.install_gettext_callables  # type: ignore[attr-defined]
    install_callables(_context_gettext, _context_ngettext, newstyle=True)
    # Ours already format their placeholders (and write LocalMoments in the page's language).
    environment.globals.update(_=_context_gettext, gettext=_context_gettext)
    environment.globals["ngettext"] = _context_ngettext
    environment.globals["N_"] = N_
    environment.finalize = _finalize
