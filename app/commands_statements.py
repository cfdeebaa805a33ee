"""``statements import FILE...`` and ``statements list [--json] [--status S]`` (CONTRACT.md,
"Bank statements")."""
from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.errors import ConfigError
from app.statements import FileReport, import_statement
from config.settings import Settings
from store.db import Database
from store.models import OrderRow
from store.statement_models import StatementFileRow, StatementLineRow

log = logging.getLogger("pec_intake")
STATUSES = ("matched", "unmatched", "ignored")


def statements_import(settings: Settings, db: Database, files: list[str]) -> int:
    """Every file is read even when one cannot be: a file that cannot be opened is exit 2
    (after the others); a file that is read but refused is reported and kept, exit 0."""
    missing = []
    for name in files:
        path = Path(name)
        limit = settings.limits.max_message_bytes
        try:
            if path.is_file() and path.stat().st_size > limit:
                print(f"{name}: refused: {path.stat().st_size} bytes, over the limit of "
                      f"{limit} (limits.max_message_bytes); not read")
                continue
            data = path.read_bytes()
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror or exc}")
            missing.append(name)
            continue
        try:
            report = import_statement(settings, db, data, path.name)
        except Exception as exc:  # one bad file never stops the others; say what happened
            log.exception("statements import: %s failed unexpectedly", name)
            print(f"{name}: not imported: unexpected error: {type(exc).__name__}: {exc}")
            continue
        _print_report(name, report)
    if missing:
        raise ConfigError(f"statements import: cannot read {', '.join(missing)}")
    return 0


def _print_report(name: str, report: FileReport) -> None:
    if report.refused:
        print(f"{name}: refused: {report.refused}")
        return
    print(f"{name}: {report.label}: {report.read} line(s) read, {report.new} new, "
          f"{report.known} already known, {len(report.rejected)} rejected"
          + (" (this file was imported before)" if report.file_known else ""))
    for where, reason in report.rejected:
        print(f"  rejected {where}: {reason}")
    if report.outcomes:
        print("  new lines: " + ", ".join(f"{n} {status}"
                                          for status, n in sorted(report.outcomes.items())))


def line_json(row: StatementLineRow, codes: list[str], file: StatementFileRow | None
              ) -> dict[str, Any]:
    decision = row.decision or {}
    return {
        "id": row.id, "booking_date": row.booking_date.isoformat(),
        "value_date": row.value_date.isoformat() if row.value_date else None,
        "amount": f"{row.amount:.2f}", "currency": row.currency,
        "direction": row.direction, "reference": row.reference,
        "references": list(row.references or []), "remittance": row.remittance,
        "payer": row.payer, "payer_account": row.payer_account, "account": row.account,
        "status": row.status, "reason": row.reason, "order_codes": codes,
        "receipt_id": row.message_id, "bank_code": row.bank_code,
        "candidates": decision.get("candidates", []),
        "file": file.filename if file else None, "format": file.format if file else None,
    }


def statements_list(db: Database, status: str | None, as_json: bool) -> int:
    """The credit lines; ``--status ignored`` also shows the debit lines, which are kept
    and always ignored."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"statements list: --status must be one of {', '.join(STATUSES)}; "
                          f"got {status!r}")
    with db.session() as session:
        query = select(StatementLineRow).order_by(StatementLineRow.booking_date,
                                                  StatementLineRow.id)
        if status:
            query = query.where(StatementLineRow.status == status)
        if status != "ignored":
            query = query.where(StatementLineRow.direction == "credit")
        rows = list(session.scalars(query))
        files = {f.id: f for f in session.scalars(select(StatementFileRow))} if rows else {}
        order_codes = {o.id: o.code for o in session.scalars(select(OrderRow).where(
            OrderRow.id.in_({link.order_id for r in rows for link in r.orders})))} \
            if rows else {}
        items = [line_json(r, sorted(order_codes[link.order_id] for link in r.orders),
                           files.get(r.file_id)) for r in rows]
    if as_json:
        json.dump(items, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    columns = ["id", "booking_date", "amount", "status", "order_codes", "payer", "reference",
               "remittance"]
    from app.commands import _print_table
    _print_table(items, columns)
    return 0


def statements_match(settings: Settings, db: Database, line_id: int, codes: list[str],
                     by: str, reason: str | None) -> int:
    """A person's decision that bank line ``line_id`` paid ``codes`` (as the review UI's
    "Abbina"; a script names its orders deliberately, so a different amount is recorded,
    not asked)."""
    from review.errors import ReviewError
    from review.statements import match_line
    try:
        with db.session() as session:
            done = match_line(session, settings, _now, line_id, codes, actor=by,
                              reason=reason, confirmed=True)
    except ReviewError as exc:
        raise ConfigError(f"statements match: {exc.reason}") from None
    print(f"line {line_id}: matched ({', '.join(done)})")
    return 0


def statements_dismiss(db: Database, line_id: int, reason: str, by: str) -> int:
    """Not a customer's payment: the line becomes ``ignored`` with the reason."""
    from review.errors import ReviewError
    from review.statements import dismiss_line
    try:
        with db.session() as session:
            dismiss_line(session, _now, line_id, actor=by, reason=reason)
    except ReviewError as exc:
        raise ConfigError(f"statements dismiss: {exc.reason}") from None
    print(f"line {line_id}: ignored")
    return 0


def _now() -> datetime:
    return datetime.now(UTC)
