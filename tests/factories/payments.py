"""A small world of pending orders and the customers' emails that pay them, for the renewal
and outgoing-mail tests: each order is paid by its own receipt (distinct amount and TRN),
and each customer has their own address, so "two mails per order at the customer's address"
can be checked exactly."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

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
