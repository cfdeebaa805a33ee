"""The daemon behind ``run``: one watcher thread per source, due jobs beside them.

Each watcher takes in what is waiting, then waits for more: IMAP IDLE where the server offers
it (RFC 2177, re-issued every 25 minutes, before the server's 30-minute timeout), polling at
the source's ``poll_seconds`` otherwise. A source that is down (refused login, server gone,
network) is retried with exponential backoff, alone: the other sources go on. SIGTERM or
SIGINT sets one stop flag: each watcher finishes the message in hand (outcome committed, message
moved), then every thread ends and ``run`` returns 0.

Due jobs (renewals, outgoing mail) run on ``app.scheduler`` when it is there, else on this
module's own loop.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from app.pipeline import Pipeline, PollSummary
from config.settings import Settings, SourceSettings
from core.errors import SourceUnreachable
from intake.sources import open_source
from store.db import Database

log = logging.getLogger("pec_intake.daemon")

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 300.0
FOLDER_POLL_SECONDS = 5.0  # a folder has no IDLE; look often, it is cheap
JOB_SECONDS = 30.0
DEFERRED_POLL_SECONDS = 2.0
READY_WAIT_SECONDS = 60.0  # READY=1 at the latest this long after start, sources or not


class SourceWatcher(threading.Thread):
    """Takes in one source's messages as they arrive, until ``stop`` is set."""

    def __init__(self, settings: SourceSettings, pipeline: Pipeline, stop: threading.Event,
                 idle_renew_seconds: float | None = None) -> None:
        super().__init__(name=f"source-{settings.name}", daemon=True)
        self.settings = settings
        self.pipeline = pipeline
        self.stop = stop
        self.idle_renew_seconds = idle_renew_seconds
        self.source = None
        self.failures = 0
        self.taken = 0
        self.deferred = False  # messages another worker holds: look again soon
        self.opened = threading.Event()  # the first open was tried (done, or failed)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._cycle()
                self.failures = 0
            except SourceUnreachable as exc:
                self.opened.set()
                self.pipeline.record_poll(self.settings.name, exc.reason)
                self._back_off(exc.reason)
            except Exception as exc:  # noqa: BLE001 - one bad cycle never kills the watcher
                # not the source's fault (the database, a bug): said so, never "unreachable"
                self.opened.set()
                log.exception("source=%s cycle failed", self.settings.name)
                self.pipeline.record_poll(self.settings.name, f"{type(exc).__name__}: {exc}")
                self._back_off(f"{type(exc).__name__}: {exc}", unreachable=False)
        self._close()
        log.info("source=%s watcher stopped after %d message(s)", self.settings.name,
                 self.taken)

    def _cycle(self) -> None:
        if self.source is None:
            self.source = open_source(self.settings, self.pipeline.settings.limits)
        self.opened.set()
        tally = PollSummary()
        try:
            self.pipeline.drain(self.source, tally, self.stop)  # committed before moved
        finally:
            self.taken += tally.taken
            self.deferred = tally.deferred
        taken = tally.taken
        self.pipeline.record_poll(self.settings.name, None, taken)
        if not self.stop.is_set():
            self._wait()

    def _wait(self) -> None:
        source = self.source
        if self.deferred:  # another worker's; if it dies, its claim expires: look again
            self.stop.wait(min(self.settings.poll_seconds, DEFERRED_POLL_SECONDS))
            return
        if self.settings.kind == "imap" and source is not None and source.supports_idle():
            kwargs = {"renew_seconds": self.idle_renew_seconds} \
                if self.idle_renew_seconds else {}
            source.wait_for_changes(self.stop, **kwargs)
            return
        interval = self.settings.poll_seconds
        if self.settings.kind == "folder":
            interval = min(interval, FOLDER_POLL_SECONDS)
        self.stop.wait(interval)

    def _back_off(self, reason: str, unreachable: bool = True) -> None:
        self._close()
        self.failures += 1
        delay = min(BACKOFF_FIRST_SECONDS * 2 ** (self.failures - 1), BACKOFF_MAX_SECONDS)
        log.warning("source=%s %s (attempt %d): %s; retrying in %.0fs", self.settings.name,
                    "unreachable" if unreachable else "cycle failed", self.failures, reason,
                    delay)
        self.stop.wait(delay)

    def _close(self) -> None:
        source, self.source = self.source, None
        if source is not None:
            try:
                source.close()
            except Exception:  # noqa: BLE001 - closing what is already broken
                log.debug("source=%s close failed", self.settings.name, exc_info=True)


def _start_jobs(pipeline: Pipeline) -> Callable[[], None] | None:
    """The APScheduler-based job scheduler if present; returns its shutdown."""
    try:
        from app.scheduler import start_job_scheduler
    except ImportError:
        return None
    scheduler = start_job_scheduler(pipeline)
    return lambda: scheduler.shutdown(wait=True)


def _run_jobs_once(pipeline: Pipeline) -> None:
    try:
        renewals = pipeline.run_due_renewals()
        sent, failed = pipeline.deliver_mail()
        if renewals or sent or failed:
            log.info("jobs: %d renewal(s) run, %d mail(s) sent, %d to retry", renewals, sent,
                     failed)
    except Exception:  # noqa: BLE001 - retried at the next tick
        log.exception("due jobs failed; retrying in %.0fs", JOB_SECONDS)


def run(settings: Settings, db: Database, pipeline: Pipeline, *,
        stop: threading.Event | None = None, install_signals: bool = True,
        on_ready: Callable[[], None] | None = None) -> int:
    """Runs until SIGTERM/SIGINT (or ``stop`` is set); returns the exit status, 0.

    Ready (``on_ready``, else systemd's READY=1) once every source has been opened, or has
    failed to open once: a source that is down is retried in the background and shown by
    ``status`` and ``/metrics``; it does not hold the others back."""
    from app.service import sd_notify, start_operator_server
    stop = stop or threading.Event()
    db.ensure_schema()  # once, here: the threads below would otherwise race to migrate
    if install_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, _frame: _stopping(stop, signum))
    server = start_operator_server(settings, db)
    watchers = [SourceWatcher(s, pipeline, stop) for s in settings.sources]
    for watcher in watchers:
        watcher.start()
    shutdown_jobs = _start_jobs(pipeline)
    log.info("daemon started: %d source(s) (%s); due jobs on %s", len(watchers),
             ", ".join(f"{s.name}:{s.kind}" for s in settings.sources),
             "the scheduler" if shutdown_jobs else f"a {JOB_SECONDS:.0f}s loop")
    deadline = time.monotonic() + READY_WAIT_SECONDS
    for watcher in watchers:
        watcher.opened.wait(max(0.0, deadline - time.monotonic()))
    if on_ready is not None:
        on_ready()
    else:
        sd_notify(f"READY=1\nSTATUS=watching {len(watchers)} source(s)")
    log.info("daemon ready: %s", ", ".join(
        f"{w.settings.name}={'open' if w.source is not None else 'retrying'}"
        for w in watchers))
    while not stop.is_set():
        if shutdown_jobs is None:
            _run_jobs_once(pipeline)
        stop.wait(JOB_SECONDS if shutdown_jobs is None else 1.0)
    if on_ready is None:
        sd_notify("STOPPING=1")
    started = time.monotonic()
    for watcher in watchers:
        watcher.join()
    if shutdown_jobs is not None:
        shutdown_jobs()
    if server is not None:
        server.stop()
    log.info("daemon stopped (%.1fs to finish the messages in hand)",
             time.monotonic() - started)
    return 0


def _stopping(stop: threading.Event, signum: int) -> None:
    if not stop.is_set():
        log.info("%s received: finishing the messages in hand", signal.Signals(signum).name)
    stop.set()
