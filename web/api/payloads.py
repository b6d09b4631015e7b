"""Reading requests and writing responses of the API with its marshmallow schemas.

Malformed JSON (or text the database cannot store) is a 400, a body or query that fails its schema is a
422 with the errors by field (``InvalidInputError``), and every response is JSON.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any

from flask import Response, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from engine.errors import InvalidInputError

JSON = "application/json"
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 32  # form data is shallow; deeper input is refused before it reaches recursive code


SchemaClass = type[Schema]


@functools.cache
def _instance(cls: SchemaClass) -> Schema:
    """One shared instance per schema class: building one deep-copies its declared fields, and dumping or
    loading keeps no state on the instance, so threads may share it."""
    return cls()


def load_body(schema: SchemaClass) -> dict[str, Any]:
    """The JSON body loaded with ``schema``: 415 unless JSON, 400 if malformed, 422 with field errors."""
    if request.mimetype != JSON:
        raise UnsupportedMediaType("Send a JSON body with 'Content-Type: application/json'.")
    try:
        data = json.loads(request.get_data(), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    check_clean(data)
    return _load(schema, data, "body")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_clean(value: Any, depth: int = 0) -> None:
    """400 for input the database cannot store or recursive code should not walk: strings with NUL or
    unpaired surrogates, nesting deeper than ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        raise BadRequest(f"The request is nested more than {MAX_DEPTH} levels deep.")
    if isinstance(value, str):
        if UNSTORABLE.search(value):
            raise BadRequest("Text in the request contains a NUL character or an unpaired surrogate.")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_clean(k, depth + 1)
            check_clean(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            check_clean(v, depth + 1)


def load_query(schema: SchemaClass) -> dict[str, Any]:
    """The query string loaded with ``schema`` (each parameter once); 422 with field errors."""
    args = request.args.to_dict(flat=True)
    check_clean(args)
    return _load(schema, args, "query")


def load_form(schema: SchemaClass) -> dict[str, Any]:
    """The non-file fields of a multipart form loaded with ``schema``; 422 with field errors."""
    form = request.form.to_dict(flat=True)
    check_clean(form)
    return _load(schema, form, "form")


def _load(schema: SchemaClass, data: Any, where: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = _instance(schema).load(data)
    except ValidationError as exc:
        raise InvalidInputError(f"There is a problem with the request {where}: see the errors by field.",
                                details=_by_field(exc.messages)) from None
    return loaded


def _by_field(messages: Any) -> dict[str, Any]:
    if isinstance(messages, dict):
        return {str(k): v for k, v in messages.items()}
    return {"_schema": messages if isinstance(messages, list) else [str(messages)]}


def dump(schema: SchemaClass, obj: Any) -> dict[str, Any]:
    """``obj`` dumped with ``schema``."""
    out: dict[str, Any] = _instance(schema).dump(obj)
    return out


def encode(body: Any) -> str:
    """Compact JSON text of a response body (also what idempotent calls store)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response from a body already dumped by a schema."""
    text = body if isinstance(body, str) else encode(body)
    return Response(text, status=status, mimetype=JSON, headers=headers)
