"""What an operator and several workers need from the database: per-source poll results
(``status``), intake claims (one worker takes a message in, the others pass it by), and the
service's figures at a glance.

A claim is a row with a unique (source, identity) and a lease, committed before the work
starts: a worker that finds a live claim of another skips the message (it does not wait for
it); a claim whose lease has expired (its worker died) is taken over by a conditional
UPDATE, so only one taker wins. The claim only spreads the work: exactly-once itself rests on
the unique (source, source_key) of ``messages`` and the guarded payment of an order.
"""
from __future__ import annotations

import os
import re
import socket
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Text, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import (
    Base,
    MessageRow,
    OutgoingMailRow,
    RenewalJobRow,
    UTCDateTime,
)

REVIEW_STATUSES = ("unmatched",)
IN_FLIGHT_STATUSES = ("received",)  # recorded, not yet decided (a worker is on it)


def worker_id() -> str:
    """Who holds a claim: host and process, enough for an operator to find it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SourcePollRow(Base):
    __tablename__ = "source_polls"

    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    messages_taken: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)


class IntakeClaimRow(Base):
    __tablename__ = "intake_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    source_key: Mapped[str] = mapped_column(String(256))
    worker: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)


# --- poll results -------------------------------------------------------------------------

def record_poll(session: Session, source: str, now: datetime, error: str | None,
                taken: int = 0) -> None:
    """One poll of ``source`` ended at ``now``: fine (``error`` None) or with that error."""
    row = session.get(SourcePollRow, source, with_for_update=True)
    if row is None:
        row = SourcePollRow(source=source, messages_taken=0)
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # another worker recorded the first poll at the same moment
            session.rollback()
            row = session.get(SourcePollRow, source, with_for_update=True,
                              populate_existing=True)
    row.last_poll_at = now
    row.worker = worker_id()
    row.messages_taken = (row.messages_taken or 0) + taken
    if error is None:
        row.last_ok_at = now
        row.last_error = None
    else:
        row.last_error = error[:2000]
        row.last_error_at = now


# --- claims -------------------------------------------------------------------------------

def claim(session: Session, source: str, source_key: str, now: datetime,
          lease_seconds: float, worker: str | None = None) -> bool:
    """Claims a message for this worker, in a session of its own that the caller commits at
    once; False when another worker holds a live claim on it. (No SAVEPOINT: SQLite's
    driver does not keep them reliably; a failed insert rolls the whole short session back.)"""
    worker = worker or worker_id()
    lease = now + timedelta(seconds=lease_seconds)
    session.add(IntakeClaimRow(source=source, source_key=source_key, worker=worker,
                               claimed_at=now, lease_until=lease))
    try:
        session.flush()
        return True
    except IntegrityError:
        session.rollback()
    holder = session.scalar(select(IntakeClaimRow.worker).where(
        IntakeClaimRow.source == source, IntakeClaimRow.source_key == source_key))
    if holder is None:
        return False  # released meanwhile: the message is settled, or is seen next time
    return _take_over(session, source, source_key, holder, worker, now, lease)


def _take_over(session: Session, source: str, source_key: str, holder: str, worker: str,
               now: datetime, lease: datetime) -> bool:
    """Takes a held message from ``holder`` when the hold is ours, its process is gone, or
    its lease ran out; the conditional UPDATE is the guard against a racing worker."""
    takeover = IntakeClaimRow.lease_until < now
    if holder == worker or _dead_here(holder):
        takeover = IntakeClaimRow.worker == holder  # ours, or its process is gone
    taken = session.execute(
        update(IntakeClaimRow)
        .where(IntakeClaimRow.source == source, IntakeClaimRow.source_key == source_key,
               takeover)
        .values(worker=worker, claimed_at=now, lease_until=lease)
        .execution_options(synchronize_session=False))
    return taken.rowcount == 1


def claim_many(session: Session, source: str, source_keys: list[str], now: datetime,
               lease_seconds: float, worker: str | None = None) -> set[str]:
    """``claim`` for a batch, in one transaction: the keys this worker holds afterwards
    (new claims, its own, and those of workers that died or whose lease ran out). A key
    another worker claims at the same moment is simply not granted (``ON CONFLICT DO
    NOTHING``: no failed insert, no rollback of the others)."""
    worker = worker or worker_id()
    lease = now + timedelta(seconds=lease_seconds)
    keys = list(dict.fromkeys(source_keys))
    held = dict(session.execute(select(IntakeClaimRow.source_key, IntakeClaimRow.worker).where(
        IntakeClaimRow.source == source, IntakeClaimRow.source_key.in_(keys))).all())
    fresh = [key for key in keys if key not in held]
    granted: set[str] = set()
    if fresh:
        insert = _insert_for(session)
        granted.update(session.scalars(
            insert(IntakeClaimRow)
            .values([{"source": source, "source_key": key, "worker": worker,
                      "claimed_at": now, "lease_until": lease} for key in fresh])
            .on_conflict_do_nothing(index_elements=["source", "source_key"])
            .returning(IntakeClaimRow.source_key)))
    granted.update(key for key, holder in held.items()
                   if _take_over(session, source, key, holder, worker, now, lease))
    return granted


def _insert_for(session: Session):  # noqa: ANN202
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _dead_here(holder: str) -> bool:
    """The claim's worker ran on this host and its process is gone (killed, crashed): no
    need to wait for its lease to expire."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def renew(session: Session, keys: list[tuple[str, str]], now: datetime, lease_seconds: float,
          worker: str | None = None) -> None:
    """Keeps this worker's claims alive while it is still on them (a long OCR)."""
    worker = worker or worker_id()
    for source, source_key in keys:
        session.execute(update(IntakeClaimRow).where(
            IntakeClaimRow.source == source, IntakeClaimRow.source_key == source_key,
            IntakeClaimRow.worker == worker)
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False))


def release(session: Session, source: str, source_key: str | list[str]) -> None:
    """The message's (or messages') outcome is in and it has been moved out of the source
    (or the move failed): the claim is no more."""
    keys = [source_key] if isinstance(source_key, str) else list(source_key)
    if not keys:
        return
    session.execute(delete(IntakeClaimRow).where(IntakeClaimRow.source == source,
                                                 IntakeClaimRow.source_key.in_(keys))
                    .execution_options(synchronize_session=False))


# --- the service at a glance ----------------------------------------------------------------

_REASON_KINDS: tuple[tuple[str, str], ...] = (
    ("possible double payment", "double_payment"),
    ("which is not ours", "foreign_iban"),
    ("neither an order code", "no_code_no_amount"),
    ("no amount found", "no_amount"),
    ("no order code", "no_code"),
    ("no such order", "unknown_code"),
    ("names another customer", "other_customers_order"),
    ("may be misread", "code_uncertain"),
    ("one-character slip", "code_uncertain"),
    ("not eur", "currency"),
    ("is before order", "payment_date"),
    ("short of", "amount_short"),
    ("matches neither", "amount_mismatch"),
    ("is not equal", "amount_mismatch"),
    ("no readable text", "unreadable"),
    ("ocr found no words", "unreadable"),
)


def reason_kind(reason: str | None) -> str:
    """A short, stable name for why a receipt waits in review (for ``by_reason``)."""
    text = (reason or "").lower()
    first = text.split("; also:")[0]
    for needle, kind in _REASON_KINDS:
        if needle in first:
            return kind
    if not text:
        return "unknown"
    return re.sub(r"[^a-z]+", "_", first.split(";")[0])[:40].strip("_") or "other"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def overview(session: Session, configured: list[tuple[str, str]], now: datetime,
             classify: Callable[[str | None], str] = reason_kind) -> dict[str, Any]:
    """The ``status --json`` object (CONTRACT.md, Operations), from the database alone.
    ``classify`` names a review reason's kind (the review UI's own, from the app)."""
    polls = {row.source: row for row in session.scalars(select(SourcePollRow))}
    sources = []
    for name, kind in configured + [(n, None) for n in sorted(polls)
                                    if n not in {c[0] for c in configured}]:
        row = polls.get(name)
        sources.append({
            "name": name, "kind": kind,
            "last_poll_at": _iso(row.last_poll_at) if row else None,
            "last_ok_at": _iso(row.last_ok_at) if row else None,
            "last_error": row.last_error if row else None,
            "last_error_at": _iso(row.last_error_at) if row else None,
            "messages_taken": row.messages_taken if row else 0,
            "configured": kind is not None,
        })
    review = session.execute(select(MessageRow.reason, MessageRow.received_at)
                             .where(MessageRow.status.in_(REVIEW_STATUSES))).all()
    by_reason = Counter(classify(reason) for reason, _ in review)
    statuses = dict(session.execute(select(MessageRow.status, func.count())
                                    .group_by(MessageRow.status)).all())
    mail = dict(session.execute(select(OutgoingMailRow.status, func.count())
                                .group_by(OutgoingMailRow.status)).all())
    oldest_mail = session.scalar(select(func.min(OutgoingMailRow.created_at))
                                 .where(OutgoingMailRow.status == "queued"))
    due = session.scalar(select(func.count()).select_from(RenewalJobRow).where(
        RenewalJobRow.status == "pending", RenewalJobRow.due_at <= now)) or 0
    jobs = dict(session.execute(select(RenewalJobRow.status, func.count())
                                .group_by(RenewalJobRow.status)).all())
    claims = session.scalar(select(func.count()).select_from(IntakeClaimRow)) or 0
    return {
        "generated_at": _iso(now),
        "sources": sources,
        "review_queue": {
            "count": len(review),
            "oldest_at": _iso(min((at for _, at in review), default=None)),
            "by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
        "outbox": {"queued": mail.get("queued", 0), "failed": mail.get("failed", 0),
                   "sent": mail.get("sent", 0), "oldest_queued_at": _iso(oldest_mail)},
        "renewals": {"due": due, "failed": jobs.get("failed", 0),
                     "pending": jobs.get("pending", 0), "done": jobs.get("done", 0)},
        "receipts": {"by_status": dict(sorted(statuses.items())),
                     "in_flight": sum(statuses.get(s, 0) for s in IN_FLIGHT_STATUSES),
                     "claims": claims},
    }


# --- retention of originals -------------------------------------------------------------------

KEEP_STATUSES = ("unmatched", "received", "awaiting_bank")  # a person or the bank still owes


def prunable_originals(session: Session, cutoff: datetime) -> list[str]:
    """SHA-256s of originals every receipt of which arrived before ``cutoff`` and is settled:
    none is in review, being processed, or waiting for the bank."""
    rows = session.execute(select(MessageRow.sha256, func.max(MessageRow.received_at))
                           .group_by(MessageRow.sha256)).all()
    keep = set(session.scalars(select(MessageRow.sha256).where(
        MessageRow.status.in_(KEEP_STATUSES))))
    return sorted(d for d, newest in rows if newest < cutoff and d not in keep)
