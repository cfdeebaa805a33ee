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

ACCOUNT = "BANCOPOSTA"  # the export does not say which account: one name for all its lines
_AMOUNT = re.compile(r"^\d{1,3}(?:\.\d{3})*(?:,\d{1,2})?$|^\d+(?:,\d{1,2})?$")


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# the export's column names, as several versions of it spell them ("Data Contabile",
# "Addebiti (euro)", "Descrizione"): each column is found by the start of its name
_COLUMNS = (("valuta", ("data valuta", "valuta")), ("data", ("data contabile", "data")),
            ("addebiti", ("addebit", "uscit")), ("accrediti", ("accredit", "entrat")),
            ("descrizione", ("descrizione", "causale")))


def columns(header_line: str) -> dict[str, int] | None:
    """Column positions by meaning, or None when the line is not a BancoPosta header."""
    cells = [c.strip().strip('"').lower() for c in header_line.split(";")]
    found: dict[str, int] = {}
    for name, starts in _COLUMNS:
        for index, cell in enumerate(cells):
            if index not in found.values() and cell.startswith(starts):
                found[name] = index
                break
    return found if len(found) == len(_COLUMNS) else None


def is_bancoposta(text: str) -> bool:
    return columns(text.lstrip("\ufeff").split("\n", 1)[0].strip()) is not None


def parse_bancoposta(data: bytes) -> ParsedStatement:
    text = decode(data)
    if not is_bancoposta(text):
        raise BadDocument("not a BancoPosta export: the first line is not "
                          "'Data;Valuta;Addebiti;Accrediti;Descrizione operazioni'")
    result = ParsedStatement(BANCOPOSTA, accounts=[ACCOUNT])
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    rows = csv.reader(io.StringIO(text), delimiter=";")
    where = columns(";".join(next(rows, [])))
    if where is None:
        raise BadDocument("not a BancoPosta export: its header row cannot be read")
    width = max(where.values()) + 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            result.rejected.append(Rejected(f"line {rows.line_num}", f"malformed CSV: {exc}"))
            continue
        line_no = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip().strip("|").strip() for c in row]
        if len(cells) < width:
            result.rejected.append(Rejected(f"line {line_no}", f"expected {width} fields, "
                                            f"found {len(cells)}"))
            continue
        # a ';' inside the description, when it is the last column, splits it: joined back
        last = where["descrizione"] == width - 1
        description = (";".join(row[width - 1:]).strip().strip("|").strip() if last
                       else cells[where["descrizione"]])
        cells = [cells[where[n]] for n in ("data", "valuta", "addebiti", "accrediti")] + \
            [description]
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
