"""An IMAP mailbox as a source (RFC 3501), with imapclient.

Messages are fetched oldest first with ``BODY.PEEK[]`` (never marked seen before their
outcome is committed) and named ``"<UIDVALIDITY>:<UID>"`` for exactly-once processing.
Settling MOVEs a message (RFC 6851) to the processed or quarantine mailbox, creating it if
missing; without MOVE it is COPYed, flagged ``\\Deleted`` and removed with UID EXPUNGE
(RFC 4315), or EXPUNGE when UIDPLUS is absent too. ``wait_for_changes`` blocks in IDLE
(RFC 2177) where offered, re-issued before the server's 30-minute timeout.
"""
from __future__ import annotations

import hashlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email.parser import BytesHeaderParser

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from config.settings import LimitSettings, SourceSettings
from config.tls import client_context
from core.errors import SourceUnreachable
from intake.sources.base import IncomingMessage, Reserve, Settlement

log = logging.getLogger(__name__)

# RFC 2177: servers may drop an IDLE after 30 minutes; re-issue it well before.
IDLE_RENEW_SECONDS = 25 * 60
TIMEOUT_SECONDS = 30.0
# Errors that mean "the server or the network is not there right now".
NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, IMAPClientError, EOFError)
# One download: this many messages, or this many bytes (a message alone may be bigger).
BATCH_MESSAGES = 25
BATCH_BYTES = 32 * 1024 * 1024


class ImapSource:
    def __init__(self, settings: SourceSettings, limits: LimitSettings | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.limits = limits or LimitSettings()
        self.client: IMAPClient | None = None
        self.uidvalidity: int | None = None
        self.exists = 0
        self._deleted: set[int] = set()
        # target mailbox -> (Message-ID, sha256) of what this run moved there
        self._moved: dict[str, list[tuple[str, str]]] = {}
        self._caps: set[bytes] | None = None  # of this connection
        self._mailboxes: set[str] = set()  # known to exist, on this connection

    # --- connection ---------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        return client_context(self.settings.ca_file, self.settings.verify_certificate)

    def connect(self) -> IMAPClient:
        if self.client is not None:
            return self.client
        s = self.settings
        where = f"{s.host}:{s.port} ({s.security})"
        try:
            context = self._tls_context() if s.security != "none" else None
            client = IMAPClient(s.host, port=s.port, ssl=s.security == "ssl",
                                ssl_context=context, timeout=TIMEOUT_SECONDS)
        except NETWORK_ERRORS as exc:
            raise SourceUnreachable(f"IMAP server {where} cannot be reached: {exc}") from exc
        doing = "STARTTLS"
        try:
            if s.security == "starttls":
                client.starttls(context)
            doing = "login"
            client.login(s.username or "", s.password or "")
        except NETWORK_ERRORS as exc:
            _quietly(client.shutdown)
            what = f"{doing} refused" if isinstance(exc, IMAPClientError) else f"{doing} failed"
            raise SourceUnreachable(f"IMAP server {where}: {what}: {exc}") from exc
        self.client = client
        return client

    def close(self) -> None:
        client, self.client = self.client, None
        self._caps, self._mailboxes = None, set()
        if client is not None:
            _quietly(client.logout)
            _quietly(client.shutdown)

    def _fail(self, doing: str, exc: BaseException) -> SourceUnreachable:
        """Drops the (now useless) connection and says what failed."""
        self.close()
        return SourceUnreachable(f"IMAP {self.settings.host}:{self.settings.port} "
                                 f"{self.settings.mailbox}: {doing} failed: {exc}")

    def capabilities(self) -> set[bytes]:
        return set(self.connect().capabilities())

    # --- fetch --------------------------------------------------------------------------

    def _select(self) -> IMAPClient:
        client = self.connect()
        try:
            info = client.select_folder(self.settings.mailbox)
        except NETWORK_ERRORS as exc:
            raise self._fail(f"SELECT {self.settings.mailbox}", exc) from exc
        uidvalidity = int(info[b"UIDVALIDITY"])
        if self.uidvalidity is not None and uidvalidity != self.uidvalidity:
            log.warning("source=%s mailbox %s UIDVALIDITY changed %s -> %s: messages are "
                        "recognised again by Message-ID and content", self.name,
                        self.settings.mailbox, self.uidvalidity, uidvalidity)
        self.uidvalidity = uidvalidity
        self.exists = int(info.get(b"EXISTS", 0))
        return client

    def fetch(self) -> Iterator[IncomingMessage]:
        """Every message in the mailbox now, oldest UID first."""
        for batch in self.batches():
            yield from batch

    def batches(self, reserve: Reserve | None = None,
                size: int = BATCH_MESSAGES) -> Iterator[list[IncomingMessage]]:
        """The mailbox's messages, oldest UID first, in batches of up to ``size`` (and
        ``BATCH_BYTES``) downloaded with one ``UID FETCH`` each. ``reserve`` (several
        workers on one mailbox) is asked before each download which of the batch's
        identities this worker may take: the others are neither downloaded nor yielded,
        so workers take disjoint batches instead of downloading the same messages."""
        client = self._select()
        try:
            uids = sorted(client.search("ALL"))
            info = client.fetch(uids, ["RFC822.SIZE", "FLAGS", "INTERNALDATE"]) if uids else {}
        except NETWORK_ERRORS as exc:
            raise self._fail("SEARCH", exc) from exc
        self._deleted = {uid for uid, data in info.items()
                         if b"\\Deleted" in data.get(b"FLAGS", ())}
        waiting = [uid for uid in uids if uid in info]  # else moved away meanwhile
        for chunk in _chunks(waiting, info, size):
            if reserve is not None:
                allowed = reserve([self._identity(uid) for uid in chunk])
                chunk = [uid for uid in chunk if self._identity(uid) in allowed]
            if chunk:
                yield self._download(client, chunk, info)
        self._remove_twin_copies()

    def _identity(self, uid: int) -> str:
        return f"{self.uidvalidity}:{uid}"

    def _download(self, client: IMAPClient, uids: list[int],
                  info: dict) -> list[IncomingMessage]:
        """One round trip for the batch's bodies (``BODY.PEEK[]``: not marked seen); a
        message over ``max_message_bytes`` is not downloaded, only its header block."""
        small = [u for u in uids if _size(info[u]) <= self.limits.max_message_bytes]
        big = [u for u in uids if u not in small]
        data: dict = {}
        try:
            if small:
                data.update(client.fetch(small, [b"BODY.PEEK[]"]))
            if big:
                data.update(client.fetch(big, [b"BODY.PEEK[HEADER]"]))
        except NETWORK_ERRORS as exc:
            raise self._fail(f"FETCH {_uid_set(uids)}", exc) from exc
        messages = []
        for uid in uids:
            if uid not in data:
                continue  # moved away by another process meanwhile
            size = _size(info[uid])
            metadata = {"mailbox": self.settings.mailbox, "uid": str(uid),
                        "uidvalidity": str(self.uidvalidity), "size": str(size)}
            if info[uid].get(b"INTERNALDATE"):
                metadata["internaldate"] = str(info[uid][b"INTERNALDATE"])
            part = b"BODY[]"
            if uid in big:
                # Not downloaded: the headers are kept as the record, the message itself
                # goes to the quarantine mailbox where it stays intact on the server.
                part = b"BODY[HEADER]"
                metadata["rejected"] = (f"message of {size} bytes is over the limit of "
                                        f"{self.limits.max_message_bytes} bytes; it stays in "
                                        f"{self.settings.quarantine_mailbox} on the server")
            messages.append(IncomingMessage(
                source=self.name, key=str(uid), raw=data[uid].get(part) or b"",
                filename=None, is_mail=True, fax_gateway=self.settings.fax_gateway,
                metadata=metadata, identity=self._identity(uid)))
        return messages

    # --- settle -------------------------------------------------------------------------

    def settle(self, message: IncomingMessage, settlement: Settlement) -> None:
        """Moves a message whose outcome is committed out of the watched mailbox."""
        self.settle_many([(message, settlement)])

    def settle_many(self, items: list[tuple[IncomingMessage, Settlement]]) -> None:
        """Moves messages whose outcomes are committed, one ``UID MOVE`` of a UID set per
        target mailbox."""
        targets: dict[str, list[IncomingMessage]] = {}
        for message, settlement in items:
            if message.identity.split(":")[0] != str(self.uidvalidity):
                raise SourceUnreachable(f"IMAP {self.settings.mailbox}: UIDVALIDITY changed "
                                        f"before UID {message.key} was moved; it is seen "
                                        "again next time")
            target = (self.settings.processed_mailbox if settlement is Settlement.PROCESSED
                      else self.settings.quarantine_mailbox)
            targets.setdefault(target, []).append(message)
        if not targets:
            return
        client = self.connect()
        for target, messages in targets.items():
            uids = [int(m.key) for m in messages]
            try:
                self._ensure_mailbox(client, target)
                self._move(client, uids, target)
            except NETWORK_ERRORS as exc:
                raise self._fail(f"moving UID {_uid_set(uids)} to {target}", exc) from exc
            for message in messages:
                message_id = BytesHeaderParser().parsebytes(message.raw).get("Message-ID")
                if message_id:
                    self._moved.setdefault(target, []).append(
                        (str(message_id).strip(), hashlib.sha256(message.raw).hexdigest()))

    def _move(self, client: IMAPClient, uids: list[int], target: str) -> None:
        """MOVE (or COPY + EXPUNGE) of a UID set. Another run working the same mailbox may
        have moved some of them meanwhile: the server then refuses the whole set ("no
        longer exist", EXPUNGEISSUED), so the set is narrowed to the UIDs still there
        and moved again."""
        for attempt in range(3):
            try:
                if b"MOVE" in self._capabilities(client):
                    client.move(uids, target)
                else:
                    self._copy_delete(client, uids, target)
                return
            except IMAPClientError:
                if attempt == 2:
                    raise
                client.noop()  # the server tells this session what was expunged
                still = set(client.search(["UID", ",".join(str(u) for u in uids)]))
                uids = [uid for uid in uids if uid in still]
                if not uids:
                    return  # all moved by the other run

    def _capabilities(self, client: IMAPClient) -> set[bytes]:
        if self._caps is None:
            self._caps = set(client.capabilities())
        return self._caps

    def _remove_twin_copies(self) -> None:
        """Two runs working the same mailbox at once can both MOVE one message (each MOVE
        is atomic, the pair is not). The copies are byte-identical: of those with the same
        Message-ID and bytes, every run keeps the lowest UID and removes the others, so
        whichever runs last leaves exactly one. Per target mailbox: one FETCH of the newest
        messages' Message-IDs, and the bodies only of those that appear twice."""
        moved, self._moved = self._moved, {}
        if not moved or self.client is None:
            return
        client = self.client
        try:
            for target, items in moved.items():
                exists = int(client.select_folder(target).get(b"EXISTS", 0))
                # twins are among the newest: look only at those, not a years-long archive
                window = f"{max(1, exists - 2 * len(items) - 200)}:*"
                digests: dict[str, set[str]] = {}
                for message_id, digest in items:
                    digests.setdefault(message_id, set()).add(digest)
                self._keep_one(client, target, window, digests)
            client.select_folder(self.settings.mailbox)
        except NETWORK_ERRORS as exc:
            log.warning("source=%s twin check skipped: %s", self.name, exc)

    def _keep_one(self, client: IMAPClient, target: str, window: str,
                  digests: dict[str, set[str]]) -> None:
        by_id: dict[str, list[int]] = {}
        uids = client.search([window])
        headers = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        for uid, data in headers.items():
            block = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
            message_id = BytesHeaderParser().parsebytes(block or b"").get("Message-ID")
            if message_id and str(message_id).strip() in digests:
                by_id.setdefault(str(message_id).strip(), []).append(uid)
        doubled = sorted(uid for group in by_id.values() if len(group) > 1 for uid in group)
        if not doubled:
            return
        kept: set[str] = set()
        extra_uids = []
        for uid, data in sorted(client.fetch(doubled, ["BODY.PEEK[]"]).items()):
            body = data.get(b"BODY[]", b"")
            message_id = BytesHeaderParser().parsebytes(body).get("Message-ID")
            digest = hashlib.sha256(body).hexdigest()
            if not message_id or digest not in digests.get(str(message_id).strip(), ()):
                continue  # same Message-ID, other bytes: not a twin
            if digest in kept:
                extra_uids.append(uid)
            kept.add(digest)
        if not extra_uids:
            return
        log.warning("source=%s %s: %d twin copy(ies) from a concurrent run removed",
                    self.name, target, len(extra_uids))
        client.add_flags(extra_uids, [b"\\Deleted"])
        if b"UIDPLUS" in self._capabilities(client):
            client.uid_expunge(extra_uids)
        else:
            client.expunge()

    def _copy_delete(self, client: IMAPClient, uids: list[int], target: str) -> None:
        """RFC 3501 + RFC 4315 without MOVE. A message already flagged \\Deleted was copied
        by an earlier run that died before the expunge: it is not copied twice."""
        fresh = [uid for uid in uids if uid not in self._deleted]
        if fresh:
            client.copy(fresh, target)
            client.add_flags(fresh, [b"\\Deleted"])
            self._deleted.update(fresh)  # copied: a retry of the set does not copy again
        if b"UIDPLUS" in self._capabilities(client):
            client.uid_expunge(uids)
        else:
            client.expunge()
        self._deleted.difference_update(uids)

    def _ensure_mailbox(self, client: IMAPClient, name: str) -> None:
        """Once per connection: a mailbox there once stays there (deleting it under a
        running service fails the MOVE, which drops the connection and looks again)."""
        if name in self._mailboxes:
            return
        if not client.folder_exists(name):
            try:
                client.create_folder(name)
            except IMAPClientError:
                if not client.folder_exists(name):  # else created by a concurrent run
                    raise
        self._mailboxes.add(name)

    # --- waiting ------------------------------------------------------------------------

    def supports_idle(self) -> bool:
        return b"IDLE" in self.capabilities()

    def wait_for_changes(self, stop: threading.Event, renew_seconds: float = IDLE_RENEW_SECONDS,
                         check_seconds: float = 1.0) -> bool:
        """Blocks in IDLE until the mailbox changes (True), ``stop`` is set or the IDLE is
        due for renewal (False). Checks ``stop`` every ``check_seconds``."""
        client = self._select()
        if self.exists:
            return True  # arrived between the last SEARCH and now: IDLE would not say so
        try:
            client.idle()
            deadline = time.monotonic() + renew_seconds
            changed = False
            while not stop.is_set() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=check_seconds)
                if any(_is_change(r) for r in responses):
                    changed = True
                    break
            client.idle_done()
            return changed
        except NETWORK_ERRORS as exc:
            raise self._fail("IDLE", exc) from exc


def _is_change(response: object) -> bool:
    """An untagged EXISTS or RECENT: a new message arrived (BYE means the server is going)."""
    if not isinstance(response, tuple):
        return False
    if response and response[0] == b"BYE":
        raise ConnectionResetError("server said BYE during IDLE")
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")


def _quietly(call) -> None:  # noqa: ANN001
    try:
        call()
    except Exception:  # noqa: BLE001 - closing a connection that is already gone
        pass


def _size(info: dict) -> int:
    return int(info.get(b"RFC822.SIZE", 0))


def _chunks(uids: list[int], info: dict, size: int) -> Iterator[list[int]]:
    """Consecutive UIDs, at most ``size`` messages and ``BATCH_BYTES`` (one big message
    alone) per chunk."""
    chunk: list[int] = []
    total = 0
    for uid in uids:
        weight = min(_size(info[uid]), BATCH_BYTES)
        if chunk and (len(chunk) >= size or total + weight > BATCH_BYTES):
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += weight
    if chunk:
        yield chunk


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(u) for u in uids[:5]) + ("..." if len(uids) > 5 else "")
