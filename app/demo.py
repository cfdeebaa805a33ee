"""``python run.py demo``: a sample order book and inbox through ``poll --once``, on the
embedded defaults, in a folder of its own; then a table of what happened to each order."""
from __future__ import annotations

import email
import email.policy
import logging
import os
import shutil
import sys
from pathlib import Path

from core.errors import ConfigError
from core.status import ReceiptStatus

MARKER = ".pec-intake-demo"


def run_demo(folder: Path) -> int:
    try:
        from tests.factories.scenario import inbox_items, write_scenario
    except ImportError as exc:
        raise ConfigError(f"demo: the sample generator needs the repository's tests/ and "
                          f"reportlab (pip install -e '.[demo]'): {exc}") from None
    folder = folder.resolve()
    _reset(folder)
    previous = Path.cwd()
    os.chdir(folder)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        return _run(folder, inbox_items, write_scenario)
    finally:
        os.chdir(previous)


def _reset(folder: Path) -> None:
    if folder.exists():
        if not (folder / MARKER).exists():
            raise ConfigError(f"demo: {folder} exists and is not a demo folder; "
                              "choose another with --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `python run.py demo`; deleted on the next run\n")


def _run(folder: Path, inbox_items, write_scenario) -> int:  # noqa: ANN001
    from app import commands
    from config.settings import embedded_defaults
    from intake.text import default_ocr

    settings = embedded_defaults(folder)
    inbox = folder / "var/inbox"
    ocr = default_ocr() is not None
    csv_path = write_scenario(folder, inbox, with_photo=ocr)
    stories = {item.filename: item.story for item in inbox_items()}
    stories["12-foto-gallo.jpg"] = "a phone photo of the bank receipt (OCR)"
    db = commands.open_database(settings)
    try:
        print(f"pec-intake demo, working folder {folder}\n")
        print(f"1. Order book {csv_path.name}: ", end="", flush=True)
        commands.orders_import(db, csv_path)
        before = {o["code"]: o for o in _orders(db)}
        print(f"2. {len(stories)} receipts dropped in var/inbox/ "
              f"(OCR {'available' if ocr else 'not installed: no photo in the sample'})")
        print("3. python run.py poll --once")
        print("   ", end="", flush=True)
        commands.poll_once(settings, db)
        after = _orders(db)
        receipts = _receipts(db)
    finally:
        db.dispose()
    by_id = {r["id"]: r for r in receipts}
    print("\nOrders")
    rows = [[o["code"], o["customer_name"], before[o["code"]]["status"], o["status"],
             o["paid_amount"] or "-",
             ", ".join(by_id[i].get("source_ref") or f"#{i}" for i in o["receipt_ids"]) or "-"]
            for o in after]
    _table(["order", "customer", "before", "after", "paid", "receipt"], rows)
    print("\nReceipts")
    rows = [[r.get("source_ref") or r["filename"] or "-", stories.get(r.get("source_ref"), ""),
             r["status"], ", ".join(r["order_codes"]) or "-"] for r in receipts]
    _table(["file", "what it is", "status", "orders"], rows)
    print("\nWhy the others were not paid (the review queue reads the same)")
    for r in receipts:
        if r["status"] != ReceiptStatus.MATCHED:
            print(f"  #{r['id']} {r.get('source_ref') or r['filename']}: {r['status']}: "
                  f"{r['reason']}")
    _show_outbox(folder / "var/outbox")
    print(f"\nEverything is in {folder}: the database var/intake.sqlite3, originals in "
          "var/originals/, files moved to var/inbox/processed/ and var/inbox/quarantine/.")
    root = Path(__file__).resolve().parent.parent
    print(f"Look around: {_python()} {root / 'run.py'} --config {folder / 'pec-intake.toml'} "
          "receipts list")
    _review_ui(folder, settings)
    return 0


def _python() -> str:
    """The interpreter running the demo (the checkout's .venv/ when scripts/demo.sh ran it):
    Debian's own python3 has none of the project's packages."""
    return sys.executable or "python3"


def _review_ui(folder: Path, settings) -> None:  # noqa: ANN001 (config.settings.Settings)
    """A demo accountant and a configuration file, so the review UI opens on this data."""
    import secrets

    from app import commands
    from review.users import add_user
    password = "demo-" + secrets.token_urlsafe(9)
    db = commands.open_database(settings)
    try:
        with db.session() as session:
            add_user(session, "demo", "accountant", password, actor="demo")
    finally:
        db.dispose()
    config = folder / "pec-intake.toml"
    config.write_text('# written by the demo: its database, inbox and outbox, relative to here\n'
                      '[database]\nurl = "sqlite:///var/intake.sqlite3"\n\n'
                      '[[sources]]\nname = "inbox"\nkind = "folder"\npath = "var/inbox"\n\n'
                      '[outbox]\ndir = "var/outbox"\n\n'
                      '[storage]\noriginals_dir = "var/originals"\n', encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    print("\nThe review queue in the browser (the receipts above that were not paid):")
    print(f"  {_python()} {root / 'run.py'} --config {config} review")
    print(f"  then open http://{settings.review.host}:{settings.review.port}/ and log in as "
          f"user demo, password {password}")


def _orders(db) -> list[dict]:  # noqa: ANN001
    from sqlalchemy import select

    from app.commands import order_json
    from store.models import OrderRow
    with db.session() as session:
        return [order_json(row) for row in session.scalars(select(OrderRow).order_by(
            OrderRow.code))]


def _receipts(db) -> list[dict]:  # noqa: ANN001
    from sqlalchemy import select

    from app.commands import receipt_json
    from store.models import MessageRow
    with db.session() as session:
        return [receipt_json(row, None) for row in session.scalars(select(MessageRow).order_by(
            MessageRow.id))]


def _subject(receipt: dict) -> str:
    return f"email \"{(receipt.get('subject') or '')[:30]}\""


def _show_outbox(outbox: Path) -> None:
    mails = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    print(f"\nEmails written to var/outbox/ ({len(mails)})")
    for path in mails:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        print(f"  {path.name}: to {msg['To']}, \"{msg['Subject']}\"")
    if mails:
        msg = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
        body = msg.get_body(("plain",))
        print(f"\n  --- {mails[0].name} ---")
        for line in (body.get_content() if body else "").strip().splitlines():
            print(f"  | {line}")


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [min(58, max(len(str(c)) for c in column)) for column in zip(header, *rows)]
    print("  " + "  ".join(h.upper().ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        cells = [str(c) if len(str(c)) <= w else str(c)[:w - 1] + "…"
                 for c, w in zip(row, widths)]
        print("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)))
