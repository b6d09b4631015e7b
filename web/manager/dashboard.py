"""The force dashboard: open work per process and step, overdue counts and median cycle times over 30 days,
with every force's figures side by side (figures only, no case data)."""
from __future__ import annotations

from flask import g, render_template

from engine import reports

from ..auth import role_required
from ..extensions import unit_of_work
from . import bp

DASHBOARD_ROLES = ("line_manager", "second_line_manager", "head_of_department", "force_manager",
                   "chief_officer", "chief_finance_officer", "budget_holder", "ssc_ap_team_leader",
                   "platform_admin")


@bp.get("/dashboard")
@role_required(*DASHBOARD_ROLES)
def dashboard() -> str:
    """The signed-in user's force, compared with the others."""
    with unit_of_work(read_only=True) as db:
        figures = reports.dashboard(db, g.user.force_code)
    most = max([s.open for s in figures.steps] + [1])
    widest = max([f.open for f in figures.forces] + [1])
    return render_template("manager/dashboard.html", d=figures, most=most, widest=widest)
