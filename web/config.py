"""Configuration for the Flask app: defaults here, then ``MUSTER_*`` environment variables, then the
dict given to ``create_app``. Nothing is read at import time; ``load_config`` does it per app."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from engine.db import database_url


class Config:
    """Defaults. Every name can be overridden by ``MUSTER_<NAME>`` (JSON values are parsed, so
    ``MUSTER_SECURE_COOKIES=true`` is a boolean) or by ``create_app({"NAME": ...})``."""

    DATABASE_URL: str | None = None  # None: engine.db.database_url() (MUSTER_DATABASE_URL or SQLite)
    DATABASE_ENGINE_OPTIONS: dict[str, Any] = {}
    SECRET_KEY: str | None = None  # None: generated once and kept in the instance folder
    SECURE_COOKIES = False  # True behind https: cookies get the Secure flag and HSTS is sent
    PROXY_FIX = False  # True behind one reverse proxy that sets X-Forwarded-For/-Proto/-Host
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    SESSION_COOKIE_NAME = "muster_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=10)  # one long shift
    WTF_CSRF_ENABLED = True
    WTF_CSRF_CHECK_DEFAULT = False  # web.security runs the check itself so that /api/ is exempt
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the signed-in session
    SERVICE_NAME = "Muster"


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` from ``Config``, the environment and ``overrides`` (in that order)."""
    app.config.from_object(Config)
    app.config.from_prefixed_env(prefix="MUSTER")
    app.config.update(overrides or {})
    if app.config.get("SECURE_COOKIES"):
        app.config["SESSION_COOKIE_SECURE"] = True
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = database_url()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = persistent_secret_key(Path(app.instance_path))


def persistent_secret_key(instance: Path) -> str:
    """The secret key kept in ``instance/secret_key``, created (owner-readable only) on first use.

    Every process serving the same instance folder shares it, so sessions survive restarts."""
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key
