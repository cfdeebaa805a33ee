"""The BancoPosta CSV export of a postal current account (where the *bollettini* arrive).

Layout, as in the real exports (``../shared/corpus/ofxstatement-bancoposta``):
``Data;Valuta;Addebiti;Accrediti;Descrizione operazioni``, ';'-separated, dates dd/mm/yy
(or dd/mm/yyyy), Italian amounts (2.000,00), a debit in ``Addebiti`` or a credit in
``Accrediti``, and two balance rows (``SALDO INIZIALE`` / ``SALDO FINALE``, whose cells may
carry a stray '|') that are not transactions. The description is free text that holds the
TRN, the payer after ``DA`` and the causale after ``PER``; the export names no account.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from core.errors import BadDocument
from intake.statements.model import (
    BANCOPOSTA,
    CREDIT,
    DEBIT,
    ParsedStatement,
    Rejected,
    StatementLine,
)
from intake.statements.words import causale_in_text, payer_in_text, references_in_text

HEADER = ("data", "valuta", "addebiti", "accrediti", "descrizione operazioni")
ACCOUNT = "BANCOPOSTA"  # the export does not say which account: one name for all its lines
_AMOUNT = re.compile(r"^\d{1,3}(?:\.\d{3})*(?:,\d{1,2})?$|^\d+(?:,\d{1,2})?$")


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def is_bancoposta(text: str) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    return tuple(c.strip() for c in first.split(";"))[:5] == HEADER


def parse_bancoposta(data: bytes) -> ParsedStatement:
    text = decode(data)
    if not is_bancoposta(text):
        raise BadDocument("not a BancoPosta export: the first line is not "
                          "'Data;Valuta;Addebiti;Accrediti;Descrizione operazioni'")
    result = ParsedStatement(BANCOPOSTA, accounts=[ACCOUNT])
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    next(rows)
    for row in rows:
        line_no = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip().strip("|").strip() for c in row]
        if len(cells) < 5:
            result.rejected.append(Rejected(f"line {line_no}", f"expected 5 fields, found "
                                            f"{len(cells)}"))
            continue
        description = ";".join(cells[4:]).strip()  # a ';' inside the description
        if re.match(r"^SALDO\s+(INIZIALE|FINALE|CONTABILE|DISPONIBILE)\b", description, re.I):
            continue
        try:
            result.lines.append(_line(cells, description, " ".join(row)))
        except ValueError as exc:
            result.rejected.append(Rejected(f"line {line_no}", str(exc)))
    return result


def _line(cells: list[str], description: str, raw: str) -> StatementLine:
    booked = _date(cells[0], "Data")
    value = _date(cells[1], "Valuta") if cells[1] else None
    debit, credit = _amount(cells[2], "Addebiti"), _amount(cells[3], "Accrediti")
    if (debit is None) == (credit is None):
        raise ValueError("exactly one of Addebiti and Accrediti must hold an amount; found "
                         f"{cells[2]!r} and {cells[3]!r}")
    direction = CREDIT if credit is not None else DEBIT
    amount = credit if credit is not None else debit
    assert amount is not None
    causale = causale_in_text(description)
    return StatementLine(
        account=ACCOUNT, booking_date=booked, value_date=value, amount=amount,
        direction=direction, references=tuple(references_in_text(description)),
        remittance=(causale,) if causale else (), additional_info=(description,),
        payer=payer_in_text(description) if direction == CREDIT else None,
        bank_code=description.split(" ", 1)[0].upper() if description else None,
        raw=raw)


def _date(raw: str, column: str) -> date:
    for pattern in ("%d/%m/%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{column}: {raw!r} is not a date dd/mm/yy")


def _amount(raw: str, column: str) -> Decimal | None:
    raw = raw.replace(" ", "").lstrip("+-")
    if not raw:
        return None
    if not _AMOUNT.match(raw):
        raise ValueError(f"{column}: {raw!r} is not an amount like 1.250,00")
    try:
        value = Decimal(raw.replace(".", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{column}: {raw!r} is not an amount") from None
    if value <= 0:
        return None
    return value.quantize(Decimal("0.01"))
