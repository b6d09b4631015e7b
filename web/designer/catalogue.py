"""Catalogue pages: every artefact with versions per scope, resolution per force, running instances and
drift; one artefact's page; downloads and the diff of a deployed force override."""
from __future__ import annotations

from flask import Response, abort, g, render_template
from sqlalchemy import select

from engine import org
from engine.design_catalog import catalogue, drift_of, impact
from engine.design_models import Draft
from engine.designer import can_design, list_drafts, pending_requests
from engine.export import download
from engine.models import Definition

from ..extensions import unit_of_work
from . import bp
from .support import design_scopes
from .views_diff import diff_context


@bp.get("/")
def index() -> str:
    """The catalogue."""

    with unit_of_work(read_only=True) as db:
        entries = catalogue(db)
        forces = [f.code for f in org.list_forces(db)]
        drafts = list_drafts(db)
        waiting = pending_requests(db, g.user)
    return render_template("designer/catalogue.html", entries=entries, forces=forces, drafts=drafts,
                           waiting=waiting)


@bp.get("/<any(process, decision, form):kind>/<key>")
def artefact(kind: str, key: str) -> str:
    """One artefact: its versions per scope, which forces resolve to which, drafts and actions."""

    with unit_of_work(read_only=True) as db:
        entry = next((e for e in catalogue(db) if (e.kind, e.key) == (kind, key)), None)
        if entry is None:
            abort(404)
        forces = [f.code for f in org.list_forces(db)]
        drafts = list(db.execute(select(Draft).where(Draft.kind == kind, Draft.key == key)
                                 .order_by(Draft.id.desc())).scalars())
    scopes = design_scopes(forces)
    override_forces = [f for f in forces if can_design(g.user, f)]
    return render_template("designer/artefact.html", entry=entry, forces=forces, drafts=drafts, scopes=scopes,
                           override_forces=override_forces)


@bp.get("/versions/<int:definition_id>/download")
def download_version(definition_id: int) -> Response:
    """Download any deployed version."""
    with unit_of_work(read_only=True) as db:
        name, content = download(db, definition_id)
    mimetype = "application/json" if name.endswith(".json") else "application/xml"
    disposition = f'attachment; filename="{name}"'
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/versions/<int:definition_id>/diff")
def version_diff(definition_id: int) -> str:
    """A deployed force override against the version it was based on, and drift in common since."""
    with unit_of_work(read_only=True) as db:
        definition = db.get(Definition, definition_id)
        if definition is None:
            abort(404)
        report = drift_of(db, definition)
        context = diff_context(definition.kind, definition.content, report)
    return render_template("designer/diff.html", subject=definition, title=f"{definition.key} in "
                           f"{definition.scope} v{definition.version}", **context)


@bp.get("/<any(process, decision, form):kind>/<key>/impact/<scope>")
def artefact_impact(kind: str, key: str, scope: str) -> str:
    """What a new version in ``scope`` would mean for each force and its running instances."""
    with unit_of_work(read_only=True) as db:
        report = impact(db, kind, key, scope)
    return render_template("designer/impact.html", report=report)
