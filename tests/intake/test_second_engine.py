"""The second OCR engine for real: PP-OCR (rapidocr-onnxruntime, its models inside the wheel)
beside Tesseract in the same worker processes, on faxes and phone screenshots."""
from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

import pytest

from config.settings import LimitSettings
from intake.message import Document
from intake.ocr import DOUBTFUL, OFF, TesseractEngine, available_engine, ppocr_available
from intake.reading import fields_of
from intake.text import read_document
from tests.factories import ghostscript, scans
from tests.factories.receipts import ReceiptSpec
from tests.factories.screens import screenshot

pytestmark = pytest.mark.skipif(available_engine() is None or not ppocr_available(),
                                reason="tesseract 'ita' or rapidocr-onnxruntime missing")
LIMITS = LimitSettings()
SPEC = ReceiptSpec(codes=("RLM40712",), amount=Decimal("121.78"), fee=Decimal("1.50"),
                   reference="0306998765432101")


def read(data: bytes, name: str, engine: TesseractEngine):  # noqa: ANN201
    return read_document(Document(name, "", data, "file"), LIMITS, engine)


def shot(seed: int, **wanted: bool) -> bytes:
    """A screenshot whose random choices (dark, instant, masked, cut, jpeg) are as wanted."""
    for attempt in range(200):
        rng = random.Random(f"{seed}-{attempt}")
        made = screenshot(SPEC, rng)
        words = made.detail.split()
        if all((name in words) == value for name, value in wanted.items()):
            return made.data
    raise AssertionError("no such screenshot")


@pytest.mark.skipif(not ghostscript.available(), reason="ghostscript not installed")
def test_both_engines_read_a_fax_and_agree(tmp_path) -> None:  # noqa: ANN001
    engine = TesseractEngine(workers=1)
    try:
        text = read(scans.fax(replace(SPEC, style="intesa"), "tiffg4", "204x196"), "f.tif",
                    engine)
        assert [p.engine for p in text.pages] == ["tesseract"]
        assert text.pages[0].alternate is not None
        assert text.pages[0].alternate.engine == "ppocr"
        fields = fields_of(text)
        assert fields.codes[:1] == ["RLM40712"] and fields.amount == Decimal("121.78")
        # agreement of two engines, and the total minus fees: sure
        assert fields.confidence["codes"] >= 0.95 and fields.confidence["amount"] >= 0.95
        assert engine.stats.second_pages == 1 and engine.stats.ppocr_seconds > 0
        assert engine.stats.worker_peak_mb < 400
    finally:
        engine.close()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_banking_app_screenshot_is_read(dark: bool) -> None:
    engine = TesseractEngine(workers=1)
    try:
        text = read(shot(3, dark=dark, masked=True, cut=True), "shot.png", engine)
        fields = fields_of(text)
        assert fields.codes[:1] == ["RLM40712"]
        assert fields.amount == Decimal("121.78")
        assert fields.iban is None  # masked: never a guessed IBAN
    finally:
        engine.close()


def test_policies_off_and_doubtful_run_pp_ocr_only_where_asked() -> None:
    data = shot(5, dark=False, masked=False, cut=False)
    engine = TesseractEngine(workers=1, second=OFF)
    try:
        text = read(data, "shot.png", engine)
        assert text.alternate_text is None and engine.stats.second_pages == 0
        assert engine.second_opinion(data, "image", None, LIMITS) == []  # off is off
    finally:
        engine.close()
    engine = TesseractEngine(workers=1, second=DOUBTFUL)
    try:
        # the pipeline's hook (a code naming no pending order): PP-OCR alone, on request
        second = engine.second_opinion(data, "image", None, LIMITS)
        assert [p.engine for p in second] == ["ppocr"] and "RLM" in second[0].text.upper()
    finally:
        engine.close()
    with pytest.raises(ValueError):
        TesseractEngine(second="sometimes")


def test_the_pipelines_hook_reads_a_tesseract_only_document_again_with_pp_ocr() -> None:
    """GIVEN a message read by Tesseract alone (policy off, or doubtful and not doubted);
    WHEN the pipeline finds its codes name no order and calls ``second_opinion``; THEN every
    OCR page gets PP-OCR's reading and the fields are combined anew, with confidence."""
    from intake.message import parse_incoming
    from intake.reading import read_message, second_opinion
    from intake.sources.base import IncomingMessage
    data = shot(7, dark=True, masked=False, cut=False)
    parsed = parse_incoming(IncomingMessage(source="t", key="s.png", raw=data,
                                            filename="s.png", is_mail=False))
    first, second = TesseractEngine(workers=1, second=OFF), TesseractEngine(workers=1,
                                                                          second=DOUBTFUL)
    try:
        reading = read_message(parsed, LIMITS, first)
        assert reading.documents[0].text.alternate_text is None
        assert second_opinion(reading, LIMITS, second) is True
        assert reading.documents[0].text.alternate_text is not None
        assert reading.fields.codes[:1] == ["RLM40712"]
        assert reading.fields.confidence["codes"] >= 0.9  # both engines read it
        assert second_opinion(reading, LIMITS, second) is False  # nothing left to read
    finally:
        first.close()
        second.close()
