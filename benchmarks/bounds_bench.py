"""The bounds on one message: ``python -m benchmarks.bounds_bench``.

Times parse + read + extract (``intake.reading``) of the inputs that used to run without a
bound: text emails of 1, 2 and 5 MiB holding an amount on every line and all on one line
(extraction was quadratic: 122 s for 1 MiB), a 12 KiB PDF whose stream inflates to 512 MiB
(135 s and 5.8 GB before), and the peak memory of each (tracemalloc). Prints one row each.
"""
from __future__ import annotations

import time
import tracemalloc

from config.settings import LimitSettings
from intake.message import parse_incoming
from intake.reading import read_message
from intake.sources import IncomingMessage
from tests.factories.poison import _headers, _mail, pdf_inflating_hugely

FILLER = "Nessun codice ordine in questa riga, solo testo ordinario. " * 16


def text_email(mib: float, one_line: bool) -> bytes:
    parts, size, n = [], 0, 0
    end = " " if one_line else "\n"
    while size < mib * 1024 * 1024:
        parts.append(f"Rata {n}: importo EUR {n % 997},89 pagato il 14/03/2026. {FILLER}{end}")
        size += len(parts[-1])
        n += 1
    return _mail(_headers("ufficio@example.com", "", f"bench-{mib}-{one_line}"),
                 body="".join(parts))


def _once(incoming: IncomingMessage) -> str:
    limits = LimitSettings()
    try:
        reading = read_message(parse_incoming(incoming, limits), limits)
        return "; ".join(reading.problems)[:90] or "read"
    except Exception as exc:  # noqa: BLE001 - a refusal is a result here
        return f"{type(exc).__name__}: {exc}"[:90]


def measure(name: str, incoming: IncomingMessage) -> None:
    """Time from a plain run; memory from a second one under tracemalloc (it slows)."""
    started = time.perf_counter()
    outcome = _once(incoming)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    _once(incoming)
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    print(f"{name:34s} {len(incoming.raw) / 2 ** 20:7.2f} MiB  {seconds:6.2f} s  "
          f"peak {peak:7.1f} MiB  {outcome}")


def main() -> None:
    print(f"{'input':34s} {'size':>11s}  {'time':>8s}  {'memory':>12s}  outcome")
    for mib in (1, 2, 5):
        for one_line in (False, True):
            raw = text_email(mib, one_line)
            shape = "one line" if one_line else "a line each"
            measure(f"text email, amounts on {shape}", IncomingMessage(
                "bench", "x", raw, None, True))
    pdf = pdf_inflating_hugely(512)
    measure("PDF inflating to 512 MiB", IncomingMessage("bench", "x.pdf", pdf, "x.pdf", False))


if __name__ == "__main__":
    main()
