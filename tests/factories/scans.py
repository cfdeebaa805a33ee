"""Receipts as they arrive on paper: faxes, scans and phone photos, with known ground truth.

Built on ``receipts.py``: a ``ReceiptSpec`` is rendered to a PDF (reportlab), then
- ``fax``: Ghostscript's real fax devices (G3 1D, G3 2D, G4) at fine or standard resolution,
  from the PDF (a computer's fax) or from a noisy, crooked scan of it (a fax machine's page);
- ``scan``: rasterised, speckled, turned a little (or upside down, or sideways), wrapped in an
  image-only PDF;
- ``photo``: rasterised, put on a desk, seen at an angle (perspective), unevenly lit, blurred,
  JPEG-compressed.
Postal slips carry the amount in words too (``IMPORTO IN LETTERE``), as the real form does.
Everything is generated on demand: no binary is committed.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
from PIL import Image, ImageFilter

from tests.factories import ghostscript
from tests.factories.receipts import (
    OUR_IBAN,
    STYLES,
    ReceiptSpec,
    random_spec,
    receipt_lines,
    receipt_pdf,
)

KINDS = ("text_pdf", "scan", "fax_fine", "fax_standard", "photo", "screenshot")
# harder than the issue asks for: measured, without a target
EXTRA_KINDS = ("fax_dithered", "photo_hard")


@dataclass(frozen=True)
class Sample:
    """One generated document and what reading it must give."""

    kind: str
    name: str
    data: bytes
    spec: ReceiptSpec
    detail: str = ""  # how it was made: device, rotation, ...
    # what a screenshot shows instead of the layout's own (a masked IBAN, the app's ID)
    shown: dict = field(default_factory=dict)

    @property
    def expected_iban(self) -> str | None:
        if "iban" in self.shown:
            return self.shown["iban"]
        return None if self.spec.style in ("poste", "assegno") else self.spec.beneficiary_iban

    @property
    def expected_ref(self) -> str:
        return self.shown.get("reference") or expected_reference(self.spec)


def expected_reference(spec: ReceiptSpec) -> str:
    """The reference each layout prints (its strongest one: TRN before CRO)."""
    ref = spec.reference
    return {"poste": f"VCY{ref[:8]}", "assegno": ref[:10], "bper": ref[:11]}.get(spec.style, ref)


# --- Italian amounts in words, as on a postal slip ----------------------------------------

_UNITS = ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
          "dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici",
          "diciassette", "diciotto", "diciannove"]
_TENS = ["", "", "venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta",
         "novanta"]


def number_words(n: int) -> str:
    """0 <= n < 1_000_000 in Italian words, written as one word ('milleduecentotrenta')."""
    if n < 20:
        return _UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        word = _TENS[tens]
        if unit in (1, 8):
            word = word[:-1]  # venti + uno -> ventuno, trenta + otto -> trentotto
        return word + (_UNITS[unit] if unit else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "cento" if hundreds == 1 else _UNITS[hundreds] + "cento"
        if rest and 80 <= rest < 90:
            head = head[:-1]  # centottanta
        return head + (number_words(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    head = "mille" if thousands == 1 else number_words(thousands) + "mila"
    return head + (number_words(rest) if rest else "")


def amount_words(amount: Decimal) -> str:
    """'10.89' -> 'DIECI/89', the way a postal slip's 'importo in lettere' is filled in."""
    euros = int(amount)
    cents = int((amount - euros) * 100)
    return f"{number_words(euros).upper()}/{cents:02d}"


def slip_lines(spec: ReceiptSpec) -> list[str]:
    lines = receipt_lines(spec)
    if spec.style != "poste":
        return lines
    at = next(i for i, line in enumerate(lines) if line.startswith("Importo in euro")) + 1
    return lines[:at] + [f"Importo in lettere: {amount_words(spec.amount)}"] + lines[at:]


def document_pdf(spec: ReceiptSpec) -> bytes:
    return receipt_pdf(spec, slip_lines(spec))


# --- rendering ----------------------------------------------------------------------------

def rasterise(pdf: bytes, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium
    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()


def fax(spec: ReceiptSpec, device: str, resolution: str) -> bytes:
    """A fax sent from a computer (fax server, 'print to fax'): clean strokes."""
    return ghostscript.pdf_to_fax(document_pdf(spec), device, resolution)


def paper_fax(spec: ReceiptSpec, device: str, resolution: str, rng: random.Random,
              photo_mode: bool = False) -> tuple[bytes, str]:
    """A fax machine's page: the printed receipt scanned (grey, noisy, a little crooked),
    thresholded (text mode, the default) or left grey for Ghostscript to dither (photo mode),
    then compressed by the fax device."""
    scanned, detail = scan(spec, rng, dpi=300, angle=rng.uniform(-1.5, 1.5),
                           bitonal=not photo_mode)
    return ghostscript.pdf_to_fax(scanned, device, resolution), detail


def scan(spec: ReceiptSpec, rng: random.Random, *, dpi: int = 200, angle: float | None = None,
         upside_down: bool = False, sideways: bool = False,
         bitonal: bool = False) -> tuple[bytes, str]:
    """An image-only PDF as a flatbed scanner makes it: grey paper, speckles, a slight turn."""
    image = rasterise(document_pdf(spec), dpi)
    angle = rng.uniform(-2.5, 2.5) if angle is None else angle
    if upside_down:
        angle += 180
    if sideways:  # put in the scanner the long way round
        angle += 90
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    pixels = np.asarray(image, dtype=np.float32) * rng.uniform(0.85, 0.95)
    np_rng = np.random.default_rng(rng.randrange(2**32))
    pixels += np_rng.normal(0, 8, pixels.shape)
    speckles = np_rng.random(pixels.shape) < 0.0015
    pixels[speckles] = 0
    page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if bitonal:  # a fax machine's text mode: a fixed threshold, speckles and all
        page = page.point(lambda value: 255 if value > 150 else 0).convert("1")
    buffer = io.BytesIO()
    page.save(buffer, "PDF", resolution=dpi)
    return buffer.getvalue(), f"angle={angle:.1f}"


def photo(spec: ReceiptSpec, rng: random.Random, hard: bool = False) -> tuple[bytes, str]:
    """A phone photo of the printed receipt lying on a desk; ``hard``: taken from further
    away, at a steeper angle, in worse light, out of focus."""
    import cv2
    sheet = np.asarray(rasterise(document_pdf(spec), 150 if hard else 220))
    height, width = sheet.shape
    margin = int(width * 0.12)
    canvas = np.full((height + 2 * margin, width + 2 * margin), rng.randint(60, 110), np.uint8)
    canvas[margin:margin + height, margin:margin + width] = sheet
    side = rng.uniform(0.07, 0.12) if hard else rng.uniform(0.02, 0.06)
    corners = np.float32([[margin, margin], [margin + width, margin],
                          [margin + width, margin + height], [margin, margin + height]])
    jitter = np.float32([[rng.uniform(0, side), rng.uniform(0, side)],
                         [-rng.uniform(0, side), rng.uniform(0, side)],
                         [-rng.uniform(0, side / 2), -rng.uniform(0, side / 2)],
                         [rng.uniform(0, side / 2), -rng.uniform(0, side / 2)]]) * width
    matrix = cv2.getPerspectiveTransform(corners, corners + jitter)
    shot = cv2.warpPerspective(canvas, matrix, (canvas.shape[1], canvas.shape[0]),
                               borderValue=int(canvas[0, 0]))
    # light falls off across the page (a window on one side)
    darkest = rng.uniform(0.4, 0.55) if hard else rng.uniform(0.65, 0.8)
    ramp = np.linspace(darkest, 1.0, shot.shape[1], dtype=np.float32)
    lit = shot.astype(np.float32) * (ramp if rng.random() < 0.5 else ramp[::-1])
    np_rng = np.random.default_rng(rng.randrange(2**32))
    lit += np_rng.normal(0, 4, lit.shape)
    image = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    blur = rng.uniform(1.2, 1.6) if hard else rng.uniform(0.6, 1.1)
    image = image.filter(ImageFilter.GaussianBlur(blur)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randint(65, 85))
    return buffer.getvalue(), f"perspective={side:.2f} blur={blur:.1f}"


# --- the corpus ---------------------------------------------------------------------------

def make_sample(kind: str, spec: ReceiptSpec, rng: random.Random, index: int = 0) -> Sample:
    name = f"{kind}-{index:03d}-{spec.style}"
    if kind == "text_pdf":
        return Sample(kind, name + ".pdf", document_pdf(spec), spec)
    if kind == "fax_dithered":  # photo mode at fine resolution: the grey paper dithered
        device = ghostscript.FAX_DEVICES[index % 3]
        data, detail = paper_fax(spec, device, "204x196", rng, photo_mode=True)
        return Sample(kind, name + ".tif", data, spec, f"{device} {detail}")
    if kind in ("fax_fine", "fax_standard"):
        device = ghostscript.FAX_DEVICES[index % 3]
        resolution = ghostscript.FAX_RESOLUTIONS[kind[4:]]
        if index % 2:
            data, detail = paper_fax(spec, device, resolution, rng)
            return Sample(kind, name + ".tif", data, spec, f"{device} paper {detail}")
        return Sample(kind, name + ".tif", fax(spec, device, resolution), spec, device)
    if kind == "scan":
        data, detail = scan(spec, rng, upside_down=index % 10 == 9, sideways=index % 10 == 4)
        return Sample(kind, name + ".pdf", data, spec, detail)
    if kind == "screenshot":
        from tests.factories.screens import screenshot
        spec = replace(spec, style="intesa")  # an app's transfer, whatever the turn's layout
        shot = screenshot(spec, rng)
        suffix = ".jpg" if "jpeg" in shot.detail else ".png"
        return Sample(kind, name + suffix, shot.data, spec, shot.detail,
                      {"iban": shot.iban, "reference": shot.reference})
    if kind in ("photo", "photo_hard"):
        data, detail = photo(spec, rng, hard=kind == "photo_hard")
        return Sample(kind, name + ".jpg", data, spec, detail)
    raise ValueError(f"unknown kind {kind}")


def samples(kind: str, n: int, seed: int = 5) -> list[Sample]:
    """``n`` documents of one kind, the bank styles in turn, reproducible by seed."""
    rng = random.Random(f"{seed}-{kind}")
    found = []
    for index in range(n):
        spec = random_spec(rng, f"RLM{rng.randint(10000, 99999)}",
                           Decimal(rng.randint(500, 25000)) / 100)
        spec = replace(spec, style=STYLES[index % len(STYLES)], beneficiary_iban=OUR_IBAN)
        found.append(make_sample(kind, spec, rng, index))
    return found
