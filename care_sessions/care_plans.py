"""Care plans: the recurring check-ins agreed with a client, and what each kind of check-in is.

A plan item says "Metformin 500 mg, every day at 08:00 and 18:00 Helsinki time, +-30 minutes,
the tablet reminds, the client confirms". The scheduler (schedule.py) turns items into
concrete check-ins per day; this module only holds the rules about the items themselves.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, time

from care_sessions.errors import InvalidInput


class CheckinKind(enum.StrEnum):
    MEDICATION = "medication"
    GLUCOSE = "glucose"
    EXERCISE = "exercise"
    VISIT = "visit"


class Completer(enum.StrEnum):
    """Who closes a check-in: the client on the tablet, or a nurse during a call."""

    CLIENT = "client"
    NURSE = "nurse"


class Outcome(enum.StrEnum):
    TAKEN = "taken"
    NOT_TAKEN = "not_taken"
    REFUSED = "refused"
    MEASURED = "measured"
    NOT_MEASURED = "not_measured"
    DONE = "done"
    NOT_DONE = "not_done"


# What a glucose meter can physically show; anything outside is a typing error, not a value.
# Meters read "LO" below about 1.1 and "HI" above 33.3 mmol/L.
GLUCOSE_PLAUSIBLE_MMOL_L = (1.0, 35.0)


@dataclass(frozen=True)
class KindSpec:
    """Everything that differs between kinds of check-in, as data."""

    kind: CheckinKind
    title: str
    outcomes: tuple[Outcome, ...]
    # The outcome that counts towards adherence; also what the client's big button records.
    positive: Outcome
    client_can_confirm: bool
    needs_medication: bool = False
    measures_glucose: bool = False


KIND_SPECS: dict[CheckinKind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            CheckinKind.MEDICATION,
            "Medication",
            (Outcome.TAKEN, Outcome.NOT_TAKEN, Outcome.REFUSED),
            positive=Outcome.TAKEN,
            client_can_confirm=True,
            needs_medication=True,
        ),
        KindSpec(
            CheckinKind.GLUCOSE,
            "Blood sugar",
            (Outcome.MEASURED, Outcome.NOT_MEASURED, Outcome.REFUSED),
            positive=Outcome.MEASURED,
            client_can_confirm=True,
            measures_glucose=True,
        ),
        KindSpec(
            CheckinKind.EXERCISE,
            "Exercise",
            (Outcome.DONE, Outcome.NOT_DONE, Outcome.REFUSED),
            positive=Outcome.DONE,
            client_can_confirm=True,
        ),
        KindSpec(
            CheckinKind.VISIT,
            "Visit",
            (Outcome.DONE, Outcome.NOT_DONE, Outcome.REFUSED),
            positive=Outcome.DONE,
            client_can_confirm=False,
        ),
    )
}

POSITIVE_OUTCOMES = frozenset(spec.positive for spec in KIND_SPECS.values())
ALL_WEEKDAYS = frozenset(range(7))
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WINDOW_MIN_RANGE = (5, 240)
MAX_TIMES_PER_DAY = 8
LABEL_MAX = 60
MEDICATION_MAX = 80
DOSE_MAX = 40
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


@dataclass(frozen=True)
class PlanItem:
    """One recurring check-in of a client's care plan."""

    id: str
    client_id: str
    kind: CheckinKind
    label: str  # what the client and nurse call it: "evening medicine"
    weekdays: frozenset[int]  # 0 = Monday
    times: tuple[time, ...]  # wall-clock times in Europe/Helsinki
    window_min: int = 30
    remind: bool = True
    completed_by: Completer = Completer.CLIENT
    medication: str = ""
    dose: str = ""
    active: bool = True
    created_by: str = ""
    created_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def detail(self) -> str:
        """ "Metformin 500 mg": the text the reminder shows under its title."""
        return " ".join(part for part in (self.medication, self.dose) if part)

    @property
    def spec(self) -> KindSpec:
        return KIND_SPECS[self.kind]

    def validate(self) -> None:
        """Raise InvalidInput naming every problem, so a form can show them all at once."""
        problems = []
        if not self.label.strip() or len(self.label) > LABEL_MAX:
            problems.append(f"a name of 1-{LABEL_MAX} characters is required")
        if not self.weekdays or not self.weekdays <= ALL_WEEKDAYS:
            problems.append("choose at least one weekday")
        if not self.times or len(self.times) > MAX_TIMES_PER_DAY:
            problems.append(f"give 1-{MAX_TIMES_PER_DAY} times of day")
        elif len(set(self.times)) != len(self.times):
            problems.append("the same time is given twice")
        low, high = WINDOW_MIN_RANGE
        if not low <= self.window_min <= high:
            problems.append(f"the window must be {low}-{high} minutes")
        if self.spec.needs_medication and not self.medication.strip():
            problems.append("a medication check-in needs the medicine's name")
        if len(self.medication) > MEDICATION_MAX or len(self.dose) > DOSE_MAX:
            problems.append("the medicine's name or dose is too long")
        if self.completed_by is Completer.CLIENT and not self.spec.client_can_confirm:
            problems.append(f"a {self.spec.title.lower()} check-in is completed by a nurse")
        if problems:
            raise InvalidInput("; ".join(problems))


@dataclass(frozen=True)
class CareProfile:
    """Per-client settings the care workflows and reports need beyond the client record."""

    client_id: str
    team: str = ""
    # Round trip a nurse would drive for a home visit; None: the configured default.
    km_per_visit: float | None = None


@dataclass(frozen=True)
class CarePlan:
    client_id: str
    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    def active_items(self) -> tuple[PlanItem, ...]:
        return tuple(item for item in self.items if item.active)


def parse_times(text: str) -> tuple[time, ...]:
    """ "8:00, 18.30" -> (08:00, 18:30), sorted; raises InvalidInput on anything else."""
    parsed = []
    for part in re.split(r"[,\s;]+", text.strip()):
        if not part:
            continue
        match = _TIME.match(part)
        if match is None:
            raise InvalidInput(f"{part[:10]!r} is not a time such as 08:00")
        parsed.append(time(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(parsed))


def format_times(times: tuple[time, ...]) -> str:
    return ",".join(t.strftime("%H:%M") for t in times)


def weekdays_mask(weekdays: frozenset[int]) -> str:
    """Seven characters, Monday first: "1111100" is Monday to Friday (the stored form)."""
    return "".join("1" if day in weekdays else "0" for day in range(7))


def weekdays_from_mask(mask: str) -> frozenset[int]:
    return frozenset(day for day, flag in enumerate(mask[:7]) if flag == "1")


def weekdays_text(weekdays: frozenset[int]) -> str:
    if weekdays == ALL_WEEKDAYS:
        return "every day"
    return ", ".join(WEEKDAY_NAMES[day] for day in sorted(weekdays))
