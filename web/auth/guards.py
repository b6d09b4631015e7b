"""Who is signed in: loading ``g.user`` per request, starting and ending a session, and the
``login_required`` / ``role_required`` decorators."""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from engine import org
from engine.errors import NotAllowedError
from engine.models import User

from ..extensions import unit_of_work
from ..security import API_PREFIX

View = TypeVar("View", bound=Callable[..., Any])
USER_KEY = "user_id"
STAMP_KEY = "auth_stamp"


def load_signed_in_user() -> None:
    """``g.user``: the active user of this session, or None. A session whose user was deactivated or
    whose password changed since sign-in is ended.

    Never under ``/api/``: the API is exempt from CSRF, so it must not honour the session cookie
    (it authenticates bearer tokens itself)."""
    g.user = None
    user_id = session.get(USER_KEY)
    if request.endpoint == "static" or request.path.startswith(API_PREFIX) or not isinstance(user_id, int):
        return
    with unit_of_work(read_only=True) as db:
        user = org.find_active_user(db, user_id)
    if user is None or session.get(STAMP_KEY) != _stamp(user):
        session.clear()
        return
    g.user = user


def start_session(user: User) -> None:
    """Sign ``user`` in: a fresh session (nothing kept from before sign-in)."""
    session.clear()
    session[USER_KEY] = user.id
    session[STAMP_KEY] = _stamp(user)
    session.permanent = True


def end_session() -> None:
    """Sign out."""
    session.clear()
    g.user = None


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def sign_in_redirect() -> Response:
    """Send the visitor to the sign-in page, coming back to this page afterwards."""
    here = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.sign_in", next=here))


def login_required(view: View) -> View:
    """Send a signed-out visitor to the sign-in page, coming back here afterwards."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return sign_in_redirect()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def role_required(*roles: str) -> Callable[[View], View]:
    """Allow the view only to users holding at least one of ``roles`` (in any force); 403 otherwise.

    The view still scopes what it shows to the forces where the role is held."""
    wanted = frozenset(roles)

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not any(grant.role in wanted for grant in g.user.roles):
                raise NotAllowedError("You do not have a role that can use this page.")
            return view(*args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator


def _stamp(user: User) -> str:
    # Changes when the password does, ending other sessions; reveals nothing about the hash.
    return hashlib.sha256(f"{user.id}:{user.password_hash or ''}".encode()).hexdigest()[:20]
