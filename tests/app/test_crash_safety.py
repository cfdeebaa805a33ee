"""The exactly-once promise under SIGKILL and under concurrency, with ``poll --once`` run for
real against Dovecot. (The 10-times-in-a-row loop is ``python -m benchmarks.imap_bench``.)"""
from __future__ import annotations

import random

import pytest

from tests.app.exactly_once import (
    PASSWORD,
    USER,
    check_exactly_once,
    cli,
    crash_then_clean,
    prepare,
    start_poll,
)
from tests.factories.mailboxes import mixed_batch
from tests.servers.dovecot import Dovecot


@pytest.fixture
def server():
    with Dovecot({USER: PASSWORD}) as dovecot:
        yield dovecot


def test_sigkill_at_random_moments_then_a_clean_run(tmp_path, server):
    """GIVEN 50 mixed messages (PDF receipts, PEC envelopes and receipts, bad input)
    WHEN ``poll --once`` is SIGKILLed at random moments four times, then runs to the end
    THEN every message is processed exactly once: no loss, no double payment, no double mail."""
    batch = mixed_batch(50, seed=2026)
    config = prepare(tmp_path, server, batch)
    run = crash_then_clean(config, kills=4, rng=random.Random(7))
    assert run.kills >= 2, run  # the test must really have killed runs mid-way...
    assert run.recorded_before_clean > 0, run  # ...after they had committed some work
    counts = check_exactly_once(tmp_path, server, batch)
    assert counts["paid_orders"] >= batch.kinds.count("pdf")
    assert counts.get("quarantined", 0) >= batch.kinds.count("bad")
    assert counts.get("pec_receipt", 0) == batch.kinds.count("pec_receipt")


def test_two_polls_at_once_on_the_same_mailbox_and_database(tmp_path, server):
    batch = mixed_batch(50, seed=99)
    config = prepare(tmp_path, server, batch)
    logs = tmp_path / "first.log", tmp_path / "second.log"
    first, second = start_poll(config, logs[0]), start_poll(config, logs[1])
    assert first.wait(300) == 0, logs[0].read_text()[-3000:]
    assert second.wait(300) == 0, logs[1].read_text()[-3000:]
    check_exactly_once(tmp_path, server, batch)
    again = cli(config, "poll", "--once")  # nothing left, nothing redone
    assert again.returncode == 0
    assert again.stdout.startswith("poll: 0 new message(s)")
