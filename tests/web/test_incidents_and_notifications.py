"""Incidents (failed background jobs) for administrators, and the in-app notification list with its count."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from engine.models import Job, Notification
from web.extensions import unit_of_work


def _incident(app: Flask, force: str, error: str = "SMTP refused: 550") -> int:
    with app.app_context(), unit_of_work() as s:
        job = Job(kind="send_email", force_code=force, due_at=dt.datetime.now(dt.timezone.utc), status="incident",
                  attempts=5, last_error=error)
        s.add(job)
        s.flush()
        return int(job.id)


def test_force_manager_sees_and_retries_own_force_incidents_only(
        app: Flask, client: Any, auth: Any, people: Any) -> None:
    mine = _incident(app, "CHES", "<script>alert(1)</script> SMTP refused")
    theirs = _incident(app, "NTHN")
    auth.login("leanne.burke")
    page = client.get("/admin/incidents")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f"/admin/incidents/{mine}/retry" in body and f"/admin/incidents/{theirs}/retry" not in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert client.post(f"/admin/incidents/{theirs}/retry").status_code == 404
    assert client.post(f"/admin/incidents/{mine}/retry").status_code == 302
    with app.app_context(), unit_of_work() as s:
        assert s.get(Job, mine).status == "pending" and s.get(Job, theirs).status == "incident"


def test_staff_cannot_open_incidents(client: Any, auth: Any, people: Any) -> None:
    auth.login("jordan.hale")
    assert client.get("/admin/incidents").status_code == 403


def test_notifications_list_unread_count_and_mark_read(
        app: Flask, client: Any, auth: Any, people: Any) -> None:
    with app.app_context(), unit_of_work() as s:
        for text in ("New item: Approve leave CHES-000001", "<b>Reminder</b>"):
            s.add(Notification(user_id=people.employee, force_code="CHES", kind="new_item", text=text, link="/"))
        s.add(Notification(user_id=people.other_force_user, force_code="NTHN", kind="new_item", text="Not yours"))
    auth.login("jordan.hale")
    home = client.get("/notifications/").get_data(as_text=True)
    assert 'aria-label="2 unread"' in home and "Not yours" not in home
    assert "&lt;b&gt;Reminder&lt;/b&gt;" in home
    assert client.post("/notifications/read").status_code == 302
    assert 'aria-label="2 unread"' not in client.get("/notifications/").get_data(as_text=True)
