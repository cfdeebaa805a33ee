"""Phone screenshots of banking apps, with known ground truth: light and dark themes, the
amount in large figures with small decimals, masked IBANs (``IT62 C032 **** **** 1770``), a
causale cut with an ellipsis, "Bonifico istantaneo", "ID operazione". PNG as the phone saves
it, or JPEG as a messenger recompresses it. Fonts: Bitstream Vera, which ships inside
reportlab (no system font needed)."""
from __future__ import annotations

import io
import os
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from tests.factories.receipts import OUR_NAME, ReceiptSpec, iban_groups, it_amount

WIDTH, HEIGHT = 1170, 2532  # an iPhone's screen in pixels
APPS = ("Mobile Banking", "MyBank", "Conto Facile")


@dataclass(frozen=True)
class Screenshot:
    data: bytes
    detail: str
    iban: str | None  # the beneficiary IBAN as it must be read: None when masked
    reference: str


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    import reportlab
    name = "VeraBd.ttf" if bold else "Vera.ttf"
    return ImageFont.truetype(os.path.join(os.path.dirname(reportlab.__file__), "fonts", name),
                              size)


def masked(iban: str) -> str:
    """'IT62 C032 **** **** 1770': the country, check digits and bank, the last four."""
    return f"{iban[:4]} {iban[4:8]} **** **** {iban[-4:]}"


def screenshot(spec: ReceiptSpec, rng: random.Random, *, raised: bool = False,
               shrink: float | None = None) -> Screenshot:
    """``raised``: the decimals raised to the top of the large figures (",17" as a
    superscript), as many apps print them; ``shrink``: the picture scaled by this factor
    before it is saved (a messenger sends 591 pixels of a 1170-pixel screen)."""
    dark = rng.random() < 0.5
    instant = rng.random() < 0.5
    mask = rng.random() < 0.5
    cut = rng.random() < 0.4
    jpeg = rng.random() < 0.5
    app = rng.choice(APPS)
    back, ink, soft = ((18, 18, 20), (240, 240, 240), (150, 150, 155)) if dark else \
        ((250, 250, 252), (20, 20, 25), (110, 110, 118))
    image = Image.new("RGB", (WIDTH, HEIGHT), back)
    draw = ImageDraw.Draw(image)
    y = 60
    draw.text((60, y), "09:41", font=_font(40, True), fill=ink)
    y += 140
    draw.text((60, y), app, font=_font(44), fill=soft)
    y += 90
    title = "Bonifico istantaneo" if instant else "Bonifico SEPA"
    draw.text((60, y), title, font=_font(64, True), fill=ink)
    y += 110
    draw.text((60, y), "Operazione eseguita", font=_font(44), fill=(40, 160, 80))
    y += 130
    euros, cents = it_amount(spec.amount).split(",")
    big = _font(150, True)
    draw.text((60, y), f"€ {euros}", font=big, fill=ink)
    width = draw.textlength(f"€ {euros}", font=big)
    draw.text((60 + width, y + (4 if raised else 26)), f",{cents}", font=_font(64, True),
              fill=ink)
    y += 250
    causale = f"Rinnovo PEC ordine {spec.code_text()} casella"
    if cut:  # the app cuts the causale to its field's width, after the code
        causale = causale[:len(causale) - 5] + "…"
    reference = "".join(rng.choice("0123456789ABCDEF") for _ in range(16)) if instant \
        else spec.reference[:11]
    rows = [("Beneficiario", OUR_NAME),
            ("IBAN beneficiario", masked(spec.beneficiary_iban) if mask
             else iban_groups(spec.beneficiary_iban)),
            ("Causale", causale),
            ("Data esecuzione", spec.paid_on.strftime("%d/%m/%Y")),
            ("Commissioni", f"{it_amount(spec.fee)} €"),
            ("Ordinante", spec.payer),
            ("Conto di addebito", masked(spec.payer_iban)),
            ("ID operazione", reference)]
    for label, value in rows:
        draw.text((60, y), label, font=_font(38), fill=soft)
        draw.text((60, y + 52), value, font=_font(46), fill=ink)
        y += 150
    if shrink is not None:
        image = image.resize((round(WIDTH * shrink), round(HEIGHT * shrink)),
                             Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if jpeg:  # a messenger's recompression
        image.save(buffer, "JPEG", quality=rng.randint(55, 80))
    else:
        image.save(buffer, "PNG")
    detail = " ".join(filter(None, [app, "dark" if dark else "light",
                                    "instant" if instant else "", "masked" if mask else "",
                                    "cut" if cut else "", "jpeg" if jpeg else "png"]))
    return Screenshot(buffer.getvalue(), detail, None if mask else spec.beneficiary_iban,
                      reference)
