"""Order rows are validated as data people mean (issue 10, case 6): amounts within the
column, dates within 2000-2100, ASCII digits in codes, no control characters; a bad row is
rejected with its line and reason and the others are imported."""
from __future__ import annotations

from datetime import date

import pytest

from matching.orders import parse_orders_csv
from matching.renewal import DateOutOfRange, add_months, is_late, new_expiry
from matching.rules import support_reason
from tests.factories.matching import order

HEADER = "code,userid,pec_address,customer_name,customer_email,amount,expiry_date,years"
GOOD = "RLM95055,U1,avv.rossi@pec.it,Mario Rossi,mario@example.com,10.89,2026-04-22,1"
ROW = "RLM1234,U1,a@pec.it,{name},m@example.com,{amount},{expiry},1"


@pytest.mark.parametrize("fields, reason", [
    (dict(amount="10000000000.00"), "largest amount"),
    (dict(amount="99999999999999999999"), "largest amount"),
    (dict(expiry="9999-12-31"), "outside 2000-2100"),
    (dict(expiry="9999-06-30"), "outside 2000-2100"),
    (dict(expiry="1999-12-31"), "outside 2000-2100"),
    (dict(name="Mario\x00Rossi"), "control character (U+0000)"),
    (dict(name='"Mario\nRossi"'), "control character (U+000A)"),
    (dict(name="Mario\u202eRossi"), "control character (U+202E)"),
])
def test_bad_rows_name_line_and_reason(fields: dict, reason: str) -> None:
    values = dict(name="N", amount="10.89", expiry="2026-04-22") | fields
    book = parse_orders_csv(f"{HEADER}\n{GOOD}\n{ROW.format(**values)}\n")
    assert [o.code for _, o in book.orders] == ["RLM95055"]
    (rejected,) = book.rejected
    assert rejected.line == 3 and reason in rejected.reason, rejected


def test_other_digits_in_codes_are_read_as_ascii() -> None:
    """GIVEN codes typed with fullwidth or Arabic-Indic digits THEN they are the ASCII code,
    so the order a document names ('RLM95055') is the one imported."""
    rows = ["RLM９５０５６,U1,a@pec.it,N,m@example.com,10.89,2026-04-22,1",
            "ＲＬＭ95057,U1,a@pec.it,N,m@example.com,10.89,2026-04-22,1",
            "RLM٩٥٠٥٨,U1,a@pec.it,N,m@example.com,10.89,2026-04-22,1"]
    book = parse_orders_csv("\n".join([HEADER, *rows]) + "\n")
    assert not book.rejected
    assert [o.code for _, o in book.orders] == ["RLM95056", "RLM95057", "RLM95058"]
    assert all(o.code.isascii() for _, o in book.orders)


def test_a_code_once_with_ascii_and_once_with_fullwidth_digits_is_one_code() -> None:
    book = parse_orders_csv(f"{HEADER}\n{GOOD}\n" + GOOD.replace("95055", "９５０５５") + "\n")
    assert len(book.orders) == 1 and "already given on line 2" in book.rejected[0].reason


def test_date_arithmetic_never_overflows() -> None:
    with pytest.raises(DateOutOfRange):
        new_expiry(date(9999, 6, 30), 1)
    with pytest.raises(DateOutOfRange):
        add_months(date(9999, 12, 31), 1)
    assert is_late(date(9999, 12, 31), date(2026, 3, 16)) is False
    far = order(expiry=date(9999, 12, 31))
    assert support_reason(far, date(2026, 3, 16)) is None
