"""Fuzzes the processing of one message: ``python -m benchmarks.fuzz --minutes N``.

Seeded mutants of the project's generated receipts (PDFs, emails, PEC envelopes, faxes,
TIFFs, zips; see tests/factories/fuzzing.py) go through ``Pipeline.take_in`` on a scratch
SQLite database. Prints inputs per second and every distinct failure: an exception that
escaped (it would block the source), a message left without an outcome, or an internal
error the pipeline contained (quarantined, still a bug). ``--save DIR`` writes one input per
failure for a regression fixture.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from tests.factories.fuzzing import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-inputs", type=int, default=None)
    parser.add_argument("--save", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the pipeline's lines would drown the report
    with tempfile.TemporaryDirectory(prefix="pec-fuzz-") as scratch:
        result = run(Path(scratch), seconds=args.minutes * 60, max_inputs=args.max_inputs,
                     seed=args.seed)
    rate = result.inputs / result.seconds if result.seconds else 0.0
    print(f"fuzz: {result.inputs} inputs in {result.seconds:.1f}s ({rate:.1f} inputs/s), "
          f"seed {args.seed}; {result.distinct_failures} distinct failure(s): "
          f"{len(result.escaped)} escaped, {len(result.contained)} contained, "
          f"{len(result.unfinished)} without an outcome")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())))
    for title, table in (("escaped", result.escaped), ("contained", result.contained),
                         ("without an outcome", result.unfinished)):
        for sig, count in table.most_common():
            print(f"  {title}: {count:5d} x {sig}  (seed input: {result.examples[sig][0]})")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for index, (sig, (name, data)) in enumerate(sorted(result.examples.items())):
            (args.save / f"{index:02d}-{name}.bin").write_bytes(data)
            print(f"  saved {index:02d}-{name}.bin: {sig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
