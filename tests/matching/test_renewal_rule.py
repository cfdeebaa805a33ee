"""The new-expiry rule (docs/renewals.md), as a table: current expiry, years -> new expiry."""
from __future__ import annotations

from datetime import date

import pytest

from matching.renewal import add_months, is_late, last_renewal_day, new_expiry, refusal


@pytest.mark.parametrize(("expiry", "years", "expected"), [
    (date(2026, 4, 22), 1, date(2027, 4, 22)),   # the guide's example order
    (date(2026, 4, 22), 3, date(2029, 4, 22)),   # several years ordered
    (date(2024, 2, 29), 1, date(2025, 2, 28)),   # no 29 February next year
    (date(2024, 2, 29), 4, date(2028, 2, 29)),   # ...but there is one four years on
    (date(2026, 12, 31), 1, date(2027, 12, 31)),
])
def test_new_expiry_is_the_current_expiry_plus_the_years(expiry: date, years: int,
                                                          expected: date) -> None:
    assert new_expiry(expiry, years) == expected


def test_zero_years_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        new_expiry(date(2026, 4, 22), 0)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 5, 15), -3, date(2026, 2, 15)),
    (date(2026, 11, 30), 2, date(2027, 1, 30)),
])
def test_add_months_clamps_to_the_last_day(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(("renewal_day", "late"), [
    (date(2026, 1, 22), False),    # 3 months early
    (date(2026, 4, 22), False),    # on the day
    (date(2026, 10, 22), False),   # last day of the 6-month grace
    (date(2026, 10, 23), True),    # online window closed
])
def test_the_online_window_closes_six_months_after_expiry(renewal_day: date,
                                                          late: bool) -> None:
    assert last_renewal_day(date(2026, 4, 22)) == date(2026, 10, 22)
    assert is_late(date(2026, 4, 22), renewal_day) is late


@pytest.mark.parametrize(("userid", "refused"), [
    ("U95055", False), ("KVIS0001", True), ("klx123", True), ("HLH99", True),
    ("XKLX1", False),
])
def test_userids_never_renewed_online(userid: str, refused: bool) -> None:
    reason = refusal(userid)
    assert (reason is not None) is refused
    if refused:
        assert "sales support" in reason
