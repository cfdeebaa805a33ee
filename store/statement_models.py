"""Bank statements in the database: the files imported, their lines, the references of each
line (indexed: a proof's CRO/TRN is looked up among them), and which orders a line paid or
confirmed. Same Base and portable types as ``store.models``; migration
``0003_i15_statements``."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.status import StatementLineStatus
from store.models import Base, Money, UTCDateTime, utcnow

# line statuses (CONTRACT.md)
MATCHED, UNMATCHED, IGNORED = (StatementLineStatus.MATCHED, StatementLineStatus.UNMATCHED,
                               StatementLineStatus.IGNORED)
# what a line did for an order
PAID, CONFIRMED = "paid", "confirmed"


class StatementFileRow(Base):
    """One statement file as it came in (the original bytes are in the originals store)."""

    __tablename__ = "statement_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    accounts: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="imported")  # or "refused"
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    lines_read: Mapped[int] = mapped_column(Integer, default=0)
    lines_new: Mapped[int] = mapped_column(Integer, default=0)
    lines_known: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[list] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128), default="import")


class StatementLineRow(Base):
    """One transaction the bank reported. Identity: account, booking date, amount,
    direction and bank reference (``fingerprint``), so a re-import or an overlapping
    statement adds nothing."""

    __tablename__ = "statement_lines"
    __table_args__ = (Index("ix_statement_lines_day_amount", "account", "booking_date",
                            "amount"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("statement_files.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    account: Mapped[str] = mapped_column(String(64))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    direction: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(String(140), nullable=True)
    references: Mapped[list] = mapped_column(JSON, default=list)
    remittance: Mapped[str] = mapped_column(Text, default="")
    payer: Mapped[str | None] = mapped_column(String(256), nullable=True)
    payer_account: Mapped[str | None] = mapped_column(String(64), nullable=True)
    counterparty: Mapped[str | None] = mapped_column(String(256), nullable=True)
    bank_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True, default=UNMATCHED)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the proof of payment (a receipt) this line was joined to, when there is one
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True,
                                                   index=True)
    decision: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    refs: Mapped[list[StatementRefRow]] = relationship(back_populates="line")
    orders: Mapped[list[StatementLineOrderRow]] = relationship(back_populates="line")


class StatementRefRow(Base):
    """Every reference of a line, one row each, normalised (upper case, no blanks)."""

    __tablename__ = "statement_refs"
    __table_args__ = (UniqueConstraint("line_id", "value", name="uq_statement_refs_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("statement_lines.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(140), index=True)

    line: Mapped[StatementLineRow] = relationship(back_populates="refs")


class StatementLineOrderRow(Base):
    """An order a line paid (the line was the evidence) or confirmed (a proof paid it)."""

    __tablename__ = "statement_line_orders"
    __table_args__ = (UniqueConstraint("line_id", "order_id",
                                       name="uq_statement_line_orders_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("statement_lines.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    line: Mapped[StatementLineRow] = relationship(back_populates="orders")
