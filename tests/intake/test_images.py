"""Decoding and preparing pages for OCR (no Tesseract here): real Ghostscript faxes, real
third-party TIFFs, photos, and files crafted to break the limits."""
from __future__ import annotations

import io
import random
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import BadDocument
from intake.images import (
    estimate_skew,
    load_image_page,
    render_pdf_page,
    rotate_bound,
    survey_image,
    survey_pdf,
)
from tests.conftest import CORPUS
from tests.factories import ghostscript, scans
from tests.factories.receipts import ReceiptSpec

PIXELS = 60_000_000
needs_gs = pytest.mark.skipif(not ghostscript.available(), reason="ghostscript not installed")


def prepared(data: bytes, max_pages: int = 20, max_pixels: int = PIXELS):
    pages = survey_image(data, max_pages, max_pixels)
    return [load_image_page(data, info, max_pixels) for info in pages]


# --- faxes ---------------------------------------------------------------------------------

@needs_gs
@pytest.mark.parametrize("device", ghostscript.FAX_DEVICES)
@pytest.mark.parametrize("resolution,y_dpi", [("204x196", 196), ("204x98", 98)])
def test_fax_pages_are_rescaled_to_square_pixels(device: str, resolution: str,
                                                 y_dpi: int) -> None:
    data = scans.fax(ReceiptSpec(), device, resolution)
    info = survey_image(data, 20, PIXELS)[0]
    assert (info.kind, info.dpi, info.width) == ("fax", (204.0, float(y_dpi)), 1728)
    page = load_image_page(data, info, PIXELS)
    assert page.image.mode == "L" and page.dpi == 204
    # an A4 page at 204 dpi square is about 2386 rows, whatever the fax's vertical resolution
    assert 2200 < page.image.height < 2450


@needs_gs
def test_every_page_of_a_multi_page_fax_is_found() -> None:
    from tests.factories.receipts import receipt_pdf
    two_pages = _two_page_pdf(receipt_pdf(ReceiptSpec()))
    data = ghostscript.pdf_to_fax(two_pages, "tiffg4", "204x98")
    assert [p.number for p in survey_image(data, 20, PIXELS)] == [1, 2]
    with pytest.raises(BadDocument, match="2 pages is over the limit of 1"):
        survey_image(data, 1, PIXELS)


def _two_page_pdf(page_pdf: bytes) -> bytes:
    import pypdfium2 as pdfium
    target = pdfium.PdfDocument.new()
    source = pdfium.PdfDocument(page_pdf)
    target.import_pages(source)
    target.import_pages(source)
    buffer = io.BytesIO()
    target.save(buffer)
    return buffer.getvalue()


# --- limits: refused before decoding -----------------------------------------------------------

def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size but carries a few bytes of data: a decompression bomb's
    header (decoding would allocate width x height bytes)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + \
        chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _tiff_header_only(width: int, height: int) -> bytes:
    """A bilevel TIFF whose IFD claims ``width`` x ``height`` pixels, with no real strip."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 1), (259, 3, 1, 4),
               (262, 3, 1, 0), (273, 4, 1, 8), (278, 4, 1, height), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries)
    return b"II*\x00" + struct.pack("<I", 24) + b"\x00" * 16 + ifd + b"\x00\x00\x00\x00"


@pytest.mark.parametrize("data", [_png_header_only(100_000, 100_000),
                                  _tiff_header_only(200_000, 200_000),
                                  _png_header_only(9000, 9000)],
                         ids=["png-10Gpx", "tiff-40Gpx", "png-81Mpx"])
def test_decompression_bombs_are_refused_from_their_header(data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(BadDocument, match="pixel"):
        survey_image(data, 20, PIXELS)
    assert time.perf_counter() - started < 1.0  # nothing was decoded


def test_pixel_limit_applies_to_a_real_image() -> None:
    buffer = io.BytesIO()
    Image.new("L", (2000, 2000), 255).save(buffer, "PNG")
    assert survey_image(buffer.getvalue(), 20, 4_000_000)
    with pytest.raises(BadDocument, match="over the limit of 1000000 pixels"):
        survey_image(buffer.getvalue(), 20, 1_000_000)


def test_a_pdf_page_too_large_to_render_is_refused() -> None:
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    poster = canvas.Canvas(buffer, pagesize=(14000, 14000))
    poster.drawString(100, 100, "RLM12345")
    poster.showPage()
    poster.save()
    with pytest.raises(BadDocument, match="too large to render"):
        survey_pdf(buffer.getvalue(), 20, PIXELS)


def test_too_many_pdf_pages_are_refused() -> None:
    from tests.factories.receipts import receipt_pdf
    with pytest.raises(BadDocument, match="2 pages is over the limit of 1"):
        survey_pdf(_two_page_pdf(receipt_pdf(ReceiptSpec())), 1, PIXELS)


@pytest.mark.parametrize("data,reason", [
    (b"II*\x00garbage", "corrupt image|not a readable image"),
    (b"not an image at all", "not a readable image"),
    (b"%PDF-1.4 nothing else", "corrupt or encrypted PDF"),
])
def test_garbage_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BadDocument, match=reason):
        if data.startswith(b"%PDF"):
            survey_pdf(data, 20, PIXELS)
        else:
            prepared(data)


def test_truncated_pixel_data_is_refused_when_decoding() -> None:
    buffer = io.BytesIO()
    scans.rasterise(scans.document_pdf(ReceiptSpec()), 100).save(buffer, "JPEG")
    with pytest.raises(BadDocument, match="page 1"):
        prepared(buffer.getvalue()[: len(buffer.getvalue()) // 2])


# --- straightening -----------------------------------------------------------------------

@pytest.mark.parametrize("angle", [-4.0, -1.5, 2.5, 7.0])
def test_skew_is_measured_and_levelled(angle: float) -> None:
    page = scans.rasterise(scans.document_pdf(ReceiptSpec()), 150)
    pixels = np.asarray(page.rotate(angle, expand=True, fillcolor=255))
    correction = estimate_skew(pixels)
    assert correction == pytest.approx(-angle, abs=0.3)
    assert abs(estimate_skew(rotate_bound(pixels, correction))) < 0.3


def test_exif_orientation_is_applied() -> None:
    page = scans.rasterise(scans.document_pdf(ReceiptSpec()), 100)  # portrait
    stored = page.rotate(90, expand=True)  # landscape, as the camera stored it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    buffer = io.BytesIO()
    stored.convert("RGB").save(buffer, "JPEG", exif=exif.tobytes())
    [upright] = prepared(buffer.getvalue())
    assert upright.image.height > upright.image.width
    assert upright.rotated == 90


def test_a_photographed_sheet_is_cropped_and_its_perspective_undone() -> None:
    data, _ = scans.photo(ReceiptSpec(), random.Random(3))
    original = Image.open(io.BytesIO(data)).size
    [page] = prepared(data)
    width, height = page.image.size
    assert height / width == pytest.approx(297 / 210, abs=0.08)  # an A4 sheet again
    assert width < original[0] * 0.95  # the desk around it is gone


def test_a_scanned_pdf_page_is_rendered_at_its_own_resolution() -> None:
    data, _ = scans.scan(ReceiptSpec(), random.Random(1), dpi=200, angle=0.0)
    [info] = survey_pdf(data, 20, PIXELS)
    assert info.dpi == (200.0, 200.0)
    page = render_pdf_page(data, info)
    assert page.dpi == 200 and page.image.mode == "L"


def test_low_resolution_images_are_upscaled_for_ocr() -> None:
    buffer = io.BytesIO()
    Image.new("L", (800, 1100), 255).save(buffer, "PNG", dpi=(96, 96))
    [page] = prepared(buffer.getvalue())
    assert page.dpi == 288 and page.image.width == 2400


# --- the real files of ../shared/corpus -----------------------------------------------------

CORPUS_FOLDERS = ("pillow-tiff", "twelvemonkeys-tiff", "pdfbox-ccitt", "invoice2data")


def corpus_images() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(path for folder in CORPUS_FOLDERS if (CORPUS / folder).is_dir()
                  for path in (CORPUS / folder).iterdir()
                  if path.suffix.lower() in (".tif", ".tiff", ".png", ".jpg", ".pdf"))


@pytest.mark.skipif(not corpus_images(), reason="../shared/corpus not present")
@pytest.mark.parametrize("path", corpus_images(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_image_decodes_or_is_refused_with_a_reason(path: Path) -> None:
    data = path.read_bytes()
    try:
        if path.suffix.lower() == ".pdf":
            pages = [render_pdf_page(data, info) for info in survey_pdf(data, 20, PIXELS)]
        else:
            pages = prepared(data)
    except BadDocument as exc:
        assert exc.reason and len(exc.reason) < 300
        return
    assert pages and all(p.image.mode == "L" and min(p.image.size) >= 1 for p in pages)


@pytest.mark.skipif(not (CORPUS / "twelvemonkeys-tiff").is_dir(), reason="corpus not present")
def test_real_received_fax_and_fill_order_2_decode_to_a_page() -> None:
    [fax] = prepared((CORPUS / "twelvemonkeys-tiff" / "g3aoe.tif").read_bytes())
    assert fax.kind == "fax" and fax.dpi == 204
    [kofax] = prepared((CORPUS / "twelvemonkeys-tiff" / "G32DS.tif").read_bytes())
    ink = (np.asarray(kofax.image) < 128).mean()
    assert 0.005 < ink < 0.3  # LSB-first bits decoded as a page, not as noise
    pages = prepared((CORPUS / "pillow-tiff" / "total-pages-zero.tif").read_bytes())
    assert len(pages) == 3


# --- damaged files: every byte flip ends in a page or a reason --------------------------------

@needs_gs
def test_damaged_fax_files_decode_or_are_refused() -> None:
    original = bytearray(scans.fax(ReceiptSpec(), "tiffg32d", "204x98"))
    rng = random.Random(11)
    for _ in range(25):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 20)):
            # mostly the header and IFD (at either end of Ghostscript's files), some data
            at = rng.choice([rng.randrange(0, 64), rng.randrange(len(damaged) - 400,
                                                                 len(damaged)),
                             rng.randrange(len(damaged))])
            damaged[at] = rng.randrange(256)
        try:
            pages = prepared(bytes(damaged))
        except BadDocument as exc:
            assert exc.reason
            continue
        assert all(p.image.mode == "L" for p in pages)
