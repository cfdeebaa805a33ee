#!/usr/bin/env bash
# Installs everything the tests need, then lints and runs the whole suite (safe to run twice).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh tesseract-ocr tesseract-ocr-ita tesseract-ocr-osd \
  ghostscript dovecot-imapd postgresql poppler-utils libtiff-tools
python3 -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 \
  | grep -v -e "Running pip as the 'root' user" -e "is ignored: it is neither" || true
python3 -m ruff check .
python3 -m pytest -q "$@"
