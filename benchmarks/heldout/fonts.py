"""The TrueType fonts Debian ships (DejaVu, Liberation when installed), for reportlab and PIL.

The factories draw with reportlab's built-in Helvetica; the held-out set never does.
"""
from __future__ import annotations

import functools
from pathlib import Path

FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
           "/usr/share/fonts/truetype/liberation2")
# family -> (regular, bold) file names, first found wins
FAMILIES = {
    "sans": [("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")],
    "condensed": [("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf")],
    "serif": [("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
              ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")],
    "mono": [("LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf"),
             ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf")],
    "arial": [("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
              ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf")],
}


class MissingFonts(RuntimeError):
    pass


@functools.cache
def font_file(family: str, bold: bool = False) -> str:
    for regular, heavy in FAMILIES[family]:
        for folder in FOLDERS:
            path = Path(folder) / (heavy if bold else regular)
            if path.exists():
                return str(path)
    raise MissingFonts(f"no {family} font found in {', '.join(FOLDERS)} "
                       "(apt-get install fonts-dejavu-core)")


@functools.cache
def rl_font(family: str, bold: bool = False) -> str:
    """Registers the family with reportlab once; returns the font name to setFont with."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    name = f"HO-{family}{'-Bold' if bold else ''}"
    pdfmetrics.registerFont(TTFont(name, font_file(family, bold)))
    return name


@functools.cache
def pil_font(family: str, size: int, bold: bool = False):  # noqa: ANN201 - ImageFont
    from PIL import ImageFont
    return ImageFont.truetype(font_file(family, bold), size)
