"""The CLI of CONTRACT.md's review section: users, receipts match/dismiss/requeue, and the
queue page's query count (it must not grow with the page size)."""
from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from app.cli import main
from review import queue
from store.models import OrderRow, OutgoingMailRow
from tests.factories.review import make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    # the CLI runs on the real clock: mailboxes that expire soon from today renew online
    w = make_world(tmp_path, expiry=date.today() + timedelta(days=20))
    monkeypatch.setenv("PEC_INTAKE_CONFIG", str(tmp_path / "test.toml"))
    (tmp_path / "test.toml").write_text(
        '[database]\nurl = "sqlite:///intake.sqlite3"\n'
        '[[sources]]\nname = "inbox"\nkind = "folder"\npath = "var/inbox"\n')
    return w


def run(capsys, *args: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:  # noqa: ANN001
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_disable_enable(world, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, "users", "add", "anna", "--role", "accountant",
                       "--password-stdin", stdin="una-password-lunga\n", monkeypatch=monkeypatch)
    assert code == 0 and "anna" in out and len(out.strip().splitlines()) == 1
    run(capsys, "users", "add", "vera", "--role", "viewer", "--password-stdin",
        stdin="un'altra-password\n", monkeypatch=monkeypatch)
    code, out, _ = run(capsys, "users", "list", "--json")
    import json
    assert json.loads(out) == [{"name": "anna", "role": "accountant", "disabled": False},
                               {"name": "vera", "role": "viewer", "disabled": False}]
    assert run(capsys, "users", "disable", "vera")[0] == 0
    assert json.loads(run(capsys, "users", "list", "--json")[1])[1]["disabled"] is True
    assert run(capsys, "users", "enable", "vera")[0] == 0
    code, _, err = run(capsys, "users", "add", "anna", "--role", "accountant",
                       "--password-stdin", stdin="una-password-lunga\n", monkeypatch=monkeypatch)
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "users", "add", "bob", "--role", "boss", "--password-stdin",
                       stdin="x" * 12 + "\n", monkeypatch=monkeypatch)
    assert code == 2


def test_receipts_match_pays_once_with_the_automatic_effects(world, capsys) -> None:
    rid = world.short_payment(0)
    code = world.orders[0].code
    assert run(capsys, "receipts", "match", str(rid), code, "--by", "anna",
               "--reason", "commissione bancaria")[0] == 0
    with world.db.session() as session:
        row = session.scalar(select(OrderRow).where(OrderRow.code == code))
        assert row.status == "paid"
        mails = session.scalars(select(OutgoingMailRow)).all()
    assert len(mails) == 1
    import json
    listed = {r["id"]: r for r in json.loads(run(capsys, "receipts", "list", "--json")[1])}
    assert listed[rid]["status"] == "matched" and listed[rid]["order_codes"] == [code]
    assert listed[rid]["reviewed_by"] == "anna" and listed[rid]["reviewed_at"]
    code2, _, err = run(capsys, "receipts", "match", str(rid), code)
    assert code2 == 2 and len(mails) == 1


def test_receipts_dismiss_and_requeue_also_for_duplicates(world, capsys) -> None:
    import json
    rid = world.short_payment(0)
    assert run(capsys, "receipts", "dismiss", str(rid), "--reason", "newsletter")[0] == 0
    listed = {r["id"]: r for r in json.loads(run(capsys, "receipts", "list", "--json")[1])}
    assert listed[rid]["status"] == "dismissed" and listed[rid]["reviewed_by"] == "cli"
    assert run(capsys, "receipts", "requeue", str(rid), "--by", "anna")[0] == 0
    listed = {r["id"]: r for r in json.loads(run(capsys, "receipts", "list", "--json")[1])}
    assert listed[rid]["status"] == "unmatched" and listed[rid]["reviewed_by"] == "anna"
    # once paid, the same receipt sent again is a duplicate; requeue brings it back
    assert run(capsys, "receipts", "match", str(rid), world.orders[0].code)[0] == 0
    again = world.short_payment(0, again=1)
    listed = {r["id"]: r for r in json.loads(run(capsys, "receipts", "list", "--json")[1])}
    assert listed[again]["status"] == "duplicate"
    assert run(capsys, "receipts", "requeue", str(again))[0] == 0
    listed = {r["id"]: r for r in json.loads(run(capsys, "receipts", "list", "--json")[1])}
    assert listed[again]["status"] == "unmatched" and listed[again]["duplicate_of"] is None
    code, _, err = run(capsys, "receipts", "dismiss", "9999", "--reason", "x")
    assert code == 2 and "9999" in err


def test_a_match_undone_and_made_again_sends_its_mail(world) -> None:
    from review import actions
    rid = world.short_payment(0)
    code = world.orders[0].code
    ctx = actions.ReviewContext(world.settings, world.clock)
    with world.db.session() as session:
        actions.match(session, ctx, rid, [code], actor="anna", confirmed=True)
    with world.db.session() as session:
        actions.undo(session, ctx, rid, actor="anna")
    with world.db.session() as session:
        actions.match(session, ctx, rid, [code], actor="anna", confirmed=True)
    with world.db.session() as session:
        statuses = [m.status for m in session.scalars(select(OutgoingMailRow)
                                                      .order_by(OutgoingMailRow.id))]
    assert statuses == ["cancelled", "queued"]
    world.clock.advance(seconds=31)
    assert world.pipeline.deliver_mail() == (1, 0)


def test_queue_page_query_count_does_not_grow_with_the_page_size(world) -> None:
    for i in range(6):
        world.short_payment(i)
    counts = {}
    for size in (2, 6):
        with world.db.session() as session:
            queue.sync(session)
            seen: list[str] = []
            listener = lambda *a, seen=seen: seen.append(a[2])  # noqa: E731
            event.listen(world.db.engine, "before_cursor_execute", listener)
            try:
                page = queue.queue_page(session, queue.QueueFilters(), today=world.clock().date(),
                                        page_size=size, urgent_days=14)
            finally:
                event.remove(world.db.engine, "before_cursor_execute", listener)
            assert len(page.items) == size
            counts[size] = len(seen)
    assert counts[2] == counts[6] <= 5, counts


def test_review_command_serves_the_ui_on_the_configured_port(tmp_path: Path) -> None:
    """The real entry point: ``run.py review`` listens on [review] host:port, answers
    /login, sends everything else there, and stops cleanly on SIGTERM."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "pec.toml"
    config.write_text(f'[database]\nurl = "sqlite:///db.sqlite3"\n[review]\nport = {port}\n')
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_SECRET"}
    proc = subprocess.Popen([sys.executable, str(root / "run.py"), "--config", str(config),
                             "review"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "review did not start"
                time.sleep(0.2)
        assert login.status_code == 200 and 'name="username"' in login.text
        queue = httpx.get(f"http://127.0.0.1:{port}/queue", follow_redirects=False)
        assert queue.status_code == 303 and queue.headers["location"].startswith("/login")
        assert (tmp_path / "var" / "review-secret.key").stat().st_mode & 0o077 == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_session_cookie_is_secure_over_https(world) -> None:
    from fastapi.testclient import TestClient

    from review.web import create_app
    from tests.factories.review import login
    world.user("anna")
    client = TestClient(create_app(world.settings, world.db), base_url="https://testserver")
    response = login(client, "anna")
    assert "Secure" in response.history[0].headers["set-cookie"]
