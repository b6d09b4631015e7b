"""Drafts: start one (or an override for a force), edit it in bpmn-js / dmn-js / the form editor, save
(validated, no version stored), run its scenarios, see its diff and impact."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine import designer
from engine.catalog import COMMON
from engine.design_catalog import Drift, drift_of, impact
from engine.design_models import Draft
from engine.design_scenarios import run_draft_scenarios
from engine.diff import diff
from engine.errors import InvalidInputError
from engine.models import Definition

from ..extensions import unit_of_work
from . import bp
from .preview import render_preview
from .support import problem_rows, require_designer, scenarios_root
from .views_diff import diff_context


@bp.post("/drafts")
def new_draft() -> Response:
    """Start a draft of an artefact for a scope (copied from what that scope resolves now)."""
    require_designer()
    form = request.form
    with unit_of_work() as db:
        draft = designer.start_draft(db, user=g.user, kind=form.get("kind", ""), key=form.get("key", ""),
                                     scope=form.get("scope", COMMON),
                                     from_definition_id=form.get("from", type=int))
    return redirect(url_for("designer.edit_draft", draft_id=draft.id))


@bp.post("/overrides")
def new_override() -> Response:
    """Override for force X: a force draft of one artefact, copied from what X resolves now."""
    require_designer()
    form = request.form
    with unit_of_work() as db:
        draft = designer.override_for_force(db, user=g.user, kind=form.get("kind", ""),
                                            key=form.get("key", ""), force=form.get("force", ""))
    flash(f"Override draft for {draft.scope} started from what {draft.scope} uses now.")
    return redirect(url_for("designer.edit_draft", draft_id=draft.id))


@bp.get("/drafts/<int:draft_id>")
def edit_draft(draft_id: int) -> str:
    """The editor for the draft's kind, with its problems listed (and marked on the diagram)."""
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
        base = db.get(Definition, draft.based_on_id) if draft.based_on_id else None
    editable = draft.status in ("draft", "rejected") and designer.can_design(g.user, draft.scope)
    return render_template("designer/editor.html", draft=draft, base=base,
                           problems=problem_rows(draft.problems),
                           editable=editable,
                           preview=render_preview(draft.content) if draft.kind == "form" else None,
                           data=_editor_data(draft))


def _editor_data(draft: Draft) -> dict[str, Any]:
    return {"kind": draft.kind, "content": draft.content, "problems": problem_rows(draft.problems),
            "previewUrl": url_for("designer.form_preview")}


@bp.post("/drafts/<int:draft_id>")
def save_draft(draft_id: int) -> Response:
    """Save new content: validated and kept on the draft; no version is created."""
    require_designer()
    content = request.form.get("content", "")
    scenarios = _scenarios(request.form.get("scenarios"))
    with unit_of_work() as db:
        draft = designer.save_draft(db, draft_id, user=g.user, content=content, scenarios=scenarios)
        count = len(draft.problems)
    flash("Draft saved. Validation passed: no problems found." if not count
          else f"Draft saved with {count} problem(s) to fix before it can be published.")
    return redirect(url_for("designer.edit_draft", draft_id=draft_id))


def _scenarios(text: str | None) -> list[dict[str, Any]] | None:
    if text is None or not text.strip():
        return None if text is None else []
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError("Recorded scenarios must be a JSON list.",
                                details={"scenarios": ["Not valid JSON"]}) from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInputError("Recorded scenarios must be a JSON list of scenario objects.",
                                details={"scenarios": ["Expected a list of objects"]})
    return value


@bp.post("/drafts/<int:draft_id>/scenarios")
def run_scenarios(draft_id: int) -> str:
    """Run the draft's scenarios over the deployed catalogue and show pass or fail and the path."""
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
        results = run_draft_scenarios(db, draft, scenarios_root())
    passed = sum(1 for r in results if r.result.passed)
    return render_template("designer/scenarios.html", draft=draft, results=results, passed=passed)


@bp.get("/drafts/<int:draft_id>/diff")
def draft_diff(draft_id: int) -> str:
    """The draft against the version it started from; for a force draft also drift upstream."""
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
        if draft.scope != COMMON:
            context = diff_context(draft.kind, draft.content, drift_of(db, draft))
        else:
            base = db.get(Definition, draft.based_on_id) if draft.based_on_id else None
            changes = diff(draft.kind, base.content, draft.content) if base else []
            context = diff_context(draft.kind, draft.content, Drift(base, None, changes, []))
    return render_template("designer/diff.html", subject=draft, title=f"Draft {draft.id}: {draft.key} "
                           f"({draft.scope})", **context)


@bp.get("/drafts/<int:draft_id>/impact")
def draft_impact(draft_id: int) -> str:
    """Which forces get the draft when published, which override it, and running instances."""
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
        report = impact(db, draft.kind, draft.key, draft.scope)
    return render_template("designer/impact.html", report=report, draft=draft)


@bp.get("/drafts/<int:draft_id>/download")
def download_draft(draft_id: int) -> Response:
    """The draft's content as a file."""
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
    mimetype = "application/json" if draft.kind == "form" else "application/xml"
    disposition = f'attachment; filename="draft-{draft.id}-{draft.filename}"'
    return Response(draft.content, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.post("/forms/preview")
def form_preview() -> str:
    """The live preview of a form's JSON (drawn by the inbox's renderer when it is installed)."""
    payload = request.get_json(silent=True) or {}
    return render_preview(str(payload.get("content", request.form.get("content", ""))))
