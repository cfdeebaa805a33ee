"""Every real-world message, PDF and image of ../shared/corpus is taken in without a crash
and ends processed or quarantined with a reason a person can read.

Messages go through the pipeline without OCR (fast: their images are then "needs OCR",
which is a reason too); bare PDFs and images go through it with the real OCR engine, so their
decoding is exercised as well.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.pipeline import Pipeline
from config.settings import LimitSettings, Settings
from intake.sources.base import IncomingMessage
from intake.text import default_ocr
from store.db import Database
from store.models import MessageRow
from tests.conftest import CORPUS

HEADER_LINE = re.compile(rb"^(From |[A-Za-z][A-Za-z0-9-]*:)")
DOCUMENT_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
FINAL = {"matched", "unmatched", "duplicate", "quarantined", "pec_receipt", "support",
         "review", "flagged"}


def is_rfc822(path: Path) -> bool:
    """An RFC 822 file: .eml, or a .txt or extension-less file that starts like a header."""
    if path.suffix.lower() == ".eml":
        return True
    if path.suffix.lower() not in ("", ".txt") or path.name.startswith("README"):
        return False
    head = path.read_bytes()[:200].lstrip(b"\r\n")
    return bool(HEADER_LINE.match(head))


def corpus_files(kind: str) -> list[Path]:
    if not CORPUS.is_dir():
        return []
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    if kind == "mail":
        return [p for p in files if is_rfc822(p)]
    return [p for p in files if p.suffix.lower() in DOCUMENT_SUFFIXES]


def _pipeline(tmp_path: Path, ocr) -> tuple[Pipeline, Database]:  # noqa: ANN001
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'corpus.sqlite3'}", sources=(),
                        outbox_dir=tmp_path / "outbox", originals_dir=tmp_path / "originals",
                        limits=LimitSettings(max_pages=4, ocr_seconds_per_page=30))
    db = Database(settings.database_url)
    return Pipeline(settings, db, ocr=ocr), db


def _take_in_all(pipeline: Pipeline, db: Database, files: list[Path], as_mail: bool) -> None:
    crashes: list[str] = []
    for path in files:
        raw = path.read_bytes()
        incoming = IncomingMessage(source="corpus", key=str(path.relative_to(CORPUS)), raw=raw,
                                   filename=path.name, is_mail=as_mail,
                                   identity=str(path.relative_to(CORPUS)))
        try:
            pipeline.take_in(incoming)
        except Exception as exc:  # noqa: BLE001 - collected: the test lists every crash
            crashes.append(f"{incoming.key}: {type(exc).__name__}: {exc}")
    assert crashes == []
    with db.session() as session:
        rows = session.query(MessageRow).all()
        assert len(rows) == len(files)
        unfinished = [(r.source_key, r.status) for r in rows if r.status not in FINAL]
        assert unfinished == []
        no_reason = [r.source_key for r in rows if r.status != "matched" and not r.reason]
        assert no_reason == []
        originals = {r.sha256 for r in rows}
    for digest in originals:  # every original is kept, content-addressed
        assert pipeline.originals.path_for(digest).is_file()


@pytest.mark.skipif(not corpus_files("mail"), reason="../shared/corpus is not there")
def test_every_corpus_message_is_taken_in(tmp_path):
    files = corpus_files("mail")
    assert len(files) > 200
    pipeline, db = _pipeline(tmp_path, ocr=None)
    try:
        _take_in_all(pipeline, db, files, as_mail=True)
        with db.session() as session:
            statuses = {r.source_key: r.status for r in session.query(MessageRow)}
    finally:
        db.dispose()
    assert statuses["pec-java-pec-parser/accettazione.eml"] == "pec_receipt"
    assert statuses["pec-go-pec/email_2.eml"] == "pec_receipt"
    assert statuses["stalwart-mail-parser/malformed/019.eml"] == "quarantined"


@pytest.mark.skipif(not corpus_files("document"), reason="../shared/corpus is not there")
def test_every_corpus_pdf_and_image_is_taken_in(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    files = corpus_files("document")
    assert len(files) > 40
    pipeline, db = _pipeline(tmp_path, ocr=default_ocr())
    try:
        _take_in_all(pipeline, db, files, as_mail=False)
    finally:
        db.dispose()
