"""The renewal rule, pure: which expiry a renewed mailbox gets, and whether it may still be
renewed online at all (the guides in ``seeds/``, digested in DOMAIN.md and docs/renewals.md).

- The new expiry is the *current* expiry plus the ordered years, whatever the day the renewal
  runs: renewing early loses nothing, and renewing late (inside the 6-month grace after
  expiry, while the mailbox can only be read) gains nothing: the lapsed months are not added.
  A 29 February expiry becomes 28 February in a year that has no 29th.
- Online renewal is allowed from 3 months before to 6 months after the expiry. The order was
  confirmed inside that window; if the renewal runs more than 6 months after the expiry (a
  payment that arrived very late) it is refused: sales support must renew it by hand.
- Userids starting with KVIS, KLX or HLH are never renewed online.
"""
from __future__ import annotations

import calendar
from datetime import date

GRACE_MONTHS = 6
EARLY_MONTHS = 3
NOT_ONLINE_PREFIXES = ("KVIS", "KLX", "HLH")


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
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


def refusal(userid: str, current_expiry: date, renewal_day: date) -> str | None:
    """Why this mailbox cannot be renewed online on ``renewal_day``, or None if it can."""
    if userid.upper().startswith(NOT_ONLINE_PREFIXES):
        return (f"userid {userid} ({'/'.join(NOT_ONLINE_PREFIXES)}...) cannot be renewed "
                "online: sales support must renew it")
    if renewal_day > last_renewal_day(current_expiry):
        return (f"the mailbox expired on {current_expiry.isoformat()}, more than "
                f"{GRACE_MONTHS} months before {renewal_day.isoformat()}: it can no longer be "
                "renewed online; sales support must renew it")
    return None
