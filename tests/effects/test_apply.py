"""effects: a decision's effects, the same for the daemon, a person and a bank statement."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import effects
from config.settings import Settings
from core.status import OrderStatus, ReceiptStatus, ReviewFlag
from matching.decide import MatchDecision, OrderFlag
from matching.orders import parse_orders_csv
from store.db import Database
from store.models import (
    AuditRow,
    MatchDecisionRow,
    MessageRow,
    OrderRow,
    OutgoingMailRow,
    ReceiptOrderRow,
    RenewalJobRow,
)
from store.orderbook import import_orders
from tests.factories.receipts import OrderSpec, orders_csv

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, sources=(),
                    outbox_dir=tmp_path / "outbox", originals_dir=tmp_path / "originals")


@pytest.fixture
def db(settings: Settings) -> Database:
    db = Database(settings.database_url)
    specs = [OrderSpec("RLM95055", Decimal("10.89"), "Mario Rossi", "mario@example.com"),
             OrderSpec("RLM95056", Decimal("21.78"), "Luca Conti", "luca@example.com"),
             OrderSpec("RLM95060", Decimal("10.89"), "Ada Neri", "ada@example.com",
                       userid="KVIS0042"),
             OrderSpec("RLM95061", Decimal("10.89"), "Ugo Blu", "ugo@example.com",
                       expiry_date=date(2025, 1, 10))]
    with db.session() as session:
        import_orders(session, parse_orders_csv(orders_csv(specs)), actor="test")
    return db


def _receipt(session) -> MessageRow:  # noqa: ANN001
    row = MessageRow(source="inbox", source_key=f"k{NOW.timestamp()}", sha256="0" * 64, size=1,
                     status=ReceiptStatus.UNMATCHED, received_at=NOW)
    session.add(row)
    session.flush()
    return row


def test_a_persons_match_pays_queues_renewal_and_mail_audited_as_that_person(db, settings):
    with db.session() as session:
        receipt = _receipt(session)
        decision = MatchDecision(ReceiptStatus.MATCHED, "matched by hand", ("RLM95055",))
        applied = effects.apply_decision(session, receipt, decision, settings=settings,
                                         clock=clock, actor="person:anna",
                                         amount=Decimal("10.89"))
        receipt_id = receipt.id
    assert applied == effects.Applied(ReceiptStatus.MATCHED, None, ("RLM95055",),
                                      ("RLM95055",), ())
    with db.session() as session:
        order = session.scalars(select(OrderRow).where(OrderRow.code == "RLM95055")).one()
        assert order.status == OrderStatus.PAID and order.paid_amount == Decimal("10.89")
        job = session.scalars(select(RenewalJobRow)).one()
        assert job.idempotency_key == f"renewal:RLM95055:{receipt_id}"
        assert job.due_at == NOW + timedelta(hours=settings.renewal.delay_hours)
        mail = session.scalars(select(OutgoingMailRow)).one()
        assert mail.event_key == f"payment-received:RLM95055:{receipt_id}"
        link = session.scalars(select(ReceiptOrderRow)).one()
        assert (link.message_id, link.amount) == (receipt_id, Decimal("10.89"))
        assert session.scalars(select(MatchDecisionRow.decided_by)).one() == "person:anna"
        actors = {(a.entity, a.field): a.actor for a in session.scalars(select(AuditRow))
                  if a.actor != "test"}
    assert actors[("orders", "status")] == "person:anna"
    assert actors[("messages", "status")] == "person:anna"
    assert actors[("renewal_jobs", "status")] == "person:anna"


def test_paying_an_order_twice_raises_and_the_caller_keeps_one_payment(db, settings):
    """GIVEN an order paid by a statement line WHEN a second payment of it is applied THEN
    OrderNoLongerPending is raised, and after rollback one job and one mail exist."""
    kwargs = dict(settings=settings, clock=clock, actor="statement:cbi-2026-03-16.xml",
                  reason="statement line 3", evidence_key="statement:1:3")
    with db.session() as session:
        effects.pay_order(session, "RLM95056", Decimal("21.78"), **kwargs)
    with pytest.raises(effects.OrderNoLongerPending), db.session() as session:
        effects.pay_order(session, "RLM95056", Decimal("21.78"), **kwargs)
    with db.session() as session:
        assert len(session.scalars(select(RenewalJobRow)).all()) == 1
        assert len(session.scalars(select(OutgoingMailRow)).all()) == 1
        assert session.scalars(select(ReceiptOrderRow)).all() == []  # no receipt to link


@pytest.mark.parametrize(("code", "why"), [("RLM95060", "starts with KVIS"),
                                           ("RLM95061", "more than 6 months")])
def test_settle_routes_what_cannot_be_renewed_online_to_support(db, settings, code, why):
    with db.session() as session:
        row, reason = effects.settle_order(
            session, code, Decimal("10.89"), settings=settings, clock=clock,
            actor="person:anna", reason="bank statement", evidence_key="statement:1:4")
        assert row.status == OrderStatus.SUPPORT and why in reason
    with db.session() as session:
        assert session.scalars(select(RenewalJobRow)).all() == []
        (mail,) = session.scalars(select(OutgoingMailRow)).all()
        assert mail.template == "payment_received_support"


def test_several_orders_are_each_recorded_at_their_price_and_flags_are_set(db, settings):
    with db.session() as session:
        receipt = _receipt(session)
        decision = MatchDecision(
            ReceiptStatus.MATCHED, "two codes, sum 32,67", ("RLM95055", "RLM95056"),
            flags=(OrderFlag("RLM95055", ReviewFlag.REFUND_REVIEW, "overpaid 1,00"),))
        effects.apply_decision(session, receipt, decision, settings=settings, clock=clock,
                               amount=Decimal("33.67"))
    with db.session() as session:
        paid = {o.code: o for o in session.scalars(select(OrderRow))}
        assert paid["RLM95055"].paid_amount == Decimal("10.89")
        assert paid["RLM95056"].paid_amount == Decimal("21.78")
        assert paid["RLM95055"].review_flag == ReviewFlag.REFUND_REVIEW
        assert len(session.scalars(select(OutgoingMailRow)).all()) == 2


def test_a_duplicate_or_review_decision_pays_nothing(db, settings):
    with db.session() as session:
        receipt = _receipt(session)
        decision = MatchDecision(ReceiptStatus.DUPLICATE, "same CRO as receipt #1",
                                 duplicate_of=None)
        applied = effects.apply_decision(session, receipt, replace(decision), settings=settings,
                                         clock=clock, reason="same CRO; also: nothing else")
        assert receipt.status == ReceiptStatus.DUPLICATE
    assert applied.paid == () and applied.reason == "same CRO; also: nothing else"
    with db.session() as session:
        assert {o.status for o in session.scalars(select(OrderRow))} == {OrderStatus.PENDING}
        assert session.scalars(select(OutgoingMailRow)).all() == []
