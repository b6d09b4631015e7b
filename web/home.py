"""A placeholder home page at ``/`` until the inbox blueprint serves it (``create_app`` then skips this)."""
from __future__ import annotations

from flask import Blueprint, g, render_template

from .auth import login_required

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> str:
    """Welcome the signed-in user."""
    return render_template("home.html", user=g.user)
