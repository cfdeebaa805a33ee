"""OCR accuracy and speed on a generated corpus: ``python -m benchmarks.ocr_bench [--n N]``.

For each kind of document (text PDF, scan, fine fax, standard fax, photo) it generates N
receipts with known ground truth (``tests/factories/scans.py``), reads them the way the
pipeline does (``intake.text.read_document`` with the Tesseract engine, then
``intake.fields.extract_fields``) and prints the exact-match accuracy of the order code, the
amount, the beneficiary IBAN and the reference, pages per second (wall clock, both cores),
peak memory, and the share of CPU time spent outside Tesseract itself.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from config.settings import LimitSettings
from intake.fields import extract_fields
from intake.message import Document
from intake.ocr import TesseractEngine, available_engine
from intake.text import DocumentText, read_document
from tests.factories.scans import KINDS, Sample, samples

TARGETS = {"text_pdf": 0.99, "scan": 0.97, "fax_fine": 0.97, "fax_standard": 0.93,
           "photo": 0.93, "screenshot": 0.97}
FIELDS = ("code", "amount", "iban", "ref")


@dataclass
class KindResult:
    kind: str
    docs: int = 0
    pages: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    wall: float = 0.0
    cpu_main: float = 0.0
    cpu_workers: float = 0.0
    cpu_tesseract: float = 0.0
    misses: list[str] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.docs if self.docs else 0.0

    def outside_share(self) -> float | None:
        total = self.cpu_main + self.cpu_workers
        return None if self.cpu_tesseract <= 0 else (total - self.cpu_tesseract) / total


def check(sample: Sample, text: str) -> dict[str, bool]:
    fields = extract_fields(text)
    return {
        "code": fields.codes[:1] == [sample.spec.codes[0]],
        "amount": fields.amount == sample.spec.amount,
        "iban": fields.iban == sample.expected_iban,
        "ref": fields.transfer_ref == sample.expected_ref,
    }


def run_kind(kind: str, samples: list[Sample], engine: TesseractEngine,
             limits: LimitSettings, concurrent: int = 1) -> KindResult:
    """Reads every sample; ``concurrent`` documents at a time (the daemon reads one message
    at a time: 1 measures that; 2 shows what both OCR workers can do)."""
    result = KindResult(kind)
    stats0 = (engine.stats.worker_seconds, engine.stats.tesseract_seconds)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    def read(sample: Sample) -> DocumentText:
        document = Document(filename=sample.name, content_type="", data=sample.data,
                            origin="file")
        return read_document(document, limits, engine)

    with ThreadPoolExecutor(concurrent) as executor:
        texts = list(executor.map(read, samples))
    for sample, text in zip(samples, texts, strict=True):
        outcome = check(sample, text.text)
        result.docs += 1
        result.pages += len(text.pages)
        for name, ok in outcome.items():
            result.right[name] += ok
        wrong = [name for name, ok in outcome.items() if not ok]
        if wrong:
            result.misses.append(f"{sample.name} ({sample.detail}): {', '.join(wrong)}")
    result.wall = time.perf_counter() - wall0
    result.cpu_main = time.process_time() - cpu0
    result.cpu_workers = engine.stats.worker_seconds - stats0[0]
    result.cpu_tesseract = engine.stats.tesseract_seconds - stats0[1]
    return result


def warm_up(engine: TesseractEngine, limits: LimitSettings) -> None:
    """Starts the worker pool (forkserver, imports) before any clock runs."""
    import io

    from PIL import Image, ImageDraw
    image = Image.new("L", (600, 120), 255)
    ImageDraw.Draw(image).text((10, 40), "RLM12345 10,89", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    for _ in range(engine.workers):
        engine.read_image(buffer.getvalue(), limits)
    engine.stats.pages = 0


def peak_mb() -> float:
    """Peak resident memory (MB) of this process (corpus generation included)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _target(r: KindResult) -> str:
    """The issue's target for codes and amounts, and whether this run meets it."""
    target = TARGETS.get(r.kind)
    if target is None:
        return f"{'-':>8}{'-':>5}"
    met = min(r.accuracy("code"), r.accuracy("amount")) >= target
    return f"{target:>8.0%}{'yes' if met else 'NO':>5}"


def table(results: list[KindResult]) -> str:
    head = (f"{'kind':<13}{'docs':>5}{'code':>8}{'amount':>8}{'iban':>8}{'ref':>8}"
            f"{'target':>8}{'met':>5}{'pages/s':>9}{'outside':>9}")
    rows = [head, "-" * len(head)]
    for r in results:
        share = r.outside_share()
        rows.append(
            f"{r.kind:<13}{r.docs:>5}" + "".join(f"{r.accuracy(n):>8.1%}" for n in FIELDS)
            + _target(r) + f"{r.pages / r.wall if r.wall else 0:>9.2f}"
            + (f"{share:>9.1%}" if share is not None else f"{'-':>9}"))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ocr_bench")
    parser.add_argument("--n", type=int, default=20, help="documents per kind (default 20)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=1,
                        help="documents read at the same time (default 1, as the daemon)")
    parser.add_argument("--misses", action="store_true", help="list every wrong document")
    args = parser.parse_args(argv)
    engine = available_engine()
    if engine is None:
        print("tesseract with Italian language data is not installed", file=sys.stderr)
        return 2
    limits = LimitSettings()
    warm_up(engine, limits)
    results = []
    for kind in args.kinds.split(","):
        corpus = samples(kind, args.n, args.seed)
        result = run_kind(kind, corpus, engine, limits, args.concurrent)
        results.append(result)
        print(f"{kind}: done in {result.wall:.1f} s", file=sys.stderr, flush=True)
    print(table(results))
    stats = engine.stats
    # a child's peak counts the worker's pages it was forked with: Tesseract's is an upper bound
    print(f"peak memory: main process {peak_mb():.0f} MB, each OCR worker "
          f"{stats.worker_peak_mb:.0f} MB, its Tesseract at most {stats.tesseract_peak_mb:.0f} MB")
    print("outside = CPU time not spent in Tesseract itself (decoding, rasterising, "
          "deskewing, field extraction, process overhead) / all CPU time")
    if args.misses:
        for r in results:
            for miss in r.misses:
                print(f"  miss {miss}")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
