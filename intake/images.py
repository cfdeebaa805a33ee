"""From image bytes to pages ready for OCR: decode, check limits, straighten, clean.

Two halves, so that limits are enforced before any pixel is decoded:

- ``survey_image`` / ``survey_pdf`` read only headers (TIFF IFDs, PNG/JPEG headers, PDF page
  boxes) and refuse a document over ``max_pages`` or a page over ``max_page_pixels`` with a
  ``BadDocument`` whose reason a person can read. They run in the calling process.
- ``load_image_page`` / ``render_pdf_page`` decode one page and ``prepare`` turns it into an
  8-bit grayscale page with square pixels, upright, deskewed, evenly lit. They run in the OCR
  worker processes (``intake.ocr``), where a page that stalls can be killed.

Fax pages come at 204x98 dpi (standard) or 204x196 dpi (fine): their pixels are not square and
Tesseract misreads digits on them until they are rescaled (measured: 1 of 5 amounts read at
204x98 as it comes, all after rescaling).
"""
from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import BadDocument

if TYPE_CHECKING:  # numpy is imported where pixels are handled: the daemon's start stays quick
    import numpy as np

log = logging.getLogger(__name__)

# What OCR wants: about 300 dpi for print; more only costs time.
OCR_DPI = 300
# Below this, pages are upscaled (a screenshot, a 96 dpi scan): small glyphs defeat Tesseract.
MIN_OCR_DPI = 150
# Such pages are enlarged until their median glyph (letters and figures, the ink shapes) is
# this many pixels tall, at most MAX_UPSCALE times. Measured on phone screenshots: Tesseract
# read a 1080-pixel screen's codes right as it comes (glyphs of 25 px) and misread 8 as 3
# at 2.3 times; a messenger's 591-pixel copy (13 px) read best at about 1.5-2 times.
GLYPH_HEIGHT = 24.0
MAX_UPSCALE = 3.0
MIN_GLYPHS = 30  # fewer ink shapes than this: the height cannot be told
# A fax line is 1728 dots over 8.5 in; anything at or under this is read as it comes.
FAX_DPI = 204
# Photos are downscaled so their longest side is at most this (an A4 page at about 300 dpi).
PHOTO_MAX_SIDE = 3400
# Skew below this (degrees) is left alone: Tesseract copes, and rotating blurs thin strokes.
MIN_DESKEW = 0.4
MAX_DESKEW = 15.0


_ORIENTATION_TAG = 0x0112
# Orientation tag value -> degrees the stored picture is turned clockwise to stand upright
_ORIENTATION_DEGREES = {3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


@dataclass(frozen=True)
class PageInfo:
    """What the header says about one page, before decoding it."""

    number: int  # 1-based
    width: int
    height: int
    dpi: tuple[float, float] | None
    kind: str  # "fax" | "bitonal" | "photo" | "image" | "pdf"


@dataclass
class PreparedPage:
    number: int
    image: Image.Image  # mode "L", square pixels, upright as far as known
    dpi: int
    kind: str
    skew: float = 0.0  # degrees turned counter-clockwise to level the lines
    rotated: int = 0  # degrees turned (EXIF/TIFF orientation, OSD)


# --- surveying (headers only) --------------------------------------------------------------

def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Opens (does not decode) an image; Pillow's own bomb guard is set to our limit."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        log.info("refused before decoding: %s", exc)
        raise BadDocument(f"image is over the limit of {max_pixels} pixels a page "
                          f"(a possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise BadDocument("not a readable image (format not recognised)") from None
    except Exception as exc:  # noqa: BLE001 - any header damage is a bad document
        raise BadDocument(f"corrupt image ({type(exc).__name__}: {exc})") from None


def survey_image(data: bytes, max_pages: int, max_pixels: int) -> list[PageInfo]:
    """Every page of an image file (all TIFF IFDs), from headers only."""
    image = open_image(data, max_pixels)
    try:
        frames = getattr(image, "n_frames", 1)
    except Exception as exc:  # noqa: BLE001 - a broken IFD chain
        raise BadDocument(f"corrupt image: cannot count pages ({exc})") from None
    if frames > max_pages:
        raise BadDocument(f"{frames} pages is over the limit of {max_pages}")
    pages = []
    for index in range(frames):
        try:
            image.seek(index)
        except Exception as exc:  # noqa: BLE001
            raise BadDocument(f"corrupt image: page {index + 1} unreadable ({exc})") from None
        width, height = image.size
        if width * height > max_pixels:
            raise BadDocument(f"page {index + 1} is {width}x{height} pixels, over the limit of "
                              f"{max_pixels} pixels")
        if width < 1 or height < 1:
            raise BadDocument(f"page {index + 1} is empty ({width}x{height} pixels)")
        pages.append(PageInfo(index + 1, width, height, _dpi(image), _kind(image)))
    return pages


def _dpi(image: Image.Image) -> tuple[float, float] | None:
    dpi = image.info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    if not (20 <= x <= 2400 and 20 <= y <= 2400):
        return None  # missing (0, 1, NaN) or absurd: guess from the size instead
    return x, y


def _kind(image: Image.Image) -> str:
    if image.format == "TIFF" and image.info.get("compression") in ("group3", "group4",
                                                                     "tiff_ccitt"):
        width = image.size[0]
        return "fax" if 1700 <= width <= 1760 else "bitonal"
    if image.mode == "1":
        return "bitonal"
    return "photo" if image.format in ("JPEG", "MPO", "WEBP", "HEIF") else "image"


def survey_pdf(data: bytes, max_pages: int, max_pixels: int) -> list[PageInfo]:
    """Page sizes of a PDF (in pixels at the OCR resolution) without rendering anything."""
    pdf = _open_pdf(data)
    try:
        count = len(pdf)
        if count > max_pages:
            raise BadDocument(f"{count} pages is over the limit of {max_pages}")
        pages = []
        for index in range(count):
            width, height = pdf.get_page_size(index)
            dpi = pdf_render_dpi(width, height, max_pixels, _scan_dpi(pdf, index))
            if dpi is None:
                raise BadDocument(f"page {index + 1} is {width:.0f}x{height:.0f} points: too "
                                  f"large to render within {max_pixels} pixels")
            pages.append(PageInfo(index + 1, round(width * dpi / 72), round(height * dpi / 72),
                                  (dpi, dpi), "pdf"))
        return pages
    finally:
        pdf.close()


def pdf_render_dpi(width_pt: float, height_pt: float, max_pixels: int,
                   wanted: float = OCR_DPI) -> float | None:
    """``wanted`` dpi, lowered for oversized pages so the bitmap stays within the pixel limit;
    None when even 100 dpi would not fit (a poster, or a crafted page box)."""
    if width_pt <= 0 or height_pt <= 0:
        return None
    area_in = (width_pt / 72) * (height_pt / 72)
    dpi = min(wanted, (max_pixels / area_in) ** 0.5)
    return dpi if dpi >= 100 else None


def _scan_dpi(pdf, index: int) -> float:  # noqa: ANN001 - pypdfium2.PdfDocument
    """A page that is one scanned picture is rendered at the picture's own resolution (within
    150..300 dpi): upsampling a 200 dpi scan to 300 adds pixels for Tesseract, not detail."""
    import pypdfium2.raw as pdfium_c
    try:
        page = pdf[index]
        page_area = page.get_width() * page.get_height()
        for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=1):
            left, bottom, right, top = image.get_bounds()
            if (right - left) * (top - bottom) >= 0.8 * page_area:
                meta = image.get_metadata()
                native = max(meta.horizontal_dpi, meta.vertical_dpi)
                return float(round(min(OCR_DPI, max(150.0, native))))
    except Exception as exc:  # noqa: BLE001 - only an optimisation: fall back to OCR_DPI
        log.debug("page %d: image resolution unknown: %s", index + 1, exc)
    return float(OCR_DPI)


def _open_pdf(data: bytes):  # noqa: ANN202 - pypdfium2.PdfDocument
    import pypdfium2 as pdfium
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise BadDocument(f"corrupt or encrypted PDF ({exc})") from None


# --- decoding one page (in a worker) --------------------------------------------------------

def load_image_page(data: bytes, info: PageInfo, max_pixels: int) -> PreparedPage:
    image = open_image(data, max_pixels)
    try:
        image.seek(info.number - 1)
        if info.kind == "photo":
            # JPEG can decode at 1/2, 1/4, 1/8 scale: far cheaper than decoding and shrinking
            image.draft("L", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        image.load()
        turned = _ORIENTATION_DEGREES.get(image.getexif().get(_ORIENTATION_TAG, 1), 0)
        upright = ImageOps.exif_transpose(image)  # EXIF and TIFF Orientation tags
    except BadDocument:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt pixel data
        what = "damaged compressed image data" if "decoder error" in str(exc) \
            else "image data unreadable"
        raise BadDocument(f"page {info.number}: {what} ({type(exc).__name__}: {exc})") \
            from None
    return prepare(upright, info, turned)


def render_pdf_page(data: bytes, info: PageInfo) -> PreparedPage:
    pdf = _open_pdf(data)
    try:
        page = pdf[info.number - 1]
        dpi = info.dpi[0] if info.dpi else OCR_DPI
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        image = bitmap.to_pil().convert("L")
    except BadDocument:
        raise
    except Exception as exc:  # noqa: BLE001
        raise BadDocument(f"page {info.number}: cannot render PDF page ({exc})") from None
    finally:
        pdf.close()
    return prepare(image, info, 0, dpi=round(dpi))


# --- preparing a page for OCR ---------------------------------------------------------------

def prepare(image: Image.Image, info: PageInfo, rotated: int = 0,
            dpi: int | None = None) -> PreparedPage:
    import numpy as np
    gray = _to_gray(image)
    if info.kind in ("photo", "image") and dark_background(gray):
        gray = ImageOps.invert(gray)  # a dark-mode screenshot: light text on black
    dithered = info.kind in ("fax", "bitonal") and halftoned(gray)
    gray, square_dpi = _square_pixels(gray, info.dpi if dpi is None else (dpi, dpi))
    if info.kind == "photo":
        gray = _flatten_photo(gray)
    if info.kind in ("photo", "pdf", "image"):
        gray = _despeckle(gray)
    elif dithered:
        gray = _descreen(gray)
    pixels = np.asarray(gray)
    skew = estimate_skew(pixels)
    if abs(skew) >= MIN_DESKEW:
        pixels = rotate_bound(pixels, skew)
    else:
        skew = 0.0
    return PreparedPage(info.number, Image.fromarray(pixels), square_dpi, info.kind, skew,
                        rotated)


def dark_background(gray: Image.Image) -> bool:
    """Light text on a dark background (an app's dark mode): the middle of the picture is
    mostly dark. A photo of a sheet on a dark desk is not: its middle is the paper."""
    import numpy as np
    width, height = gray.size
    middle = np.asarray(gray.crop((width // 5, height // 5, width * 4 // 5, height * 4 // 5))
                        .reduce(4) if min(width, height) >= 40 else gray)
    return float(np.median(middle)) < 100


def _to_gray(image: Image.Image) -> Image.Image:
    import numpy as np
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and
                                              "transparency" in image.info):
        # transparent PNGs: text on a transparent background would turn black on black
        background = Image.new("RGBA", image.size, "white")
        background.alpha_composite(image.convert("RGBA"))
        image = background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        span = max(array.max() - array.min(), 1.0)
        return Image.fromarray(((array - array.min()) * 255 / span).astype(np.uint8))
    return image.convert("L")


def _square_pixels(gray: Image.Image, dpi: tuple[float, float] | None
                   ) -> tuple[Image.Image, int]:
    """Rescales to square pixels at the horizontal resolution, and shrinks huge pages."""
    width, height = gray.size
    if dpi is None:
        dpi = (_guess_dpi(width, height),) * 2
    x_dpi, y_dpi = dpi
    target = x_dpi
    if max(width, height) > PHOTO_MAX_SIDE * 1.2 and x_dpi > OCR_DPI:
        target = max(OCR_DPI, x_dpi * PHOTO_MAX_SIDE / max(width, height))
    elif x_dpi < MIN_OCR_DPI:
        # screen-resolution images (a phone screenshot, a 96 dpi scan): Tesseract wants
        # letters of 20+ pixels, and misreads digits on letters blown up far beyond that
        # (an 8 read as 3 on a 1080-pixel screenshot upscaled to 300 "dpi"): the factor
        # comes from the letters' own height, not from a guessed resolution
        target = x_dpi * _upscale_factor(gray)
    new_size = (round(width * target / x_dpi), round(height * target / y_dpi))
    if abs(new_size[0] - width) > 1 or abs(new_size[1] - height) > 1:
        gray = gray.resize(new_size, Image.Resampling.LANCZOS if target < x_dpi
                           else Image.Resampling.BICUBIC)
    return gray, round(target)


def glyph_height(gray: Image.Image) -> float | None:
    """The median height in pixels of the page's glyph-like ink shapes (dark on light), or
    None when there are too few to tell."""
    import cv2
    import numpy as np
    pixels = np.asarray(gray)
    if min(pixels.shape) < 16:
        return None
    _, ink = cv2.threshold(pixels, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, labels, stats, _centres = cv2.connectedComponentsWithStats(ink, connectivity=8)
    del labels
    widths, heights, areas = stats[1:count, 2], stats[1:count, 3], stats[1:count, 4]
    glyphs = (heights >= 4) & (heights <= 0.1 * pixels.shape[0]) & (widths <= 2 * heights) \
        & (areas >= 0.1 * widths * heights)
    if int(glyphs.sum()) < MIN_GLYPHS:
        return None
    return float(np.median(heights[glyphs]))


def _upscale_factor(gray: Image.Image) -> float:
    """How much a screen-resolution page is enlarged for OCR: to bring its median glyph to
    GLYPH_HEIGHT pixels, at most 3 times; not at all when it is near that already."""
    measured = glyph_height(gray)
    if measured is None:
        return MAX_UPSCALE
    factor = min(MAX_UPSCALE, GLYPH_HEIGHT / measured)
    return factor if factor >= 1.15 else 1.0


def _guess_dpi(width: int, height: int) -> float:
    """No resolution in the file: assume the page is A4 (a receipt or a letter)."""
    if 1700 <= width <= 1760:
        return FAX_DPI
    return max(70.0, min(600.0, min(width, height) / 8.27))


def halftoned(gray: Image.Image) -> bool:
    """A bitonal page whose grey areas were dithered into dots (a fax machine in photo mode,
    grey paper, Ghostscript's fax devices on a scan): most of its black pixels are dots that a
    3x3 median removes, where on clean text only stroke corners go (measured: 1-9% on real
    faxes, 77-89% on dithered ones)."""
    import cv2
    import numpy as np
    pixels = np.asarray(gray)
    ink = pixels < 128
    black = int(ink.sum())
    if black == 0:
        return False
    removed = int((ink & (cv2.medianBlur(pixels, 3) >= 128)).sum())
    return removed > 0.4 * black


def _descreen(gray: Image.Image) -> Image.Image:
    """Dots become a light grey that Tesseract's own thresholding drops; strokes stay dark."""
    import cv2
    import numpy as np
    return Image.fromarray(cv2.GaussianBlur(np.asarray(gray), (0, 0), 2.0))


def _despeckle(gray: Image.Image) -> Image.Image:
    """A 3x3 median removes scanner dust and sensor noise: isolated dots that cost Tesseract
    time and turn into stray characters. Bitonal fax pages are left alone (their strokes can
    be one pixel thin)."""
    import cv2
    import numpy as np
    return Image.fromarray(cv2.medianBlur(np.asarray(gray), 3))


def _flatten_photo(gray: Image.Image) -> Image.Image:
    """Evens out uneven light (shadows, a lamp's hot spot) and crops a photographed sheet to
    the paper, straightening its perspective when its four corners can be found."""
    import cv2
    import numpy as np
    pixels = np.asarray(gray)
    pixels = _unwarp_sheet(pixels)
    # the paper's brightness, estimated at a quarter of the size (light varies slowly):
    # dilation wipes out the ink, a wide median smooths what is left
    height, width = pixels.shape
    small = cv2.resize(pixels, (max(1, width // 4), max(1, height // 4)),
                       interpolation=cv2.INTER_AREA)
    kernel = max(5, (min(small.shape) // 40) | 1)
    small_bg = cv2.medianBlur(cv2.dilate(small, np.ones((3, 3), np.uint8)), kernel)
    background = cv2.resize(small_bg, (width, height), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(pixels, background, scale=255)
    return Image.fromarray(cv2.normalize(flat, None, 0, 255, cv2.NORM_MINMAX))


def _unwarp_sheet(pixels: np.ndarray) -> np.ndarray:
    import cv2
    import numpy as np
    height, width = pixels.shape
    scale = 800 / max(height, width)
    small = cv2.resize(pixels, (round(width * scale), round(height * scale)))
    _, mask = cv2.threshold(cv2.GaussianBlur(small, (5, 5), 0), 0, 255,
                            cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return pixels
    sheet = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(sheet)
    if area < 0.25 * small.size or area > 0.97 * small.size:
        return pixels  # no distinct sheet, or the sheet fills the frame already
    quad = cv2.approxPolyDP(sheet, 0.02 * cv2.arcLength(sheet, True), True)
    if len(quad) != 4:
        return pixels
    corners = _order_corners(quad.reshape(4, 2).astype(np.float32) / scale)
    top = np.linalg.norm(corners[1] - corners[0])
    side = np.linalg.norm(corners[3] - corners[0])
    out_w, out_h = int(top), int(side)
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]],
                      dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(pixels, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                               borderValue=255)


def _order_corners(points: np.ndarray) -> np.ndarray:
    """top-left, top-right, bottom-right, bottom-left."""
    import numpy as np
    total = points.sum(axis=1)
    diff = np.diff(points, axis=1).ravel()
    return np.array([points[np.argmin(total)], points[np.argmin(diff)],
                     points[np.argmax(total)], points[np.argmax(diff)]], dtype=np.float32)


def estimate_skew(pixels: np.ndarray) -> float:
    """The turn (degrees, counter-clockwise) that levels the text lines; 0 when unsure.

    Text lines are smeared into bars with a wide closing; the median angle of the long bars'
    minimum-area rectangles is the skew. Works on a reduced copy: it costs a few ms a page.
    """
    import cv2
    import numpy as np
    height, width = pixels.shape
    scale = min(1.0, 1200 / max(height, width))
    small = cv2.resize(pixels, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    if min(small.shape) < 40:
        return 0.0
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    bars = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((3, 25), np.uint8))
    contours, _ = cv2.findContours(bars, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles, weights = [], []
    for contour in contours:
        (_, _), (w, h), angle = cv2.minAreaRect(contour)
        if w < h:
            w, h, angle = h, w, angle - 90
        if w < 60 or h < 3 or w < 5 * h:
            continue
        angle = (angle + 90) % 180 - 90
        if abs(angle) <= MAX_DESKEW:
            angles.append(angle)
            weights.append(w)
    if len(angles) < 3:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    median = float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    return median


def rotate_bound(pixels: np.ndarray, degrees: float) -> np.ndarray:
    """Rotates counter-clockwise by ``degrees`` on a white background, keeping every pixel."""
    import cv2
    height, width = pixels.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return cv2.warpAffine(pixels, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                          borderValue=255)
