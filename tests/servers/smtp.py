"""A real SMTP server for the tests (aiosmtpd 1.4), on 127.0.0.1 and a free port.

It collects every message it accepts, can be stopped and started again on the same port
(the "SMTP server down for a while" case), can refuse the next N messages with a 4xx or 5xx
reply, can speak STARTTLS or implicit TLS with a throwaway self-signed certificate, and can
require a login, and can answer slowly (``reply_delay``). ``on_data`` lets a test act at the
exact moment a message has arrived, before the server answers 250 (e.g. to kill the client in
the send-then-record window).
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(self, _server, _session, envelope, address, options) -> str:  # noqa: ANN001
        await asyncio.sleep(self.server.reply_delay)  # a slow server, one reply at a time
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, _server, _session, envelope, address, options) -> str:  # noqa: ANN001
        await asyncio.sleep(self.server.reply_delay)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: ANN001
        return self.server._on_data(envelope)


class SmtpServer:
    def __init__(self, *, security: str = "none", login: tuple[str, str] | None = None,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.security = security
        self.login = login
        self.received: list[Received] = []
        self.refused: list[Received] = []
        self.on_data: Callable[[Received], None] | None = None
        self.reply_delay = 0.0  # seconds before answering MAIL and RCPT (a slow server)
        self._refusals: list[str] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._certdir = tempfile.TemporaryDirectory(prefix="smtp-test-")
        self.cert_file: Path | None = None
        if security != "none":
            self.cert_file, self._key_file = self_signed_cert(Path(self._certdir.name))

    # --- behaviour ------------------------------------------------------------------------

    def refuse_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        """The next ``count`` messages get ``reply`` instead of 250 (and are not kept)."""
        with self._lock:
            self._refusals.extend([reply] * count)

    def _on_data(self, envelope) -> str:  # noqa: ANN001
        item = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        with self._lock:
            refusal = self._refusals.pop(0) if self._refusals else None
            (self.refused if refusal else self.received).append(item)
        if refusal:
            return refusal
        if self.on_data is not None:
            self.on_data(item)
        return "250 2.0.0 Message accepted for delivery"

    def _authenticate(self, _server, _session, _envelope, _mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        ok = isinstance(auth_data, LoginPassword) and self.login is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == self.login
        return AuthResult(success=ok)

    # --- life cycle -----------------------------------------------------------------------

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_file), str(self._key_file))
        return context

    def start(self) -> None:
        kwargs: dict = {}
        if self.security == "starttls":
            kwargs.update(tls_context=self._server_context(), require_starttls=True)
        if self.security == "ssl":
            kwargs["ssl_context"] = self._server_context()
        if self.login is not None:
            # implicit TLS is not seen by aiosmtpd as TLS: AUTH would never be offered
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.security == "starttls")
        with warnings.catch_warnings():  # "AUTH without TLS" is what the test wants
            warnings.simplefilter("ignore", UserWarning)
            self._controller = Controller(_Handler(self), hostname="127.0.0.1",
                                          port=self.port, ready_timeout=10, **kwargs)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def close(self) -> None:
        self.stop()
        self._certdir.cleanup()

    # --- what arrived ---------------------------------------------------------------------

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [item.message for item in self.received]

    def recipients(self) -> list[str]:
        with self._lock:
            return [rcpt for item in self.received for rcpt in item.rcpt_tos]


@contextmanager
def smtp_server(**kwargs: object) -> Iterator[SmtpServer]:
    server = SmtpServer(**kwargs)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.close()
