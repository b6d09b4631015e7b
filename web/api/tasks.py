"""API views on work items: the caller's list, one item with its form, claim, unclaim and complete."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from engine import workitems
from engine.models import User, WorkItem

from . import schemas, shapes
from .auth import authenticated
from .idempotency import Action, run_once
from .operations import operation
from .payloads import dump, json_response, load_body, load_query

ONE = "/tasks/<int(min=1, max=2147483647):item_id>"
ID = {"item_id": "The work item id"}
ACTION_ERRORS = (403, 404, 409, 422)


def register(bp: Blueprint) -> None:
    """Add the work item endpoints to ``bp``."""
    bp.add_url_rule("/tasks", view_func=list_tasks, methods=["GET"])
    bp.add_url_rule(ONE, view_func=get_task, methods=["GET"])
    bp.add_url_rule(ONE + "/claim", view_func=claim_task, methods=["POST"])
    bp.add_url_rule(ONE + "/unclaim", view_func=unclaim_task, methods=["POST"])
    bp.add_url_rule(ONE + "/complete", view_func=complete_task, methods=["POST"])


@operation(summary="Open work items: assigned to me (mine), claimable by my roles (group), or both (all)",
           tag="tasks", query=schemas.TaskQuery, responses={200: schemas.WorkItemList}, errors=(422,))
def list_tasks() -> Response:
    """The caller's inbox, filtered and sorted as asked."""
    with authenticated(read_only=True) as (session, user):
        query = load_query(schemas.TaskQuery)
        flt = workitems.InboxFilter(scope=query["scope"], process=query.get("process"),
                                    due=query.get("due"), sort=query["sort"])
        names = shapes.usernames(session, user)
        items = [shapes.work_item(w, names) for w in workitems.inbox(session, user=user, flt=flt)]
    return json_response(dump(schemas.WorkItemList, {"items": items}))


@operation(summary="One work item, with the JSON Schema of its form", tag="tasks",
           responses={200: schemas.WorkItemDetail}, errors=(404,), path_params=ID)
def get_task(item_id: int) -> Response:
    """A work item of a force the caller can see; 404 for anything else."""
    with authenticated(read_only=True) as (session, user):
        item = workitems.get_work_item(session, user=user, item_id=item_id)
        body = {**shapes.work_item(item, shapes.usernames(session, user)),
                "form": workitems.form_for(session, item), "draft": item.draft}
    return json_response(dump(schemas.WorkItemDetail, body))


@operation(summary="Claim a group work item", tag="tasks", responses={200: schemas.WorkItem},
           errors=ACTION_ERRORS, idempotent=True, path_params=ID)
def claim_task(item_id: int) -> Response:
    """Take a work item offered to one of the caller's roles."""
    return run_once(_item_action(workitems.claim, item_id))


@operation(summary="Give a claimed work item back to its role", tag="tasks",
           responses={200: schemas.WorkItem}, errors=ACTION_ERRORS, idempotent=True, path_params=ID)
def unclaim_task(item_id: int) -> Response:
    """Return a claimed work item to the group."""
    return run_once(_item_action(workitems.unclaim, item_id))


def _item_action(use_case: Callable[..., WorkItem], item_id: int) -> Action:
    def act(session: Session, user: User) -> tuple[Any, int]:
        item = use_case(session, user=user, item_id=item_id)
        return dump(schemas.WorkItem, shapes.work_item(item, shapes.usernames(session, user))), 200

    return act


@operation(summary="Complete a work item with its form data", tag="tasks", body=schemas.CompleteRequest,
           responses={200: schemas.CompletionResult}, errors=(400, *ACTION_ERRORS), idempotent=True,
           path_params=ID,
           description="Validates data against the item's form, completes the task and runs the process to "
                       "its next wait state. 409 when the item was already completed or someone acted first; "
                       "403 for segregation of duties.")
def complete_task(item_id: int) -> Response:
    """Complete the item and return the instance's new status and its next work items."""
    def act(session: Session, user: User) -> tuple[Any, int]:
        payload = load_body(schemas.CompleteRequest)
        done = workitems.complete(session, user=user, item_id=item_id, data=payload["data"])
        names = shapes.usernames(session, user)
        body = {"instance": done.instance, "item": shapes.work_item(done.item, names),
                "next_items": [shapes.work_item(w, names) for w in done.next_items]}
        return dump(schemas.CompletionResult, body), 200

    return run_once(act)
