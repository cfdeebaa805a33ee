"""The review UI at scale: ``python -m benchmarks.review_bench [--receipts 10000]``.

Loads an order book and a review queue of ``--receipts`` unmatched receipts into SQLite
(rows written directly, as the pipeline would leave them), plus a few real receipts (PDF
emails through the pipeline) for the receipt page, then times in-process requests to the
ASGI app (server time, no network): the queue page (first page, a deep page, a reason filter,
a search by code, by amount, by name), the receipt page with its page images cached, and an
action (a confirmed match followed by its undo). Prints median and p95 in ms, and the SQL
statements per request, which must not grow with the page size.

Targets (issue 12): queue p95 < 100 ms, receipt page p95 < 150 ms.
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, insert

PRICES = [Decimal("10.89"), Decimal("21.78"), Decimal("14.52"), Decimal("32.67")]
NAMES = ["Mario Rossi", "Giulia Bianchi", "Luca Esposito", "Francesca Romano", "Marco Colombo",
         "Elena Ricci", "Paolo Greco", "Sara Gallo", "Anna Conti", "Davide Costa"]


def _load(db, n: int, now: datetime) -> None:  # noqa: ANN001
    from store.models import ExtractionRow, MatchDecisionRow, MessageRow, OrderRow
    orders, messages, extractions, decisions = [], [], [], []
    for i in range(n):
        code = f"RLM{2_000_000 + i}"
        name = NAMES[i % len(NAMES)] + f" {i}"
        price = PRICES[i % len(PRICES)]
        orders.append(dict(id=i + 1, code=code, userid=f"U{i}", pec_address=f"c{i}@pec.example.it",
                           customer_name=name, customer_email=f"c{i}@example.com", amount=price,
                           expiry_date=date(2026, 1, 1) + timedelta(days=i % 400), years=1,
                           status="pending", created_at=now, updated_at=now))
        received = now - timedelta(minutes=n - i)
        messages.append(dict(id=i + 1, source="amministrazione" if i % 3 else "fax",
                             source_key=f"k{i}", source_ref=f"{i}.eml", sha256=f"{i:064x}",
                             size=1000, sender=f"c{i}@example.com", subject=f"Pagamento {code}",
                             filename="ricevuta.pdf", kind="payment", status="unmatched",
                             reason=f"code {code} found; amount {price - 1} is 1,00 short of "
                                    f"{price}" if i % 2 else "no order code (RLM...) found, "
                                    "and the sender is not a known customer",
                             received_at=received, processed_at=received))
        extractions.append(dict(message_id=i + 1, codes=[code] if i % 2 else [],
                                amount=price - 1, iban="IT62C0326803203052886541770",
                                transfer_ref=f"0306{i:012d}", payer=name, method="bonifico",
                                text_source="text_layer"))
        decisions.append(dict(message_id=i + 1, outcome="unmatched", reason="short",
                              order_codes=[], candidates=[{"code": code, "score": 0.7,
                                                           "reasons": []}],
                              inputs={}, decided_by="daemon", decided_at=received))
    with db.session() as session:
        for table, rows in ((OrderRow, orders), (MessageRow, messages),
                            (ExtractionRow, extractions), (MatchDecisionRow, decisions)):
            for start in range(0, len(rows), 2000):
                session.execute(insert(table), rows[start:start + 2000])


def _real_receipts(world_folder: Path, settings, db, count: int) -> list[int]:  # noqa: ANN001
    """A few receipts through the real pipeline: PDF attachments, originals kept."""
    from app.pipeline import Pipeline
    from intake.sources.base import IncomingMessage
    from matching.orders import parse_orders_csv
    from notifier.transport import FolderTransport
    from store.orderbook import import_orders
    from tests.factories.payments import paid_orders
    from tests.factories.receipts import ReceiptSpec, orders_csv, receipt_email
    orders = paid_orders(count, date.today() + timedelta(days=20))
    with db.session() as session:
        import_orders(session, parse_orders_csv(orders_csv([p.order for p in orders])), "bench")
    pipeline = Pipeline(settings, db, transport=FolderTransport(world_folder / "out"))
    ids = []
    for i, paid in enumerate(orders):
        o = paid.order
        spec = ReceiptSpec(codes=(o.code,), amount=o.amount - 1, payer=o.customer_name,
                           reference=f"0399{i:012d}")
        raw = receipt_email(spec, sender=o.customer_email)
        ids.append(pipeline.take_in(IncomingMessage(source="amministrazione", key=f"r{i}",
                                                    raw=raw, filename=None, is_mail=True,
                                                    identity=f"r{i}")).receipt_id)
    return ids, [p.code for p in orders]


def _timed(client, method: str, url: str, counter: list[int], runs: int,  # noqa: ANN001
           **kwargs) -> tuple[list[float], int]:
    times, queries = [], 0
    for _ in range(runs):
        counter[0] = 0
        started = time.perf_counter()
        response = getattr(client, method)(url, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 303), (url, response.status_code, response.text[:300])
        queries = counter[0]
    return times, queries


def _row(label: str, times: list[float], queries: int) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return f"  {label:44} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   " \
           f"{queries:3d} SQL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    from argon2 import PasswordHasher

    from config.settings import parse_settings
    from review import users
    from review.web import create_app
    from store.db import Database
    from tests.factories.review import csrf_of, login
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

    folder = Path(tempfile.mkdtemp(prefix="review-bench-"))
    settings = parse_settings({
        "database": {"url": "sqlite:///bench.sqlite3"},
        "sources": [{"name": "amministrazione", "kind": "folder", "path": "in"},
                    {"name": "fax", "kind": "folder", "path": "fax", "fax_gateway": True}],
        "review": {"undo_seconds": 30}}, folder, str(folder / "bench.toml"))
    db = Database(settings.database_url)
    db.ensure_schema()
    now = datetime.now(UTC)
    started = time.perf_counter()
    _load(db, args.receipts, now)
    real, real_codes = _real_receipts(folder, settings, db, 3)
    print(f"review_bench: {args.receipts:,} receipts in the queue (+{len(real)} real PDF "
          f"receipts), SQLite at {folder}; loaded in {time.perf_counter() - started:.1f} s")
    with db.session() as session:
        users.add_user(session, "bench", "accountant", "bench-password")
    counter = [0]

    def count(*_args) -> None:  # noqa: ANN002
        counter[0] += 1
    event.listen(db.engine, "before_cursor_execute", count)
    from review import queue
    started = time.perf_counter()
    with db.session() as session:
        indexed = queue.sync(session)
    print(f"  first read of the queue indexes its {indexed:,} new receipts (once): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    client = create_app_client(create_app, settings, db)
    login(client, "bench", "bench-password")
    pages = args.receipts // settings.review.page_size
    rows = [
        ("queue, first page", "/queue"),
        (f"queue, page {pages // 2}", f"/queue?page={pages // 2}"),
        ("queue, reason filter", "/queue?reason=no_code"),
        ("queue, search by code", f"/queue?q=RLM{2_000_000 + args.receipts // 2 + 1}"),
        ("queue, search by amount 9,89", "/queue?q=9,89"),
        ("queue, search by name", "/queue?q=rossi"),
        ("queue.json, first page", "/queue.json"),
    ]
    print("Queue pages")
    for label, url in rows:
        print(_row(label, *_timed(client, "get", url, counter, args.runs)))
    print("Queue page size (SQL per request must not grow)")
    for size in (10, 50, 200):
        app = create_app_client(create_app, settings, db, page_size=size)
        login(app, "bench", "bench-password")
        print(_row(f"queue, {size} per page", *_timed(app, "get", "/queue", counter,
                                                      max(5, args.runs // 4))))
    print("Receipt page (page images cached)")
    for rid in real:
        page = client.get(f"/receipts/{rid}")
        for src in re.findall(r'src="(/receipts/[^"]+\.png)"', page.text):
            client.get(src)  # renders and caches
    print(_row("receipt page (PDF, candidates, highlights)",
               *_timed(client, "get", f"/receipts/{real[0]}", counter, args.runs)))
    bulk = f"/receipts/{args.receipts // 2}"
    print(_row("receipt page, bulk receipt", *_timed(client, "get", bulk, counter, args.runs)))
    shown = client.get(f"/receipts/{real[0]}").text
    image = re.findall(r'src="(/receipts/[^"]+\.png)"', shown)[0]
    print(_row("page image (cached PNG)", *_timed(client, "get", image, counter, args.runs)))
    print("Actions")
    match_times, undo_times = [], []
    for _ in range(max(5, args.runs // 4)):
        token = csrf_of(client, f"/receipts/{real[1]}")
        counter[0] = 0
        t0 = time.perf_counter()
        r = client.post(f"/receipts/{real[1]}/match", data={
            "csrf": token, "order_codes": real_codes[1], "confirmed": "1"}, follow_redirects=False)
        match_times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 303, r.text[:300]
        match_q = counter[0]
        t0 = time.perf_counter()
        r = client.post(f"/receipts/{real[1]}/undo", data={"csrf": token}, follow_redirects=False)
        undo_times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 303, r.text[:300]
    print(_row("match (confirmed; paid, renewal, mail)", match_times, match_q))
    print(_row("undo of that match", undo_times, 0).replace("  0 SQL", "  - SQL"))
    return 0


def create_app_client(create_app, settings, db, page_size: int | None = None):  # noqa: ANN001, ANN201
    import dataclasses

    from fastapi.testclient import TestClient
    if page_size is not None:
        settings = dataclasses.replace(settings, review=dataclasses.replace(
            settings.review, page_size=page_size))
    return TestClient(create_app(settings, db))


if __name__ == "__main__":
    raise SystemExit(main())
