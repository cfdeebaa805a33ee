"""Only the text a person sees in an HTML email is read (issue 10, case 4)."""
from __future__ import annotations

import pytest

from intake.fields import extract_fields
from intake.htmltext import html_to_text

VISIBLE = "<p>Pagamento ordine RLM95055, importo 10,89 EUR</p>"

HIDDEN = {
    "display_none": '<p style="display:none">RLM11111 importo 99,99</p>',
    "display_none_important": '<p style="DISPLAY: none !important">RLM11111</p>',
    "visibility": '<span style="visibility:hidden">RLM11111</span>',
    "hidden_attribute": "<div hidden>RLM11111</div>",
    "white_on_white": '<span style="color:#ffffff">RLM11111</span>',
    "near_white_font": '<font color="#FEFEFE">RLM11111</font>',
    "same_as_cell": '<table><tr><td bgcolor="#003366"><span style="color:#003366">RLM11111'
                    '</span></td></tr></table>',
    "zero_size": '<span style="font-size:0">RLM11111</span>',
    "one_pixel": '<span style="font-size:1px">RLM11111</span>',
    "zero_height_clipped": '<div style="max-height:0;overflow:hidden">RLM11111</div>',
    "transparent": '<span style="color:rgba(0,0,0,0)">RLM11111</span>',
    "opacity": '<span style="opacity:0">RLM11111</span>',
    "off_page": '<span style="position:absolute;left:-9999px">RLM11111</span>',
    "indent": '<p style="text-indent:-9999px">RLM11111</p>',
    "class_rule": "<style>.pre{display:none}</style><span class=pre>RLM11111</span>",
    "media_rule": "<style>@media screen{ div.h {visibility:hidden} }</style>"
                  "<div class='h'>RLM11111</div>",
    "id_rule": "<style>#p{font-size:0px}</style><p id=p>RLM11111</p>",
    "mso_hide": '<div style="mso-hide:all">RLM11111</div>',
    "hidden_input": '<input type="hidden" value="x">',
    "script": "<script>var c = 'RLM11111';</script>",
    "comment": "<!-- RLM11111 -->",
    "cdata": "<![CDATA[RLM11111]]>",
}


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_hidden_text_is_not_read(name: str) -> None:
    text = html_to_text(f"<html><body>{VISIBLE}{HIDDEN[name]}</body></html>")
    assert "RLM11111" not in text and "99,99" not in text
    fields = extract_fields(text)
    assert fields.codes == ["RLM95055"]


@pytest.mark.parametrize("html", [
    '<span style="color:white;background-color:#000">RLM95055</span>',
    '<div style="height:0">RLM95055</div>',  # no overflow: hidden, so the text shows
    '<span style="color:#333">RLM95055</span>',
    '<span style="font-size:12px">RLM95055</span>',
    "<style>.x td{display:none}</style><span class=x>RLM95055</span>",  # not followed
])
def test_visible_text_is_read(html: str) -> None:
    assert "RLM95055" in html_to_text(html)
