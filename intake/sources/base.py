"""The contract every source keeps."""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol


class Settlement(enum.Enum):
    """Where a message goes once its outcome is committed."""

    PROCESSED = "processed"
    QUARANTINED = "quarantined"


# Several workers on one source: given the identities of a batch about to be downloaded,
# returns those this worker holds now (the others are another worker's).
Reserve = Callable[[list[str]], set[str]]


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

    def batches(self, reserve: Reserve | None = None) -> Iterator[list[IncomingMessage]]:
        """``fetch`` in batches (one download each where the source can); with ``reserve``,
        only the messages it grants are read and yielded."""
        ...

    def settle(self, message: IncomingMessage, settlement: Settlement) -> None:
        """Moves a message out of the way; called only after its outcome is committed."""
        ...

    def settle_many(self, items: list[tuple[IncomingMessage, Settlement]]) -> None:
        """``settle`` for several messages at once (one round trip where the source can)."""
        ...

    def close(self) -> None: ...
