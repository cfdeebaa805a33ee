"""Two reviewers decide the same receipt at the same moment, on SQLite and on PostgreSQL:
exactly one decision is applied (one payment, one mail), the other is refused as a conflict,
never applied twice."""
from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from review import actions
from review.errors import Conflict
from store.models import MessageRow, OrderRow, OutgoingMailRow
from tests.factories.review import make_world
from tests.servers.postgres import PostgresServer, postgres_bin


@pytest.fixture(scope="module")
def postgres():  # noqa: ANN201
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed")
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path: Path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        return make_world(tmp_path)
    server = request.getfixturevalue("postgres")
    return make_world(tmp_path, db_url=server.create_database(f"r_{uuid.uuid4().hex[:8]}"))


def test_two_decisions_at_once_one_applies(world) -> None:  # noqa: ANN001
    """GIVEN two reviewers who both loaded version 1 WHEN one matches and the other
    dismisses at the same moment THEN exactly one of them is applied."""
    rid = world.short_payment(0)
    code = world.orders[0].code
    ctx = actions.ReviewContext(world.settings, world.clock)
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def decide(who: str) -> None:
        start.wait()
        try:
            if who == "anna":
                actions.perform(world.db, actions.match, ctx, rid, [code], actor=who,
                                version=1, confirmed=True)
            else:
                actions.perform(world.db, actions.dismiss, ctx, rid, actor=who,
                                reason="spam", version=1)
            results[who] = "applied"
        except Conflict as exc:
            results[who] = exc
        except Exception as exc:  # noqa: BLE001 - a database refusal counts as refused too
            results[who] = exc

    threads = [threading.Thread(target=decide, args=(who,)) for who in ("anna", "bruno")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    applied = [who for who, r in results.items() if r == "applied"]
    assert len(applied) == 1, results
    refused = next(r for who, r in results.items() if who not in applied)
    assert isinstance(refused, Conflict), refused
    with world.db.session() as session:
        receipt = session.get(MessageRow, rid)
        order = session.scalar(select(OrderRow).where(OrderRow.code == code))
        mails = session.scalars(select(OutgoingMailRow).where(
            OutgoingMailRow.event_key.like("payment-received%"))).all()
    if applied == ["anna"]:
        assert receipt.status == "matched" and order.status == "paid" and len(mails) == 1
    else:
        assert receipt.status == "dismissed" and order.status == "pending" and not mails


def test_queue_match_and_undo_on_this_database(world) -> None:  # noqa: ANN001
    from review import queue
    rid = world.short_payment(0)
    ctx = actions.ReviewContext(world.settings, world.clock)
    with world.db.session() as session:
        page = queue.queue_page(session, queue.QueueFilters(q="rlm96100"),
                                today=world.clock().date(), page_size=10, urgent_days=14)
        assert [i.id for i in page.items] == [rid]
        assert queue.neighbours(session, rid, today=world.clock().date(),
                                urgent_days=14) == (None, None)
    with world.db.session() as session:
        actions.match(session, ctx, rid, [world.orders[0].code], actor="anna", confirmed=True)
    with world.db.session() as session:
        actions.undo(session, ctx, rid, actor="anna")
    with world.db.session() as session:
        assert session.get(MessageRow, rid).status == "unmatched"
