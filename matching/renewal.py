"""The online-renewal rules, pure, in one place (the guides in ``seeds/``, digested in
DOMAIN.md and docs/renewals.md): which expiry a renewed mailbox gets, and whether it may be
renewed online at all.

- The new expiry is the *current* expiry plus the ordered years, whatever the day the renewal
  runs. It is the date the platform showed the customer when the order was confirmed ("la
  prossima scadenza è fissata per il giorno ..."), so that is the date they paid for:
  renewing early loses nothing, and renewing late (inside the 6-month grace after expiry,
  while the mailbox can only be read) gains nothing: the lapsed months are not added.
  A 29 February expiry becomes 28 February in a year that has no 29th.
- Online renewal is allowed from 3 months before to 6 months after the expiry. A payment
  that arrives after that window is routed to sales support (``support_reason``); a job that
  runs late for an order paid in time is renewed anyway and logged (``is_late``).
- Userids starting with KVIS, KLX or HLH (spaces and case ignored) are never renewed online:
  ``support_reason`` routes their payment to sales support and ``refusal`` stops a job.
"""
from __future__ import annotations

import calendar
from datetime import date

from matching.orders import Order

GRACE_MONTHS = 6   # "More than 6 months after expiry it cannot be renewed online."
EARLY_MONTHS = 3
# "Userids beginning with KVIS, KLX or HLH cannot be renewed through the online procedure."
NOT_ONLINE_PREFIXES = ("KVIS", "KLX", "HLH")


class DateOutOfRange(ValueError):
    """A date computed from an order's dates falls outside what a date can hold (year 1 to
    9999): the order's own dates are wrong (the order book accepts 2000-2100 only)."""


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later (or earlier), clamped to the month's last day
    (31 Aug + 6 = 28/29 Feb). Raises ``DateOutOfRange`` past year 9999 (or before year 1),
    never a bare crash."""
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


def offline_prefix(userid: str) -> str | None:
    """The KVIS/KLX/HLH prefix that keeps this userid from the online renewal, if any."""
    normalised = "".join(userid.split()).upper()
    return next((p for p in NOT_ONLINE_PREFIXES if normalised.startswith(p)), None)


def refusal(userid: str) -> str | None:
    """Why this mailbox can never be renewed online, or None if it can."""
    prefix = offline_prefix(userid)
    if prefix is None:
        return None
    return (f"userid {userid} starts with {prefix}: it cannot be renewed online; "
            "sales support must renew it")


def support_reason(order: Order, on: date | None) -> str | None:
    """Why ``order`` cannot be renewed automatically when paid ``on`` that day, or None if
    it can (with no day only the userid rule is checked)."""
    refused = refusal(order.userid)
    if refused is not None or on is None:
        return refused
    try:
        limit = last_renewal_day(order.expiry_date)
    except DateOutOfRange:
        return None  # a window closing after year 9999 has not closed
    if on > limit:
        return (f"mailbox expired on {order.expiry_date.isoformat()}, more than "
                f"{GRACE_MONTHS} months before the payment on {on.isoformat()} (online "
                f"renewal closed on {limit.isoformat()}); sales support must renew it")
    return None
