"""The due-job scheduler of the daemon: renewals and outgoing mail on APScheduler 3.x.

The jobs themselves live in the database (``renewal_jobs``, ``outgoing_mail``); APScheduler
only decides *when* to look at them: every ``interval_seconds``, and once more at the exact
time the earliest pending item falls due, so a renewal due at 10:00:00 runs at 10:00:00 and
not at the next tick. Nothing is lost when the daemon stops: the next start (or a
``poll --once``) runs whatever fell due meanwhile.
"""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from app import renewals
from notifier import outbox

log = logging.getLogger("pec_intake.scheduler")

TICK_JOB, WAKE_JOB = "due-jobs", "due-jobs-wake"


class DueJobRunner:
    """Runs the pipeline's due jobs one cycle at a time (a lock: never two cycles at once)."""

    def __init__(self, pipeline, scheduler: BackgroundScheduler) -> None:  # noqa: ANN001
        self.pipeline = pipeline
        self.scheduler = scheduler
        self._lock = threading.Lock()

    def __call__(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # the previous cycle is still running; its rows are claimed anyway
        try:
            renewed = self.pipeline.run_due_renewals()
            sent, failed = self.pipeline.deliver_mail()
            if renewed or sent or failed:
                log.info("due jobs: %d renewal(s) done, %d mail(s) sent, %d to retry",
                         renewed, sent, failed)
        except Exception:  # one bad cycle never stops the scheduler; the error is logged
            log.exception("due-job cycle failed; retrying at the next tick")
            return  # no early wake-up: a failing cycle must not spin
        finally:
            self._lock.release()
        self.schedule_wake()

    def next_due(self) -> datetime | None:
        with self.pipeline.db.session() as session:
            times = [t for t in (renewals.next_due(session), outbox.next_due(session)) if t]
        return min(times, default=None)

    def schedule_wake(self) -> None:
        """A one-off run at the earliest due time (if before the next regular tick)."""
        try:
            due = self.next_due()
        except Exception:
            log.exception("cannot read the next due time")
            return
        if due is None:
            return
        # at least a second ahead: an item that stays due (claimed elsewhere) cannot spin
        when = max(due + timedelta(milliseconds=50), datetime.now(UTC) + timedelta(seconds=1))
        tick = self.scheduler.get_job(TICK_JOB)
        if tick is not None and tick.next_run_time is not None and tick.next_run_time <= when:
            return
        self.scheduler.add_job(self, "date", run_date=when, id=WAKE_JOB, replace_existing=True,
                               misfire_grace_time=None)


def start_job_scheduler(pipeline, interval_seconds: float = 30.0) -> BackgroundScheduler:  # noqa: ANN001
    """Starts the background scheduler; call ``.shutdown()`` on it to stop (it waits for a
    running cycle to finish)."""
    scheduler = BackgroundScheduler(timezone=UTC)
    runner = DueJobRunner(pipeline, scheduler)
    scheduler.add_job(runner, "interval", seconds=interval_seconds, id=TICK_JOB,
                      next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
                      misfire_grace_time=None)
    scheduler.start()
    log.info("due-job scheduler started: every %.0fs and at each due time", interval_seconds)
    return scheduler
