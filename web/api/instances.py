"""API views on process instances: start, list mine, read one, read its history."""
from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from engine import audit, instances
from engine.models import User

from . import schemas, shapes
from .auth import authenticated
from .idempotency import run_once
from .operations import operation
from .payloads import dump, json_response, load_body, load_query

ONE = "/instances/<int(min=1, max=2147483647):instance_id>"
ID = {"instance_id": "The instance id"}


def register(bp: Blueprint) -> None:
    """Add the instance endpoints to ``bp``."""
    bp.add_url_rule("/instances", view_func=start_instance, methods=["POST"])
    bp.add_url_rule("/instances", view_func=list_instances, methods=["GET"])
    bp.add_url_rule(ONE, view_func=get_instance, methods=["GET"])
    bp.add_url_rule(ONE + "/history", view_func=get_history, methods=["GET"])


@operation(summary="Start an instance of a process the caller's force can start", tag="instances",
           body=schemas.StartRequest, responses={201: schemas.Instance}, errors=(400, 404, 409, 422),
           idempotent=True)
def start_instance() -> Response:
    """Start ``process`` with the start form ``data`` and run it to its first wait state."""
    def act(session: Session, user: User) -> tuple[dict[str, object], int]:
        payload = load_body(schemas.StartRequest)
        started = instances.start(session, user=user, process_key=payload["process"],
                                  data=payload["data"], business_key=payload.get("business_key"))
        names = shapes.usernames(session, user)
        return dump(schemas.Instance, shapes.instance(started.instance, started.open_items, names)), 201

    return run_once(act)


@operation(summary="The caller's instances, newest first", tag="instances", query=schemas.InstanceQuery,
           responses={200: schemas.InstanceList}, errors=(422,))
def list_instances() -> Response:
    """Instances the caller started (``mine=1``, the default and the only listing offered)."""
    with authenticated(read_only=True) as (session, user):
        load_query(schemas.InstanceQuery)
        rows = instances.list_my_instances(session, user=user)
        items = [shapes.instance_summary(i) for i in rows]
    return json_response(dump(schemas.InstanceList, {"items": items}))


@operation(summary="One instance: status, version, requester, open work items, resolution trace",
           tag="instances", responses={200: schemas.Instance}, errors=(404,), path_params=ID)
def get_instance(instance_id: int) -> Response:
    """An instance of a force the caller can see; 404 for anything else."""
    with authenticated(read_only=True) as (session, user):
        inst = instances.get_instance(session, user=user, instance_id=instance_id)  # no history: not shown
        body = shapes.instance(inst, instances.open_work_items(session, inst), shapes.usernames(session, user))
    return json_response(dump(schemas.Instance, body))


@operation(summary="The audit events of one instance, in order", tag="instances",
           responses={200: schemas.History}, errors=(404,), path_params=ID)
def get_history(instance_id: int) -> Response:
    """The hash-chained audit trail of an instance the caller can see."""
    with authenticated(read_only=True) as (session, user):
        inst = instances.get_instance(session, user=user, instance_id=instance_id)
        events = [shapes.audit_event(e) for e in audit.history(session, inst.id)]
    return json_response(dump(schemas.History, {"items": events}))
