"""Nothing is SQLite-only: the schema and the whole pipeline run on a real PostgreSQL."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.factories.scenario import inbox_items, write_scenario
from tests.servers.postgres import PostgresServer, postgres_bin

pytestmark = pytest.mark.skipif(postgres_bin() is None,
                                reason="PostgreSQL not installed (scripts/test.sh installs it)")


@pytest.fixture(scope="module")
def postgres():  # noqa: ANN201
    server = PostgresServer().start()
    yield server
    server.stop()


def test_sample_day_on_postgresql(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:8]}")
    config = tmp_path / "pec.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    write_scenario(tmp_path, tmp_path / "var/inbox")
    for args in (["init"], ["init"], ["orders", "import", "orders.csv"], ["poll", "--once"],
                 ["poll", "--once"]):
        result = run_subprocess("--config", str(config), *args, cwd=tmp_path)
        assert result.code == 0, result.err
    assert "0 new message(s)" in result.out  # the second poll changed nothing
    receipts = run_subprocess("--config", str(config), "receipts", "list", "--json",
                              cwd=tmp_path)
    statuses = sorted(r["status"] for r in json.loads(receipts.out))
    assert statuses == sorted(item.expected_status for item in inbox_items())
    orders = run_subprocess("--config", str(config), "orders", "list", "--json",
                            "--status", "paid", cwd=tmp_path)
    paid = json.loads(orders.out)
    assert {o["code"] for o in paid} == {c for item in inbox_items()
                                         if item.expected_status == "matched"
                                         for c in item.expected_orders}
    assert all(o["paid_amount"] == o["amount"] for o in paid)
