"""From a ``Document`` to its text: the PDF text layer first, OCR only where a page has none.

OCR itself lives behind the ``OcrEngine`` protocol (``intake.ocr``), passed in, so extraction
of text-layer PDFs and email bodies needs no Tesseract and tests can hand in a real engine.
"""
from __future__ import annotations

import io
import logging
import re
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from config.settings import LimitSettings
from core.errors import BadDocument, NeedsOcr
from intake.message import Document

log = logging.getLogger(__name__)

IMAGE_KINDS = {"tiff", "jpeg", "png", "gif", "bmp", "webp"}
# A page whose text layer has fewer letters and digits than this is a scan with a stray
# header, not a text document.
MIN_USABLE_CHARS = 20


@dataclass(frozen=True)
class WordBox:
    """A word and where it was read, in page fractions (0..1, origin top-left)."""

    text: str
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float = 1.0


@dataclass
class PageText:
    number: int  # 1-based
    text: str
    source: str  # "text_layer" | "ocr" | "email_body"
    words: list[WordBox] = field(default_factory=list)
    confidence: float = 1.0
    engine: str = ""  # "tesseract" | "ppocr" for OCR pages
    # the second engine's reading of the same page, when it read it (intake.ocr)
    alternate: PageText | None = None


@dataclass
class DocumentText:
    pages: list[PageText]
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\f\n".join(p.text for p in self.pages)

    @property
    def alternate_text(self) -> str | None:
        """The second engine's text of the document (pages it did not read as they are),
        or None when it read no page."""
        if not any(p.alternate is not None for p in self.pages):
            return None
        return "\n\f\n".join((p.alternate or p).text for p in self.pages)

    @property
    def source(self) -> str:
        """The source of most of the text: what ``extract`` reports as ``text_source``."""
        sources = [p.source for p in self.pages if p.text.strip()] or \
            [p.source for p in self.pages]
        return max(set(sources), key=sources.count) if sources else "text_layer"


class OcrEngine(Protocol):
    def read_image(self, data: bytes, limits: LimitSettings) -> list[PageText]:
        """Every page of an image file (multi-page TIFF included)."""
        ...

    def read_pdf_pages(self, data: bytes, pages: list[int],
                       limits: LimitSettings) -> list[PageText]:
        """The given 1-based pages of a PDF, rasterised and read."""
        ...


def read_document(doc: Document, limits: LimitSettings,
                  ocr: OcrEngine | None = None) -> DocumentText:
    """Raises ``BadDocument`` (corrupt, encrypted, over a limit) or ``NeedsOcr``."""
    if not doc.data:
        raise BadDocument(f"{_name(doc)}: empty file (0 bytes)")
    if len(doc.data) > limits.max_attachment_bytes:
        raise BadDocument(f"{_name(doc)}: {len(doc.data)} bytes is over the limit of "
                          f"{limits.max_attachment_bytes} bytes")
    kind = doc.kind
    if doc.origin == "body" or kind in ("text", "html"):
        return _read_text(doc, kind)
    if kind == "pdf":
        return _read_pdf(doc, limits, ocr)
    if kind in IMAGE_KINDS:
        if ocr is None:
            raise NeedsOcr(f"{_name(doc)}: needs OCR (image, no text layer)")
        return DocumentText(ocr.read_image(doc.data, limits))
    raise BadDocument(f"{_name(doc)}: unsupported file type ({doc.content_type})")


def _name(doc: Document) -> str:
    return doc.filename or ("message body" if doc.origin == "body" else "document")


def _read_text(doc: Document, kind: str) -> DocumentText:
    from intake.htmltext import html_to_text
    text = doc.data.decode("utf-8", "replace")
    if kind == "html":
        text = html_to_text(text)
    source = "email_body" if doc.origin == "body" else "text_layer"
    return DocumentText([PageText(1, text, source)])


def usable(text: str) -> bool:
    return len(re.findall(r"[A-Za-z0-9]", text)) >= MIN_USABLE_CHARS


def _read_pdf(doc: Document, limits: LimitSettings, ocr: OcrEngine | None) -> DocumentText:
    check_pdf_streams(doc.data, limits.max_pdf_inflated_bytes, _name(doc))
    pages = _pdfium_text_layer(doc, limits) or _pdf_text_layer(doc, limits)
    missing = [p.number for p in pages if not usable(p.text)]
    if not missing:
        return DocumentText(pages)
    if ocr is None:
        if len(missing) == len(pages):
            raise NeedsOcr(f"{_name(doc)}: needs OCR (PDF without a text layer)")
        return DocumentText(pages, [f"pages {missing} need OCR"])
    read = {p.number: p for p in ocr.read_pdf_pages(doc.data, missing, limits)}
    return DocumentText([read.get(p.number, p) for p in pages])


def _pdf_text_layer(doc: Document, limits: LimitSettings) -> list[PageText]:
    """Every page's text layer. Whatever the PDF library raises on a hostile file (a
    MediaBox holding a name, a broken xref) is a corrupt PDF; its ``close`` is guarded so
    an error there never replaces ours."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    try:
        pdf = pdfplumber.open(io.BytesIO(doc.data))
    except Exception as exc:  # noqa: BLE001 - the library's errors are not one hierarchy
        # pdfplumber wraps pdfminer's errors: look inside for the password case
        if any(isinstance(e, PDFPasswordIncorrect) for e in (exc, *exc.args, exc.__context__)):
            raise BadDocument(f"{_name(doc)}: encrypted PDF (password protected)") from None
        raise BadDocument(f"{_name(doc)}: corrupt PDF ({_brief(exc)})") from None
    try:
        try:
            count = len(pdf.pages)
        except Exception as exc:  # noqa: BLE001
            raise BadDocument(f"{_name(doc)}: corrupt PDF ({_brief(exc)})") from None
        if count == 0:
            raise BadDocument(f"{_name(doc)}: PDF has no pages")
        if count > limits.max_pages:
            raise BadDocument(f"{_name(doc)}: {count} pages is over the limit of "
                              f"{limits.max_pages}")
        return [_pdf_page_text(page, number) for number, page in enumerate(pdf.pages, 1)]
    finally:
        try:
            pdf.close()
        except Exception:  # noqa: BLE001, S110 - closing a broken file may fail again
            pass


# --- the fast path: PDFium's text layer where the layout is plain -----------------------------

# a char this far above the previous line's bottom (in line heights) is on the same visual row
_ROW_OVERLAP = 0.35


def _pdfium_text_layer(doc: Document, limits: LimitSettings) -> list[PageText] | None:
    """Every page's text and word boxes from PDFium (C, about 1 ms a page) when the layout
    is plain: each text line below the one before and read left to right, so the lines are
    the ones pdfplumber's layout pass would group. None (pdfplumber decides) for anything
    else: two columns side by side, text out of reading order, a page without usable text,
    an encrypted or damaged file (pdfplumber's path names the problem)."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        return None
    try:
        pdf = pdfium.PdfDocument(doc.data)
    except Exception:  # noqa: BLE001 - encrypted, damaged: the slow path says which
        return None
    try:
        if not 0 < len(pdf) <= limits.max_pages:
            return None
        pages = []
        for index in range(len(pdf)):
            page = _pdfium_page(pdf, index)
            if page is None or not usable(page.text):
                return None
            pages.append(page)
        return pages
    except Exception:  # noqa: BLE001 - any surprise: the slow, careful path
        log.debug("%s: PDFium text layer not used", _name(doc), exc_info=True)
        return None
    finally:
        pdf.close()


def _pdfium_page(pdf, index: int) -> PageText | None:  # noqa: ANN001 - pypdfium2 objects
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        width, height = page.get_size()
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        if len(text) != count:
            return None  # characters outside the BMP: indexes no longer line up
        lines: list[list[tuple[str, tuple[float, float, float, float]]]] = [[]]
        for i, char in enumerate(text):
            if char in "\r\n":
                if char == "\n":
                    lines.append([])
                continue
            lines[-1].append((char, textpage.get_charbox(i)))
        words: list[WordBox] = []
        previous_bottom = None
        out_lines = []
        for line in lines:
            boxes = [box for char, box in line if not char.isspace()]
            if not boxes:
                continue
            top, bottom = max(b[3] for b in boxes), min(b[1] for b in boxes)
            lefts = [b[0] for b in boxes]
            if any(b < a - 0.5 for a, b in zip(lefts, lefts[1:])):
                return None  # read right to left somewhere: not plain reading order
            if previous_bottom is not None and \
                    top > previous_bottom + _ROW_OVERLAP * (top - bottom):
                return None  # beside or above the line before: columns
            previous_bottom = bottom
            out_lines.append("".join(char for char, _ in line).strip())
            words.extend(_words(line, index + 1, width, height))
        return PageText(index + 1, "\n".join(out_lines), "text_layer", words)
    finally:
        textpage.close()
        page.close()


def _words(line, number: int, width: float, height: float) -> list[WordBox]:  # noqa: ANN001
    """Word boxes from the characters' boxes (PDF points, origin bottom-left)."""
    out, current = [], []
    for char, box in [*line, (" ", None)]:
        if char.isspace():
            if current:
                text = "".join(c for c, _ in current)
                left = min(b[0] for _, b in current)
                right = max(b[2] for _, b in current)
                top = max(b[3] for _, b in current)
                bottom = min(b[1] for _, b in current)
                out.append(WordBox(text, number, left / width, 1 - top / height,
                                   right / width, 1 - bottom / height))
                current = []
            continue
        current.append((char, box))
    return out


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_STREAM = re.compile(rb"stream\r?\n")
_DICT_LOOKBACK = 2048


def check_pdf_streams(data: bytes, limit: int, name: str) -> None:
    """Refuses a PDF whose Flate streams (images aside: they are never decoded for text)
    inflate beyond ``limit`` bytes together, before the PDF library decodes any of them
    whole: a 12 KiB stream may inflate to gigabytes. Bounded work: each stream is inflated
    at most up to what the limit still allows."""
    total = 0
    for match in _STREAM.finditer(data):
        start = match.end()
        head = data[max(0, match.start() - _DICT_LOOKBACK):match.start()]
        stream_dict = head[head.rfind(b"<<"):] if b"<<" in head else b""
        if b"/Image" in stream_dict:
            continue
        if data[match.start() - 3:match.start()] == b"end":
            continue  # "endstream"
        end = data.find(b"endstream", start)
        pending = data[start:end if end > 0 else len(data)]
        inflater = zlib.decompressobj()
        try:
            while pending and total <= limit:  # 1 MiB at a time, counted and dropped
                out = inflater.decompress(pending, 1 << 20)
                total += len(out)
                pending = inflater.unconsumed_tail
                if not out:
                    break
        except zlib.error:
            continue  # not Flate, or damaged: the library decides
        if total > limit:
            raise BadDocument(f"{name}: PDF streams inflate beyond {limit} bytes "
                              "(limits.max_pdf_inflated_bytes)")


def _pdf_page_text(page, number: int) -> PageText:  # noqa: ANN001 - pdfplumber.Page
    try:
        text = page.extract_text() or ""
        width, height = float(page.width) or 1.0, float(page.height) or 1.0
        words = [WordBox(w["text"], number, w["x0"] / width, w["top"] / height,
                         w["x1"] / width, w["bottom"] / height)
                 for w in page.extract_words()]
    except Exception as exc:  # a broken content stream on one page
        log.warning("page %d: text layer unreadable: %s", number, exc)
        return PageText(number, "", "text_layer")
    return PageText(number, text, "text_layer", words)


def locate(text: DocumentText, value: str) -> list[WordBox]:
    """The boxes of the words that spell ``value`` (an extracted code, amount, IBAN, ...), so
    the review UI can highlight where a field was read. Spaces and case are ignored, since an
    IBAN is printed in groups and OCR splits words its own way; [] when not found."""
    wanted = re.sub(r"\s+", "", value).upper()
    if not wanted:
        return []
    for page in text.pages:
        words = page.words
        for start in range(len(words)):
            joined = ""
            for end in range(start, min(len(words), start + 12)):
                joined += re.sub(r"\s+", "", words[end].text).upper()
                if wanted in joined:
                    return _tightest(words[start:end + 1], wanted)
                if len(joined) > len(wanted) + 40:
                    break
    return []


def _tightest(words: list[WordBox], wanted: str) -> list[WordBox]:
    """Drops leading words (labels, the line above) that the value does not need."""
    def spelled(run: list[WordBox]) -> str:
        return "".join(re.sub(r"\s+", "", w.text).upper() for w in run)
    while len(words) > 1 and wanted in spelled(words[1:]):
        words = words[1:]
    return words


def default_ocr(second_engine: str | None = None) -> OcrEngine | None:
    """The Tesseract engine when it is installed, else None (documents then need OCR);
    ``second_engine`` sets its PP-OCR policy (``[ocr] second_engine``)."""
    try:
        from intake.ocr import available_engine
    except ImportError:
        return None
    return available_engine(second_engine)
