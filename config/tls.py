"""TLS client contexts from settings: certificate verification on by default, a private CA
through ``ca_file``; shared by the IMAP sources and the SMTP transport."""
from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None, verify_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
