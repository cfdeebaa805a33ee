"""The one hierarchy of *expected* failures.

Each carries a human reason: the text becomes a quarantine reason, a review reason or the
one-line message of an exit-2 error. Anything not derived from ``IntakeError`` is a bug: it is
logged with context and never swallowed.
"""
from __future__ import annotations


class IntakeError(Exception):
    """Base of every expected failure; ``reason`` is what a person reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class ConfigError(IntakeError):
    """The configuration file or the command line is wrong (exit status 2)."""


class BadMessage(IntakeError):
    """An incoming message cannot be parsed at all (empty, not MIME, ...): quarantined."""


class BadDocument(IntakeError):
    """A document inside a message cannot be read (corrupt, encrypted, over a limit)."""


class NeedsOcr(BadDocument):
    """A document has no usable text layer and no OCR engine is available to read it."""


class SourceUnreachable(IntakeError):
    """A configured source (folder, IMAP server) cannot be reached right now; retried later."""


class OverBudget(BadMessage):
    """Processing one message took longer than its wall-clock budget: quarantined."""


class Deadline:
    """The wall-clock budget of one message. Stages call ``check(where)`` between pieces
    of work (documents, pages); past the budget it raises ``OverBudget`` naming the bound.
    A stage stuck inside one call is caught by the pipeline's watchdog instead."""

    def __init__(self, seconds: float, *, setting: str = "limits.message_seconds",
                 clock=None) -> None:  # noqa: ANN001 - a monotonic clock
        import time
        self._clock = clock or time.monotonic
        self.seconds = seconds
        self.setting = setting
        self.expires = self._clock() + seconds

    def remaining(self) -> float:
        return self.expires - self._clock()

    def check(self, where: str) -> None:
        if self.remaining() < 0:
            raise OverBudget(self.reason(where))

    def reason(self, where: str) -> str:
        return (f"over the time budget of {self.seconds:g} s per message ({self.setting}) "
                f"in {where}")


class StorageError(IntakeError):
    """The database or the disk cannot be used right now (cannot be opened, corrupt, full):
    nothing can be recorded, so a command stops with exit status 1 and one line."""
