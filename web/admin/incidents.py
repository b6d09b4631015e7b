"""Admin pages for incidents: jobs (timers, reminders, emails) that failed every retry, with the error,
and a retry button. Force managers see their forces' incidents; platform administrators see all."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from engine import jobs, org
from engine.calendar import utcnow

from ..extensions import unit_of_work
from . import bp


def _forces() -> list[str] | None:
    """None (every force) for a platform administrator, else the forces the user administers."""
    if org.is_platform_admin(g.user):
        return None
    with unit_of_work(read_only=True) as db:
        return [f.code for f in org.administered_forces(db, g.user)]


@bp.get("/incidents")
def incidents() -> str:
    """Failed jobs awaiting a person."""
    with unit_of_work(read_only=True) as db:
        rows = jobs.list_incidents(db, forces=_forces())
    return render_template("admin/incidents.html", incidents=rows)


@bp.post("/incidents/<int:job_id>/retry")
def retry_incident(job_id: int) -> Response:
    """Put one incident back in the queue (404 for another force's incident)."""
    with unit_of_work() as db:
        jobs.retry_incident(db, job_id, actor=g.user.username, now=utcnow(), forces=_forces())
    flash(f"Job {job_id} will run again shortly.")
    return redirect(url_for("admin.incidents"))
