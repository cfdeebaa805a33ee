"""The drop-folder source (CONTRACT.md's embedded default): files dropped in ``path`` are taken
in; once their outcome is committed they move to ``path/processed/`` or ``path/quarantine/``."""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from config.settings import SourceSettings
from core.errors import SourceUnreachable
from intake.sources.base import IncomingMessage, Settlement

log = logging.getLogger(__name__)

MAIL_SUFFIXES = {".eml"}
DOCUMENT_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}
# Files still being written by a copier or an editor: never half-read them.
PARTIAL_SUFFIXES = {".part", ".tmp", ".crdownload", ".swp"}


class FolderSource:
    def __init__(self, settings: SourceSettings) -> None:
        assert settings.path is not None
        self.name = settings.name
        self.path = settings.path
        self.fax_gateway = settings.fax_gateway
        self.processed = self.path / "processed"
        self.quarantine = self.path / "quarantine"

    def fetch(self) -> Iterator[IncomingMessage]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            entries = sorted(self.path.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise SourceUnreachable(f"folder {self.path} cannot be read: {exc}") from exc
        for entry in entries:
            if not entry.is_file() or entry.name.startswith("."):
                continue
            if entry.suffix.lower() in PARTIAL_SUFFIXES:
                continue
            try:
                raw = entry.read_bytes()
                mtime_ns = entry.stat().st_mtime_ns
            except FileNotFoundError:
                continue  # taken by a concurrent run
            except OSError as exc:
                log.warning("source=%s file=%s cannot be read: %s", self.name, entry.name, exc)
                continue
            yield IncomingMessage(
                source=self.name, key=entry.name, raw=raw, filename=entry.name,
                is_mail=entry.suffix.lower() in MAIL_SUFFIXES, fax_gateway=self.fax_gateway,
                identity=f"{entry.name}|{mtime_ns}|{hashlib.sha256(raw).hexdigest()}",
            )

    def settle(self, message: IncomingMessage, settlement: Settlement) -> None:
        target_dir = self.processed if settlement is Settlement.PROCESSED else self.quarantine
        target_dir.mkdir(parents=True, exist_ok=True)
        source = self.path / message.key
        target = _free_name(target_dir, message.key)
        try:
            os.replace(source, target)
        except FileNotFoundError:
            log.info("source=%s file=%s already moved by another run", self.name, message.key)

    def close(self) -> None:
        pass


def _free_name(folder: Path, name: str) -> Path:
    """``name`` in ``folder``, or ``stem-2.ext`` and so on when a file of that name is there."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate
