"""Email through the outbox to a real local SMTP server (aiosmtpd): sent after commit, each message once."""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import instances, jobs, mailer, notify
from engine.calendar import utcnow
from engine.db import unit_of_work
from engine.models import Job, OutboxEmail
from engine.worker import Worker
from tests.fixtures.timers.support import DOMAIN, deploy_fixtures, setup_org, user

Factory = sessionmaker[Session]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        parsed = (message_from_bytes(m.content, policy=policy.default) for m in self.messages)
        return [str(p["Subject"]).strip() for p in parsed]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A plain SMTP server on 127.0.0.1 at a free port, configured through MUSTER_SMTP_*."""
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("MUSTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MUSTER_SMTP_PORT", str(port))
    monkeypatch.setenv("MUSTER_SMTP_TLS", "none")
    monkeypatch.setenv("MUSTER_SMTP_FROM", f"muster@{DOMAIN}")
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def world(session_factory: Factory) -> Factory:
    with unit_of_work(session_factory) as s:
        setup_org(s)
    return session_factory


def remind_manager(factory: Factory) -> int:
    """Write one reminder (in-app + outbox) in a committed transaction; returns the outbox row id."""
    with unit_of_work(factory) as s:
        manager = user(s, "manager")
        notify.send(s, event="reminder", force="CHES", recipients=[manager], link="/inbox/items/7",
                    values={"task_title": "Approve the purchase", "reference": "CHES-000007",
                            "due": "Wed 2 Dec 2026, 17:00", "force_name": "Cheshire Constabulary"})
        return int(s.execute(select(OutboxEmail.id)).scalar_one())


def outbox_row(factory: Factory, email_id: int) -> OutboxEmail:
    with unit_of_work(factory, read_only=True) as s:
        row = s.get(OutboxEmail, email_id)
        assert row is not None
        return row


def test_an_outbox_email_arrives_once_even_when_sent_twice(world: Factory, smtp: int, inbox: Inbox) -> None:
    email_id = remind_manager(world)
    assert inbox.messages == []  # nothing is sent inside the transaction that wrote it
    assert mailer.send_outbox(world) == 1
    assert mailer.send_outbox(world) == 0
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == [f"manager@{DOMAIN}"] and envelope.mail_from == f"muster@{DOMAIN}"
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"].strip() == \
        "Reminder: Approve the purchase (CHES-000007) is due Wed 2 Dec 2026, 17:00"
    assert message["Message-ID"] == f"<muster-outbox-{email_id}@{DOMAIN}>"
    body = message.get_content()
    assert "Hello Morgan Manager," in body and "http://localhost:5000/inbox/items/7" in body
    row = outbox_row(world, email_id)
    assert row.sent_at is not None and row.attempts == 1
    with unit_of_work(world) as s:  # a duplicate job for the same message (e.g. replayed by an operator)
        jobs.enqueue(s, "send_email", due_at=utcnow(), payload={"email_id": email_id})
    assert mailer.send_outbox(world) == 1  # the job finishes...
    assert len(inbox.messages) == 1  # ...without sending the message again


def test_the_worker_sends_mail_only_when_smtp_is_configured(
        world: Factory, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    remind_manager(world)
    monkeypatch.delenv("MUSTER_SMTP_HOST", raising=False)
    assert Worker(world, "w").run_until_idle() == 0  # mail waits in the outbox, no failed attempts
    with unit_of_work(world, read_only=True) as s:
        job = s.execute(select(Job).where(Job.kind == "send_email")).scalar_one()
        assert (job.status, job.attempts) == ("pending", 0)
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("MUSTER_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("MUSTER_SMTP_PORT", str(port))
        assert Worker(world, "w").run_until_idle() == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_an_smtp_failure_is_retried_with_backoff_and_then_delivered(
        world: Factory, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    email_id = remind_manager(world)
    port = free_port()  # nothing listens here yet
    monkeypatch.setenv("MUSTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MUSTER_SMTP_PORT", str(port))
    now = utcnow()
    assert mailer.send_outbox(world, now=now) == 0
    row = outbox_row(world, email_id)
    assert row.sent_at is None and row.attempts == 1 and "Connection refused" in (row.last_error or "")
    with unit_of_work(world, read_only=True) as s:
        job = s.execute(select(Job).where(Job.kind == "send_email")).scalar_one()
        assert job.status == "pending" and job.due_at == now + jobs.backoff(1)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert mailer.send_outbox(world, now=now + jobs.backoff(1)) == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and outbox_row(world, email_id).last_error is None


def test_a_new_work_item_is_mailed_to_its_assignee_after_the_start_commits(
        world: Factory, smtp: int, inbox: Inbox) -> None:
    with unit_of_work(world) as s:
        deploy_fixtures(s, only=("sla_review",))
    with unit_of_work(world) as s:
        instances.start_instance(s, user=user(s, "requester"), process_key="sla_review",
                                 data={"subject": "x"})
        assert inbox.messages == []
    assert Worker(world, "w").run_until_idle() == 1
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == [f"manager@{DOMAIN}"]
    assert inbox.subjects()[0].startswith("New task: Review the request (CHES-")


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_starttls_with_a_login(world: Factory, inbox: Inbox, certificate: tuple[Path, Path],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret")

    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    for name, value in {"HOST": "127.0.0.1", "PORT": str(port), "TLS": "starttls", "USER": "muster",
                        "PASSWORD": "s3cret", "CA_FILE": str(cert)}.items():
        monkeypatch.setenv(f"MUSTER_SMTP_{name}", value)
    try:
        remind_manager(world)
        assert mailer.send_outbox(world) == 1
    finally:
        controller.stop()
    assert logins == [("muster", "s3cret")] and len(inbox.messages) == 1


def test_smtp_settings_come_from_the_environment() -> None:
    assert mailer.SmtpConfig.from_env({}) is None
    config = mailer.SmtpConfig.from_env({"MUSTER_SMTP_HOST": "smtp.example.police.uk",
                                         "MUSTER_SMTP_TLS": "ssl"})
    assert config is not None and (config.port, config.security) == (465, "ssl")
    config = mailer.SmtpConfig.from_env({"MUSTER_SMTP_HOST": "mail", "MUSTER_SMTP_TLS": "STARTTLS"})
    assert config is not None and config.port == 587
    with pytest.raises(ValueError):
        mailer.SmtpConfig.from_env({"MUSTER_SMTP_HOST": "mail", "MUSTER_SMTP_TLS": "maybe"})
