"""Debian's headless Chromium for the browser tests (../shared/recipes/: Playwright drives the
system browser; `playwright install` would download one and fails here)."""
from __future__ import annotations

import shutil
import socket

import pytest

CHROMIUM = "/usr/bin/chromium"
# without the background-networking flags Chromium keeps trying to reach the internet
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

needs_chromium = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                    reason="Debian's chromium is not installed")


def launch(playwright):  # noqa: ANN001, ANN201 (playwright.sync_api.Playwright -> Browser)
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
