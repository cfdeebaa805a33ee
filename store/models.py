"""The database schema (SQLAlchemy 2.0). Portable types only: SQLite and PostgreSQL alike.

Money is ``Numeric(12, 2)``; times are timezone-aware UTC; free-form inputs of a decision are
JSON. Changes to this file go with an Alembic migration in ``store/migrations/versions``.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from core.status import MailStatus, OrderStatus, ReceiptStatus, RenewalJobStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC, always returns aware datetimes (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None \
            else value.astimezone(UTC)


Money = Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OrderRow(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    userid: Mapped[str] = mapped_column(String(128))
    pec_address: Mapped[str] = mapped_column(String(320), index=True)
    customer_name: Mapped[str] = mapped_column(String(256))
    customer_email: Mapped[str] = mapped_column(String(320), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    expiry_date: Mapped[date] = mapped_column(Date)
    years: Mapped[int] = mapped_column(Integer)
    ordered_at: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(32), index=True, default=OrderStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    new_expiry_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # a flag for a person to look at (matching.decide: refund_review, double_payment_review,
    # underpaid_within_tolerance); the status is unaffected
    review_flag: Mapped[str | None] = mapped_column(String(32), nullable=True)
    review_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    receipts: Mapped[list[ReceiptOrderRow]] = relationship(back_populates="order")


class MessageRow(Base):
    """A receipt: one incoming message (an email, a fax, a dropped file) and its outcome."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "source_key", name="uq_messages_source_key"),
        Index("ix_messages_sha256", "sha256"),
        Index("ix_messages_status", "status"),
        Index("ix_messages_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    # identity within the source: the file's content hash for a folder; "uidvalidity:uid"
    # for IMAP. Together with ``source`` it makes a second intake of the same message a no-op.
    source_key: Mapped[str] = mapped_column(String(256))
    source_ref: Mapped[str | None] = mapped_column(String(512), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(998), nullable=True)
    sender: Mapped[str | None] = mapped_column(String(320), nullable=True)
    certified_sender: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    filename: Mapped[str | None] = mapped_column(String(512), nullable=True)
    kind: Mapped[str] = mapped_column(String(32), default="payment")
    status: Mapped[str] = mapped_column(String(32), default=ReceiptStatus.RECEIVED)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_source: Mapped[str | None] = mapped_column(String(32), nullable=True)
    metadata_json: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"),
                                                        nullable=True)
    # processing attempts, each committed before it starts; the live claim ("host:pid")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    documents: Mapped[list[DocumentRow]] = relationship(back_populates="message",
                                                        order_by="DocumentRow.id")
    extractions: Mapped[list[ExtractionRow]] = relationship(back_populates="message",
                                                            order_by="ExtractionRow.id")
    orders: Mapped[list[ReceiptOrderRow]] = relationship(back_populates="message")


class DocumentRow(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str | None] = mapped_column(String(512), nullable=True)
    content_type: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    text_source: Mapped[str | None] = mapped_column(String(32), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    message: Mapped[MessageRow] = relationship(back_populates="documents")


class ExtractionRow(Base):
    """Fields read from one document (``document_id`` set) or combined for the message."""

    __tablename__ = "extractions"
    __table_args__ = (Index("ix_extractions_amount_payment_date", "amount", "payment_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True)
    codes: Mapped[list] = mapped_column(JSON, default=list)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True, index=True)
    transfer_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payment_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    payer: Mapped[str | None] = mapped_column(String(256), nullable=True)
    method: Mapped[str] = mapped_column(String(32), default="unknown")
    text_source: Mapped[str | None] = mapped_column(String(32), nullable=True)
    evidence: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    message: Mapped[MessageRow] = relationship(back_populates="extractions")


class MatchDecisionRow(Base):
    __tablename__ = "match_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    order_codes: Mapped[list] = mapped_column(JSON, default=list)
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    flags: Mapped[list | None] = mapped_column(JSON, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(128), default="daemon")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReceiptOrderRow(Base):
    """Which receipts paid which orders (one payment may cover several orders)."""

    __tablename__ = "receipt_orders"
    __table_args__ = (UniqueConstraint("message_id", "order_id",
                                       name="uq_receipt_orders_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[MessageRow] = relationship(back_populates="orders")
    order: Mapped[OrderRow] = relationship(back_populates="receipts")


class RenewalJobRow(Base):
    __tablename__ = "renewal_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    # one renewal per payment event: a retried or replayed event never renews twice
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(32), default=RenewalJobStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutgoingMailRow(Base):
    """The transactional outbox: queued with the state change, sent afterwards."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # one mail per event, e.g. "payment-received:RLM95055:12": never sent twice
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True,
                                                 index=True)
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id_header: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditRow(Base):
    """Every state change: what, from what to what, when, why, and by whom."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))  # "daemon" or "person:<login>"
    entity: Mapped[str] = mapped_column(String(32))  # "order", "message", "renewal", "mail"
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
