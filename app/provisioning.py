"""Provisioning adapters: carry out a mailbox renewal on the PEC platform.

Chosen by ``[renewal] adapter``:

- ``log`` (embedded default): records the renewal in the log and the audit trail only, for
  installations where staff renew by hand from the daily list of ``renewed`` orders.
- ``http``: ``POST`` to ``renewal.http_url`` with a JSON body, ``Authorization: Bearer
  <renewal.http_token>`` and an ``Idempotency-Key`` header (the renewal job's key, the same on
  every retry), so a call repeated after a timeout or a crash never renews twice: the
  platform answers a repeated key with the outcome of the first call.

Every adapter MUST be safe to call again with the same request, and MUST raise
``ProvisioningFailed`` (``permanent`` or not) for an expected failure.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from config.settings import RenewalSettings
from core.errors import IntakeError

log = logging.getLogger("pec_intake.provisioning")

# HTTP statuses worth retrying (RFC 9110: timeout, conflict-in-progress, throttling, server)
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class ProvisioningFailed(IntakeError):
    """The platform did not renew the mailbox. ``permanent``: retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class RenewalRequest:
    idempotency_key: str
    order_code: str
    userid: str
    pec_address: str
    years: int
    current_expiry: date
    new_expiry: date

    def as_json(self) -> dict[str, object]:
        return {"order_code": self.order_code, "userid": self.userid,
                "pec_address": self.pec_address, "years": self.years,
                "current_expiry": self.current_expiry.isoformat(),
                "new_expiry": self.new_expiry.isoformat()}


@dataclass(frozen=True)
class RenewalDone:
    new_expiry: date
    reference: str | None = None  # the platform's own id for the renewal, if it gives one


class ProvisioningAdapter(Protocol):
    name: str

    def renew(self, request: RenewalRequest) -> RenewalDone: ...


class LogAdapter:
    name = "log"

    def renew(self, request: RenewalRequest) -> RenewalDone:
        log.info("renewal recorded: order=%s userid=%s pec=%s years=%d expiry %s -> %s key=%s",
                 request.order_code, request.userid, request.pec_address, request.years,
                 request.current_expiry, request.new_expiry, request.idempotency_key)
        return RenewalDone(request.new_expiry, reference=None)


class HttpAdapter:
    name = "http"

    def __init__(self, url: str, token: str | None, timeout_seconds: float) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout_seconds

    def renew(self, request: RenewalRequest) -> RenewalDone:
        body = json.dumps(request.as_json()).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Idempotency-Key": request.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        http_request = urllib.request.Request(self.url, data=body, headers=headers,
                                              method="POST")
        where = f"renewal API {self.url}"
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            raise ProvisioningFailed(f"{where}: HTTP {exc.code} {exc.reason}: {detail}",
                                     permanent=exc.code not in RETRYABLE_STATUSES) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, timeout, reset
            reason = getattr(exc, "reason", exc)
            raise ProvisioningFailed(f"{where}: unreachable: {reason}") from None
        return _parse_answer(payload, request, where)


def _parse_answer(payload: bytes, request: RenewalRequest, where: str) -> RenewalDone:
    """The platform's expiry wins when it gives one (it is the source of truth)."""
    if not payload.strip():
        return RenewalDone(request.new_expiry)
    try:
        data = json.loads(payload)
        expiry = data.get("new_expiry") if isinstance(data, dict) else None
        reference = data.get("reference") if isinstance(data, dict) else None
        return RenewalDone(date.fromisoformat(expiry) if expiry else request.new_expiry,
                           str(reference) if reference is not None else None)
    except (ValueError, TypeError) as exc:
        # the renewal happened (2xx) but the answer is garbled: keep our expiry, say so
        log.warning("%s: unreadable answer (%s); assuming new expiry %s", where, exc,
                    request.new_expiry)
        return RenewalDone(request.new_expiry)


def adapter_for(settings: RenewalSettings) -> ProvisioningAdapter:
    if settings.adapter == "http":
        if not settings.http_url:
            raise ProvisioningFailed("renewal.http_url is not set", permanent=True)
        return HttpAdapter(settings.http_url, settings.http_token,
                           settings.http_timeout_seconds)
    return LogAdapter()
