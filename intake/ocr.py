"""Tesseract OCR in worker processes: the ``OcrEngine`` of ``intake.text``.

The calling process only surveys headers (``intake.images``: page count and pixel limits,
refused before any decoding). Each page is then decoded, prepared and read in a pool of worker
processes, one per core, so both cores work and a page that stalls can be killed: Tesseract
itself is stopped by pytesseract's timeout, and the whole pool is terminated (and built anew)
when a page overruns its deadline anyway.

Tesseract runs with OMP_THREAD_LIMIT=1: Debian's build burns about 5x the CPU with its own
threads for the same result; parallel pages use the cores instead.
"""
from __future__ import annotations

import atexit
import glob
import logging
import multiprocessing
import os
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class PageJob:
    data: bytes
    info: PageInfo
    max_pixels: int
    seconds: float


@dataclass
class PageResult:
    page: PageText
    seconds: float = 0.0  # the worker's CPU time for the page
    tesseract_seconds: float = 0.0  # Tesseract's CPU time (child processes) within it
    worker_peak_mb: float = 0.0  # peak resident memory of the worker so far
    tesseract_peak_mb: float = 0.0  # of the largest Tesseract it has run


@dataclass
class OcrStats:
    """Accumulated timings, for the benchmark: how much of the work is Tesseract's own."""

    pages: int = 0
    worker_seconds: float = 0.0
    tesseract_seconds: float = 0.0
    worker_peak_mb: float = 0.0
    tesseract_peak_mb: float = 0.0


# --- the worker side ------------------------------------------------------------------------

def ocr_page(job: PageJob) -> PageResult:
    """Decode, prepare and read one page (runs in a worker process)."""
    cpu0, child0 = time.process_time(), _children_cpu()
    if job.info.kind == "pdf":
        prepared = render_pdf_page(job.data, job.info)
    else:
        prepared = load_image_page(job.data, job.info, job.max_pixels)
    page = read_prepared(prepared, job.seconds)
    return PageResult(page, time.process_time() - cpu0 + _children_cpu() - child0,
                      _children_cpu() - child0,
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_prepared(prepared: PreparedPage, seconds: float) -> PageText:
    """Tesseract on a prepared page; if the reading is poor, OSD decides whether the page is
    turned and, if so, the turned page is read again and the better reading kept."""
    image = prepared.image
    if min(image.size) < 16:
        # too small to hold a line of text (Tesseract refuses to scale it): an empty page
        return PageText(prepared.number, "", "ocr", [], 0.0)
    page = _tesseract(image, prepared, seconds)
    if page.confidence * 100 >= OSD_BELOW and len(page.words) >= 5:
        return page
    turn = _osd_rotation(image, prepared.dpi, seconds)
    if not turn:
        return page
    turned = _tesseract(image.rotate(-turn, expand=True), prepared, seconds)
    return turned if _quality(turned) > _quality(page) else page


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
    return page_from_data(data, prepared.number, image.size)


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
    return PageText(number, text, "ocr", words, confidence)


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


# --- the engine -----------------------------------------------------------------------------

class TesseractEngine:
    """Reads images and PDF pages with Tesseract in a pool of worker processes."""

    def __init__(self, workers: int | None = None,
                 page_reader: Callable[[PageJob], PageResult] = ocr_page,
                 deadline_slack: float = DEADLINE_SLACK) -> None:
        """``page_reader`` runs in the workers (tests hand in one that stalls or crashes);
        ``deadline_slack`` is what a page may take beyond its Tesseract time limit."""
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self.page_reader = page_reader
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

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    # internals
    def _read(self, data: bytes, infos: list[PageInfo], limits: LimitSettings
              ) -> list[PageText]:
        if not infos:
            return []
        seconds = limits.ocr_seconds_per_page
        jobs = [PageJob(data, info, limits.max_page_pixels, seconds) for info in infos]
        pool = self._ensure_pool()
        pending = [(job.info.number, pool.apply_async(self.page_reader, (job,)))
                   for job in jobs]
        rounds = -(-len(jobs) // self.workers)
        deadline = time.monotonic() + rounds * (seconds * 2 + self.deadline_slack)
        return [self._collect(number, result, deadline, seconds)
                for number, result in pending]

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
            context.set_forkserver_preload(["intake.images", "intake.ocr"])
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


def available_engine() -> TesseractEngine | None:
    """The shared engine, or None when the tesseract binary or its Italian data is missing."""
    global _ENGINE
    if _ENGINE is not None:
        return _ENGINE
    if shutil.which("tesseract") is None:
        log.warning("tesseract is not installed: images and scanned PDFs need OCR")
        return None
    if not _has_language(LANG):
        log.warning("tesseract has no '%s' language data (tesseract-ocr-ita)", LANG)
        return None
    _ENGINE = TesseractEngine()
    return _ENGINE
