"""What each CLI command does, and how it prints (CONTRACT.md's JSON shapes)."""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from config.settings import Settings
from core.errors import BadMessage, ConfigError
from intake.message import parse_incoming
from intake.reading import read_message
from intake.sources.base import IncomingMessage
from intake.sources.folder import MAIL_SUFFIXES
from intake.text import default_ocr
from matching.orders import parse_orders_csv
from store.db import Database, migrate
from store.models import MatchDecisionRow, MessageRow, OrderRow
from store.orderbook import import_orders
from store.statements import bank_confirmed

log = logging.getLogger("pec_intake")


def open_database(settings: Settings, patient: bool = False) -> Database:
    """``patient``: the daemon waits ``database.retry_seconds`` for a
    database that is down; a command a person types fails at once, with the reason."""
    pool = settings.database if patient else replace(settings.database, retry_seconds=0)
    return Database(settings.database_url, pool)


def _print_json(items: list[dict[str, Any]]) -> None:
    json.dump(items, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


# --- init ---------------------------------------------------------------------------------

def init(settings: Settings, db: Database) -> int:
    before, after = migrate(db.engine)
    where = db.engine.url.render_as_string(hide_password=True)
    if before == after:
        print(f"database {where}: schema already at revision {after}")
    else:
        print(f"database {where}: schema upgraded from {before or 'empty'} to revision {after}")
    return 0


# --- orders -------------------------------------------------------------------------------

def orders_import(db: Database, file: Path) -> int:
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    book = parse_orders_csv(text)
    for warning in book.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with db.session() as session:
        result = import_orders(session, book, actor=f"import:{file.name}")
    print(f"orders: {result.inserted} inserted, {result.updated} updated, "
          f"{result.unchanged} unchanged, {len(result.rejected)} rejected")
    for line, reason in sorted(result.rejected):
        print(f"  rejected line {line}: {reason}")
    return 0


def order_json(row: OrderRow) -> dict[str, Any]:
    return {
        "code": row.code, "status": row.status, "amount": _money(row.amount),
        "paid_amount": _money(row.paid_amount), "paid_at": _iso(row.paid_at),
        "receipt_ids": sorted(link.message_id for link in row.receipts),
        "new_expiry_date": _iso(row.new_expiry_date),
        "userid": row.userid, "pec_address": row.pec_address,
        "customer_name": row.customer_name, "customer_email": row.customer_email,
        "expiry_date": _iso(row.expiry_date), "years": row.years,
        "ordered_at": _iso(row.ordered_at), "status_reason": row.status_reason,
        "review_flag": row.review_flag, "review_reason": row.review_reason,
    }


def orders_list(db: Database, status: str | None, as_json: bool) -> int:
    with db.session() as session:
        query = select(OrderRow).order_by(OrderRow.code)
        if status:
            query = query.where(OrderRow.status == status)
        rows = list(session.scalars(query))
        confirmed = bank_confirmed(session, [row.id for row in rows])
        items = [order_json(row) | {"bank_confirmed": confirmed[row.id]} for row in rows]
    if as_json:
        _print_json(items)
    else:
        _print_table(items, ["code", "status", "amount", "paid_amount", "paid_at",
                             "customer_email", "receipt_ids"])
    return 0


# --- receipts -----------------------------------------------------------------------------

def receipt_json(row: MessageRow, decision: MatchDecisionRow | None,
                 review: Any = None) -> dict[str, Any]:
    combined = next((e for e in reversed(row.extractions) if e.document_id is None), None)
    return {
        "id": row.id, "source": row.source, "source_ref": row.source_ref,
        "message_id": row.message_id,
        "filename": row.filename, "status": row.status, "reason": row.reason,
        "codes": list(combined.codes) if combined else [],
        "amount": _money(combined.amount) if combined else None,
        "order_codes": sorted(link.order.code for link in row.orders),
        "received_at": _iso(row.received_at), "sender": row.sender,
        "certified_sender": row.certified_sender, "subject": row.subject,
        "kind": row.kind, "text_source": row.text_source,
        "iban": combined.iban if combined else None,
        "transfer_ref": combined.transfer_ref if combined else None,
        "payment_date": _iso(combined.payment_date) if combined else None,
        "payer": combined.payer if combined else None,
        "method": combined.method if combined else None,
        "sha256": row.sha256, "duplicate_of": row.duplicate_of_id,
        "candidates": list(decision.candidates) if decision else [],
        "match_flags": list(decision.flags or []) if decision else [],
        "documents": [{"filename": d.filename, "kind": d.kind, "origin": d.origin,
                       "sha256": d.sha256, "text_source": d.text_source, "error": d.error}
                      for d in row.documents],
        "reviewed_by": review.reviewed_by if review is not None else None,
        "reviewed_at": _iso(review.reviewed_at) if review is not None else None,
    }


def receipts_list(db: Database, status: str | None, as_json: bool) -> int:
    with db.session() as session:
        query = select(MessageRow).order_by(MessageRow.id)
        if status:
            query = query.where(MessageRow.status == status)
        rows = list(session.scalars(query))
        decisions: dict[int, MatchDecisionRow] = {}
        if rows:
            for decision in session.scalars(select(MatchDecisionRow).where(
                    MatchDecisionRow.message_id.in_([r.id for r in rows]))
                    .order_by(MatchDecisionRow.id)):
                decisions[decision.message_id] = decision
        reviews = _reviews(session, [r.id for r in rows])
        items = [receipt_json(row, decisions.get(row.id), reviews.get(row.id)) for row in rows]
    if as_json:
        _print_json(items)
    else:
        _print_table(items, ["id", "source", "filename", "status", "codes", "amount",
                             "order_codes", "reason"])
    return 0


def _reviews(session: Any, ids: list[int]) -> dict[int, Any]:
    """Who decided each receipt (the review UI's state), for reviewed_by / reviewed_at."""
    from store.reviews import ReceiptReviewRow
    found: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(ReceiptReviewRow).where(
                ReceiptReviewRow.message_id.in_(ids[start:start + 500]),
                ReceiptReviewRow.reviewed_by.is_not(None))):
            found[row.message_id] = row
    return found


# --- extract ------------------------------------------------------------------------------

EMPTY_FIELDS = {"codes": [], "amount": None, "currency": None, "iban": None,
                "transfer_ref": None, "payment_date": None, "payer": None,
                "method": "unknown", "text_source": None, "mailboxes": [],
                "confidence": dict.fromkeys(("codes", "amount", "iban", "transfer_ref",
                                             "payment_date", "payer"))}


def extract_one(path: str, settings: Settings, ocr: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"file": path, **EMPTY_FIELDS, "error": None}
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        result["error"] = f"cannot read file: {exc.strerror or exc}"
        return result
    incoming = IncomingMessage(source="extract", key=file.name, raw=raw, filename=file.name,
                               is_mail=file.suffix.lower() in MAIL_SUFFIXES)
    try:
        parsed = parse_incoming(incoming)
    except BadMessage as exc:
        result["error"] = exc.reason
        return result
    reading = read_message(parsed, settings.limits, ocr)
    if not reading.readable:
        result["error"] = "; ".join(reading.problems) or "no readable document"
        return result
    fields = reading.fields
    result.update({
        "codes": list(fields.codes), "amount": _money(fields.amount),
        "currency": fields.currency, "iban": fields.iban, "transfer_ref": fields.transfer_ref,
        "payment_date": _iso(fields.payment_date), "payer": fields.payer,
        "method": fields.method, "text_source": reading.text_source,
        "mailboxes": list(fields.mailboxes),
        "confidence": {name: fields.confidence.get(name)
                       for name in EMPTY_FIELDS["confidence"]},
    })
    if fields.disputed:  # what the two OCR engines read differently
        result["disputed"] = dict(fields.disputed)
    return result


def extract(settings: Settings, files: Iterable[str], as_json: bool) -> int:
    ocr = default_ocr(settings.ocr.second_engine)
    for path in files:
        try:
            result = extract_one(path, settings, ocr)
        except Exception as exc:  # one bad file never stops the others; say what happened
            log.exception("extract: %s failed unexpectedly", path)
            result = {"file": path, **EMPTY_FIELDS,
                      "error": f"unexpected error: {type(exc).__name__}: {exc}"}
        if as_json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            _print_fields(result)
    return 0


def _print_fields(result: dict[str, Any]) -> None:
    print(result["file"])
    for key, value in result.items():
        if key != "file":
            print(f"  {key:13} {value if value not in (None, []) else '-'}")


# --- poll and run -------------------------------------------------------------------------

def _pipeline(settings: Settings, db: Database):  # noqa: ANN202
    from app.pipeline import Pipeline
    return Pipeline(settings, db, ocr=default_ocr(settings.ocr.second_engine))


pipeline_for = _pipeline


def poll_once(settings: Settings, db: Database) -> int:
    db.ensure_schema()
    summary = _pipeline(settings, db).poll_once()
    print(summary.line())
    return 0


def run_daemon(settings: Settings, db: Database) -> int:
    """The daemon (``app.daemon``): watches every source until SIGTERM/SIGINT."""
    from app.daemon import run
    db.ensure_schema()
    if settings.service.workers > 1:
        from app.service import run_workers
        return run_workers(settings, db, logging.getLevelName(logging.getLogger().level))
    return run(settings, db, _pipeline(settings, db))


# --- tables -------------------------------------------------------------------------------

def _print_table(items: list[dict[str, Any]], columns: list[str]) -> None:
    def cell(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(str(v) for v in value) or "-"
        return "-" if value is None else str(value)
    rows = [[cell(item[c]) for c in columns] for item in items]
    widths = [min(60, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)))
    for row in rows:
        print("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=False)))
    if not rows:
        print("(none)")



