"""The building blocks of matching as tables: the renewal rules from the guides, near codes,
amount relations and payer names."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from matching.codes import distance, near_codes
from matching.renewal import add_months, support_reason
from matching.signals import (
    EQUAL,
    OVER,
    SHORT,
    SHORT_TOLERATED,
    amount_relation,
    names_match,
)
from tests.factories.matching import order


@pytest.mark.parametrize(("userid", "expiry", "paid_on", "expected"), [
    ("U95055", date(2026, 4, 22), date(2026, 3, 14), None),
    ("KVIS0001", date(2026, 4, 22), date(2026, 3, 14), "starts with KVIS"),
    ("klx77", date(2026, 4, 22), date(2026, 3, 14), "starts with KLX"),
    ("HLH-9", date(2026, 4, 22), date(2026, 3, 14), "starts with HLH"),
    ("UKVIS1", date(2026, 4, 22), date(2026, 3, 14), None),          # only a prefix counts
    ("U1", date(2025, 9, 14), date(2026, 3, 14), None),              # exactly 6 months
    ("U1", date(2025, 9, 13), date(2026, 3, 14), "more than 6 months"),
    ("U1", date(2025, 8, 31), date(2026, 2, 28), None),              # 31 Aug + 6 = 28 Feb
    ("U1", date(2025, 8, 31), date(2026, 3, 1), "online renewal closed on 2026-02-28"),
    ("U1", date(2020, 1, 1), None, None),                            # no day: userid only
])
def test_support_rules(userid: str, expiry: date, paid_on: date | None,
                       expected: str | None) -> None:
    why = support_reason(order(userid=userid, expiry=expiry), paid_on)
    if expected is None:
        assert why is None
    else:
        assert why is not None and expected in why


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2025, 9, 13), 6, date(2026, 3, 13)),
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2023, 8, 31), 6, date(2024, 2, 29)),
    (date(2025, 12, 15), 1, date(2026, 1, 15)),
])
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("read", "neighbour", "near"), [
    ("RLM95055", "RLM95035", True),    # one digit misread (OCR 3/5)
    ("RLM95055", "RLM95505", True),    # two digits swapped
    ("RLM95055", "RLM9505", True),     # one digit dropped
    ("RLM95055", "RLM950555", True),   # one digit added
    ("RLM95055", "RLM95033", False),   # two digits apart
    ("RLM95055", "RLM95055", False),   # the code itself is not a neighbour
])
def test_near_codes(read: str, neighbour: str, near: bool) -> None:
    assert (neighbour in near_codes(read)) is near


def test_near_codes_are_exactly_the_codes_one_edit_away() -> None:
    # brute force over every code of 3 to 5 digits: those one edit away from RLM9505
    every = (f"RLM{n:0{width}d}" for width in (3, 4, 5) for n in range(10 ** width))
    expected = {c for c in every if distance(c, "RLM9505") == 1}
    assert near_codes("RLM9505") == expected
    assert len(expected) < 100  # generated from the code: no scan of the order book


def test_near_codes_of_something_that_is_not_a_code() -> None:
    assert near_codes("XYZ123") == set()


@pytest.mark.parametrize(("due", "paid", "tolerance", "relation"), [
    ("10.89", "10.89", "0.00", EQUAL),
    ("10.89", "9.89", "0.00", SHORT),
    ("10.89", "9.89", "1.00", SHORT_TOLERATED),
    ("10.89", "9.88", "1.00", SHORT),
    ("10.89", "10.90", "1.00", OVER),
])
def test_amount_relation(due: str, paid: str, tolerance: str, relation: str) -> None:
    assert amount_relation(Decimal(due), Decimal(paid), Decimal(tolerance))[0] == relation


@pytest.mark.parametrize(("payer", "customer", "same"), [
    ("Mario Rossi", "Mario Rossi", True),
    ("ROSSI MARIO", "Mario Rossi", True),
    ("Avv. Mario Rossi", "Mario Rossi", True),
    ("Niccolò De Luca", "Niccolo de luca", True),
    ("Mario Rosi", "Mario Rossi", True),            # one typo
    ("Maria Rossi", "Mario Rossi", False),          # another person (a spouse?)
    ("Giulia Rossi", "Mario Rossi", False),
    ("Studio Legale Bianchi", "Mario Rossi", False),
    (None, "Mario Rossi", False),
    ("Avv.", "Mario Rossi", False),
])
def test_names_match(payer: str | None, customer: str, same: bool) -> None:
    assert names_match(payer, customer) is same
