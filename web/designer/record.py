"""Recording a scenario: step through a draft form by form; the result is kept on the draft and runs with
its other scenarios. The recording so far travels in a hidden field and is replayed at every step."""
from __future__ import annotations

import json

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine import designer, org
from engine.catalog import COMMON
from engine.design_recorder import Position, Recording, recordable_processes, replay, to_scenario
from engine.errors import InvalidInputError, MusterError

from ..extensions import unit_of_work
from . import bp
from .preview import form_view, read_form
from .support import require_designer


@bp.get("/drafts/<int:draft_id>/record")
def record_start(draft_id: int) -> str:
    """Choose the process and force to record a scenario for."""
    require_designer()
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
        processes = recordable_processes(db, draft)
        forces = [COMMON] + [f.code for f in org.list_forces(db)] if draft.scope == COMMON else [draft.scope]
    return render_template("designer/record_start.html", draft=draft, processes=processes, forces=forces)


@bp.post("/drafts/<int:draft_id>/record")
def record_step(draft_id: int) -> str | Response:
    """Begin, fill in the next form, or save the recording as a scenario on the draft."""
    require_designer()
    form = request.form
    action = form.get("action", "begin")
    if action == "begin":
        requester = _json_object(form.get("requester", ""))
        rec = Recording(form.get("process", ""), form.get("force", COMMON), requester=requester)
    else:
        rec = Recording.from_json(form.get("recording", "{}"))
    errors: dict[str, list[str]] = {}
    message = ""
    with unit_of_work(read_only=True) as db:
        draft = designer.get_draft(db, draft_id)
        pos = replay(db, draft, rec)
        if action == "submit":
            data, errors = read_form(pos.form, form)
            trial = Recording(rec.process_key, rec.force, rec.start, list(rec.steps), rec.requester)
            if trial.start is None:
                trial.start = data
            else:
                trial.steps.append({"task": pos.task, "data": data})
            if not errors:
                try:
                    pos, rec = replay(db, draft, trial), trial
                except InvalidInputError as exc:
                    message = exc.message
                    errors = exc.details if isinstance(exc.details, dict) else {}
                except MusterError as exc:
                    message = exc.message
    if action == "save":
        return _save(draft_id, rec, pos, form.get("name", ""))
    return render_template("designer/record.html", draft=draft, rec=rec, pos=pos, errors=errors,
                           message=message, form=form_view(pos.form), recording=rec.as_json(),
                           schema_json=json.dumps(pos.form, indent=2) if pos.form else "")


def _save(draft_id: int, rec: Recording, pos: Position, name: str) -> Response:
    with unit_of_work() as db:
        draft = designer.get_draft(db, draft_id)
        scenarios = list(draft.scenarios or []) + [to_scenario(rec, pos, name.strip())]
        designer.save_draft(db, draft_id, user=g.user, content=draft.content, scenarios=scenarios)
    flash(f"Scenario recorded on the draft ({len(scenarios)} recorded so far); it runs with the others.")
    return redirect(url_for("designer.edit_draft", draft_id=draft_id))


def _json_object(text: str) -> dict[str, object]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError("The requester's HR record must be a JSON object.",
                                details={"requester": ["Not valid JSON"]}) from exc
    if not isinstance(value, dict):
        raise InvalidInputError("The requester's HR record must be a JSON object.",
                                details={"requester": ["Expected an object"]})
    return value
