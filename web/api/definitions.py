"""API views on the catalogue: processes the caller's force can start, deployed versions, and deploying."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from engine import catalog, org
from engine.artefacts import SourceFile
from engine.deploy import deploy
from engine.errors import DefinitionError, NotAllowedError, NotFoundError
from engine.models import User
from engine.routing import forces_of

from . import schemas
from .auth import authenticated
from .idempotency import run_once
from .operations import operation
from .payloads import dump, json_response, load_form

DESIGNER = "process_designer"
MAX_FILES = 50


def register(bp: Blueprint) -> None:
    """Add the catalogue endpoints to ``bp``."""
    bp.add_url_rule("/processes", view_func=list_processes, methods=["GET"])
    bp.add_url_rule("/definitions", view_func=list_definitions, methods=["GET"])
    bp.add_url_rule("/definitions", view_func=deploy_definitions, methods=["POST"])


@operation(summary="Processes the caller's force can start (after force overrides)", tag="catalogue",
           responses={200: schemas.ProcessList})
def list_processes() -> Response:
    """The startable processes of the caller's force."""
    with authenticated(read_only=True) as (session, user):
        rows = catalog.startable_processes(session, user.force_code)
    return json_response(dump(schemas.ProcessList, {"items": rows}))


@operation(summary="Deployed definition versions in scopes the caller's forces resolve through",
           tag="catalogue", responses={200: schemas.DefinitionList})
def list_definitions() -> Response:
    """Every deployed version in 'common' and in the override chains of the caller's forces."""
    with authenticated(read_only=True) as (session, user):
        scopes = {scope for force in forces_of(user) for scope in catalog.force_chain(session, force)}
        rows = [d for d in catalog.list_definitions(session) if d.scope in scopes]
        body = dump(schemas.DefinitionList, {"items": rows})
    return json_response(body)


@operation(summary="Validate and deploy BPMN, DMN and form files (process_designer)", tag="catalogue",
           body=schemas.DeployUpload, multipart=True, responses={201: schemas.Deployment},
           errors=(400, 403, 404, 413, 422), idempotent=True,
           description="Multipart 'files' (repeat the field per file) and an optional 'force' scope. An "
                       "invalid deployment stores nothing and answers 422 with every problem in details "
                       "(file, element, line, message).")
def deploy_definitions() -> Response:
    """Deploy the uploaded files into 'common' or a force's scope."""
    def act(session: Session, user: User) -> tuple[Any, int]:
        form = load_form(schemas.DeployForm)
        files = uploaded_files()
        scope = form.get("force") or catalog.COMMON
        check_can_deploy(session, user, scope)
        items = deploy(session, files, scope, deployed_by=user.username)
        return dump(schemas.Deployment, {"deployed": items}), 201

    return run_once(act)


def uploaded_files() -> list[SourceFile]:
    """The multipart ``files`` as SourceFiles; DefinitionError when there are none or too many."""
    uploads = request.files.getlist("files")
    if not uploads or len(uploads) > MAX_FILES:
        raise DefinitionError(f"Send 1 to {MAX_FILES} .bpmn, .dmn or form .json files in the 'files' field.",
                              details=[{"file": "", "element": None, "line": None,
                                        "message": f"expected 1 to {MAX_FILES} files in the 'files' field"}])
    return [SourceFile(_safe_name(u.filename), u.read()) for u in uploads]


def _safe_name(filename: str | None) -> str:
    """The upload's base name without control characters (it is stored with the definition)."""
    name = "".join(c for c in (filename or "") if c.isprintable()).replace("\\", "/").rsplit("/", 1)[-1]
    return name[:200] or "upload"


def check_can_deploy(session: Session, user: User, scope: str) -> None:
    """A force scope must be one the caller works in (404 otherwise) where they are a process designer
    (403); 'common' needs the role in a shared service (a force with no parent), as it changes every force."""
    if scope == catalog.COMMON:
        if not any(org.get_force(session, f).parent_code is None for f in org.forces_where(user, DESIGNER)):
            raise NotAllowedError("Deploying to 'common' needs the process_designer role "
                                  "in the shared service.")
        return
    if scope not in forces_of(user):
        raise NotFoundError(f"There is no force '{scope}' you can deploy to.",
                            details={"force": ["Unknown force"]})
    if not org.has_role(user, DESIGNER, scope):
        raise NotAllowedError(f"Deploying to {scope} needs the process_designer role in {scope}.")
