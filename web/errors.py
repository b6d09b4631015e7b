"""One place mapping errors to HTTP: engine errors and HTTP errors become an HTML page, or the JSON
shape ``{"error": {"code", "message", "details"}}`` for paths under ``/api/``."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import (
    ConflictError,
    DefinitionError,
    InvalidInputError,
    MusterError,
    NotAllowedError,
    NotFoundError,
    SandboxError,
    WorkflowRunError,
)

from .security import API_PREFIX

STATUS: dict[type[MusterError], int] = {
    NotFoundError: 404,
    NotAllowedError: 403,
    InvalidInputError: 422,
    ConflictError: 409,
    DefinitionError: 422,
    SandboxError: 422,
    WorkflowRunError: 500,
}
TITLES = {
    400: "There is a problem with the request",
    403: "You cannot do that",
    404: "Page not found",
    405: "That action is not available here",
    409: "Someone else changed this first",
    413: "The upload is too large",
    422: "There is a problem with what you entered",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


def status_for(error: MusterError) -> int:
    """The HTTP status for an engine error (the nearest mapped class wins; 400 otherwise)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def register_error_handlers(app: Flask) -> None:
    """Install the engine-error and HTTP-error handlers on ``app``."""
    app.register_error_handler(MusterError, handle_engine_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)


def handle_engine_error(error: MusterError) -> tuple[Response | str, int]:
    """Render an engine error with its mapped status."""
    return error_response(status_for(error), error.code, error.message, error.details)


def handle_csrf_error(error: CSRFError) -> tuple[Response | str, int]:
    """A form posted without a valid token (often a page left open across a sign-out)."""
    message = "This form has expired or did not come from Muster. Go back, reload the page and try again."
    return error_response(400, "csrf_failed", message, None)


def handle_http_error(error: HTTPException) -> tuple[Response | str, int]:
    """Render any HTTP error (404, 405, 413, and unhandled exceptions as 500)."""
    status = error.code or 500
    if isinstance(error, InternalServerError) or status >= 500:
        return error_response(status, "internal_error", "Something went wrong. Try again later.", None)
    if status == 413:
        limit = request.max_content_length or 0
        size = f"{limit // (1024 * 1024) or 1} MB"
        message = f"What you sent is larger than the {size} limit. Send something smaller."
        return error_response(413, "too_large", message, None)
    code = (error.name or "error").lower().replace(" ", "_")
    return error_response(status, code, error.description or error.name, None)


def error_response(status: int, code: str, message: str, details: Any) -> tuple[Response | str, int]:
    """JSON under ``/api/``, the error page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return jsonify({"error": {"code": code, "message": message, "details": details}}), status
    title = TITLES.get(status, "There is a problem")
    return render_template("errors/error.html", status=status, title=title, message=message), status
