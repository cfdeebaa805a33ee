"""Bank statements: what the bank says arrived. Pure functions, bytes in, plain data out.

``parse_statement(data)`` recognises the format from the content (never the file name) and
returns a ``ParsedStatement`` whose ``lines`` are one ``StatementLine`` per transaction and
whose ``rejected`` say what could not be read and why; a file that is none of the formats,
or is refused (hostile XML), raises ``BadDocument`` with the reason.

Formats: ISO 20022 camt.053 / camt.054 (and camt.052) 001.02-001.08 (``camt``), SWIFT MT940
(``swift``), CBI fixed-width (``cbi``), BancoPosta CSV (``bancoposta``).
"""
from __future__ import annotations

from core.errors import BadDocument
from intake.statements.bancoposta import decode, is_bancoposta, parse_bancoposta
from intake.statements.camt import parse_camt
from intake.statements.cbi import is_cbi, parse_cbi
from intake.statements.model import (
    BANCOPOSTA,
    CAMT052,
    CAMT053,
    CAMT054,
    CBI,
    CREDIT,
    DEBIT,
    MT940,
    ParsedStatement,
    Reference,
    Rejected,
    StatementLine,
)
from intake.statements.swift import is_mt940, parse_mt940

__all__ = ["BANCOPOSTA", "CAMT052", "CAMT053", "CAMT054", "CBI", "CREDIT", "DEBIT", "MT940",
           "ParsedStatement", "Reference", "Rejected", "StatementLine", "detect_format",
           "parse_statement"]

XML = "xml"


def detect_format(data: bytes) -> str | None:
    """``xml`` (camt, decided by its root), ``mt940``, ``cbi``, ``bancoposta-csv``, or None."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return XML
    text = decode(data[:65536])
    if is_bancoposta(text):
        return BANCOPOSTA
    if is_cbi(text):
        return CBI
    if is_mt940(text):
        return MT940
    return None


def parse_statement(data: bytes) -> ParsedStatement:
    if not data.strip():
        raise BadDocument("empty file")
    kind = detect_format(data)
    if kind == XML:
        return parse_camt(data)
    if kind == BANCOPOSTA:
        return parse_bancoposta(data)
    if kind == CBI:
        return parse_cbi(data)
    if kind == MT940:
        return parse_mt940(data)
    raise BadDocument("not a bank statement this product reads (camt.053/054 XML, MT940, "
                      "CBI fixed-width, BancoPosta CSV)")
