"""The contract every source keeps."""
from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


class Settlement(enum.Enum):
    """Where a message goes once its outcome is committed."""

    PROCESSED = "processed"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class IncomingMessage:
    """One message as it came in, before any parsing.

    ``key`` is what the source needs to settle it (a file name; an IMAP UID);
    ``identity`` names this one arrival for exactly-once processing (for a folder: name,
    modification time and content hash; for IMAP ``"<uidvalidity>:<uid>"``), so a message
    seen again after a crash is recognised, while the same bytes dropped again later are a
    new arrival (and then a duplicate). ``raw`` is the exact bytes, kept as the original.
    ``is_mail`` says whether ``raw`` is an RFC 5322 message or a bare document file.
    """

    source: str
    key: str
    raw: bytes
    filename: str | None
    is_mail: bool
    fax_gateway: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    identity: str = ""

    @property
    def stable_id(self) -> str:
        return self.identity or self.key


class Source(Protocol):
    name: str

    def fetch(self) -> Iterator[IncomingMessage]:
        """Yields the messages waiting now, oldest first. Raises SourceUnreachable."""
        ...

    def settle(self, message: IncomingMessage, settlement: Settlement) -> None:
        """Moves a message out of the way; called only after its outcome is committed."""
        ...

    def close(self) -> None: ...
