"""Italian amounts in words, the ways people and forms write them."""
from __future__ import annotations

from decimal import Decimal

_SMALL = ("zero uno due tre quattro cinque sei sette otto nove dieci undici dodici tredici "
          "quattordici quindici sedici diciassette diciotto diciannove").split()
_DECADES = {2: "venti", 3: "trenta", 4: "quaranta", 5: "cinquanta", 6: "sessanta",
            7: "settanta", 8: "ottanta", 9: "novanta"}


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    head = "" if not hundreds else ("cento" if hundreds == 1 else _SMALL[hundreds] + "cento")
    if rest == 0:
        return head
    if rest < 20:
        tail = _SMALL[rest]
    else:
        decade, unit = divmod(rest, 10)
        stem = _DECADES[decade]
        # the vowel drops before 'uno' and 'otto': ventuno, trentotto
        tail = stem[:-1] + _SMALL[unit] if unit in (1, 8) else stem + (_SMALL[unit] if unit else "")
        if unit == 3:
            tail = stem + "tré"  # ventitré, trentatré
    if head.endswith("o") and tail.startswith("o"):  # centottanta
        head = head[:-1]
    return head + tail


def integer_words(n: int) -> str:
    """0 <= n < 1,000,000 as one Italian word: 1234 -> 'milleduecentotrentaquattro'."""
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    if thousands == 0:
        lead = ""
    elif thousands == 1:
        lead = "mille"
    else:
        lead = _below_thousand(thousands) + "mila"
    return lead + (_below_thousand(rest) if rest else "")


def slash_words(value: Decimal) -> str:
    """'dieci/89', as on cheques and postal slips."""
    euros, cents = divmod(int(round(value * 100)), 100)
    return f"{integer_words(euros)}/{cents:02d}"


def spoken_words(value: Decimal) -> str:
    """'dieci euro e ottantanove centesimi', as a customer writes it."""
    euros, cents = divmod(int(round(value * 100)), 100)
    text = f"{integer_words(euros)} euro"
    if cents:
        text += f" e {integer_words(cents)} centesimi"
    return text
