"""Screen-resolution images (phone screenshots, a messenger's copy of one) are enlarged for
OCR by their letters' own height, not by a guessed resolution."""
from __future__ import annotations

import io
import random
from decimal import Decimal

from PIL import Image

from intake.images import GLYPH_HEIGHT, glyph_height, load_image_page, survey_image
from tests.factories.receipts import ReceiptSpec
from tests.factories.screens import HEIGHT, WIDTH, screenshot

SPEC = ReceiptSpec(codes=("RLM40712",), amount=Decimal("121.78"), fee=Decimal("1.50"),
                   reference="0306998765432101")
LIMIT = 100_000_000


def prepared_width(shrink: float | None) -> int:
    data = screenshot(SPEC, random.Random(11), shrink=shrink).data
    info = survey_image(data, 5, LIMIT)[0]
    return load_image_page(data, info, LIMIT).image.size[0]


def test_a_full_size_screenshot_is_read_as_it_comes() -> None:
    """GIVEN a 1170-pixel screenshot (letters about 25 px tall) THEN it is not blown up: at
    2.3 times Tesseract misread an 8 as a 3 in an order code."""
    assert prepared_width(None) == WIDTH


def test_a_messengers_half_size_copy_is_enlarged_to_readable_letters() -> None:
    width = prepared_width(0.5)
    assert 1.5 * WIDTH / 2 <= width <= 2.2 * WIDTH / 2


def test_glyph_height_measures_the_letters() -> None:
    image = Image.open(io.BytesIO(
        screenshot(SPEC, random.Random(11)).data)).convert("L")
    if image.getpixel((5, 5)) < 100:  # dark theme: the measure wants dark ink on light
        image = Image.eval(image, lambda v: 255 - v)
    full = glyph_height(image)
    half = glyph_height(image.resize((WIDTH // 2, HEIGHT // 2)))
    assert full is not None and half is not None
    assert 0.8 * GLYPH_HEIGHT <= full <= 1.6 * GLYPH_HEIGHT
    assert 0.4 <= half / full <= 0.6
    assert glyph_height(Image.new("L", (400, 400), 255)) is None  # nothing to measure
