"""How sure each field is, and one reading out of two OCR engines' readings.

A confidence means "how likely the value is right", so it depends on where the value came
from as much as on the label it stood by:

- a text layer or an email body is the value as written: the label's confidence stands;
- one OCR engine alone may have misread a digit (3/9, 5/9, 8/6): its values are capped below
  0.9 unless a cross-check confirms them (the amount equals total minus fees, or its words,
  or it is printed twice; an IBAN's checksum, which ``intake.fields`` always applies);
- two engines (Tesseract and PP-OCR, ``intake.ocr``) that read the same value independently
  leave only the label's doubt; two that read different values leave the field disputed:
  its confidence drops, both readings are kept (``PaymentFields.disputed``) and matching
  sends the receipt to review with them.

Pure functions: fields and text in, fields out.
"""
from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from intake.fields import (
    _AMOUNT,
    AMOUNT_DISAGREES,
    CodeCandidate,
    Doubt,
    PaymentFields,
    _euro,
    extract_fields,
    parse_amount,
)

FIELDS = ("codes", "amount", "iban", "transfer_ref", "payment_date", "payer")
# One engine's reading, unconfirmed: at most this sure (a digit may be misread)
OCR_SINGLE_CAP = {"codes": 0.85, "amount": 0.85, "iban": 0.9, "transfer_ref": 0.8,
                  "payment_date": 0.85, "payer": 0.8}
# A cross-check that holds makes a single engine's amount this sure
CONFIRMED_AMOUNT = 0.93
# Order codes are RLM and five digits (the renewal guides' RLM95055); a code of another
# length is more likely a fragment or a misread
USUAL_CODE_DIGITS = 5
# Two engines agreeing remove most of the OCR doubt, not the label's
AGREEMENT_KEEPS = 0.3  # of the remaining doubt (1 - confidence)
# A page Tesseract read with less mean word confidence than this is doubtful
DOUBTFUL_PAGE = 0.8

_FEE = re.compile(r"commission|spese|\bcosto|oneri|tassa|\bfee\b", re.I)
_TOTAL = re.compile(r"totale|addebito\s+totale|total\b", re.I)
_IBAN_LIKE = re.compile(r"(?<![A-Z0-9])IT ?\d ?\d ?[A-Z]", re.I)


# --- doubts: where the second engine is worth its cost ---------------------------------------

def doubts(text: str, page_confidence: float = 1.0) -> list[str]:
    """Why a single OCR reading of ``text`` may be wrong or incomplete; [] when none."""
    fields = extract_fields(text)
    found = []
    if not fields.codes:
        found.append("no order code")
    elif any(c.repaired or c.confidence < 0.9 for c in fields.code_candidates[:1]):
        found.append("order code repaired or uncertain")
    elif len(fields.codes[0]) - 3 != USUAL_CODE_DIGITS:
        found.append("order code of an unusual length")
    if fields.amount is None:
        found.append("no amount")
    else:
        check = amount_check(text.split("\n"), fields.amount)
        if check is False:
            found.append("amount does not equal total minus fees")
        elif check is None and fields.evidence["amount"].confidence < 0.9:
            found.append("amount weakly labelled")
    if fields.iban is None and _IBAN_LIKE.search(text):
        found.append("an IBAN printed but none read (checksum)")
    if page_confidence < DOUBTFUL_PAGE:
        found.append("low OCR confidence")
    return found


# --- cross-checks ------------------------------------------------------------------------------

def _amounts_by_label(lines: list[str]) -> dict[str, list[Decimal]]:
    """Amounts on lines labelled as fees or totals (label on the line or just above), and
    every amount on the page ('all')."""
    found: dict[str, list[Decimal]] = {"fee": [], "total": [], "all": []}
    for index, line in enumerate(lines):
        for match in _AMOUNT.finditer(line):
            value = parse_amount(match.group("num"))
            if value is None or value <= 0:
                continue
            found["all"].append(value)
            label = line[:match.start()]
            if not re.search(r"[A-Za-z]{3}", label) and index > 0:
                label = lines[index - 1]
            if _FEE.search(label):
                found["fee"].append(value)
            elif _TOTAL.search(label):
                found["total"].append(value)
    return found


def amount_check(lines: list[str], amount: Decimal) -> bool | None:
    """True when the page confirms ``amount`` (total = amount + a fee printed, or the amount
    printed twice), False when it contradicts it (a total and fees printed that do not add up
    to it), None when it says nothing either way."""
    found = _amounts_by_label(lines)
    fees, totals = found["fee"], found["total"]
    if totals and fees:
        if any(total == amount + fee for total in totals for fee in fees):
            return True
        if any(total == amount for total in totals) and any(fee == 0 for fee in fees):
            return True
        return False
    if found["all"].count(amount) >= 2:
        return True
    return None


# --- confidence of one reading ---------------------------------------------------------------

def assign(fields: PaymentFields, text: str, source: str | None) -> PaymentFields:
    """Sets ``fields.confidence`` for a document read one way (text layer, email body, one
    OCR engine)."""
    lines = text.split("\n")
    confidence: dict[str, float | None] = {}
    ocr = source == "ocr"
    for name in FIELDS:
        value = _base(fields, name)
        if value is None:
            confidence[name] = None
            continue
        if ocr:
            value = min(value, OCR_SINGLE_CAP[name])
        confidence[name] = value
    if fields.amount is not None:
        check = amount_check(lines, fields.amount)
        words = fields.evidence.get("amount")
        if check is True or (words is not None and words.confidence >= 1.0):
            confidence["amount"] = max(confidence["amount"] or 0.0,
                                       CONFIRMED_AMOUNT if ocr else 0.97)
        elif check is False:
            confidence["amount"] = round((confidence["amount"] or 0.0) * 0.6, 2)
    fields.confidence = {k: (round(v, 2) if v is not None else None)
                         for k, v in confidence.items()}
    return fields


def _base(fields: PaymentFields, name: str) -> float | None:
    if name == "codes":
        if not fields.code_candidates:
            return None if not fields.codes else 0.9
        first = fields.code_candidates[0]
        value = first.confidence
        if len(first.code) - 3 != USUAL_CODE_DIGITS:
            value *= 0.8
        if len(fields.codes) > 1:
            value *= 0.95  # several codes: the first one is only the most likely
        return value
    if getattr(fields, name) is None:
        return None
    evidence = fields.evidence.get(name)
    return evidence.confidence if evidence is not None else 0.6


# --- two engines -----------------------------------------------------------------------------

def combine_engines(first_text: str, second_text: str) -> PaymentFields:
    """One reading of a page read by Tesseract (``first_text``) and PP-OCR (``second_text``):
    per field, agreement raises the confidence, a value one engine alone found keeps that
    engine's single confidence, and disagreement lowers it and records both values."""
    first = assign(extract_fields(first_text), first_text, "ocr")
    second = assign(extract_fields(second_text), second_text, "ocr")
    result = replace(first, evidence=dict(first.evidence), confidence=dict(first.confidence),
                     disputed={})
    _combine_codes(result, first, second)
    for name in ("amount", "iban", "transfer_ref", "payment_date", "payer"):
        _combine_field(result, name, first, second, first_text, second_text)
    if result.method == "unknown":
        result.method = second.method
    result.mailboxes = _combine_mailboxes(first.mailboxes, second.mailboxes)
    result.doubts = _combine_doubts(result, first, second)
    return result


def _combine_mailboxes(first: list[str], second: list[str]) -> list[str]:
    """Addresses both engines read; else one engine's (an address one engine misread, or
    glued to the words around it, is read by the other differently)."""
    both = [m for m in first if m in second]
    return both or list(first) or list(second)


def _combine_doubts(result: PaymentFields, first: PaymentFields,
                    second: PaymentFields) -> list[Doubt]:
    """A page's doubts, read by two engines: a reversal or a negative amount either engine
    saw stays; an amount inconsistency (a total that does not add up) seen by one engine only,
    where the other read the same amount consistently, was a misread of the total; engines
    that read different amounts are a doubt of their own."""
    doubts: list[Doubt] = []
    consistent = [f for f in (first, second) if f.amount == result.amount
                  and not any(d.kind == AMOUNT_DISAGREES for d in f.doubts)]
    for fields in (first, second):
        for doubt in fields.doubts:
            if doubt.kind == AMOUNT_DISAGREES and consistent:
                continue
            if doubt not in doubts:
                doubts.append(doubt)
    if "amount" in result.disputed:
        a, b = first.amount, second.amount
        doubts.append(Doubt(AMOUNT_DISAGREES, (
            f"the two OCR engines read the amount differently: {_euro(a)} (Tesseract), "
            f"{_euro(b)} (PP-OCR)")))
    return doubts


def _agreed(a: float | None, b: float | None) -> float:
    best = max(a or 0.0, b or 0.0)
    return round(min(0.99, 1 - (1 - best) * AGREEMENT_KEEPS), 2)


def _same(name: str, a: object, b: object) -> bool:
    if name == "payer" and isinstance(a, str) and isinstance(b, str):
        return re.sub(r"\W", "", a).casefold() == re.sub(r"\W", "", b).casefold()
    return a == b


def _combine_field(result: PaymentFields, name: str, first: PaymentFields,
                   second: PaymentFields, first_text: str, second_text: str) -> None:
    a, b = getattr(first, name), getattr(second, name)
    ca, cb = first.confidence.get(name), second.confidence.get(name)
    if a is None and b is None:
        return
    if a is None or b is None:
        value, conf, source = (b, cb, second) if a is None else (a, ca, first)
        setattr(result, name, value)
        if name in source.evidence:
            result.evidence[name] = source.evidence[name]
        if name == "amount":
            result.currency = source.currency
        result.confidence[name] = round((conf or 0.0) * 0.9, 2)  # the other engine missed it
        return
    if _same(name, a, b):
        result.confidence[name] = _agreed(ca, cb)
        return
    # disagreement: a cross-check may settle it; else the field is disputed
    if name == "amount":
        check_a = amount_check(first_text.split("\n"), a)
        check_b = amount_check(second_text.split("\n"), b)
        if check_a is True and check_b is not True:
            result.confidence[name] = round(min(ca or 0.0, 0.8), 2)
            return
        if check_b is True and check_a is not True:
            result.amount, result.currency = b, second.currency
            result.evidence[name] = second.evidence.get(name, result.evidence.get(name))
            result.confidence[name] = round(min(cb or 0.0, 0.8), 2)
            return
    winner_b = (cb or 0.0) > (ca or 0.0)
    if winner_b:
        setattr(result, name, b)
        if name in second.evidence:
            result.evidence[name] = second.evidence[name]
    result.confidence[name] = round(min(ca or 0.0, cb or 0.0) * 0.5, 2)
    result.disputed[name] = [_text(a), _text(b)]


def _text(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _combine_codes(result: PaymentFields, first: PaymentFields, second: PaymentFields) -> None:
    """Codes both engines read come first and are sure; a code one engine alone read stays a
    candidate with less confidence (it may be a misread, or the other engine's miss)."""
    by_first = {c.code: c for c in first.code_candidates}
    by_second = {c.code: c for c in second.code_candidates}
    both = [c for c in first.code_candidates if c.code in by_second]
    merged: list[CodeCandidate] = []
    for candidate in both:
        other = by_second[candidate.code]
        best = max(candidate, other, key=lambda c: c.confidence)
        merged.append(replace(best, confidence=_agreed(candidate.confidence,
                                                       other.confidence),
                              repaired=candidate.repaired and other.repaired))
    alone = [c for c in first.code_candidates if c.code not in by_second] + \
        [c for c in second.code_candidates if c.code not in by_first]
    alone.sort(key=lambda c: -c.confidence)
    merged += [replace(c, confidence=round(min(c.confidence, 0.8), 2)) for c in alone]
    result.code_candidates = merged
    result.codes = [c.code for c in merged]
    if not merged:
        result.confidence["codes"] = None
        return
    lead = merged[0]
    value = lead.confidence
    if len(lead.code) - 3 != USUAL_CODE_DIGITS:
        value *= 0.8
    if len(merged) > 1:
        value *= 0.95
    result.confidence["codes"] = round(value, 2)
    if not both and first.codes and second.codes and first.codes[0] != second.codes[0]:
        result.disputed["codes"] = [first.codes[0], second.codes[0]]

