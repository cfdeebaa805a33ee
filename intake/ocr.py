"""Tesseract OCR in worker processes: the ``OcrEngine`` of ``intake.text``.

The calling process only surveys headers (``intake.images``: page count and pixel limits,
refused before any decoding). Each page is then decoded, prepared and read in a pool of worker
processes, one per core, so both cores work and a page that stalls can be killed: Tesseract
itself is stopped by pytesseract's timeout, and the whole pool is terminated (and built anew)
when a page overruns its deadline anyway.

Tesseract runs with OMP_THREAD_LIMIT=1: Debian's build burns about 5x the CPU with its own
threads for the same result; parallel pages use the cores instead.

A second engine, PP-OCR (``rapidocr-onnxruntime``: its ONNX models ship inside the wheel, CPU
only, nothing downloaded), reads the same prepared page in the same worker, with one
ONNX Runtime thread, when the engine's policy says so: ``always``, or ``doubtful`` (only where
Tesseract's reading lacks a code or an amount or fails a check, ``intake.confidence.doubts``),
or ``off``. Its reading is kept beside Tesseract's (``PageText.alternate``); the fields of the
two are combined per field by ``intake.confidence``. ``TesseractEngine.second_opinion`` reads
a document with PP-OCR alone, for the pipeline's own doubts (a code naming no pending order).
"""
from __future__ import annotations

import atexit
import glob
import logging
import multiprocessing
import os
import re
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool

from config.settings import LimitSettings
from core.errors import BadDocument
from intake.images import (
    PageInfo,
    PreparedPage,
    load_image_page,
    render_pdf_page,
    survey_image,
    survey_pdf,
)
from intake.text import PageText, WordBox

log = logging.getLogger(__name__)

LANG = "ita"
# Below this mean word confidence (0..100) a page may be sideways or upside down: ask OSD.
OSD_BELOW = 70.0
# OSD's own confidence under which its answer is ignored.
OSD_MIN_CONFIDENCE = 1.5
# Extra seconds a worker may take beyond the Tesseract time limit (decode, prepare, OSD).
DEADLINE_SLACK = 15.0


# Second-engine policies
ALWAYS, DOUBTFUL, OFF, ONLY = "always", "doubtful", "off", "only"
SECOND_POLICIES = (ALWAYS, DOUBTFUL, OFF)
# PP-OCR's text detector runs on the page shrunk to this longest side, and the recogniser on
# line crops of the page at this longest side. Measured on A4 faxes, scans and photos: the
# detector's memory grows with the area (a 2000-pixel page costs it over 500 MB), while codes
# and amounts read the same at 800/1600 as at full size, at about 1 s of CPU a page.
PPOCR_DET_SIDE = 800
PPOCR_REC_SIDE = 1600
# A phone screenshot (a page over 1.8 times as tall as wide) has a third of an A4 page's
# area at the same longest side, and its large amount display (big figures, small decimals)
# is only detected from about 1400 px: it gets that.
PPOCR_DET_SIDE_TALL = 1400
# The detector sees at most this many pixels at once (strips of the page, intake.ocr._detect)
# overlapping by this much: its memory follows the area it sees.
DET_TILE_PIXELS = 340000
PPOCR_REC_BATCH = 1  # line crops a recogniser run reads at once
DET_OVERLAP = 96
TALL = 1.8
# Text at least this many times the page's median line height, with figures in it, is a
# display figure (an app's amount): its band is detected and read again on its own.
DISPLAY_HEIGHT = 1.8
DISPLAY_PAD = 0.3  # of the figure's height, above and below, in the band read again
DISPLAY_BANDS = 3  # at most this many bands a page (they cost a detection each)
DISPLAY_SCALES = (1.0, 0.6)  # a band is read at these scales of the recogniser's page
DISPLAY_TESSERACT_HEIGHT = 40.0  # Tesseract reads a display band with its figures this tall
# small decimals beside a large figure: ",17" or "17" (comma lost), maybe with the currency
SMALL_DECIMALS = re.compile(r"^[,.]?(\d{2})(\s*(?:€|EUR)?)$")
AMOUNT_LIKE = re.compile(r"\d[,.]\d{2}(?!\d)")
# a display figure's amount with the euro sign read as a letter after it
DISPLAY_EURO = re.compile(r"(\d[,.]\d{2})\s*[eEgc]$")
DISPLAY_POINT = re.compile(r"(\d)\.(\d{2})(?=\s*(?:€|$))")
# a large figure's last digit, and the raised comma misread as a mark after it
FIGURE_END = re.compile(r"\d[,.'’`\"”]?$")


@dataclass
class PageJob:
    data: bytes
    info: PageInfo
    max_pixels: int
    seconds: float
    second: str = OFF  # the second-engine policy for this page


@dataclass
class PageResult:
    page: PageText
    seconds: float = 0.0  # the worker's CPU time for the page
    tesseract_seconds: float = 0.0  # Tesseract's CPU time (child processes) within it
    worker_peak_mb: float = 0.0  # peak resident memory of the worker so far
    tesseract_peak_mb: float = 0.0  # of the largest Tesseract it has run
    ppocr_seconds: float = 0.0  # PP-OCR's CPU time (in the worker itself)
    prepare_seconds: float = 0.0  # decoding and preparing the page


@dataclass
class OcrStats:
    """Accumulated timings, for the benchmark: how much of the work is the engines' own."""

    pages: int = 0
    second_pages: int = 0  # pages PP-OCR read too
    worker_seconds: float = 0.0
    tesseract_seconds: float = 0.0
    ppocr_seconds: float = 0.0
    worker_peak_mb: float = 0.0
    tesseract_peak_mb: float = 0.0
    page_walls: list[float] = field(default_factory=list)  # wall seconds per page read


# --- the worker side ------------------------------------------------------------------------

def ocr_page(job: PageJob) -> PageResult:
    """Decode, prepare and read one page (runs in a worker process): Tesseract, and PP-OCR
    on the same upright page when the job's policy asks for it."""
    cpu0, child0 = time.process_time(), _children_cpu()
    if job.info.kind == "pdf":
        prepared = render_pdf_page(job.data, job.info)
    else:
        prepared = load_image_page(job.data, job.info, job.max_pixels)
    prepare_seconds = time.process_time() - cpu0
    ppocr_seconds = 0.0
    if job.second == ONLY:
        page = PageText(prepared.number, "", "ocr", [], 0.0)
        upright = prepared.image
    else:
        page, upright = read_prepared_upright(prepared, job.seconds)
    if job.second in (ALWAYS, ONLY) or (job.second == DOUBTFUL and _doubtful(page)):
        started = time.process_time()
        second = ppocr_read(upright, prepared.number)
        ppocr_seconds = time.process_time() - started
        if job.second == ONLY:
            page = second
        else:
            page.alternate = second
    return PageResult(page, time.process_time() - cpu0 + _children_cpu() - child0,
                      _children_cpu() - child0,
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      ppocr_seconds, prepare_seconds)


def _doubtful(page: PageText) -> bool:
    from intake.confidence import doubts
    return bool(doubts(page.text, page.confidence))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_prepared(prepared: PreparedPage, seconds: float) -> PageText:
    return read_prepared_upright(prepared, seconds)[0]


def read_prepared_upright(prepared: PreparedPage, seconds: float):  # noqa: ANN201
    """Tesseract on a prepared page; if the reading is poor, OSD decides whether the page is
    turned and, if so, the turned page is read again and the better reading kept. Returns
    the page and the image it was read from (upright as far as Tesseract knows)."""
    image = prepared.image
    if min(image.size) < 16:
        # too small to hold a line of text (Tesseract refuses to scale it): an empty page
        return PageText(prepared.number, "", "ocr", [], 0.0), image
    page = _tesseract(image, prepared, seconds)
    if page.confidence * 100 >= OSD_BELOW and len(page.words) >= 5:
        return page, image
    turn = _osd_rotation(image, prepared.dpi, seconds)
    if not turn:
        return page, image
    turned_image = image.rotate(-turn, expand=True)
    turned = _tesseract(turned_image, prepared, seconds)
    return (turned, turned_image) if _quality(turned) > _quality(page) else (page, image)


# --- the second engine: PP-OCR ----------------------------------------------------------------

_PPOCR = None


def _ppocr():  # noqa: ANN202 - rapidocr_onnxruntime.RapidOCR, built once per worker
    global _PPOCR
    if _PPOCR is None:
        from rapidocr_onnxruntime import RapidOCR
        # one intra-op thread: ONNX Runtime otherwise spins a thread per core in every
        # worker, and the workers already use the cores. One line crop a recogniser run:
        # a batch is padded to its widest crop, and measured on a fax page batches of 6
        # cost 2.5 s of CPU and 150 MB more than one crop at a time (1.0 s)
        _PPOCR = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1,
                          det_limit_type="max", use_cls=False, print_verbose=False,
                          rec_batch_num=PPOCR_REC_BATCH)
    return _PPOCR


def ppocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken install is the same as none
        return False
    return True


def _shrunk(image, side: int):  # noqa: ANN001, ANN202 - PIL.Image
    from PIL import Image
    scale = side / max(image.size)
    if scale >= 1:
        return image, 1.0
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    return image.resize(size, Image.Resampling.BOX), scale


def ppocr_read(image, number: int) -> PageText:  # noqa: ANN001 - PIL.Image, mode L
    """PP-OCR on one upright page: text lines detected on a reduced copy, recognised on crops
    of a larger one; lines rebuilt from the boxes' rows, words with their scores."""
    import numpy as np
    if min(image.size) < 16:
        return PageText(number, "", "ocr", [], 0.0)
    engine = _ppocr()
    rec_image, rec_scale = _shrunk(image, PPOCR_REC_SIDE)
    tall = image.size[1] > TALL * image.size[0]
    det_image, det_scale = _shrunk(image, PPOCR_DET_SIDE_TALL if tall else PPOCR_DET_SIDE)
    try:
        boxes = _detect(engine, np.asarray(det_image.convert("RGB")))
        if boxes is None or len(boxes) == 0:
            return PageText(number, "", "ocr", [], 0.0)
        boxes = (np.asarray(boxes, dtype=np.float32) * (rec_scale / det_scale))
        crops = engine.get_crop_img_list(np.asarray(rec_image.convert("RGB")), boxes)
        recognised, _elapsed = engine.text_rec(crops)
    finally:
        _trim_heap()
    width, height = rec_image.size
    found = [(box, text.strip(), float(score))
             for box, (text, score) in zip(boxes, recognised, strict=True)
             if text.strip() and score >= 0.5]
    try:
        found = _reread_display_lines(engine, rec_image, found)
    finally:
        _trim_heap()
    return _page_from_boxes(found, number, width, height)


def _detect(engine, pixels):  # noqa: ANN001, ANN202 - numpy arrays
    """PP-OCR's text boxes on a page, detected in horizontal strips of at most
    DET_TILE_PIXELS: the detector's memory grows with the area it sees at once (measured:
    about 200 MB more for a 582x800 page, 256 MB for a 646x1400 screenshot), and the worker
    must stay within its budget. Strips overlap by DET_OVERLAP pixels, more than a line of
    text is tall at the detector's scale; a box belongs to the strip whose own part (the
    strip less half the overlap at each inner edge) holds its centre, so a line cut at one
    strip's edge is whole in the next."""
    import numpy as np
    height, width = pixels.shape[:2]
    tile = max(2 * DET_OVERLAP, DET_TILE_PIXELS // max(width, 1))
    if height <= tile + DET_OVERLAP:
        boxes, _elapsed = engine.text_det(pixels)
        return boxes
    found = []
    top = 0
    while True:
        bottom = min(height, top + tile)
        boxes, _elapsed = engine.text_det(np.ascontiguousarray(pixels[top:bottom]))
        own_top = top + DET_OVERLAP / 2 if top > 0 else 0
        own_bottom = bottom - DET_OVERLAP / 2 if bottom < height else height
        for box in boxes if boxes is not None else []:
            centre = float(np.mean(box[:, 1])) + top
            if own_top <= centre < own_bottom:
                found.append(np.asarray(box, dtype=np.float32) + np.array([0.0, top],
                                                                          dtype=np.float32))
        if bottom >= height:
            break
        top = bottom - DET_OVERLAP
    _trim_heap()
    return np.asarray(found, dtype=np.float32) if found else None


def _reread_display_lines(engine, rec_image, found: list) -> list:  # noqa: ANN001
    """Figures printed much larger than the page's text (a banking app's amount, a slip's
    total) are detected badly on the whole page: the detector, tuned to body text, cuts the
    big glyphs apart or clips the sign ("1.6" for "-16"). Each band of such figures is
    detected and read again on its own, where they are the text, and its boxes replace
    the page's."""
    import numpy as np
    if len(found) < 3:
        return found
    heights = [float(box[:, 1].max() - box[:, 1].min()) for box, _text, _score in found]
    median = float(np.median(heights))
    bands: list[list[float]] = []
    for (box, text, _score), tall in zip(found, heights, strict=True):
        if tall >= DISPLAY_HEIGHT * median and any(ch.isdigit() for ch in text):
            pad = DISPLAY_PAD * tall
            bands.append([max(0.0, float(box[:, 1].min()) - pad),
                          min(float(rec_image.size[1]), float(box[:, 1].max()) + pad)])
    # a large figure the detector missed altogether ("-6" beside its ",10 €")
    bands += display_glyph_bands(np.asarray(rec_image), median)
    for top, bottom in _merged(bands)[:DISPLAY_BANDS]:
        band = rec_image.crop((0, int(top), rec_image.size[0], int(bottom)))
        # the detector splits big figures from their small decimals differently at each
        # scale: the reading with the most figures in it is the one that lost none, and
        # of those the one that read an amount, in the fewest pieces
        readings = [_read_band(engine, band, scale, top) for scale in DISPLAY_SCALES]
        again = max(readings, key=_figures_kept)
        if not any(ch.isdigit() for _box, text, _score in again for ch in text):
            continue
        found = [item for item in found
                 if not top <= float(item[0][:, 1].mean()) <= bottom] + again
    return found


def _figures_kept(found: list) -> tuple[int, int, int]:
    """How well a band's reading kept its figures: how many digits, how many of them read
    as an amount with its decimals ("6.10", not "6:10"), in how few pieces."""
    digits = [sum(ch.isdigit() for ch in text) for _box, text, _score in found]
    amounts = sum(len(AMOUNT_LIKE.findall(text)) for _box, text, _score in found)
    return sum(digits), amounts, -sum(1 for count in digits if count)


def _read_band(engine, band, scale: float, top: float) -> list:  # noqa: ANN001
    """PP-OCR's segments of a band of the page, read at ``scale``, in page coordinates."""
    import numpy as np
    from PIL import Image
    if scale != 1.0:
        band = band.resize((max(1, round(band.size[0] * scale)),
                            max(1, round(band.size[1] * scale))), Image.Resampling.BOX)
    pixels = np.asarray(band.convert("RGB"))
    boxes, _elapsed = engine.text_det(pixels)
    if boxes is None or len(boxes) == 0:
        return []
    boxes = np.asarray(boxes, dtype=np.float32)
    recognised, _elapsed = engine.text_rec(engine.get_crop_img_list(pixels, boxes))
    offset = np.array([0.0, int(top)], dtype=np.float32)
    return [(box / scale + offset, text.strip(), float(score))
            for box, (text, score) in zip(boxes, recognised, strict=True)
            if text.strip() and score >= 0.5]


def display_glyph_bands(pixels, line_height: float) -> list[list[float]]:  # noqa: ANN001
    """Vertical spans (padded) of glyphs far taller than the page's text lines: solid dark
    shapes about as wide as tall or narrower (a digit, a sign), not the thin outline of a
    button or a badge. ``pixels``: the grey page, dark text on light."""
    import cv2
    if line_height <= 0 or min(pixels.shape) < 16:
        return []
    _, ink = cv2.threshold(pixels, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _labels, stats, _centres = cv2.connectedComponentsWithStats(ink, connectivity=8)
    bands = []
    for _x, y, w, h, area in stats[1:count]:
        if h < DISPLAY_HEIGHT * line_height or h > 0.25 * pixels.shape[0]:
            continue
        if w > 1.2 * h or area < 0.2 * w * h:
            continue  # a rule, a frame, a button's outline
        pad = DISPLAY_PAD * h
        bands.append([max(0.0, y - pad), min(float(pixels.shape[0]), y + h + pad)])
    del _labels
    return bands if len(bands) <= 4 * DISPLAY_BANDS else []  # a page of big type: as it is


def _merged(spans: list[list[float]]) -> list[list[float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _page_from_boxes(found: list, number: int, width: int, height: int) -> PageText:
    """Text segments into lines: a segment joins the line whose vertical centre is within
    half its height; lines top to bottom, segments left to right."""
    items = []
    for box, text, score in found:
        xs, ys = box[:, 0], box[:, 1]
        items.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()),
                      text, score))
    items.sort(key=lambda item: (item[1] + item[3]) / 2)
    lines: list[list[tuple]] = []
    for item in items:
        if lines and _same_line(lines[-1], item):
            lines[-1].append(item)
            continue
        lines.append([item])
    words, texts = [], []
    weighted = total = 0.0
    median = sorted(item[3] - item[1] for item in items)[len(items) // 2] if items else 0.0
    for line in lines:
        line.sort(key=lambda item: item[0])
        tallest = max(item[3] - item[1] for item in line)
        texts.append(_line_text(line, display=tallest >= DISPLAY_HEIGHT * median))
        for x0, y0, x1, y1, text, score in line:
            words.append(WordBox(text, number, x0 / width, y0 / height, x1 / width,
                                 y1 / height, round(score, 3)))
            weighted += score * len(text)
            total += len(text)
    confidence = round(weighted / total, 3) if total else 0.0
    return PageText(number, "\n".join(texts), "ocr", words, confidence, engine="ppocr")


def _same_line(line: list[tuple], item: tuple) -> bool:
    """Whether a segment (x0, y0, x1, y1, ...) belongs to the line: its vertical centre is
    within half its height of the line's, or it is a small segment inside the span of a
    line at least half again as tall (the small decimals beside a large amount, raised or
    on the baseline)."""
    centre, tall = (item[1] + item[3]) / 2, item[3] - item[1]
    mean = sum((i[1] + i[3]) / 2 for i in line) / len(line)
    if abs(centre - mean) <= max(tall, 1.0) / 2:
        return True
    top, bottom = min(i[1] for i in line), max(i[3] for i in line)
    inside = min(bottom, item[3]) - max(top, item[1])
    return bottom - top >= 1.5 * tall and inside >= 0.8 * tall


def _line_text(line: list[tuple], display: bool = False) -> str:
    """A line's segments, left to right. Two small digits right after a figure at least
    a third taller, their top near its top, are its decimals however the app prints them
    (",17" raised beside "-16", "17" with the comma lost, or the comma read as a mark on
    the figure, "16'"): "-16,17". On a ``display`` line (much taller than the page's text)
    a letter after the amount is its euro sign."""
    parts: list[str] = []
    previous = None
    for item in line:
        text = item[4]
        if previous is not None and parts:
            cents = SMALL_DECIMALS.match(text)
            big = previous[3] - previous[1]
            figure = FIGURE_END.search(parts[-1])
            if cents and figure and (item[3] - item[1]) <= 0.75 * big \
                    and item[1] - previous[1] <= 0.35 * big and item[0] - previous[2] <= big:
                # a raised comma is often read as an apostrophe on the figure: drop it
                parts[-1] = parts[-1][:figure.start() + 1] + "," + cents.group(1) \
                    + cents.group(2)
                previous = item
                continue
        parts.append(text)
        previous = item
    text = " ".join(parts)
    if display:
        # the euro sign at display size is read as a letter: "-16.17e", "-6,10 e"
        text = DISPLAY_EURO.sub(r"\1 €", text)
        # and its decimal comma as a point: two figures after a point are never a
        # thousands group, so "16.17" is 16,17 whichever sign the reader prints
        text = DISPLAY_POINT.sub(r"\1,\2", text)
    return text


def _trim_heap() -> None:
    """ONNX Runtime frees its buffers, but glibc keeps the pages: give them back, so a
    worker's memory stays what one page needs."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except Exception:  # noqa: BLE001 - not glibc: nothing to trim
        pass


def _quality(page: PageText) -> float:
    return page.confidence * len(page.words)


def _tesseract(image, prepared: PreparedPage, seconds: float) -> PageText:  # noqa: ANN001
    import pytesseract
    try:
        with _as_pgm(image) as path:
            data = pytesseract.image_to_data(
                path, lang=LANG, config=f"--oem 1 --psm 3 --dpi {prepared.dpi}",
                timeout=seconds, output_type=pytesseract.Output.DICT)
    except RuntimeError as exc:  # pytesseract's timeout kills Tesseract and raises this
        raise BadDocument(f"page {prepared.number}: OCR took longer than {seconds:g} s "
                          f"({exc})") from None
    except pytesseract.TesseractError as exc:
        raise BadDocument(f"page {prepared.number}: Tesseract failed ({exc.message})") from None
    data = _with_display_lines(data, image, prepared, seconds)
    return page_from_data(data, prepared.number, image.size)


DATA_KEYS = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left",
             "top", "width", "height", "conf", "text")


def _with_display_lines(data: dict, image, prepared: PreparedPage,  # noqa: ANN001
                        seconds: float) -> dict:
    """Tesseract drops or misreads figures printed far larger than the page's text (a
    confirmation's "227,42 €" above its details): each band of such figures is read again
    on its own, shrunk to ordinary type, and its words replace the page's words there."""
    import numpy as np
    import pytesseract
    heights = [h for h, t, c in zip(data["height"], data["text"], data["conf"], strict=True)
               if (t or "").strip() and float(c) >= 0]
    if len(heights) < 5:
        return data
    line = float(np.median(heights))
    bands = _merged(display_glyph_bands(np.asarray(image), line))[:DISPLAY_BANDS]
    for top, bottom in bands:
        top, bottom = int(top), int(bottom)
        crop = image.crop((0, top, image.size[0], bottom))
        figures = max(1.0, (bottom - top) / (1 + 2 * DISPLAY_PAD))
        scale = min(1.0, DISPLAY_TESSERACT_HEIGHT / figures)
        if scale < 1.0:
            crop = crop.resize((max(1, round(crop.size[0] * scale)),
                                max(1, round(crop.size[1] * scale))), _lanczos())
        try:
            with _as_pgm(crop) as path:
                band = pytesseract.image_to_data(
                    path, lang=LANG, config=f"--oem 1 --psm 7 --dpi {prepared.dpi}",
                    timeout=seconds, output_type=pytesseract.Output.DICT)
        except (RuntimeError, pytesseract.TesseractError) as exc:
            log.debug("display band not read: %s", exc)
            continue
        words = [i for i, t in enumerate(band["text"]) if (t or "").strip()
                 and float(band["conf"][i]) >= 0]
        if not any(ch.isdigit() for i in words for ch in band["text"][i]):
            continue
        data = _replace_band(data, band, words, top, bottom, scale)
    return data


def _lanczos():  # noqa: ANN202
    from PIL import Image
    return Image.Resampling.LANCZOS


def _replace_band(data: dict, band: dict, words: list[int], top: int, bottom: int,
                  scale: float) -> dict:
    """``data`` without its words centred in [top, bottom), with ``band``'s words (read on
    the band shrunk by ``scale``) in their place, as a line of their own."""
    keep = [i for i in range(len(data["text"]))
            if not top <= data["top"][i] + data["height"][i] / 2 < bottom]
    at = next((n for n, i in enumerate(keep) if data["top"][i] >= top), len(keep))
    block = max(data["block_num"], default=0) + 1
    out: dict = {key: [data[key][i] for i in keep[:at]] for key in DATA_KEYS}
    for i in words:
        values = {"level": 5, "page_num": 1, "block_num": block, "par_num": 1, "line_num": 1,
                  "word_num": i + 1, "left": round(band["left"][i] / scale),
                  "top": top + round(band["top"][i] / scale),
                  "width": round(band["width"][i] / scale),
                  "height": round(band["height"][i] / scale),
                  "conf": band["conf"][i], "text": band["text"][i]}
        for key in DATA_KEYS:
            out[key].append(values[key])
    for key in DATA_KEYS:
        out[key] += [data[key][i] for i in keep[at:]]
    return out


def page_from_data(data: dict, number: int, size: tuple[int, int]) -> PageText:
    """Tesseract's TSV as a page: lines rebuilt from block/paragraph/line numbers, words kept
    with their boxes in page fractions."""
    width, height = size
    words: list[WordBox] = []
    lines: dict[tuple[int, int, int], list[str]] = {}
    weighted = total = 0.0
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        left, top = data["left"][i], data["top"][i]
        words.append(WordBox(text, number, left / width, top / height,
                             (left + data["width"][i]) / width,
                             (top + data["height"][i]) / height, round(conf / 100, 3)))
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(text)
        weighted += conf * len(text)
        total += len(text)
    text = "\n".join(" ".join(parts) for parts in lines.values())
    confidence = round(weighted / total / 100, 3) if total else 0.0
    return PageText(number, text, "ocr", words, confidence, engine="tesseract")


@contextmanager
def _as_pgm(image) -> Iterator[str]:  # noqa: ANN001 - PIL.Image
    """The page as an uncompressed PGM file for Tesseract: pytesseract would write a PNG,
    and compressing a noisy 300 dpi page costs about as much CPU as reading it."""
    handle, path = tempfile.mkstemp(prefix="pec-ocr-", suffix=".pgm")
    os.close(handle)
    try:
        image.save(path, "PPM")
        yield path
    finally:
        os.unlink(path)


def _osd_rotation(image, dpi: int, seconds: float) -> int:  # noqa: ANN001
    """Degrees (clockwise) the page must be turned to stand upright, per Tesseract OSD;
    0 when OSD is unsure or finds too little text."""
    import pytesseract
    try:
        with _as_pgm(image) as path:
            osd = pytesseract.image_to_osd(path, config=f"--psm 0 --dpi {dpi}",
                                           timeout=seconds, output_type=pytesseract.Output.DICT)
    except (pytesseract.TesseractError, RuntimeError) as exc:
        log.debug("OSD gave no answer: %s", exc)
        return 0
    if float(osd.get("orientation_conf", 0)) < OSD_MIN_CONFIDENCE:
        return 0
    return int(osd.get("rotate", 0)) % 360


def _init_worker() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"


# --- the engine -----------------------------------------------------------------------------

class TesseractEngine:
    """Reads images and PDF pages with Tesseract in a pool of worker processes."""

    def __init__(self, workers: int | None = None,
                 page_reader: Callable[[PageJob], PageResult] = ocr_page,
                 deadline_slack: float = DEADLINE_SLACK, second: str = ALWAYS) -> None:
        """``page_reader`` runs in the workers (tests hand in one that stalls or crashes);
        ``deadline_slack`` is what a page may take beyond its Tesseract time limit;
        ``second`` the PP-OCR policy (``always``, ``doubtful``, ``off``)."""
        if second not in SECOND_POLICIES:
            raise ValueError(f"second engine policy {second!r}: one of {SECOND_POLICIES}")
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self.page_reader = page_reader
        self.second = second if second == OFF or ppocr_available() else OFF
        self.deadline_slack = deadline_slack
        self.stats = OcrStats()
        self._pool: Pool | None = None
        self._lock = threading.Lock()
        self._exit_hook = False

    # OcrEngine
    def read_image(self, data: bytes, limits: LimitSettings) -> list[PageText]:
        infos = _surveyed(survey_image, data, limits)
        return self._read(data, infos, limits)

    def read_pdf_pages(self, data: bytes, pages: list[int],
                       limits: LimitSettings) -> list[PageText]:
        infos = _surveyed(survey_pdf, data, limits)
        wanted = set(pages)
        return self._read(data, [i for i in infos if i.number in wanted], limits)

    def second_opinion(self, data: bytes, kind: str, pages: list[int] | None,
                       limits: LimitSettings) -> list[PageText]:
        """PP-OCR's reading alone of an image (``kind`` "image") or of PDF pages (``kind``
        "pdf"): the hook for doubts found later (a code that names no pending order)."""
        if self.second == OFF:
            return []
        if kind == "pdf":
            infos = _surveyed(survey_pdf, data, limits)
            if pages is not None:
                infos = [i for i in infos if i.number in set(pages)]
        else:
            infos = _surveyed(survey_image, data, limits)
        return self._read(data, infos, limits, ONLY)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    # internals
    def _read(self, data: bytes, infos: list[PageInfo], limits: LimitSettings,
              second: str | None = None) -> list[PageText]:
        if not infos:
            return []
        seconds = limits.ocr_seconds_per_page
        policy = self.second if second is None else second
        jobs = [PageJob(data, info, limits.max_page_pixels, seconds, policy) for info in infos]
        pool = self._ensure_pool()
        started = time.perf_counter()
        pending = [(job.info.number, pool.apply_async(self.page_reader, (job,)))
                   for job in jobs]
        rounds = -(-len(jobs) // self.workers)
        # both engines share the page's time: PP-OCR takes about as long as Tesseract
        per_page = seconds * (2 if policy == OFF else 3) + self.deadline_slack
        deadline = time.monotonic() + rounds * per_page
        pages = [self._collect(number, result, deadline, seconds)
                 for number, result in pending]
        wall = (time.perf_counter() - started) / len(pages)
        self.stats.page_walls.extend([wall] * len(pages))
        return pages

    def _collect(self, number: int, result: AsyncResult, deadline: float,
                 seconds: float) -> PageText:
        try:
            outcome: PageResult = result.get(timeout=max(0.0, deadline - time.monotonic()))
        except multiprocessing.TimeoutError:
            log.warning("OCR of page %d overran its deadline: killing the OCR workers", number)
            self.close()  # the stuck worker dies with the pool; the next call builds a new one
            raise BadDocument(f"page {number}: OCR did not finish within its time limit "
                              f"({seconds:g} s a page)") from None
        except BadDocument:
            raise
        except Exception as exc:
            # a worker crashed on this page: a bug or a pathological image; not the daemon's end
            log.exception("OCR of page %d failed", number)
            raise BadDocument(f"page {number}: OCR failed ({type(exc).__name__}: {exc})") \
                from None
        self.stats.pages += 1
        self.stats.worker_seconds += outcome.seconds
        self.stats.tesseract_seconds += outcome.tesseract_seconds
        self.stats.ppocr_seconds += outcome.ppocr_seconds
        self.stats.second_pages += outcome.ppocr_seconds > 0
        self.stats.worker_peak_mb = max(self.stats.worker_peak_mb, outcome.worker_peak_mb)
        self.stats.tesseract_peak_mb = max(self.stats.tesseract_peak_mb,
                                           outcome.tesseract_peak_mb)
        return outcome.page

    def _ensure_pool(self) -> Pool:
        with self._lock:
            return self._start_pool()

    def _start_pool(self) -> Pool:
        if self._pool is None:
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            # forkserver: workers are forked from a clean single-threaded server, never from
            # the daemon with its scheduler and IMAP threads
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["intake.images", "intake.ocr",
                                            "intake.confidence"])
            self._pool = context.Pool(self.workers, initializer=_init_worker,
                                      maxtasksperchild=200)
            if not self._exit_hook:
                atexit.register(self.close)
                self._exit_hook = True
        return self._pool


def _surveyed(survey: Callable[[bytes, int, int], list[PageInfo]], data: bytes,
              limits: LimitSettings) -> list[PageInfo]:
    """Header parsing runs in the daemon's own process: whatever a crafted header makes it
    raise is a bad document, not a crash."""
    try:
        return survey(data, limits.max_pages, limits.max_page_pixels)
    except BadDocument:
        raise
    except Exception as exc:
        log.exception("unexpected error reading a document's headers")
        raise BadDocument(f"unreadable document ({type(exc).__name__}: {exc})") from None


_ENGINE: TesseractEngine | None = None
_TESSDATA = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata",
             "/usr/local/share/tessdata", "/usr/local/share/tesseract-ocr/*/tessdata")


def _has_language(lang: str) -> bool:
    """Whether Tesseract has ``lang``: its data file where Debian and source builds put it
    (a glob: every start of ``poll --once`` pays for this), else ask Tesseract itself."""
    prefix = os.environ.get("TESSDATA_PREFIX")
    folders = [prefix, os.path.join(prefix, "tessdata")] if prefix else []
    found = [path for folder in folders + list(_TESSDATA)
             for path in glob.glob(os.path.join(folder, f"{lang}.traineddata"))]
    if found:
        return True
    try:
        import pytesseract
        return lang in pytesseract.get_languages(config="")
    except Exception as exc:  # noqa: BLE001 - a broken install is the same as none
        log.warning("tesseract does not run: %s", exc)
        return False


def available_engine(second: str | None = None) -> TesseractEngine | None:
    """The shared engine, or None when the tesseract binary or its Italian data is missing;
    ``second`` sets its PP-OCR policy (kept off when rapidocr-onnxruntime is missing)."""
    global _ENGINE
    if _ENGINE is not None:
        if second is not None:
            _ENGINE.second = second if second == OFF or ppocr_available() else OFF
        return _ENGINE
    if shutil.which("tesseract") is None:
        log.warning("tesseract is not installed: images and scanned PDFs need OCR")
        return None
    if not _has_language(LANG):
        log.warning("tesseract has no '%s' language data (tesseract-ocr-ita)", LANG)
        return None
    _ENGINE = TesseractEngine(second=second or ALWAYS)
    return _ENGINE
