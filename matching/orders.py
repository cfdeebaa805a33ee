"""Orders: the domain record, and reading the order book's CSV (CONTRACT.md) into it.

Parsing is pure: text in, valid orders and rejected rows (with line number and reason) out.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from core.errors import ConfigError
from core.status import OrderStatus
from intake.fields import fold_digits

REQUIRED_COLUMNS = ("code", "userid", "pec_address", "customer_name", "customer_email",
                    "amount", "expiry_date", "years")
OPTIONAL_COLUMNS = ("ordered_at",)
CODE_PATTERN = re.compile(r"^RLM[0-9]{1,12}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_YEARS = 10
# the orders.amount column is Numeric(12, 2): at most 10 digits before the decimal point
MAX_AMOUNT = Decimal("9999999999.99")
# dates an order can mean; anything else is a typo or a placeholder (9999-12-31) that would
# overflow the expiry arithmetic
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class Order:
    code: str
    userid: str
    pec_address: str
    customer_name: str
    customer_email: str
    amount: Decimal
    expiry_date: date
    years: int
    ordered_at: date | None = None
    status: str = OrderStatus.PENDING
    id: int | None = None


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class OrderBook:
    orders: list[tuple[int, Order]] = field(default_factory=list)  # (line, order)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normalise_code(raw: str) -> str:
    """'rlm 950-55', 'RLM９５０５５' -> 'RLM95055': digits of any script and fullwidth
    letters read as ASCII, as the documents' codes are (``intake.fields.fold_digits``)."""
    return re.sub(r"[\s\-_.]", "", fold_digits(raw)).upper()


def _control_character(value: str) -> str | None:
    """The first control or format character (NUL, a line break, a bidi override...)."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def parse_orders_csv(text: str) -> OrderBook:
    """Raises ConfigError only when the file as a whole is unusable (no or bad header)."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ConfigError("orders CSV is empty: expected a header row") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"orders CSV header: missing column(s) {', '.join(missing)}")
    book = OrderBook()
    unknown = [h for h in header if h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        book.warnings.append(f"ignoring unknown column(s): {', '.join(unknown)}")
    seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1  # where the record starts (a quoted field may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            book.rejected.append(RejectedRow(line, f"malformed CSV: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            book.rejected.append(RejectedRow(
                line, f"expected {len(header)} fields, found {len(row)}"))
            continue
        values = {name: cell.strip() for name, cell in zip(header, row, strict=False)}
        try:
            order = _order_from_row(values)
        except ValueError as exc:
            book.rejected.append(RejectedRow(line, str(exc)))
            continue
        if order.code in seen:
            book.rejected.append(RejectedRow(
                line, f"code {order.code} already given on line {seen[order.code]}"))
            continue
        seen[order.code] = line
        book.orders.append((line, order))
    return book


def _order_from_row(values: dict[str, str]) -> Order:
    for name in REQUIRED_COLUMNS:
        if not values.get(name):
            raise ValueError(f"{name}: missing value")
    for name, value in values.items():
        bad = _control_character(value)
        if bad is not None:
            raise ValueError(f"{name}: contains a control character ({bad})")
    code = normalise_code(values["code"])
    if not CODE_PATTERN.match(code):
        raise ValueError(f"code: {values['code']!r} is not RLM followed by digits")
    for name in ("customer_email", "pec_address"):
        if not EMAIL_PATTERN.match(values[name]):
            raise ValueError(f"{name}: {values[name]!r} is not an email address")
    return Order(
        code=code,
        userid=values["userid"],
        pec_address=values["pec_address"].lower(),
        customer_name=values["customer_name"],
        customer_email=values["customer_email"].lower(),
        amount=parse_csv_amount(values["amount"]),
        expiry_date=_parse_date("expiry_date", values["expiry_date"]),
        years=_parse_years(values["years"]),
        ordered_at=_parse_date("ordered_at", values["ordered_at"])
        if values.get("ordered_at") else None,
    )


def parse_csv_amount(raw: str) -> Decimal:
    raw = fold_digits(raw)
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", raw):
        hint = " (use a decimal point, e.g. 10.89)" if "," in raw else ""
        raise ValueError(f"amount: {raw!r} is not a positive amount like 10.89{hint}")
    try:
        value = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"amount: {raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"amount: {raw!r} must be greater than zero")
    if value > MAX_AMOUNT:
        raise ValueError(f"amount: {raw!r} is over the largest amount an order can hold "
                         f"({MAX_AMOUNT})")
    return value


def _parse_date(name: str, raw: str) -> date:
    try:
        if not raw.isascii():
            raise ValueError(raw)
        if "T" in raw or " " in raw:
            value = datetime.fromisoformat(raw).date()
        else:
            value = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not an ISO date (YYYY-MM-DD)") from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"{name}: {raw!r} is outside {FIRST_DATE.year}-{LAST_DATE.year}")
    return value


def _parse_years(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_YEARS:
        raise ValueError(f"years: {raw!r} is not a whole number from 1 to {MAX_YEARS}")
    return int(raw)
