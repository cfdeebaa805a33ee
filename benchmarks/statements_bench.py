"""Bank statement import: lines per second for the parse alone and for the whole import
(record, settle each credit line through the decision engine, pay through effects), then the
same file again (everything already known). ``python -m benchmarks.statements_bench``.

Orders ``RLM200000..`` are imported; the statement holds one credit line per order (its code
in the causale, a third of them in one batch entry) plus a bank fee per 20 lines."""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from app.statements import import_statement
from config.settings import parse_settings
from intake.statements import parse_statement
from matching.orders import parse_orders_csv
from store.db import Database
from store.orderbook import import_orders
from tests.factories.receipts import OrderSpec, orders_csv
from tests.factories.statements import WRITERS, Batch, Statement, Transfer

_SYLLABLES = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi",
              "zo", "ma", "re", "lo", "ta", "no", "ge"]


def _name(i: int) -> str:
    """A distinct name per customer (payers are named, as on a real statement)."""
    first = "".join(_SYLLABLES[(i // 20 ** k) % 20] for k in range(3)).capitalize()
    last = "".join(_SYLLABLES[(i * 7 // 20 ** k + k) % 20] for k in range(3)).capitalize()
    return f"{first} {last}"


def _world(n: int) -> tuple[list[OrderSpec], Statement]:
    # sequential codes, most of them at the one-year price: every code has neighbours of the
    # same amount, so the payer's name is what lets a line pay (as in a real order book)
    orders = [OrderSpec(f"RLM{200000 + i}", Decimal("10.89") * (1 + (i % 10 == 9)), _name(i),
                        f"cliente{i}@example.com", expiry_date=date(2026, 12, 1))
              for i in range(n)]
    transfers = [Transfer(o.amount, f"Rinnovo PEC {o.code}", f"0307{i:012d}",
                          payer=o.customer_name) for i, o in enumerate(orders)]
    third = n // 3
    entries: list = [Batch(tuple(transfers[:third]), "BATCH")] if third > 1 else []
    entries += transfers[third if third > 1 else 0:]
    entries += [Transfer(Decimal("1.00"), "commissioni", f"FEE{i:08d}", credit=False)
                for i in range(n // 20)]
    return orders, Statement(entries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--formats", default="camt.053,mt940,cbi,bancoposta-csv")
    args = parser.parse_args()
    orders, statement = _world(args.lines)
    print(f"{args.lines} credit lines + {args.lines // 20} debits per file")
    print(f"{'format':16} {'bytes':>9} {'parse l/s':>10} {'import l/s':>11} {'again s':>8} "
          f"{'matched':>8}")
    for fmt in args.formats.split(","):
        data = WRITERS[fmt](statement)
        started = time.perf_counter()
        parsed = parse_statement(data)
        parse_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            settings = parse_settings({"database": {"url": f"sqlite:///{tmp}/b.sqlite3"}},
                                      Path(tmp), "bench")
            db = Database(settings.database_url)
            with db.session() as session:
                import_orders(session, parse_orders_csv(orders_csv(orders)), "bench")
            started = time.perf_counter()
            report = import_statement(settings, db, data, f"bench.{fmt}")
            import_s = time.perf_counter() - started
            started = time.perf_counter()
            again = import_statement(settings, db, data, f"bench.{fmt}")
            again_s = time.perf_counter() - started
            assert again.new == 0
            db.dispose()
        lines = len(parsed.lines)
        print(f"{fmt:16} {len(data):9d} {lines / parse_s:10.0f} {lines / import_s:11.0f} "
              f"{again_s:8.2f} {report.outcomes.get('matched', 0):8d}")


if __name__ == "__main__":
    main()
