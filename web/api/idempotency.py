"""Running a mutating API call once per ``Idempotency-Key``: the first response is stored in the same
transaction as the change and replayed, byte for byte, to retries (``engine.idempotency`` holds the rules)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, request
from sqlalchemy.orm import Session

from engine import idempotency
from engine.errors import MusterError
from engine.models import User

from ..extensions import unit_of_work
from .auth import authenticated
from .payloads import encode, json_response

Action = Callable[[Session, User], tuple[Any, int]]  # returns (dumped body, status)
REPLAYED = "Idempotent-Replayed"


def run_once(action: Action) -> Response:
    """Authenticate and run ``action`` in one unit of work; with an Idempotency-Key, at most once per key.

    The action parses the request itself, so a bad token is a 401 before any 400 or 422."""
    key = request.headers.get(idempotency.HEADER)
    reserved_by: int | None = None  # the user id, once this request holds the key's reservation
    try:
        with authenticated() as (session, user):
            if key is None:
                body, status = action(session, user)
                return json_response(body, status)
            row = idempotency.reserve(session, user_id=user.id, key=key, method=request.method,
                                      path=request.path, fingerprint=fingerprint())
            if row.status_code != idempotency.PENDING:
                return json_response(row.body, row.status_code, {REPLAYED: "true"})
            reserved_by = user.id
            body, status = action(session, user)
            text = encode(body)
            idempotency.record(session, row, status, text)
    except MusterError:
        if key is not None and reserved_by is not None:
            # Errors are not stored: the call changed nothing, so a retry may run it again. The engine
            # commits some refusals before raising; drop the reservation such a commit carried.
            with unit_of_work() as session:
                idempotency.release(session, user_id=reserved_by, key=key)
        raise
    return json_response(text, status)


def fingerprint() -> str:
    """The request's method, path with query, and canonical body, hashed."""
    return idempotency.request_hash(request.method, request.full_path, canonical_body())


def canonical_body() -> bytes:
    """The request body in a form that is the same for equal requests: sorted JSON, or the multipart
    fields and file digests (a retried upload gets a new boundary), or the raw bytes."""
    if request.mimetype == "application/json":
        data = request.get_json(silent=True)
        if data is not None:
            return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    if request.mimetype == "multipart/form-data":
        fields = sorted((k, v) for k, v in request.form.items(multi=True))
        files = sorted((k, f.filename or "", hashlib.sha256(f.stream.read()).hexdigest())
                       for k, f in request.files.items(multi=True))
        for f in request.files.values():
            f.stream.seek(0)
        return json.dumps([fields, files]).encode()
    return request.get_data()
