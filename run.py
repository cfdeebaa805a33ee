#!/usr/bin/env python3
"""``python run.py [--config PATH] COMMAND ...``: see CONTRACT.md and the README."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
