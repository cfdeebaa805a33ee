"""Orders: the domain record, and reading the order book's CSV (CONTRACT.md) into it.

Parsing is pure: text in, valid orders and rejected rows (with line number and reason) out.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from core.errors import ConfigError
from core.status import OrderStatus

REQUIRED_COLUMNS = ("code", "userid", "pec_address", "customer_name", "customer_email",
                    "amount", "expiry_date", "years")
OPTIONAL_COLUMNS = ("ordered_at",)
CODE_PATTERN = re.compile(r"^RLM\d{1,12}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_YEARS = 10


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
    return re.sub(r"[\s\-_.]", "", raw).upper()


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
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            book.rejected.append(RejectedRow(reader.line_num, f"malformed CSV: {exc}"))
            continue
        line = reader.line_num
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
    if not re.fullmatch(r"\d+(\.\d{1,2})?", raw):
        hint = " (use a decimal point, e.g. 10.89)" if "," in raw else ""
        raise ValueError(f"amount: {raw!r} is not a positive amount like 10.89{hint}")
    try:
        value = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"amount: {raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"amount: {raw!r} must be greater than zero")
    return value


def _parse_date(name: str, raw: str) -> date:
    try:
        if "T" in raw or " " in raw:
            return datetime.fromisoformat(raw).date()
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not an ISO date (YYYY-MM-DD)") from None


def _parse_years(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_YEARS:
        raise ValueError(f"years: {raw!r} is not a whole number from 1 to {MAX_YEARS}")
    return int(raw)
