"""Every status name the project stores, as ``StrEnum``s.

A member *is* its string (``ReceiptStatus.MATCHED == "matched"``), so values read back from
the database, written to JSON or compared with the contract's strings work unchanged; code
names the member so a typo is an AttributeError, not a silent never-matching string.
"""
from __future__ import annotations

from enum import StrEnum


class ReceiptStatus(StrEnum):
    """An incoming message (a "receipt" in ``receipts list``)."""

    RECEIVED = "received"          # recorded at arrival, not yet processed
    MATCHED = "matched"            # paid the orders in order_codes
    UNMATCHED = "unmatched"        # in the review queue with a reason
    DUPLICATE = "duplicate"        # the same receipt as an earlier one
    QUARANTINED = "quarantined"    # could not be read at all, or our own error: reason says
    PEC_RECEIPT = "pec_receipt"    # a PEC system receipt, never a payment
    SUPPORT = "support"            # paid, but an order needs sales support to renew
    AWAITING_BANK = "awaiting_bank"  # paid_on = statement: waits for the bank's line


class MessageKind(StrEnum):
    PAYMENT = "payment"
    PEC_RECEIPT = "pec_receipt"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    RENEWED = "renewed"
    SUPPORT = "support"
    RENEWAL_FAILED = "renewal_failed"


# an order whose payment is already recorded
PAID_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.RENEWED, OrderStatus.RENEWAL_FAILED,
                       OrderStatus.SUPPORT)


class ReviewFlag(StrEnum):
    """A flag on an order for a person to look at; the order's status is unaffected."""

    REFUND_REVIEW = "refund_review"                            # overpaid: refund?
    UNDERPAID_WITHIN_TOLERANCE = "underpaid_within_tolerance"  # a bank fee short
    DOUBLE_PAYMENT_REVIEW = "double_payment_review"            # paid again, differently?
    UNCONFIRMED_BY_BANK = "unconfirmed_by_bank"  # paid on a proof, no statement line in time


class StatementLineStatus(StrEnum):
    """A line of a bank statement (``statements list``)."""

    MATCHED = "matched"        # paid or confirmed the orders in order_codes
    UNMATCHED = "unmatched"    # a credit no order could be given: in its review queue
    IGNORED = "ignored"        # a debit, a reversal, another currency: not a payment to us


class RenewalJobStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MailStatus(StrEnum):
    """An outgoing mail in the outbox."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
