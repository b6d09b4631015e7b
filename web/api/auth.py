"""Bearer-token authentication of the API: issuing tokens for a username and password, and checking the
``Authorization`` header before every other call (the session cookie is never honoured here)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.orm import Session

from engine import org, tokens
from engine.errors import NotAllowedError
from engine.models import User, utcnow

from ..errors import error_response
from ..extensions import unit_of_work
from . import schemas
from .operations import operation, operation_of
from .payloads import dump, json_response, load_body

TOKEN_LIFETIME_KEY = "API_TOKEN_LIFETIME_SECONDS"  # optional setting; default tokens.DEFAULT_LIFETIME


def register(bp: Blueprint) -> None:
    """Add the token endpoint, the token check and the 401 mapping to ``bp``."""
    bp.add_url_rule("/auth/token", view_func=issue_token, methods=["POST"])
    bp.before_request(require_bearer)
    bp.register_error_handler(tokens.TokenError, handle_token_error)


@operation(summary="Get an API token for a username and password", tag="auth", body=schemas.TokenRequest,
           responses={201: schemas.Token}, errors=(400, 401, 422, 429), public=True)
def issue_token() -> Response | tuple[Response | str, int]:
    """Exchange a username and password for a bearer token (failures count towards the sign-in lock)."""
    payload = load_body(schemas.TokenRequest)
    with unit_of_work() as session:
        try:
            user = org.authenticate(session, payload["username"], payload["password"], utcnow())
        except NotAllowedError as exc:
            return _refused(exc)
        issued = tokens.issue(session, user, lifetime=_lifetime())
    return json_response(dump(schemas.Token, issued), 201, {"Cache-Control": "no-store"})


def _refused(exc: NotAllowedError) -> tuple[Response | str, int]:
    retry = exc.details.get("retry_after_seconds") if isinstance(exc.details, dict) else None
    if retry is None:
        return error_response(401, "invalid_credentials", exc.message, None)
    response, status = error_response(429, "too_many_attempts", exc.message, exc.details)
    if isinstance(response, Response):
        response.headers["Retry-After"] = str(retry)
    return response, status


def _lifetime() -> dt.timedelta:
    seconds = current_app.config.get(TOKEN_LIFETIME_KEY)
    return dt.timedelta(seconds=int(seconds)) if seconds else tokens.DEFAULT_LIFETIME


def require_bearer() -> None:
    """Keep the bearer token of this request in ``g`` (401 without one); public endpoints pass. The
    token is verified by ``authenticated`` inside the call's own transaction (one per request)."""
    view = current_app.view_functions.get(request.endpoint or "")
    op = operation_of(view)
    if op is not None and op.public:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise tokens.TokenError(tokens.INVALID)
    g.api_token = token.strip()


@contextmanager
def authenticated(*, read_only: bool = False) -> Iterator[tuple[Session, User]]:
    """One unit of work for an API call and the user its token belongs to (TokenError → 401)."""
    with unit_of_work(read_only=read_only) as session:
        yield session, tokens.verify(session, g.api_token)


def handle_token_error(error: tokens.TokenError) -> tuple[Response | str, int]:
    """401 with the Bearer challenge."""
    response, status = error_response(401, error.code, error.message, None)
    if isinstance(response, Response):
        response.headers["WWW-Authenticate"] = 'Bearer realm="muster"'
    return response, status
