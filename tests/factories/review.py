"""A review world: settings in a folder, orders imported, receipts taken in by the real
pipeline so that some land in the review queue, users, and a logged-in web client."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient

from app.pipeline import Pipeline
from config.settings import Settings, parse_settings
from intake.sources.base import IncomingMessage
from notifier.transport import FolderTransport
from review.users import add_user
from review.web import create_app
from store.db import Database
from tests.factories.payments import FakeClock, import_world, paid_orders
from tests.factories.receipts import MailSpec, ReceiptSpec, build_email, receipt_email

PASSWORD = "password-di-prova"
START = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


@dataclass
class ReviewWorld:
    folder: Path
    settings: Settings
    db: Database
    clock: FakeClock
    pipeline: Pipeline
    orders: list = field(default_factory=list)

    def take_in(self, raw: bytes, key: str, source: str = "inbox") -> int:
        outcome = self.pipeline.take_in(IncomingMessage(
            source=source, key=key, raw=raw, filename=f"{key}.eml", is_mail=True,
            identity=key))
        return outcome.receipt_id

    def short_payment(self, index: int, short: str = "1.00", subject: str | None = None,
                      again: int = 0) -> int:
        """A receipt for order ``index`` paying less than due: it waits for review."""
        order = self.orders[index].order
        spec = ReceiptSpec(codes=(order.code,), amount=order.amount - Decimal(short),
                           payer=order.customer_name, reference=f"0307{index:012d}")
        raw = receipt_email(spec, sender=order.customer_email)
        if subject is not None:
            raw = raw.replace(f"Subject: Ricevuta pagamento ordine {order.code}".encode(),
                              f"Subject: {subject}".encode(), 1)
        return self.take_in(raw, f"short-{index}-{short}-{again}")

    def no_code(self, index: int, sender: str | None = None, subject: str = "Pagamento") -> int:
        """A customer's email saying they paid order ``index``'s amount, with neither the
        order code nor a bank document: it waits for review."""
        order = self.orders[index].order
        amount = f"{order.amount:.2f}".replace(".", ",")
        raw = build_email(MailSpec(sender=sender or "sconosciuto@example.net",
                                   sender_name=order.customer_name, subject=subject,
                                   body=f"Buongiorno,\nho pagato con bonifico euro "
                                        f"{amount}.\nOrdinante: {order.customer_name}"))
        return self.take_in(raw, f"nocode-{index}-{subject}")

    def user(self, name: str, role: str = "accountant") -> str:
        with self.db.session() as session:
            add_user(session, name, role, PASSWORD)
        return name

    def client(self, name: str | None = None) -> TestClient:
        client = TestClient(create_app(self.settings, self.db, clock=self.clock))
        if name:
            login(client, name)
        return client


def login(client: TestClient, name: str, password: str = PASSWORD, *,
          expect: int = 200):  # noqa: ANN201
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": name, "password": password,
                                            "csrf": token, "next": "/queue"})
    assert response.status_code == expect, response.text[:500]
    return response


def csrf_of(client: TestClient, path: str = "/queue") -> str:
    page = client.get(path)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def make_world(folder: Path, count: int = 6, review: dict | None = None,
               expiry: date = date(2026, 4, 1), db_url: str = "sqlite:///intake.sqlite3",
               ocr: bool = False) -> ReviewWorld:
    settings = parse_settings({
        "database": {"url": db_url},
        "sources": [{"name": "inbox", "kind": "folder", "path": "var/inbox"},
                    {"name": "fax", "kind": "folder", "path": "var/fax", "fax_gateway": True}],
        "review": {"undo_seconds": 30, **(review or {})},
    }, folder, f"{folder}/test.toml")
    db = Database(settings.database_url)
    clock = FakeClock(START)
    from intake.text import default_ocr
    pipeline = Pipeline(settings, db, clock=clock, transport=FolderTransport(folder / "out"),
                        ocr=default_ocr() if ocr else None)
    orders = paid_orders(count, expiry)
    import_world(db, orders)
    return ReviewWorld(folder, settings, db, clock, pipeline, orders)
