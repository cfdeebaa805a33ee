"""The outbox and the renewal runner, timed: ``python -m benchmarks.outbox_bench``.

1. Mail: N mails queued in SQLite and delivered to a real SMTP server (aiosmtpd, in process):
   mails per second, and the *send-then-record window* per mail: from the moment the SMTP
   server's 250 reaches us to the moment the ``sent`` mark is committed. A crash inside that
   window is the only way a mail goes out twice (docs/renewals.md); this measures its width.
2. Renewals: N paid orders' renewal jobs run through the ``log`` adapter: jobs per second
   (each job is three short transactions: claim, adapter call, record + mail queued).

Options: ``--mails 500`` ``--renewals 500``.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from app.renewals import run_due, schedule
from config.settings import SmtpSettings, parse_settings
from notifier import outbox
from notifier.compose import ComposedMail
from notifier.transport import SmtpTransport
from store.db import Database
from store.models import OrderRow
from tests.servers.smtp import smtp_server

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def bench_mail(count: int, folder: Path) -> None:
    db = Database(f"sqlite:///{folder}/mail.sqlite3")
    with db.session() as session:
        for i in range(count):
            mail = ComposedMail("renewal_done", f"cliente{i}@example.com", f"Rinnovo {i}",
                                "Testo del rinnovo\n" * 20, "<p>Rinnovo</p>\n" * 20)
            outbox.queue(session, mail, f"event:{i}", None, "example.it")
    accepted: list[float] = []
    committed: list[float] = []

    @contextmanager
    def timed_session():  # noqa: ANN202
        with db.session() as session:
            yield session
        committed.append(time.perf_counter())  # after the commit

    with smtp_server() as server:
        smtp = SmtpTransport(SmtpSettings(host="127.0.0.1", port=server.port))

        class Timed:
            def send(self, message, key) -> None:  # noqa: ANN001
                smtp.send(message, key)
                accepted.append(time.perf_counter())

        policy = outbox.DeliveryPolicy("amministrazione@example.it", "Amministrazione PEC")
        started = time.perf_counter()
        sent, failed = outbox.deliver_due(timed_session, Timed(), policy, NOW)
        elapsed = time.perf_counter() - started
        assert sent == count and failed == 0 and len(server.received) == count
    windows = [min(c for c in committed if c > a) - a for a in accepted]
    ms = sorted(w * 1000 for w in windows)
    print(f"mail: {count} sent in {elapsed:.2f}s = {count / elapsed:.0f} mails/s "
          f"({1000 * elapsed / count:.1f} ms each, one SMTP connection per mail)")
    print(f"send-then-record window: median {statistics.median(ms):.2f} ms, "
          f"p99 {ms[int(len(ms) * 0.99) - 1]:.2f} ms, max {ms[-1]:.2f} ms")
    db.dispose()


def bench_renewals(count: int, folder: Path) -> None:
    settings = parse_settings({"database": {"url": "sqlite:///renewals.sqlite3"},
                               "renewal": {"delay_hours": 0}}, folder, "bench")
    db = Database(settings.database_url)
    with db.session() as session:
        for i in range(count):
            order = OrderRow(code=f"RLM{100000 + i}", userid=f"U{i}",
                             pec_address=f"casella{i}@pec.example.it", customer_name=f"C {i}",
                             customer_email=f"c{i}@example.com", amount=Decimal("10.89"),
                             expiry_date=date(2026, 4, 22), years=1, status="paid")
            session.add(order)
            session.flush()
            schedule(session, order, NOW, settings, f"renewal:{order.code}:{i}")
    started = time.perf_counter()
    renewed = run_due(db, settings, NOW + timedelta(seconds=1))
    elapsed = time.perf_counter() - started
    assert renewed == count
    print(f"renewals: {count} run in {elapsed:.2f}s = {count / elapsed:.0f} jobs/s "
          f"({1000 * elapsed / count:.1f} ms each, log adapter, SQLite)")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--renewals", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.mails:
            bench_mail(args.mails, Path(tmp))
        if args.renewals:
            bench_renewals(args.renewals, Path(tmp))


if __name__ == "__main__":
    main()
