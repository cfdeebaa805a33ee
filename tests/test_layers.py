"""The layer order of pyproject.toml's import-linter contract holds for the whole code base.

The contract lists the layers top to bottom (app > review > effects > notifier > store >
matching > intake > config > core); a module may import only from layers below its own. The
test runs import-linter over every layer package that exists, so a package added later
(``review/``) is checked from its first commit without editing the configuration.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _contract() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _layers() -> list[str]:
    (contract,) = _contract()["contracts"]
    return [name.strip("()") for name in contract["layers"]]


def _config_for(tree: Path, out: Path) -> Path:
    """The project's contract, with ``root_packages`` = the layers present under ``tree``."""
    (contract,) = _contract()["contracts"]
    present = [name for name in _layers() if (tree / name / "__init__.py").exists()]
    # a layer not (yet) present is optional: "(review)"
    layers = ", ".join(f'"{name}"' if name in present else f'"({name})"' for name in _layers())
    out.write_text(
        "[tool.importlinter]\n"
        f"root_packages = [{', '.join(repr(p) for p in present)}]\n"
        "[[tool.importlinter.contracts]]\n"
        f"name = {contract['name']!r}\ntype = \"layers\"\nlayers = [{layers}]\n")
    return out


def _lint(tree: Path, config: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True, "
            "no_logo=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(tree)})


def test_the_contract_names_every_layer_top_to_bottom():
    assert _layers() == ["app", "review", "effects", "notifier", "store", "matching",
                         "intake", "config", "core"]
    # every layer package that exists is also in the configured root packages (lint-imports)
    present = {n for n in _layers() if (ROOT / n / "__init__.py").exists()}
    assert present <= set(_contract()["root_packages"]) | {"review"}


def test_no_module_imports_a_higher_layer(tmp_path):
    result = _lint(ROOT, _config_for(ROOT, tmp_path / "layers.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_catches_a_lower_layer_importing_a_higher_one(tmp_path):
    """GIVEN a tree where core imports app WHEN linted with the project's contract THEN
    the contract is broken and names the import (the check can fail)."""
    for name, body in (("app", ""), ("core", "import app\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(body)
    result = _lint(tmp_path, _config_for(tmp_path, tmp_path / "layers.toml"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "core -> app" in result.stdout
