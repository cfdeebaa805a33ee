"""A small world of pending orders and the customers' emails that pay them, for the renewal
and outgoing-mail tests: each order is paid by its own receipt (distinct amount and TRN),
and each customer has their own address, so "two mails per order at the customer's address"
can be checked exactly."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from config.settings import Settings, parse_settings
from intake.sources.base import IncomingMessage
from matching.orders import parse_orders_csv
from store.db import Database
from store.orderbook import import_orders
from tests.factories.receipts import OrderSpec, ReceiptSpec, orders_csv, receipt_email

NAMES = ("Mario Rossi", "Giulia Bianchi", "Luca Verdi", "Anna Neri", "Paolo Gallo",
         "Sara Costa", "Marco Fontana", "Elena Conti")


@dataclass(frozen=True)
class PaidOrder:
    order: OrderSpec
    email: bytes

    @property
    def code(self) -> str:
        return self.order.code

    @property
    def pec_address(self) -> str:
        return self.order.customer_name.lower().replace(" ", ".") + "@pec.avvocati.example.it"


def paid_orders(count: int, expiry: date, years: int = 1) -> list[PaidOrder]:
    result = []
    for i in range(count):
        name = NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i}")
        code = f"RLM{96100 + i}"
        amount = Decimal("10.89") + Decimal(i) * Decimal("1.10")
        order = OrderSpec(code=code, amount=amount, customer_name=name,
                          customer_email=f"cliente{i}@example.com",
                          expiry_date=expiry + timedelta(days=i), years=years)
        spec = ReceiptSpec(codes=(code,), amount=amount, payer=name,
                           reference=f"03069{i:011d}")
        result.append(PaidOrder(order, receipt_email(spec, sender=order.customer_email)))
    return result


def write_world(folder: Path, inbox: Path, orders: list[PaidOrder]) -> Path:
    """Writes the order book CSV in ``folder`` and one .eml per payment in ``inbox``."""
    inbox.mkdir(parents=True, exist_ok=True)
    for i, paid in enumerate(orders):
        (inbox / f"{i:02d}-{paid.code}.eml").write_bytes(paid.email)
    csv_path = folder / "orders.csv"
    csv_path.write_text(orders_csv([p.order for p in orders]), encoding="utf-8")
    return csv_path


# --- a pipeline over this world, with a clock the test moves ----------------------------

class FakeClock:
    """A clock that only moves when told to (``Pipeline(clock=...)``)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def settings_for(folder: Path, *, smtp_port: int | None = None, smtp: dict | None = None,
                 renewal: dict | None = None) -> Settings:
    """Settings as a configuration file in ``folder`` would give them."""
    data: dict = {"database": {"url": "sqlite:///intake.sqlite3"},
                  "sources": [{"name": "inbox", "kind": "folder", "path": "var/inbox"}],
                  "renewal": renewal or {}}
    if smtp_port is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "timeout_seconds": 5.0,
                        **(smtp or {})}
    return parse_settings(data, folder, f"{folder}/test.toml")


def import_world(db: Database, orders: list[PaidOrder]) -> None:
    with db.session() as session:
        result = import_orders(session, parse_orders_csv(orders_csv([p.order for p in orders])),
                               actor="test")
    assert result.inserted == len(orders), result


def pay(pipeline, orders: list[PaidOrder]) -> None:  # noqa: ANN001 (app.pipeline.Pipeline)
    """Takes each order's payment email in, as the folder source would; all must match."""
    for i, paid in enumerate(orders):
        outcome = pipeline.take_in(IncomingMessage(
            source="inbox", key=f"{i:02d}-{paid.code}.eml", raw=paid.email,
            filename=f"{i:02d}-{paid.code}.eml", is_mail=True))
        assert outcome.status == "matched" and outcome.order_codes == (paid.code,), outcome
