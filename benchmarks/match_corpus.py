"""The end-to-end matching corpus of ``benchmarks.match_bench``: an order book of 2,000
orders with sequential codes, and emails and PDFs of every kind a customer sends, with ground
truth, dropped in a folder source and run through the Pipeline into SQLite (two polls: second
copies and second payments arrive after the first ones were recorded)."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.pipeline import Pipeline
from config.settings import embedded_defaults
from matching.orders import parse_orders_csv
from store.db import Database
from store.models import MessageRow
from store.orderbook import import_orders
from tests.factories.receipts import (
    FIRST,
    LAST,
    STYLES,
    OrderSpec,
    ReceiptSpec,
    body_only_email,
    orders_csv,
    receipt_email,
    receipt_pdf,
)

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
BOOK = 2000
SECOND_ORDERS_FROM = 1600  # orders 1600.. belong to customers 0..399: two orders each
PRICES = ["10.89"] * 6 + ["21.78", "32.67", "14.52", "29.04"]
FOREIGN_IBAN = "IT60X0542811101000000123456"
# kind -> how many per scale unit
KINDS = {"correct pdf": 60, "correct email": 30, "body only": 20, "short": 10, "over": 8,
         "no code": 12, "no code, unknown sender": 5, "typo, no such order": 8,
         "typo, another order": 8, "two orders": 8, "foreign iban": 6, "support (KVIS)": 5,
         "same payment again": 12, "same file again": 8, "second payment": 8}
SECOND_ROUND = ("same payment again", "same file again", "second payment")


@dataclass(frozen=True)
class Item:
    kind: str
    name: str
    data: bytes
    truth: frozenset[str]
    payable: bool
    first: str | None = None  # a second copy or payment: the file of the first one


def _book(rng: random.Random) -> list[OrderSpec]:
    orders = []
    for i in range(BOOK):
        customer = i if i < SECOND_ORDERS_FROM else i - SECOND_ORDERS_FROM
        name_rng = random.Random(customer)
        name = f"{name_rng.choice(FIRST)} {name_rng.choice(LAST)}"
        userid = f"KVIS{i}" if i % 97 == 0 else f"U{i}"
        orders.append(OrderSpec(f"RLM{95000 + i}", Decimal(rng.choice(PRICES)), name,
                                f"cliente{customer}@example.com", userid=userid))
    return orders


def _items(book: list[OrderSpec], scale: int, rng: random.Random) -> list[Item]:
    # orders whose customer has only this one order, and not a KVIS userid
    single = [o for i, o in enumerate(book) if 400 <= i < SECOND_ORDERS_FROM
              and not o.userid.startswith("KVIS")]
    kvis = [o for o in book if o.userid.startswith("KVIS")]
    rng.shuffle(single)
    pool = iter(single)
    # customers 0..399 have two orders: i and SECOND_ORDERS_FROM + i
    pairs = iter(rng.sample(range(BOOK - SECOND_ORDERS_FROM), BOOK - SECOND_ORDERS_FROM))
    by_code = {o.code: o for o in book}
    items: list[Item] = []
    firsts: list[tuple[Item, ReceiptSpec, OrderSpec]] = []
    serial = 0

    def spec_for(o: OrderSpec, **over: object) -> ReceiptSpec:
        return replace(ReceiptSpec(
            codes=(o.code,), amount=o.amount, payer=o.customer_name,
            reference="".join(rng.choice("0123456789") for _ in range(16)),
            paid_on=date(2026, 3, rng.randint(2, 15)), style=rng.choice(STYLES),
            code_style=rng.choice(["plain", "lower", "dash", "dotted", "spaced"])), **over)

    def add(kind: str, suffix: str, data: bytes, truth: set[str], payable: bool,
            first: str | None = None) -> Item:
        nonlocal serial
        serial += 1
        item = Item(kind, f"{2 if kind in SECOND_ROUND else 1}-{serial:04d}.{suffix}", data,
                    frozenset(truth), payable, first)
        items.append(item)
        return item

    for kind, count in KINDS.items():
        for _ in range(count * scale):
            if kind in SECOND_ROUND:
                continue
            o = next(pool) if kind != "support (KVIS)" else kvis[len(items) % len(kvis)]
            spec = spec_for(o)
            if kind in ("correct pdf", "support (KVIS)"):
                item = add(kind, "pdf", receipt_pdf(spec), {o.code}, True)
                firsts.append((item, spec, o))
            elif kind == "correct email":
                item = add(kind, "eml", receipt_email(spec, sender=o.customer_email),
                           {o.code}, True)
                firsts.append((item, spec, o))
            elif kind == "body only":  # a claim, not the bank's document: never paid
                add(kind, "eml", body_only_email(spec, sender=o.customer_email), {o.code},
                    False)
            elif kind == "short":
                add(kind, "pdf", receipt_pdf(replace(spec, amount=o.amount - 1)), {o.code},
                    False)
            elif kind == "over":
                add(kind, "pdf", receipt_pdf(replace(spec, amount=o.amount + 5)), {o.code},
                    True)
            elif kind == "no code":
                add(kind, "eml", receipt_email(replace(spec, codes=()),
                                               sender=o.customer_email), {o.code}, True)
            elif kind == "no code, unknown sender":
                add(kind, "eml", receipt_email(replace(spec, codes=()),
                                               sender="sconosciuto@example.org"),
                    {o.code}, True)
            elif kind == "typo, no such order":
                digits = o.code[3:]
                at = rng.randrange(1, len(digits))
                typo = f"RLM{digits[:at]}{digits[at]}{digits[at:]}"  # a digit typed twice
                add(kind, "eml", receipt_email(replace(spec, codes=(typo,)),
                                               sender=o.customer_email), {o.code}, True)
            elif kind == "typo, another order":
                wrong = f"RLM{int(o.code[3:]) + rng.choice([-1, 1, 10, -10])}"
                assert wrong in by_code
                add(kind, "eml", receipt_email(replace(spec, codes=(wrong,)),
                                               sender=o.customer_email), {o.code}, True)
            elif kind == "two orders":  # a customer pays both of their orders at once
                index = next(pairs)
                o, other = book[index], book[SECOND_ORDERS_FROM + index]
                both = replace(spec_for(o), codes=(o.code, other.code),
                               amount=o.amount + other.amount)
                add(kind, "eml", receipt_email(both, sender=o.customer_email),
                    {o.code, other.code}, True)
            elif kind == "foreign iban":  # layouts that print the beneficiary's IBAN
                wrong = replace(spec, beneficiary_iban=FOREIGN_IBAN,
                                style=rng.choice(["intesa", "unicredit", "fineco", "bper"]))
                add(kind, "pdf", receipt_pdf(wrong), {o.code}, False)
    paid_firsts = [f for f in firsts if f[0].kind != "support (KVIS)"]
    rng.shuffle(paid_firsts)
    for kind in SECOND_ROUND:
        for _ in range(KINDS[kind] * scale):
            first, spec, o = paid_firsts.pop()
            if kind == "same payment again":  # e.g. the fax of the receipt emailed before
                other_style = next(s for s in STYLES if s not in (spec.style, "assegno",
                                                                  "poste"))
                again = replace(spec, style=other_style,
                                reference="".join(rng.choice("0123456789") for _ in range(16)))
                add(kind, "pdf", receipt_pdf(again), {o.code}, False, first.name)
            elif kind == "same file again":
                add(kind, first.name.rsplit(".", 1)[1], first.data, {o.code}, False,
                    first.name)
            else:  # paid again, another day, another reference: a possible double payment
                again = spec_for(o, paid_on=date(2026, 3, 16))
                add(kind, "pdf", receipt_pdf(again), {o.code}, False, first.name)
    return items


def run_corpus(folder: Path, scale: int = 1) -> dict[str, Counter]:
    rng = random.Random(2026)
    settings = embedded_defaults(folder)
    inbox = settings.sources[0].path
    assert inbox is not None
    inbox.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    book = _book(rng)
    with db.session() as session:
        import_orders(session, parse_orders_csv(orders_csv(book)), actor="bench")
    items = _items(book, scale, rng)
    pipeline = Pipeline(settings, db, clock=lambda: NOW)
    for round_ in ("1", "2"):
        for item in items:
            if item.name.startswith(round_):
                (inbox / item.name).write_bytes(item.data)
        pipeline.poll_once()
    rows: dict[str, Counter] = {}
    with db.session() as session:
        receipts = {r.source_ref: r for r in session.scalars(select(MessageRow))}
        for item in items:
            receipt = receipts[item.name]
            paid = {link.order.code for link in receipt.orders}
            if item.first is not None and not receipts[item.first].orders:
                # the first copy went to review: this one is the first payment recorded
                item = replace(item, payable=True)
            c = rows.setdefault(item.kind, Counter())
            c["receipts"] += 1
            c["payable"] += item.payable
            c["auto"] += bool(paid) and item.payable and paid == item.truth
            c["false"] += bool(paid - item.truth) or (bool(paid) and not item.payable)
            c["review"] += receipt.status not in ("matched", "support", "duplicate")
            c["duplicate"] += receipt.status == "duplicate"
    db.dispose()
    return rows
