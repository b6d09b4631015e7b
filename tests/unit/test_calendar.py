"""engine.calendar: England & Wales working days with real bank holidays, force closures and the clock."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

from engine import calendar
from engine.calendar import (
    add_working_days, bank_holidays, clock, is_working_day, reset_clock, set_clock, to_date, today, utcnow,
    working_days_between,
)


@pytest.fixture(autouse=True)
def _real_clock_afterwards() -> Iterator[None]:
    yield
    reset_clock()


def test_bank_holidays_2026_include_boxing_day_substitute() -> None:
    hols = bank_holidays(2026)
    assert date(2026, 12, 25) in hols            # Friday
    assert date(2026, 12, 28) in hols            # Boxing Day (Sat 26th) moves to Monday 28th
    assert date(2026, 4, 3) in hols and date(2026, 4, 6) in hols  # Good Friday, Easter Monday
    assert date(2026, 8, 31) in hols            # late summer bank holiday (England, not Scotland)


def test_christmas_2026() -> None:
    assert is_working_day("2026-12-24")
    assert not is_working_day("2026-12-25")     # Christmas, Friday
    assert not is_working_day("2026-12-26")     # Saturday
    assert not is_working_day("2026-12-27")     # Sunday
    assert not is_working_day("2026-12-28")     # substitute Boxing Day
    assert is_working_day("2026-12-29")
    assert add_working_days("2026-12-24", 1) == "2026-12-29"
    assert add_working_days(date(2026, 12, 24), 2) == "2026-12-30"
    assert add_working_days("2026-12-29", -1) == "2026-12-24"


def test_easter_2027() -> None:
    assert not is_working_day("2027-03-26")     # Good Friday
    assert not is_working_day("2027-03-29")     # Easter Monday
    assert add_working_days("2027-03-25", 1) == "2027-03-30"
    assert working_days_between("2027-03-25", "2027-03-30") == 1


def test_christmas_2027_both_days_substituted() -> None:
    assert not is_working_day("2027-12-27") and not is_working_day("2027-12-28")
    assert add_working_days("2027-12-24", 1) == "2027-12-29"


def test_weekend_and_zero() -> None:
    assert add_working_days("2026-11-27", 1) == "2026-11-30"   # Friday -> Monday
    assert add_working_days("2026-11-28", 0) == "2026-11-28"   # n=0 returns d even on a Saturday
    assert add_working_days("2026-11-28", 1) == "2026-11-30"   # Saturday -> Monday (d not counted)
    assert add_working_days("2026-11-23", 5) == "2026-11-30"


def test_force_closures() -> None:
    closures = ["2026-11-30", date(2026, 12, 1)]
    assert not is_working_day("2026-11-30", closures)
    assert add_working_days("2026-11-27", 1, closures) == "2026-12-02"
    assert working_days_between("2026-11-27", "2026-12-02", closures) == 1
    assert working_days_between("2026-11-27", "2026-12-02") == 3


@pytest.mark.parametrize("start", ["2026-01-01", "2026-12-20", "2027-03-20", "2026-11-28"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 17, 260, -3, -40])
def test_working_days_between_inverts_add(start: str, n: int) -> None:
    closures = ["2027-01-04"]
    end = add_working_days(start, n, closures)
    if n or is_working_day(start, closures):
        assert working_days_between(start, end, closures) == n


def test_working_days_between_matches_day_by_day_count() -> None:
    a = date(2025, 12, 15)
    for span in range(0, 800, 7):
        b = a + timedelta(days=span)
        expected = sum(1 for i in range(1, span + 1) if is_working_day(a + timedelta(days=i)))
        assert working_days_between(a, b) == expected
        backwards = sum(1 for i in range(0, span) if is_working_day(a + timedelta(days=i)))
        assert working_days_between(b, a) == -backwards


def test_2026_has_253_working_days() -> None:
    # 261 weekdays in 2026, minus the 8 bank holidays on weekdays (incl. the Boxing Day substitute on 28 Dec)
    assert working_days_between("2025-12-31", "2026-12-31") == 261 - 8


def test_limits_and_bad_input() -> None:
    with pytest.raises(ValueError):
        add_working_days("2026-01-01", calendar.MAX_WORKING_DAYS + 1)
    with pytest.raises(TypeError):
        add_working_days("2026-01-01", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        to_date("24/12/2026")
    with pytest.raises(TypeError):
        to_date(20261224)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        is_working_day("3000-01-01")
    with pytest.raises(ValueError, match="years apart"):
        working_days_between("1950-01-01", "2150-01-01")
    assert to_date("2026-12-24T23:30:00+00:00") == date(2026, 12, 24)
    assert to_date(datetime(2026, 12, 24, 9, 0)) == date(2026, 12, 24)


def test_injectable_clock() -> None:
    fixed = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)   # 00:30 on 1 July in London (BST)
    previous = set_clock(lambda: fixed)
    assert callable(previous)
    assert clock() == fixed
    assert utcnow() == fixed and utcnow().tzinfo is timezone.utc
    assert today() == date(2026, 7, 1)
    set_clock(datetime(2026, 12, 1, 12, 0))                      # frozen, naive -> taken as UTC
    assert utcnow() == datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert today() == date(2026, 12, 1)
    reset_clock()
    assert abs(utcnow() - datetime.now(timezone.utc)) < timedelta(seconds=5)
    with pytest.raises(TypeError):
        set_clock("tomorrow")  # type: ignore[arg-type]
