"""What a client may take with them and what may be erased: the rules, written as data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    erasable: bool
    reason: str


# Care records must be kept (in Finland the client record retention rules apply, typically
# 12 years after death); what only serves convenience goes when the client asks.
RETENTION_RULES: tuple[RetentionRule, ...] = (
    RetentionRule("sessions", False, "care records: retained by law"),
    RetentionRule("help_requests", False, "care records: retained by law"),
    RetentionRule("checkins", False, "care records (outcomes, measurements): retained by law"),
    RetentionRule("consents", False, "proof of what the client agreed to: retained"),
    RetentionRule("access_log", False, "the law requires the access log to be kept"),
    RetentionRule("devices", True, "tablet enrolments: only needed while the tablet is used"),
    RetentionRule("pairing_codes", True, "one-time codes: no care purpose"),
    RetentionRule("recordings", True, "optional, kept only with consent"),
    RetentionRule("family_contacts", True, "optional, kept only with consent"),
)


def erasable_kinds() -> list[str]:
    return [rule.kind for rule in RETENTION_RULES if rule.erasable]


def retained_kinds() -> dict[str, str]:
    return {rule.kind: rule.reason for rule in RETENTION_RULES if not rule.erasable}
