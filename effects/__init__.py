"""The effects of a match decision, carried out in the caller's transaction: see
``effects.apply`` for the contract (exactly once, audited, never committing)."""
from effects.apply import (
    DAEMON,
    Applied,
    OrderNoLongerPending,
    apply_decision,
    finish_receipt,
    flag_order,
    pay_order,
    record_decision,
    route_to_support,
    schedule_renewal,
    settle_order,
)

__all__ = ["DAEMON", "Applied", "OrderNoLongerPending", "apply_decision", "finish_receipt",
           "flag_order", "pay_order", "record_decision", "route_to_support",
           "schedule_renewal", "settle_order"]
