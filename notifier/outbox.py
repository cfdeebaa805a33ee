"""The transactional outbox: a mail is queued in the same transaction as the state change
that causes it (``queue``), and sent afterwards (``deliver_due``) with retries and backoff.

Exactly once: ``event_key`` is unique, so an event queues at most one mail; a mail is marked
sent right after the transport accepts it. The one window left is a crash between the SMTP
server's acceptance and that commit: the mail is then sent again on restart (at-least-once),
which SMTP gives no way to close; it is a few milliseconds wide.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.errors import SourceUnreachable
from notifier.compose import ComposedMail
from notifier.transport import MailTransport, build_message
from store import audit
from store.models import OutgoingMailRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    sender: str
    sender_name: str
    retry_seconds: float = 60.0
    max_attempts: int = 10


def queue(session: Session, mail: ComposedMail, event_key: str, order_id: int | None,
          sender_domain: str) -> OutgoingMailRow | None:
    """Queues a mail for an event; a second call for the same event queues nothing."""
    existing = session.scalar(select(OutgoingMailRow).where(OutgoingMailRow.event_key == event_key))
    if existing is not None:
        return None
    row = OutgoingMailRow(
        event_key=event_key, template=mail.template, order_id=order_id, to_addr=mail.to,
        subject=mail.subject, body_text=mail.text, body_html=mail.html,
        message_id_header=f"<{uuid.uuid4().hex}@{sender_domain}>", status="queued",
    )
    session.add(row)
    audit.record(session, row, "status", "queued", reason=f"event {event_key}")
    return row


def deliver_due(session_factory, transport: MailTransport, policy: DeliveryPolicy,  # noqa: ANN001
                now: datetime) -> tuple[int, int]:
    """Sends every queued mail that is due; returns (sent, failed attempts)."""
    sent = failed = 0
    with session_factory() as session:
        ids = session.scalars(
            select(OutgoingMailRow.id).where(
                OutgoingMailRow.status == "queued",
                or_(OutgoingMailRow.next_attempt_at.is_(None),
                    OutgoingMailRow.next_attempt_at <= now))
            .order_by(OutgoingMailRow.id)).all()
    for mail_id in ids:
        with session_factory() as session:
            row = session.get(OutgoingMailRow, mail_id)
            if row is None or row.status != "queued":
                continue
            if _deliver_one(session, row, transport, policy, now):
                sent += 1
            else:
                failed += 1
    return sent, failed


def _deliver_one(session: Session, row: OutgoingMailRow, transport: MailTransport,
                 policy: DeliveryPolicy, now: datetime) -> bool:
    message = build_message(sender=policy.sender, sender_name=policy.sender_name,
                            to=row.to_addr, subject=row.subject, text=row.body_text,
                            html=row.body_html, message_id=row.message_id_header,
                            date=row.created_at)
    try:
        transport.send(message, row.event_key)
    except SourceUnreachable as exc:
        row.attempts += 1
        row.last_error = exc.reason
        if row.attempts >= policy.max_attempts:
            audit.change(session, row, "status", "failed",
                         reason=f"gave up after {row.attempts} attempts: {exc.reason}")
        else:
            delay = policy.retry_seconds * (2 ** (row.attempts - 1))
            row.next_attempt_at = now + timedelta(seconds=delay)
        log.warning("mail id=%s to=%s attempt=%d failed: %s", row.id, row.to_addr,
                    row.attempts, exc.reason)
        return False
    row.attempts += 1
    row.sent_at = now
    audit.change(session, row, "status", "sent", reason=f"accepted by transport for {row.to_addr}")
    log.info("mail id=%s event=%s to=%s sent", row.id, row.event_key, row.to_addr)
    return True
