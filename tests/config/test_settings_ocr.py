"""[ocr] second_engine: where the second OCR engine runs (issue 13)."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import load_settings
from core.errors import ConfigError


def test_the_second_engine_runs_on_every_image_page_by_default(tmp_path: Path) -> None:
    path = tmp_path / "pec.toml"
    path.write_text("")
    assert load_settings(path).ocr.second_engine == "always"
    path.write_text('[ocr]\nsecond_engine = "doubtful"\n')
    assert load_settings(path).ocr.second_engine == "doubtful"


def test_an_unknown_policy_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "pec.toml"
    path.write_text('[ocr]\nsecond_engine = "sometimes"\n')
    with pytest.raises(ConfigError, match=r"ocr\.second_engine: must be one of always, "
                                          r"doubtful, off; got 'sometimes'"):
        load_settings(path)
