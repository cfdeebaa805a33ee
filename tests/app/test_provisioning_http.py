"""The http provisioning adapter against a local test platform (http.server on 127.0.0.1)
that honours idempotency keys the way the PEC platform's API must: a repeated key gets the
first call's answer and never a second renewal."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from app.pipeline import Pipeline
from app.provisioning import (
    HttpAdapter,
    LogAdapter,
    ProvisioningFailed,
    RenewalRequest,
    adapter_for,
)
from app.renewals import run_due
from config.settings import RenewalSettings
from notifier.transport import FolderTransport
from store.db import Database
from store.models import AuditRow, OrderRow
from tests.factories.payments import FakeClock, import_world, paid_orders, pay, settings_for

TOKEN = "tok-3f9a"
REQUEST = RenewalRequest(idempotency_key="renewal:RLM95055:7", order_code="RLM95055",
                         userid="U95055", pec_address="mario.rossi@pec.avvocati.example.it",
                         years=1, current_expiry=date(2026, 4, 22), new_expiry=date(2027, 4, 22))


class Platform(ThreadingHTTPServer):
    """The PEC platform's renewal API, as far as the adapter can tell."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PlatformHandler)
        self.renewed: dict[str, dict] = {}   # idempotency key -> the answer given
        self.requests: list[tuple[dict[str, str], dict]] = []
        self.fail_next: list[int] = []       # HTTP statuses for the next calls
        self.slow_answers = 0                # renew, then answer too late for the client
        self.answer_body: bytes | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/renewals"


class _PlatformHandler(BaseHTTPRequestHandler):
    server: Platform

    def log_message(self, *_args: object) -> None:  # keep the test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        platform = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        platform.requests.append((dict(self.headers), body))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"error": "bad token"})
        if platform.fail_next:
            status = platform.fail_next.pop(0)
            return self._answer(status, {"error": f"simulated {status}"})
        key = self.headers["Idempotency-Key"]
        if key not in platform.renewed:  # the one place a mailbox is really renewed
            platform.renewed[key] = {"new_expiry": body["new_expiry"],
                                     "reference": f"REN-{len(platform.renewed) + 1}"}
            if platform.slow_answers:
                platform.slow_answers -= 1
                time.sleep(1.0)
        if platform.answer_body is not None:
            return self._raw(200, platform.answer_body)
        return self._answer(200, platform.renewed[key])

    def _answer(self, status: int, payload: dict) -> None:
        self._raw(status, json.dumps(payload).encode())

    def _raw(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up waiting (the lost-answer case)


@pytest.fixture
def platform() -> Iterator[Platform]:
    server = Platform()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def adapter(platform: Platform, timeout: float = 5.0) -> HttpAdapter:
    return HttpAdapter(platform.url, TOKEN, timeout)


def test_the_embedded_default_is_the_log_adapter() -> None:
    assert isinstance(adapter_for(RenewalSettings()), LogAdapter)
    assert LogAdapter().renew(REQUEST).new_expiry == date(2027, 4, 22)


def test_a_renewal_call_carries_key_token_and_order(platform: Platform) -> None:
    done = adapter(platform).renew(REQUEST)
    assert (done.new_expiry, done.reference) == (date(2027, 4, 22), "REN-1")
    ((headers, body),) = platform.requests
    assert headers["Idempotency-Key"] == "renewal:RLM95055:7"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert body == {"order_code": "RLM95055", "userid": "U95055",
                    "pec_address": "mario.rossi@pec.avvocati.example.it", "years": 1,
                    "current_expiry": "2026-04-22", "new_expiry": "2027-04-22"}


def test_the_platform_expiry_wins(platform: Platform) -> None:
    platform.answer_body = b'{"new_expiry": "2027-05-01", "reference": 991}'
    done = adapter(platform).renew(REQUEST)
    assert (done.new_expiry, done.reference) == (date(2027, 5, 1), "991")


def test_a_garbled_success_keeps_our_expiry(platform: Platform) -> None:
    platform.answer_body = b"<html>OK</html>"
    assert adapter(platform).renew(REQUEST).new_expiry == date(2027, 4, 22)


@pytest.mark.parametrize(("status", "permanent"), [
    (503, False), (502, False), (429, False), (409, False), (400, True), (422, True),
    (404, True),
])
def test_which_errors_are_retried(platform: Platform, status: int, permanent: bool) -> None:
    platform.fail_next = [status]
    with pytest.raises(ProvisioningFailed) as failure:
        adapter(platform).renew(REQUEST)
    assert failure.value.permanent is permanent
    assert f"HTTP {status}" in failure.value.reason and platform.url in failure.value.reason


def test_a_wrong_token_is_permanent(platform: Platform) -> None:
    with pytest.raises(ProvisioningFailed) as failure:
        HttpAdapter(platform.url, "wrong", 5).renew(REQUEST)
    assert failure.value.permanent and "HTTP 401" in failure.value.reason


def test_an_unreachable_platform_is_retried() -> None:
    server = Platform()
    url = server.url
    server.server_close()  # nobody listens there now
    with pytest.raises(ProvisioningFailed) as failure:
        HttpAdapter(url, TOKEN, 2).renew(REQUEST)
    assert not failure.value.permanent and "unreachable" in failure.value.reason


def test_a_lost_answer_never_renews_twice(platform: Platform, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the platform renews but its answer arrives after our timeout, and then it is busy
    once WHEN the job is retried THEN the same key is sent, the mailbox was renewed exactly
    once on the platform, and the order is renewed with the platform's reference."""
    monkeypatch.setenv("PEC_TEST_RENEWAL_TOKEN", TOKEN)
    settings = settings_for(tmp_path, renewal={
        "delay_hours": 0, "adapter": "http", "http_url": platform.url,
        "http_token_env": "PEC_TEST_RENEWAL_TOKEN", "http_timeout_seconds": 0.5,
        "retry_seconds": 10, "max_attempts": 5})
    db = Database(settings.database_url)
    clock = FakeClock(datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    pipeline = Pipeline(settings, db, clock=clock, transport=FolderTransport(tmp_path / "out"))
    orders = paid_orders(1, date(2026, 4, 22))
    import_world(db, orders)
    pay(pipeline, orders)

    platform.slow_answers = 1
    assert pipeline.run_due_renewals() == 0          # timed out: the answer was lost
    platform.fail_next = [503]
    clock.advance(seconds=10)
    assert pipeline.run_due_renewals() == 0          # busy
    clock.advance(seconds=20)
    assert pipeline.run_due_renewals() == 1          # the repeated key: the first answer
    keys = {headers["Idempotency-Key"] for headers, _ in platform.requests}
    assert len(platform.requests) == 3 and keys == {"renewal:RLM96100:1"}
    assert list(platform.renewed) == ["renewal:RLM96100:1"]  # renewed once
    with db.session() as session:
        order = session.scalars(select(OrderRow)).one()
        reasons = session.scalars(select(AuditRow.reason).where(
            AuditRow.entity == "orders", AuditRow.new_value == "renewed")).all()
    assert (order.status, order.new_expiry_date) == ("renewed", date(2027, 4, 22))
    assert reasons == ["renewal job #1 (renewal:RLM96100:1), platform reference REN-1"]
    assert run_due(db, settings, clock.advance(days=1)) == 0
    db.dispose()


def test_a_timeout_counts_as_retryable(platform: Platform) -> None:
    platform.slow_answers = 1
    started = time.monotonic()
    with pytest.raises(ProvisioningFailed) as failure:
        adapter(platform, timeout=0.3).renew(REQUEST)
    assert not failure.value.permanent and time.monotonic() - started < 0.9
    assert adapter(platform).renew(REQUEST).reference == "REN-1"
