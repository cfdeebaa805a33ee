"""Renewal jobs with a fake clock: due and not due, retries with backoff, failure after N
attempts, a crash in the middle of a call, two runners at once, and the scheduler."""
from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.pipeline import Pipeline
from app.provisioning import ProvisioningFailed, RenewalDone, RenewalRequest
from app.renewals import run_due
from app.scheduler import start_job_scheduler
from notifier.transport import FolderTransport
from store.db import Database
from store.models import AuditRow, OrderRow, OutgoingMailRow, RenewalJobRow
from tests.factories.payments import FakeClock, import_world, paid_orders, pay, settings_for

PAID_AT = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
EXPIRY = date(2026, 4, 22)


class Platform:
    """A test provisioning adapter: fails the first ``failures`` calls, remembers keys."""

    name = "test"

    def __init__(self, failures: int = 0, permanent: bool = False, pause: float = 0.0) -> None:
        self.failures = failures
        self.permanent = permanent
        self.pause = pause
        self.calls: list[RenewalRequest] = []
        self.lock = threading.Lock()

    def renew(self, request: RenewalRequest) -> RenewalDone:
        with self.lock:
            self.calls.append(request)
            failing = len(self.calls) <= self.failures
        time.sleep(self.pause)
        if failing:
            raise ProvisioningFailed("platform: HTTP 503 busy", permanent=self.permanent)
        return RenewalDone(request.new_expiry, reference=f"P-{request.order_code}")


class Crash(BaseException):
    """The process dying in the middle of the adapter call."""


@pytest.fixture
def world(tmp_path: Path):  # noqa: ANN201
    """GIVEN two orders paid at PAID_AT, renewal due 24 h later, at most 3 attempts."""
    settings = settings_for(tmp_path, renewal={"delay_hours": 24, "max_attempts": 3,
                                               "retry_seconds": 60})
    db = Database(settings.database_url)
    clock = FakeClock(PAID_AT)
    pipeline = Pipeline(settings, db, clock=clock, transport=FolderTransport(tmp_path / "out"))
    orders = paid_orders(2, EXPIRY)
    import_world(db, orders)
    pay(pipeline, orders)
    yield settings, db, clock, pipeline
    db.dispose()


def statuses(db: Database) -> dict[str, tuple[str, date | None, str | None]]:
    with db.session() as session:
        return {o.code: (o.status, o.new_expiry_date, o.status_reason)
                for o in session.scalars(select(OrderRow))}


def mail_events(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(OutgoingMailRow.event_key)))


def test_not_due_before_the_delay_then_renewed_and_told(world) -> None:  # noqa: ANN001
    settings, db, clock, pipeline = world
    clock.advance(hours=23, minutes=59)
    assert pipeline.run_due_renewals() == 0
    assert {s for s, _, _ in statuses(db).values()} == {"paid"}
    clock.advance(minutes=1)
    assert pipeline.run_due_renewals() == 2
    assert statuses(db) == {"RLM96100": ("renewed", date(2027, 4, 22), None),
                            "RLM96101": ("renewed", date(2027, 4, 23), None)}
    assert pipeline.run_due_renewals() == 0  # nothing twice
    assert mail_events(db) == ["payment-received:RLM96100:1", "payment-received:RLM96101:2",
                               "renewal-done:RLM96100:1", "renewal-done:RLM96101:2"]
    with db.session() as session:
        trail = session.execute(select(AuditRow.old_value, AuditRow.new_value).where(
            AuditRow.entity == "orders", AuditRow.field == "status",
            AuditRow.entity_id == 1).order_by(AuditRow.id)).all()
        job = session.scalars(select(RenewalJobRow).where(RenewalJobRow.order_id == 1)).one()
        job_trail = session.execute(select(AuditRow.old_value, AuditRow.new_value).where(
            AuditRow.entity == "renewal_jobs", AuditRow.field == "status",
            AuditRow.entity_id == job.id).order_by(AuditRow.id)).all()
    assert trail == [(None, "pending"), ("pending", "paid"), ("paid", "renewed")]
    assert job_trail == [(None, "pending"), ("pending", "done")]
    assert job.status == "done" and job.attempts == 1 and job.done_at == clock.now


def test_retries_with_growing_waits_and_the_same_key(world) -> None:  # noqa: ANN001
    settings, db, clock, _ = world
    platform = Platform(failures=2 * 2)  # both orders fail twice
    t0 = clock.advance(hours=24)
    assert run_due(db, settings, t0, platform) == 0
    assert run_due(db, settings, t0 + timedelta(seconds=59), platform) == 0
    assert len(platform.calls) == 2  # not due again before 60 s
    assert run_due(db, settings, t0 + timedelta(seconds=60), platform) == 0
    assert run_due(db, settings, t0 + timedelta(seconds=60 + 119), platform) == 0
    assert len(platform.calls) == 4  # then 120 s
    assert run_due(db, settings, t0 + timedelta(seconds=180), platform) == 2
    keys = [c.idempotency_key for c in platform.calls]
    assert keys == ["renewal:RLM96100:1", "renewal:RLM96101:2"] * 3
    assert {s for s, _, _ in statuses(db).values()} == {"renewed"}
    with db.session() as session:
        errors = session.scalars(select(AuditRow.reason).where(
            AuditRow.entity == "renewal_jobs", AuditRow.field == "last_error")).all()
    assert len(errors) == 4 and errors[0].startswith("attempt 1 failed; next at")


def test_renewal_failed_after_n_attempts_and_listed(world, cli, tmp_path: Path) -> None:  # noqa: ANN001
    settings, db, clock, _ = world
    platform = Platform(failures=100)
    now = clock.advance(hours=24)
    for _ in range(5):
        run_due(db, settings, now, platform)
        now += timedelta(hours=1)
    assert len(platform.calls) == 2 * 3  # max_attempts = 3 each, then no more
    status, expiry, reason = statuses(db)["RLM96100"]
    assert (status, expiry) == ("renewal_failed", None)
    assert reason == "gave up after 3 attempts: platform: HTTP 503 busy"
    assert not [e for e in mail_events(db) if e.startswith("renewal-done")]
    config = tmp_path / "test.toml"
    config.write_text(f'[database]\nurl = "{settings.database_url}"\n', encoding="utf-8")
    listed = cli("--config", str(config), "orders", "list", "--json", "--status",
                 "renewal_failed").json()
    assert sorted(o["code"] for o in listed) == ["RLM96100", "RLM96101"]


def test_a_permanent_refusal_fails_at_once(world) -> None:  # noqa: ANN001
    settings, db, clock, _ = world
    platform = Platform(failures=1, permanent=True)
    run_due(db, settings, clock.advance(hours=24), platform)
    assert statuses(db)["RLM96100"] == ("renewal_failed", None,
                                        "refused: platform: HTTP 503 busy")
    assert statuses(db)["RLM96101"][0] == "renewed"


def test_userids_that_cannot_be_renewed_online(world) -> None:  # noqa: ANN001
    settings, db, clock, _ = world
    with db.session() as session:
        session.scalars(select(OrderRow).where(OrderRow.code == "RLM96100")).one().userid = \
            "KVIS0042"
    platform = Platform()
    run_due(db, settings, clock.advance(hours=24), platform)
    assert [c.order_code for c in platform.calls] == ["RLM96101"]
    status, _, reason = statuses(db)["RLM96100"]
    assert status == "renewal_failed" and "sales support" in reason


def test_an_order_no_longer_paid_is_not_renewed(world) -> None:  # noqa: ANN001
    settings, db, clock, _ = world
    with db.session() as session:
        session.scalars(select(OrderRow).where(OrderRow.code == "RLM96100")).one().status = \
            "support"
    platform = Platform()
    assert run_due(db, settings, clock.advance(hours=24), platform) == 1
    with db.session() as session:
        job = session.scalars(select(RenewalJobRow).where(RenewalJobRow.order_id == 1)).one()
    assert job.status == "cancelled" and statuses(db)["RLM96100"][0] == "support"


def test_a_crash_during_the_call_is_retried_with_the_same_key(world) -> None:  # noqa: ANN001
    """GIVEN the process dies while the platform is being called WHEN the runner starts again
    THEN the job is retried once its lease ends, with the same idempotency key."""
    settings, db, clock, _ = world

    class Dying(Platform):
        def renew(self, request: RenewalRequest) -> RenewalDone:
            self.calls.append(request)
            raise Crash()

    t0 = clock.advance(hours=24)
    dying = Dying()
    with pytest.raises(Crash):
        run_due(db, settings, t0, dying)
    platform = Platform()
    assert run_due(db, settings, t0 + timedelta(seconds=1), platform) == 1  # the other order
    lease = 2 * settings.renewal.http_timeout_seconds + 30
    assert run_due(db, settings, t0 + timedelta(seconds=lease), platform) == 1
    assert dying.calls[0].idempotency_key == platform.calls[-1].idempotency_key
    assert {s for s, _, _ in statuses(db).values()} == {"renewed"}


def test_two_runners_at_once_renew_each_order_once(world) -> None:  # noqa: ANN001
    settings, db, clock, _ = world
    platform = Platform(pause=0.2)
    now = clock.advance(hours=24)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(
        run_due(db, settings, now, platform))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 2 and len(platform.calls) == 2
    assert len([e for e in mail_events(db) if e.startswith("renewal-done")]) == 2


def test_the_scheduler_wakes_at_the_due_time(tmp_path: Path) -> None:
    """GIVEN a renewal due in about a second and a scheduler ticking every minute THEN it
    runs at the due time, and its mail goes out, without waiting for the next tick."""
    settings = settings_for(tmp_path, renewal={"delay_hours": 1 / 3600})
    db = Database(settings.database_url)
    outbox_dir = tmp_path / "out"
    pipeline = Pipeline(settings, db, transport=FolderTransport(outbox_dir))
    orders = paid_orders(1, EXPIRY)
    import_world(db, orders)
    pay(pipeline, orders)
    scheduler = start_job_scheduler(pipeline, interval_seconds=60)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(list(outbox_dir.glob("*.eml"))) < 2:
            time.sleep(0.1)
    finally:
        scheduler.shutdown()
        db.dispose()
    assert sorted(p.name.split("_")[0] for p in outbox_dir.glob("*.eml")) == [
        "payment-received", "renewal-done"]
    assert statuses(db)["RLM96100"][0] == "renewed"


class Buggy(Platform):
    """An adapter with a bug for one order: an unexpected exception, not ProvisioningFailed."""

    def renew(self, request: RenewalRequest) -> RenewalDone:
        if request.order_code == "RLM96100":
            raise RuntimeError("boom")
        return super().renew(request)


def test_one_job_that_breaks_never_blocks_the_others(world) -> None:  # noqa: ANN001
    """GIVEN two due renewals WHEN the first one's adapter call raises an unexpected error
    THEN the second is renewed in the same run, and the first is recorded and retried."""
    settings, db, clock, _ = world
    now = clock.advance(hours=24)
    assert run_due(db, settings, now, Buggy()) == 1
    assert statuses(db)["RLM96101"][0] == "renewed"
    assert statuses(db)["RLM96100"][0] == "paid"
    with db.session() as session:
        job = session.scalars(select(RenewalJobRow).where(RenewalJobRow.order_id == 1)).one()
    assert job.status == "pending" and "RuntimeError: boom" in job.last_error
    assert run_due(db, settings, now + timedelta(hours=1), Platform()) == 1
    assert statuses(db)["RLM96100"][0] == "renewed"
