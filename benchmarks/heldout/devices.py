"""What devices do to a page: flatbed scanners, fax machines (through Ghostscript's real fax
devices), phone cameras and messenger apps that recompress what they forward."""
from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

STAMP = re.compile(rb"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d\x00")
FAX_RESOLUTION = {"fine": "204x196", "standard": "204x98"}


class MissingTool(RuntimeError):
    pass


def raster_pages(pdf: bytes, dpi: int, grey: bool = True) -> list[Image.Image]:
    import pypdfium2 as pdfium
    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for page in document:
            image = page.render(scale=dpi / 72, grayscale=grey).to_pil()
            pages.append(image.convert("L" if grey else "RGB"))
        return pages
    finally:
        document.close()


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.randrange(2**32))


# --- flatbed scanner -----------------------------------------------------------------------

def scanned(page: Image.Image, rng: random.Random, *, max_skew: float = 3.0,
            turn: int = 0) -> Image.Image:
    """Grey paper, uneven toner, dust, a skew of a few degrees (and ``turn`` on top)."""
    angle = rng.uniform(-max_skew, max_skew) + turn
    paper = rng.randint(225, 245)
    image = page.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    pixels = np.asarray(image, dtype=np.float32)
    pixels = paper - (255 - pixels) * rng.uniform(0.78, 0.95) * (paper / 255)
    gen = _np_rng(rng)
    pixels += gen.normal(0, rng.uniform(4, 10), pixels.shape)
    dust = gen.random(pixels.shape) < rng.uniform(0.0003, 0.0015)
    pixels[dust] = rng.randint(20, 90)
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def images_pdf(images: list[Image.Image], dpi: int, quality: int) -> bytes:
    """An image-only PDF, each page a JPEG (as scanners' 'scan to PDF' make them)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    first = images[0]
    pdf = canvas.Canvas(buffer, pagesize=(first.width * 72 / dpi, first.height * 72 / dpi),
                        invariant=1)
    for image in images:
        size = (image.width * 72 / dpi, image.height * 72 / dpi)
        pdf.setPageSize(size)
        data = io.BytesIO(jpeg(image, quality))
        pdf.drawImage(ImageReader(data), 0, 0, *size)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def multipage_tiff(images: list[Image.Image], dpi: int) -> bytes:
    buffer = io.BytesIO()
    images[0].save(buffer, "TIFF", compression="tiff_lzw", dpi=(dpi, dpi), save_all=True,
                   append_images=images[1:])
    return buffer.getvalue()


# --- fax through Ghostscript -----------------------------------------------------------------

def ghostscript_fax(pdf: bytes, device: str, resolution: str) -> bytes:
    """Ghostscript's own fax devices (tiffg3, tiffg32d, tiffg4): a multi-page fax TIFF."""
    gs = shutil.which("gs")
    if gs is None:
        raise MissingTool("ghostscript (gs) is not installed")
    with tempfile.TemporaryDirectory(prefix="heldout-gs-") as folder:
        source, target = Path(folder, "in.pdf"), Path(folder, "out.tif")
        source.write_bytes(pdf)
        subprocess.run([gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", f"-sDEVICE={device}",
                        f"-r{resolution}", "-dFIXEDMEDIA", "-sPAPERSIZE=a4", "-dPDFFitPage",
                        f"-sOutputFile={target}", str(source)],
                       check=True, capture_output=True, timeout=60)
        # Ghostscript stamps the clock into each page's DateTime tag: a fixed one keeps the
        # corpus the same bytes for the same seed (the tag has a fixed length of 20 bytes)
        return STAMP.sub(b"2026:01:01 00:00:00\x00", target.read_bytes())


def paper_for_fax(pdf: bytes, rng: random.Random) -> bytes:
    """A printed page put through a fax machine's scanner: crooked, grey, thresholded."""
    pages = [scanned(page, rng, max_skew=1.2) for page in raster_pages(pdf, 200)]
    cut = rng.randint(135, 170)
    bitonal = [page.point(lambda v, cut=cut: 255 if v > cut else 0) for page in pages]
    return images_pdf(bitonal, 200, 92)


# --- phone camera and messengers -----------------------------------------------------------

def photographed(page: Image.Image, rng: random.Random, *, strength: float = 1.0
                 ) -> Image.Image:
    """The page on a desk, shot at an angle with a phone: perspective, a light that falls
    off towards a corner, a warm cast, slight motion or focus blur, sensor noise."""
    import cv2
    sheet = np.asarray(page.convert("RGB"))
    h, w = sheet.shape[:2]
    pad = int(w * rng.uniform(0.06, 0.14))
    desk = np.array([rng.randint(70, 150), rng.randint(60, 120), rng.randint(40, 100)],
                    np.uint8)
    canvas = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
    canvas[:] = desk
    canvas[pad:pad + h, pad:pad + w] = sheet
    src = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
    k = 0.07 * strength * w
    dst = src + np.float32([[rng.uniform(0, k), rng.uniform(0, k)],
                            [-rng.uniform(0, k), rng.uniform(0, k / 2)],
                            [-rng.uniform(0, k / 2), -rng.uniform(0, k / 2)],
                            [rng.uniform(0, k / 2), -rng.uniform(0, k)]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    shot = cv2.warpPerspective(canvas, matrix, (canvas.shape[1], canvas.shape[0]),
                               flags=cv2.INTER_LINEAR, borderValue=tuple(int(v) for v in desk))
    # the light, computed on a coarse grid and scaled up (a smooth field; much faster)
    rows, cols = shot.shape[0] // 16 + 1, shot.shape[1] // 16 + 1
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cx, cy = rng.uniform(0, cols), rng.uniform(0, rows)
    dist = np.hypot(xx - cx, yy - cy) / np.hypot(rows, cols)
    light = cv2.resize(1.0 - dist * rng.uniform(0.35, 0.6) * strength,
                       (shot.shape[1], shot.shape[0]), interpolation=cv2.INTER_LINEAR)
    cast = np.float32([1.0, rng.uniform(0.94, 1.0), rng.uniform(0.82, 0.95)])
    lit = shot.astype(np.float32) * light[..., None] * cast
    noise = _np_rng(rng).standard_normal(shot.shape[:2], dtype=np.float32)
    lit += (noise * (3 + 3 * strength))[..., None]
    image = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.0) * strength))


def messenger(image: Image.Image, rng: random.Random, long_edge: int = 1600) -> bytes:
    """What WhatsApp-like apps forward: scaled down to a long edge, JPEG at low quality,
    sometimes twice (forwarded again)."""
    image = image.convert("RGB")
    scale = long_edge / max(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.BILINEAR)
    data = jpeg(image, rng.randint(55, 75))
    if rng.random() < 0.4:
        data = jpeg(Image.open(io.BytesIO(data)).convert("RGB"), rng.randint(60, 80))
    return data
