"""Publication: a designer asks, a second person (the force's force manager, or a platform admin for
common) approves, which publishes the draft as a new version, or rejects it with a reason."""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine import designer
from engine.catalog import COMMON
from engine.design_catalog import impact
from engine.diff import diff
from engine.export import latest_definitions
from engine.models import Definition

from ..extensions import unit_of_work
from . import bp
from .support import require_designer


@bp.post("/drafts/<int:draft_id>/request")
def request_publication(draft_id: int) -> Response:
    """Ask for the draft to be published (refused while it has problems)."""
    require_designer()
    with unit_of_work() as db:
        req = designer.request_publication(db, draft_id, user=g.user, comment=request.form.get("comment", ""))
    flash("Publication requested. A second person must approve it.")
    return redirect(url_for("designer.show_request", request_id=req.id))


@bp.get("/requests")
def requests() -> str:
    """Undecided publication requests: those the signed-in user may decide, then the others."""
    with unit_of_work(read_only=True) as db:
        pending = designer.pending_requests(db)
        rows = [(r, designer.get_draft(db, r.draft_id)) for r in pending]
    mine = [(r, d) for r, d in rows
            if designer.can_approve(g.user, d.scope) and r.requested_by != g.user.username]
    others = [(r, d) for r, d in rows if (r, d) not in mine]
    return render_template("designer/requests.html", mine=mine, others=others)


@bp.get("/requests/<int:request_id>")
def show_request(request_id: int) -> str:
    """One request: what changes against the version live in the scope now, its impact, and the decision."""
    with unit_of_work(read_only=True) as db:
        req = designer.get_request(db, request_id)
        draft = designer.get_draft(db, req.draft_id)
        live = next((d for d in latest_definitions(db)
                     if (d.kind, d.key, d.scope) == (draft.kind, draft.key, draft.scope)), None)
        base = live or (db.get(Definition, draft.based_on_id) if draft.based_on_id else None)
        changes = diff(draft.kind, base.content, draft.content) if base else []
        report = impact(db, draft.kind, draft.key, draft.scope)
    can_decide = (req.decision is None and designer.can_approve(g.user, draft.scope)
                  and req.requested_by != g.user.username)
    approver = "a platform admin" if draft.scope == COMMON else f"a force manager of {draft.scope}"
    return render_template("designer/request.html", req=req, draft=draft, base=base, changes=changes,
                           report=report, can_decide=can_decide, approver=approver)


@bp.post("/requests/<int:request_id>/approve")
def approve(request_id: int) -> Response:
    """Approve and publish."""
    with unit_of_work() as db:
        item = designer.approve(db, request_id, user=g.user, comment=request.form.get("comment", ""))
    flash(f"Published {item.kind} {item.key} as version {item.version} for {item.scope}.")
    return redirect(url_for("designer.show_request", request_id=request_id))


@bp.post("/requests/<int:request_id>/reject")
def reject(request_id: int) -> Response:
    """Reject with a reason; the draft goes back to its designer."""
    with unit_of_work() as db:
        designer.reject(db, request_id, user=g.user, comment=request.form.get("comment", ""))
    flash("Publication rejected; the designer can change the draft and ask again.")
    return redirect(url_for("designer.show_request", request_id=request_id))
