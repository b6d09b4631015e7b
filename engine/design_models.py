"""Models of the process designer: drafts of one artefact and the requests to publish them.

A draft is never resolved by running instances: only publishing (engine.deploy) makes a version.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

DRAFT_STATUSES = ("draft", "pending", "published", "rejected")


class Draft(Base):
    """Work in progress on one artefact (process, decision or form) for one scope."""

    __tablename__ = "design_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # process | decision | form
    key: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))  # "common" or a force code
    filename: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("definitions.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    problems: Mapped[list[Any]] = mapped_column(default=list)  # from the last validation
    scenarios: Mapped[list[Any]] = mapped_column(default=list)  # scenarios recorded in the designer
    published_definition_id: Mapped[int | None] = mapped_column(ForeignKey("definitions.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_design_drafts_artefact", "kind", "key", "scope", "status"),)


class PublicationRequest(Base):
    """A request to publish a draft, and the second person's decision on it."""

    __tablename__ = "design_publication_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("design_drafts.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")
    approver: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # approved | rejected
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("definitions.id"), nullable=True)
