"""A held-out validation set: documents made by a generator independent of tests/factories/.

``corpus(seed, n)`` yields ``HeldoutDoc``s (bytes, file name, ground truth). Two named seeds:
``"development"`` for tuning, ``"validation"`` that nobody tunes on (see README.md here).
"""
from benchmarks.heldout.generator import DEFAULT_N, KINDS, SEEDS, HeldoutDoc, corpus, make
from benchmarks.heldout.truth import Truth

__all__ = ["DEFAULT_N", "KINDS", "SEEDS", "HeldoutDoc", "Truth", "corpus", "make"]
