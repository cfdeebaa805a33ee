"""The daemon behind ``run``: polls every source at its interval until SIGTERM/SIGINT, and
finishes the message in hand before it stops. (IMAP IDLE arrives with the IMAP source.)"""
from __future__ import annotations

import logging
import signal
import threading

from app.pipeline import Pipeline
from config.settings import Settings
from store.db import Database

log = logging.getLogger("pec_intake.daemon")


def run(settings: Settings, db: Database, pipeline: Pipeline) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    interval = min((s.poll_seconds for s in settings.sources), default=60.0)
    if all(s.kind == "folder" for s in settings.sources):
        interval = min(interval, 5.0)
    log.info("daemon started: %d source(s), polling every %.0fs", len(settings.sources),
             interval)
    while not stop.is_set():
        try:
            summary = pipeline.poll_once()
            if summary.outcomes or summary.mails_sent or summary.renewals_run:
                log.info(summary.line())
        except Exception:  # one bad cycle never kills the daemon; the error is logged
            log.exception("poll cycle failed; retrying in %.0fs", interval)
        stop.wait(interval)
    log.info("daemon stopped")
    return 0
