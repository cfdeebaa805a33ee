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
    _amount_candidates,
    _clean_name,
    _normalise,
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
    r"\s*(?:di|pari\s+a|:)?\s*(?:€|eur|euro)?\s*(\d{1,3}(?:\.\d{3})*,\d{2}|\d+[.,]\d{2})"
    # the figure before the word: '45,10 euro in totale', '45,10 complessivi'
    r"|(?<![\d.,])(\d{1,3}(?:\.\d{3})*,\d{2}|\d+[.,]\d{2})\s*(?:€|eur|euro)?\s*"
    r"(?:in\s+totale|in\s+tutto|complessiv[ie]|totali)\b",
    re.IGNORECASE)


# A reply's attribution wrapped over two lines ('Il giorno ... <amministrazione@...>' /
# 'ha scritto:'), and a mail client's header block ('Da: ...' / 'Inviato: ...' / 'Oggetto:')
_ATTRIBUTION_START = re.compile(r"^(?:il\s+giorno\b|il\s+\d|il\s+(?:lun|mar|mer|gio|ven|sab|dom)"
                                r"\w*\b|on\s)", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"\b(?:ha\s+scritto|wrote)\s*:?\s*$", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^(?:da|from|mittente)\s*:\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^(?:inviato|sent|data|date|a|to|cc|oggetto|subject)\s*:",
                          re.IGNORECASE)


def _quote_starts(lines: list[str], index: int) -> bool:
    """Whether a quoted message starts at ``lines[index]`` (besides ``_QUOTE_HEADER``)."""
    line = lines[index].strip()
    following = [ln.strip() for ln in lines[index + 1:index + 4]]
    if _ATTRIBUTION_START.match(line) and following \
            and _ATTRIBUTION_END.search(following[0]) and len(line) < 200:
        return True
    return bool(_HEADER_FROM.match(line)) and \
        sum(bool(_HEADER_NEXT.match(ln)) for ln in following) >= 2


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
        if _QUOTE_HEADER.match(stripped) or _quote_starts(lines, index):
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
    _prefer_claimed_total(fields, parts.own)
    name = signature_name(parts.signature) if parts.signature else None
    if name and (fields.payer is None or fields.evidence.get("payer", Evidence("", 0, 0))
                 .confidence < 0.6):
        fields.payer = name
        fields.evidence["payer"] = Evidence(name, 0, 0.6)
    # the signature's "PEC:" is the mailbox of who writes; the quoted message is ours
    fields.mailboxes = find_mailboxes((parts.own + "\n" + parts.signature).split("\n"),
                                      cut_words=False)
    return fields


def _claimed_total(lines: list[str]) -> tuple[Decimal, int] | None:
    for index, line in enumerate(lines):
        match = _TOTAL_CLAIM.search(line)
        if match:
            value = parse_amount(match.group(1) or match.group(2))
            if value is not None and value > 0:
                return value, index
    return None


# labels under which an amount is no part of what the customer paid for the orders
_NOT_ITEMS = ("fee", "balance", "total_debit")


def _prefer_claimed_total(fields: PaymentFields, text: str) -> None:
    """In a customer's own words a total ('per un totale di euro 97,60') is what they paid:
    it replaces an amount read elsewhere when the amounts listed beside it (one per order:
    '- ordine RLM25704: 48,80 €') add up to it, or when several orders are named and no fee
    explains the difference; otherwise it stands only where no amount was read. A total
    that contradicts the amount read leaves that amount, with less confidence."""
    lines = _normalise(text).split("\n")
    claimed = _claimed_total(lines)
    if claimed is None or claimed[0] == fields.amount:
        return
    total, index = claimed
    seen = _amount_candidates(lines)
    items = [c.value for c in seen if c.line != index and c.value > 0
             and c.label not in _NOT_ITEMS]
    fees = [c.value for c in seen if c.label == "fee" and c.value > 0]
    if len(items) >= 2 and sum(items, Decimal("0.00")) == total:
        confidence = 0.9  # the sum of what is listed: a cross-check
    elif fields.amount is None:
        confidence = 0.8
    elif len(fields.codes) >= 2 and not fees and total > fields.amount:
        confidence = 0.7  # one order's price beside the total of several
    else:
        current = fields.evidence.get("amount")
        if current is not None:  # two figures for what was paid: neither is sure
            fields.evidence["amount"] = Evidence(current.snippet, current.line,
                                                 min(current.confidence, 0.6))
        return
    fields.amount, fields.currency = total, "EUR"
    fields.evidence["amount"] = Evidence(lines[index][:200], index, confidence)
