"""Transports: SMTP (none / STARTTLS / SSL, optional login) or .eml files in a folder.

Every mail carries ``Message-ID``, ``Date`` and ``Auto-Submitted: auto-generated``
(RFC 3834) so that well-behaved auto-responders never answer it.
"""
from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
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
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{_safe(key)}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".out-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(message))
        os.replace(tmp, target)


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _context(self) -> ssl.SSLContext:
        return client_context(self.settings.ca_file, self.settings.verify_certificate)

    def send(self, message: EmailMessage, key: str) -> None:
        s = self.settings
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                                        context=self._context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            with client:
                if s.security == "starttls":
                    client.starttls(context=self._context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            where = f"SMTP {s.host}:{s.port}: {type(exc).__name__}: {exc}"
            if _permanent(exc):
                raise MailRejected(where) from exc
            raise SourceUnreachable(where) from exc


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
