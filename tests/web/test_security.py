"""Cross-cutting protections: CSRF, security headers, the body-size limit, escaping of everything
people type, and the one mapping of errors to HTTP (HTML pages and the JSON shape under /api/)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from engine import org
from engine.errors import ConflictError, DefinitionError, InvalidInputError, NotAllowedError, NotFoundError
from web.config import load_config, persistent_secret_key

if TYPE_CHECKING:
    from conftest import AuthActions, Builder, People

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(2)>'
EMAIL = '"><svg/onload=alert(3)>@example.police.uk'


# --- CSRF -----------------------------------------------------------------------------------


def test_form_post_without_csrf_token_is_rejected(make_app: Callable[..., Flask], people: People) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/auth/sign-in", data={"username": "jordan.hale", "password": "whatever"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_form_post_with_the_pages_token_is_accepted(
    make_app: Callable[..., Flask], auth_for: Callable[[FlaskClient], AuthActions], people: People,
) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert auth_for(client).login("jordan.hale").status_code == 302
    assert client.post(f"/admin/users/{people.employee}/reactivate").status_code == 400  # signed in, no token


def test_sign_out_needs_a_csrf_token(
    make_app: Callable[..., Flask], auth_for: Callable[[FlaskClient], AuthActions], people: People,
) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    auth_for(client).login("jordan.hale")
    assert client.post("/auth/sign-out").status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_api_paths_ignore_the_session_cookie(
    make_app: Callable[..., Flask], auth_for: Callable[[FlaskClient], AuthActions], people: People,
) -> None:
    app = make_app()
    app.add_url_rule("/api/v1/whoami", "whoami", lambda: str(g.user))
    app.add_url_rule("/whoami", "page_whoami", lambda: g.user.username)
    client = app.test_client()
    auth_for(client).login("jordan.hale")
    assert client.get("/whoami").get_data(as_text=True) == "jordan.hale"
    assert client.get("/api/v1/whoami").get_data(as_text=True) == "None"  # no CSRF there, so no cookie


def test_api_paths_are_not_subject_to_csrf_and_answer_json(make_app: Callable[..., Flask]) -> None:
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/api/v1/nothing-here", json={})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# --- headers and limits ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/auth/sign-in", "/static/muster.css", "/no-such-page", "/"])
def test_every_response_carries_the_security_headers(client: FlaskClient, url: str) -> None:
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script(client: FlaskClient, auth: AuthActions, people: People) -> None:
    pages = [client.get("/auth/sign-in").get_data(as_text=True)]
    auth.login("ada.admin")
    pages += [client.get(url).get_data(as_text=True) for url in ("/admin/users", "/admin/users/new", "/")]
    for page in pages:
        assert page.count("<script") == page.count('<script src="/static/muster.js"></script>') == 1
        assert " on" + "click=" not in page and "style=" not in page


def test_signed_in_pages_are_not_cached(client: FlaskClient, auth: AuthActions, people: People) -> None:
    auth.login("jordan.hale")
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_hsts_is_sent_when_cookies_are_secure(make_app: Callable[..., Flask]) -> None:
    secure = make_app(SECURE_COOKIES=True).test_client().get("/auth/sign-in")
    assert "Strict-Transport-Security" in secure.headers
    assert "Strict-Transport-Security" not in make_app().test_client().get("/auth/sign-in").headers


def test_a_body_over_the_limit_gets_a_friendly_413(client: FlaskClient) -> None:
    response = client.post("/auth/sign-in", data={"username": "x" * (2 * 1024 * 1024 + 1), "password": "y"})
    assert response.status_code == 413
    assert "larger than the 2 MB limit" in response.get_data(as_text=True)


# --- escaping -------------------------------------------------------------------------------


def test_markup_typed_into_admin_fields_renders_inert(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    auth.login("ada.admin")
    assert client.post("/admin/forces/new", data={"code": "EVIL", "name": SCRIPT + ATTRIBUTE,
                                                  "parent": ""}).status_code == 302
    assert client.post("/admin/org-units?force=EVIL", data={"name": SCRIPT + ATTRIBUTE,
                                                            "parent": ""}).status_code == 302
    assert client.post("/admin/users/new?force=EVIL", data={
        "username": "evil.person", "full_name": SCRIPT + ATTRIBUTE, "email": EMAIL,
        "manager": "", "org_unit": "",
    }).status_code == 302
    user_id = build.run(org.get_user_by_username, "evil.person").id
    urls = ["/admin/forces", "/admin/forces/EVIL/edit", "/admin/users?force=EVIL",
            "/admin/org-units?force=EVIL", "/admin/users/new?force=EVIL", f"/admin/users/{user_id}/edit",
            f"/admin/users/{user_id}/roles", f"/admin/users/{user_id}/deactivate"]
    for url in urls:
        page = client.get(url).get_data(as_text=True)
        for payload in (SCRIPT, ATTRIBUTE, "<svg/onload", "<img src=x"):
            assert payload not in page, (url, payload)
        assert "&lt;script&gt;" in page or "&#34;&gt;&lt;svg" in page, url


def test_markup_in_a_failed_sign_in_is_not_echoed_raw(client: FlaskClient, people: People) -> None:
    page = client.post("/auth/sign-in", data={"username": SCRIPT, "password": "x"}).get_data(as_text=True)
    assert SCRIPT not in page and "&lt;script&gt;" in page


# --- error mapping --------------------------------------------------------------------------

ERRORS = [
    (NotFoundError("There is no such thing."), 404),
    (NotAllowedError("You cannot do that."), 403),
    (InvalidInputError("Check the form.", details={"amount": ["Enter an amount."]}), 422),
    (ConflictError("Someone else changed it."), 409),
    (DefinitionError("Bad BPMN.", details=[{"file": "process.bpmn"}]), 422),
]


@pytest.fixture
def raising_app(make_app: Callable[..., Flask]) -> Flask:
    """An app with routes that raise each engine error, as a page and under /api/."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    for index, (error, _status) in enumerate(ERRORS):
        def fail(error: Exception = error) -> str:
            raise error
        app.add_url_rule(f"/boom/{index}", f"boom_{index}", fail)
        app.add_url_rule(f"/api/v1/boom/{index}", f"api_boom_{index}", fail)
    app.add_url_rule("/crash", "crash", lambda: 1 / 0)
    app.add_url_rule("/api/v1/crash", "api_crash", lambda: 1 / 0)
    return app


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_engine_errors_map_to_one_status_as_page_and_json(raising_app: Flask, index: int) -> None:
    error, status = ERRORS[index]
    client = raising_app.test_client()
    page = client.get(f"/boom/{index}")
    assert page.status_code == status and error.message in page.get_data(as_text=True)
    api = client.get(f"/api/v1/boom/{index}")
    assert api.status_code == status
    expected = {"code": error.code, "message": error.message, "details": error.details}
    assert api.get_json() == {"error": expected}


def test_unexpected_errors_are_500_without_internals(raising_app: Flask) -> None:
    client = raising_app.test_client()
    page = client.get("/crash")
    assert page.status_code == 500 and "ZeroDivisionError" not in page.get_data(as_text=True)
    assert client.get("/api/v1/crash").get_json()["error"]["code"] == "internal_error"


def test_pages_render_unstyled_without_the_vendor_folder(
    client: FlaskClient, app: Flask, tmp_path: Path,
) -> None:
    from web.assets import vendor_available

    assert not vendor_available(tmp_path)
    app.jinja_env.globals["vendor_available"] = False
    page = client.get("/auth/sign-in")
    assert page.status_code == 200
    assert "vendor/" not in page.get_data(as_text=True) and "muster.css" in page.get_data(as_text=True)


def test_asset_copy_strips_the_govuk_font_and_keeps_component_scripts(tmp_path: Path) -> None:
    from web.assets import FILES, MOJ, copy_assets

    modules = tmp_path / "node_modules"
    css = ('@font-face{font-family:GDS Transport;src:url(/assets/fonts/x.woff2)}'
           'a{font-family:"GDS Transport",arial,sans-serif}')
    for source, _name, _transform in FILES:
        (modules / source).parent.mkdir(parents=True, exist_ok=True)
        script = "export{initAll};\n//# sourceMappingURL=x.map"
        (modules / source).write_text(css if source.suffix == ".css" else script)
    (modules / MOJ / "assets" / "images").mkdir(parents=True)
    (modules / MOJ / "assets" / "images" / "icon-search-black.svg").write_text("<svg/>")
    (modules / MOJ / "assets" / "images" / "moj-logotype-crest-2024.svg").write_text("<svg/>")
    copy_assets(modules, tmp_path / "vendor")
    copied = (tmp_path / "vendor" / "govuk-frontend.min.css").read_text()
    assert "GDS Transport" not in copied and "@font-face" not in copied and "system-ui" in copied
    assert (tmp_path / "vendor" / "govuk-frontend.min.js").read_text().strip() == "export{initAll};"
    assert [p.name for p in (tmp_path / "vendor" / "images").iterdir()] == ["icon-search-black.svg"]


# --- configuration --------------------------------------------------------------------------


def test_secret_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path: Path) -> None:
    first = persistent_secret_key(tmp_path / "instance")
    assert len(first) == 64 and persistent_secret_key(tmp_path / "instance") == first
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides_defaults_and_create_app_overrides_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MUSTER_SECURE_COOKIES", "true")
    monkeypatch.setenv("MUSTER_MAX_CONTENT_LENGTH", "1024")
    monkeypatch.setenv("MUSTER_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("MUSTER_DATABASE_URL", "sqlite:///from-env.db")
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    load_config(app, {"MAX_CONTENT_LENGTH": 4096})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["DATABASE_URL"] == "sqlite:///from-env.db"
    assert app.config["MAX_CONTENT_LENGTH"] == 4096
    assert not (tmp_path / "instance").exists()  # nothing written when a key is given


def test_designer_pages_allow_inline_styles_but_never_inline_scripts(client, auth, people) -> None:  # noqa: ANN001
    auth.login("ada.admin")
    designer = client.get("/designer/")
    policy = designer.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy
    other = client.get("/admin/forces").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in other
