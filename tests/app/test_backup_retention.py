"""Backups that are proven to restore, and the retention of originals that never touches a
receipt still in review."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config.settings import embedded_defaults
from store.originals import OriginalStore
from tests.conftest import ROOT, run_subprocess
from tests.factories.scenario import write_scenario


def test_prune_keeps_the_originals_of_receipts_in_review(workdir: Path, cli) -> None:  # noqa: ANN001
    write_scenario(workdir, workdir / "var/inbox")
    assert cli("orders", "import", "orders.csv").code == 0
    assert cli("poll", "--once").code == 0
    settings = embedded_defaults(workdir)
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:  # everything arrived long ago
        conn.execute(text("UPDATE messages SET received_at = :old"),
                     {"old": datetime(2020, 1, 1, tzinfo=UTC)})
        rows = conn.execute(text("SELECT sha256, status FROM messages")).all()
    engine.dispose()
    store = OriginalStore(settings.originals_dir)
    assert all(store.path_for(d).exists() for d, _ in rows)
    assert cli("originals", "prune").code == 2  # no retention configured: says so
    dry = cli("originals", "prune", "--days", "365", "--dry-run")
    assert dry.code == 0 and "would remove" in dry.out
    assert all(store.path_for(d).exists() for d, _ in rows)
    done = cli("originals", "prune", "--days", "365")
    assert done.code == 0, done.err
    in_review = {d for d, status in rows if status == "unmatched"}
    assert in_review and all(store.path_for(d).exists() for d in in_review)
    gone = {d for d, status in rows if d not in in_review}
    assert gone and not any(store.path_for(d).exists() for d in gone)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="PostgreSQL client not installed")
def test_backup_restores_and_a_damaged_one_is_caught(tmp_path: Path, postgres_server) -> None:  # noqa: ANN001
    url = postgres_server.create_database(f"b_{uuid.uuid4().hex[:8]}")
    config = tmp_path / "pec.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    write_scenario(tmp_path, tmp_path / "var/inbox")
    for args in (["orders", "import", "orders.csv"], ["poll", "--once"]):
        assert run_subprocess("--config", str(config), *args, cwd=tmp_path).code == 0
    env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
    env["PYTHON"] = sys.executable
    made = subprocess.run(["bash", str(ROOT / "deploy/backup.sh"), url,
                           str(tmp_path / "var/originals"), str(tmp_path / "backups")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    admin = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"
    check = subprocess.run(["bash", str(ROOT / "deploy/check-backup.sh"), str(backup), admin],
                           capture_output=True, text=True, env=env, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 missing or damaged" in check.stdout and "restores" in check.stdout
    # a backup whose originals lack one the database names does not pass
    work = tmp_path / "damaged"
    shutil.copytree(backup, work)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-C", str(unpacked), "-xf", str(work / "originals.tar")], check=True)
    next(p for p in unpacked.rglob("*") if p.is_file()).unlink()
    subprocess.run(["tar", "-C", str(unpacked), "-cf", str(work / "originals.tar"), "."],
                   check=True)
    subprocess.run("sha256sum database.dump originals.tar > SHA256SUMS", shell=True,
                   cwd=work, check=True)
    bad = subprocess.run(["bash", str(ROOT / "deploy/check-backup.sh"), str(work), admin],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "1 missing or damaged" in bad.stdout
