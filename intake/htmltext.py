"""HTML reduced to text, locally: nothing referenced by the HTML is ever fetched.

Only the text a person sees is kept. An email can carry text that no reader sees (``display:
none``, ``visibility:hidden``, the ``hidden`` attribute, zero or near-zero size, zero opacity,
white on white, moved off the page), and that text must never become a causale or an amount:
a sender could hide another customer's code in it.
"""
from __future__ import annotations

import re
import warnings

from bs4 import (
    BeautifulSoup,
    CData,
    Comment,
    Declaration,
    Doctype,
    MarkupResemblesLocatorWarning,
    NavigableString,
    ProcessingInstruction,
    Tag,
)

_BLOCK_TAGS = ("p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
               "section", "article", "header", "footer", "blockquote", "pre")
_INVISIBLE_TAGS = ["script", "style", "head", "title", "noscript", "template", "object",
                   "embed", "iframe", "svg", "canvas", "audio", "video", "select", "textarea",
                   "button", "datalist", "meta", "link"]


def html_to_text(html: str) -> str:
    """Block elements become line breaks and table cells are separated by a space, so
    'Importo</td><td>10,89' reads as 'Importo 10,89' on one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        try:
            soup = BeautifulSoup(html, "html.parser")
        except Exception:  # noqa: BLE001 - markup the parser rejects ('<![ x'): tags dropped
            return _stripped(html)
    rules = _style_rules(soup)
    for tag in soup(_INVISIBLE_TAGS):
        tag.decompose()
    _drop_hidden(soup, rules)
    for tag in soup.find_all(["td", "th"]):
        tag.append(" ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.append("\n")
    text = soup.get_text()
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --- styles ------------------------------------------------------------------------------

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?((?:[.#][\w-]+)*)$", re.I)


def _declarations(css: str) -> dict[str, str]:
    found = {}
    for part in css.split(";"):
        if ":" in part:
            name, value = part.split(":", 1)
            value = re.sub(r"\s*!important\s*$", "", value.strip(), flags=re.I)
            found[name.strip().lower()] = value.strip().lower()
    return found


def _style_rules(soup: BeautifulSoup) -> list[tuple[str | None, set[str], str | None, dict]]:
    """The simple rules of the document's <style> blocks (tag, classes, id, declarations):
    '.x{display:none}', 'span.hide', '#promo'. Combinators and pseudo-classes are not
    followed (a rule we cannot place hides nothing: the text stays, to be judged)."""
    rules = []
    for style in soup.find_all("style"):
        css = re.sub(r"/\*.*?\*/", "", style.get_text(), flags=re.S)
        css = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)[^{}]*\}", r"\1", css)
        for selectors, body in _RULE.findall(css):
            declarations = _declarations(body)
            for selector in selectors.split(","):
                match = _SIMPLE_SELECTOR.match(selector.strip())
                if not match or not selector.strip():
                    continue
                parts = re.findall(r"[.#][\w-]+", match.group(2) or "")
                classes = {p[1:].lower() for p in parts if p[0] == "."}
                ids = [p[1:].lower() for p in parts if p[0] == "#"]
                rules.append(((match.group(1) or "").lower() or None, classes,
                              ids[0] if ids else None, declarations))
    return rules


def _style_of(tag: Tag, rules: list) -> dict[str, str]:
    """The element's declarations: matching <style> rules, then its inline style."""
    style: dict[str, str] = {}
    classes = {c.lower() for c in (tag.get("class") or [])}
    ident = str(tag.get("id") or "").lower()
    for name, wanted, rule_id, declarations in rules:
        if (name is None or name == tag.name) and wanted <= classes \
                and (rule_id is None or rule_id == ident) and (name or wanted or rule_id):
            style.update(declarations)
    style.update(_declarations(str(tag.get("style") or "")))
    return style


_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|pt|em|rem|%|)$")


def _length(value: str | None) -> float | None:
    """A CSS length in px (em and rem as 16 px), or None when not a plain length."""
    match = _LENGTH.match((value or "").strip())
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    return number * {"pt": 4 / 3, "em": 16.0, "rem": 16.0, "%": 0.16}.get(unit, 1.0)


def _hidden_by_style(style: dict[str, str]) -> bool:
    if style.get("display") == "none" or style.get("visibility") in ("hidden", "collapse"):
        return True
    if style.get("mso-hide") == "all" or style.get("content-visibility") == "hidden":
        return True
    opacity = _length(style.get("opacity"))
    if opacity is not None and opacity < 0.1:
        return True
    size = _length(style.get("font-size"))
    if size is not None and size < 3:
        return True
    if style.get("overflow", "") in ("hidden", "clip"):  # a zero box that clips its text
        for key in ("max-height", "height", "max-width", "width"):
            value = _length(style.get(key))
            if value is not None and value <= 1:
                return True
    indent = _length(style.get("text-indent"))
    if indent is not None and indent <= -500:
        return True
    if style.get("position") in ("absolute", "fixed"):
        for key in ("left", "top", "right"):
            offset = _length(style.get(key))
            if offset is not None and offset <= -500:
                return True
    if re.sub(r"\s", "", style.get("clip", "")) in ("rect(0,0,0,0)", "rect(0px,0px,0px,0px)"):
        return True
    return re.sub(r"\s", "", style.get("clip-path", "")) in ("inset(50%)", "inset(100%)",
                                                             "circle(0)", "polygon(0000)")


def _hidden_by_markup(tag: Tag) -> bool:
    if tag.has_attr("hidden"):
        return True
    if tag.name == "input" and str(tag.get("type", "")).lower() == "hidden":
        return True
    return tag.name == "font" and str(tag.get("size", "")).strip() in ("0", "-7")


def _drop_hidden(soup: BeautifulSoup, rules: list) -> None:
    # comments, CDATA and declarations are never rendered in HTML
    for node in list(soup.find_all(string=lambda t: isinstance(
            t, (Comment, CData, Declaration, Doctype, ProcessingInstruction)))):
        node.extract()
    for tag in list(soup.find_all(True)):
        if tag.decomposed:
            continue
        style = _style_of(tag, rules)
        if _hidden_by_markup(tag) or _hidden_by_style(style):
            tag.decompose()
    for text in list(soup.find_all(string=True)):
        if isinstance(text, NavigableString) and text.strip() and _same_as_background(text,
                                                                                      rules):
            text.replace_with("")


# --- colours -----------------------------------------------------------------------------

_NAMED = {"white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0),
          "green": (0, 128, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
          "gray": (128, 128, 128), "grey": (128, 128, 128), "silver": (192, 192, 192),
          "whitesmoke": (245, 245, 245), "snow": (255, 250, 250), "ivory": (255, 255, 240),
          "ghostwhite": (248, 248, 255), "navy": (0, 0, 128), "orange": (255, 165, 0)}
_TRANSPARENT = "transparent"


def _colour(value: str | None) -> tuple[int, int, int] | str | None:
    """(r, g, b), 'transparent', or None when not given or not understood."""
    if not value:
        return None
    value = value.strip().lower()
    if value in ("transparent", "none"):
        return _TRANSPARENT
    if value in _NAMED:
        return _NAMED[value]
    hexa = re.match(r"^#([0-9a-f]{3,8})\b", value)
    if hexa:
        digits = hexa.group(1)
        if len(digits) in (3, 4):
            digits = "".join(ch * 2 for ch in digits)
        if len(digits) == 8 and int(digits[6:8], 16) < 26:
            return _TRANSPARENT
        if len(digits) in (6, 8):
            return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
        return None
    rgb = re.match(r"^rgba?\(\s*(\d+)\D+(\d+)\D+(\d+)(?:\D+([\d.]+%?))?\s*\)", value)
    if rgb:
        alpha = rgb.group(4)
        if alpha is not None:
            level = float(alpha.rstrip("%")) / (100 if alpha.endswith("%") else 1)
            if level < 0.1:
                return _TRANSPARENT
        return tuple(min(255, int(rgb.group(i))) for i in (1, 2, 3))  # type: ignore[return-value]
    return None


def _background_of(style: dict[str, str], tag: Tag) -> tuple[int, int, int] | str | None:
    for key in ("background-color", "background"):
        if key in style:
            found = _colour(style[key].split()[0] if key == "background" else style[key])
            if found is not None:
                return found
    return _colour(str(tag.get("bgcolor") or "")) if tag.has_attr("bgcolor") else None


def _same_as_background(text: NavigableString, rules: list) -> bool:
    """Text whose colour is the colour behind it (white on the white page by default), or
    transparent text."""
    colour = background = None
    for tag in text.parents:
        if not isinstance(tag, Tag) or tag.name == "[document]":
            continue
        style = _style_of(tag, rules)
        if colour is None:
            colour = _colour(style.get("color")) or (
                _colour(str(tag.get("color"))) if tag.name == "font" and tag.has_attr("color")
                else None)
        if background is None or background == _TRANSPARENT:
            found = _background_of(style, tag)
            if found is not None and found != _TRANSPARENT:
                background = found
    if colour == _TRANSPARENT:
        return True
    if colour is None:
        return False
    if background is None or background == _TRANSPARENT:
        background = _NAMED["white"]
    return max(abs(a - b) for a, b in zip(colour, background, strict=True)) <= 24  # type: ignore[arg-type]


_TAG = re.compile(r"<[^<>]*>")


def _stripped(html: str) -> str:
    """Plain text of markup no parser accepts: tags removed, entities decoded (linear)."""
    import html as entities
    text = entities.unescape(_TAG.sub(" ", html))
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
