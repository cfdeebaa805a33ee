"""The transactional outbox: a mail is queued in the same transaction as the state change
that causes it (``queue``), and sent afterwards (``deliver_due``) with retries and backoff.

Exactly once, as far as SMTP allows:

1. ``event_key`` is unique: an event (a payment, a renewal) queues at most one mail, and a
   replayed event queues nothing.
2. Before sending, a mail is *claimed*: a conditional UPDATE, committed, moves its
   ``next_attempt_at`` a lease ahead and counts the attempt. Two deliverers (the scheduler
   thread, a ``poll --once`` in another process) can never both send it.
3. Right after the SMTP server accepts it (its 250 reply to the end of DATA), the mail is
   marked ``sent`` in a short transaction of its own.

The one window left is between 3's acceptance and 3's commit (a crash, a kill -9, a lost
database): the mail is then sent again once its lease expires. SMTP has no way to ask a
server "did you already take this one?", so that window cannot be closed, only kept small:
no work at all happens between the 250 and the commit, and the copy carries the same
``Message-ID`` so mail clients can tell it is the same message. It is at-least-once there,
never at-most-once: a confirmation sent twice is better than one lost.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from core.errors import SourceUnreachable
from core.status import MailStatus
from notifier.compose import ComposedMail
from notifier.transport import MailRejected, MailTransport, build_message
from store import audit
from store.models import OutgoingMailRow

log = logging.getLogger(__name__)

DEFAULT_SENDER = "amministrazione@example.it"
MAX_BACKOFF_SECONDS = 6 * 3600.0
# A transport without a conversation (a file written to a folder) still gets a deadline.
FOLDER_DEADLINE_SECONDS = 30.0


def lease_for(deadline_seconds: float) -> float:
    """How long a claimed mail is left alone: the transport's deadline for one whole send
    plus a margin (recording the result, clocks of several machines a little apart), and no
    longer, so a mail whose sender died is retried soon."""
    return deadline_seconds + max(5.0, deadline_seconds / 2)

SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class DeliveryPolicy:
    sender: str
    sender_name: str
    retry_seconds: float = 60.0
    max_attempts: int = 10
    # how long a claimed mail is left alone: the transport's deadline plus a margin
    lease_seconds: float = lease_for(FOLDER_DEADLINE_SECONDS)


def sender_address(settings) -> str:  # noqa: ANN001 (config.settings.Settings)
    return settings.smtp.sender if settings.smtp else DEFAULT_SENDER


def backoff_seconds(retry_seconds: float, attempts: int) -> float:
    """Exponential: retry_seconds, 2x, 4x, ... after the 1st, 2nd, 3rd failed attempt."""
    return min(retry_seconds * (2 ** max(attempts - 1, 0)), MAX_BACKOFF_SECONDS)


def queue(session: Session, mail: ComposedMail, event_key: str, order_id: int | None,
          sender_domain: str) -> OutgoingMailRow | None:
    """Queues a mail for an event; a second call for the same event queues nothing.

    Call it inside the transaction that makes the change the mail reports: both commit or
    neither does. (The unique ``event_key`` also stops a concurrent duplicate at commit.)"""
    existing = session.scalar(select(OutgoingMailRow).where(OutgoingMailRow.event_key == event_key))
    if existing is not None:
        return None
    row = OutgoingMailRow(
        event_key=event_key, template=mail.template, order_id=order_id, to_addr=mail.to,
        subject=mail.subject, body_text=mail.text, body_html=mail.html,
        message_id_header=f"<{uuid.uuid4().hex}@{sender_domain}>", status=MailStatus.QUEUED,
    )
    session.add(row)
    audit.record(session, row, "status", MailStatus.QUEUED, reason=f"event {event_key}")
    return row


def _due_by_time(now: datetime):  # noqa: ANN202 (a SQLAlchemy clause)
    return (OutgoingMailRow.status == MailStatus.QUEUED) & or_(
        OutgoingMailRow.next_attempt_at.is_(None), OutgoingMailRow.next_attempt_at <= now)


def due_filter(now: datetime):  # noqa: ANN201 (a SQLAlchemy clause)
    """Queued, due, and no earlier mail of the same order still unsent: the mails of one
    order leave in the order of their events ('Pagamento ricevuto' before 'Rinnovo
    effettuato'), even when the earlier one is held by a lease or waits for a retry."""
    earlier = aliased(OutgoingMailRow)
    held_back = exists().where(earlier.order_id == OutgoingMailRow.order_id,
                               earlier.status == MailStatus.QUEUED,
                               earlier.id < OutgoingMailRow.id)
    return (OutgoingMailRow.status == MailStatus.QUEUED) & or_(
        OutgoingMailRow.next_attempt_at.is_(None), OutgoingMailRow.next_attempt_at <= now) \
        & (OutgoingMailRow.order_id.is_(None) | ~held_back)


def next_due(session: Session) -> datetime | None:
    """When the earliest queued mail is due (for the scheduler's wake-up). A mail held back
    behind an earlier one of its order is not due before that one is: only the first queued
    mail of each order counts, so a held mail does not wake the scheduler in vain."""
    rows = session.execute(select(OutgoingMailRow.order_id, OutgoingMailRow.next_attempt_at,
                                  OutgoingMailRow.created_at)
                           .where(OutgoingMailRow.status == MailStatus.QUEUED)
                           .order_by(OutgoingMailRow.id)).all()
    seen: set[int] = set()
    times = []
    for order_id, nxt, created in rows:
        if order_id is not None:
            if order_id in seen:
                continue
            seen.add(order_id)
        times.append(nxt or created)
    return min(times, default=None)


def deliver_due(session_factory: SessionFactory, transport: MailTransport,
                policy: DeliveryPolicy, now: datetime) -> tuple[int, int]:
    """Sends every queued mail that is due; returns (sent, failed attempts)."""
    sent = failed = 0
    with session_factory() as session:
        # due by time; whether an earlier mail of the order holds one back is decided at
        # its claim, after the earlier ones of this same run were sent (or were not)
        ids = session.scalars(select(OutgoingMailRow.id).where(_due_by_time(now))
                              .order_by(OutgoingMailRow.id)).all()
    for mail_id in ids:
        claimed = _claim(session_factory, mail_id, policy, now)
        if claimed is None:
            continue  # another deliverer has it, or it was sent meanwhile
        if _send(session_factory, mail_id, *claimed, transport, policy, now):
            sent += 1
        else:
            failed += 1
    return sent, failed


def _claim(session_factory: SessionFactory, mail_id: int, policy: DeliveryPolicy,
           now: datetime) -> tuple[str, EmailMessage] | None:
    """Takes a due mail for this deliverer (committed before anything is sent)."""
    with session_factory() as session:
        # SKIP LOCKED (PostgreSQL): a mail another deliverer is claiming is passed by; the
        # conditional UPDATE below is the guard on every database
        locked = session.scalar(select(OutgoingMailRow.id).where(
            OutgoingMailRow.id == mail_id, due_filter(now)).with_for_update(skip_locked=True))
        if locked is None:
            return None
        taken = session.execute(
            update(OutgoingMailRow)
            .where(OutgoingMailRow.id == mail_id, due_filter(now))
            .values(next_attempt_at=now + timedelta(seconds=policy.lease_seconds),
                    attempts=OutgoingMailRow.attempts + 1)
            .execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            return None
        row = session.get(OutgoingMailRow, mail_id)
        try:
            message = build_message(sender=policy.sender, sender_name=policy.sender_name,
                                    to=row.to_addr, subject=row.subject, text=row.body_text,
                                    html=row.body_html, message_id=row.message_id_header,
                                    date=row.created_at)
        except (ValueError, TypeError) as exc:
            # a mail that cannot even be written (a header with a line break...) would fail
            # the same way forever: it fails now, visibly, instead of blocking the queue
            row.next_attempt_at = None
            row.last_error = f"cannot build the message: {exc}"
            audit.change(session, row, "status", MailStatus.FAILED, reason=row.last_error)
            log.error("mail id=%s to=%r failed: %s", mail_id, row.to_addr, row.last_error)
            return None
        return row.event_key, message


def _send(session_factory: SessionFactory, mail_id: int, key: str, message: EmailMessage,
          transport: MailTransport, policy: DeliveryPolicy, now: datetime) -> bool:
    """Sends a claimed mail, then records the result in a transaction of its own (no
    database transaction is held open during the SMTP conversation)."""
    try:
        transport.send(message, key)
    except (SourceUnreachable, MailRejected) as exc:
        with session_factory() as session:
            _record_failure(session, session.get(OutgoingMailRow, mail_id), exc, policy, now)
        return False
    except Exception as exc:  # noqa: BLE001 - a bug in a transport: retried, never lost
        log.exception("mail id=%s event=%s: internal error in send", mail_id, key)
        failure = SourceUnreachable(f"internal error in send: {type(exc).__name__}: "
                                    + " ".join(str(exc).split())[:300])
        with session_factory() as session:
            _record_failure(session, session.get(OutgoingMailRow, mail_id), failure, policy,
                            now)
        return False
    with session_factory() as session:
        row = session.get(OutgoingMailRow, mail_id)
        row.sent_at = now
        row.next_attempt_at = None
        audit.change(session, row, "status", MailStatus.SENT,
                     reason=f"accepted by transport for {row.to_addr} "
                            f"(attempt {row.attempts})")
    log.info("mail id=%s event=%s to=%s sent", mail_id, key, message["To"])
    return True


def _record_failure(session: Session, row: OutgoingMailRow, exc: SourceUnreachable | MailRejected,
                    policy: DeliveryPolicy, now: datetime) -> None:
    row.last_error = exc.reason
    if isinstance(exc, MailRejected) or row.attempts >= policy.max_attempts:
        why = "refused for good" if isinstance(exc, MailRejected) else \
            f"gave up after {row.attempts} attempts"
        row.next_attempt_at = None
        audit.change(session, row, "status", MailStatus.FAILED, reason=f"{why}: {exc.reason}")
        log.error("mail id=%s to=%s failed: %s: %s", row.id, row.to_addr, why, exc.reason)
        return
    delay = backoff_seconds(policy.retry_seconds, row.attempts)
    row.next_attempt_at = now + timedelta(seconds=delay)
    log.warning("mail id=%s to=%s attempt=%d failed, next in %.0fs: %s", row.id, row.to_addr,
                row.attempts, delay, exc.reason)
