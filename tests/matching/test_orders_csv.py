"""The order book's CSV: bad rows are rejected with line number and reason; good rows go in."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.errors import ConfigError
from matching.orders import parse_orders_csv

HEADER = "code,userid,pec_address,customer_name,customer_email,amount,expiry_date,years"
GOOD = "RLM95055,U1,avv.rossi@pec.it,Mario Rossi,mario@example.com,10.89,2026-04-22,1"


def test_a_good_row() -> None:
    book = parse_orders_csv(f"{HEADER}\n{GOOD}\n")
    assert not book.rejected and not book.warnings
    (line, order), = book.orders
    assert line == 2
    assert (order.code, order.amount, order.expiry_date, order.years) == (
        "RLM95055", Decimal("10.89"), date(2026, 4, 22), 1)


@pytest.mark.parametrize("row, reason", [
    ("XYZ1,U1,a@pec.it,N,m@example.com,10.89,2026-04-22,1", "code"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,10,89,2026-04-22,1", "expected 8 fields"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,\"10,89\",2026-04-22,1", "decimal point"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,-3.00,2026-04-22,1", "amount"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,0.00,2026-04-22,1", "greater than zero"),
    ("RLM1234,U1,a@pec.it,N,not-an-email,10.89,2026-04-22,1", "customer_email"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,10.89,22/04/2026,1", "expiry_date"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,10.89,2026-04-22,0", "years"),
    ("RLM1234,U1,a@pec.it,N,m@example.com,10.89,2026-04-22,two", "years"),
    ("RLM1234,,a@pec.it,N,m@example.com,10.89,2026-04-22,1", "userid: missing"),
])
def test_bad_rows_are_rejected_with_line_and_reason(row: str, reason: str) -> None:
    book = parse_orders_csv(f"{HEADER}\n{GOOD}\n{row}\n")
    assert [o.code for _, o in book.orders] == ["RLM95055"]  # the good row still goes in
    (rejected,) = book.rejected
    assert rejected.line == 3 and reason in rejected.reason


def test_duplicate_code_in_one_file() -> None:
    book = parse_orders_csv(f"{HEADER}\n{GOOD}\n{GOOD}\n")
    assert len(book.orders) == 1
    assert book.rejected[0].line == 3 and "line 2" in book.rejected[0].reason


def test_optional_and_unknown_columns() -> None:
    text = f"{HEADER},ordered_at,note\n{GOOD},2026-03-01,hello\n"
    book = parse_orders_csv(text)
    assert book.orders[0][1].ordered_at == date(2026, 3, 1)
    assert book.warnings == ["ignoring unknown column(s): note"]


def test_blank_lines_bom_and_lowercase_codes() -> None:
    book = parse_orders_csv("\ufeff" + HEADER + "\n\n" + GOOD.replace("RLM", "rlm") + "\n\n")
    assert [(line, o.code) for line, o in book.orders] == [(3, "RLM95055")]


def test_a_file_without_the_required_columns_is_refused_whole() -> None:
    with pytest.raises(ConfigError, match="missing column"):
        parse_orders_csv("code,amount\nRLM1,10.00\n")
    with pytest.raises(ConfigError, match="empty"):
        parse_orders_csv("")
