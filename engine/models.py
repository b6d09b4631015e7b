"""SQLAlchemy 2 models owned by the engine. No Flask here: web/ builds its db on this Base."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC (the engine stores every time in UTC)."""
    return dt.datetime.now(dt.timezone.utc)


class AwareDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC; returns aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base for every Muster table."""

    type_annotation_map = {dt.datetime: AwareDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# --- organisation -------------------------------------------------------------------------


class Force(Base):
    """A police force, region or the shared service. ``parent_code`` builds the override chain."""

    __tablename__ = "forces"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("forces.code"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrgUnit(Base):
    """A unit in a force's org structure (directorate, LPU, team)."""

    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(primary_key=True)
    force_code: Mapped[str] = mapped_column(ForeignKey("forces.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    __table_args__ = (UniqueConstraint("force_code", "parent_id", "name", name="uq_org_unit_name"),)


class User(Base):
    """A person who signs in. ``manager_id`` is the line manager used by the ``line_manager`` lane."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    force_code: Mapped[str] = mapped_column(ForeignKey("forces.code"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    roles: Mapped[list["RoleGrant"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleGrant(Base):
    """A role a user holds in a force (their own, or another for shared-service cross-force roles)."""

    __tablename__ = "role_grants"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    force_code: Mapped[str] = mapped_column(ForeignKey("forces.code"), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")
    __table_args__ = (Index("ix_role_grants_force_role", "force_code", "role"),)


class Delegation(Base):
    """Out-of-office: between the dates, work for ``user_id`` goes to ``delegate_id``."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[dt.date] = mapped_column()
    ends_on: Mapped[dt.date] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- definitions --------------------------------------------------------------------------


class Definition(Base):
    """An immutable deployed version of one artefact (process, decision or form) in one scope."""

    __tablename__ = "definitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # process | decision | form
    key: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))  # "common" or a force code
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    deployed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    __table_args__ = (
        UniqueConstraint("kind", "key", "scope", "version", name="uq_definition_version"),
        Index("ix_definitions_lookup", "kind", "key", "scope", "version"),
        Index("ix_definitions_hash", "kind", "key", "scope", "content_hash"),
    )


# --- runtime ------------------------------------------------------------------------------

OPEN_STATUSES = ("running", "waiting", "error")


class Instance(Base):
    """One running (or finished) process instance, with its serialized state and pinned bundle."""

    __tablename__ = "instances"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    force_code: Mapped[str] = mapped_column(ForeignKey("forces.code"), index=True)
    process_key: Mapped[str] = mapped_column(String(128))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    bundle: Mapped[list[Any]] = mapped_column(default=list)  # resolution trace
    business_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(Text)  # SpiffWorkflow JSON without specs
    serializer_version: Mapped[str] = mapped_column(String(16), default="")
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    current_step: Mapped[str | None] = mapped_column(String(300), nullable=True)
    data_summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)  # head of the audit chain: detects tail deletion
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    next_timer_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}
    __table_args__ = (
        Index(
            "uq_open_business_key",
            "force_code",
            "process_key",
            "business_key",
            unique=True,
            sqlite_where=text("business_key IS NOT NULL AND status IN ('running','waiting','error')"),
            postgresql_where=text("business_key IS NOT NULL AND status IN ('running','waiting','error')"),
        ),
        Index("ix_instances_force_process", "force_code", "process_key", "status"),
    )


class WorkItem(Base):
    """Projection of one READY user task: the only table inbox queries read."""

    __tablename__ = "work_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    force_code: Mapped[str] = mapped_column(ForeignKey("forces.code"))
    task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(128))
    process_key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(128), nullable=True)
    candidate_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    candidate_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    form_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    is_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 high, 2 normal, 3 low
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | cancelled
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    needs_reassignment: Mapped[bool] = mapped_column(Boolean, default=False)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", name="uq_work_item_task"),
        Index("ix_work_items_inbox_user", "force_code", "status", "assignee_id"),
        Index("ix_work_items_inbox_role", "force_code", "status", "candidate_role"),
        Index("ix_work_items_inbox_cand", "status", "candidate_user_id"),
        Index("ix_work_items_due", "status", "due_at"),
    )


class AuditEvent(Base):
    """Append-only, hash-chained per instance (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), nullable=True)
    force_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    task_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    work_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint("instance_id", "seq", name="uq_audit_seq"),
        Index("ix_audit_force_at", "force_code", "at"),
    )


class Job(Base):
    """A due timer, reminder, notification or retry; claimed by workers under a lease."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), nullable=True, index=True)
    force_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    due_at: Mapped[dt.datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|incident|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    locked_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    __table_args__ = (Index("ix_jobs_due", "status", "due_at"),)


class OutboxEmail(Base):
    """An email written in the same transaction as the change that caused it; sent after commit."""

    __tablename__ = "outbox_emails"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Notification(Base):
    """An in-app notification for one user."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    force_code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ApiToken(Base):
    """A bearer token, stored as a SHA-256 hash; expires and can be revoked."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class IdempotentRequest(Base):
    """The first response to a mutating API call with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotent_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_key"),)
