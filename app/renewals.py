"""Due renewal jobs: paid -> renewed (or renewal_failed), through the provisioning adapter.

A job is created with the payment (``effects.pay_order``), due ``renewal.delay_hours``
later, and lives in the database, so nothing is lost on restart. ``run_due`` runs every job
that is due, each in three short steps:

1. *claim* (committed): a conditional UPDATE counts the attempt and moves ``next_attempt_at``
   a lease ahead, so two runners never work on the same job at once;
2. *renew*: the adapter call, outside any transaction, with the job's idempotency key: a
   call repeated after a crash or a timeout never renews twice;
3. *record* (committed): job done, order renewed with its new expiry, and the renewal-done
   mail queued, in one transaction (the transactional outbox). Or, on failure, a retry
   after exponential backoff, and after ``renewal.max_attempts`` the order goes to
   ``renewal_failed`` with the reason.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app import metrics
from app.provisioning import ProvisioningAdapter, ProvisioningFailed, RenewalRequest, adapter_for
from config.settings import Settings
from core.status import OrderStatus, RenewalJobStatus
from effects import schedule_renewal
from matching import renewal as rule
from notifier import compose, outbox
from store import audit
from store.db import Database
from store.models import OrderRow, RenewalJobRow
from store.orderbook import to_order

log = logging.getLogger("pec_intake.renewals")

LOCAL_TIME = ZoneInfo("Europe/Rome")  # the guides' dates are Italian calendar days
PENDING, DONE, FAILED, CANCELLED = (RenewalJobStatus.PENDING, RenewalJobStatus.DONE,
                                    RenewalJobStatus.FAILED, RenewalJobStatus.CANCELLED)
PAID, RENEWED, RENEWAL_FAILED = OrderStatus.PAID, OrderStatus.RENEWED, OrderStatus.RENEWAL_FAILED


# scheduling is one of a payment's effects (effects.apply); kept here for older imports
schedule = schedule_renewal


def run_due(db: Database, settings: Settings, now: datetime,
            adapter: ProvisioningAdapter | None = None) -> int:
    """Runs every renewal job due at ``now``; returns how many orders were renewed."""
    adapter = adapter or adapter_for(settings.renewal)
    with db.session() as session:
        ids = session.scalars(select(RenewalJobRow.id).where(_due(now))
                              .order_by(RenewalJobRow.due_at, RenewalJobRow.id)).all()
    renewed = 0
    for job_id in ids:
        try:
            renewed += _run_one(db, job_id, adapter, settings, now)
        except Exception as exc:  # a bug of ours or bad data: this job waits, others go on
            log.exception("renewal job #%s: unexpected error", job_id)
            try:
                with db.session() as session:
                    _record_failure(session, job_id, ProvisioningFailed(
                        f"unexpected error: {type(exc).__name__}: {exc}"), settings, now)
            except Exception:  # the claim's lease still holds the job back; go on
                log.exception("renewal job #%s: the failure could not be recorded", job_id)
    return renewed


def _run_one(db: Database, job_id: int, adapter: ProvisioningAdapter, settings: Settings,
             now: datetime) -> int:
    with db.session() as session:
        request = _claim(session, job_id, settings, now)
    if request is None:
        return 0
    try:
        done = adapter.renew(request)
    except ProvisioningFailed as exc:
        with db.session() as session:
            _record_failure(session, job_id, exc, settings, now)
        return 0
    with db.session() as session:
        return _record_renewed(session, job_id, done.new_expiry, done.reference, settings, now)


def next_due(session: Session) -> datetime | None:
    """When the earliest pending job becomes due (for the scheduler's wake-up)."""
    times = [max(due, nxt) if nxt else due for due, nxt in session.execute(
        select(RenewalJobRow.due_at, RenewalJobRow.next_attempt_at)
        .where(RenewalJobRow.status == PENDING))]
    return min(times, default=None)


def _due(now: datetime):  # noqa: ANN202 (a SQLAlchemy clause)
    return (RenewalJobRow.status == PENDING) & (RenewalJobRow.due_at <= now) & or_(
        RenewalJobRow.next_attempt_at.is_(None), RenewalJobRow.next_attempt_at <= now)


def _lease_seconds(settings: Settings, attempts: int) -> float:
    """Long enough for one adapter call; a crashed attempt is retried after it."""
    backoff = outbox.backoff_seconds(settings.renewal.retry_seconds, attempts)
    return max(backoff, 2 * settings.renewal.http_timeout_seconds + 30)


def _claim(session: Session, job_id: int, settings: Settings,
           now: datetime) -> RenewalRequest | None:
    """Takes a due job for this runner, or settles it at once when it cannot be renewed."""
    # SKIP LOCKED (PostgreSQL; SQLite ignores it and has one writer at a time anyway): a job
    # another worker is claiming right now is passed by, not waited for
    job = session.scalar(select(RenewalJobRow).where(RenewalJobRow.id == job_id)
                         .with_for_update(skip_locked=True))
    if job is None or job.status != PENDING:
        return None
    taken = session.execute(
        update(RenewalJobRow).where(RenewalJobRow.id == job_id, RenewalJobRow.attempts ==
                                    job.attempts, _due(now))
        .values(attempts=job.attempts + 1,
                next_attempt_at=now + timedelta(seconds=_lease_seconds(settings,
                                                                       job.attempts + 1)))
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return None  # another runner claimed it first
    session.refresh(job)
    order = session.get(OrderRow, job.order_id)
    if order.status != PAID:
        audit.change(session, job, "status", CANCELLED,
                     reason=f"order {order.code} is {order.status}, not paid: nothing to renew")
        return None
    if job.attempts > settings.renewal.max_attempts:  # earlier attempts died mid-call
        _fail(session, job, order, f"gave up after {job.attempts - 1} unfinished attempts")
        return None
    refusal = rule.refusal(order.userid)
    if refusal is not None:
        _fail(session, job, order, refusal)
        return None
    try:
        new_expiry = rule.new_expiry(order.expiry_date, order.years)
    except rule.DateOutOfRange as exc:
        _fail(session, job, order, f"expiry {order.expiry_date} + {order.years} year(s) cannot "
                                   f"be computed ({exc}): check the order's expiry date")
        return None
    if rule.is_late(order.expiry_date, now.astimezone(LOCAL_TIME).date()):
        log.warning("order %s: mailbox expired %s, over %d months ago: renewing anyway (the "
                    "order was confirmed in time)", order.code, order.expiry_date,
                    rule.GRACE_MONTHS)
    return RenewalRequest(
        idempotency_key=job.idempotency_key, order_code=order.code, userid=order.userid,
        pec_address=order.pec_address, years=order.years, current_expiry=order.expiry_date,
        new_expiry=new_expiry)


def _record_renewed(session: Session, job_id: int, new_expiry, reference: str | None,  # noqa: ANN001
                    settings: Settings, now: datetime) -> int:
    """Job done, order renewed, renewal-done mail queued: one transaction."""
    finished = session.execute(
        update(RenewalJobRow).where(RenewalJobRow.id == job_id, RenewalJobRow.status == PENDING)
        .values(status=DONE, done_at=now, next_attempt_at=None, last_error=None)
        .execution_options(synchronize_session=False))
    if finished.rowcount != 1:
        return 0  # another runner recorded this same renewal first
    job = session.get(RenewalJobRow, job_id)
    session.refresh(job)
    order = session.get(OrderRow, job.order_id)
    why = f"renewal job #{job.id} ({job.idempotency_key})" + \
        (f", platform reference {reference}" if reference else "")
    audit.record_change(session, job, "status", PENDING, DONE,
                        reason=f"renewed on attempt {job.attempts}")
    audit.change(session, order, "new_expiry_date", new_expiry, reason=why)
    if order.status == PAID:
        audit.change(session, order, "status", RENEWED, reason=why)
        order.status_reason = None
    else:  # changed by a person meanwhile: the renewal happened all the same; say so
        log.warning("order %s renewed while %s: status left as is", order.code, order.status)
    mail = compose.renewal_done(to_order(order), new_expiry, settings.sender_name)
    outbox.queue(session, mail, f"renewal-done:{order.code}:{job.id}", order.id,
                 outbox.sender_address(settings).split("@")[-1])
    log.info("order %s renewed: %s -> %s (%s)", order.code, order.expiry_date, new_expiry,
             job.idempotency_key)
    return 1


def _record_failure(session: Session, job_id: int, exc: ProvisioningFailed, settings: Settings,
                    now: datetime) -> None:
    job = session.get(RenewalJobRow, job_id)
    if job is None or job.status != PENDING:
        return
    order = session.get(OrderRow, job.order_id)
    if exc.permanent or job.attempts >= settings.renewal.max_attempts:
        why = "refused" if exc.permanent else f"gave up after {job.attempts} attempts"
        _fail(session, job, order, f"{why}: {exc.reason}")
        return
    delay = outbox.backoff_seconds(settings.renewal.retry_seconds, job.attempts)
    job.next_attempt_at = now + timedelta(seconds=delay)
    previous, job.last_error = job.last_error, exc.reason
    audit.record_change(session, job, "last_error", previous, exc.reason,  # every attempt
                               reason=f"attempt {job.attempts} failed; next at "
                               f"{job.next_attempt_at.isoformat(timespec='seconds')}")
    log.warning("renewal of %s attempt %d failed, retry in %.0fs: %s", order.code,
                job.attempts, delay, exc.reason)


def _fail(session: Session, job: RenewalJobRow, order: OrderRow, reason: str) -> None:
    """Job failed, order paid -> renewal_failed (visible in ``orders list``) with the reason."""
    job.next_attempt_at = None
    job.last_error = reason
    audit.change(session, job, "status", FAILED, reason=reason)
    if order.status == PAID:
        audit.change(session, order, "status", RENEWAL_FAILED, reason=reason)
        order.status_reason = reason
    log.error("renewal of order %s failed: %s", order.code, reason)
    metrics.renewal_failed()
