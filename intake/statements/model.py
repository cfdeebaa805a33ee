"""What a bank statement says, as plain data: one ``StatementLine`` per transaction.

A batch booking (one entry for several transfers) is split into its transfers, each its own
line. Every reference the bank gives is kept, with its name, because the one that matters
differs by bank and format: the proof's CRO/TRN may be the statement's AcctSvcrRef in one
bank's camt, its EndToEndId in another's, the MT940 bank reference, or the CBI TRN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CREDIT, DEBIT = "credit", "debit"

# formats, as ``statements import`` names them
CAMT053, CAMT054, CAMT052 = "camt.053", "camt.054", "camt.052"
MT940, CBI, BANCOPOSTA = "mt940", "cbi", "bancoposta-csv"


@dataclass(frozen=True)
class Reference:
    kind: str    # AcctSvcrRef, EndToEndId, TxId, InstrId, NtryRef, MT940 bank, TRN, ...
    value: str


@dataclass(frozen=True)
class StatementLine:
    account: str               # the statement's account: an IBAN where the format gives one
    booking_date: date
    amount: Decimal            # always positive; ``direction`` says which way
    direction: str             # CREDIT | DEBIT
    currency: str = "EUR"
    value_date: date | None = None
    references: tuple[Reference, ...] = ()
    remittance: tuple[str, ...] = ()       # the causale: Ustrd, structured refs, :86:, 63s
    additional_info: tuple[str, ...] = ()  # AddtlTxInf, AddtlNtryInf, descriptions
    payer: str | None = None               # who sent the money (credit lines)
    payer_account: str | None = None
    counterparty: str | None = None        # who received it (debit lines)
    bank_code: str | None = None           # BkTxCd, MT940 type, CBI causale
    reversal: bool = False                 # a return / reversal of an earlier booking
    raw: str = ""                          # the source fragment, for a person to read

    @property
    def credit(self) -> bool:
        return self.direction == CREDIT

    @property
    def bank_reference(self) -> str | None:
        """The reference that identifies the transaction (first given, by priority)."""
        return self.references[0].value if self.references else None

    def text(self) -> str:
        """Every word the bank wrote about the transaction, causale first (codes are read
        from it): remittance and additional information both, never one for the other."""
        parts: list[str] = []
        for part in self.remittance + self.additional_info:
            part = " ".join(part.split())
            if part and part not in parts:
                parts.append(part)
        return " | ".join(parts)


@dataclass(frozen=True)
class Rejected:
    where: str
    reason: str


@dataclass
class ParsedStatement:
    format: str
    version: str | None = None
    accounts: list[str] = field(default_factory=list)
    lines: list[StatementLine] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.format} {self.version}" if self.version else self.format
