"""The README's first command runs `python run.py demo`: it must show paid orders and be
safe to run twice."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import run_subprocess


def test_demo_shows_orders_paid_and_runs_twice(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    for _ in range(2):
        result = run_subprocess("demo", "--dir", str(folder), cwd=tmp_path)
        assert result.code == 0, result.err
        assert "RLM95055  Mario Rossi       pending  paid" in result.out
        assert "Pagamento ricevuto - ordine RLM95055" in result.out
        assert "quarantined" in result.out and "duplicate" in result.out
    assert len(list((folder / "var/outbox").glob("*.eml"))) >= 5


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("do not delete")
    result = run_subprocess("demo", "--dir", str(tmp_path / "precious"), cwd=tmp_path)
    assert result.code == 2 and "not a demo folder" in result.err
    assert (tmp_path / "precious" / "thesis.txt").exists()
