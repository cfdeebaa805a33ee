"""The renewal rule, pure: which expiry a renewed mailbox gets, and whether it may still be
renewed online at all (the guides in ``seeds/``, digested in DOMAIN.md and docs/renewals.md).

- The new expiry is the *current* expiry plus the ordered years, whatever the day the renewal
  runs. It is the date the platform showed the customer when the order was confirmed ("la
  prossima scadenza è fissata per il giorno ..."), so that is the date they paid for:
  renewing early loses nothing, and renewing late (inside the 6-month grace after expiry,
  while the mailbox can only be read) gains nothing: the lapsed months are not added.
  A 29 February expiry becomes 28 February in a year that has no 29th.
- Online renewal is allowed from 3 months before to 6 months after the expiry; the platform
  checked that window when it confirmed the order, so a paid order is renewed even when its
  payment arrives (or is matched by a person) later than that. Such a late renewal is logged
  as a warning (``is_late``); a platform that refuses it answers with an error and the order
  goes to ``renewal_failed`` for sales support.
- Userids starting with KVIS, KLX or HLH are never renewed online: such an order in the
  order book is refused (``refusal``) and goes to ``renewal_failed`` at once.
"""
from __future__ import annotations

import calendar
from datetime import date

GRACE_MONTHS = 6
EARLY_MONTHS = 3
NOT_ONLINE_PREFIXES = ("KVIS", "KLX", "HLH")


class DateOutOfRange(ValueError):
    """A date computed from an order's dates falls outside what a date can hold (year 1 to
    9999): the order's own dates are wrong (the order book accepts 2000-2100 only)."""


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later (or earlier), clamped to the month's last day. Raises
    ``DateOutOfRange`` past year 9999 (or before year 1), never a bare crash."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise DateOutOfRange(f"{day.isoformat()} + {months} months is beyond the calendar")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def new_expiry(current_expiry: date, years: int) -> date:
    """The expiry after renewing for ``years`` (1 or more): always counted from the current
    expiry, never from the day the renewal runs."""
    if years < 1:
        raise ValueError(f"years must be 1 or more, got {years}")
    return add_months(current_expiry, 12 * years)


def last_renewal_day(current_expiry: date) -> date:
    """The last day the mailbox can be renewed online (6 months after its expiry)."""
    return add_months(current_expiry, GRACE_MONTHS)


def is_late(current_expiry: date, renewal_day: date) -> bool:
    """True when the renewal runs after the online window closed (6 months after expiry)."""
    try:
        return renewal_day > last_renewal_day(current_expiry)
    except DateOutOfRange:
        return False  # a window closing after year 9999 has not closed


def refusal(userid: str) -> str | None:
    """Why this mailbox can never be renewed online, or None if it can."""
    if userid.upper().startswith(NOT_ONLINE_PREFIXES):
        return (f"userid {userid} ({'/'.join(NOT_ONLINE_PREFIXES)}...) cannot be renewed "
                "online: sales support must renew it")
    return None
