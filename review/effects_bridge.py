"""A person's match carried out with the effects of an automatic one.

TEMPORARY: replaced by the ``effects`` package once it is on main (issue 11)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from matching.rules import support_reason
from notifier import compose, outbox
from store import audit
from store.models import MessageRow, OrderRow, OutgoingMailRow, ReceiptOrderRow, RenewalJobRow
from store.orderbook import mark_paid, route_to_support, to_order


def carry_out_match(session: Session, settings: Settings, receipt: MessageRow,
                    orders: list[OrderRow], paid: Decimal | None, now: datetime,
                    actor: str, why: str) -> tuple[str, list[OutgoingMailRow],
                                                   list[RenewalJobRow]]:
    mails, jobs = [], []
    outcome = "matched"
    domain = outbox.sender_address(settings).split("@")[-1]
    on: date = now.date()
    for row in orders:
        amount = paid if (len(orders) == 1 and paid) else row.amount
        why_support = support_reason(to_order(row), on)
        if why_support is not None:
            outcome = "support"
            paid_row = route_to_support(session, row.code, amount, now, why, why_support)
            mail = compose.payment_received_support(to_order(paid_row), amount,
                                                    settings.sender_name)
            key = f"payment-received-support:{row.code}:{receipt.id}"
        else:
            paid_row = mark_paid(session, row.code, amount, now, why)
            key = f"renewal:{row.code}:{receipt.id}"
            job = session.scalar(select(RenewalJobRow).where(
                RenewalJobRow.idempotency_key == key))
            if job is None:
                job = RenewalJobRow(order_id=paid_row.id, idempotency_key=key, status="pending",
                                    due_at=now + timedelta(hours=settings.renewal.delay_hours))
                session.add(job)
                audit.record(session, job, "status", "pending", reason=why, actor=actor)
            jobs.append(job)
            mail = compose.payment_received(to_order(paid_row), amount, job.due_at,
                                            settings.sender_name)
            key = f"payment-received:{row.code}:{receipt.id}"
        session.add(ReceiptOrderRow(message_id=receipt.id, order_id=paid_row.id, amount=amount))
        queued = outbox.queue(session, mail, key, paid_row.id, domain)
        if queued is not None:
            mails.append(queued)
    session.flush()
    return outcome, mails, jobs
