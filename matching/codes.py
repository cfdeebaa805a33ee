"""Order codes that a misread could have produced, generated from the code itself.

A fax or a photo turns ``RLM95035`` into ``RLM95055``; a customer types one digit too many or
swaps two. Every code one edit away (substitute, drop, insert or swap adjacent digits) is
generated from the code read, so candidate orders are found by an indexed ``code IN (...)``
look-up whose cost does not depend on how many orders the book holds.
"""
from __future__ import annotations

import re

from rapidfuzz.distance import OSA

PREFIX = "RLM"
DIGITS = "0123456789"
MIN_DIGITS, MAX_DIGITS = 1, 12  # matching.orders.CODE_PATTERN
_CODE = re.compile(r"^RLM(\d+)$")


def near_codes(code: str) -> set[str]:
    """Every valid order code at edit distance 1 (optimal string alignment) from ``code``,
    ``code`` itself excluded. About 11 codes per digit: ~115 for ``RLM95055``."""
    match = _CODE.match(code)
    if match is None:
        return set()
    digits = match.group(1)
    found: set[str] = set()
    for i in range(len(digits)):
        found.update(digits[:i] + d + digits[i + 1:] for d in DIGITS)  # substitution
        found.add(digits[:i] + digits[i + 1:])  # deletion
        if i + 1 < len(digits):
            found.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:])  # swap
    for i in range(len(digits) + 1):
        found.update(digits[:i] + d + digits[i:] for d in DIGITS)  # insertion
    found.discard(digits)
    return {PREFIX + d for d in found if MIN_DIGITS <= len(d) <= MAX_DIGITS}


def distance(a: str, b: str) -> int:
    """Edit distance with adjacent swaps counted once: the measure ``near_codes`` inverts."""
    return int(OSA.distance(a, b))
