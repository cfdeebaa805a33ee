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
from intake.sources.base import IncomingMessage, Settlement

log = logging.getLogger(__name__)

# RFC 2177: servers may drop an IDLE after 30 minutes; re-issue it well before.
IDLE_RENEW_SECONDS = 25 * 60
TIMEOUT_SECONDS = 30.0
# Errors that mean "the server or the network is not there right now".
NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, IMAPClientError, EOFError)


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
        """Every message in the mailbox now, oldest UID first, one download at a time."""
        client = self._select()
        try:
            uids = sorted(client.search("ALL"))
            info = client.fetch(uids, ["RFC822.SIZE", "FLAGS", "INTERNALDATE"]) if uids else {}
        except NETWORK_ERRORS as exc:
            raise self._fail("SEARCH", exc) from exc
        self._deleted = {uid for uid, data in info.items()
                         if b"\\Deleted" in data.get(b"FLAGS", ())}
        for uid in uids:
            if uid not in info:
                continue  # moved away by another process meanwhile
            message = self._download(client, uid, info[uid])
            if message is not None:
                yield message
        self._remove_twin_copies()

    def _download(self, client: IMAPClient, uid: int, info: dict) -> IncomingMessage | None:
        size = int(info.get(b"RFC822.SIZE", 0))
        metadata = {"mailbox": self.settings.mailbox, "uid": str(uid),
                    "uidvalidity": str(self.uidvalidity), "size": str(size)}
        if info.get(b"INTERNALDATE"):
            metadata["internaldate"] = str(info[b"INTERNALDATE"])
        part = b"BODY[]"
        if size > self.limits.max_message_bytes:
            # Not downloaded: the headers are kept as the record, the message itself goes
            # to the quarantine mailbox where it stays intact on the server.
            part = b"BODY[HEADER]"
            metadata["rejected"] = (f"message of {size} bytes is over the limit of "
                                    f"{self.limits.max_message_bytes} bytes; it stays in "
                                    f"{self.settings.quarantine_mailbox} on the server")
        try:
            data = client.fetch([uid], [b"BODY.PEEK[" + part[5:]])
        except NETWORK_ERRORS as exc:
            raise self._fail(f"FETCH {uid}", exc) from exc
        if uid not in data:
            return None
        raw = data[uid].get(part) or b""
        return IncomingMessage(
            source=self.name, key=str(uid), raw=raw, filename=None, is_mail=True,
            fax_gateway=self.settings.fax_gateway, metadata=metadata,
            identity=f"{self.uidvalidity}:{uid}")

    # --- settle -------------------------------------------------------------------------

    def settle(self, message: IncomingMessage, settlement: Settlement) -> None:
        """Moves a message whose outcome is committed out of the watched mailbox."""
        target = (self.settings.processed_mailbox if settlement is Settlement.PROCESSED
                  else self.settings.quarantine_mailbox)
        uid = int(message.key)
        if message.identity.split(":")[0] != str(self.uidvalidity):
            raise SourceUnreachable(f"IMAP {self.settings.mailbox}: UIDVALIDITY changed "
                                    f"before UID {uid} was moved; it is seen again next time")
        client = self.connect()
        try:
            self._ensure_mailbox(client, target)
            if b"MOVE" in client.capabilities():
                client.move([uid], target)
            else:
                self._copy_delete(client, uid, target)
        except NETWORK_ERRORS as exc:
            raise self._fail(f"moving UID {uid} to {target}", exc) from exc
        message_id = BytesHeaderParser().parsebytes(message.raw).get("Message-ID")
        if message_id:
            self._moved.setdefault(target, []).append(
                (str(message_id).strip(), hashlib.sha256(message.raw).hexdigest()))

    def _remove_twin_copies(self) -> None:
        """Two runs working the same mailbox at once can both MOVE one message (each MOVE
        is atomic, the pair is not). The copies are byte-identical: of those with the same
        Message-ID and bytes, every run keeps the lowest UID and removes the others, so
        whichever runs last leaves exactly one."""
        moved, self._moved = self._moved, {}
        if not moved or self.client is None:
            return
        client = self.client
        try:
            for target, items in moved.items():
                exists = int(client.select_folder(target).get(b"EXISTS", 0))
                # twins are among the newest: search only those, not a years-long archive
                window = f"{max(1, exists - 2 * len(items) - 200)}:*"
                for message_id, digest in items:
                    self._keep_one(client, target, window, message_id, digest)
            client.select_folder(self.settings.mailbox)
        except NETWORK_ERRORS as exc:
            log.warning("source=%s twin check skipped: %s", self.name, exc)

    def _keep_one(self, client: IMAPClient, target: str, window: str, message_id: str,
                  digest: str) -> None:
        uids = client.search([window, "HEADER", "Message-ID", message_id])
        if len(uids) < 2:
            return
        bodies = client.fetch(uids, ["BODY.PEEK[]"])
        twins = sorted(uid for uid, data in bodies.items()
                       if hashlib.sha256(data.get(b"BODY[]", b"")).hexdigest() == digest)
        extra = twins[1:]
        if not extra:
            return
        log.warning("source=%s %s: %d twin copy(ies) of %s from a concurrent run removed",
                    self.name, target, len(extra), message_id)
        client.add_flags(extra, [b"\\Deleted"])
        if b"UIDPLUS" in client.capabilities():
            client.uid_expunge(extra)
        else:
            client.expunge()

    def _copy_delete(self, client: IMAPClient, uid: int, target: str) -> None:
        """RFC 3501 + RFC 4315 without MOVE. A message already flagged \\Deleted was copied
        by an earlier run that died before the expunge: it is not copied twice."""
        if uid not in self._deleted:
            client.copy([uid], target)
            client.add_flags([uid], [b"\\Deleted"])
        if b"UIDPLUS" in client.capabilities():
            client.uid_expunge([uid])
        else:
            client.expunge()
        self._deleted.discard(uid)

    def _ensure_mailbox(self, client: IMAPClient, name: str) -> None:
        if client.folder_exists(name):
            return
        try:
            client.create_folder(name)
        except IMAPClientError:
            if not client.folder_exists(name):  # else created by a concurrent run
                raise

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
