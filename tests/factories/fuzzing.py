"""A seeded mutator over the project's generated inputs, and a runner that sends each
mutant through ``Pipeline.take_in`` (the processing of one message, database included).

Seeds: receipt PDFs (several bank layouts), customers' emails (PDF attached, HTML, body only),
PEC envelopes and PEC system receipts, fax-gateway mails with G3 TIFFs, bare TIFFs, zips.
Mutations: flipped bytes, truncation, spliced segments (from another seed too), deleted and
repeated runs, and tokens that have broken parsers before (address groups, ``<![``, NUL in
a parameter, names where numbers belong, huge lengths).

A *failure* is an exception escaping ``take_in`` (the message would block its source), a
message left without a final status or a reason, or an internal error contained by the
pipeline (quarantined as ``internal error in <stage>``: still a bug to fix). Failures are
told apart by exception type and the innermost project frame.
"""
from __future__ import annotations

import logging
import random
import signal
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from tests.factories.mailboxes import (
    fax_gateway_mail,
    fax_tiff,
    mail_with,
    pec_envelope,
    pec_receipt,
    zip_of,
)
from tests.factories.receipts import (
    OrderSpec,
    ReceiptSpec,
    body_only_email,
    orders_csv,
    receipt_email,
    receipt_pdf,
)

PROJECT_DIRS = ("app", "core", "effects", "intake", "matching", "notifier", "store", "config")
TOKENS = [b"From: undisclosed-recipients:;\r\n", b"From: mario@\r\n", b"<![ x", b"\x00",
          b'charset="utf\x00-8"', b"/MediaBox [/Foo 0 612 792]", b"/Length 999999999",
          b"/FlateDecode", b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"=?utf-8?q?=FF?=",
          b'filename="\xff\xfe.pdf"', b"Content-Type: multipart/mixed; boundary=\"\"\r\n",
          b"\r\n--", b"Content-Transfer-Encoding: base64\r\n", b"RLM95055", b"10,89",
          b"obj", b"endobj", b"stream\n", b"endstream", b"trailer", b"xref", b"II*\x00",
          b"\xff" * 8, b"%%EOF", b"begin 644 x\r\n"]


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    is_mail: bool
    fax_gateway: bool = False
    filename: str | None = None


def orders() -> list[OrderSpec]:
    expiry = date.today() + timedelta(days=40)
    return [OrderSpec(f"RLM9505{i}", Decimal("10.89"), "Mario Rossi",
                      f"cliente{i}@example.com", expiry_date=expiry) for i in range(5)]


def seeds() -> list[Seed]:
    specs = [ReceiptSpec(codes=(f"RLM9505{i}",), payer="Mario Rossi", style=style,
                         reference=f"03069000000000{i:02d}")
             for i, style in enumerate(("intesa", "unicredit", "poste", "fineco", "bper"))]
    pdfs = [receipt_pdf(spec) for spec in specs]
    tiff = fax_tiff(["BONIFICO RLM95051", "EUR 10,89"])
    return [
        *[Seed(f"pdf-{spec.style}", pdf, False, filename="ricevuta.pdf")
          for spec, pdf in zip(specs, pdfs)],
        Seed("email-pdf", receipt_email(specs[0], sender="cliente0@example.com"), True),
        Seed("email-html", receipt_email(specs[1], sender="cliente1@example.com", html=True),
             True),
        Seed("email-body", body_only_email(specs[2], sender="cliente2@example.com"), True),
        Seed("pec-envelope", pec_envelope(receipt_email(specs[3], sender="c3@example.com"),
                                          "avv.rossi@pec.example.it"), True),
        Seed("pec-receipt", pec_receipt("accettazione"), True),
        Seed("fax-mail", fax_gateway_mail([("fax.tif", "image/tiff", tiff)]), True, True),
        Seed("tiff", tiff, False, filename="fax.tif"),
        Seed("zip-mail", mail_with([("ricevute.zip", "application/zip",
                                     zip_of({"ricevuta.pdf": pdfs[4]}))]), True),
        Seed("zip-file", zip_of({"ricevuta.pdf": pdfs[0]}), False, filename="ricevute.zip"),
    ]


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            out += rng.choice(TOKENS)
            continue
        op = rng.randrange(7)
        at = rng.randrange(len(out))
        if op == 0:                                   # flip bytes
            for _ in range(rng.randint(1, 16)):
                out[rng.randrange(len(out))] = rng.randrange(256)
        elif op == 1:                                 # truncate
            del out[at:]
        elif op == 2:                                 # splice from another input
            other = rng.choice(others)
            start = rng.randrange(len(other))
            out[at:at] = other[start:start + rng.randint(1, 2048)]
        elif op == 3:                                 # delete a run
            del out[at:at + rng.randint(1, 512)]
        elif op == 4:                                 # repeat a run
            out[at:at] = out[at:at + rng.randint(1, 256)] * rng.randint(2, 8)
        elif op == 5:                                 # a token that broke parsers before
            out[at:at] = rng.choice(TOKENS)
        else:                                         # replace a line's tail with a token
            end = out.find(b"\n", at)
            out[at:end if end > 0 else len(out)] = rng.choice(TOKENS)
    return bytes(out)


@dataclass
class FuzzResult:
    inputs: int = 0
    seconds: float = 0.0
    escaped: Counter = field(default_factory=Counter)     # signature -> count
    contained: Counter = field(default_factory=Counter)   # internal errors quarantined
    unfinished: Counter = field(default_factory=Counter)  # no final status / no reason
    examples: dict = field(default_factory=dict)          # signature -> (seed, input bytes)
    outcomes: Counter = field(default_factory=Counter)

    @property
    def distinct_failures(self) -> int:
        return len(set(self.escaped) | set(self.contained) | set(self.unfinished))


def signature(exc: BaseException) -> str:
    """Exception type and the innermost frame of the project (else the innermost at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if any(f"/{d}/" in f.filename for d in PROJECT_DIRS)
            and "/tests/" not in f.filename]
    frame = (ours or frames or [None])[-1]
    where = f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno}" \
        if frame else "?"
    return f"{type(exc).__name__} at {where}"


class _Captured(logging.Handler):
    """Collects the tracebacks the pipeline logs for the internal errors it contains."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


class _Hang(Exception):
    pass


def _on_alarm(_signum, _frame):  # noqa: ANN001
    raise _Hang("no outcome within the harness's time limit")


def make_pipeline(folder: Path):  # noqa: ANN201 (app.pipeline.Pipeline)
    from app.pipeline import Pipeline
    from config.settings import Settings
    from matching.orders import parse_orders_csv
    from store.db import Database
    from store.orderbook import import_orders
    settings = Settings(database_url=f"sqlite:///{folder / 'fuzz.sqlite3'}", sources=(),
                        outbox_dir=folder / "outbox", originals_dir=folder / "originals")
    db = Database(settings.database_url)
    with db.session() as session:
        import_orders(session, parse_orders_csv(orders_csv(orders())), actor="fuzz")
    return Pipeline(settings, db), db


def run(folder: Path, *, seconds: float, max_inputs: int | None = None, seed: int = 1,
        hang_seconds: int = 30) -> FuzzResult:
    """Mutants through ``take_in`` until ``seconds`` pass (or ``max_inputs`` are done)."""
    from sqlalchemy import select

    from intake.sources import IncomingMessage
    from store.models import MessageRow
    rng = random.Random(seed)
    corpus = seeds()
    others = [s.data for s in corpus]
    pipeline, db = make_pipeline(folder)
    captured = _Captured()
    logger = logging.getLogger("pec_intake")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.ERROR)  # the contained errors are counted, not printed
    logger.propagate = False
    logger.addHandler(captured)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    result = FuzzResult()
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds and \
                (max_inputs is None or result.inputs < max_inputs):
            base = rng.choice(corpus)
            data = mutate(rng, base.data, others)
            result.inputs += 1
            incoming = IncomingMessage(
                "fuzz", f"{result.inputs}", data, base.filename, base.is_mail,
                fax_gateway=base.fax_gateway, identity=f"fuzz-{seed}-{result.inputs}")
            captured.errors.clear()
            signal.alarm(hang_seconds)
            try:
                outcome = pipeline.take_in(incoming)
            except Exception as exc:  # noqa: BLE001 - what the harness is looking for
                sig = signature(exc)
                result.escaped[sig] += 1
                result.examples.setdefault(sig, (base.name, data))
                continue
            finally:
                signal.alarm(0)
            for error in captured.errors:
                sig = signature(error)
                result.contained[sig] += 1
                result.examples.setdefault(sig, (base.name, data))
            result.outcomes[outcome.status] += 1
            with db.session() as session:
                row = session.scalar(select(MessageRow).where(
                    MessageRow.source_key == incoming.stable_id))
                if row is None or row.status == "received" or \
                        (row.status != "matched" and not row.reason):
                    sig = f"no outcome ({row.status if row else 'no row'}) from {base.name}"
                    result.unfinished[sig] += 1
                    result.examples.setdefault(sig, (base.name, data))
    finally:
        signal.signal(signal.SIGALRM, previous)
        logger.removeHandler(captured)
        logger.setLevel(level)
        logger.propagate = propagate
        db.dispose()
    result.seconds = time.monotonic() - started
    return result
