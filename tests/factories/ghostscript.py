"""Ghostscript at the edge: the one place that builds its command lines.

Real fax files come from Ghostscript's fax devices, the same code fax servers (HylaFAX,
efax) use to turn documents into fax pages: ``tiffg3`` (G3 1D, EOL-aligned), ``tiffg32d``
(G3 2D) and ``tiffg4`` (G4), at ``204x196`` (fine) or ``204x98`` (standard) dpi.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FAX_DEVICES = ("tiffg3", "tiffg32d", "tiffg4")
FAX_RESOLUTIONS = {"fine": "204x196", "standard": "204x98"}


def available() -> bool:
    return shutil.which("gs") is not None


def pdf_to_fax(pdf: bytes, device: str = "tiffg4", resolution: str = "204x196") -> bytes:
    """Every page of ``pdf`` as one multi-page fax TIFF."""
    if device not in FAX_DEVICES:
        raise ValueError(f"not a fax device: {device}")
    with tempfile.TemporaryDirectory(prefix="gs-fax-") as folder:
        source, target = Path(folder, "in.pdf"), Path(folder, "out.tif")
        source.write_bytes(pdf)
        subprocess.run(
            ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", f"-sDEVICE={device}",
             f"-r{resolution}", "-sPAPERSIZE=a4", "-dFIXEDMEDIA", "-dPDFFitPage",
             f"-sOutputFile={target}", str(source)],
            check=True, capture_output=True, timeout=60)
        return target.read_bytes()
