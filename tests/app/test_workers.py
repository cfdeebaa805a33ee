"""Several workers on one PostgreSQL and one mailbox, as on several machines: each message is
taken in once, each order paid once, each mail sent once, even when a worker is SIGKILLed in
the middle of the work. And ``[service] workers = N`` in one ``run``."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT, run_subprocess
from tests.factories.mailboxes import imap_source_toml, mixed_batch
from tests.factories.scenario import inbox_items, write_scenario
from tests.servers.dovecot import Dovecot, free_port
from tests.servers.postgres import postgres_bin
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL not installed")

USER, PASSWORD = "amministrazione", "segreta"
MESSAGES = 300


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PEC_INTAKE_CONFIG", "NOTIFY_SOCKET")}
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def _start(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                             "run"], cwd=config.parent, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=log.open("ab"))


def _wait(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def test_three_workers_one_killed_every_message_once(tmp_path: Path, postgres_server) -> None:  # noqa: ANN001
    """GIVEN 300 messages in one Dovecot INBOX, three ``run`` processes sharing it and one
    PostgreSQL, mail going to a real SMTP server, renewals due at once
    WHEN one worker is SIGKILLed in the middle of the run
    THEN every message is recorded once and moved once, no order is paid or renewed twice,
    and no customer gets the same mail twice."""
    url = postgres_server.create_database(f"w_{uuid.uuid4().hex[:8]}")
    batch = mixed_batch(MESSAGES, seed=14)
    smtp = SmtpServer()
    smtp.start()
    try:
        with Dovecot({USER: PASSWORD}) as dovecot:
            config = tmp_path / "pec.toml"
            config.write_text(
                f'[database]\nurl = "{url}"\n\n[outbox]\ndir = "outbox"\n\n'
                f'[storage]\noriginals_dir = "originals"\n\n'
                f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nretry_seconds = 1\n\n'
                f'[renewal]\ndelay_hours = 0\n\n'
                f'[service]\nmetrics_port = 0\nclaim_lease_seconds = 10\n'
                + imap_source_toml(USER, dovecot.port, USER, PASSWORD, poll_seconds=2))
            (tmp_path / "orders.csv").write_text(batch.csv())
            done = run_subprocess("--config", str(config), "orders", "import", "orders.csv",
                                  cwd=tmp_path)
            assert done.code == 0, done.err
            dovecot.append(USER, batch.messages)
            engine = create_engine(url)

            def scalar(sql: str) -> int:
                with engine.connect() as conn:
                    return conn.execute(text(sql)).scalar() or 0

            logs = [tmp_path / f"worker{i}.log" for i in range(3)]
            workers = [_start(config, log) for log in logs]
            try:
                # SIGKILL one worker once a fifth of the messages are in: mid-run
                _wait(lambda: scalar("SELECT count(*) FROM messages") >= MESSAGES // 5, 240,
                      "a fifth of the messages recorded")
                workers[1].send_signal(signal.SIGKILL)
                workers[1].wait(10)
                recorded_at_kill = scalar("SELECT count(*) FROM messages")
                assert recorded_at_kill < MESSAGES, "the kill came too late to mean anything"
                _wait(lambda: dovecot.count(USER) == 0 and scalar(
                      "SELECT count(*) FROM messages WHERE status <> 'received'") == MESSAGES,
                      300, "every message settled")
                # mail and renewals: all done, except what the killed worker had claimed
                # (its leases expire; a mail it may have handed to SMTP is never re-sent
                # before then)
                _wait(lambda: scalar("SELECT count(*) FROM outgoing_mail WHERE status = "
                                     "'queued' AND attempts = 0") == 0 and scalar(
                      "SELECT count(*) FROM renewal_jobs WHERE status = 'pending' AND "
                      "attempts = 0") == 0, 240, "mail sent and renewals run")
            finally:
                for proc in workers:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                for proc in (workers[0], workers[2]):
                    assert proc.wait(60) == 0, logs[workers.index(proc)].read_text()[-2000:]
            settled = dovecot.messages(USER, "Processed") + dovecot.messages(USER, "Quarantine")
            moved = Counter(str(message_from_bytes(raw)["Message-ID"]) for raw in settled)
            assert sum(moved.values()) == MESSAGES and max(moved.values()) == 1
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT source_key, status FROM messages")).all()
                paid_twice = conn.execute(text(
                    "SELECT order_id FROM receipt_orders GROUP BY order_id "
                    "HAVING count(*) > 1")).all()
                renewed_twice = conn.execute(text(
                    "SELECT order_id FROM renewal_jobs GROUP BY order_id "
                    "HAVING count(*) > 1")).all()
                mails = conn.execute(text(
                    "SELECT message_id_header, status FROM outgoing_mail")).all()
                paid = conn.execute(text("SELECT count(*) FROM orders WHERE paid_at IS NOT "
                                         "NULL")).scalar()
            engine.dispose()
    finally:
        received = smtp.messages()
        smtp.close()
    assert len(rows) == MESSAGES and len({key for key, _ in rows}) == MESSAGES
    assert paid_twice == [] and renewed_twice == []
    assert paid >= batch.kinds.count("pdf")
    by_id = Counter(str(m["Message-ID"]) for m in received)
    assert by_id and max(by_id.values()) == 1, "a mail was sent twice"
    sent = {mid for mid, status in mails if status == "sent"}
    assert sent <= set(by_id) and len(set(by_id)) <= len(mails)
    claimed_by_the_dead = len(mails) - len(sent)
    assert claimed_by_the_dead <= 3, f"{claimed_by_the_dead} mails left unsent"


def test_workers_setting_runs_that_many_processes(tmp_path: Path) -> None:
    """GIVEN ``[service] workers = 2`` WHEN ``run`` starts THEN two worker processes take the
    receipts in, READY=1 comes once both are, /healthz says so, /metrics adds up both."""
    port = free_port()
    write_scenario(tmp_path, tmp_path / "var/inbox")
    config = tmp_path / "pec.toml"
    config.write_text(f'[service]\nmetrics_port = {port}\nworkers = 2\n')
    assert run_subprocess("--config", str(config), "orders", "import", "orders.csv",
                          cwd=tmp_path).code == 0
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(90)
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                             "run"], cwd=tmp_path, env={**_env(), "NOTIFY_SOCKET": str(notify)},
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    try:
        assert sock.recv(4096).decode().startswith("READY=1"), log.read_text()[-2000:]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert json.loads(r.read())["workers"] == 2

        def metrics() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                return r.read().decode()
        _wait(lambda: sum(float(line.rsplit(" ", 1)[1]) for line in metrics().splitlines()
                          if line.startswith("pec_intake_messages_total{"))
              == len(inbox_items()), 120, "every receipt counted, across the workers")
        assert {"worker=1", "worker=2"} <= {w for w in log.read_text().split() if
                                            w.startswith("worker=")}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
