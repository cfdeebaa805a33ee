"""Transports: SMTP (none / STARTTLS / SSL, optional login) or .eml files in a folder.

Every mail carries ``Message-ID``, ``Date`` and ``Auto-Submitted: auto-generated``
(RFC 3834) so that well-behaved auto-responders never answer it.
"""
from __future__ import annotations

import os
import smtplib
import socket
import ssl
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol

from config.settings import SmtpSettings
from config.tls import client_context
from core.errors import IntakeError, SourceUnreachable


class MailRejected(IntakeError):
    """The SMTP server refused the mail for good (a 5xx reply): retrying cannot help."""


class MailTransport(Protocol):
    def send(self, message: EmailMessage, key: str) -> None:
        """Delivers one message; raises ``SourceUnreachable`` when it could not right now
        (retried later) and ``MailRejected`` when it never will be (a 5xx reply)."""
        ...


def build_message(*, sender: str, sender_name: str, to: str, subject: str, text: str,
                  html: str | None, message_id: str, date) -> EmailMessage:  # noqa: ANN001
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


class FolderTransport:
    """Writes each mail as ``<key>.eml``: writing the same key twice leaves one file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, key: str) -> None:
        """Raises ``SourceUnreachable`` (retried with backoff) when the folder cannot be
        written: read-only, full, gone."""
        target = self.folder / f"{_safe(key)}.eml"
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".out-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(bytes(message))
            os.replace(tmp, target)
        except OSError as exc:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise SourceUnreachable(f"outbox folder {self.folder} cannot be written: "
                                    f"{type(exc).__name__}: {exc.strerror or exc}") from exc


class _Deadline:
    """One deadline for a whole SMTP conversation: every read and write gets only the time
    left, and a watchdog shuts the socket at the deadline, so a server that answers slowly
    (or drips a reply byte by byte) can never stretch a send past it. The outbox's claim
    lease is longer than this deadline (``notifier.outbox.lease_for``), so no other
    deliverer can claim the mail while this conversation may still be going on."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False

    def left(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            self.expired = True
            raise TimeoutError(f"the SMTP conversation took longer than {self.seconds:g}s")
        return left


def _deadline_client(base: type[smtplib.SMTP]) -> type[smtplib.SMTP]:
    class Client(base):  # type: ignore[valid-type, misc]
        deadline: _Deadline

        def send(self, s) -> None:  # noqa: ANN001 - bytes or str, as smtplib takes
            if self.sock is not None:
                self.sock.settimeout(self.deadline.left())
            super().send(s)

        def getreply(self):  # noqa: ANN202 - smtplib's (code, message)
            if self.sock is not None:
                self.sock.settimeout(self.deadline.left())
            return super().getreply()

        def _get_socket(self, host, port, timeout):  # noqa: ANN001, ANN202
            return super()._get_socket(host, port, min(timeout, self.deadline.left()))
    return Client


_PlainClient = _deadline_client(smtplib.SMTP)
_SslClient = _deadline_client(smtplib.SMTP_SSL)


class SmtpTransport:
    """``timeout_seconds`` is the deadline of the whole conversation (connect, TLS, login,
    MAIL, RCPT, DATA), not of each read."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _context(self) -> ssl.SSLContext:
        return client_context(self.settings.ca_file, self.settings.verify_certificate)

    def send(self, message: EmailMessage, key: str) -> None:
        s = self.settings
        deadline = _Deadline(s.timeout_seconds)
        holder: dict[str, smtplib.SMTP] = {}
        watchdog = threading.Timer(s.timeout_seconds, _shut, (holder, deadline))
        watchdog.daemon = True
        watchdog.start()
        try:
            cls = _SslClient if s.security == "ssl" else _PlainClient
            kwargs = {"context": self._context()} if s.security == "ssl" else {}
            client = cls(timeout=s.timeout_seconds, **kwargs)  # no host: not connected yet
            client.deadline = deadline
            client._host = s.host  # what smtplib's __init__ keeps for TLS server names
            holder["client"] = client
            try:
                code, reply = client.connect(s.host, s.port)
                if code != 220:
                    raise smtplib.SMTPConnectError(code, reply)
                if s.security == "starttls":
                    client.starttls(context=self._context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(message)
            finally:
                _quit(client)
        except (OSError, smtplib.SMTPException) as exc:
            late = " (deadline passed)" if deadline.expired else ""
            where = f"SMTP {s.host}:{s.port}: {type(exc).__name__}: {exc}{late}"
            if _permanent(exc) and not deadline.expired:
                raise MailRejected(where) from exc
            raise SourceUnreachable(where) from exc
        finally:
            watchdog.cancel()


def _quit(client: smtplib.SMTP) -> None:
    """QUIT and close without letting the goodbye fail a mail the server accepted."""
    try:
        if client.sock is not None:
            client.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        client.close()


def _shut(holder: dict[str, smtplib.SMTP], deadline: _Deadline) -> None:
    """The watchdog: at the deadline, whatever the conversation is doing, it ends."""
    deadline.expired = True
    client = holder.get("client")
    sock = getattr(client, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _permanent(exc: Exception) -> bool:
    """RFC 5321 4.2.1: a 5yz reply is permanent, a 4yz one transient. Only refusals of
    *this* mail (its recipient, its content) are final; a refused login or sender is our
    configuration, retried with backoff so nothing is lost while an operator fixes it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def _safe(key: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
