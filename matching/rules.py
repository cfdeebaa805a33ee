"""Rules from the renewal guides (../shared/DOMAIN.md) that stop an automatic renewal.

A paid order that breaks one of them is routed to the sales support team (order status
``support``) with the reason, instead of being queued for the online renewal.
"""
from __future__ import annotations

import calendar
from datetime import date

from matching.orders import Order

# "Userids beginning with KVIS, KLX or HLH cannot be renewed through the online procedure."
OFFLINE_USERID_PREFIXES = ("KVIS", "KLX", "HLH")
# "More than 6 months after expiry it cannot be renewed online."
MONTHS_AFTER_EXPIRY = 6


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Aug + 6 = 28/29 Feb);
    past year 9999, the last day there is (a limit that far away never applies)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > 9999:
        return date.max
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def support_reason(order: Order, on: date | None) -> str | None:
    """Why ``order`` cannot be renewed automatically when paid ``on`` that day, or None if
    it can (with no day only the userid rule is checked)."""
    userid = order.userid.strip().upper()
    prefix = next((p for p in OFFLINE_USERID_PREFIXES if userid.startswith(p)), None)
    if prefix is not None:
        return (f"userid {order.userid} starts with {prefix}: it cannot be renewed online; "
                "sales support must renew it")
    if on is None:
        return None
    limit = add_months(order.expiry_date, MONTHS_AFTER_EXPIRY)
    if on > limit:
        return (f"mailbox expired on {order.expiry_date.isoformat()}, more than "
                f"{MONTHS_AFTER_EXPIRY} months before the payment on {on.isoformat()} (online "
                f"renewal closed on {limit.isoformat()}); sales support must renew it")
    return None
