"""The operator's view: ``status [--json]``, the daemon's ``/healthz`` and ``/metrics``, the
systemd notification, and journal-friendly log lines."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from app.service import start_operator_server
from config.settings import parse_settings
from store.db import Database
from tests.conftest import ROOT, run_subprocess
from tests.factories.scenario import inbox_items, write_scenario
from tests.servers.dovecot import free_port


def test_status_json_after_a_day_of_receipts(workdir: Path, cli) -> None:  # noqa: ANN001
    """GIVEN the sample inbox polled once
    WHEN ``status --json`` is asked
    THEN it holds the contract's keys, the source's last poll and the review queue by reason."""
    empty = cli("status", "--json")
    assert empty.code == 0, empty.err
    data = empty.json()
    assert data["sources"] == [data["sources"][0]] and data["sources"][0]["name"] == "inbox"
    assert data["sources"][0]["last_poll_at"] is None
    write_scenario(workdir, workdir / "var/inbox")
    assert cli("orders", "import", "orders.csv").code == 0
    assert cli("poll", "--once").code == 0
    data = cli("status", "--json").json()
    (inbox,) = data["sources"]
    assert inbox["last_poll_at"] and inbox["last_error"] is None
    assert set(data) >= {"sources", "review_queue", "outbox", "renewals"}
    unmatched = [r for r in cli("receipts", "list", "--json").json()
                 if r["status"] == "unmatched"]
    assert len(unmatched) >= 4
    queue = data["review_queue"]
    assert queue["count"] == len(unmatched) and queue["oldest_at"]
    assert sum(queue["by_reason"].values()) == len(unmatched)
    assert {"amount", "foreign_iban", "no_code"} <= set(queue["by_reason"])
    assert data["outbox"] == {**data["outbox"], "queued": 0, "failed": 0}
    assert data["renewals"]["due"] == 0 and data["renewals"]["failed"] == 0
    assert data["renewals"]["pending"] == data["receipts"]["by_status"]["matched"]
    table = cli("status")
    assert table.code == 0 and "review queue: " in table.out and "inbox" in table.out


def test_status_names_a_source_that_is_down(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    config = tmp_path / "pec.toml"
    config.write_text(f'[[sources]]\nname = "pec"\nkind = "imap"\nhost = "127.0.0.1"\n'
                      f'port = {port}\nusername = "u"\npassword = "p"\n')
    poll = run_subprocess("--config", str(config), "poll", "--once", cwd=tmp_path)
    assert poll.code == 0 and "unreachable: pec" in poll.out
    data = json.loads(run_subprocess("--config", str(config), "status", "--json",
                                     cwd=tmp_path).out)
    (pec,) = data["sources"]
    assert pec["last_poll_at"] and str(port) in pec["last_error"]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    dead = free_port()
    settings = parse_settings({"service": {"metrics_port": free_port()}}, tmp_path, "test")
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{dead}/none")
    server = start_operator_server(settings, db)
    try:
        code, body = _get(f"http://127.0.0.1:{server.port}/healthz")
        assert code == 503 and json.loads(body)["status"] == "unavailable"
        code, body = _get(f"http://127.0.0.1:{server.port}/metrics")
        assert code == 200 and "pec_intake_database_up 0.0" in body
    finally:
        server.stop()
        db.dispose()


def test_daemon_serves_health_and_metrics_and_tells_systemd(tmp_path: Path) -> None:
    """GIVEN ``run`` started the way systemd starts it ($NOTIFY_SOCKET, Type=notify)
    WHEN receipts arrive in its folder
    THEN READY=1 comes once the source is open, /healthz answers 200, /metrics counts the
    messages by outcome and the backlogs, and SIGTERM ends with STOPPING=1 and exit 0."""
    port = free_port()
    write_scenario(tmp_path, tmp_path / "var/inbox")
    config = tmp_path / "pec.toml"
    config.write_text(f'[service]\nmetrics_port = {port}\n')
    assert run_subprocess("--config", str(config), "orders", "import", "orders.csv",
                          cwd=tmp_path).code == 0
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    sock.settimeout(60)
    env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
    env.update(NOTIFY_SOCKET=str(notify), OMP_THREAD_LIMIT="1")
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                             "run"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"))
    try:
        assert sock.recv(4096).decode().startswith("READY=1")
        code, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert code == 200 and json.loads(body)["status"] == "ok"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = _get(f"http://127.0.0.1:{port}/metrics")[1]
            if _counted(body, "pec_intake_messages_total") == len(inbox_items()):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(body + log.read_text()[-3000:])
        assert 'pec_intake_messages_total{outcome="quarantined"} 1.0' in body
        assert 'pec_intake_messages_total{outcome="matched"}' in body
        assert 'pec_intake_match_outcomes_total{outcome="unmatched"}' in body
        assert "pec_intake_review_queue " in body
        assert 'pec_intake_outbox{state="queued"}' in body
        assert 'pec_intake_renewals{state="failed"} 0.0' in body
        assert 'pec_intake_source_up{source="inbox"} 1.0' in body
        assert "pec_intake_ocr_seconds_per_page_bucket" in body
        assert _get(f"http://127.0.0.1:{port}/nothing")[0] == 404
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
        assert sock.recv(4096).decode().startswith("STOPPING=1")
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def _counted(body: str, name: str) -> float:
    """The sum of a counter's samples over its labels."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(name + "{"))


def test_log_lines_carry_a_journal_priority_under_systemd(tmp_path: Path) -> None:
    """Under systemd stderr is the journal ($JOURNAL_STREAM names it): lines start with
    their syslog priority, so ``journalctl -p warning`` finds the warnings."""
    err = tmp_path / "stderr"
    with err.open("wb") as handle:
        st = os.fstat(handle.fileno())
        env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        config = tmp_path / "pec.toml"
        config.write_text(f'[[sources]]\nname = "pec"\nkind = "imap"\nhost = "127.0.0.1"\n'
                          f'port = {free_port()}\nusername = "u"\npassword = "p"\n')
        subprocess.run([sys.executable, str(ROOT / "run.py"), "--config", str(config), "poll",
                        "--once"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                       stderr=handle, timeout=120, check=True)
    lines = err.read_text().splitlines()
    assert any(line.startswith("<4>WARNING pec_intake.pipeline source=pec unreachable")
               for line in lines), lines
