"""How the tablet sees its client's settings on the wire (in welcome, and pushed on change)."""

from __future__ import annotations

from care_sessions.identity import ClientSettings
from protocol.messages import ClientSettingsOut


def client_settings_out(settings: ClientSettings) -> ClientSettingsOut:
    """The tablet's view of its client's settings (in welcome, and pushed when they change)."""
    quiet = settings.quiet_hours
    return ClientSettingsOut(
        language=settings.language.value,
        auto_answer=settings.auto_answer,
        auto_answer_after_s=settings.auto_answer_after_s,
        volume=settings.volume,
        text_size=settings.text_size.value,
        quiet_from=f"{quiet.start:%H:%M}" if quiet else None,
        quiet_until=f"{quiet.end:%H:%M}" if quiet else None,
        family_auto_answer=settings.family_auto_answer,
    )
