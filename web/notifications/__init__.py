"""In-app notifications: the signed-in user's list, marking them read, and the unread count in the header."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import notify

from ..auth import login_required
from ..extensions import unit_of_work

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index() -> str:
    """Newest first; unread ones are marked."""
    with unit_of_work(read_only=True) as db:
        rows = notify.list_for(db, g.user.id, limit=100)
    return render_template("notifications/index.html", notifications=rows)


@bp.post("/read")
@login_required
def mark_read() -> Response:
    """Mark all (or the posted ids) as read."""
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit()] or None
    with unit_of_work() as db:
        notify.mark_read(db, g.user.id, ids)
    return redirect(url_for("notifications.index"))


def init_app(app: Flask) -> None:
    """Register the pages and put the unread count in every page's header."""
    app.register_blueprint(bp)

    @app.context_processor
    def unread() -> dict[str, Any]:
        user = g.get("user")
        if user is None or request.endpoint == "static":
            return {"unread_notifications": 0}
        with unit_of_work(read_only=True) as db:
            return {"unread_notifications": notify.unread_count(db, user.id)}
