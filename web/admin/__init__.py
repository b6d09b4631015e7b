"""Administration: forces, users, roles, line managers and org units.

Platform administrators manage every force; force managers manage the forces where they hold
``force_manager``. Another force's objects answer 404.
"""
from __future__ import annotations

from flask import Blueprint, g
from werkzeug.wrappers import Response

from engine import org
from engine.errors import NotAllowedError

from ..auth import sign_in_redirect

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_administrator() -> Response | None:
    """Every admin page needs a signed-in platform administrator or force manager."""
    if g.get("user") is None:
        return sign_in_redirect()
    if not org.is_administrator(g.user):
        raise NotAllowedError("Only administrators can use the admin pages.")
    return None


from . import forces, incidents, org_units, roles, users  # noqa: E402,F401  (register the routes on bp)
