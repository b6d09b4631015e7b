"""The REST API at ``/api/v1``: bearer tokens, processes, instances, work items and definitions, with an
OpenAPI document generated from its marshmallow schemas. Views parse → call the engine → dump."""
from __future__ import annotations

from flask import Blueprint, Flask

from . import auth, definitions, instances, openapi, tasks

PREFIX = "/api/v1"


def make_blueprint() -> Blueprint:
    """A fresh blueprint with every API endpoint (one per app, so apps never share registrations)."""
    bp = Blueprint("api", __name__, url_prefix=PREFIX)
    for module in (auth, openapi, definitions, instances, tasks):
        module.register(bp)
    return bp


def init_app(app: Flask) -> None:
    """Register the API on ``app``."""
    app.register_blueprint(make_blueprint())
