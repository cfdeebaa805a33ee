#!/usr/bin/env bash
# The demo: sample orders and a sample inbox of realistic receipts through `poll --once`,
# on the embedded defaults, in var/demo/ (reset on every run). Installs Tesseract (apt) and
# the project into .venv/ (scripts/env.sh) the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-system-deps.sh tesseract-ocr tesseract-ocr-ita tesseract-ocr-osd
pec_venv demo
python run.py demo
