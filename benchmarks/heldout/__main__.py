"""Writes a held-out corpus to a folder: ``python -m benchmarks.heldout --seed development
--out DIR [--n 17] [--kinds a,b]``: one file per document and ``truth.jsonl`` beside them."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.heldout.generator import DEFAULT_N, KINDS, corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.heldout")
    parser.add_argument("--seed", default="development",
                        help="development (default), validation, or an integer")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="documents per kind")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.n < 1 or args.n > 1000:
        parser.error("--n must be between 1 and 1000")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    count = 0
    with (args.out / "truth.jsonl").open("w", encoding="utf-8") as truth:
        for doc in corpus(args.seed, args.n, tuple(args.kinds.split(","))):
            (args.out / doc.name).write_bytes(doc.data)
            truth.write(json.dumps({"file": doc.name, "kind": doc.kind, "detail": doc.detail,
                                    "pages": doc.pages, "image_pages": doc.image_pages,
                                    **doc.truth.as_json()}, ensure_ascii=False) + "\n")
            count += 1
    print(f"{count} documents in {args.out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
