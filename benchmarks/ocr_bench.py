"""OCR accuracy, calibration and speed: ``python -m benchmarks.ocr_bench``.

Reads documents exactly as ``run.py extract --json`` does (``app.commands.extract_one`` with the
settings and OCR engine the CLI builds, one file at a time) and compares its JSON with each
document's ground truth. Three sets:

- ``factories``: the project's own generated receipts (``tests/factories/scans.py``); the
  readers were written against these;
- ``dev``: the held-out generator (``benchmarks/heldout``) with its DEVELOPMENT seed: tune on it;
- ``validation``: the same generator with its VALIDATION seed: report it, never tune on it
  (its misses are never listed: ``--misses`` skips it).

Per kind it prints the share of documents whose field is right:
- ``code``: the reported ``codes``, as a set, are exactly the true codes: every true code is
  there, nothing else is (a fragment such as ``RLM123`` beside ``RLM12345`` is wrong), so the
  first one is a true one; a document with no code must report ``[]``;
- ``amount``, ``iban``, ``date``: equal to the truth (null where the truth is null: a masked
  IBAN, a postal slip's or a cheque's, an email that names none, must give null);
- ``ref``: one of the references the document prints (null if it prints none);
- ``payer``: the same name, case and titles aside; ``mbox``: ``mailboxes`` equal to the true
  set (``n/a`` while the extract JSON has no ``mailboxes`` key);
- ``target``/``met``: the issue's target for codes and amount, and whether both meet it;
- ``conf>=.9``: of the values reported with a confidence of at least 0.9 (all six fields),
  the share right, and how many values that is; ``bad amt``: the wrong amounts reported at
  that confidence (``n/a`` while the JSON has no ``confidence`` object);
- ``pages/s`` (wall, all workers), ``med``/``p95``: wall seconds per image page (a document's
  wall time over its pages that need OCR); ``outside``: of the CPU time spent on documents that
  need OCR (the extract process and its OCR workers), the share outside the OCR engines.
Peak resident memory is printed per extract worker and per OCR worker.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from benchmarks.heldout import KINDS as HELDOUT_KINDS
from benchmarks.heldout import SEEDS, Truth

# the targets for codes and amount, per kind
TARGETS = {"text_pdf": 0.99, "email_body": 0.99, "scan": 0.97, "fax_fine": 0.97,
           "email_attachment": 0.97, "screenshot": 0.97, "fax_standard": 0.95, "photo": 0.95,
           "postal_slip": 0.95, "cheque": 0.95}
FIELDS = ("code", "amount", "iban", "ref", "date", "payer", "mbox")
# extract JSON's confidence keys -> the field they speak for
CONFIDENCE_KEYS = {"codes": "code", "amount": "amount", "iban": "iban", "transfer_ref": "ref",
                   "payment_date": "date", "payer": "payer"}
HIGH = 0.9
SETS = ("factories", "dev", "validation")
SEED_OF = {"dev": "development", "validation": "validation"}
TITLES = re.compile(r"\b(avv|dott|dott\.ssa|dr|geom|rag|ing|sig|sig\.ra|studio legale)\b\.?",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    """One document to read: its bytes, name and truth (kept in the main process)."""

    set: str
    kind: str
    name: str
    data: bytes
    truth: Truth
    detail: str
    image_pages: int
    pages: int


# --- the sets ----------------------------------------------------------------------------

def factories_items(kinds: list[str], n: int) -> list[Item]:
    from tests.factories.scans import samples
    items = []
    for kind in kinds:
        for sample in samples(kind, n, 5):
            spec = sample.spec
            ref = sample.expected_ref
            truth = Truth(codes=tuple(spec.codes), amount=f"{spec.amount:.2f}",
                          iban=sample.expected_iban, reference=ref, references=(ref,),
                          payment_date=spec.paid_on.isoformat(), payer=spec.payer,
                          method=spec.method)
            image = 0 if kind == "text_pdf" else 1
            items.append(Item("factories", kind, sample.name, sample.data, truth,
                              sample.detail, image, 1))
    return items


def _heldout_one(task: tuple[str, str, int, str]) -> Item:
    from benchmarks.heldout import make
    set_name, kind, index, seed = task
    doc = make(kind, index, seed)
    return Item(set_name, kind, doc.name, doc.data, doc.truth, doc.detail, doc.image_pages,
                doc.pages)


def heldout_items(set_name: str, kinds: list[str], n: int, workers: int,
                  seed: str | int | None = None) -> list[Item]:
    seed = SEED_OF[set_name] if seed is None else seed
    tasks = [(set_name, kind, i, seed) for kind in kinds for i in range(n)]
    if workers <= 1:
        return [_heldout_one(task) for task in tasks]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return pool.map(_heldout_one, tasks, chunksize=2)


# --- the extract workers -----------------------------------------------------------------

ENGINE_STATS = ("tesseract_seconds", "rapidocr_seconds", "ppocr_seconds",
                "second_engine_seconds", "engine_seconds")


def _engine_seconds(stats: Any) -> float:
    """CPU seconds spent inside the OCR engines themselves, whatever engines there are."""
    if stats is None:
        return 0.0
    return sum(float(getattr(stats, name, 0.0) or 0.0) for name in ENGINE_STATS)


def _stat(stats: Any, name: str) -> float:
    return float(getattr(stats, name, 0.0) or 0.0) if stats is not None else 0.0


def _warm_up(folder: str, settings: Any, ocr: Any) -> None:
    """One small image through the whole path: starts the OCR workers before any clock."""
    import io
    from pathlib import Path

    from PIL import Image, ImageDraw

    from app.commands import extract_one
    image = Image.new("L", (700, 140), 255)
    ImageDraw.Draw(image).text((10, 50), "Ordine RLM12345 importo 10,89", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path = Path(folder, "warm-up.png")
    path.write_bytes(buffer.getvalue())
    for _ in range(2):
        extract_one(str(path), settings, ocr)
    path.unlink()


def _own_peak_mb() -> float:
    """This process's peak resident memory since it started its own program: VmHWM (the
    rusage figure would carry over the parent's peak through fork and exec)."""
    import resource
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def extract_worker(tasks: Any, results: Any) -> None:
    """A process that reads documents as ``run.py extract --json`` does, one at a time."""
    import os
    import tempfile
    from pathlib import Path

    from app.commands import EMPTY_FIELDS, extract_one
    from config.settings import load_settings
    from intake.text import default_ocr
    settings = load_settings(None)
    ocr = default_ocr()
    stats = getattr(ocr, "stats", None)
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as folder:
        _warm_up(folder, settings, ocr)
        results.put(("ready", os.getpid()))
        while (task := tasks.get()) is not None:
            number, name, data = task
            path = Path(folder, name)
            path.write_bytes(data)
            before = (_stat(stats, "worker_seconds"), _engine_seconds(stats))
            cpu0, wall0 = time.process_time(), time.perf_counter()
            try:
                result = extract_one(str(path), settings, ocr)
            except Exception as exc:  # as the CLI does: one bad file never stops the run
                result = {"file": str(path), **EMPTY_FIELDS,
                          "error": f"unexpected error: {type(exc).__name__}: {exc}"}
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            path.unlink()
            results.put(("done", number, json.loads(json.dumps(result, default=str)), wall,
                         cpu, _stat(stats, "worker_seconds") - before[0],
                         _engine_seconds(stats) - before[1]))
    memory = {"extract_mb": _own_peak_mb(), "ocr_worker_mb": _stat(stats, "worker_peak_mb"),
              "tesseract_mb": _stat(stats, "tesseract_peak_mb")}
    if ocr is not None and hasattr(ocr, "close"):
        ocr.close()
    results.put(("memory", os.getpid(), memory))


def _next(results: Any, procs: list) -> tuple:
    """The next message from the workers; raises if they all died without one."""
    import queue
    while True:
        try:
            return results.get(timeout=5)
        except queue.Empty:
            if not any(proc.is_alive() for proc in procs):
                raise RuntimeError("every extract worker died (see its traceback above)") \
                    from None


@dataclass
class Reading:
    item: Item
    result: dict
    wall: float
    cpu_main: float
    cpu_ocr_workers: float
    cpu_engines: float


def read_all(items: list[Item], workers: int) -> tuple[list[Reading], list[dict], float]:
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    # not daemonic: each worker starts its own OCR pool, as the CLI does
    procs = [context.Process(target=extract_worker, args=(tasks, results))
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    ready = 0
    while ready < workers:
        if _next(results, procs)[0] == "ready":
            ready += 1
    wall0 = time.perf_counter()
    for number, item in enumerate(items):
        tasks.put((number, item.name, item.data))
    for _ in procs:
        tasks.put(None)
    readings: list[Reading | None] = [None] * len(items)
    memory: list[dict] = []
    done = 0
    while done < len(items) or len(memory) < workers:
        message = _next(results, procs)
        if message[0] == "done":
            _, number, result, wall, cpu, ocr_cpu, engine_cpu = message
            readings[number] = Reading(items[number], result, wall, cpu, ocr_cpu, engine_cpu)
            done += 1
            if done % 10 == 0:
                print(f"  {done}/{len(items)} read", file=sys.stderr, flush=True)
        elif message[0] == "memory":
            memory.append(message[2])
    elapsed = time.perf_counter() - wall0
    for proc in procs:
        proc.join(timeout=60)
    return [r for r in readings if r is not None], memory, elapsed


# --- scoring -----------------------------------------------------------------------------

def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def _person(name: Any) -> str:
    return " ".join(TITLES.sub(" ", str(name or "")).replace(".", " ").split()).casefold()


def score(truth: Truth, result: dict) -> dict[str, bool | None]:
    """Which fields of one extract result are right (None: not measurable here)."""
    codes = result.get("codes") or []
    amount = _decimal(result.get("amount"))
    ref = result.get("transfer_ref")
    mailboxes = result.get("mailboxes")
    return {
        "code": set(codes) == set(truth.codes) and len(codes) == len(set(codes)),
        "amount": amount == _decimal(truth.amount),
        "iban": (result.get("iban") or None) == truth.iban,
        "ref": ref in truth.references if truth.references else ref is None,
        "date": result.get("payment_date") == truth.payment_date,
        "payer": (_person(result.get("payer")) == _person(truth.payer)) if truth.payer
        else result.get("payer") is None,
        "mbox": None if mailboxes is None else
        {m.lower() for m in mailboxes} == set(truth.mailboxes),
    }


@dataclass
class KindResult:
    set: str
    kind: str
    docs: int = 0
    pages: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    measured: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    confident: int = 0  # values reported at >= HIGH
    confident_right: int = 0
    confident_wrong_amounts: int = 0
    has_confidence: bool = False
    errors: int = 0
    wall: float = 0.0
    cpu_main: float = 0.0
    cpu_ocr_workers: float = 0.0
    cpu_engines: float = 0.0
    page_seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def accuracy(self, name: str) -> float | None:
        return self.right[name] / self.measured[name] if self.measured[name] else None

    def outside(self) -> float | None:
        total = self.cpu_main + self.cpu_ocr_workers
        return None if self.cpu_engines <= 0 or total <= 0 else \
            max(0.0, total - self.cpu_engines) / total

    def calibration(self) -> float | None:
        return self.confident_right / self.confident if self.confident else None

    def add(self, reading: Reading) -> None:
        item, result = reading.item, reading.result
        outcome = score(item.truth, result)
        self.docs += 1
        self.pages += max(item.pages, 1)
        self.errors += result.get("error") is not None
        for name, ok in outcome.items():
            if ok is not None:
                self.measured[name] += 1
                self.right[name] += ok
        confidence = result.get("confidence")
        if isinstance(confidence, dict):
            self.has_confidence = True
            for key, name in CONFIDENCE_KEYS.items():
                value = confidence.get(key)
                if isinstance(value, int | float) and value >= HIGH and result.get(key) not in \
                        (None, []):
                    self.confident += 1
                    self.confident_right += bool(outcome[name])
                    if name == "amount" and not outcome[name]:
                        self.confident_wrong_amounts += 1
        self.wall += reading.wall
        if item.image_pages:  # CPU shares and page times: the documents that need OCR
            self.cpu_main += reading.cpu_main
            self.cpu_ocr_workers += reading.cpu_ocr_workers
            self.cpu_engines += reading.cpu_engines
            self.page_seconds.append(reading.wall / item.image_pages)
        wrong = [name for name, ok in outcome.items() if ok is False]
        if wrong:
            got = {k: result.get(k) for k in ("codes", "amount", "iban", "transfer_ref",
                                              "payment_date", "payer", "mailboxes", "error")}
            self.misses.append(f"{item.name} ({item.detail}): {', '.join(wrong)}; "
                               f"got {json.dumps(got, ensure_ascii=False)}; "
                               f"truth {json.dumps(item.truth.as_json(), ensure_ascii=False)}")

    def as_json(self, elapsed_share: float) -> dict:
        data = {"set": self.set, "kind": self.kind, "docs": self.docs, "pages": self.pages,
                "errors": self.errors,
                "accuracy": {name: self.accuracy(name) for name in FIELDS},
                "target": TARGETS.get(self.kind), "target_met": self.target_met(),
                "confidence": None if not self.has_confidence else {
                    "values_at_0_9": self.confident, "right_share_at_0_9": self.calibration(),
                    "wrong_amounts_at_0_9": self.confident_wrong_amounts},
                "pages_per_second": self.pages / elapsed_share if elapsed_share else None,
                "seconds_per_image_page": _quantiles(self.page_seconds),
                "outside_share": self.outside()}
        return data

    def target_met(self) -> bool | None:
        target = TARGETS.get(self.kind)
        code, amount = self.accuracy("code"), self.accuracy("amount")
        if target is None or code is None or amount is None:
            return None
        return min(code, amount) >= target


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def summarise(set_name: str, readings: list[Reading], kinds: list[str]) -> list[KindResult]:
    by_kind = {kind: KindResult(set_name, kind) for kind in kinds}
    overall = KindResult(set_name, "all")
    for reading in readings:
        by_kind[reading.item.kind].add(reading)
        overall.add(reading)
    overall.misses = []
    return [*by_kind.values(), overall]


# --- printing ----------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "n/a"


def table(results: list[KindResult], elapsed: dict[str, float]) -> str:
    head = (f"{'kind':<17}{'docs':>5}" + "".join(f"{n:>7}" for n in FIELDS)
            + f"{'target':>7}{'met':>5}{'conf>=.9':>13}{'bad amt':>8}{'pages/s':>8}"
            f"{'med s':>7}{'p95 s':>7}{'outside':>8}")
    rows = [head, "-" * len(head)]
    for r in results:
        if r.kind == "all":
            rows.append("-" * len(head))
        met = r.target_met()
        target = TARGETS.get(r.kind)
        quant = _quantiles(r.page_seconds)
        calib = "n/a" if not r.has_confidence else \
            f"{_pct(r.calibration())} ({r.confident})"
        outside = r.outside()
        share = elapsed.get(r.kind, 0.0)
        rows.append(
            f"{r.kind:<17}{r.docs:>5}" + "".join(f"{_pct(r.accuracy(n)):>7}" for n in FIELDS)
            + f"{(f'{target:.2f}' if target else '-'):>7}"
            + f"{('-' if met is None else 'yes' if met else 'NO'):>5}"
            + f"{calib:>13}"
            + f"{(str(r.confident_wrong_amounts) if r.has_confidence else 'n/a'):>8}"
            + f"{(f'{r.pages / share:.2f}' if share else '-'):>8}"
            + (f"{quant['median']:>7.2f}{quant['p95']:>7.2f}" if quant else f"{'-':>7}{'-':>7}")
            + (f"{outside:>8.1%}" if outside is not None else f"{'-':>8}"))
    return "\n".join(rows)


def _kind_wall(results: list[KindResult], elapsed: float) -> dict[str, float]:
    """The run's wall time shared among kinds by their summed document wall time (with
    several workers, documents overlap: the shares add up to the elapsed time)."""
    total = sum(r.wall for r in results if r.kind != "all")
    shares = {r.kind: elapsed * r.wall / total for r in results if total and r.kind != "all"}
    shares["all"] = elapsed
    return shares


def set_kinds(set_name: str) -> tuple[list[str], list[str]]:
    """(every kind the set can make, the kinds it makes by default)."""
    if set_name != "factories":
        return list(HELDOUT_KINDS), list(HELDOUT_KINDS)
    from tests.factories.scans import EXTRA_KINDS
    from tests.factories.scans import KINDS as FACTORY_KINDS
    return [*FACTORY_KINDS, *EXTRA_KINDS], list(FACTORY_KINDS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ocr_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="all", choices=[*SETS, "all"],
                        help="factories, dev, validation, or all (default)")
    parser.add_argument("--n", type=int, default=17, help="documents per kind (default 17)")
    parser.add_argument("--kinds", default=None,
                        help="comma-separated kinds (default: every kind of each set)")
    parser.add_argument("--workers", type=int, default=1,
                        help="extract processes reading at the same time (default 1, as the "
                             "daemon reads one message at a time)")
    parser.add_argument("--seed", type=int, default=None,
                        help="with --set dev: another development seed (an integer), to see "
                             "more variety than the one named development seed; never the "
                             "validation seed")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--misses", action="store_true",
                        help="list every wrong document (factories and dev only: the "
                             "validation set's misses are never shown)")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 1000 or not 1 <= args.workers <= 16:
        parser.error("--n must be 1..1000 and --workers 1..16")
    if args.seed is not None and (args.set != "dev" or args.seed == SEEDS["validation"]):
        parser.error("--seed goes with --set dev only, and never names the validation seed")
    from intake.text import default_ocr
    if default_ocr() is None:
        print("tesseract with Italian language data is not installed", file=sys.stderr)
        return 2
    chosen = list(SETS) if args.set == "all" else [args.set]
    if args.misses and "validation" in chosen:
        print("--misses: the validation set's misses are never listed (nobody tunes on it)",
              file=sys.stderr)
    report: dict[str, Any] = {"sets": {}, "memory": []}
    text_out: list[str] = []
    for set_name in chosen:
        known, default = set_kinds(set_name)
        kinds = [k for k in args.kinds.split(",") if k in known] if args.kinds else default
        if not kinds:
            continue
        start = time.perf_counter()
        items = factories_items(kinds, args.n) if set_name == "factories" else \
            heldout_items(set_name, kinds, args.n, args.workers, args.seed)
        made = time.perf_counter() - start
        print(f"{set_name}: {len(items)} documents made in {made:.0f} s; reading...",
              file=sys.stderr, flush=True)
        readings, memory, elapsed = read_all(items, args.workers)
        results = summarise(set_name, readings, kinds)
        shares = _kind_wall(results, elapsed)
        seed_value = args.seed if args.seed is not None and set_name == "dev" else \
            SEEDS.get(SEED_OF.get(set_name, ""), None)
        seed = f", seed {seed_value}" if seed_value is not None else ""
        title = f"== {set_name}{seed}: {len(items)} documents, {args.workers} worker(s), " \
                f"{elapsed:.0f} s =="
        text_out += ["", title, table(results, shares)]
        for m in memory:
            text_out.append(f"peak memory: extract worker {m['extract_mb']:.0f} MB, its OCR "
                            f"workers {m['ocr_worker_mb']:.0f} MB (Tesseract at most "
                            f"{m['tesseract_mb']:.0f} MB)")
        if args.misses and set_name != "validation":
            for r in results:
                text_out += [f"  miss {miss}" for miss in r.misses]
        report["sets"][set_name] = {
            "documents": len(items), "workers": args.workers, "elapsed_seconds": elapsed,
            "seed": seed_value,
            "kinds": {r.kind: r.as_json(shares.get(r.kind, 0.0)) for r in results},
            "memory": memory}
        if args.misses and set_name != "validation":
            report["sets"][set_name]["misses"] = [m for r in results for m in r.misses]
    legend = "\n".join(text_out).lstrip("\n")
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        print(legend, file=sys.stderr)  # the table too, for whoever watches the run
    else:
        print(legend)
        print("\ncode: the reported codes are exactly the true ones (every one, nothing else);"
              " iban/ref/date: null where the document prints none; conf>=.9: share right of"
              " the values reported at confidence >= 0.9 (how many); med/p95 s: wall seconds"
              " per image page; outside: CPU share outside the OCR engines")
    return 0


if __name__ == "__main__":
    sys.exit(main())

