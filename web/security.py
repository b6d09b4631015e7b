"""Request hardening for every page: CSRF on forms, security headers, secure session cookies, proxy fix.

``/api/`` is exempt from CSRF because it authenticates with bearer tokens, never with the cookie.
"""
from __future__ import annotations

from flask import Flask, Response, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

API_PREFIX = "/api/"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# dmn-js positions its table editor with inline style attributes; the designer's pages allow inline
# *styles* (never inline scripts) so the DMN editor lays out correctly.
DESIGNER_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the Secure flag also set whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def init_security(app: Flask) -> None:
    """Install CSRF protection, the session interface and the response headers on ``app``."""
    csrf = CSRFProtect(app)
    app.session_interface = SessionInterface()
    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.before_request
    def check_csrf() -> None:
        if not app.config["WTF_CSRF_ENABLED"] or request.path.startswith(API_PREFIX):
            return
        csrf.protect()  # raises CSRFError (400) for a POST/PUT/PATCH/DELETE without a valid token

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        if request.blueprint == "designer":
            response.headers.setdefault("Content-Security-Policy", DESIGNER_POLICY)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if g.get("user") is not None and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")  # signed-in pages hold personal data
        return response
