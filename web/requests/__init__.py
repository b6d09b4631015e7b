"""Requests: start a new one from the processes my force can start, see mine with their status, current
step, history and process diagram, and withdraw one while it is open."""
from __future__ import annotations

from flask import Blueprint

from . import display

bp = Blueprint("requests", __name__, url_prefix="/requests")
display.register(bp)

from . import new, views  # noqa: E402,F401  (register the routes on bp)
