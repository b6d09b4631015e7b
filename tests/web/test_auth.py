"""Signing in and out, the back-off lock-out, the session cookie, and the login/role guards."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import org
from web.auth import role_required

if TYPE_CHECKING:
    from conftest import AuthActions, Builder, People

PASSWORD = "correct horse battery"  # what the builders give every user (conftest.PASSWORD)


def test_signed_out_visitor_is_sent_to_sign_in_and_back(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    response = client.get("/admin/users?force=CHES")
    assert response.status_code == 302
    assert response.location == "/auth/sign-in?next=/admin/users?force%3DCHES"
    response = auth.login("ada.admin", next="/admin/forces")
    assert response.status_code == 302 and response.location == "/admin/forces"


def test_home_needs_sign_in_and_greets_the_user(
    client: FlaskClient, auth: AuthActions, people: People,
) -> None:
    assert client.get("/").location == "/auth/sign-in?next=/"
    auth.login("jordan.hale")
    page = client.get("/").get_data(as_text=True)
    assert "Welcome, Jordan Hale" in page and "Sign out" in page


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(auth: AuthActions, people: People, target: str) -> None:
    assert auth.login("jordan.hale", next=target).location == "/"


def test_bad_username_and_bad_password_get_the_same_generic_message(
    auth: AuthActions, people: People,
) -> None:
    unknown = auth.login("nobody.here", PASSWORD)
    wrong = auth.login("jordan.hale", "not the password")
    assert unknown.status_code == wrong.status_code == 200
    for response in (unknown, wrong):
        assert "The username or password is not right." in response.get_data(as_text=True)


def test_empty_fields_are_reported(client: FlaskClient, people: People) -> None:
    response = client.post("/auth/sign-in", data={"username": "", "password": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your username" in page and "Enter your password" in page and 'href="#username"' in page


def test_repeated_failures_lock_the_account_with_a_wait_message(auth: AuthActions, people: People) -> None:
    for _ in range(4):
        assert auth.login("jordan.hale", "wrong").status_code == 200
    locked = auth.login("jordan.hale", "wrong")
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "30"
    assert "Too many failed sign-in attempts" in locked.get_data(as_text=True)
    assert auth.login("jordan.hale", PASSWORD).status_code == 429  # even the right password waits


def test_inactive_user_cannot_sign_in(auth: AuthActions, build: Builder, people: People) -> None:
    build.run(org.deactivate_user, "CHES", people.employee)
    assert "not right" in auth.login("jordan.hale").get_data(as_text=True)


def test_deactivation_ends_a_running_session(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    auth.login("jordan.hale")
    assert client.get("/").status_code == 200
    build.run(org.deactivate_user, "CHES", people.employee)
    assert client.get("/").status_code == 302


def test_password_change_ends_other_sessions(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
) -> None:
    auth.login("jordan.hale")
    build.run(org.update_user, "CHES", people.employee, password="a brand new password")
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session(client: FlaskClient, auth: AuthActions, people: People) -> None:
    auth.login("jordan.hale")
    assert auth.logout().location == "/auth/sign-in"
    assert client.get("/").status_code == 302


def test_sign_out_is_post_only(client: FlaskClient) -> None:
    assert client.get("/auth/sign-out").status_code == 405


def test_session_cookie_is_http_only_and_same_site_lax(auth: AuthActions, people: People) -> None:
    cookie = auth.login("jordan.hale").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_when_configured_or_over_https(
    make_app: Callable[..., Flask], auth_for: Callable[[FlaskClient], AuthActions], people: People
) -> None:
    secure = auth_for(make_app(SECURE_COOKIES=True).test_client())
    assert "Secure" in secure.login("jordan.hale").headers["Set-Cookie"]
    https = make_app().test_client()
    https_cookie = https.post("/auth/sign-in", base_url="https://muster.local",
                              data={"username": "jordan.hale", "password": PASSWORD}).headers["Set-Cookie"]
    assert "Secure" in https_cookie


def test_role_required_refuses_users_without_the_role(
    make_app: Callable[..., Flask], auth_for: Callable[[FlaskClient], AuthActions], people: People
) -> None:
    app = make_app()
    app.add_url_rule("/buyers-only", "buyers_only", role_required("buyer")(lambda: "buyers welcome"))
    client = app.test_client()
    assert client.get("/buyers-only").status_code == 302
    auth_for(client).login("jordan.hale")
    assert client.get("/buyers-only").status_code == 403


def test_role_required_accepts_a_cross_force_grant(
    make_app: Callable[..., Flask], auth_for: Callable[[FlaskClient], AuthActions], build: Builder,
    people: People,
) -> None:
    build.user("priya.nandra", "CHES", roles=(), cross_force_roles=[("ssc_ap_officer", "NTHN")])
    app = make_app()
    app.add_url_rule("/ap", "ap", role_required("ssc_ap_officer")(lambda: "ap queue"))
    client = app.test_client()
    auth_for(client).login("priya.nandra")
    assert client.get("/ap").get_data(as_text=True) == "ap queue"


@pytest.mark.parametrize(("username", "shown", "hidden"), [
    ("jordan.hale", ["Inbox", "New request", "My requests", "Team", "Dashboard"], ["Designer", "Admin"]),
    ("ada.admin", ["Inbox", "Admin", "Designer"], []),  # admins approve common publications in the designer
    ("ian.marsh", ["Inbox", "Designer"], ["Admin"]),
])
def test_navigation_shows_designer_and_admin_only_to_their_users(
    client: FlaskClient, auth: AuthActions, build: Builder, people: People,
    username: str, shown: list[str], hidden: list[str],
) -> None:
    build.user("ian.marsh", "MFSS", roles=("process_designer",))
    auth.login(username)
    page = client.get("/").get_data(as_text=True)
    for text in shown:
        assert f">{text}</a>" in page
    for text in hidden:
        assert f">{text}</a>" not in page
    assert 'href="/requests/new"' in page or username != "jordan.hale"
