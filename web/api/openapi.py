"""The OpenAPI 3 document of the API, generated with apispec from the marshmallow schemas and the
``@operation`` declarations on the views, and served at ``/api/v1/openapi.json``."""
from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app
from werkzeug.http import HTTP_STATUS_CODES

from . import schemas
from .operations import Operation, operation, operation_of
from .payloads import json_response

TITLE = "Muster API"
VERSION = "1.0.0"
EXTENSION_KEY = "muster_openapi"
DESCRIPTION = ("Drive Muster from other systems. Authenticate with POST /api/v1/auth/token, then send "
               "'Authorization: Bearer <token>'. Every error is "
               "{\"error\": {\"code\", \"message\", \"details\"}}.")
PATH_PARAM = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
KEY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": False,
              "description": "Send the same key when retrying: the first result is returned and the call "
                             "acts once. A key reused with a different body is a 422.",
              "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"}}


def register(bp: Blueprint) -> None:
    """Serve the document from ``bp``."""
    bp.add_url_rule("/openapi.json", view_func=openapi_document, methods=["GET"])


@operation(summary="This OpenAPI document", tag="meta", responses={200: None}, public=True)
def openapi_document() -> Response:
    """The document, built once per app."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if EXTENSION_KEY not in app.extensions:
        app.extensions[EXTENSION_KEY] = build_document(app)
    return json_response(app.extensions[EXTENSION_KEY])


def build_document(app: Flask, prefix: str = "api.") -> dict[str, Any]:
    """The OpenAPI 3 document of every view of the ``api`` blueprint that declares an operation."""
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": DESCRIPTION})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.Error)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions.get(rule.endpoint))
        if not rule.endpoint.startswith(prefix) or op is None:
            continue
        path, params = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = operation_object(rule.endpoint, op, params)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """A Flask rule as an OpenAPI path, with its path parameters (``int`` converters become integers)."""
    params = []
    for converter, args, name in PATH_PARAM.findall(rule):
        schema: dict[str, Any] = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "format": "int32", **_int_bounds(args)}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return PATH_PARAM.sub(lambda m: "{" + m.group(3) + "}", rule), params


def _int_bounds(args: str) -> dict[str, int]:
    bounds = dict(re.findall(r"(min|max)\s*=\s*(-?\d+)", args))
    return {{"min": "minimum", "max": "maximum"}[k]: int(v) for k, v in bounds.items()}


def operation_object(endpoint: str, op: Operation, path_params: list[dict[str, Any]]) -> dict[str, Any]:
    """One OpenAPI operation from its declaration."""
    params = [dict(p, description=op.path_params.get(p["name"], "")) for p in path_params]
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    if op.idempotent:
        params.append(KEY_HEADER)
    out: dict[str, Any] = {"operationId": endpoint.split(".", 1)[1], "summary": op.summary, "tags": [op.tag],
                           "parameters": params, "responses": responses(op)}
    if op.description:
        out["description"] = op.description
    if op.body is not None:
        media = "multipart/form-data" if op.multipart else "application/json"
        out["requestBody"] = {"required": True, "content": {media: {"schema": op.body}}}
    out["security"] = [] if op.public else [{"bearer": []}]
    return out


def responses(op: Operation) -> dict[str, Any]:
    """Success responses with their schemas, then the error responses (all ``Error``)."""
    out: dict[str, Any] = {}
    for status, schema in op.responses.items():
        content = {"application/json": {"schema": schema or {"type": "object"}}}
        out[str(status)] = {"description": HTTP_STATUS_CODES[status], "content": content}
    errors = set(op.errors) | {404, 405} | (set() if op.public else {401})
    if op.query is not None:
        errors |= {400, 422}
    if op.body is not None:
        errors |= {400, 413, 415, 422} - ({415} if op.multipart else set())
    for status in sorted(errors):
        out[str(status)] = {"description": HTTP_STATUS_CODES[status],
                            "content": {"application/json": {"schema": "Error"}}}
    return out
