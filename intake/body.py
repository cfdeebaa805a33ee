"""What a customer wrote in an email body, apart from what they quoted and their signature.

A reply quotes the provider's own message ("Il giorno ... ha scritto:", lines starting with
``>``): its order code, price, IBAN and mailbox are the provider's text, not the customer's
claim, so nothing is read from it. A signature (after ``--`` or a closing formula) carries
VAT and phone numbers and the sender's own PEC address: it names the payer, never the amount,
a reference or the mailbox paid for. And customers write totals ("totale € 45,10" over several
orders) where a bank writes "importo": in their own words a total is what they paid.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from intake.fields import (
    Evidence,
    PaymentFields,
    _clean_name,
    extract_fields,
    find_mailboxes,
    parse_amount,
)

_QUOTE_HEADER = re.compile(
    r"^(?:il\s+giorno\b.*\bha\s+scritto\s*:?|il\s+\d.*\bha\s+scritto\s*:?|on\s.*\bwrote\s*:?|"
    r"-{2,}\s*(?:messaggio\s+originale|original\s+message|messaggio\s+inoltrato|"
    r"forwarded\s+message)\s*-{2,}|da:\s.*@.*|from:\s.*@.*)$", re.IGNORECASE)
_SIGNATURE_START = re.compile(r"^(?:--\s*|__+|-{3,})$")
_CLOSING = re.compile(r"(?:cordiali|distinti|cari|i\s+migliori)?\s*salut[ie]\b|cordialit|"
                      r"in\s+fede|un\s+saluto|buona\s+giornata|grazie\s*[.!]?$|"
                      r"porgo\s+cordiali", re.IGNORECASE)
_CONTACT = re.compile(r"^(?:tel|cell|fax|p\.?\s?iva|c\.?\s?f\.?|pec|e-?mail|mail|via|viale|"
                      r"piazza|corso|largo|www\.)\b", re.IGNORECASE)
_TITLE = re.compile(r"^(?:studio\s+legale|avv\.?(?:to|ta)?|dott\.?(?:ssa)?|dr\.?|geom\.?|"
                    r"rag\.?|ing\.?|sig\.?(?:ra)?|prof\.?(?:ssa)?|notaio)\s+", re.IGNORECASE)
_TOTAL_CLAIM = re.compile(
    r"(?:totale|in\s+tutto|complessiv\w*|per\s+un\s+(?:totale|importo)\s+(?:complessivo\s+)?di)"
    r"\s*(?:di|pari\s+a|:)?\s*(?:€|eur|euro)?\s*(\d{1,3}(?:\.\d{3})*,\d{2}|\d+[.,]\d{2})",
    re.IGNORECASE)


@dataclass(frozen=True)
class BodyParts:
    own: str  # what the customer wrote, signature excluded
    signature: str
    quoted: str


def split_body(text: str) -> BodyParts:
    lines = text.replace("\r\n", "\n").split("\n")
    own: list[str] = []
    quoted: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _QUOTE_HEADER.match(stripped):
            quoted = lines[index:]
            break
        if stripped.startswith(">"):
            quoted.append(line)
            continue
        own.append(line)
    body, signature = _cut_signature(own)
    return BodyParts("\n".join(body), "\n".join(signature), "\n".join(quoted))


def _cut_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    for index, line in enumerate(lines):
        if _SIGNATURE_START.match(line.strip()):
            return lines[:index], lines[index + 1:]
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if line and _CLOSING.search(line) and len(line) < 120:
            return lines[:index + 1], lines[index + 1:]
    return lines, []


def signature_name(signature: str) -> str | None:
    """The first line of a signature that is a person's name (titles dropped)."""
    for line in signature.split("\n"):
        line = line.strip()
        if not line or _CONTACT.match(line) or re.search(r"\d", line) or "@" in line:
            continue
        name = _clean_name(_TITLE.sub("", line))
        if name and len(name.split()) >= 2:
            return name
        return None
    return None


def body_fields(text: str) -> PaymentFields:
    """The fields of an email body from the customer's own words: the quoted message and
    the signature give nothing but the payer's name."""
    parts = split_body(text)
    fields = extract_fields(parts.own)
    if fields.amount is None:
        claimed = _claimed_total(parts.own)
        if claimed is not None:
            fields.amount, fields.currency = claimed[0], "EUR"
            fields.evidence["amount"] = claimed[1]
    name = signature_name(parts.signature) if parts.signature else None
    if name and (fields.payer is None or fields.evidence.get("payer", Evidence("", 0, 0))
                 .confidence < 0.6):
        fields.payer = name
        fields.evidence["payer"] = Evidence(name, 0, 0.6)
    # the signature's "PEC:" is the mailbox of who writes; the quoted message is ours
    fields.mailboxes = find_mailboxes((parts.own + "\n" + parts.signature).split("\n"))
    return fields


def _claimed_total(text: str) -> tuple[Decimal, Evidence] | None:
    for index, line in enumerate(text.split("\n")):
        match = _TOTAL_CLAIM.search(line)
        if match:
            value = parse_amount(match.group(1))
            if value is not None and value > 0:
                return value, Evidence(line.strip()[:200], index, 0.8)
    return None
