"""Matching at scale, and how often it is right: ``python -m benchmarks.match_bench``.

1. Scale: loads 1,000 / 100,000 / 1,000,000 orders into SQLite (sequential codes, so every
   code read has real neighbours one character away) and times the matching of each receipt:
   the indexed look-ups (codes read, codes one edit away, the sender's orders) and the
   decision. Target: under 5 ms per receipt at 1,000,000 orders, at most 2x from 1,000.
2. Decisions: 20,000 generated receipts with ground truth (correct, OCR-read and OCR-misread
   codes, customer typos, wrong amounts, no code, two orders, foreign IBAN, already paid...)
   against the 100,000-order book: auto-match rate and false payments, per kind.
3. End to end: a few hundred emails and PDFs dropped in a folder source and run through the
   Pipeline into SQLite, duplicates and second payments included: the same two figures.

Options: ``--sizes 1000,100000`` ``--receipts 2000`` ``--corpus 20000`` ``--e2e 1`` (a scale
factor for part 3; 0 skips it).
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from intake.fields import CodeCandidate, PaymentFields
from matching.decide import MATCHED, SUPPORT, decide, neighbour_amount
from store.db import Database
from store.orderbook import candidate_orders

OUR_IBAN = "IT62C0326803203052886541770"
FOREIGN_IBAN = "IT60X0542811101000000123456"
FIRST = ["Mario", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Marco", "Elena",
         "Giovanni", "Sara", "Paolo", "Valentina", "Andrea", "Federica", "Stefano", "Anna",
         "Roberto", "Laura", "Davide", "Silvia"]
LAST = ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco",
        "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo",
        "Lombardi", "Moretti", "Barbieri", "Fontana"]
PRICES = ["10.89"] * 6 + ["21.78", "32.67", "14.52", "29.04"]  # most pay the convention price
BASE = 1_000_000  # codes RLM1000000, RLM1000001, ...: dense, like a real sequence
PAID_ON = date(2026, 3, 14)
TODAY = date(2026, 3, 16)


@dataclass(frozen=True)
class BookOrder:
    code: str
    name: str
    email: str
    amount: Decimal
    status: str


def book_order(i: int, n: int) -> BookOrder:
    """Order number ``i`` of a book of ``n``: deterministic, so receipts can be made from
    the index alone. One customer in four has two orders."""
    rng = random.Random(i)
    customer = i % max(1, (n * 3) // 4)
    name_rng = random.Random(customer * 7919)
    name = f"{name_rng.choice(FIRST)} {name_rng.choice(LAST)}"
    status = "pending" if rng.random() < 0.8 else "paid"
    return BookOrder(f"RLM{BASE + i}", name, f"c{customer}@example.com",
                     Decimal(rng.choice(PRICES)), status)


def load_orders(path: Path, n: int) -> tuple[Database, float]:
    started = time.perf_counter()
    db = Database(f"sqlite:///{path}")
    db.ensure_schema()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    stamp = "2026-01-01 00:00:00.000000"

    def rows() -> Iterator[tuple]:
        for i in range(n):
            o = book_order(i, n)
            yield (o.code, f"U{BASE + i}", f"{o.code.lower()}@pec.example.it", o.name,
                   o.email, str(o.amount), "2026-04-22", 1, "2026-03-01", o.status, stamp,
                   stamp)
    conn.executemany(
        "INSERT INTO orders (code, userid, pec_address, customer_name, customer_email, "
        "amount, expiry_date, years, ordered_at, status, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows())
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return db, time.perf_counter() - started


# --- receipts with ground truth -----------------------------------------------------------

@dataclass(frozen=True)
class Case:
    kind: str
    fields: PaymentFields
    sender: str | None
    text_source: str
    truth: frozenset[str]     # the orders this payment is for
    payable: bool             # a careful person would mark them paid


def _fields(codes: list[str], amount: Decimal | None, payer: str | None, *,
            repaired: bool = False, iban: str = OUR_IBAN) -> PaymentFields:
    candidates = [CodeCandidate(c, 0.7 if repaired else 1.0, c, repaired) for c in codes]
    return PaymentFields(codes=codes, code_candidates=candidates, amount=amount,
                         currency="EUR", iban=iban, payment_date=PAID_ON, payer=payer)


def _one_digit_off(code: str, rng: random.Random) -> str:
    digits = list(code[3:])
    i = rng.randrange(1, len(digits))  # keep the leading digit: the code stays in range
    digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
    return "RLM" + "".join(digits)


def make_case(kind: str, n: int, rng: random.Random) -> Case:
    while True:
        o = book_order(rng.randrange(n), n)
        if (o.status == "paid") == (kind == "already paid"):
            break
    truth = frozenset({o.code})
    sender = o.email if rng.random() < 0.6 else None  # faxes and forwarded mail: no sender
    payer = o.name if rng.random() < 0.8 else None
    text = "text_layer"
    if kind in ("correct", "already paid"):
        f = _fields([o.code], o.amount, payer)
    elif kind == "ocr read":
        f, text = _fields([o.code], o.amount, payer), "ocr"
    elif kind == "ocr misread":
        f, text = _fields([_one_digit_off(o.code, rng)], o.amount, payer,
                          repaired=rng.random() < 0.5), "ocr"
    elif kind == "customer typo":
        f = _fields([_one_digit_off(o.code, rng)], o.amount, payer)
    elif kind == "short":
        f = _fields([o.code], o.amount - Decimal("1.00"), payer)
    elif kind == "over":
        f = _fields([o.code], o.amount + Decimal("5.00"), payer)
    elif kind == "no code":
        sender = o.email
        f = _fields([], o.amount, payer)
    elif kind == "foreign iban":
        f = _fields([o.code], o.amount, payer, iban=FOREIGN_IBAN)
    elif kind == "two orders":  # a customer's two orders (one in four has two)
        index = rng.randrange(max(1, n // 4))
        o, other = book_order(index, n), book_order(index + (n * 3) // 4, n)
        if o.status != "pending" or other.status != "pending" or other.code == o.code:
            return make_case(kind, n, rng)
        payer = o.name if rng.random() < 0.8 else None
        f = _fields([o.code, other.code], o.amount + other.amount, payer)
        truth = frozenset({o.code, other.code})
    else:
        raise ValueError(kind)
    payable = kind not in ("short", "foreign iban", "already paid")
    return Case(kind, f, sender, text, truth, payable)


KINDS = {"correct": 40, "ocr read": 10, "ocr misread": 10, "customer typo": 5, "short": 5,
         "over": 3, "no code": 10, "foreign iban": 3, "two orders": 4, "already paid": 10}


def corpus(size: int, n: int, seed: int = 6) -> list[Case]:
    rng = random.Random(seed)
    kinds = [k for k, weight in KINDS.items() for _ in range(weight)]
    return [make_case(rng.choice(kinds), n, rng) for _ in range(size)]


def match(db: Database, case: Case):  # noqa: ANN201
    with db.session() as session:
        orders = candidate_orders(session, case.fields.codes, (case.sender,),
                                  neighbour_amount(case.fields, case.text_source))
        return decide(case.fields, orders, [OUR_IBAN], sender=case.sender, today=TODAY,
                      text_source=case.text_source), len(orders)


# --- 1. scale -----------------------------------------------------------------------------

def scale(sizes: list[int], receipts: int, folder: Path, keep: dict[int, Database]) -> None:
    print(f"\n1. Scale: ms per receipt (look-ups + decision), {receipts} receipts per size")
    print(f"{'orders':>10} {'load s':>8} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'max ms':>8} {'cand/receipt':>12}")
    means = {}
    for n in sizes:
        db, load_s = load_orders(folder / f"orders-{n}.sqlite3", n)
        cases = corpus(receipts + 200, n, seed=n)
        for case in cases[:200]:  # warm the connection pool and the page cache
            match(db, case)
        times, sizes_seen = [], []
        for case in cases[200:]:
            started = time.perf_counter()
            _decision, seen = match(db, case)
            times.append((time.perf_counter() - started) * 1000)
            sizes_seen.append(seen)
        times.sort()
        means[n] = statistics.fmean(times)
        print(f"{n:>10,} {load_s:>8.1f} {means[n]:>8.2f} {times[len(times) // 2]:>8.2f} "
              f"{times[int(len(times) * 0.95)]:>8.2f} {times[-1]:>8.2f} "
              f"{statistics.fmean(sizes_seen):>12.1f}")
        keep[n] = db
    if len(means) > 1:
        low, high = min(means), max(means)
        print(f"growth {low:,} -> {high:,} orders: x{means[high] / means[low]:.2f} "
              f"(target <= 2); at {high:,}: {means[high]:.2f} ms (target < 5)")


# --- 2. decisions -------------------------------------------------------------------------

def accuracy(db: Database, n: int, size: int) -> None:
    print(f"\n2. Decisions: {size:,} generated receipts against {n:,} orders")
    rows: dict[str, Counter] = {}
    for case in corpus(size, n, seed=42):
        decision, _ = match(db, case)
        paid = set(decision.order_codes) if decision.outcome in (MATCHED, SUPPORT) else set()
        c = rows.setdefault(case.kind, Counter())
        c["receipts"] += 1
        c["payable"] += case.payable
        c["auto"] += bool(paid) and case.payable and paid == case.truth
        c["false"] += bool(paid - case.truth) or (bool(paid) and not case.payable)
        c["review"] += not paid
    _table(rows)


def _table(rows: dict[str, Counter]) -> None:
    print(f"{'kind':<24} {'receipts':>8} {'payable':>8} {'auto-matched':>12} "
          f"{'to review':>9} {'duplicate':>9} {'false paid':>10}")
    total: Counter = Counter()
    for kind, c in [*rows.items(), ("all", total)]:
        if kind != "all":
            total.update(c)
        print(f"{kind:<24} {c['receipts']:>8} {c['payable']:>8} {c['auto']:>12} "
              f"{c['review']:>9} {c['duplicate']:>9} {c['false']:>10}")
    rate = total["auto"] / total["payable"] if total["payable"] else 0.0
    print(f"auto-match rate {rate:.1%} of payable receipts; false payments: {total['false']}")


# --- 3. end to end ------------------------------------------------------------------------

def end_to_end(scale_factor: int, folder: Path) -> None:
    from benchmarks.match_corpus import run_corpus
    print("\n3. End to end through the Pipeline (folder source, PDFs and emails, SQLite)")
    started = time.perf_counter()
    rows = run_corpus(folder / "e2e", scale_factor)
    _table(rows)
    print(f"({time.perf_counter() - started:.1f} s including PDF generation and reading)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--corpus", type=int, default=20000)
    parser.add_argument("--e2e", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"match_bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory(prefix="match-bench-") as tmp:
        dbs: dict[int, Database] = {}
        scale(sizes, args.receipts, Path(tmp), dbs)
        n = 100_000 if 100_000 in dbs else max(dbs)
        if args.corpus:
            accuracy(dbs[n], n, args.corpus)
        for db in dbs.values():
            db.dispose()
        if args.e2e:
            end_to_end(args.e2e, Path(tmp))


if __name__ == "__main__":
    main()
