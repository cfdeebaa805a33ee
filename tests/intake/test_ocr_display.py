"""Large display figures (a banking app's amount with small decimals): PP-OCR reads their
band again on its own, and small decimals beside a large figure are its decimals."""
from __future__ import annotations

import io
import random
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image, ImageDraw

from config.settings import LimitSettings
from intake.message import Document
from intake.ocr import (
    OFF,
    TesseractEngine,
    _line_text,
    _page_from_boxes,
    available_engine,
    display_glyph_bands,
    ppocr_available,
)
from intake.reading import fields_of
from intake.text import read_document
from tests.factories.receipts import ReceiptSpec
from tests.factories.screens import _font, screenshot


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def test_raised_small_decimals_join_the_large_figure_as_its_decimals() -> None:
    """GIVEN "-16" in large figures and ",17" (or "17", its comma lost) raised beside it
    WHEN the segments become lines THEN one line reads "-16,17"."""
    for figure, cents in (("-16", ",17"), ("-16", "17"), ("-16", ",17 €"), ("-16'", "17")):
        found = [(box(60, 400, 300, 560), figure, 0.95), (box(310, 410, 420, 480), cents, 0.9),
                 (box(60, 700, 500, 740), "Eseguito il 14 gen 2026", 0.97)]
        page = _page_from_boxes(found, 1, 1080, 2340)
        assert page.text.split("\n")[0].startswith("-16,17"), page.text


def test_figures_of_the_same_size_are_not_joined() -> None:
    """GIVEN "Totale 16" and "17" in the same type on one line THEN they stay apart: only a
    smaller figure raised to the top of a larger one is its decimals."""
    line = [(60, 400, 200, 440, "16", 0.9), (210, 400, 260, 440, "17", 0.9)]
    assert _line_text(line) == "16 17"
    lower = [(60, 400, 300, 560, "16", 0.9), (310, 500, 420, 560, "17", 0.9)]
    assert _line_text(lower) == "16 17"  # on the baseline, far below the top: not cents


def test_display_glyphs_are_found_and_outlines_are_not() -> None:
    image = Image.new("L", (1080, 900), 245)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((60, 40, 700, 160), 50, outline=0, width=4)  # a badge: no glyph
    draw.text((80, 70), "Bonifico SEPA", font=_font(40), fill=0)
    draw.text((60, 300), "-6", font=_font(150, True), fill=0)
    draw.text((240, 304), ",10 €", font=_font(64, True), fill=0)
    draw.text((60, 600), "Eseguito il 3 ott 2026", font=_font(40), fill=0)
    bands = display_glyph_bands(np.asarray(image), 40.0)
    assert bands and all(250 <= top <= 330 and 430 <= bottom <= 520 for top, bottom in bands)


@pytest.mark.skipif(available_engine() is None or not ppocr_available(),
                    reason="tesseract 'ita' or rapidocr-onnxruntime missing")
@pytest.mark.parametrize("amount", ["6.10", "16.17"])
def test_a_shrunk_screenshot_with_raised_decimals_gives_its_amount(amount: str) -> None:
    """GIVEN a screenshot whose large amount has its decimals raised, sent through a
    messenger at half size WHEN read THEN the amount is the printed one."""
    spec = ReceiptSpec(codes=("RLM40712",), amount=Decimal(amount), fee=Decimal("0.00"),
                       reference="0306998765432101")
    data = screenshot(spec, random.Random(7), raised=True, shrink=0.5).data
    engine = TesseractEngine(workers=1)
    try:
        text = read_document(Document("shot.png", "", data, "file"), LimitSettings(), engine)
        fields = fields_of(text)
    finally:
        engine.close()
    assert fields.amount == Decimal(amount)


def test_the_euro_sign_read_as_a_letter_after_a_display_amount_is_the_euro() -> None:
    """GIVEN "-16.17e" read from a display figure among body text THEN "-16,17 €"; the same
    letter after an amount in body text (the Italian "e", and) is left alone."""
    found = [(box(60, 400, 500, 560), "-16.17e", 0.95),
             (box(60, 700, 500, 740), "Eseguito il 14 gen 2026", 0.97),
             (box(60, 800, 500, 840), "Commissioni 0,00 e", 0.97),
             (box(60, 900, 500, 940), "Beneficiario", 0.97)]
    lines = _page_from_boxes(found, 1, 1080, 2340).text.split("\n")
    assert lines[0] == "-16,17 €" and lines[2] == "Commissioni 0,00 e"


def confirmation_page() -> bytes:
    """A bank's confirmation as a fine fax sends it (G4, 204x196 dpi, grey dithered to dots):
    a large centred amount above small details with grey labels."""
    image = Image.new("L", (1728, 2292), 255)
    draw = ImageDraw.Draw(image)
    draw.text((700, 200), "Bonifico inviato", font=_font(34), fill=110)
    draw.text((600, 290), "227,42 €", font=_font(90, True), fill=0)
    rows = [("Beneficiario", "Lextel S.p.a."), ("Causale", "Rinnovo PEC ordine RLM12321"),
            ("Data di esecuzione", "17/04/2026"), ("Commissioni", "1,50 €"),
            ("Titolare", "Ilaria Costa"), ("Codice riferimento", "35095173190")]
    y = 520
    for label, value in rows:
        draw.text((200, y), label, font=_font(24), fill=150)
        draw.text((200, y + 34), value, font=_font(32), fill=0)
        y += 92
    image = image.resize((1728, 1146)).convert("1")  # 98 -> 196 lines: fine fax rows
    image = image.resize((1728, 2292))
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="group4", dpi=(204, 196))
    return buffer.getvalue()


@pytest.mark.skipif(available_engine() is None, reason="tesseract 'ita' missing")
def test_tesseract_reads_a_large_amount_above_small_details() -> None:
    """GIVEN a confirmation whose amount is printed four times the size of its details
    WHEN Tesseract alone reads it THEN the amount is in its text, with the euro sign."""
    engine = TesseractEngine(workers=1, second=OFF)
    try:
        text = read_document(Document("c.tif", "", confirmation_page(), "file"),
                             LimitSettings(), engine)
    finally:
        engine.close()
    assert "227,42 €" in text.text
    assert fields_of(text).amount == Decimal("227.42")


@pytest.mark.skipif(available_engine() is None, reason="tesseract 'ita' missing")
def test_a_display_line_tesseract_dropped_is_read_again_in_its_place() -> None:
    """GIVEN Tesseract's reading of a confirmation without its large amount (as it drops
    such lines on dithered faxes) WHEN the display bands are read again THEN the amount's
    words come back, between the line above and the details below."""
    import pytesseract

    from intake.images import PreparedPage
    from intake.ocr import _as_pgm, _with_display_lines, page_from_data
    data = confirmation_page()
    image = Image.open(io.BytesIO(data)).convert("L")
    with _as_pgm(image) as path:
        read = pytesseract.image_to_data(path, lang="ita", config="--oem 1 --psm 3",
                                         output_type=pytesseract.Output.DICT)
    dropped = [i for i, t in enumerate(read["text"]) if "227" in t or t.strip() == "€"]
    assert dropped  # Tesseract read it here: take it out, as on the faxes where it did not
    kept = {key: [v for i, v in enumerate(values) if i not in dropped]
            for key, values in read.items()}
    again = _with_display_lines(kept, image, PreparedPage(1, image, 204, "fax"), 30)
    lines = page_from_data(again, 1, image.size).text.split("\n")
    amount = next(n for n, line in enumerate(lines) if "227,42" in line)
    assert any("Bonifico" in line for line in lines[:amount])
    assert any("Lextel" in line for line in lines[amount + 1:])


class StripDetector:
    """Stands in for PP-OCR's detector: one box per dark row band of what it is shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[int, int]] = []

    def text_det(self, pixels: np.ndarray):  # noqa: ANN201
        self.shown.append(pixels.shape[:2])
        rows = np.where(pixels[:, :, 0].min(axis=1) < 128)[0]
        boxes, start = [], None
        for row, following in zip(rows, [*rows[1:], -1], strict=True):
            start = row if start is None else start
            if following != row + 1:
                boxes.append(box(10, start, 200, row + 1))
                start = None
        return (np.asarray(boxes, dtype=np.float32) if boxes else None), 0.0


def test_detection_in_strips_finds_every_line_once_with_page_coordinates() -> None:
    """GIVEN a tall page with a line of text every 70 pixels, some across strip edges WHEN
    detected in strips THEN each line is found once, where it is on the page, and no strip
    is larger than the detector's budget (plus the overlap)."""
    from intake.ocr import DET_OVERLAP, DET_TILE_PIXELS, _detect
    pixels = np.full((1400, 646, 3), 255, dtype=np.uint8)
    tops = list(range(20, 1380, 70))
    for top in tops:
        pixels[top:top + 24, 10:200] = 0
    detector = StripDetector()
    found = _detect(detector, pixels)
    assert sorted(round(float(b[:, 1].min())) for b in found) == tops
    assert len(detector.shown) > 1
    assert all(h * w <= DET_TILE_PIXELS + DET_OVERLAP * w for h, w in detector.shown)


def test_the_recogniser_reads_one_line_crop_at_a_time() -> None:
    """A batch is padded to its widest crop: one crop a run costs less memory and CPU."""
    if not ppocr_available():
        pytest.skip("rapidocr-onnxruntime missing")
    from intake.ocr import _ppocr
    assert _ppocr().text_rec.rec_batch_num == 1
