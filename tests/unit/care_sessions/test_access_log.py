"""The access log's sentences for the client's own view, in the client's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from care_sessions.access_log import AccessAction, AccessEntry, DataKind, Purpose, plain_sentence
from care_sessions.identity import Role


def _entry(role: Role, action: AccessAction, data: DataKind, purpose: Purpose) -> AccessEntry:
    return AccessEntry(
        id="e1",
        at=datetime(2026, 11, 30, 10, tzinfo=UTC),
        actor_role=role,
        actor_id="u1",
        actor_name="Nina Nurmi",
        client_id="c1",
        action=action,
        data=data,
        purpose=purpose,
    )


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "Nurse Nina Nurmi viewed your check-in results (care)."),
        ("fi", "Hoitaja Nina Nurmi katsoi kuittaustesi tuloksia (hoito)."),
        ("sv", "Vårdaren Nina Nurmi tittade på dina kvitteringar (vård)."),
        ("xx", "Nurse Nina Nurmi viewed your check-in results (care)."),
    ],
)
def test_sentence_in_the_clients_language(language: str, sentence: str) -> None:
    entry = _entry(Role.NURSE, AccessAction.READ, DataKind.OUTCOMES, Purpose.CARE)
    assert plain_sentence(entry, language) == sentence


def test_every_kind_of_entry_has_words_in_every_language() -> None:
    for language in ("en", "fi", "sv"):
        for role in Role:
            for action in AccessAction:
                for data in DataKind:
                    for purpose in Purpose:
                        text = plain_sentence(_entry(role, action, data, purpose), language)
                        assert text.endswith(").")


def test_the_client_is_not_named_as_a_stranger() -> None:
    entry = _entry(Role.TABLET, AccessAction.EXPORT, DataKind.PROFILE, Purpose.CLIENT_REQUEST)
    assert plain_sentence(entry) == "You (on your tablet) exported your details (your request)."
