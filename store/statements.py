"""Bank statements in the database: recording a file and its lines idempotently, and the
indexed look-ups matching needs (a line by any of its references, the lines that back an
order, whether any statement was ever imported)."""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from core.status import ReceiptStatus, ReviewFlag
from intake.statements import ParsedStatement, StatementLine
from store import audit
from store.models import MessageRow, OrderRow
from store.statement_models import (
    IGNORED,
    UNMATCHED,
    StatementFileRow,
    StatementLineOrderRow,
    StatementLineRow,
    StatementRefRow,
)


def normalise_ref(value: str) -> str:
    return "".join(value.split()).upper()


@dataclass
class Recorded:
    file: StatementFileRow
    new: list[StatementLineRow] = field(default_factory=list)
    known: int = 0
    file_known: bool = False


def _fingerprint(line: StatementLine, occurrence: int) -> str:
    """account + booking date + amount + direction + bank reference (the causale where the
    bank gives none), and how many times that same key came before it in the file: two
    transfers of one batch may share all of it and still be two."""
    key = line.bank_reference or "text:" + " ".join(line.text().split()).upper()
    raw = "|".join([line.account, line.booking_date.isoformat(), f"{line.amount:.2f}",
                    line.direction, normalise_ref(key), str(occurrence)])
    return hashlib.sha256(raw.encode()).hexdigest()


def record_file(session: Session, sha256: str, filename: str, size: int,
                parsed: ParsedStatement | None, reason: str | None, actor: str) -> Recorded:
    """The file's row (one per content) and its new lines. A line already recorded, by this
    file or an overlapping one (same account, day, amount, direction and a shared
    reference, or the same fingerprint), is counted as known and left alone."""
    existing = session.scalar(select(StatementFileRow).where(StatementFileRow.sha256 == sha256))
    if existing is not None and parsed is not None:
        result = Recorded(existing, file_known=True)
        result.known = len(parsed.lines)
        return result
    if existing is not None:
        return Recorded(existing, file_known=True)
    row = StatementFileRow(sha256=sha256, filename=filename, size=size, actor=actor,
                           format=parsed.format if parsed else None,
                           version=parsed.version if parsed else None,
                           accounts=list(parsed.accounts) if parsed else [],
                           status="imported" if parsed else "refused", reason=reason,
                           rejected=[{"where": r.where, "reason": r.reason}
                                     for r in parsed.rejected] if parsed else [])
    session.add(row)
    session.flush()
    result = Recorded(row)
    if parsed is None:
        return result
    seen: Counter = Counter()
    claimed: set[int] = set()
    for line in parsed.lines:
        key = (line.account, line.booking_date, line.amount, line.direction,
               line.bank_reference or line.text())
        occurrence = seen[key]
        seen[key] += 1
        fingerprint = _fingerprint(line, occurrence)
        known = _known(session, row, line, fingerprint, claimed)
        if known is not None:
            claimed.add(known)
            result.known += 1
            continue
        result.new.append(_add_line(session, row, line, fingerprint))
    row.lines_read, row.lines_new, row.lines_known = len(parsed.lines), len(result.new), \
        result.known
    return result


def _known(session: Session, file: StatementFileRow, line: StatementLine, fingerprint: str,
           claimed: set[int]) -> int | None:
    """The line already recorded as this one: same fingerprint, or (an overlapping statement,
    perhaps in another format) same account, day, amount and direction and the bank
    reference of one among the references of the other. Lines of the same file are always
    distinct transactions, however alike."""
    by_print = session.scalar(select(StatementLineRow.id).where(
        StatementLineRow.fingerprint == fingerprint, StatementLineRow.file_id != file.id))
    if by_print is not None and by_print not in claimed:
        return by_print
    refs = {normalise_ref(r.value) for r in line.references}
    if not refs:
        return None
    primary = normalise_ref(line.bank_reference or "")
    same = (select(StatementLineRow).where(
        StatementLineRow.account == line.account,
        StatementLineRow.booking_date == line.booking_date,
        StatementLineRow.amount == line.amount,
        StatementLineRow.direction == line.direction,
        StatementLineRow.file_id != file.id,
        StatementLineRow.id.in_(select(StatementRefRow.line_id).where(
            StatementRefRow.value.in_(sorted(refs)))))
        .order_by(StatementLineRow.id))
    for row in session.scalars(same):
        if row.id in claimed:
            continue
        theirs = {r.value for r in row.refs}
        if primary in theirs or normalise_ref(row.reference or "") in refs:
            return row.id
    return None


def _add_line(session: Session, file: StatementFileRow, line: StatementLine,
              fingerprint: str) -> StatementLineRow:
    status = UNMATCHED if line.credit else IGNORED
    row = StatementLineRow(
        file_id=file.id, fingerprint=fingerprint, account=line.account,
        booking_date=line.booking_date, value_date=line.value_date, amount=line.amount,
        currency=line.currency, direction=line.direction, reference=line.bank_reference,
        references=[{"kind": r.kind, "value": r.value} for r in line.references],
        remittance=line.text(), payer=line.payer, payer_account=line.payer_account,
        counterparty=line.counterparty, bank_code=line.bank_code, reversal=line.reversal,
        raw=line.raw, status=status,
        reason=None if line.credit else "a debit: money that left the account, not a payment")
    session.add(row)
    session.flush()
    for value in dict.fromkeys(normalise_ref(r.value) for r in line.references):
        kind = next(r.kind for r in line.references if normalise_ref(r.value) == value)
        session.add(StatementRefRow(line_id=row.id, kind=kind[:32], value=value[:140]))
    audit.record(session, row, "status", status,
                 reason=f"imported from {file.filename} ({file.format})", actor=file.actor)
    return row


# --- look-ups -----------------------------------------------------------------------------

def lines_with_reference(session: Session, reference: str | None,
                         amount: Decimal | None = None) -> list[StatementLineRow]:
    """Credit lines carrying this reference among any of theirs (a proof's CRO/TRN)."""
    if not reference:
        return []
    query = (select(StatementLineRow).join(StatementRefRow)
             .where(StatementRefRow.value == normalise_ref(reference),
                    StatementLineRow.direction == "credit")
             .order_by(StatementLineRow.id))
    if amount is not None:
        query = query.where(StatementLineRow.amount == amount)
    return list(session.scalars(query).unique())


def lines_for_orders(session: Session, order_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(order_ids)
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    for order_id, line_id in session.execute(
            select(StatementLineOrderRow.order_id, StatementLineOrderRow.line_id)
            .where(StatementLineOrderRow.order_id.in_(ids))):
        found.setdefault(order_id, []).append(line_id)
    return found


def any_statement(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(StatementFileRow.status == "imported"))))


def bank_confirmed(session: Session, order_ids: Sequence[int]) -> dict[int, bool | None]:
    """CONTRACT.md: true when a statement line backs the order's payment, false when none
    yet, null when no statement was ever imported."""
    if not any_statement(session):
        return {i: None for i in order_ids}
    backed = set()
    for start in range(0, len(order_ids), 500):
        backed |= set(lines_for_orders(session, order_ids[start:start + 500]))
    return {i: i in backed for i in order_ids}


def link(session: Session, line: StatementLineRow, order: OrderRow, role: str,
         amount: Decimal | None, reason: str) -> None:
    present = session.scalar(select(StatementLineOrderRow).where(
        StatementLineOrderRow.line_id == line.id, StatementLineOrderRow.order_id == order.id))
    if present is not None:
        return
    session.add(StatementLineOrderRow(line_id=line.id, order_id=order.id, role=role,
                                      amount=amount))
    audit.record_change(session, order, "bank_line", None, f"#{line.id} ({role})",
                        reason=reason)


def summary(session: Session) -> dict:
    """The bank side at a glance (``status``): credit lines by status, the unmatched ones'
    total, orders flagged unconfirmed by the bank, proofs waiting for it, the last import."""
    by_status = {str(status): n for status, n in session.execute(
        select(StatementLineRow.status, func.count())
        .where(StatementLineRow.direction == "credit").group_by(StatementLineRow.status))}
    unmatched_amount = session.scalar(select(func.sum(StatementLineRow.amount)).where(
        StatementLineRow.direction == "credit", StatementLineRow.status == UNMATCHED))
    unconfirmed = session.scalar(select(func.count()).select_from(OrderRow).where(
        OrderRow.review_flag == ReviewFlag.UNCONFIRMED_BY_BANK)) or 0
    awaiting = session.scalar(select(func.count()).select_from(MessageRow).where(
        MessageRow.status == ReceiptStatus.AWAITING_BANK)) or 0
    last = session.execute(select(StatementFileRow.imported_at, StatementFileRow.filename)
                           .where(StatementFileRow.status == "imported")
                           .order_by(StatementFileRow.id.desc()).limit(1)).first()
    latest_day = session.scalar(select(func.max(StatementLineRow.booking_date)))
    return {
        "lines": {s: by_status.get(s, 0) for s in ("matched", "unmatched", "ignored")},
        "lines_unmatched": by_status.get("unmatched", 0),
        "unmatched_amount": f"{Decimal(unmatched_amount or 0):.2f}",
        "orders_unconfirmed": unconfirmed,
        "receipts_awaiting_bank": awaiting,
        "last_import_at": last[0].isoformat() if last else None,
        "last_import_file": last[1] if last else None,
        "latest_booking_date": latest_day.isoformat() if latest_day else None,
    }
