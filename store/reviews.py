"""Tables of the review web UI: the people who use it, their login attempts, each queued
receipt's review state (version, who has it open, who decided), and every person's action.

Kept apart from ``store.models`` so the pipeline's schema reads on its own; same metadata,
same portable types. Migration: ``versions/0003_i12_review.py``.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, Money, UTCDateTime, utcnow

ACCOUNTANT, VIEWER = "accountant", "viewer"
ROLES = (ACCOUNTANT, VIEWER)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # part of every session cookie: bumped on disable or password change, ending all sessions
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttemptRow(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_name_at", "name", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReceiptReviewRow(Base):
    """A receipt's review state, and the queue's sort and search keys (kept here so the
    queue is one indexed query however many receipts wait)."""

    __tablename__ = "receipt_reviews"
    __table_args__ = (Index("ix_receipt_reviews_queue", "expiry_date", "queued_at"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    # every decision bumps it; a decision made on an older version is refused
    version: Mapped[int] = mapped_column(Integer, default=1)
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the earliest expiry among the receipt's pending candidate orders (None: no candidate)
    expiry_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason_kind: Mapped[str] = mapped_column(String(32), default="other", index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    method: Mapped[str | None] = mapped_column(String(32), nullable=True)
    top_candidate: Mapped[str | None] = mapped_column(String(32), nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="")


class ReviewActionRow(Base):
    """What a person did to a receipt: match, dismiss, duplicate, proof request, requeue,
    undo. A match carries its undo window."""

    __tablename__ = "review_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    order_codes: Mapped[list] = mapped_column(JSON, default=list)
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    undo_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
