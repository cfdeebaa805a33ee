"""Builders for the matching tests: orders and extracted fields with sensible defaults."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from intake.fields import CodeCandidate, PaymentFields
from matching.orders import Order

OUR_IBAN = "IT62C0326803203052886541770"
FOREIGN_IBAN = "IT60X0542811101000000123456"
PAID_ON = date(2026, 3, 14)
TODAY = date(2026, 3, 16)


def order(code: str = "RLM95055", amount: str = "10.89", *, name: str = "Mario Rossi",
          email: str = "mario.rossi@example.com", status: str = "pending",
          userid: str | None = None, expiry: date = date(2026, 4, 22),
          ordered_at: date | None = date(2026, 3, 1), pec: str | None = None) -> Order:
    return Order(code=code, userid=userid or f"U{code[3:]}",
                 pec_address=pec or f"{code.lower()}@pec.example.it", customer_name=name,
                 customer_email=email, amount=Decimal(amount), expiry_date=expiry, years=1,
                 ordered_at=ordered_at, status=status)


def book(*orders: Order) -> dict[str, Order]:
    return {o.code: o for o in orders}


def fields(*codes: str, amount: str | None = "10.89", iban: str | None = OUR_IBAN,
           payer: str | None = "Mario Rossi", paid_on: date | None = PAID_ON,
           repaired: tuple[str, ...] = (), confidence: float = 1.0,
           transfer_ref: str | None = "0306912345678901") -> PaymentFields:
    """Fields as the extractor gives them; codes in ``repaired`` come from an OCR repair."""
    candidates = [CodeCandidate(c, 0.7 if c in repaired else confidence,
                                c.replace("0", "O") if c in repaired else c, c in repaired)
                  for c in codes]
    return PaymentFields(codes=list(codes), code_candidates=candidates,
                         amount=Decimal(amount) if amount is not None else None,
                         currency="EUR" if amount is not None else None, iban=iban,
                         transfer_ref=transfer_ref, payment_date=paid_on, payer=payer,
                         method="bonifico")
