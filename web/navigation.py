"""The header navigation: which areas a signed-in user sees. The areas' pages belong to their blueprints."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, g, request

from engine import org
from engine.models import User


@dataclass(frozen=True)
class NavItem:
    """One link in the primary navigation."""

    text: str
    href: str
    active: bool


# (text, href, who sees it). Paths, not url_for: several areas are built by other blueprints.
AREAS: tuple[tuple[str, str, str], ...] = (
    ("Inbox", "/", "everyone"),
    ("New request", "/requests/new", "everyone"),
    ("My requests", "/requests", "everyone"),
    ("Team", "/manager/", "everyone"),
    ("Dashboard", "/manager/dashboard", "everyone"),
    ("Designer", "/designer/", "designers"),
    ("Admin", "/admin/", "administrators"),
)


def nav_items(user: User | None, path: str) -> list[NavItem]:
    """The links ``user`` sees, the one matching ``path`` marked active (longest prefix wins)."""
    if user is None:
        return []
    audiences = {
        "everyone": True,
        "designers": any(grant.role in ("process_designer", "force_manager", "platform_admin")
                         for grant in user.roles),  # approvers review publication requests there
        "administrators": org.is_administrator(user),
    }
    visible = [(text, href) for text, href, audience in AREAS if audiences[audience]]
    current = max((href for _text, href in visible if _matches(path, href)), key=len, default=None)
    return [NavItem(text, href, href == current) for text, href in visible]


def _matches(path: str, href: str) -> bool:
    if href == "/":
        return path == "/"
    return path == href or path.startswith(href.rstrip("/") + "/")


def init_navigation(app: Flask) -> None:
    """Make ``nav_items`` available to every template."""

    @app.context_processor
    def navigation() -> dict[str, Any]:
        return {"nav_items": nav_items(g.get("user"), request.path)}
