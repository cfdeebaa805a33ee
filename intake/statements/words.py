"""What Italian banks write in free text about a transfer: the TRN / CRO and the payer.

BancoPosta's description ("BONIFICO A VOSTRO FAVORE TRN <trn> DA <name> PER <causale>"),
an MT940 :86: field and a CBI 63 record often hold the only copy of the reference or the
payer's name.
"""
from __future__ import annotations

import re

from intake.statements.model import Reference

# a TRN is 16 to 35 letters and digits (BancoPosta: 30, ending with the country); a BIC
# (8 or 11 letters) may stand on either side of it
_TRN = re.compile(r"\bTRN\b[\s:.]*((?:[A-Z0-9]{6,35}\s+){0,2}[A-Z0-9]{6,35})", re.I)
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_CRO = re.compile(r"\bC\.?R\.?O\.?\b[\s:.]*(\d{8,16})\b", re.I)
_EREF = re.compile(r"(?:\bEREF\+|/EREF/|\bE2E[:\s]+|END ?TO ?END(?: ?ID)?[:\s]+)"
                   r"([A-Z0-9][A-Z0-9./\-]{3,34})", re.I)
_STOP = {"DA", "A", "PER", "BENEF", "CAUSALE", "RIF", "DEL", "ORD"}
_PAYER = re.compile(r"\b(?:DA|ORD(?:INANTE)?[.:]?)\s+(.+?)(?=\s+(?:PER|CAUSALE|TRN|RIF|CRO)\b|"
                    r"\s*\||\s*$)", re.I)


def references_in_text(text: str) -> list[Reference]:
    refs: list[Reference] = []
    for match in _TRN.finditer(text):
        tokens = [t for t in match.group(1).split()]
        kept = []
        for token in tokens:
            if token.upper() in _STOP:
                break
            kept.append(token.upper())
        trn = [t for t in kept if len(t) >= 16] \
            or [t for t in kept if not _BIC.match(t) and sum(c.isdigit() for c in t) >= 4]
        if trn:
            refs.append(Reference("TRN", trn[0]))
    refs += [Reference("CRO", m.group(1)) for m in _CRO.finditer(text)]
    refs += [Reference("EndToEndId", m.group(1).upper()) for m in _EREF.finditer(text)
             if m.group(1).upper() != "NOTPROVIDED"]
    return refs


def payer_in_text(text: str) -> str | None:
    match = _PAYER.search(text)
    if not match:
        return None
    name = " ".join(match.group(1).split())
    # a name, not a reference or an amount
    if not name or sum(c.isdigit() for c in name) > 2 or len(name) > 70:
        return None
    return name


def causale_in_text(text: str) -> str | None:
    """The words after PER (BancoPosta, many Italian banks' free text)."""
    match = re.search(r"\bPER\s+(.+?)(?=\s+TRN\b|$)", text, re.I)
    return " ".join(match.group(1).split()) if match else None
