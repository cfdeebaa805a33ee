"""Page images of a receipt's documents, rendered from the kept original and cached.

The original message is parsed again (``intake.message``), the document found by its hash,
and each page rendered once: PDFs with pypdfium2, TIFF / JPEG / PNG (faxes, scans, photos)
with Pillow, as PNG files under the cache folder, keyed by the document's hash. A manifest
per document keeps the page count and the word boxes of the fields read (from the text
layer, ``intake.text.locate``), so the receipt page reads one small file, not the PDF.
"""
from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from intake.message import Document, parse_incoming
from intake.sources.base import IncomingMessage
from intake.text import DocumentText, locate, read_document
from store.models import DocumentRow, ExtractionRow, MessageRow
from store.originals import OriginalStore

log = logging.getLogger("pec_intake.review")

RENDERABLE = ("pdf", "tiff", "jpeg", "png", "gif", "bmp", "webp")
RENDER_DPI = 110          # a readable A4 page, about 910x1290 px
MAX_SIDE = 2000           # a phone photo is scaled down to this
MAX_RENDER_PAGES = 20
MAX_OCR_HIGHLIGHT_PAGES = 3  # OCR is run again, once, to find the boxes of a short scan
VERSION = 1               # bump when rendering changes: old cache files are ignored


@dataclass(frozen=True)
class Highlight:
    field: str
    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Manifest:
    pages: int
    highlights: list[Highlight]
    error: str | None = None


def cache_dir(settings: Settings) -> Path:
    return settings.originals_dir.parent / "review-cache"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def original_document(settings: Settings, receipt: MessageRow, doc: DocumentRow) -> Document:
    """The document's bytes, from the kept original of its message."""
    raw = OriginalStore(settings.originals_dir).get(receipt.sha256)
    metadata = receipt.metadata_json or {}
    ref = (receipt.source_ref or receipt.filename or "").lower()
    is_mail = "uidvalidity" in metadata or ref.endswith((".eml", ".msg")) or \
        raw[:200].lstrip().lower().startswith((b"received:", b"from:", b"return-path:",
                                               b"mime-version:", b"message-id:",
                                               b"delivered-to:", b"date:", b"subject:",
                                               b"to:", b"x-"))
    fax = any(s.name == receipt.source and s.fax_gateway for s in settings.sources)
    incoming = IncomingMessage(source=receipt.source, key=receipt.source_ref or "",
                               raw=raw, filename=receipt.filename, is_mail=is_mail,
                               fax_gateway=fax)
    parsed = parse_incoming(incoming, settings.limits)
    for candidate in _all_documents(parsed.documents):
        if candidate.sha256 == doc.sha256:
            return candidate
    raise LookupError(f"document {doc.id} not found in the original of receipt {receipt.id}")


def _all_documents(documents: list[Document]) -> list[Document]:
    return list(documents)


def manifest(settings: Settings, receipt: MessageRow, doc: DocumentRow,
             fields: ExtractionRow | None) -> Manifest:
    path = cache_dir(settings) / doc.sha256[:2] / f"{doc.sha256}.v{VERSION}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return Manifest(data["pages"], [Highlight(**h) for h in data["highlights"]],
                        data.get("error"))
    result = _build_manifest(settings, receipt, doc, fields)
    _atomic_write(path, json.dumps({"pages": result.pages, "error": result.error,
                                    "highlights": [h.__dict__ for h in result.highlights]})
                  .encode())
    return result


def _build_manifest(settings: Settings, receipt: MessageRow, doc: DocumentRow,
                    fields: ExtractionRow | None) -> Manifest:
    if doc.kind not in RENDERABLE:
        return Manifest(0, [])
    try:
        document = original_document(settings, receipt, doc)
        pages = _page_count(document)
    except Exception as exc:  # a document we cannot render is still reviewed from its text
        log.warning("receipt %s document %s: cannot render: %s", receipt.id, doc.id, exc)
        return Manifest(0, [], f"impossibile mostrare il documento: {exc}")
    highlights: list[Highlight] = []
    if fields is not None and doc.text_source in ("text_layer", "ocr"):
        try:
            highlights = _highlights(_words(settings, document, doc, pages), fields)
        except Exception as exc:  # highlighting is a help, never a reason to fail
            log.info("receipt %s document %s: no highlights: %s", receipt.id, doc.id, exc)
    return Manifest(min(pages, MAX_RENDER_PAGES), highlights)


def _words(settings: Settings, document: Document, doc: DocumentRow,
           pages: int) -> DocumentText:
    """The words with their boxes, as intake read them: the text layer, or OCR again (once:
    the manifest is cached) for a scan, fax or photo of a few pages."""
    if doc.text_source == "text_layer":
        return read_document(document, settings.limits, None)
    if pages > MAX_OCR_HIGHLIGHT_PAGES:
        return DocumentText([])
    from intake.text import default_ocr
    return read_document(document, settings.limits, default_ocr())


def _spellings(field: str, value: object) -> list[str]:
    if field == "amount":
        plain = f"{value:.2f}"
        italian = plain.replace(".", ",")
        whole, cents = italian.split(",")
        grouped = f"{int(whole):,}".replace(",", ".") + "," + cents
        return list(dict.fromkeys([grouped, italian, plain]))
    if field == "payment_date":
        return [value.strftime("%d/%m/%Y"), value.strftime("%d.%m.%Y"),  # type: ignore[attr-defined]
                value.strftime("%d-%m-%Y"), value.isoformat()]  # type: ignore[attr-defined]
    return [str(value)]


def _highlights(text: DocumentText, fields: ExtractionRow) -> list[Highlight]:
    values = [("code", c) for c in (fields.codes or [])[:3]]
    values += [(name, getattr(fields, name)) for name in
               ("amount", "iban", "transfer_ref", "payer", "payment_date")
               if getattr(fields, name) is not None]
    out = []
    for name, value in values:
        for spelling in _spellings(name, value):
            boxes = locate(text, spelling)
            if boxes:
                out.extend(Highlight(name, b.page, round(b.x0, 4), round(b.y0, 4),
                                     round(b.x1, 4), round(b.y1, 4)) for b in boxes)
                break
    return out


def _page_count(document: Document) -> int:
    if document.kind == "pdf":
        import pypdfium2 as pdfium
        pdf = pdfium.PdfDocument(document.data)
        try:
            return len(pdf)
        finally:
            pdf.close()
    from PIL import Image
    with Image.open(io.BytesIO(document.data)) as image:
        return getattr(image, "n_frames", 1)


def page_png(settings: Settings, receipt: MessageRow, doc: DocumentRow, page: int) -> Path:
    """The cached PNG of one page (1-based), rendered on first use."""
    path = cache_dir(settings) / doc.sha256[:2] / f"{doc.sha256}.p{page}.v{VERSION}.png"
    if path.exists():
        return path
    if not 1 <= page <= MAX_RENDER_PAGES:
        raise LookupError(f"page {page} out of range")
    document = original_document(settings, receipt, doc)
    _atomic_write(path, render_page(document, page))
    return path


def render_page(document: Document, page: int) -> bytes:
    from PIL import Image, ImageOps
    if document.kind == "pdf":
        import pypdfium2 as pdfium
        pdf = pdfium.PdfDocument(document.data)
        try:
            if page > len(pdf):
                raise LookupError(f"page {page} out of range")
            image = pdf[page - 1].render(scale=RENDER_DPI / 72).to_pil()
        finally:
            pdf.close()
    else:
        Image.MAX_IMAGE_PIXELS = 200_000_000
        with Image.open(io.BytesIO(document.data)) as source:
            if page > getattr(source, "n_frames", 1):
                raise LookupError(f"page {page} out of range")
            source.seek(page - 1)
            image = ImageOps.exif_transpose(source.copy())
            dpi = source.info.get("dpi")
        x_dpi, y_dpi = (float(dpi[0] or 0), float(dpi[1] or 0)) if dpi else (0.0, 0.0)
        if x_dpi and y_dpi and abs(x_dpi - y_dpi) > 1:
            # a standard fax (204x98 dpi) is shown with square pixels
            image = image.resize((image.width, round(image.height * x_dpi / y_dpi)))
    image = image.convert("L" if image.mode in ("1", "L", "LA", "I;16") else "RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()
