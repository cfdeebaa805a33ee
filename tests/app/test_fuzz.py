"""A bounded fuzz run in the suite: seeded mutants of the project's generated PDFs, emails,
PEC envelopes, faxes, TIFFs and zips through ``Pipeline.take_in`` (tests/factories/
fuzzing.py). No exception escapes the processing of a message, none is a contained internal
error, and every input ends with a final status and a reason. Bounded by time and count
(well under 60 s); the longer run is ``python -m benchmarks.fuzz --minutes N``."""
from __future__ import annotations

from tests.factories.fuzzing import run


def test_no_mutant_escapes_or_ends_without_a_reason(tmp_path):
    result = run(tmp_path, seconds=35, max_inputs=400, seed=11, hang_seconds=30)
    assert result.inputs >= 50, result  # the run really ran
    failures = {**result.escaped, **result.contained, **result.unfinished}
    assert not failures, failures
    assert sum(result.outcomes.values()) == result.inputs
    # the mutants reach every kind of ending, not only "quarantined"
    assert {"quarantined", "unmatched", "pec_receipt"} <= set(result.outcomes)
