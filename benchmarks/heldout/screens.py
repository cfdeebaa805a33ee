"""Phone screenshots of banking apps, drawn with PIL: light and dark themes, a large amount with
small decimals, masked IBANs, a causale cut with an ellipsis, instant transfers, 'ID operazione'.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from benchmarks.heldout.fonts import pil_font
from benchmarks.heldout.truth import (
    PROVIDER,
    PROVIDER_IBAN,
    Payment,
    Truth,
    causale,
    grouped,
    it_money,
    masked,
    truth_for,
    with_mailboxes,
)

MONTHS = "gen feb mar apr mag giu lug ago set ott nov dic".split()


@dataclass(frozen=True)
class Theme:
    background: tuple[int, int, int]
    card: tuple[int, int, int]
    text: tuple[int, int, int]
    muted: tuple[int, int, int]
    accent: tuple[int, int, int]


LIGHT = Theme((244, 245, 248), (255, 255, 255), (22, 24, 32), (110, 115, 128), (0, 102, 204))
DARK = Theme((14, 15, 18), (30, 31, 36), (236, 237, 242), (150, 154, 166), (90, 200, 160))
APPS = [("YouApp", (0, 120, 90)), ("Mobile Banking", (200, 30, 60)), ("MyBank", (240, 150, 0)),
        ("Conto Smart", (90, 60, 200))]


def _visible_codes(shown: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The codes a reader can see whole in the (possibly cut) causale."""
    flat = re.sub(r"(?i)rlm[\s-]?(?=\d)", "RLM", shown).upper()
    return tuple(c for c in codes if re.search(rf"{c}(?!\d)", flat))


def cut_causale(text: str, rng: random.Random) -> str:
    """'Rinnovo PEC ordine RLM12…': apps cut long causali with an ellipsis. Mostly after the
    codes, sometimes inside the first one (a fragment, which is no code), never right after
    a code's last digit (nobody could tell whether digits are missing)."""
    spans = [m.span() for m in re.finditer(r"(?i)rlm[\s-]?\d+", text)]
    chance = rng.random()
    if spans and chance < 0.15:
        first, last = spans[0]
        limit = first + rng.randint(3, last - first - 1)
    elif chance < 0.6:
        limit = max(28, (spans[-1][1] if spans else 0) + rng.randint(2, 8))
    else:
        return text
    return text if len(text) <= limit else text[:limit] + "…"


def screenshot(p: Payment, rng: random.Random, dark: bool) -> tuple[Image.Image, Truth, str]:
    theme = DARK if dark else LIGHT
    app, brand = rng.choice(APPS)
    theme = replace(theme, accent=brand if not dark else theme.accent)
    width, height = rng.choice([(1080, 2340), (1170, 2532), (1080, 2400)])
    image = Image.new("RGB", (width, height), theme.background)
    draw = ImageDraw.Draw(image)
    sans = "sans"

    def text(xy, s, size, colour=theme.text, bold=False, anchor="la"):  # noqa: ANN001,ANN202
        draw.text(xy, s, font=pil_font(sans, size, bold), fill=colour, anchor=anchor)

    # status bar and app bar
    text((60, 40), f"{rng.randint(8, 21)}:{rng.randint(0, 59):02d}", 40, bold=True)
    text((width - 60, 40), f"{rng.randint(12, 99)}%", 38, anchor="ra")
    text((60, 150), "←", 56)
    text((150, 152), "Dettaglio operazione", 50, bold=True)
    instant = rng.random() < 0.5
    y = 300
    badge = "Bonifico istantaneo" if instant else "Bonifico SEPA"
    draw.rounded_rectangle((60, y, 60 + 24 * len(badge) + 40, y + 70), 35, fill=theme.card,
                           outline=theme.accent, width=3)
    text((80, y + 14), badge, 38, theme.accent, bold=True)
    y += 140
    # the large amount with small decimals
    whole, cents = it_money(p.amount).split(",")
    sign = "-" if rng.random() < 0.5 else ""
    big = pil_font(sans, 150, True)
    text((60, y), f"{sign}{whole}", 150, bold=True)
    x = 60 + draw.textlength(f"{sign}{whole}", font=big)
    text((x + 6, y + 22), f",{cents} €", 64, bold=True)
    y += 210
    paid = (f"{p.paid_on.day} {MONTHS[p.paid_on.month - 1]} {p.paid_on.year}, "
            f"{rng.randint(8, 19)}:{rng.randint(0, 59):02d}")
    text((60, y), f"Eseguito il {paid}", 40, theme.muted)
    y += 110
    full_iban = rng.random() < 0.35
    written = causale(p, rng)
    shown = cut_causale(written, rng)
    reference = p.op_id if rng.random() < 0.6 else p.cro
    rows = [("Beneficiario", PROVIDER),
            ("IBAN beneficiario", grouped(PROVIDER_IBAN) if full_iban else masked(PROVIDER_IBAN)),
            ("Causale", shown), ("Ordinante", p.payer),
            ("Conto di addebito", masked(p.payer_iban)),
            ("ID operazione" if reference == p.op_id else "CRO", reference),
            ("Commissioni", f"{it_money(p.fee)} €"),
            ("Data esecuzione", p.paid_on.strftime("%d/%m/%Y"))]
    card_top = y
    draw.rounded_rectangle((40, card_top, width - 40, card_top + 150 * len(rows) + 40), 30,
                           fill=theme.card)
    y += 40
    for label, value in rows:
        text((90, y), label, 34, theme.muted)
        text((90, y + 46), value, 44)
        y += 150
    y += 80
    for i, label in enumerate(["Condividi", "Scarica ricevuta"]):
        left = 60 + i * (width - 120) // 2
        draw.rounded_rectangle((left + 10, y, left + (width - 120) // 2 - 10, y + 120), 60,
                               outline=theme.accent, width=4)
        text((left + (width - 120) // 4, y + 60), label, 40, theme.accent, anchor="mm")
    codes = _visible_codes(shown, p.codes)
    truth = truth_for(p, iban=PROVIDER_IBAN if full_iban else None, reference=reference,
                      codes=codes)
    truth = with_mailboxes(truth, shown, p)
    detail = f"{app} {'dark' if dark else 'light'}{' instant' if instant else ''}" \
             f"{' cut' if shown != written else ''}{' masked' if not full_iban else ''}"
    return image, truth, detail
