"""Muster's web layer: the Flask app factory. Nothing is configured or connected at import time.

Areas are packages ``web/<area>/`` exposing ``bp`` (a Blueprint) or ``init_app(app)``; ``create_app``
registers each one that exists, so adding an area needs no edit here.
"""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .assets import vendor_available
from .config import load_config
from .errors import register_error_handlers
from .extensions import init_database
from .navigation import init_navigation
from .security import init_security

AREAS = ("auth", "admin", "inbox", "requests", "manager", "designer", "api", "notifications")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config (``web.config``), database, security, errors, navigation and the areas."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    init_database(app)
    init_security(app)
    register_error_handlers(app)
    init_navigation(app)
    app.jinja_env.globals["vendor_available"] = vendor_available(app.static_folder)
    app.jinja_env.globals["service_name"] = app.config["SERVICE_NAME"]
    for area in AREAS:
        register_area(app, area)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        from .home import bp as home  # a placeholder until an area serves "/"

        app.register_blueprint(home)
    return app


def register_area(app: Flask, area: str) -> bool:
    """Register ``web.<area>`` if that package exists; True when it did."""
    if importlib.util.find_spec(f"{__name__}.{area}") is None:
        return False
    module = importlib.import_module(f"{__name__}.{area}")
    if hasattr(module, "init_app"):
        module.init_app(app)
    else:
        app.register_blueprint(module.bp)
    return True
