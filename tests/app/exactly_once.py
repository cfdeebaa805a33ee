"""Runs ``poll --once`` for real and checks the exactly-once promise afterwards: used by the
crash-safety tests and by ``benchmarks.imap_bench``."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from tests.conftest import ROOT
from tests.factories.mailboxes import Batch, imap_source_toml, write_config
from tests.servers.dovecot import Dovecot

USER, PASSWORD = "amministrazione", "segreta"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def cli(config: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "--config", str(config), *args],
                          cwd=config.parent, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def start_poll(config: Path, log: Path | None = None) -> subprocess.Popen[bytes]:
    """``poll --once`` in the background; its log goes to ``log`` when given."""
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                             "poll", "--once"], cwd=config.parent, env=_env(),
                            stdout=subprocess.DEVNULL,
                            stderr=log.open("ab") if log else subprocess.DEVNULL)


def prepare(workdir: Path, server: Dovecot, batch: Batch) -> Path:
    """Config, orders and the batch in the INBOX: ready for ``poll --once``."""
    config = write_config(workdir, [imap_source_toml(USER, server.port, USER, PASSWORD)])
    (workdir / "orders.csv").write_text(batch.csv())
    done = cli(config, "orders", "import", str(workdir / "orders.csv"))
    assert done.returncode == 0, done.stderr
    server.append(USER, batch.messages)
    return config


@dataclass
class CrashRun:
    kills: int = 0
    finished_early: int = 0
    kill_times: list[float] = field(default_factory=list)
    recorded_before_clean: int = 0  # receipts the killed runs had committed
    clean_seconds: float = 0.0


def _recorded(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=30) as db:
            return db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def crash_then_clean(config: Path, kills: int, rng: random.Random,
                     window: tuple[float, float] = (0.0, 1.5)) -> CrashRun:
    """``kills`` runs of ``poll --once`` each SIGKILLed at a random moment, then one clean
    run to the end. Each kill comes a random ``window`` after the run has committed its first
    message, so it lands mid-work however slow the machine is (on a loaded machine a fixed
    delay from start-up can kill every run before it did anything)."""
    run = CrashRun()
    database = config.parent / "intake.sqlite3"
    for _ in range(kills):
        before = _recorded(database)
        proc = start_poll(config)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _recorded(database) <= before \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        delay = rng.uniform(*window)
        try:
            proc.wait(delay)
            run.finished_early += 1
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            run.kills += 1
            run.kill_times.append(round(delay, 2))
    run.recorded_before_clean = _recorded(database)
    started = time.monotonic()
    done = cli(config, "poll", "--once")
    assert done.returncode == 0, done.stderr[-2000:]
    run.clean_seconds = time.monotonic() - started
    return run


def check_exactly_once(workdir: Path, server: Dovecot, batch: Batch) -> dict[str, int]:
    """Every message processed exactly once: none left, none moved twice, one receipt each,
    no order paid twice, no customer mailed twice. Returns the counts seen."""
    count = len(batch.messages)
    assert server.count(USER) == 0, "INBOX is not empty"
    settled = server.messages(USER, "Processed") + server.messages(USER, "Quarantine")
    ids = Counter(str(message_from_bytes(raw)["Message-ID"]) for raw in settled)
    assert sum(ids.values()) == count, f"{sum(ids.values())} settled for {count} sent"
    assert max(ids.values()) == 1, f"moved twice: {[k for k, v in ids.items() if v > 1]}"
    with sqlite3.connect(workdir / "intake.sqlite3") as db:
        receipts = db.execute("SELECT status FROM messages").fetchall()
        paid_twice = db.execute("SELECT order_id FROM receipt_orders GROUP BY order_id "
                                "HAVING COUNT(*) > 1").fetchall()
        mails = db.execute("SELECT event_key FROM outgoing_mail").fetchall()
        paid = db.execute("SELECT COUNT(*) FROM orders WHERE paid_at IS NOT NULL").fetchone()[0]
        unsent = db.execute("SELECT COUNT(*) FROM outgoing_mail WHERE status != 'sent'"
                            ).fetchone()[0]
    assert len(receipts) == count, f"{len(receipts)} receipts for {count} messages"
    assert all(status != "received" for (status,) in receipts), "a receipt left half done"
    assert paid_twice == [], f"orders paid twice: {paid_twice}"
    assert len(mails) == len({key for (key,) in mails}), "a mail queued twice"
    # One file per mail event (the folder transport names it by event key). A run killed
    # after writing a file but before recording it sent leaves the mail claimed (queued under
    # a lease); it is re-sent to the same file when the lease expires, never a second mail.
    outbox = list((workdir / "outbox").glob("*.eml"))
    assert len(mails) - unsent <= len(outbox) <= len(mails), \
        f"{len(outbox)} outbox files for {len(mails)} mails ({unsent} not yet sent)"
    statuses = Counter(status for (status,) in receipts)
    return {"messages": count, "paid_orders": paid, "mails": len(mails), **statuses}
