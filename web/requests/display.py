"""How the staff pages show times, money, statuses and due dates. Template filters, registered by the
inbox, requests and manager blueprints (registering twice is harmless)."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint

from engine.calendar import utcnow

LONDON = ZoneInfo("Europe/London")
SOON = dt.timedelta(days=2)  # as engine.workitems' "due soon" filter
STATUS_TAGS = {"waiting": ("In progress", "govuk-tag--blue"), "running": ("In progress", "govuk-tag--blue"),
               "completed": ("Completed", "govuk-tag--green"), "cancelled": ("Withdrawn", "govuk-tag--grey"),
               "error": ("Needs attention", "govuk-tag--red")}
PRIORITIES = {1: "High", 2: "Normal", 3: "Low"}


def when(value: dt.datetime | None) -> str:
    """'3 November 2026 at 2:05pm' in UK time."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def day(value: dt.datetime | dt.date | None) -> str:
    """'3 Nov 2026' (UK date of a time)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%b %Y}"


def pounds(pence: Any) -> str:
    """Integer pence as '£1,234.50'."""
    if isinstance(pence, bool) or not isinstance(pence, int | float):
        return ""
    return f"£{pence / 100:,.2f}"


def hours(value: float | None) -> str:
    """A duration in hours as '3.5 hours' or '2.1 days'."""
    if value is None:
        return "–"
    if value < 48:
        return f"{value:.1f} hours"
    return f"{value / 24:.1f} days"


def due_state(due_at: dt.datetime | None, now: dt.datetime) -> str | None:
    """'overdue', 'soon' (within two days) or None."""
    if due_at is None:
        return None
    if due_at < now:
        return "overdue"
    return "soon" if due_at < now + SOON else None


def status_tag(status: str) -> tuple[str, str]:
    """(text, govuk-tag class) for an instance status."""
    return STATUS_TAGS.get(status, (status.replace("_", " ").capitalize(), "govuk-tag--grey"))


def register(bp: Blueprint) -> None:
    """Make the filters available to every template."""
    for name, fn in (("when", when), ("day", day), ("pounds", pounds), ("hours", hours)):
        bp.add_app_template_filter(fn, name)
    bp.add_app_template_global(status_tag, "status_tag")
    bp.add_app_template_global(utcnow, "utc_now")
    bp.add_app_template_global(PRIORITIES, "priorities")
