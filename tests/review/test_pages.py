"""Page images from the kept originals: a standard fax (204x98 dpi) shown with square pixels,
and the fields read by OCR highlighted from the word boxes intake returns."""
from __future__ import annotations

import io
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import ghostscript
from tests.factories.receipts import MailSpec, ReceiptSpec, build_email
from tests.factories.review import make_world
from tests.factories.scans import fax

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None or
                                shutil.which("gs") is None,
                                reason="needs Tesseract and Ghostscript")


def test_standard_fax_is_rendered_square_and_its_code_highlighted(tmp_path: Path) -> None:
    world = make_world(tmp_path, ocr=True)
    world.user("anna")
    order = world.orders[0].order
    spec = ReceiptSpec(codes=(order.code,), amount=order.amount - Decimal("1.00"),
                       payer=order.customer_name, reference="0306900000000042")
    tiff = fax(spec, "tiffg3", ghostscript.FAX_RESOLUTIONS["standard"])
    raw = build_email(MailSpec(sender=order.customer_email, subject="Fax ricevuta",
                               attachments=[("fax.tif", "image/tiff", tiff)]))
    rid = world.take_in(raw, "fax-1")
    client = world.client("anna")
    data = client.get(f"/receipts/{rid}.json").json()
    (document,) = data["documents"]
    assert document["pages"] == 1 and document["text_source"] == "ocr"
    assert any(h["field"] == "code" and 0 <= h["x0"] < h["x1"] <= 1
               for h in document["highlights"]), document
    png = client.get(f"/receipts/{rid}/documents/{document['id']}/pages/1.png")
    assert png.status_code == 200
    shown = Image.open(io.BytesIO(png.content))
    source = Image.open(io.BytesIO(tiff))
    # 204x98 dpi: the page is stretched back to its paper proportions (A4 is about 1.41)
    assert source.height / source.width < 0.8
    assert 1.3 < shown.height / shown.width < 1.5
    assert client.get(f"/receipts/{rid}/documents/{document['id']}/pages/2.png") \
        .status_code == 404
