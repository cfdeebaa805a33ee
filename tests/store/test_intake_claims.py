"""Batch holds for several workers (``store.operations.claim_many``) on SQLite and
PostgreSQL: one transaction grants a worker the free keys of a batch, never another live
worker's, and takes over those of a worker whose lease ran out."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from store import operations
from store.db import Database
from store.operations import IntakeClaimRow

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_batch_is_held_by_one_worker_and_the_next_worker_gets_only_the_rest(database_url):
    db = Database(database_url)
    try:
        with db.session() as session:
            first = operations.claim_many(session, "inbox", ["1:1", "1:2", "1:3"], NOW, 60,
                                          "host-a:1")
        with db.session() as session:
            second = operations.claim_many(session, "inbox", ["1:2", "1:3", "1:4", "1:4"],
                                           NOW, 60, "host-b:2")
        with db.session() as session:
            again = operations.claim_many(session, "inbox", ["1:1", "1:4"], NOW, 60,
                                          "host-a:1")
            holders = dict(session.execute(select(IntakeClaimRow.source_key,
                                                  IntakeClaimRow.worker)).all())
    finally:
        db.dispose()
    assert first == {"1:1", "1:2", "1:3"}
    assert second == {"1:4"}  # 1:2 and 1:3 are the first worker's, whose lease runs
    assert again == {"1:1"}   # its own is renewed; the other's is not taken
    assert holders == {"1:1": "host-a:1", "1:2": "host-a:1", "1:3": "host-a:1",
                       "1:4": "host-b:2"}


def test_an_expired_hold_is_taken_over_and_a_released_batch_is_free(database_url):
    db = Database(database_url)
    try:
        with db.session() as session:
            operations.claim_many(session, "inbox", ["1:1", "1:2"], NOW, 60, "host-a:1")
        later = NOW + timedelta(seconds=61)
        with db.session() as session:
            taken = operations.claim_many(session, "inbox", ["1:1", "1:2"], later, 60,
                                          "host-b:2")
        with db.session() as session:
            operations.release(session, "inbox", ["1:1", "1:2"])
        with db.session() as session:
            left = session.scalars(select(IntakeClaimRow.source_key)).all()
            free = operations.claim_many(session, "other", ["1:1"], later, 60, "host-a:1")
    finally:
        db.dispose()
    assert taken == {"1:1", "1:2"}
    assert left == []
    assert free == {"1:1"}  # keys are per source
