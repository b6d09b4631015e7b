"""Tokens: issued for a username and password, stored hashed, expiring, revocable; every other call
needs one (401 otherwise) and the session cookie is never honoured."""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import Flask
from sqlalchemy import select

from engine import org, tokens
from engine.models import ApiToken, utcnow

from .conftest import PASSWORD, Api, error_of, in_db, user_named


def test_a_token_is_issued_for_a_right_password(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", json={"username": "pc", "password": PASSWORD})
    assert r.status_code == 201
    body = r.get_json()
    assert body["token"].startswith("mst_") and len(body["token"]) > 40
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(hours=7) < expires - utcnow() <= dt.timedelta(hours=8)
    assert r.headers["Cache-Control"] == "no-store"


def test_a_wrong_password_or_unknown_user_is_401_with_one_message(api: Api) -> None:
    wrong = api.client.post("/api/v1/auth/token", json={"username": "pc", "password": "nope"})
    unknown = api.client.post("/api/v1/auth/token", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong)["message"] == error_of(unknown)["message"]
    assert error_of(wrong)["code"] == "invalid_credentials"


def test_repeated_failures_lock_the_account_with_429_and_retry_after(api: Api) -> None:
    statuses = [api.client.post("/api/v1/auth/token", json={"username": "pc", "password": "x"}).status_code
                for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]  # the 5th failure starts the first lock
    again = api.client.post("/api/v1/auth/token", json={"username": "pc", "password": PASSWORD})
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > 0
    assert error_of(again)["details"]["retry_after_seconds"] > 0


def test_a_token_request_with_missing_fields_is_422_by_field(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", json={"username": "pc"})
    assert r.status_code == 422
    assert "password" in error_of(r)["details"]


def test_a_call_without_a_token_is_401_with_a_bearer_challenge(api: Api) -> None:
    r = api.get("/tasks", None)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(r)["code"] == "invalid_token"


def test_a_wrong_scheme_or_unknown_token_is_401(api: Api) -> None:
    basic = api.client.get("/api/v1/tasks", headers={"Authorization": "Basic cGM6cGFzcw=="})
    unknown = api.client.get("/api/v1/tasks", headers={"Authorization": "Bearer mst_not-a-real-token"})
    assert basic.status_code == unknown.status_code == 401


def test_tokens_are_stored_only_as_sha256_hashes(api: Api, app: Flask) -> None:
    token = api.token("pc")
    stored = in_db(app, lambda s: s.execute(select(ApiToken.token_hash)).scalars().all())
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


def test_an_expired_token_is_401(api: Api, app: Flask) -> None:
    old = utcnow() - dt.timedelta(hours=9)
    issued = in_db(app, lambda s: tokens.issue(s, user_named(s, "pc"), now=old))
    r = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {issued.token}"})
    assert r.status_code == 401
    assert "expired" in error_of(r)["message"]


def test_a_revoked_token_is_401_at_once(api: Api, app: Flask) -> None:
    token = api.token("pc")
    assert api.get("/tasks", "pc").status_code == 200
    in_db(app, tokens.revoke, token)
    assert api.get("/tasks", "pc").status_code == 401


def test_revoking_a_user_revokes_all_their_tokens_only(api: Api, app: Flask) -> None:
    api.token("pc"), api.token("sgt")
    other = api.client.post("/api/v1/auth/token", json={"username": "pc", "password": PASSWORD}).get_json()
    assert in_db(app, lambda s: tokens.revoke_user_tokens(s, user_named(s, "pc"))) == 2
    assert api.get("/tasks", "pc").status_code == 401
    other_call = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {other['token']}"})
    assert other_call.status_code == 401
    assert api.get("/tasks", "sgt").status_code == 200


def test_a_deactivated_users_token_stops_working(api: Api, app: Flask) -> None:
    api.token("pc")
    in_db(app, lambda s: org.deactivate_user(s, "CHES", user_named(s, "pc").id))
    assert api.get("/tasks", "pc").status_code == 401


def test_the_session_cookie_is_not_honoured_by_the_api(api: Api) -> None:
    page = api.client.get("/auth/sign-in")
    assert page.status_code == 200
    signed_in = api.client.post("/auth/sign-in", data={"username": "pc", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert api.get("/tasks", None).status_code == 401


def test_the_openapi_document_and_token_endpoint_need_no_token(api: Api) -> None:
    assert api.get("/openapi.json", None).status_code == 200


def test_revoking_by_id_keeps_the_first_revocation_time(app: Flask) -> None:
    issued = in_db(app, lambda s: tokens.issue(s, user_named(s, "pc")))
    first = in_db(app, tokens.revoke, str(issued.id)).revoked_at
    again = in_db(app, tokens.revoke, str(issued.id)).revoked_at
    assert first == again is not None


def test_purging_deletes_only_long_dead_tokens(app: Flask) -> None:
    long_ago = utcnow() - dt.timedelta(days=60)
    in_db(app, lambda s: tokens.issue(s, user_named(s, "pc"), now=long_ago))
    live = in_db(app, lambda s: tokens.issue(s, user_named(s, "pc")))
    assert in_db(app, tokens.purge_expired) == 1
    rows = in_db(app, lambda s: tokens.list_tokens(s, user_named(s, "pc")))
    assert [r.id for r in rows] == [live.id]
