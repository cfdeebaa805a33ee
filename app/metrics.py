"""The daemon's figures for Prometheus (``GET /metrics``).

Two kinds: counters and a histogram kept by the process that does the work (messages by
outcome, match outcomes, OCR seconds per page, renewal failures), and gauges read from the
database at each scrape (review queue, outbox and renewal backlogs, receipts by status,
per-source last poll), which are the same whichever worker or machine did the work.

With ``[service] workers`` > 1 the workers are separate processes: ``run`` then points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before any of them imports prometheus_client,
and the parent serves the sum (prometheus_client's multiprocess mode).
"""
from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MESSAGES = Counter("pec_intake_messages", "Messages taken in, by outcome", ["outcome"])
MATCHES = Counter("pec_intake_match_outcomes", "Match decisions, by outcome", ["outcome"])
OCR_SECONDS = Histogram("pec_intake_ocr_seconds_per_page", "OCR time per page read",
                        buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120))
RENEWAL_FAILURES = Counter("pec_intake_renewal_failures",
                           "Renewals that failed for good (order renewal_failed)")
SOURCE_ERRORS = Counter("pec_intake_source_errors", "Polls of a source that failed",
                        ["source"])


def message_outcome(status: str) -> None:
    MESSAGES.labels(outcome=status).inc()


def match_outcome(outcome: str) -> None:
    MATCHES.labels(outcome=outcome).inc()


def renewal_failed() -> None:
    RENEWAL_FAILURES.inc()


def source_error(source: str) -> None:
    SOURCE_ERRORS.labels(source=source).inc()


class TimedOcr:
    """Wraps an OCR engine: each call's seconds, spread over the pages it read."""

    def __init__(self, engine) -> None:  # noqa: ANN001 (intake.text.OcrEngine)
        self.engine = engine

    def _timed(self, call, *args):  # noqa: ANN001, ANN202
        started = time.monotonic()
        pages = call(*args)
        if pages:
            per_page = (time.monotonic() - started) / len(pages)
            for _ in pages:
                OCR_SECONDS.observe(per_page)
        return pages

    def read_image(self, data, limits):  # noqa: ANN001, ANN201
        return self._timed(self.engine.read_image, data, limits)

    def read_pdf_pages(self, data, pages, limits):  # noqa: ANN001, ANN201
        return self._timed(self.engine.read_pdf_pages, data, pages, limits)

    def __getattr__(self, name: str):  # noqa: ANN204 - anything else the engine offers
        return getattr(self.engine, name)


class DatabaseCollector(Collector):
    """Backlogs and states, from the database at scrape time (``status``'s figures)."""

    def __init__(self, overview) -> None:  # noqa: ANN001 (a () -> dict, app.status)
        self.overview = overview

    def collect(self):  # noqa: ANN201
        up = GaugeMetricFamily("pec_intake_database_up", "1 when the database answers")
        try:
            data = self.overview()
        except Exception:  # noqa: BLE001 - a scrape reports the outage, it does not fail
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = datetime.now(UTC).timestamp()
        queue = data["review_queue"]
        yield _gauge("pec_intake_review_queue", "Receipts waiting in the review queue",
                     queue["count"])
        by_reason = GaugeMetricFamily("pec_intake_review_queue_by_reason",
                                      "Receipts in review, by reason", labels=["reason"])
        for reason, count in queue["by_reason"].items():
            by_reason.add_metric([reason], count)
        yield by_reason
        oldest = queue["oldest_at"]
        yield _gauge("pec_intake_review_oldest_age_seconds",
                     "Age of the oldest receipt in review (0 when none)",
                     now - datetime.fromisoformat(oldest).timestamp() if oldest else 0)
        outbox = GaugeMetricFamily("pec_intake_outbox", "Outgoing mail, by state",
                                   labels=["state"])
        for state in ("queued", "failed"):
            outbox.add_metric([state], data["outbox"][state])
        yield outbox
        renewals = GaugeMetricFamily("pec_intake_renewals", "Renewal jobs, by state",
                                     labels=["state"])
        for state in ("due", "failed", "pending"):
            renewals.add_metric([state], data["renewals"][state])
        yield renewals
        receipts = GaugeMetricFamily("pec_intake_receipts", "Receipts recorded, by status",
                                     labels=["status"])
        for status, count in data["receipts"]["by_status"].items():
            receipts.add_metric([status], count)
        yield receipts
        last = GaugeMetricFamily("pec_intake_source_last_poll_timestamp_seconds",
                                 "When each source was last polled", labels=["source"])
        healthy = GaugeMetricFamily("pec_intake_source_up",
                                    "1 when the source's last poll succeeded", labels=["source"])
        for source in data["sources"]:
            if source["last_poll_at"]:
                last.add_metric([source["name"]],
                                datetime.fromisoformat(source["last_poll_at"]).timestamp())
            healthy.add_metric([source["name"]], 0 if source["last_error"] else 1)
        yield last
        yield healthy
        bank = data.get("bank")
        if bank:  # bank statements: money that arrived with no order, payments unconfirmed
            lines = GaugeMetricFamily("pec_intake_bank_lines",
                                      "Bank statement credit lines, by status",
                                      labels=["status"])
            for status, count in bank["lines"].items():
                lines.add_metric([status], count)
            yield lines
            yield _gauge("pec_intake_orders_unconfirmed_by_bank",
                         "Orders paid on a proof that no statement line confirmed in time",
                         bank["orders_unconfirmed"])


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def registry(overview) -> CollectorRegistry:  # noqa: ANN001
    """What ``/metrics`` serves: this process's (or every worker's) counters and the
    database's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        for collector in (MESSAGES, MATCHES, OCR_SECONDS, RENEWAL_FAILURES, SOURCE_ERRORS):
            reg.register(collector)
    reg.register(DatabaseCollector(overview))
    return reg
