"""The Tesseract engine for real: faxes made by Ghostscript, scans, photos, the real files of
../shared/corpus, and the limits that keep a bad page from stalling the daemon."""
from __future__ import annotations

import io
import json
import random
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from config.settings import LimitSettings
from core.errors import BadDocument
from intake.fields import extract_fields
from intake.message import Document
from intake.ocr import PageJob, PageResult, TesseractEngine, available_engine
from intake.text import PageText, read_document
from tests.conftest import CORPUS, run_subprocess
from tests.factories import ghostscript, scans
from tests.factories.receipts import ReceiptSpec, receipt_pdf
from tests.intake.test_images import _png_header_only

ENGINE = available_engine()
pytestmark = pytest.mark.skipif(ENGINE is None, reason="tesseract with 'ita' not installed")
needs_gs = pytest.mark.skipif(not ghostscript.available(), reason="ghostscript not installed")
LIMITS = LimitSettings()
SPEC = ReceiptSpec(codes=("RLM40712",), amount=Decimal("121.78"), reference="0306998765432101")


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    assert ENGINE is not None
    return ENGINE


def read(data: bytes, name: str, engine: TesseractEngine, limits: LimitSettings = LIMITS):
    return read_document(Document(name, "", data, "file"), limits, engine)


# --- faxes, scans, photos ------------------------------------------------------------------

@needs_gs
@pytest.mark.parametrize("device,resolution", [("tiffg3", "204x98"), ("tiffg32d", "204x196"),
                                               ("tiffg4", "204x98")])
def test_fax_fields_are_read(engine: TesseractEngine, device: str, resolution: str) -> None:
    spec = replace(SPEC, style="intesa")
    text = read(scans.fax(spec, device, resolution), "fax.tif", engine)
    fields = extract_fields(text.text)
    assert text.source == "ocr"
    assert fields.codes[:1] == ["RLM40712"]
    assert fields.amount == Decimal("121.78")
    assert fields.iban == spec.beneficiary_iban
    assert fields.transfer_ref == "0306998765432101"


@needs_gs
def test_each_page_of_a_multi_page_fax_is_read_in_order(engine: TesseractEngine) -> None:
    import pypdfium2 as pdfium
    document = pdfium.PdfDocument.new()
    for style in ("bper", "poste"):
        document.import_pages(pdfium.PdfDocument(receipt_pdf(replace(SPEC, style=style))))
    buffer = io.BytesIO()
    document.save(buffer)
    fax = ghostscript.pdf_to_fax(buffer.getvalue(), "tiffg4", "204x196")
    pages = engine.read_image(fax, LIMITS)
    assert [p.number for p in pages] == [1, 2]
    assert "BPER" in pages[0].text and "Poste" in pages[1].text


def test_an_upside_down_scan_is_turned_and_read(engine: TesseractEngine) -> None:
    data, _ = scans.scan(replace(SPEC, style="fineco"), random.Random(2), upside_down=True)
    fields = extract_fields(read(data, "scan.pdf", engine).text)
    assert fields.codes[:1] == ["RLM40712"] and fields.amount == Decimal("121.78")


def test_a_phone_photo_is_read(engine: TesseractEngine) -> None:
    data, _ = scans.photo(replace(SPEC, style="unicredit"), random.Random(4))
    fields = extract_fields(read(data, "foto.jpg", engine).text)
    assert fields.codes[:1] == ["RLM40712"]
    assert fields.amount == Decimal("121.78")
    assert fields.transfer_ref == "0306998765432101"


def test_a_postal_slip_amount_agrees_with_its_words(engine: TesseractEngine) -> None:
    data, _ = scans.scan(replace(SPEC, style="poste"), random.Random(5), angle=1.0)
    text = read(data, "bollettino.pdf", engine).text
    assert "CENTOVENTUNO/78" in text.replace(" ", "")
    fields = extract_fields(text)
    assert fields.amount == Decimal("121.78") and fields.method == "bollettino"
    assert fields.evidence["amount"].confidence == 1.0  # figures and words agree


def test_words_keep_their_place_on_the_page(engine: TesseractEngine) -> None:
    [page] = engine.read_image(scans.fax(SPEC, "tiffg4", "204x196"), LIMITS)
    [code] = [w for w in page.words if "RLM40712" in w.text]
    assert 0 <= code.x0 < code.x1 <= 1 and 0 <= code.y0 < code.y1 <= 1
    # 'Causale' is the 9th of 16 lines printed from the top of an A4 page
    assert 0.2 < code.y0 < 0.5 and code.confidence > 0.8
    assert 0.8 < page.confidence <= 1.0


def test_only_pages_without_a_text_layer_are_ocred(engine: TesseractEngine) -> None:
    import pypdfium2 as pdfium
    scanned, _ = scans.scan(replace(SPEC, style="bper"), random.Random(6), angle=0.0)
    document = pdfium.PdfDocument.new()
    document.import_pages(pdfium.PdfDocument(receipt_pdf(SPEC)))
    document.import_pages(pdfium.PdfDocument(scanned))
    buffer = io.BytesIO()
    document.save(buffer)
    text = read(buffer.getvalue(), "misto.pdf", engine)
    assert [p.source for p in text.pages] == ["text_layer", "ocr"]
    assert "BPER" in text.pages[1].text


# --- limits: nothing stalls -------------------------------------------------------------------

def test_a_page_over_its_time_limit_is_refused(engine: TesseractEngine) -> None:
    data, _ = scans.scan(SPEC, random.Random(7))
    tight = LimitSettings(ocr_seconds_per_page=0.05)
    with pytest.raises(BadDocument, match="longer than 0.05 s"):
        read(data, "lento.pdf", engine, tight)


def stalling_page(job: PageJob) -> PageResult:
    """A page reader that hangs (a decoder stuck in a loop, say)."""
    time.sleep(120)
    return PageResult(PageText(job.info.number, "", "ocr"))


def crashing_page(job: PageJob) -> PageResult:
    raise MemoryError("the decoder ran out of memory")


def test_a_stuck_worker_is_killed_and_the_engine_recovers() -> None:
    stuck = TesseractEngine(workers=1, page_reader=stalling_page, deadline_slack=1.0)
    data = scans.fax(SPEC, "tiffg4", "204x196") if ghostscript.available() else b""
    started = time.monotonic()
    try:
        with pytest.raises(BadDocument, match="did not finish within its time limit"):
            stuck.read_image(data, LimitSettings(ocr_seconds_per_page=0.5))
        assert time.monotonic() - started < 10
        assert stuck._pool is None  # killed; the next document gets fresh workers
        stuck.page_reader = crashing_page
        with pytest.raises(BadDocument, match="OCR failed .*MemoryError"):
            stuck.read_image(data, LIMITS)
    finally:
        stuck.close()


def test_over_limit_documents_are_refused_before_any_ocr(engine: TesseractEngine) -> None:
    pages_before = engine.stats.pages
    with pytest.raises(BadDocument, match="over the limit of 1000 pixels"):
        engine.read_image(scans.fax(SPEC, "tiffg4", "204x98"), LimitSettings(max_page_pixels=1000))
    assert engine.stats.pages == pages_before


# --- the real files of ../shared/corpus ------------------------------------------------------

def corpus(path: str) -> Path:
    full = CORPUS / path
    if not full.exists():
        pytest.skip(f"{path} not in the corpus")
    return full


def test_real_received_fax_is_read(engine: TesseractEngine) -> None:
    text = read(corpus("twelvemonkeys-tiff/g3aoe.tif").read_bytes(), "g3aoe.tif", engine)
    assert "minifax" in text.text.lower() and text.pages[0].confidence > 0.8


def test_ghostscript_fax_of_a_web_page_all_three_pages(engine: TesseractEngine) -> None:
    path = corpus("pillow-tiff/total-pages-zero.tif")
    text = read(path.read_bytes(), path.name, engine)
    assert len(text.pages) == 3 and all(len(p.text) > 200 for p in text.pages)


@pytest.mark.parametrize("path", [
    "pdfbox-ccitt/ccitt4-cib-test.pdf",  # fax-to-PDF: a CCITT G4 image in a PDF
    "pdfbox-ccitt/ccittg4multi.tif",
    "pdfbox-ccitt/ccittg3-garbage-padded-fields-bigendian.tif",
    "twelvemonkeys-tiff/G32DS.tif",  # G3 2D, FillOrder=2
    "twelvemonkeys-tiff/group3_2d_lsb2msb.tif",  # 6x4 pixels
    "twelvemonkeys-tiff/incorrect-compression-rle-as-g3.tif",
    "twelvemonkeys-tiff/ccitt-too-many-changes.tif",
    "pillow-tiff/g4-fillorder-test.tif",
    "pillow-tiff/g4_orientation_6.tif",
    "pillow-tiff/hopper_g4.tif",  # resolution in pixels per cm
    "pillow-tiff/crash-0da013a13571cc8eb457a39fee8db18f8a3c7127.tif",
    "invoice2data/FlipkartInvoice.png",  # RGBA
    "invoice2data/oyo.png",
])
def test_corpus_files_are_read_or_refused_with_a_reason(engine: TesseractEngine,
                                                        path: str) -> None:
    file = corpus(path)
    try:
        text = read(file.read_bytes(), file.name, engine)
    except BadDocument as exc:
        assert exc.reason.startswith("page ") and "unreadable" in exc.reason \
            or "damaged" in exc.reason
        return
    assert text.pages and all(0.0 <= p.confidence <= 1.0 for p in text.pages)


def test_orientation_tag_pages_read_the_same_text(engine: TesseractEngine) -> None:
    texts = {read(corpus(f"pillow-tiff/g4_orientation_{n}.tif").read_bytes(), "o.tif",
                  engine).text.strip() for n in (1, 3, 6, 8)}
    assert len(texts) == 1 and texts.pop()


# --- the command line ----------------------------------------------------------------------

CONTRACT_KEYS = {"file", "codes", "amount", "currency", "iban", "transfer_ref", "payment_date",
                 "payer", "method", "text_source", "error"}


@needs_gs
def test_extract_prints_the_contract_for_fax_scan_and_photo(tmp_path: Path) -> None:
    spec = replace(SPEC, style="intesa")
    files = {"fax.tif": scans.fax(spec, "tiffg32d", "204x98"),
             "scan.pdf": scans.scan(spec, random.Random(8))[0],
             "foto.jpg": scans.photo(spec, random.Random(9))[0],
             "broken.tif": b"II*\x00" + b"\x00" * 40,
             "bomba.png": _png_header_only(100_000, 100_000)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = run_subprocess("extract", *files, "--json", cwd=tmp_path, timeout=180)
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [line["file"] for line in lines] == list(files)
    for line in lines:
        assert set(line) >= CONTRACT_KEYS
    for line in lines[:3]:
        assert (line["codes"][:1], line["amount"], line["text_source"], line["error"]) == \
            (["RLM40712"], "121.78", "ocr", None)
        assert line["method"] == "bonifico"
    assert lines[3]["error"] and lines[3]["codes"] == []
    assert "over the limit of 60000000 pixels" in lines[4]["error"]


def test_fields_can_be_located_for_highlighting(engine: TesseractEngine) -> None:
    from intake.text import locate
    text = read(scans.fax(SPEC, "tiffg4", "204x196"), "fax.tif", engine)
    fields = extract_fields(text.text)
    iban_boxes = locate(text, fields.iban or "")
    assert len(iban_boxes) >= 6  # printed in groups of four
    middles = [(box.y0 + box.y1) / 2 for box in iban_boxes]
    assert max(middles) - min(middles) < 0.01  # all on one line
    assert locate(text, "RLM40712")[0].text.endswith("RLM40712")
    assert locate(text, "RLM99999") == []


@needs_gs
def test_a_standard_fax_wrapped_in_a_pdf_is_read(engine: TesseractEngine) -> None:
    """GIVEN the fax gateway's PDF: a 204x98 dpi G3 page drawn over a whole A4 page
    THEN the page is rendered with square pixels and read like the TIFF itself."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    fax = Image.open(io.BytesIO(scans.fax(replace(SPEC, style="bper"), "tiffg3", "204x98")))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawImage(ImageReader(fax.convert("L")), 0, 0, width=A4[0], height=A4[1])
    pdf.showPage()
    pdf.save()
    text = read(buffer.getvalue(), "fax.pdf", engine)
    fields = extract_fields(text.text)
    assert text.source == "ocr"
    assert (fields.codes[:1], fields.amount) == (["RLM40712"], Decimal("121.78"))
    assert fields.iban == SPEC.beneficiary_iban
