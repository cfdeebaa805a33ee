"""HTML reduced to text, locally: nothing referenced by the HTML is ever fetched."""
from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

_BLOCK_TAGS = ("p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
               "section", "article", "header", "footer", "blockquote", "pre")


def html_to_text(html: str) -> str:
    """Block elements become line breaks and table cells are separated by a space, so
    'Importo</td><td>10,89' reads as 'Importo 10,89' on one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        try:
            soup = BeautifulSoup(html, "html.parser")
        except Exception:  # noqa: BLE001 - markup the parser rejects ('<![ x'): tags dropped
            return _stripped(html)
    for tag in soup(["script", "style", "head", "title", "noscript", "template"]):
        tag.decompose()
    for tag in soup.find_all(["td", "th"]):
        tag.append(" ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.append("\n")
    text = soup.get_text()
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


_TAG = re.compile(r"<[^<>]*>")


def _stripped(html: str) -> str:
    """Plain text of markup no parser accepts: tags removed, entities decoded (linear)."""
    import html as entities
    text = entities.unescape(_TAG.sub(" ", html))
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
