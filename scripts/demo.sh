#!/usr/bin/env bash
# The demo: sample orders and a sample inbox of realistic receipts through `poll --once`,
# on the embedded defaults, in var/demo/ (reset on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh tesseract-ocr tesseract-ocr-ita tesseract-ocr-osd
python3 -m pip install -q --disable-pip-version-check -e '.[demo]' 2>&1 \
  | grep -v -e "Running pip as the 'root' user" -e "is ignored: it is neither" || true
python3 run.py demo
