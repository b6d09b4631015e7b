"""The process designer: catalogue, drafts and editors (bpmn-js, dmn-js, JSON forms), validation,
scenario runs, publication requests and approvals, diff, drift, impact and downloads.

Designers (process_designer) edit; force managers and platform admins read the catalogue and decide
publication requests.
"""
from __future__ import annotations

from flask import Blueprint, g
from werkzeug.wrappers import Response

from engine.errors import NotAllowedError

from ..auth import sign_in_redirect

bp = Blueprint("designer", __name__, url_prefix="/designer")
AUDIENCE = frozenset({"process_designer", "force_manager", "platform_admin"})


@bp.before_request
def require_audience() -> Response | None:
    """Every designer page needs a signed-in designer, force manager or platform admin."""
    if g.get("user") is None:
        return sign_in_redirect()
    if not any(grant.role in AUDIENCE for grant in g.user.roles):
        raise NotAllowedError("Only process designers, force managers and platform admins can use the "
                              "designer.")
    return None


from . import catalogue, drafts, publish, record  # noqa: E402,F401  (register the routes on bp)
