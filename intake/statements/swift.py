"""SWIFT MT940 (customer statement), read with the ``mt-940`` library.

A file may hold several statements (one per account and day), each starting at ``:20:``,
possibly wrapped in SWIFT blocks (``{1:...}{2:...}{4:`` ... ``-}``); each is parsed on its
own so every line keeps its own account. Per ``:61:`` line: the booking date (entry date,
else value date), C/D/RC/RD, the amount, the transaction type, the customer reference and
the bank reference (after ``//``); ``:86:`` is the causale, read whole.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import mt940

from core.errors import BadDocument
from intake.statements.bancoposta import decode
from intake.statements.model import (
    CREDIT,
    DEBIT,
    MT940,
    ParsedStatement,
    Reference,
    Rejected,
    StatementLine,
)
from intake.statements.words import payer_in_text, references_in_text

_BLOCKS = re.compile(r"\{[1-3]:[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\{4:|-\}|\{5:[^{}]*(?:\{[^{}]*\}"
                     r"[^{}]*)*\}")
_NONREF = {"NONREF", "NOTPROVIDED", ""}


def is_mt940(text: str) -> bool:
    head = text[:20000]
    return bool(re.search(r"^:20:", head, re.M) and re.search(r"^:61:|^:60[FM]:", head, re.M)
                and re.search(r"^:25:", head, re.M))


def _statements(text: str) -> list[str]:
    text = _BLOCKS.sub("\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    starts = [m.start() for m in re.finditer(r"^:20:", text, re.M)]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def parse_mt940(data: bytes) -> ParsedStatement:
    text = decode(data)
    if not is_mt940(text):
        raise BadDocument("not an MT940 statement: no :20:, :25: and :61: fields")
    result = ParsedStatement(MT940)
    for index, chunk in enumerate(_statements(text), 1):
        where = f"statement {index}"
        transactions = mt940.models.Transactions()
        try:
            transactions.parse(chunk)
        except Exception as exc:  # the library raises bare RuntimeError/ValueError/KeyError
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            result.rejected.append(Rejected(where, f"unreadable MT940: {first}"))
            continue
        account = (transactions.data.get("account_identification") or "unknown")
        account = account.replace(" ", "").upper()
        if account not in result.accounts:
            result.accounts.append(account)
        for number, transaction in enumerate(transactions, 1):
            try:
                result.lines.append(_line(account, transaction.data))
            except ValueError as exc:
                result.rejected.append(Rejected(f"{where} :61: {number}", str(exc)))
    if not result.accounts:
        raise BadDocument("not an MT940 statement: no statement could be read")
    return result


def _day(value: date | None) -> date | None:
    return None if value is None else date(value.year, value.month, value.day)


def _line(account: str, data: dict) -> StatementLine:
    status = data.get("status", "")
    if status not in ("C", "D", "RC", "RD"):
        raise ValueError(f"debit/credit mark {status!r} is not C, D, RC or RD")
    amount = data["amount"].amount
    amount = abs(Decimal(amount)).quantize(Decimal("0.01"))
    if amount == 0:
        raise ValueError("amount is zero")
    # RC reverses a credit (money taken back), RD a debit (money given back)
    direction = CREDIT if status in ("C", "RD") else DEBIT
    booked, value = _day(data.get("entry_date") or data.get("date")), _day(data.get("date"))
    if booked is None:
        raise ValueError("no booking date")
    details = " ".join((data.get("transaction_details") or "").split())
    refs = [Reference("MT940 bank", v) for v in [data.get("bank_reference") or ""]
            if v.upper() not in _NONREF]
    refs += [Reference("MT940 customer", v) for v in [data.get("customer_reference") or ""]
             if v.upper() not in _NONREF]
    refs += references_in_text(details)
    seen: set[str] = set()
    refs = [r for r in refs if not (r.value in seen or seen.add(r.value))]
    extra = " ".join((data.get("extra_details") or "").split())
    payer = data.get("applicant_name") if direction == CREDIT else None
    return StatementLine(
        account=account, booking_date=booked, value_date=value, amount=amount,
        direction=direction, currency=data.get("currency") or "EUR", references=tuple(refs),
        remittance=(details,) if details else (), additional_info=(extra,) if extra else (),
        payer=payer or (payer_in_text(details) if direction == CREDIT else None),
        bank_code=data.get("id"), reversal=status.startswith("R"),
        raw=f":61:{data.get('status')} {amount} {data.get('bank_reference')} :86:{details}")
