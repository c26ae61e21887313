"""Relative ages ("3 weeks ago") as an estimated absolute time with its precision (pure).

A post card says how long ago the post was made, relative to the moment the page was rendered, and
the text ticks over as days pass: "1 week ago" becomes "2 weeks ago" while nothing about the post
changed. Stored or hashed as text, every revisit would look like a change. `estimate_age` turns
the text and the time of the visit into the instant it points at, floored to its unit (the week's
Monday, the month's first day, ...), which is the same instant a week later for "2 weeks ago".

The text is rounded by the site, so two visits of one post can land a unit apart. `settle` keeps
an earlier estimate as long as a new one is consistent with it (their windows overlap), so an
estimate, once stored, only moves when the page tells something it cannot be reconciled with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Precision = Literal["minute", "hour", "day", "week", "month", "year"]
PRECISIONS: tuple[Precision, ...] = ("minute", "hour", "day", "week", "month", "year")

# The longest span of each unit: the tolerance of an estimate made in it.
_UNIT_SPAN: dict[Precision, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=31),
    "year": timedelta(days=366),
}
# Words and abbreviations of each unit, as relative-age libraries print them ("5 min", "3h").
_UNITS: dict[str, Precision] = {
    **dict.fromkeys(("second", "sec", "s"), "minute"),
    **dict.fromkeys(("minute", "min", "m"), "minute"),
    **dict.fromkeys(("hour", "hr", "h"), "hour"),
    **dict.fromkeys(("day", "d"), "day"),
    **dict.fromkeys(("week", "wk", "w"), "week"),
    **dict.fromkeys(("month", "mo"), "month"),
    **dict.fromkeys(("year", "yr", "y"), "year"),
}
_COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "a few": 2, "few": 2}
_UNIT_WORD = "|".join(sorted(_UNITS, key=len, reverse=True))
_AGO = re.compile(
    rf"^(?:about |over |almost |~)?(?P<count>\d{{1,4}}|an?|one|a few|few)\s*"
    rf"(?P<unit>{_UNIT_WORD})s?\.?\s+ago$"
)
_LAST = re.compile(r"^last (?P<unit>week|month|year)$")
# Texts without a number, as (count, unit).
_FIXED: dict[str, tuple[int, Precision]] = {
    "just now": (0, "minute"),
    "now": (0, "minute"),
    "moments ago": (0, "minute"),
    "a moment ago": (0, "minute"),
    "today": (0, "day"),
    "yesterday": (1, "day"),
}


@dataclass(frozen=True, slots=True)
class AgeEstimate:
    """When a relative age points at: `at` (UTC) floored to `precision`."""

    at: datetime
    precision: Precision

    def window(self) -> tuple[datetime, datetime]:
        """The instants the age text could have meant, with a unit of slack either side for the
        site's rounding (floor or nearest, unknown to us)."""
        span = _UNIT_SPAN[self.precision]
        return self.at - span, self.at + 2 * span

    def key(self) -> str:
        """The estimate as text, for content hashes: the instant at its precision."""
        return f"{self.at.isoformat()}/{self.precision}"


def estimate_age(age_text: str | None, observed_at: datetime) -> AgeEstimate | None:
    """The instant `age_text` ("3 weeks ago", "yesterday") meant when read at `observed_at`
    (timezone-aware), floored to the text's unit; None for text that is not a relative age."""
    parsed = _parse(age_text)
    if parsed is None or observed_at.tzinfo is None:
        return None
    count, unit = parsed
    try:
        at = _back(observed_at.astimezone(UTC), count, unit)
    except (OverflowError, ValueError):  # a count that reaches before year 1
        return None
    return AgeEstimate(at=_floor(at, unit), precision=unit)


def consistent(a: AgeEstimate, b: AgeEstimate) -> bool:
    """Whether two estimates can be the same moment read at different times: windows overlap."""
    a_low, a_high = a.window()
    b_low, b_high = b.window()
    return a_low < b_high and b_low < a_high


def settle(fresh: AgeEstimate | None, earlier: Iterable[AgeEstimate | None]) -> AgeEstimate | None:
    """The estimate to keep: the first earlier one the fresh one is consistent with, else the
    fresh one (also when the text no longer reads as an age: the page said nothing about it)."""
    if fresh is None:
        return None
    for held in earlier:
        if held is not None and consistent(held, fresh):
            return held
    return fresh


def _parse(text: str | None) -> tuple[int, Precision] | None:
    if not text:
        return None
    text = " ".join(text.lower().split())
    if text in _FIXED:
        return _FIXED[text]
    if match := _LAST.match(text):
        return 1, _UNITS[match["unit"]]
    match = _AGO.match(text)
    if match is None:
        return None
    count = match["count"]
    unit = match["unit"]
    number = int(count) if count.isdigit() else _COUNT_WORDS[count]
    if _UNITS[unit] == "minute" and unit in ("second", "sec", "s"):
        return 0, "minute"  # seconds: this minute
    return number, _UNITS[unit]


def _back(at: datetime, count: int, unit: Precision) -> datetime:
    """`count` units before `at`; months and years by the calendar."""
    if unit == "month":
        months = at.year * 12 + at.month - 1 - count
        return at.replace(year=months // 12, month=months % 12 + 1, day=1)
    if unit == "year":
        return at.replace(year=at.year - count, month=1, day=1)
    return at - count * _UNIT_SPAN[unit]


def _floor(at: datetime, unit: Precision) -> datetime:
    at = at.replace(second=0, microsecond=0)
    if unit == "minute":
        return at
    at = at.replace(minute=0)
    if unit == "hour":
        return at
    at = at.replace(hour=0)
    if unit == "day":
        return at
    if unit == "week":  # ISO weeks start on Monday
        return at - timedelta(days=at.weekday())
    at = at.replace(day=1)
    return at if unit == "month" else at.replace(month=1)
