"""Working-day arithmetic (England & Wales bank holidays plus force closure days) and the injectable clock.

Owns "what time is it" for the engine; it must not read the system clock anywhere but ``_system_clock``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "LONDON", "MAX_SPAN_YEARS", "MAX_WORKING_DAYS", "add_working_days", "bank_holidays", "clock",
    "is_working_day", "reset_clock", "set_clock", "to_date", "today", "utcnow", "working_days_between",
]

LONDON = ZoneInfo("Europe/London")
MAX_WORKING_DAYS = 10_000          # |n| for add_working_days (about 40 years): bounds the loop
MAX_SPAN_YEARS = 40                # working_days_between refuses dates further apart
_MIN_YEAR, _MAX_YEAR = 1900, 2200  # outside this range we refuse rather than guess

DateLike = date | str


# --------------------------------------------------------------------------- clock


def _system_clock() -> datetime:
    return datetime.now(timezone.utc)


_clock_fn: Callable[[], datetime] = _system_clock


def set_clock(fn: Callable[[], datetime] | datetime) -> Callable[[], datetime]:
    """Replace the engine clock (tests, scenario runs); a datetime freezes it. Returns the old clock."""
    global _clock_fn
    previous = _clock_fn
    if isinstance(fn, datetime):
        frozen = fn
        _clock_fn = lambda: frozen  # noqa: E731
    elif callable(fn):
        _clock_fn = fn
    else:
        raise TypeError("set_clock() needs a callable returning a datetime, or a datetime")
    return previous


def reset_clock() -> None:
    """Go back to the real system clock."""
    global _clock_fn
    _clock_fn = _system_clock


def clock() -> datetime:
    """The current time as returned by the installed clock (may be naive if a test installed one)."""
    return _clock_fn()


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC (a naive clock value is taken to be UTC)."""
    now = clock()
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def today() -> date:
    """Today's date in England (Europe/London), from the injectable clock."""
    return utcnow().astimezone(LONDON).date()


# --------------------------------------------------------------------------- dates


def to_date(value: DateLike) -> date:
    """Accept a date, a datetime (its own calendar date) or an ISO string ('2026-12-24' or a datetime)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text).date()
        except ValueError:
            raise ValueError(f"not an ISO date: {value!r} (expected e.g. '2026-12-24')") from None
    raise TypeError(f"expected an ISO date string or a date, got {type(value).__name__}")


def _check_year(d: date) -> None:
    if not _MIN_YEAR <= d.year <= _MAX_YEAR:
        raise ValueError(f"date {d.isoformat()} is outside the supported range {_MIN_YEAR}-{_MAX_YEAR}")


@functools.lru_cache(maxsize=512)
def _bank_holidays_in(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def bank_holidays(year: int) -> frozenset[date]:
    """England & Wales bank holidays (including substitute days) for one year."""
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueError(f"year {year} is outside the supported range {_MIN_YEAR}-{_MAX_YEAR}")
    return _bank_holidays_in(year)


def _closure_set(closures: Iterable[DateLike] | None) -> frozenset[date]:
    if not closures:
        return frozenset()
    if isinstance(closures, (str, date)):
        closures = [closures]
    return frozenset(to_date(c) for c in closures)


def _is_working(d: date, closures: frozenset[date]) -> bool:
    return d.weekday() < 5 and d not in bank_holidays(d.year) and d not in closures


def is_working_day(d: DateLike, closures: Iterable[DateLike] | None = ()) -> bool:
    """True on Monday-Friday unless an England & Wales bank holiday or one of ``closures``."""
    day = to_date(d)
    _check_year(day)
    return _is_working(day, _closure_set(closures))


def add_working_days(d: DateLike, n: int, closures: Iterable[DateLike] | None = ()) -> str:
    """The ISO date ``n`` working days after ``d`` (``d`` itself is not counted); negative ``n`` goes back.

    ``n == 0`` returns ``d`` unchanged, even when ``d`` is not a working day. Like all engine date helpers it
    accepts a date or an ISO string and returns an ISO string (task data holds dates as ISO strings).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"the number of working days must be an integer, got {type(n).__name__}")
    if abs(n) > MAX_WORKING_DAYS:
        raise ValueError(f"at most {MAX_WORKING_DAYS} working days can be added, got {n}")
    day = to_date(d)
    _check_year(day)
    closed = _closure_set(closures)
    step = date.resolution if n > 0 else -date.resolution
    remaining = abs(n)
    while remaining:
        day += step
        _check_year(day)
        if _is_working(day, closed):
            remaining -= 1
    return day.isoformat()


def _weekdays_before(d: date) -> int:
    """Number of Monday-Friday days in [0001-01-01, d); 0001-01-01 was a Monday."""
    weeks, rest = divmod(d.toordinal() - 1, 7)
    return weeks * 5 + min(rest, 5)


def working_days_between(a: DateLike, b: DateLike, closures: Iterable[DateLike] | None = ()) -> int:
    """Working days after ``a`` up to and including ``b``; if ``b`` is before ``a``, minus the working days
    from ``b`` (included) up to ``a`` (excluded).

    The inverse of add_working_days: ``working_days_between(d, add_working_days(d, n)) == n`` for any ``n``
    (for ``n == 0`` only when ``d`` is a working day).
    """
    start, end = to_date(a), to_date(b)
    _check_year(start)
    _check_year(end)
    one = date.resolution
    if abs(end.year - start.year) > MAX_SPAN_YEARS:
        raise ValueError(f"dates more than {MAX_SPAN_YEARS} years apart: {start} and {end}")
    if end < start:
        return -working_days_between(end - one, start - one, closures)
    count = _weekdays_before(end + one) - _weekdays_before(start + one)
    closed = set(_closure_set(closures))
    for year in range(start.year, end.year + 1):
        closed |= bank_holidays(year)
    count -= sum(1 for c in closed if start < c <= end and c.weekday() < 5)
    return count
