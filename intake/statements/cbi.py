"""CBI "Rendicontazione movimenti di conto corrente" (flusso RH): the Italian banks'
fixed-width daily statement, records of 120 characters. The layout read here is documented,
field by field, in docs/statements.md ("CBI layout"); in short (1-based columns):

- ``RH`` header: 4-8 sender ABI, 9-13 receiver SIA code, 14-19 creation date DDMMYY;
- ``61`` opening balance, one per account and day: 4-10 statement number, 52 CIN,
  53-57 ABI, 58-62 CAB, 63-74 account number, 75-77 currency, 78-83 date, 84 sign,
  85-99 balance, 100-101 country, 102-103 IBAN check digits;
- ``62`` movement: 4-10 statement number, 11-13 movement number, 14-19 value date,
  20-25 booking date, 26 sign C/D, 27-41 amount ("000000000010,89"), 42-43 CBI causale,
  44-45 bank's own causale, 46-61 cheque number, 62-77 bank reference (the TRN where the
  bank gives it), 78-86 customer reference type, 87-120 description;
- ``63`` more about the movement before it: 4-10, 11-13 as in its 62, 14-120 information;
  ``YYY`` (ordering party: 17-24 order date, 25-40 tax code, 41-80 name, 81-120 town),
  ``YY2`` (ordering party's address), ``ZZ1``/``ZZ2``/``ZZ3`` or ``RI1``/``RI2`` (the
  causale), ``ID1``/``ID2`` (identifiers: TRN, EndToEndId), anything else free text;
- ``64`` closing balance: 11-13 currency, 14-19 date, 20 sign, 21-35 balance;
- ``65`` liquidity forecast (not used), ``EF`` trailer: 46-52 statements, 83-89 records.

No maintained parser exists, so this is a small one written from that layout.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from core.errors import BadDocument
from intake.statements.bancoposta import decode
from intake.statements.model import (
    CBI,
    CREDIT,
    DEBIT,
    ParsedStatement,
    Reference,
    Rejected,
    StatementLine,
)
from intake.statements.words import payer_in_text, references_in_text

RECORD = 120
RECORD_TYPES = ("RH", "61", "62", "63", "64", "65", "EF")
_REMITTANCE_TAGS = ("ZZ1", "ZZ2", "ZZ3", "RI1", "RI2")
_ID_TAGS = ("ID1", "ID2")


def _col(record: str, start: int, end: int) -> str:
    """Columns ``start``..``end``, 1-based and inclusive, as the layout gives them."""
    return record[start - 1:end].strip()


def records(text: str) -> list[str]:
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            continue
        # some tools trim the leading blank of every record
        if raw[:2] in RECORD_TYPES and raw[1:3] not in RECORD_TYPES:
            raw = " " + raw
        lines.append(raw.ljust(RECORD))
    return lines


def is_cbi(text: str) -> bool:
    recs = records(text[:20000])
    return bool(recs) and recs[0][1:3] == "RH" and any(r[1:3] == "62" or r[1:3] == "61"
                                                        for r in recs[:50])


@dataclass
class _Movement:
    record: str
    number: int
    extra: list[str] = field(default_factory=list)


@dataclass
class _Account:
    account: str = "unknown"
    currency: str = "EUR"
    opening: Decimal | None = None
    movements: list[_Movement] = field(default_factory=list)


def parse_cbi(data: bytes) -> ParsedStatement:
    recs = records(decode(data))
    if not recs or recs[0][1:3] != "RH":
        raise BadDocument("not a CBI statement: the first record is not RH")
    result = ParsedStatement(CBI)
    current: _Account | None = None
    for number, rec in enumerate(recs, 1):
        kind = rec[1:3]
        where = f"record {number} ({kind})"
        if kind not in RECORD_TYPES:
            result.rejected.append(Rejected(where, f"unknown record type {rec[:3]!r}"))
        elif kind == "61":
            current = _opening(rec, result, where)
        elif kind == "62":
            if current is None:
                result.rejected.append(Rejected(where, "a movement before any 61 record"))
                continue
            current.movements.append(_Movement(rec, number))
        elif kind == "63":
            if current is None or not current.movements or \
                    _col(rec, 4, 13) != _col(current.movements[-1].record, 4, 13):
                result.rejected.append(Rejected(where, "a 63 record that follows no movement "
                                                "of the same number"))
                continue
            current.movements[-1].extra.append(rec)
        elif kind == "64":
            if current is not None:
                _close(current, rec, result, where)
            current = None
    if current is not None:
        _close(current, None, result, "end of file")
    if recs[-1][1:3] != "EF":
        result.rejected.append(Rejected("end of file", "no EF trailer: the file may be cut "
                                        "short"))
    return result


def _opening(rec: str, result: ParsedStatement, where: str) -> _Account:
    abi, cab, number = _col(rec, 53, 57), _col(rec, 58, 62), _col(rec, 63, 74)
    country, check, cin = _col(rec, 100, 101), _col(rec, 102, 103), _col(rec, 52, 52)
    account = f"{abi}/{cab}/{number}"
    if country and check:
        try:
            account = str(IBAN(f"{country}{check}{cin}{abi}{cab}{number}").compact)
        except SchwiftyException as exc:
            result.rejected.append(Rejected(where, f"account {account}: not a valid IBAN "
                                            f"({exc}); kept as ABI/CAB/account"))
    if account not in result.accounts:
        result.accounts.append(account)
    opening = None
    try:
        opening = _signed(rec, 84, 85, 99)
    except ValueError as exc:
        result.rejected.append(Rejected(where, f"opening balance: {exc}"))
    return _Account(account, _col(rec, 75, 77) or "EUR", opening)


def _close(acc: _Account, closing_rec: str | None, result: ParsedStatement,
           where: str) -> None:
    net = Decimal("0.00")
    for movement in acc.movements:
        try:
            line = _movement(acc, movement)
        except ValueError as exc:
            result.rejected.append(Rejected(f"record {movement.number} (62)", str(exc)))
            continue
        result.lines.append(line)
        net += line.amount if line.credit else -line.amount
    if closing_rec is None:
        result.rejected.append(Rejected(where, f"account {acc.account}: no closing 64 "
                                        "record"))
        return
    try:
        closing = _signed(closing_rec, 20, 21, 35)
    except ValueError as exc:
        result.rejected.append(Rejected(where, f"closing balance: {exc}"))
        return
    if acc.opening is not None and acc.opening + net != closing:
        result.rejected.append(Rejected(where, f"account {acc.account}: opening {acc.opening}"
                                        f" + movements {net} is not the closing {closing}: "
                                        "a movement may be missing or unreadable"))


def _movement(acc: _Account, movement: _Movement) -> StatementLine:
    rec = movement.record
    sign = _col(rec, 26, 26)
    if sign not in ("C", "D"):
        raise ValueError(f"sign {sign!r} is neither C nor D")
    amount = _amount(_col(rec, 27, 41))
    if amount <= 0:
        raise ValueError(f"amount {_col(rec, 27, 41)!r} is not positive")
    booked = _date(_col(rec, 20, 25), "booking date")
    value = _date(_col(rec, 14, 19), "value date") if _col(rec, 14, 19) else None
    description = _col(rec, 87, 120)
    payer, remittance, info, refs = None, [], [description] if description else [], []
    bank_ref = _col(rec, 62, 77)
    if bank_ref:
        refs.append(Reference("TRN", bank_ref))
    cheque = _col(rec, 46, 61)
    if cheque and cheque.strip("0"):
        refs.append(Reference("cheque", cheque))
    for extra in movement.extra:
        tag, body = _col(extra, 14, 16), extra[16:RECORD].rstrip()
        if tag == "YYY":
            payer = _col(extra, 41, 80) or payer
            town = _col(extra, 81, 120)
            if town:
                info.append(town)
        elif tag in _REMITTANCE_TAGS:
            remittance.append(" ".join(body.split()))
        elif tag in _ID_TAGS:
            refs += [Reference(f"CBI {tag}", token) for token in body.split()
                     if token.upper() != "NOTPROVIDED"]
        else:
            info.append(" ".join(extra[13:RECORD].split()))
    text = " ".join(remittance + info)
    refs += references_in_text(text)
    seen: set[str] = set()
    unique = tuple(r for r in refs if not (r.value in seen or seen.add(r.value)))
    credit = sign == "C"
    causale = _col(rec, 42, 43)
    return StatementLine(
        account=acc.account, booking_date=booked, value_date=value, amount=amount,
        direction=CREDIT if credit else DEBIT, currency=acc.currency, references=unique,
        remittance=tuple(r for r in remittance if r), additional_info=tuple(i for i in info if i),
        payer=(payer or payer_in_text(text)) if credit else None,
        counterparty=None if credit else payer, bank_code=f"CBI {causale}" if causale else None,
        raw="\n".join([rec.rstrip()] + [e.rstrip() for e in movement.extra]))


def _signed(rec: str, sign_col: int, start: int, end: int) -> Decimal:
    value = _amount(_col(rec, start, end))
    sign = _col(rec, sign_col, sign_col)
    if sign not in ("C", "D"):
        raise ValueError(f"sign {sign!r} is neither C nor D")
    return value if sign == "C" else -value


def _amount(raw: str) -> Decimal:
    raw = raw.replace(" ", "")
    try:
        if re.fullmatch(r"\d+,\d{2}", raw):
            return Decimal(raw.replace(",", "."))
        if re.fullmatch(r"\d+", raw):  # no separator: the last two digits are cents
            return Decimal(raw) / 100
    except InvalidOperation:
        pass
    raise ValueError(f"amount {raw!r} is not 15 digits with a decimal comma")


def _date(raw: str, what: str) -> date:
    try:
        return datetime.strptime(raw, "%d%m%y").date()
    except ValueError:
        raise ValueError(f"{what} {raw!r} is not DDMMYY") from None
