"""Tablet settings from the staff pages' forms: read with a message per bad field, and saved."""

from __future__ import annotations

import dataclasses
from datetime import time

from aiohttp import web

from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.identity import ClientSettings, Language, QuietHours, TextSize
from web import state
from web.forms import FormReader

AUTO_ANSWER_MAX_S = 60
LANGUAGE_NAMES = {Language.FI: "Suomi", Language.SV: "Svenska", Language.EN: "English"}
TEXT_SIZE_NAMES = {TextSize.LARGE: "Large", TextSize.LARGER: "Larger", TextSize.LARGEST: "Largest"}


async def save_tablet_settings(
    request: web.Request, client_id: str, settings: ClientSettings, form_name: str
) -> bool:
    """Store the settings, log the change, and send them to the tablet; True if it got them."""
    services = state.services(request)
    await services.store.update_client_settings(client_id, settings)
    await services.access_log.record(
        state.principal(request),
        client_id,
        AccessAction.CHANGE,
        DataKind.PROFILE,
        Purpose.ADMINISTRATION,
        form_name,
    )
    # Applied live: a connected tablet changes at once.
    return services.fleet is not None and await services.fleet.push_settings(client_id)


def read_answering(form: FormReader, base: ClientSettings) -> ClientSettings:
    """`base` with the language and answering fields from the form (the admin page's part)."""
    return dataclasses.replace(
        base,
        language=form.choice("language", "Language", Language, base.language),
        auto_answer=form.checkbox("auto_answer", "Auto-answer"),
        auto_answer_after_s=form.integer(
            "auto_answer_after_s",
            "Auto-answer delay",
            low=0,
            high=AUTO_ANSWER_MAX_S,
            default=base.auto_answer_after_s,
        ),
    )


def read_tablet_settings(form: FormReader) -> ClientSettings:
    """All of a client's tablet settings; problems are collected in `form.errors`."""
    defaults = read_answering(form, ClientSettings())
    return dataclasses.replace(
        defaults,
        volume=form.integer("volume", "Volume", low=0, high=100, default=defaults.volume),
        text_size=form.choice("text_size", "Text size", TextSize, defaults.text_size),
        quiet_hours=_quiet_hours(form),
        family_auto_answer=form.checkbox("family_auto_answer", "Family auto-answer"),
    )


def _quiet_hours(form: FormReader) -> QuietHours | None:
    start_text, end_text = form.raw("quiet_from").strip(), form.raw("quiet_until").strip()
    if not start_text and not end_text:
        return None
    start, end = _wall_time(start_text), _wall_time(end_text)
    if start is None or end is None:
        form.errors["quiet_hours"] = "Quiet hours need both times, as HH:MM, or neither."
        return None
    if start == end:
        form.errors["quiet_hours"] = "Quiet hours must start and end at different times."
        return None
    return QuietHours(start, end)


def _wall_time(text: str) -> time | None:
    # Browsers send "HH:MM" from <input type="time">; seconds are not a setting.
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        return None
    try:
        return time(int(text[:2]), int(text[3:]))
    except ValueError:
        return None
