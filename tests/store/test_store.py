"""Persistence: migrations, originals, audited changes."""
from __future__ import annotations

import hashlib
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from store import audit
from store.db import Database, current_revision, head_revision, migrate
from store.models import AuditRow, OrderRow
from store.orderbook import OrderNoLongerPending, mark_paid
from store.originals import OriginalStore


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    db = Database(database_url)
    before, after = migrate(db.engine)
    assert before is None and after == head_revision(db.engine)
    assert migrate(db.engine) == (after, after)
    tables = set(inspect(db.engine).get_table_names())
    assert {"orders", "messages", "documents", "extractions", "match_decisions",
            "receipt_orders", "renewal_jobs", "outgoing_mail", "audit_log"} <= tables
    assert current_revision(db.engine) == after


def test_originals_are_content_addressed_and_stored_once(tmp_path: Path) -> None:
    store = OriginalStore(tmp_path / "originals")
    data = b"From: a@b\r\n\r\nhello"
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.put(data) == digest
    assert store.get(digest) == data
    assert store.path_for(digest).relative_to(tmp_path / "originals").parts[:2] == (
        digest[:2], digest[2:4])
    assert len(list((tmp_path / "originals").rglob("*"))) == 3  # two folders, one file


def _order(session) -> OrderRow:  # noqa: ANN001
    row = OrderRow(code="RLM1", userid="U", pec_address="a@pec.it", customer_name="A",
                   customer_email="a@example.com", amount=Decimal("10.89"),
                   expiry_date=date(2026, 4, 22), years=1, status="pending")
    session.add(row)
    session.flush()
    return row


def test_audited_change_records_who_what_and_why(database_url: str) -> None:
    db = Database(database_url)
    with db.session() as session:
        row = _order(session)
        audit.change(session, row, "customer_email", "b@example.com", reason="typo",
                     actor="person:anna")
        audit.change(session, row, "customer_email", "b@example.com", reason="no-op")
    with db.session() as session:
        (entry,) = session.scalars(select(AuditRow)).all()
        assert (entry.actor, entry.entity, entry.field, entry.old_value, entry.new_value,
                entry.reason) == ("person:anna", "orders", "customer_email", "a@example.com",
                                  "b@example.com", "typo")
        assert entry.at.tzinfo is not None


def test_an_order_is_paid_once_only(database_url: str) -> None:
    from datetime import datetime
    db = Database(database_url)
    now = datetime(2026, 3, 16, tzinfo=UTC)
    with db.session() as session:
        _order(session)
    with db.session() as session:
        row = mark_paid(session, "RLM1", Decimal("10.89"), now, reason="receipt #1")
        assert (row.status, row.paid_amount, row.paid_at) == ("paid", Decimal("10.89"), now)
    with pytest.raises(OrderNoLongerPending), db.session() as session:
        mark_paid(session, "RLM1", Decimal("10.89"), now, reason="receipt #2")
    with db.session() as session:
        changes = session.scalars(select(AuditRow).where(AuditRow.field == "status")).all()
        assert [(c.old_value, c.new_value) for c in changes] == [("pending", "paid")]
