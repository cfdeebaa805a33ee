"""The pipeline takes a source's messages in batches: outcomes committed, then the batch
moved, then its holds released; with several workers a batch is held before it is read,
and a batch held but never handed over is let go at once."""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app.pipeline import Pipeline, PollSummary
from config.settings import embedded_defaults
from core.errors import SourceUnreachable
from intake.sources import open_source
from store.db import Database
from store.models import MessageRow
from store.operations import IntakeClaimRow
from tests.factories.receipts import ReceiptSpec, receipt_pdf


@pytest.fixture
def office(tmp_path: Path):  # noqa: ANN201
    settings = embedded_defaults(tmp_path)
    # two workers: every message is held (intake_claims) while this one has it
    settings = replace(settings, service=replace(settings.service, workers=2))
    inbox = settings.sources[0].path
    inbox.mkdir(parents=True)
    for i in range(30):  # two batches (25 + 5)
        (inbox / f"r{i:02d}.pdf").write_bytes(receipt_pdf(ReceiptSpec(codes=(f"RLM{7000 + i}",))))
    db = Database(settings.database_url)
    yield settings, db, inbox
    db.dispose()


def _claims(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(IntakeClaimRow.source_key)))


def _statuses(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(MessageRow.status)))


def test_every_message_is_decided_moved_and_its_hold_released(office) -> None:  # noqa: ANN001
    settings, db, inbox = office
    summary = Pipeline(settings, db).poll_once()
    assert sum(summary.outcomes.values()) == 30 and summary.taken == 30
    assert len(_statuses(db)) == 30 and "received" not in _statuses(db)
    assert not list(inbox.glob("*.pdf"))
    assert len(list((inbox / "processed").glob("*.pdf"))) == 30
    assert _claims(db) == []


def test_a_stop_finishes_the_message_in_hand_and_lets_the_rest_go(office) -> None:  # noqa: ANN001
    """GIVEN a stop requested while the third message is taken in WHEN the batch ends
    THEN three are decided and moved, the others stay in the folder, untouched and not
    held: another worker (or the next run) takes them at once."""
    settings, db, inbox = office
    pipeline = Pipeline(settings, db)
    stop = threading.Event()
    take_in = pipeline.take_in

    def counting(incoming):  # noqa: ANN001, ANN202
        outcome = take_in(incoming)
        if len(_statuses(db)) == 3:
            stop.set()
        return outcome

    pipeline.take_in = counting
    source = open_source(settings.sources[0], settings.limits)
    summary = pipeline.drain(source, PollSummary(), stop)
    assert summary.taken == 3 and len(_statuses(db)) == 3
    assert len(list((inbox / "processed").glob("*.pdf"))) == 3
    assert len(list(inbox.glob("*.pdf"))) == 27
    assert _claims(db) == []


class _BrokenDownload:
    """A source whose download fails once the batch has been reserved (the server went
    away between the reservation and the FETCH)."""

    name = "inbox"

    def batches(self, reserve):  # noqa: ANN001, ANN201
        reserve(["1:1", "1:2", "1:3"])
        raise SourceUnreachable("connection lost during FETCH")
        yield []  # a generator, like the real ones

    def settle_many(self, items) -> None:  # noqa: ANN001
        raise AssertionError("nothing was taken in: nothing to move")


def test_a_batch_reserved_but_never_downloaded_is_released(office) -> None:  # noqa: ANN001
    settings, db, _inbox = office
    pipeline = Pipeline(settings, db)
    with pytest.raises(SourceUnreachable):
        pipeline.drain(_BrokenDownload(), PollSummary())
    assert _claims(db) == []
    assert not pipeline._heartbeat.held
