"""The drop-folder source (CONTRACT.md's embedded default): files dropped in ``path`` are taken
in; once their outcome is committed they move to ``path/processed/`` or ``path/quarantine/``."""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from config.settings import LimitSettings, SourceSettings
from core.errors import SourceUnreachable
from intake.sources.base import IncomingMessage, Reserve, Settlement

log = logging.getLogger(__name__)

MAIL_SUFFIXES = {".eml"}
DOCUMENT_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}
# Files still being written by a copier or an editor: never half-read them.
PARTIAL_SUFFIXES = {".part", ".tmp", ".crdownload", ".swp"}
BATCH_FILES = 25
BATCH_BYTES = 32 * 1024 * 1024


class FolderSource:
    """Takes only finished files: a name starting with a dot or ending in ``.part``,
    ``.tmp``, ``.crdownload`` or ``.swp`` is a file still being written and is left alone
    (copy as ``x.pdf.part``, then rename: the rename is atomic); any other file is taken once
    its size and modification time have stayed the same for ``settle_seconds``. A file over
    ``limits.max_message_bytes`` is never read: it is recorded as refused and moved to
    quarantine whole."""

    def __init__(self, settings: SourceSettings, limits: LimitSettings | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        assert settings.path is not None
        self.name = settings.name
        self.path = settings.path
        self.fax_gateway = settings.fax_gateway
        self.settle_seconds = settings.settle_seconds
        self.max_bytes = (limits or LimitSettings()).max_message_bytes
        self.processed = self.path / "processed"
        self.quarantine = self.path / "quarantine"
        self._sleep = sleep

    def fetch(self) -> Iterator[IncomingMessage]:
        for batch in self.batches():
            yield from batch

    def batches(self, reserve: Reserve | None = None,
                size: int = BATCH_FILES) -> Iterator[list[IncomingMessage]]:
        """Finished files in name order, ``size`` at a time; a file's identity needs its
        hash, so ``reserve`` is asked once the batch is read."""
        batch: list[IncomingMessage] = []
        held = 0  # bytes read ahead: a batch of big files is cut short
        for message in self._messages():
            batch.append(message)
            held += len(message.raw)
            if len(batch) >= size or held >= BATCH_BYTES:
                yield self._reserved(batch, reserve)
                batch, held = [], 0
        if batch:
            yield self._reserved(batch, reserve)

    @staticmethod
    def _reserved(batch: list[IncomingMessage],
                  reserve: Reserve | None) -> list[IncomingMessage]:
        if reserve is None:
            return batch
        allowed = reserve([m.stable_id for m in batch])
        return [m for m in batch if m.stable_id in allowed]

    def _messages(self) -> Iterator[IncomingMessage]:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            entries = sorted(self.path.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            raise SourceUnreachable(f"folder {self.path} cannot be read: {exc}") from exc
        for entry, seen in self._finished([e for e in entries if _candidate(e)]):
            message = self._take(entry, seen)
            if message is not None:
                yield message

    def _finished(self, entries: list[Path]) -> list[tuple[Path, os.stat_result]]:
        """The files whose size and mtime held still for ``settle_seconds``: those older
        than that at once, the younger ones after one wait (at most ``settle_seconds``)
        if they did not change meanwhile; a file still changing waits for the next poll."""
        stats = [(entry, _stat(entry)) for entry in entries]
        stats = [(entry, st) for entry, st in stats if st is not None]
        now = time.time()
        young = [(e, st) for e, st in stats if now - st.st_mtime < self.settle_seconds]
        if young:
            youngest = max(st.st_mtime for _e, st in young)
            self._sleep(max(0.0, min(self.settle_seconds,
                                     youngest + self.settle_seconds - now)))
        finished = []
        for entry, st in stats:
            if (entry, st) in young:
                again = _stat(entry)
                if again is None or (again.st_size, again.st_mtime_ns) != \
                        (st.st_size, st.st_mtime_ns):
                    log.info("source=%s file=%s is still being written: next poll",
                             self.name, entry.name)
                    continue
            finished.append((entry, st))
        return finished

    def _take(self, entry: Path, seen: os.stat_result) -> IncomingMessage | None:
        common = dict(source=self.name, key=entry.name, filename=entry.name,
                      is_mail=entry.suffix.lower() in MAIL_SUFFIXES,
                      fax_gateway=self.fax_gateway)
        if seen.st_size > self.max_bytes:  # checked before reading anything
            return IncomingMessage(
                **common, raw=b"", identity=f"{entry.name}|{seen.st_mtime_ns}|{seen.st_size}",
                metadata={"size": str(seen.st_size), "rejected": (
                    f"file of {seen.st_size} bytes is over the limit of {self.max_bytes} "
                    "bytes (limits.max_message_bytes); not read, moved to quarantine whole")})
        try:
            with entry.open("rb") as handle:
                raw = handle.read(self.max_bytes + 1)
        except FileNotFoundError:
            return None  # taken by a concurrent run
        except OSError as exc:
            log.warning("source=%s file=%s cannot be read: %s", self.name, entry.name, exc)
            return None
        if len(raw) != seen.st_size:
            log.info("source=%s file=%s changed while read: next poll", self.name, entry.name)
            return None
        return IncomingMessage(
            **common, raw=raw,
            identity=f"{entry.name}|{seen.st_mtime_ns}|{hashlib.sha256(raw).hexdigest()}")

    def settle(self, message: IncomingMessage, settlement: Settlement) -> None:
        target_dir = self.processed if settlement is Settlement.PROCESSED else self.quarantine
        target_dir.mkdir(parents=True, exist_ok=True)
        source = self.path / message.key
        target = _free_name(target_dir, message.key)
        try:
            os.replace(source, target)
        except FileNotFoundError:
            log.info("source=%s file=%s already moved by another run", self.name, message.key)

    def settle_many(self, items: list[tuple[IncomingMessage, Settlement]]) -> None:
        for message, settlement in items:
            self.settle(message, settlement)

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


def _candidate(entry: Path) -> bool:
    if entry.name.startswith(".") or entry.suffix.lower() in PARTIAL_SUFFIXES:
        return False
    try:
        return entry.is_file()
    except OSError:
        return False


def _stat(entry: Path) -> os.stat_result | None:
    try:
        return entry.stat()
    except OSError:
        return None
