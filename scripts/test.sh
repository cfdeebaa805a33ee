#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, the project with its test extras into
# .venv/), then lints and runs the whole suite, on SQLite and again on a throwaway PostgreSQL
# (safe to run twice). Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-system-deps.sh tesseract-ocr tesseract-ocr-ita tesseract-ocr-osd \
  ghostscript dovecot-imapd postgresql poppler-utils libtiff-tools chromium imagemagick \
  python3-venv
pec_venv test
python -m ruff check .
# Most tests wait on real servers (Dovecot, PostgreSQL, SMTP, Chromium, the daemon's
# cycles): one process was 7% through after 5 minutes; four on two cores ran it in 5.
python -m pytest -q -n "${PEC_TEST_WORKERS:-4}" --durations=15 "$@"
