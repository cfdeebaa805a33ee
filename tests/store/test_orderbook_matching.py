"""The order book's look-ups for matching (indexed, never a scan) and its guarded claims."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from matching.codes import near_codes
from matching.orders import parse_orders_csv
from store.db import Database
from store.models import AuditRow, OrderRow
from store.orderbook import (
    OrderNoLongerPending,
    candidate_orders,
    flag_order,
    import_orders,
    mark_paid,
    route_to_support,
)
from tests.factories.receipts import OrderSpec, orders_csv

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Database:
    db = Database(database_url)
    specs = [
        OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", "mario@example.com",
                  pec_address="mario.rossi@pec.example.it"),
        OrderSpec("RLM95035", Decimal("10.89"), "Giulia Bianchi", "giulia@example.com"),
        OrderSpec("RLM95056", Decimal("21.78"), "Luca Conti", "luca@example.com"),
        OrderSpec("RLM95057", Decimal("10.89"), "Anna Verdi", "anna@example.com"),
        OrderSpec("RLM77777", Decimal("10.89"), "Mario Rossi", "mario@example.com"),
    ]
    with db.session() as session:
        import_orders(session, parse_orders_csv(orders_csv(specs)), actor="test")
    with db.session() as session:
        session.execute(text("UPDATE orders SET status='paid' WHERE code='RLM95057'"))
    return db


def test_candidates_are_the_codes_read_their_pending_neighbours_and_the_senders(
        db: Database) -> None:
    with db.session() as session:
        found = candidate_orders(session, ["RLM95055"], ["MARIO@example.com", None])
        by_pec = candidate_orders(session, [], ["Mario.Rossi@PEC.example.it"])
    # RLM95057 is one edit away but paid: it can be neither meant nor mistaken for
    assert sorted(found) == ["RLM77777", "RLM95035", "RLM95055", "RLM95056"]
    assert found["RLM95055"].amount == Decimal("10.89")
    assert sorted(by_pec) == ["RLM95055"]


def test_neighbours_of_another_price_are_left_out_when_asked(db: Database) -> None:
    with db.session() as session:
        found = candidate_orders(session, ["RLM95055"], [], Decimal("10.89"))
    assert sorted(found) == ["RLM95035", "RLM95055"]


def test_a_code_read_is_returned_whatever_its_status(db: Database) -> None:
    with db.session() as session:
        found = candidate_orders(session, ["RLM95057"], [])
    assert found["RLM95057"].status == "paid"


@pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN
@pytest.mark.parametrize("sql", [
    "SELECT * FROM orders WHERE code IN ('RLM95055') OR (code IN ({codes}) "
    "AND status = 'pending' AND amount = 10.89)",
    "SELECT * FROM orders WHERE code IN ({codes}) AND status = 'pending'",
    "SELECT * FROM orders WHERE customer_email IN ('a@b.it') OR pec_address IN ('a@b.it')",
])
def test_look_ups_use_an_index_not_a_scan(db: Database, sql: str) -> None:
    codes = ",".join(f"'{c}'" for c in sorted(near_codes("RLM95055")))
    with db.engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(
            text("EXPLAIN QUERY PLAN " + sql.format(codes=codes))))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "SCAN orders" not in plan, plan


def test_support_claim_is_guarded_and_audited(db: Database) -> None:
    with db.session() as session:
        row = route_to_support(session, "RLM95055", Decimal("10.89"), NOW, "receipt #1",
                               "userid KVIS1 starts with KVIS")
        assert (row.status, row.status_reason, row.paid_amount) == \
            ("support", "userid KVIS1 starts with KVIS", Decimal("10.89"))
    with db.session() as session, pytest.raises(OrderNoLongerPending):
        mark_paid(session, "RLM95055", Decimal("10.89"), NOW, "receipt #2")
    with db.session() as session, pytest.raises(OrderNoLongerPending):
        route_to_support(session, "RLM95055", Decimal("10.89"), NOW, "receipt #3", "again")
    with db.session() as session:
        fields = {a.field for a in session.scalars(select(AuditRow).where(
            AuditRow.reason == "receipt #1"))}
    assert fields == {"status", "status_reason", "paid_amount", "paid_at"}


def test_flags_are_audited_and_leave_the_status(db: Database) -> None:
    with db.session() as session:
        flag_order(session, "RLM95057", "double_payment_review", "receipt #4: paid again")
        flag_order(session, "RLM00000", "refund_review", "no such order: nothing happens")
    with db.session() as session:
        row = session.scalars(select(OrderRow).where(OrderRow.code == "RLM95057")).one()
        assert (row.status, row.review_flag, row.review_reason) == \
            ("paid", "double_payment_review", "receipt #4: paid again")
        audited = session.scalars(select(AuditRow).where(
            AuditRow.field == "review_flag", AuditRow.entity_id == row.id)).all()
    assert [a.new_value for a in audited] == ["double_payment_review"]
