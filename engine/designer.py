"""The process designer's use cases: drafts, validation, publication requests and approvals.

A draft holds one artefact for one scope. Saving validates it but stores no version; only an approved
publication calls ``engine.deploy.deploy``. Publishing to a force needs that force's force manager,
to common a platform admin, and never the person who asked for it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .artefacts import SourceFile, read_artefact
from .catalog import COMMON, DbLookup, force_chain
from .deploy import DeployedItem, check_resolution, deploy, lint
from .design_checks import attach_to_elements, design_problems
from .design_models import Draft, PublicationRequest
from .errors import ConflictError, DefinitionError, InvalidInputError, NotAllowedError, NotFoundError
from .models import Definition, Force, User, utcnow

KINDS = ("process", "decision", "form")
OPEN = ("draft", "pending", "rejected")


# --- who may do what -------------------------------------------------------------------------


def can_design(user: User, scope: str) -> bool:
    """Designers draft for the forces where they hold process_designer; any designer drafts common."""
    grants = [g for g in user.roles if g.role == "process_designer"]
    return bool(grants) and (scope == COMMON or any(g.force_code == scope for g in grants))


def can_approve(user: User, scope: str) -> bool:
    """A force manager of the force approves its publications; a platform admin approves common."""
    if scope == COMMON:
        return any(g.role == "platform_admin" for g in user.roles)
    return any(g.role == "force_manager" and g.force_code == scope for g in user.roles)


def _require_designer(user: User, scope: str) -> None:
    if not can_design(user, scope):
        raise NotAllowedError(f"You do not hold process_designer for {scope}.")


# --- drafts ----------------------------------------------------------------------------------


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft, or NotFoundError."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFoundError("No such draft.")
    return draft


def start_draft(session: Session, *, user: User, kind: str, key: str, scope: str,
                from_definition_id: int | None = None) -> Draft:
    """A new draft for ``scope`` copied from a version, or from what ``scope`` resolves to now.

    For a force scope without its own version this is "override for force X": the copy comes from
    the nearest parent scope and the draft remembers that version as its base."""
    if kind not in KINDS:
        raise InvalidInputError(f"Unknown kind '{kind}'.",
                                details={"kind": ["Choose process, decision or form"]})
    if scope != COMMON and session.get(Force, scope) is None:
        raise NotFoundError(f"Unknown force '{scope}'.")
    _require_designer(user, scope)
    if from_definition_id is not None:
        source = session.get(Definition, from_definition_id)
        if source is None or (source.kind, source.key) != (kind, key):
            raise NotFoundError("No such version.")
        base_id: int | None = source.id
        content, filename = source.content, source.filename
    else:
        chain = [COMMON] if scope == COMMON else force_chain(session, scope)
        found = DbLookup(session).find(kind, key, chain)
        if found is None:
            raise NotFoundError(f"No {kind} '{key}' is deployed for {scope}.")
        base_id, content, filename = found.definition_id, found.content, found.filename.rsplit("/", 1)[-1]
    draft = Draft(kind=kind, key=key, scope=scope, filename=filename, content=content, based_on_id=base_id,
                  author=user.username, status="draft", problems=[], scenarios=[])
    session.add(draft)
    session.flush()
    draft.problems = validate_draft(session, draft)
    return draft


def override_for_force(session: Session, *, user: User, kind: str, key: str, force: str) -> Draft:
    """A force draft of one artefact, copied from what ``force`` resolves now."""
    return start_draft(session, user=user, kind=kind, key=key, scope=force)


def save_draft(session: Session, draft_id: int, *, user: User, content: str,
               scenarios: list[dict[str, Any]] | None = None) -> Draft:
    """Store new content (validated, problems kept on the draft); no version is created."""
    draft = get_draft(session, draft_id)
    _require_designer(user, draft.scope)
    if draft.status == "published":
        raise ConflictError("This draft was published; start a new draft from the new version.")
    if draft.status == "pending":
        raise ConflictError("This draft is waiting for approval; it cannot change until it is decided.")
    if len(content.encode()) > 2 * 1024 * 1024:
        raise InvalidInputError("The file is larger than 2 MB.", details={"content": ["Too large"]})
    draft.content = content
    if scenarios is not None:
        draft.scenarios = scenarios
    draft.status, draft.updated_at = "draft", utcnow()
    draft.problems = validate_draft(session, draft)
    return draft


def list_drafts(session: Session, *, open_only: bool = True) -> list[Draft]:
    """Drafts, newest first (open ones only unless ``open_only`` is False)."""
    query = select(Draft).order_by(Draft.updated_at.desc(), Draft.id.desc())
    if open_only:
        query = query.where(Draft.status.in_(OPEN))
    return list(session.execute(query).scalars())


# --- validation ------------------------------------------------------------------------------


def validate_draft(session: Session, draft: Draft) -> list[dict[str, Any]]:
    """Every problem in the draft, each with file, element, line and message."""
    return validate_content(session, draft.kind, draft.key, draft.scope, draft.filename, draft.content)


def validate_content(session: Session, kind: str, key: str, scope: str, filename: str,
                     content: str) -> list[dict[str, Any]]:
    """Parse errors, conventions, sandbox, gateway defaults, reachability, then resolution for every
    force the scope reaches (forms, roles, called elements, decisions) and SpiffWorkflow's parse."""
    try:
        artefact = read_artefact(SourceFile(filename, content.encode()))
    except DefinitionError as exc:
        return list(exc.details or [{"file": filename, "element": None, "line": None,
                                     "message": exc.message}])
    if (artefact.kind, artefact.key) != (kind, key):
        return [{"file": filename, "element": artefact.key, "line": None,
                 "message": f"this draft is for {kind} '{key}' but the file defines {artefact.kind} "
                            f"'{artefact.key}'; keep the id (a force override uses the same id)"}]
    return lint(artefact) + design_problems(artefact) + \
        attach_to_elements(artefact, check_resolution(session, [artefact], scope))


# --- publication -----------------------------------------------------------------------------


def request_publication(session: Session, draft_id: int, *, user: User,
                        comment: str = "") -> PublicationRequest:
    """Ask a second person to publish the draft; refused while the draft has problems."""
    draft = get_draft(session, draft_id)
    _require_designer(user, draft.scope)
    if draft.status not in ("draft", "rejected"):
        raise ConflictError(f"This draft is {draft.status}; it cannot be sent for approval.")
    draft.problems = validate_draft(session, draft)
    if draft.problems:
        raise DefinitionError(f"The draft has {len(draft.problems)} problem(s); fix them before asking to "
                              "publish.", details=draft.problems)
    req = PublicationRequest(draft_id=draft.id, requested_by=user.username, comment=comment.strip())
    session.add(req)
    draft.status, draft.updated_at = "pending", utcnow()
    session.flush()
    audit.record(session, instance=None, actor=user.username, action="definition_publication_requested",
                 force=None if draft.scope == COMMON else draft.scope,
                 data={"request": req.id, **_what(draft), "comment": req.comment})
    return req


def get_request(session: Session, request_id: int) -> PublicationRequest:
    """The publication request, or NotFoundError."""
    req = session.get(PublicationRequest, request_id)
    if req is None:
        raise NotFoundError("No such publication request.")
    return req


def pending_requests(session: Session, user: User | None = None) -> list[PublicationRequest]:
    """Undecided requests, oldest first; only those ``user`` may decide when a user is given."""
    reqs = list(session.execute(select(PublicationRequest).where(PublicationRequest.decision.is_(None))
                                .order_by(PublicationRequest.requested_at)).scalars())
    if user is None:
        return reqs
    return [r for r in reqs if can_approve(user, get_draft(session, r.draft_id).scope)]


def _decide_checks(session: Session, request_id: int, user: User) -> tuple[PublicationRequest, Draft]:
    req = get_request(session, request_id)
    draft = get_draft(session, req.draft_id)
    if req.decision is not None:
        raise ConflictError(f"This request was already {req.decision}.")
    if req.requested_by == user.username:
        raise NotAllowedError("You asked for this publication; a second person must decide it.")
    if not can_approve(user, draft.scope):
        who = "a platform admin" if draft.scope == COMMON else f"a force manager of {draft.scope}"
        raise NotAllowedError(f"Only {who} can decide this publication.")
    return req, draft


def approve(session: Session, request_id: int, *, user: User, comment: str = "") -> DeployedItem:
    """Approve and publish: the draft becomes a new version for its scope (via engine.deploy)."""
    req, draft = _decide_checks(session, request_id, user)
    item = deploy(session, [SourceFile(draft.filename, draft.content.encode())], draft.scope,
                  deployed_by=user.username)[0]
    definition = session.execute(select(Definition).where(
        Definition.kind == item.kind, Definition.key == item.key, Definition.scope == item.scope,
        Definition.version == item.version)).scalar_one()
    now = utcnow()
    req.approver, req.decision, req.decision_comment, req.decided_at = user.username, "approved", comment, now
    req.definition_id = definition.id
    draft.status, draft.published_definition_id, draft.updated_at = "published", definition.id, now
    force = None if draft.scope == COMMON else draft.scope
    audit.record(session, instance=None, actor=user.username, action="definition_publication_approved",
                 force=force, data={"request": req.id, **_what(draft), "comment": comment,
                                    "requested_by": req.requested_by})
    audit.record(session, instance=None, actor=user.username, action="definition_published", force=force,
                 data={"request": req.id, **_what(draft), "version": item.version,
                       "definition": definition.id,
                       "hash": item.content_hash, "status": item.status})
    return item


def reject(session: Session, request_id: int, *, user: User, comment: str) -> PublicationRequest:
    """Send the draft back to its designer with a reason."""
    if not comment.strip():
        raise InvalidInputError("Say why the publication is rejected.",
                                details={"comment": ["Enter a reason"]})
    req, draft = _decide_checks(session, request_id, user)
    req.approver, req.decision, req.decision_comment = user.username, "rejected", comment
    req.decided_at = utcnow()
    draft.status, draft.updated_at = "rejected", utcnow()
    audit.record(session, instance=None, actor=user.username, action="definition_publication_rejected",
                 force=None if draft.scope == COMMON else draft.scope,
                 data={"request": req.id, **_what(draft), "comment": comment,
                       "requested_by": req.requested_by})
    return req


def _what(draft: Draft) -> dict[str, Any]:
    return {"draft": draft.id, "kind": draft.kind, "key": draft.key, "scope": draft.scope,
            "based_on": draft.based_on_id}
