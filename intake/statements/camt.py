"""ISO 20022 camt.053 (statement), camt.054 (debit/credit notification) and camt.052
(intraday report), versions 001.02 to 001.08, read namespace-agnostically.

Parsed with defusedxml and no DTD at all: a file that declares entities, a DTD or an
external reference is refused with a reason, never expanded or fetched. The differences
between versions that matter here are handled by looking in both places: the transaction
amount (``AmtDtls/TxAmt/Amt`` in 001.02, ``TxDtls/Amt`` later), the party (``Dbtr/Nm`` up to
001.07, ``Dbtr/Pty/Nm`` in 001.08), the status (``Sts`` text, ``Sts/Cd`` in 001.08), the BIC
(``BIC`` / ``BICFI``).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from core.errors import BadDocument
from intake.statements.model import (
    CAMT052,
    CAMT053,
    CAMT054,
    CREDIT,
    DEBIT,
    ParsedStatement,
    Reference,
    Rejected,
    StatementLine,
)

_MESSAGES = {"BkToCstmrStmt": (CAMT053, "Stmt"), "BkToCstmrDbtCdtNtfctn": (CAMT054, "Ntfctn"),
             "BkToCstmrAcctRpt": (CAMT052, "Rpt")}
_VERSION = re.compile(r"camt\.05[234]\.(\d{3}\.\d{2})")
SUPPORTED_VERSIONS = tuple(f"001.{n:02d}" for n in range(2, 9))
_NOT_PROVIDED = {"NOTPROVIDED", "NOT PROVIDED", "NONREF", ""}
# the Ustrd of a remittance is cut into chunks of at most 140 characters: a chunk of exactly
# that length was cut by the length, possibly inside a word (an order code), not at a space
_USTRD_MAX = 140
# references in the order that best identifies one transaction at its bank
_TX_REFS = ("AcctSvcrRef", "TxId", "EndToEndId", "InstrId", "UETR", "ClrSysRef", "PmtInfId",
            "MsgId", "MndtId", "ChqNb")


def parse_xml(data: bytes) -> Element:
    """The document root, or ``BadDocument`` saying why it is refused."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        what = {"DTDForbidden": "a DTD (<!DOCTYPE>)", "EntitiesForbidden": "entities",
                "ExternalReferenceForbidden": "an external reference"}.get(
                    type(exc).__name__, type(exc).__name__)
        raise BadDocument(f"XML refused: it declares {what}, which a bank statement never "
                          "needs (entity expansion and external fetches are not allowed)"
                          ) from None
    except ParseError as exc:
        raise BadDocument(f"not well-formed XML: {exc}") from None
    except (LookupError, ValueError) as exc:  # an encoding Python does not know, ...
        raise BadDocument(f"unreadable XML: {exc}") from None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if local(c.tag) == name]


def _find(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if local(c.tag) == name), None)
    return el


def _text(el: Element | None, *path: str) -> str | None:
    found = _find(el, *path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def is_camt(root: Element) -> bool:
    return local(root.tag) == "Document" and any(local(c.tag) in _MESSAGES for c in root)


def parse_camt(data: bytes) -> ParsedStatement:
    root = parse_xml(data)
    message = next((c for c in root if local(c.tag) in _MESSAGES), None)
    if local(root.tag) != "Document" or message is None:
        raise BadDocument(f"XML document <{local(root.tag)}> is not a camt.052/053/054 "
                          "bank-to-customer message")
    fmt, report_tag = _MESSAGES[local(message.tag)]
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    found = _VERSION.search(namespace)
    result = ParsedStatement(fmt, found.group(1) if found else None)
    if result.version and result.version not in SUPPORTED_VERSIONS:
        result.rejected.append(Rejected("document", f"version {result.version} is outside "
                                        "001.02-001.08; read with the same rules"))
    for r_index, report in enumerate(_kids(message, report_tag), 1):
        account = _account(report)
        if account not in result.accounts:
            result.accounts.append(account)
        currency = _text(report, "Acct", "Ccy")
        for n_index, entry in enumerate(_kids(report, "Ntry"), 1):
            where = f"{report_tag} {r_index} entry {n_index}"
            try:
                result.lines.extend(_entry_lines(entry, account, currency, where, result))
            except _Skip as skip:
                result.rejected.append(Rejected(where, skip.reason))
    return result


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _account(report: Element) -> str:
    return (_text(report, "Acct", "Id", "IBAN") or _text(report, "Acct", "Id", "Othr", "Id")
            or "unknown").replace(" ", "").upper()


def _amount(el: Element | None) -> tuple[Decimal, str | None] | None:
    if el is None or el.text is None:
        return None
    try:
        value = Decimal(el.text.strip())
    except InvalidOperation:
        raise _Skip(f"amount {el.text.strip()!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise _Skip(f"amount {el.text.strip()!r} is not a positive amount")
    return value, el.get("Ccy")


def _date(el: Element | None) -> date | None:
    text = _text(el, "Dt") or _text(el, "DtTm")
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _Skip(f"date {text!r} is not an ISO date") from None


def _direction(text: str | None, where: str) -> str:
    if text == "CRDT":
        return CREDIT
    if text == "DBIT":
        return DEBIT
    raise _Skip(f"CdtDbtInd {text!r} is neither CRDT nor DBIT ({where})")


def _entry_lines(entry: Element, account: str, currency: str | None, where: str,
                 result: ParsedStatement) -> Iterator[StatementLine]:
    status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
    if status and status != "BOOK":
        raise _Skip(f"status {status}: not booked, so no money has moved yet")
    found = _amount(_find(entry, "Amt"))
    if found is None:
        raise _Skip("no amount")
    amount, ccy = found
    direction = _direction(_text(entry, "CdtDbtInd"), "entry")
    booked = _date(_find(entry, "BookgDt")) or _date(_find(entry, "ValDt"))
    if booked is None:
        raise _Skip("no booking date")
    base = {
        "account": account, "booking_date": booked, "value_date": _date(_find(entry, "ValDt")),
        "currency": ccy or currency or "EUR", "bank_code": _bank_code(entry),
        "reversal": (_text(entry, "RvslInd") or "").lower() == "true",
    }
    entry_refs = [Reference("Ntry" + kind.removeprefix("Ntry"), value)
                  for kind in ("AcctSvcrRef", "NtryRef")
                  if (value := _text(entry, kind)) and value.upper() not in _NOT_PROVIDED]
    entry_info = tuple(i for i in [_text(entry, "AddtlNtryInf")] if i)
    details = [tx for d in _kids(entry, "NtryDtls") for tx in _kids(d, "TxDtls")]
    if len(details) > 1:
        split = _split(details, amount)
        if split is None:
            result.rejected.append(Rejected(where, f"a batch of {len(details)} transfers "
                                            "whose amounts do not add up to the entry's "
                                            f"{amount}: kept as one line"))
        else:
            for tx, tx_amount in zip(details, split):
                tx_direction = _direction(_text(tx, "CdtDbtInd"), "transaction") \
                    if _text(tx, "CdtDbtInd") else direction
                yield _line(tx, base, tx_amount, tx_direction, entry_refs, entry_info)
            return
    tx = details[0] if len(details) == 1 else None
    if len(details) > 1:  # unsplittable batch: one line carrying every transfer's words
        merged = [_line(t, base, amount, direction, entry_refs, entry_info) for t in details]
        yield StatementLine(**base, amount=amount, direction=direction,
                            references=_unique([r for m in merged for r in m.references]),
                            remittance=tuple(p for m in merged for p in m.remittance),
                            additional_info=tuple(dict.fromkeys(
                                p for m in merged for p in m.additional_info)),
                            raw=_raw(entry))
        return
    yield _line(tx, base, amount, direction, entry_refs, entry_info, entry)


def _split(details: list[Element], total: Decimal) -> list[Decimal] | None:
    amounts = []
    for tx in details:
        found = _amount(_find(tx, "Amt")) or _amount(_find(tx, "AmtDtls", "TxAmt", "Amt"))
        if found is None:
            return None
        amounts.append(found[0])
    return amounts if sum(amounts) == total else None


def _line(tx: Element | None, base: dict, amount: Decimal, direction: str,
          entry_refs: list[Reference], entry_info: tuple[str, ...],
          raw_from: Element | None = None) -> StatementLine:
    refs = []
    if tx is not None:
        refs_el = _find(tx, "Refs")
        refs = [Reference(kind, value) for kind in _TX_REFS
                if (value := _text(refs_el, kind)) and value.upper() not in _NOT_PROVIDED]
        refs += [Reference("Prtry", value) for p in _kids(refs_el, "Prtry")
                 if (value := _text(p, "Ref")) and value.upper() not in _NOT_PROVIDED]
    parties = _find(tx, "RltdPties")
    debtor, creditor = _party(parties, "Dbtr"), _party(parties, "Cdtr")
    info = list(entry_info)
    if tx is not None:
        info = [i for i in (_text(t) for t in _kids(tx, "AddtlTxInf")) if i] + info
        for kind in ("UltmtDbtr", "UltmtCdtr"):
            name = _party(parties, kind)
            if name:
                info.append(f"{kind}: {name}")
        reason = _text(tx, "RtrInf", "Rsn", "Cd")
        if reason:
            info.append(f"return reason {reason}")
    return StatementLine(
        **base, amount=amount, direction=direction,
        references=_unique(refs + entry_refs), remittance=_remittance(_find(tx, "RmtInf")),
        additional_info=tuple(info), payer=debtor if direction == CREDIT else None,
        payer_account=_party_account(parties, "DbtrAcct") if direction == CREDIT else None,
        counterparty=creditor if direction == DEBIT else debtor,
        raw=_raw(raw_from if raw_from is not None else tx))


def _party(parties: Element | None, role: str) -> str | None:
    return _text(parties, role, "Nm") or _text(parties, role, "Pty", "Nm")


def _party_account(parties: Element | None, role: str) -> str | None:
    value = _text(parties, role, "Id", "IBAN") or _text(parties, role, "Id", "Othr", "Id")
    return value.replace(" ", "").upper() if value else None


def _remittance(rmt: Element | None) -> tuple[str, ...]:
    if rmt is None:
        return ()
    parts: list[str] = []
    ustrd = [t.text or "" for t in _kids(rmt, "Ustrd")]
    if ustrd:
        joined = ustrd[0]
        for before, chunk in zip(ustrd, ustrd[1:]):
            joined += ("" if len(before) >= _USTRD_MAX else " ") + chunk
        parts.append(" ".join(joined.split()))
    for strd in _kids(rmt, "Strd"):
        for ref in _kids(strd, "CdtrRefInf"):
            value = _text(ref, "Ref")
            if value:
                parts.append(value)
        for doc in _kids(strd, "RfrdDocInf"):
            value = _text(doc, "Nb")
            if value:
                parts.append(value)
        parts += [t for t in (_text(a) for a in _kids(strd, "AddtlRmtInf")) if t]
    return tuple(p for p in parts if p)


def _bank_code(entry: Element) -> str | None:
    domain = _find(entry, "BkTxCd", "Domn")
    if domain is not None:
        codes = [_text(domain, "Cd"), _text(domain, "Fmly", "Cd"),
                 _text(domain, "Fmly", "SubFmlyCd")]
        return "/".join(c for c in codes if c) or None
    return _text(entry, "BkTxCd", "Prtry", "Cd")


def _unique(refs: list[Reference]) -> tuple[Reference, ...]:
    seen: set[str] = set()
    kept = []
    for ref in refs:
        if ref.value not in seen:
            seen.add(ref.value)
            kept.append(ref)
    return tuple(kept)


def _raw(el: Element | None) -> str:
    if el is None:
        return ""
    return " ".join(" ".join(t.split()) for t in el.itertext() if t.strip())[:2000]
