"""Poison messages (issue 11): each ends with a committed outcome and a reason, none stops
the messages after it, and a folder of good receipts mixed with them is paid and mailed once,
through the CLI (``poll --once``) and the daemon (``run``)."""
from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_subprocess
from tests.factories.poison import poisons
from tests.factories.receipts import OrderSpec, ReceiptSpec, orders_csv, receipt_pdf
from tests.factories.scenario import ORDERS as SCENARIO_ORDERS
from tests.factories.scenario import inbox_items

GOOD = [item for item in inbox_items() if item.expected_status == "matched"]


def _world(folder: Path) -> Path:
    """A config with a drop folder holding the good receipts and one of each poison."""
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    orders = SCENARIO_ORDERS + [p.order for p in poisons() if p.order] + \
        [OrderSpec("RLM96500", SCENARIO_ORDERS[0].amount, "Ada Neri", "ada@example.com")]
    (folder / "orders.csv").write_text(orders_csv(orders))
    for item in GOOD:
        (inbox / item.filename).write_bytes(item.data)
    for poison in poisons():
        (inbox / poison.filename).write_bytes(poison.data)
    old = time.time() - 60  # finished files: the folder takes them without waiting
    for path in inbox.iterdir():
        os.utime(path, (old, old))
    config = folder / "pec-intake.toml"
    config.write_text('[database]\nurl = "sqlite:///intake.sqlite3"\n[outbox]\ndir = "outbox"\n'
                      '[storage]\noriginals_dir = "originals"\n[[sources]]\nname = "inbox"\n'
                      'kind = "folder"\npath = "inbox"\n')
    result = run_subprocess("--config", str(config), "orders", "import",
                            str(folder / "orders.csv"), cwd=folder)
    assert result.code == 0, result.err
    return config


def _receipts(config: Path) -> dict[str, dict]:
    result = run_subprocess("--config", str(config), "receipts", "list", "--json",
                            cwd=config.parent)
    assert result.code == 0, result.err
    return {r["source_ref"]: r for r in result.json()}


def _mails(folder: Path) -> list[tuple[str, str]]:
    mails = []
    for path in sorted((folder / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails.append((str(msg["To"]), str(msg["Subject"])))
    return mails


def _check_outcomes(folder: Path, config: Path) -> None:
    by_name = _receipts(config)
    receipts = list(by_name.values())
    assert len(receipts) == len(GOOD) + len(poisons()), sorted(by_name)
    assert all(r["status"] != "received" for r in receipts)
    orders = {o["code"]: o for o in run_subprocess(
        "--config", str(config), "orders", "list", "--json", cwd=folder).json()}
    for item in GOOD:
        assert orders[item.expected_orders[0]]["status"] == "paid", item.filename
    for poison in poisons():
        if poison.order is not None:  # a hostile header around a good receipt: paid
            assert orders[poison.order.code]["status"] == "paid", poison.name
    statuses = [r["status"] for r in receipts]
    reasons = [r["reason"] or "" for r in receipts]
    for poison in poisons():
        if poison.reason is not None:
            assert any(poison.reason in reason for reason in reasons), (poison.name, *reasons)
    assert statuses.count("quarantined") == sum(p.expected == "quarantined" for p in poisons())
    assert not any("internal error" in reason for reason in reasons), reasons
    # each paid order mailed exactly once
    paid = [o for o in orders.values() if o["status"] == "paid"]
    mails = _mails(folder)
    assert len(set(mails)) == len(mails)  # nothing sent twice (proof requests included)
    # a claim written in a body is asked, once, for the bank's document: not a confirmation
    confirmations = [m for m in mails if m[1].startswith("Pagamento ricevuto")]
    assert sorted(m[1].rsplit(" ", 1)[-1] for m in confirmations) == \
        sorted(o["code"] for o in paid)
    assert sorted(p.name for p in (folder / "inbox").iterdir() if p.is_file()) == []
    quarantined = {p.name for p in (folder / "inbox" / "quarantine").iterdir()}
    assert {p.filename for p in poisons() if p.expected == "quarantined"} == quarantined


def test_poll_once_pays_the_good_and_quarantines_the_poison_with_reasons(tmp_path):
    """GIVEN a drop folder of good receipts and one message of each poison kind
    WHEN ``poll --once`` runs (twice) THEN it exits 0, every good receipt is paid and mailed
    once, each poison ends with its reason (quarantined when nothing in it is readable,
    paid when a hostile header wraps a good receipt), and the second poll changes nothing."""
    config = _world(tmp_path)
    first = run_subprocess("--config", str(config), "poll", "--once", cwd=tmp_path,
                           timeout=600)
    assert first.code == 0, first.err
    assert f"poll: {len(GOOD) + len(poisons())} new message(s)" in first.out
    assert "Traceback" not in first.err
    _check_outcomes(tmp_path, config)
    again = run_subprocess("--config", str(config), "poll", "--once", cwd=tmp_path)
    assert again.code == 0 and again.out.startswith("poll: 0 new message(s)"), again.out
    _check_outcomes(tmp_path, config)


def test_run_does_the_same_within_one_cycle_and_goes_on(tmp_path):
    """GIVEN the same folder WHEN the daemon runs THEN one cycle ends every message as
    ``poll --once`` does, and a receipt dropped afterwards is paid too."""
    config = _world(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                             "run"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"))
    try:
        _wait(lambda: not any(p.is_file() for p in (tmp_path / "inbox").iterdir()), 300)
        _wait(lambda: len([m for m in _mails(tmp_path)
                           if m[1].startswith("Pagamento ricevuto")]) >= len(GOOD) + 3, 60)
        _check_outcomes(tmp_path, config)
        late = ReceiptSpec(codes=("RLM96500",), payer="Ada Neri", reference="0306965000000001")
        (tmp_path / "inbox" / "late.pdf.part").write_bytes(receipt_pdf(late))
        os.replace(tmp_path / "inbox" / "late.pdf.part", tmp_path / "inbox" / "late.pdf")
        _wait(lambda: (tmp_path / "inbox" / "processed" / "late.pdf").exists(), 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(errors="replace")
    assert "unreachable" not in log.read_text(errors="replace")
    receipts = _receipts(config)
    assert receipts["late.pdf"]["status"] == "matched"


def _wait(condition, timeout: float) -> None:  # noqa: ANN001
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s")


@pytest.mark.parametrize("poison", poisons(), ids=lambda p: p.name)
def test_each_poison_ends_with_its_outcome(tmp_path, poison):
    from intake.sources import IncomingMessage
    from matching.orders import parse_orders_csv
    from store.orderbook import import_orders
    from tests.factories.fuzzing import make_pipeline
    pipeline, db = make_pipeline(tmp_path)
    if poison.order is not None:
        with db.session() as session:
            import_orders(session, parse_orders_csv(orders_csv([poison.order])), actor="t")
    outcome = pipeline.take_in(IncomingMessage(
        "inbox", poison.filename, poison.data, poison.filename,
        poison.filename.endswith(".eml"), identity=poison.name))
    assert outcome.status == poison.expected, outcome
    if poison.reason:
        assert poison.reason in outcome.reason
    assert json.dumps(outcome.reason)  # one printable reason


def test_poison_in_a_mailbox_goes_to_quarantine_and_the_rest_is_processed(tmp_path):
    """GIVEN an IMAP mailbox (real Dovecot) holding each poison mail and a good receipt
    WHEN ``poll --once`` runs THEN it exits 0, the poison that carries nothing readable is in
    the Quarantine mailbox with its reason, and everything else is in Processed."""
    from tests.factories.mailboxes import imap_source_toml, receipt_email, write_config
    from tests.servers.dovecot import Dovecot
    mails = [p for p in poisons() if p.filename.endswith(".eml")]
    good = ReceiptSpec(codes=("RLM96500",), payer="Ada Neri", reference="0306965000000002")
    with Dovecot({"amministrazione": "segreta"}) as server:
        config = write_config(tmp_path, [imap_source_toml(
            "amministrazione", server.port, "amministrazione", "segreta")])
        (tmp_path / "orders.csv").write_text(orders_csv(
            [p.order for p in mails if p.order] +
            [OrderSpec("RLM96500", SCENARIO_ORDERS[0].amount, "Ada Neri", "ada@example.com")]))
        assert run_subprocess("--config", str(config), "orders", "import",
                              str(tmp_path / "orders.csv"), cwd=tmp_path).code == 0
        server.append("amministrazione", [p.data for p in mails] +
                      [receipt_email(good, sender="ada@example.com")])
        result = run_subprocess("--config", str(config), "poll", "--once", cwd=tmp_path,
                                timeout=600)
        assert result.code == 0, result.err
        quarantined = sum(p.expected == "quarantined" for p in mails)
        assert server.count("amministrazione") == 0
        assert server.count("amministrazione", "Quarantine") == quarantined
        assert server.count("amministrazione", "Processed") == len(mails) + 1 - quarantined
    receipts = list(_receipts(config).values())
    assert all(r["status"] != "received" and (r["status"] == "matched" or r["reason"])
               for r in receipts)
    assert not any("internal error" in (r["reason"] or "") for r in receipts)
