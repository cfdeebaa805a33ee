"""Kept for imports written before the rules were merged: the online-renewal rules live in
``matching.renewal`` alone."""
from matching.renewal import (  # noqa: F401
    GRACE_MONTHS,
    NOT_ONLINE_PREFIXES,
    add_months,
    support_reason,
)

OFFLINE_USERID_PREFIXES = NOT_ONLINE_PREFIXES
MONTHS_AFTER_EXPIRY = GRACE_MONTHS
__all__ = ["MONTHS_AFTER_EXPIRY", "OFFLINE_USERID_PREFIXES", "add_months", "support_reason"]
