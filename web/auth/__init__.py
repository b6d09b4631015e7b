"""Signing in and out, ``g.user``, and the ``login_required`` / ``role_required`` decorators."""
from __future__ import annotations

from flask import Blueprint, Flask

from .guards import load_signed_in_user, login_required, role_required, sign_in_redirect

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import views  # noqa: E402,F401  (registers the routes on bp)


def init_app(app: Flask) -> None:
    """Load ``g.user`` before every request and register the sign-in pages."""
    app.before_request(load_signed_in_user)
    app.register_blueprint(bp)


__all__ = ["bp", "init_app", "login_required", "role_required", "sign_in_redirect"]
