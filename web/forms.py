"""Reading HTML forms field by field; every problem becomes a message for the person."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Mapping
from typing import TypeVar

from care_sessions.errors import InvalidInput

E = TypeVar("E", bound=enum.Enum)
_TRUE = frozenset({"on", "1", "true", "yes"})
_FALSE = frozenset({"", "off", "0", "false", "no"})


class FormError(InvalidInput):
    """One or more fields are invalid; `errors` maps field name to a readable message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class FormReader:
    """Pulls typed values out of a submitted form, collecting errors instead of raising."""

    def __init__(self, form: Mapping[str, object]) -> None:
        self._form = form
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        value = self._form.get(name, "")
        return value if isinstance(value, str) else ""

    def text(self, name: str, label: str, *, max_len: int, min_len: int = 1) -> str:
        value = self._form.get(name, "")
        if not isinstance(value, str):
            return self._fail(name, f"{label} must be text.", "")
        value = unicodedata.normalize("NFC", value.strip())
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            return self._fail(name, f"{label} contains characters that are not allowed.", "")
        if len(value) < min_len:
            return self._fail(name, f"{label} is required.", value)
        if len(value) > max_len:
            return self._fail(name, f"{label} can be at most {max_len} characters.", value)
        return value

    def choice(self, name: str, label: str, kind: type[E], default: E) -> E:
        value = self.raw(name)
        for member in kind:
            if member.value == value:
                return member
        allowed = ", ".join(str(member.value) for member in kind)
        self.errors[name] = f"{label} must be one of: {allowed}."
        return default

    def checkbox(self, name: str, label: str) -> bool:
        value = self.raw(name).strip().lower()
        if value in _TRUE:
            return True
        if value not in _FALSE:
            self.errors[name] = f"{label} must be on or off."
        return False

    def integer(self, name: str, label: str, *, low: int, high: int, default: int) -> int:
        value = self.raw(name).strip()
        if not value.isascii() or not value.isdigit() or len(value) > 6:
            self.errors[name] = f"{label} must be a whole number from {low} to {high}."
            return default
        number = int(value)
        if not low <= number <= high:
            self.errors[name] = f"{label} must be from {low} to {high}."
            return default
        return number

    def raise_if_invalid(self) -> None:
        if self.errors:
            raise FormError(self.errors)

    def _fail(self, name: str, message: str, value: str) -> str:
        self.errors[name] = message
        return value
