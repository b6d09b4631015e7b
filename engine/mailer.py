"""Sending the email outbox over SMTP (smtplib), after the transaction that wrote it has committed.

Each outbox row has a ``send_email`` job; a worker holding the job's lease reads the row, delivers it outside
any transaction, then marks the row sent and the job done in one transaction. A row already sent is never
sent again. Settings come from ``MUSTER_SMTP_*``; with no host configured, mail waits in the outbox.
"""
from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy.orm import Session, sessionmaker

from . import jobs
from .calendar import utcnow
from .db import unit_of_work
from .models import OutboxEmail

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail."""

    host: str
    port: int = 25
    security: str = "none"  # starttls | ssl | none
    user: str | None = None
    password: str | None = None
    sender: str = "muster@localhost"
    timeout: float = 30.0
    ca_file: str | None = None  # a private CA for the server's certificate (else the system's CAs)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpConfig | None:
        """``MUSTER_SMTP_HOST``, ``_PORT``, ``_TLS`` (starttls|ssl|none), ``_USER``, ``_PASSWORD``, ``_FROM``,
        ``_TIMEOUT``, ``_CA_FILE``; None when no host is set (mail is then kept in the outbox)."""
        env = os.environ if env is None else env
        host = env.get("MUSTER_SMTP_HOST", "").strip()
        if not host:
            return None
        security = env.get("MUSTER_SMTP_TLS", "none").strip().lower() or "none"
        if security not in SECURITY:
            raise ValueError(f"MUSTER_SMTP_TLS must be one of {', '.join(SECURITY)}, not {security!r}")
        port = int(env.get("MUSTER_SMTP_PORT") or DEFAULT_PORTS[security])
        return cls(host, port, security, env.get("MUSTER_SMTP_USER") or None,
                   env.get("MUSTER_SMTP_PASSWORD") or None, env.get("MUSTER_SMTP_FROM") or "muster@localhost",
                   float(env.get("MUSTER_SMTP_TIMEOUT") or 30), env.get("MUSTER_SMTP_CA_FILE") or None)


def configured() -> bool:
    """Is an SMTP host configured? (Workers leave ``send_email`` jobs alone until it is.)"""
    return SmtpConfig.from_env() is not None


def build_message(email: OutboxEmail, sender: str) -> EmailMessage:
    """The message for one outbox row; its Message-ID is stable, so a receiver can drop a rare resend."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to_address
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(email.created_at)
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    msg["Message-ID"] = f"<muster-outbox-{email.id}@{domain}>"
    msg.set_content(email.body)
    return msg


def deliver(config: SmtpConfig, msg: EmailMessage) -> None:
    """Send one message over SMTP; raises smtplib/OSError errors."""
    context = ssl.create_default_context(cafile=config.ca_file)
    smtp: smtplib.SMTP
    if config.security == "ssl":
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with smtp:
        if config.security == "starttls":
            smtp.starttls(context=context)
        if config.user:
            smtp.login(config.user, config.password or "")
        smtp.send_message(msg)


def send_email_job(ctx: jobs.JobContext) -> None:
    """Job handler for kind ``send_email``; it manages its own transactions so none is open during SMTP."""
    config = SmtpConfig.from_env()
    if config is None:
        raise RuntimeError("No SMTP server is configured (set MUSTER_SMTP_HOST).")
    email_id = int(ctx.job.payload["email_id"])
    with unit_of_work(ctx.session_factory, read_only=True) as s:
        row = s.get(OutboxEmail, email_id)
        msg = build_message(row, config.sender) if row is not None and row.sent_at is None else None
    if msg is None:
        with unit_of_work(ctx.session_factory) as s:
            ctx.complete(s)  # gone or already sent: each message is sent once
        return
    try:
        deliver(config, msg)
    except Exception as exc:
        _note_failure(ctx.session_factory, email_id, exc)
        raise
    with unit_of_work(ctx.session_factory) as s:
        ctx.complete(s)
        row = s.get(OutboxEmail, email_id, with_for_update=True)
        if row is not None:
            row.sent_at, row.attempts, row.last_error = ctx.clock(), row.attempts + 1, None


def _note_failure(session_factory: sessionmaker[Session], email_id: int, exc: Exception) -> None:
    with unit_of_work(session_factory) as s:
        row = s.get(OutboxEmail, email_id)
        if row is not None:
            row.attempts, row.last_error = row.attempts + 1, f"{type(exc).__name__}: {exc}"[:2000]


def send_outbox(session_factory: sessionmaker[Session], *, worker_id: str = "mailer",
                now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send the due outbox emails now (claiming their jobs like a worker); returns how many were sent."""
    register()
    when = now or utcnow()
    sent = 0
    for job in jobs.claim(session_factory, worker_id, now=when, limit=limit, kinds=["send_email"]):
        if jobs.run_claimed(session_factory, job, worker_id, lambda: when) == "done":
            sent += 1
    return sent


def register() -> None:
    """Register the mail job handler."""
    jobs.register("send_email", send_email_job, own_transactions=True)
