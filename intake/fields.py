"""From text to payment fields: order codes, amount, beneficiary IBAN, CRO/TRN, date, payer,
method. Pure functions: text in, ``PaymentFields`` out.

Receipts from any bank share a vocabulary, not a layout, so every field is chosen by the label
nearest to it (on its line, or in the lines just above for label-over-value layouts), never by
position on a page: 'Importo' beats 'Commissioni' and 'Totale addebitato'; 'Beneficiario'
beats 'Ordinante'.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


@dataclass(frozen=True)
class Evidence:
    """Where a field was read and how sure the reading is (0..1)."""

    snippet: str
    line: int
    confidence: float


@dataclass(frozen=True)
class Doubt:
    """Something a document says that forbids paying on it, whatever else matches: a negative
    amount, a transfer the bank has not executed (reversed, refused, pending), or readings of
    the amount that disagree. ``kind`` is one of ``NEGATIVE``, ``NOT_EXECUTED``,
    ``AMOUNT_DISAGREES``; ``reason`` is the sentence a reviewer reads, with the values."""

    kind: str
    reason: str


NEGATIVE, NOT_EXECUTED, AMOUNT_DISAGREES = "negative_amount", "not_executed", \
    "amount_disagrees"


@dataclass(frozen=True)
class CodeCandidate:
    code: str
    confidence: float
    raw: str
    repaired: bool = False


@dataclass
class PaymentFields:
    codes: list[str] = field(default_factory=list)
    code_candidates: list[CodeCandidate] = field(default_factory=list)
    amount: Decimal | None = None
    currency: str | None = None
    iban: str | None = None
    transfer_ref: str | None = None
    payment_date: date | None = None
    payer: str | None = None
    method: str = "unknown"
    evidence: dict[str, Evidence] = field(default_factory=dict)
    # PEC addresses and userids named in the text, lower-cased (the mailbox paid for)
    mailboxes: list[str] = field(default_factory=list)
    # how likely each value is right, 0..1 (None where the field is None): intake.confidence
    confidence: dict[str, float | None] = field(default_factory=dict)
    # fields two OCR engines read differently: both readings, for a person to decide
    disputed: dict[str, list[str]] = field(default_factory=dict)
    doubts: list[Doubt] = field(default_factory=list)
    # set when the document asks for a payment rather than proving one (the order's own
    # booking page, payment instructions): what it says, for the reviewer
    instructions: str | None = None

    def is_empty(self) -> bool:
        return not self.codes and self.amount is None and self.iban is None \
            and self.transfer_ref is None


def extract_fields(text: str) -> PaymentFields:
    lines = _outgoing_display(_split_display(_normalise(text).split("\n")))
    result = PaymentFields()
    result.code_candidates = find_codes(lines)
    result.codes = [c.code for c in result.code_candidates]
    amount = find_amount(lines)
    if amount:
        result.amount, result.currency = amount[0], "EUR"
        result.evidence["amount"] = amount[1]
    for name, finder in (("iban", find_beneficiary_iban), ("transfer_ref", find_transfer_ref),
                         ("payment_date", find_payment_date), ("payer", find_payer)):
        found = finder(lines)
        if found:
            setattr(result, name, found[0])
            result.evidence[name] = found[1]
    result.method = find_method(lines)
    result.mailboxes = find_mailboxes(lines)
    _cross_check_words(lines, result)
    result.doubts += amount_doubts(lines, result.amount) + find_not_executed(lines)
    result.instructions = find_instructions(lines)
    return result


def _cross_check_words(lines: list[str], result: PaymentFields) -> None:
    """Postal slips and cheques print the amount twice, in figures and in words ('DIECI/89').
    Agreement raises the amount's confidence; a disagreement is a doubt with both values
    (the figures stay the amount read): a misread digit and a forged figure look the same,
    so neither reading is trusted over the other. Words alone give the amount."""
    found = find_amount_in_words(lines)
    if found is None:
        return
    value, evidence = found
    current = result.evidence.get("amount")
    if result.amount is None or current is None:
        result.amount, result.currency = value, "EUR"
        result.evidence["amount"] = evidence
    elif result.amount == value:
        result.evidence["amount"] = Evidence(current.snippet, current.line, 1.0)
    else:
        result.doubts.append(Doubt(AMOUNT_DISAGREES, (
            f"the amount in figures ({_euro(result.amount)}) and in words "
            f"({_euro(value)}) disagree")))


def _euro(value: Decimal) -> str:
    """'1234.5' -> '1.234,50', as a reviewer reads money."""
    text = f"{abs(value):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return ("-" if value < 0 else "") + text


# --- text helpers ------------------------------------------------------------------------

def fold_digits(text: str) -> str:
    """Every decimal digit as its ASCII digit ('９５０５５', '٩٥٠٥٥' -> '95055') and fullwidth
    letters as ASCII ('ＲＬＭ' -> 'RLM'), so a code looks the same however it was typed
    (a regex's ``\\d`` matches any script's digits; an order code must not)."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif unicodedata.category(char) == "Nd":
            out.append(str(unicodedata.decimal(char)))
        elif "\uff01" <= char <= "\uff5e":  # fullwidth ASCII forms
            out.append(unicodedata.normalize("NFKC", char))
        else:
            out.append(char)
    return "".join(out)


def _normalise(text: str) -> str:
    text = fold_digits(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = text.replace("\xa0", " ").replace("\u202f", " ").replace("\u2009", " ")
    text = text.replace("\u20ac", "€").replace("\u2013", "-").replace("\u2014", "-")
    text = text.replace("\u2212", "-")  # the minus sign of typeset statements
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(_BIG_AMOUNT.sub(r"\1,\2", line) for line in lines)


# A banking app shows the transfer the customer made as money leaving their account: a line
# that is only the amount, signed, under the transfer's title ('Bonifico istantaneo' /
# '- 21,78 €'). On a document that says nothing was reversed or refused, it is the payment.
# (OCR reads the display's decimal comma as a dot or a colon: '-166.20', '-166:20€')
_SIGNED_DISPLAY = re.compile(r"^[-=]\s?(€\s?)?(\d{1,3}(?:\.\d{3})*[,.:]\d{2})\s?(€|EUR)?$")
_TRANSFER_TITLE = re.compile(r"\bbonifico\b|\bgiroconto\b|\bpagamento\b", re.IGNORECASE)


def _outgoing_display(lines: list[str]) -> list[str]:
    found = [i for i, line in enumerate(lines) if _SIGNED_DISPLAY.match(line)
             and any(_TRANSFER_TITLE.search(lines[j]) for j in range(max(0, i - 2), i))]
    if not found or find_not_executed(lines):
        return lines
    lines = list(lines)
    for index in found:
        match = _SIGNED_DISPLAY.match(lines[index])
        assert match is not None
        figures = match.group(2)
        figures = figures[:-3] + "," + figures[-2:]  # the decimal separator as printed: ','
        lines[index] = f"{match.group(1) or ''}{figures} {match.group(3) or ''}".strip()
    return lines


# An app's amount display: big figures and small raised decimals, which OCR reads as two
# words ('36 ,60'): one amount
_BIG_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})*) ,(\d{2})(?![\d.,])")


# The same display read as two lines: the big figures, then the small decimals ('€ 45' /
# ',10'; '- 45' / ',10 €'): one amount
_DISPLAY_UNITS = re.compile(r"^(?P<head>[-=]?\s?(?:€|EUR)?\s?)(?P<units>\d{1,3}(?:\.\d{3})*)$")
_DISPLAY_CENTS = re.compile(r"^[,.](?P<cents>\d{2})(?P<tail>\s?(?:€|EUR))?$")


def _split_display(lines: list[str]) -> list[str]:
    """Joins an amount display OCR read as two lines, keeping the line count (the second
    line is left empty)."""
    out = list(lines)
    for index in range(len(out) - 1):
        units, cents = _DISPLAY_UNITS.match(out[index]), _DISPLAY_CENTS.match(out[index + 1])
        if units and cents:
            out[index] = (f"{units.group('head')}{units.group('units')},{cents.group('cents')}"
                          f"{cents.group('tail') or ''}")
            out[index + 1] = ""
    return out


# A label stands close to its value: the context is bounded so that extraction stays linear
# in the text's size however many values a long line holds (a 5 MiB email in about a second).
CONTEXT_CHARS = 400


def _context(lines: list[str], index: int, prefix: str, above: int = 3) -> str:
    """The label context of a value: the lines just above (their first ``CONTEXT_CHARS``,
    where a header's labels are) and its own line up to the value (the last ones)."""
    start = max(0, index - above)
    return "\n".join([line[:CONTEXT_CHARS] for line in lines[start:index]]
                     + [prefix[-CONTEXT_CHARS:]]).lower()


def _before(line: str, end: int, start: int = 0) -> str:
    """The text of ``line`` just before ``end`` (from ``start``), at most ``CONTEXT_CHARS``."""
    return line[max(start, end - CONTEXT_CHARS):end]


def _nearest(context: str, groups: dict[str, re.Pattern[str]]) -> str | None:
    """The group whose label stands closest before the value, or None."""
    best, best_pos = None, -1
    for name, pattern in groups.items():
        for match in pattern.finditer(context):
            if match.end() > best_pos:
                best, best_pos = name, match.end()
    return best


def _evidence(lines: list[str], index: int, confidence: float) -> Evidence:
    return Evidence(lines[index][:200], index, round(confidence, 2))


# --- order codes -------------------------------------------------------------------------

# between the prefix's letters: a typed separator, or a line wrap ('... ORDINE N. R' /
# 'LM 72298': a fixed-width causale cut at its column)
_PREFIX_GAP = r"(?:[ .\-_]{0,2}| ?\n)"
_CODE = re.compile(
    rf"(?<![A-Za-z0-9])R{_PREFIX_GAP}L{_PREFIX_GAP}M"
    # (a line may end after the separator: 'RLM-' / '12345')
    r"(?:[ .,\-_:#°/]{0,3}(?:n(?:r|o)?[.°]?)?[ .\-_:#°/]{0,3} ?\n?)"
    r"(\d{1,10})(?!\d)",
    re.IGNORECASE,
)
# fewer digits than this after the prefix are a code only when joined to the rest
_MIN_PART_DIGITS = 3


# OCR misreadings of the order code. Letters read for digits are repaired only inside the
# digit part, and only the classic confusions (O/o->0, I/l/|->1, S->5, B->8); the 'L' of the
# prefix may be read as I, 1 or |. Every repaired reading is kept with a lower confidence:
# matching decides against the order book.
_DIGITISH = "0-9OoIl|SB"
_OCR_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?P<glued>[Il|](?=RLM))?(?i:R[ .\-_]{0,2}(?P<l>[L1I|])[ .\-_]{0,2}M)"
    r"(?:[ .,\-_:#°/]{0,3}(?i:n(?:r|o)?[.°]?)?[ .\-_:#°/]{0,3}|\n)"
    rf"(?:(?P<solid>[{_DIGITISH}]{{3,12}})|(?P<spaced>[{_DIGITISH}](?: [{_DIGITISH}]){{3,11}}))"
    r"(?![0-9A-Za-z])",
)
_REPAIRS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "S": "5", "B": "8"})
# A code whose digits end a line and go on at the start of the next: joined only when the
# first part is too short to be a whole code by itself.
_SPLIT_TAIL = re.compile(r"(\d{1,7})(?![0-9A-Za-z,.])")
_MIN_WHOLE_DIGITS = 5


def find_codes(lines: list[str]) -> list[CodeCandidate]:
    """Every ``RLM`` code, normalised, most mentioned first (ties: exact readings before
    repaired ones, repaired ones by confidence, then first seen first)."""
    text = "\n".join(lines)
    seen: dict[str, list] = {}  # code -> [count, first order, raw, confidence, repaired]
    exact_at: dict[int, str] = {}
    order = 0
    for match in _CODE.finditer(text):
        code = "RLM" + match.group(1)
        confidence = 1.0 if match.group(0).upper() == code else 0.95
        grouped = _grouped_digits(text, match.end(), match.group(1)) \
            if len(match.group(1)) >= 2 else None
        if grouped:  # 'RLM 950 55': digits typed in groups
            code, confidence = "RLM" + grouped, 0.9
        elif len(match.group(1)) < _MIN_WHOLE_DIGITS:
            # a causale wrapped in the middle of the code ('... RLM123' / '45 grazie'):
            # the fragment is never a code by itself, the two parts are
            joined = _joined_over_line(text, match.end(), match.group(1))
            if joined and len(joined) >= _MIN_WHOLE_DIGITS:
                code, confidence = "RLM" + joined, 0.95
        if len(code) - 3 < _MIN_PART_DIGITS:
            continue  # 'RLM 2': no code, and no wrapped one
        if _cut_short(text, match.end(), code):
            exact_at[match.start()] = code
            continue  # 'RLM121…': a causale cut by an ellipsis inside the code
        glued = text[match.end():match.end() + 1]
        if glued and glued in "OoIlSB|":
            # 'RLM1234B': the digits may go on as a misread letter; this reading drops it
            _note(seen, code, order, match.group(0), 0.7, True)
        else:
            _note(seen, code, order, match.group(0), confidence, False)
        exact_at[match.start()] = code
        order += 1
    for code, raw, confidence, start in _ocr_codes(text):
        if start in exact_at and exact_at[start].startswith(code):
            continue  # the same mention, already read exactly (or as grouped digits)
        _note(seen, code, order, raw, confidence, True)
        order += 1
    ranked = sorted(seen.items(), key=lambda item: (
        -item[1][0], item[1][4], -item[1][3] if item[1][4] else 0.0, item[1][1]))
    return [CodeCandidate(code, round(confidence, 2), raw, repaired)
            for code, (_count, _order, raw, confidence, repaired) in ranked]


_ELLIPSIS = re.compile(r"\s?(?:…|\.{3})")


def _cut_short(text: str, end: int, code: str) -> bool:
    """A code shorter than a whole one that an ellipsis cuts ('RLM121…', an app's causale
    cut to fit the screen): a fragment, never a code."""
    return len(code) - 3 < _MIN_WHOLE_DIGITS and bool(_ELLIPSIS.match(text, end))


def _note(seen: dict[str, list], code: str, order: int, raw: str, confidence: float,
          repaired: bool) -> None:
    entry = seen.setdefault(code, [0, order, raw, confidence, repaired])
    entry[0] += 1
    if confidence > entry[3]:
        entry[2:] = [raw, confidence, repaired]


def _ocr_codes(text: str) -> list[tuple[str, str, float, int]]:
    """OCR-tolerant readings as ``(code, raw, confidence, start)``."""
    found = []
    for match in _OCR_CODE.finditer(text):
        body = match.group("solid") or match.group("spaced").replace(" ", "")
        digits = body.translate(_REPAIRS)
        real = sum(ch.isdigit() for ch in body)
        if real < 3 or real < 0.6 * len(body) or len(digits) > 10:
            continue
        if _cut_short(text, match.end(), "RLM" + digits):
            continue
        repairs = len(body) - real
        confidence = 0.9 - 0.05 * repairs
        if match.group("l") not in "Ll":
            confidence -= 0.1
        if match.group("spaced"):
            confidence -= 0.05
        if match.group("glued"):  # 'IRLM': a margin line or speckle read as I before R
            confidence -= 0.05
        found.append(("RLM" + digits, match.group(0), max(confidence, 0.5), match.start()))
        if match.group("solid") and len(digits) < _MIN_WHOLE_DIGITS:
            joined = _joined_over_line(text, match.end(), digits)
            if joined:
                found.append(("RLM" + joined, match.group(0), 0.6, -match.start() - 1))
    return found


_GROUP_TAIL = re.compile(r" (\d{1,7})(?![0-9A-Za-z,.]|\.\d)")


def _grouped_digits(text: str, end: int, digits: str) -> str | None:
    """'RLM 950 55': a part too short to be a whole code, then one space and more digits,
    is one code typed in groups; a whole code is never extended ('RLM95055 2026')."""
    if len(digits) >= _MIN_WHOLE_DIGITS:
        return None
    tail = _GROUP_TAIL.match(text, end)
    if not tail or not _MIN_WHOLE_DIGITS <= len(digits + tail.group(1)) <= 10:
        return None
    return digits + tail.group(1)


def _joined_over_line(text: str, end: int, digits: str) -> str | None:
    if not text.startswith("\n", end):
        return None
    tail = _SPLIT_TAIL.match(text, end + 1)
    if not tail or len(digits + tail.group(1)) > 10:
        return None
    return digits + tail.group(1)


# --- amounts -----------------------------------------------------------------------------

_AMOUNT = re.compile(
    # a dash glued to the word before ('Importo del bonifico- 323,53': a table's leader
    # read by OCR) is no minus sign
    r"(?<![\d.,])(?P<sign>(?<![A-Za-z])-\s?)?(?:(?P<cur1>EUR|€|euro)\s?)?"
    r"(?P<num>\d{1,3}(?:\.\d{3})+,\d{2}|\d{1,3}(?:'\d{3})+,\d{2}|\d+,\d{2}"
    r"|\d{1,3}(?:,\d{3})+\.\d{2}|\d+\.\d{2})"
    r"(?![\d]|[.,]\d|:\d)(?P<tsign>-(?=\s|$))?(?:\s?(?P<cur2>EUR|€|euro))?",
    re.IGNORECASE,
)

# Checked in order: the first rule whose label is nearest wins (see _amount_label_score).
_AMOUNT_LABELS: dict[str, re.Pattern[str]] = {
    # ('tassa': what a post office charges for a slip)
    "fee": re.compile(r"commission|spese|oneri|\bcosto|bollo|\bfee|tariff|\btass[ae]\b"),
    # (a company's signature prints its share capital: 'Capitale sociale € 10.000,00 i.v.')
    "balance": re.compile(r"saldo|disponibil|balance|\bfido|contabile\b|residu|"
                          r"capitale\s+sociale"),
    "total_debit": re.compile(
        r"totale\s*(?:addebit|dell.operazione|operazione|complessiv|pagato|da\s+addebitare)"
        r"|import[oi]\s+(?:totale\s+)?addebitat|addebito\s+totale|total\s+amount|totale"),
    "transfer": re.compile(
        r"import[oi]\s*(?:del\s+|dell.)?(?:bonifico|versamento|disposto|operazione|ordinat|"
        r"trasferit|pagat|assegno|bollettino|accreditat|in\s+euro|da\s+versare|versat|"
        r"netto|rimessa|transazione)"
        # a statement's movement line: 'BONIFICO SEPA A FAVORE DI LEXTEL ... 114,14'
        r"|bonifico\b[^\n]{0,40}\ba\s+favore\s+di\b"),
    # ('IMP 24,40': a counter receipt's abbreviation)
    "amount": re.compile(r"import[oi]|somma|ammontare|\bamount|\bvalore\b|in\s+cifre|"
                         r"\bimp\b\.?"),
    "paid_words": re.compile(r"pagat|versat|bonificat|pagamento|versamento|bonifico|\beuro\b"),
}
_AMOUNT_SCORES = {"fee": -3.0, "balance": -4.0, "total_debit": -2.0, "transfer": 4.0,
                  "amount": 3.0, "paid_words": 1.5}


def parse_amount(raw: str) -> Decimal | None:
    """'1.234,56' / '1,234.56' / '10,89' / '10.89' -> Decimal, or None."""
    raw = raw.replace("'", "").replace(" ", "")
    if "," in raw and "." in raw:
        raw = raw.replace(".", "").replace(",", ".") if raw.rfind(",") > raw.rfind(".") \
            else raw.replace(",", "")
    elif "," in raw:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value.quantize(Decimal("0.01")) if value.is_finite() else None


def _amount_label_score(context: str) -> float:
    nearest = _nearest(context, _AMOUNT_LABELS)
    return _AMOUNT_SCORES[nearest] if nearest else 0.0


def _column_labels(label_line: str) -> list[str]:
    """The amount labels of a table's header row, left to right, overlaps resolved in favour
    of the first-listed (most specific) kind: 'Importo Commissioni Totale addebitato' ->
    ['amount', 'fee', 'total_debit']."""
    spans: list[tuple[int, int, int, str]] = []
    for rank, (name, pattern) in enumerate(_AMOUNT_LABELS.items()):
        if name == "paid_words":
            continue
        spans += [(m.start(), m.end(), rank, name) for m in pattern.finditer(label_line.lower())]
    chosen: list[tuple[int, int, int, str]] = []
    for span in sorted(spans, key=lambda s: (s[2], s[0])):
        if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
            chosen.append(span)
    return [name for _start, _end, _rank, name in sorted(chosen)]


# An amount as OCR may print it: digits with O/o, I/l, S, B read for 0, 1, 5, 8 ('1O,89');
# at least one real digit before the decimal comma, exactly two decimals.
_OCR_AMOUNT = re.compile(r"(?<![\w.,])(?=[OoIlSB\d.']*\d)[\dOoIlSB]{1,3}(?:[.'][\dOoIlSB]{3})*"
                         r",[\dOoIlSB]{2}(?![\w,])")
_AMOUNT_REPAIRS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "B": "8"})


def _repair_amounts(line: str) -> str:
    return _OCR_AMOUNT.sub(lambda m: m.group(0).translate(_AMOUNT_REPAIRS), line)


def find_amount(lines: list[str]) -> tuple[Decimal, Evidence] | None:
    """The transferred amount: the best-labelled one; fees, totals and balances lose.
    Amounts OCR printed with letters for digits are read repaired, with less confidence."""
    repaired = [_repair_amounts(line) for line in lines]
    found = _find_amount(repaired)
    if found and repaired[found[1].line] != lines[found[1].line]:
        value, evidence = found
        return value, Evidence(lines[evidence.line][:200], evidence.line,
                               round(evidence.confidence * 0.8, 2))
    return found


@dataclass(frozen=True)
class _AmountSeen:
    score: float
    line: int
    value: Decimal          # negative when printed with a minus sign
    label: str | None       # the nearest label's kind (_AMOUNT_LABELS), None when unlabelled


_TIME_OR_DAY = re.compile(r"\b(?:alle|ore|h|dalle|il|del|dal|entro\s+il)\s*$", re.IGNORECASE)


def _amount_candidates(lines: list[str]) -> list[_AmountSeen]:
    candidates: list[_AmountSeen] = []
    for index, line in enumerate(lines):
        previous_end = 0
        matches = list(_AMOUNT.finditer(line))
        columns: list[str] = []
        if len(matches) > 1 and index > 0 and not re.search(r"[A-Za-z]{3}", _AMOUNT.sub("", line)):
            columns = _column_labels(lines[index - 1])  # a table row under its header
            if len(columns) != len(matches):
                columns = []
        for position, match in enumerate(matches):
            value = parse_amount(match.group("num"))
            if value is None or value == 0 or value >= Decimal("1000000"):
                continue
            if match.group("sign") or match.group("tsign"):
                value = -value  # 'Importo stornato: -10,89', '10,89-': money going back
            if _TIME_OR_DAY.search(line[max(0, match.start() - 12):match.start()]) \
                    and re.fullmatch(r"\d{1,2}\.\d{2}", match.group("num")) \
                    and not (match.group("cur1") or match.group("cur2")):
                continue  # 'alle 10.30', 'il 12.03': a time or a day, not money
            prefix = _before(line, match.start(), previous_end)
            has_label = re.search(r"[A-Za-z]{3}", prefix)
            above = 0 if has_label else 2
            context = _context(lines, index, prefix, above=above)
            label = columns[position] if columns else _nearest(context, _AMOUNT_LABELS)
            if label == "paid_words":
                # 'COMMISSIONI BONIFICO 1,00': a fee or balance named on the value's own
                # line outranks the word 'bonifico' after it
                own = prefix.lower()
                label = next((name for name in ("fee", "balance")
                              if _AMOUNT_LABELS[name].search(own)), label)
            score = _AMOUNT_SCORES[label] if label else 0.0
            if match.group("cur1") or match.group("cur2"):
                score += 0.5
            if "," in match.group("num"):
                score += 0.25  # Italian notation: a money amount rather than a time or a code
            candidates.append(_AmountSeen(score, index, value, label))
            previous_end = match.end()
    return candidates


def _find_amount(lines: list[str]) -> tuple[Decimal, Evidence] | None:
    candidates = _amount_candidates(lines)
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c.score, -c.line))
    if best.score >= 2.0:
        return best.value, _evidence(lines, best.line, min(1.0, 0.6 + best.score / 10))
    # No labelled amount: accept only a single unambiguous value that no label rules out.
    # (a bare "10.30" with no label, currency or Italian comma is as likely a time)
    neutral = {c.value for c in candidates if c.score > 0}
    if len(neutral) == 1:
        value = neutral.pop()
        index = next(c.line for c in candidates if c.value == value)
        return value, _evidence(lines, index, 0.5)
    return None


_AMOUNT_KINDS = ("transfer", "amount")  # labels that name the amount paid itself


def amount_doubts(lines: list[str], amount: Decimal | None) -> list[Doubt]:
    """The readings of one document's amount must agree: no negative amount, the amount
    printed twice printed the same, and a total that is the amount plus the fees shown."""
    if amount is None:
        return []
    seen = _amount_candidates([_repair_amounts(line) for line in lines])
    doubts = []
    negative = [c.value for c in seen if c.value < 0 and (c.score >= 2.0 or c.value == amount)]
    if amount < 0 or negative:
        shown = amount if amount < 0 else negative[0]
        doubts.append(Doubt(NEGATIVE, f"negative amount {_euro(shown)}: a reversal or a debit, "
                                      "never a payment"))
    if amount <= 0:
        return doubts
    named = sorted({c.value for c in seen if c.label in _AMOUNT_KINDS and c.value > 0})
    if len(named) > 1:
        doubts.append(Doubt(AMOUNT_DISAGREES, "the amount is printed with different values: "
                            + ", ".join(_euro(v) for v in named)))
    totals = sorted({c.value for c in seen if c.label == "total_debit" and c.value > 0})
    fees = [c.value for c in seen if c.label == "fee" and c.value > 0]
    for total in totals:
        if not _total_agrees(total, amount, fees):
            fee_text = f" minus fees {_euro(sum(fees, Decimal('0.00')))}" if fees else ""
            doubts.append(Doubt(AMOUNT_DISAGREES, (
                f"the total {_euro(total)}{fee_text} does not give the amount {_euro(amount)}")))
            break
    return doubts


def _total_agrees(total: Decimal, amount: Decimal, fees: list[Decimal]) -> bool:
    """A total debited is the amount, or the amount plus the fees shown (each printed once
    or twice); with no fees shown it may exceed the amount (fees not itemised), never fall
    short of it."""
    if total == amount:
        return True
    if not fees:
        return total > amount
    extras = {sum(fees, Decimal("0.00")), sum(set(fees), Decimal("0.00")), *fees}
    return total - amount in extras


# --- payments the bank has not executed -----------------------------------------------------

# What a bank prints on a transfer that did not (or not yet) move the money. Past participles
# and status lines only: 'non revocabile' or a customer's 'in attesa di un Vostro riscontro'
# is no such statement.
_NOT_EXECUTED = [
    ("reversed", re.compile(r"\bstorn(?:o|ato|ata|ati|ate)\b|\bstornat|"
                            r"\brevocat[oaie]\b|\bannullat[oaie]\b|\b(?:status|stato|esito)\s*"
                            r"[:\-]\s*(?:reversed|cancell?ed|revoked)\b", re.I)),
    ("refused", re.compile(r"\brespint[oaie]\b|\brifiutat[oaie]\b|\brejected\b|"
                           r"\bnon\s+(?:(?:è|e'|e’|é)\s+stat[oa]\s+)?eseguit[oaie]\b|"
                           r"\bnon\s+andat[oa]\s+a\s+buon\s+fine|\besito\s*[:\-]?\s*negativo|"
                           r"\binsolut[oaie]\b|\b(?:status|stato|esito)\s*[:\-]\s*(?:failed|"
                           r"rejected|refused|returned)\b", re.I)),
    ("pending", re.compile(r"\bda\s+autorizzare\b|\bin\s+attesa\s+di\s+(?:esecuzione|"
                           r"autorizzazione|firma|approvazione|elaborazione|addebito|invio|conferma\s+della\s+banca)|"
                           r"\bprenotat[oaie]\b|\b(?:stato|status|esito)\s*[:\-]\s*(?:in\s+attesa|"
                           r"in\s+lavorazione|sospes[oa]|pending|da\s+eseguire|non\s+ancora)|"
                           r"\bnon\s+ancora\s+eseguit|"
                           r"\b(?:bonifico|pagamento|disposizione|giroconto|addebito)\s+"
                           r"programmat[oa]\b|\bin\s+data\s+futura\b", re.I)),
]
_NOT_EXECUTED_WORDS = {"reversed": "a reversal or cancellation", "refused": "a refused transfer",
                       "pending": "a transfer not executed yet"}


def find_not_executed(lines: list[str]) -> list[Doubt]:
    """The first statement that the payment was reversed, refused or is still pending."""
    for index, line in enumerate(lines):
        for kind, pattern in _NOT_EXECUTED:
            match = pattern.search(line)
            if match:
                return [Doubt(NOT_EXECUTED, f"{_NOT_EXECUTED_WORDS[kind]}: the document says "
                              f"{match.group(0)!r} (line {index + 1}: {line[:80]!r})")]
    return []


# --- a request to pay is not a payment -------------------------------------------------------

# What the provider's booking page, a quote or payment instructions print: an amount still to
# be paid and where to pay it. Customers send a print or a screenshot of that page in good faith
# in place of the bank's receipt; the guide says such documents are not valid proof. Wording of
# a future or owed payment only: a receipt says what *was* paid.
_INSTRUCTIONS = re.compile(
    r"\bimport[oi]\s+(?:ancora\s+)?da\s+(?:versare|pagare|corrispondere|saldare|bonificare)\b"
    r"|\btotale\s+da\s+(?:versare|pagare|corrispondere)\b"
    r"|\bda\s+versare\s+(?:per\s+mezzo|a\s+mezzo|tramite|entro)\b"
    r"|\bcoordinate\s+(?:bancarie\s+)?per\s+(?:effettuare\s+)?(?:il\s+)?(?:versamento|pagamento|"
    r"bonifico)\b"
    r"|\bmodalit[aà]\s+(?:di\s+(?:pagamento|versamento)\s+)?scelta\s*:"
    r"|\bordine\b[^.\n]{0,60}\b(?:è|e'|e’|é)\s+stato\s+(?:confermato|registrato)\b",
    re.IGNORECASE)
# A causale is the customer's own words ('saldo importo da pagare RLM...'): not the document's.
_REMITTANCE_LINE = re.compile(r"\b(?:causale|descrizione|motivazione|messaggio|note)\b", re.I)


def find_instructions(lines: list[str]) -> str | None:
    """The first line that asks for a payment instead of proving one, as the reviewer reads
    it; None on a receipt."""
    for index, line in enumerate(lines):
        if _REMITTANCE_LINE.search(line):
            continue
        match = _INSTRUCTIONS.search(line)
        if match:
            return f"{match.group(0)!r} (line {index + 1}: {line[:80]!r})"
    return None


# --- amount in words (postal slips) ---------------------------------------------------------

# (OCR drops the spaces of a printed label: 'IMPORTOINLETTERE', and reads O as 0 in words)
_WORD_LABEL = re.compile(r"(?:in\s*lettere|importo\s*lettere)\s*[:\-.]?\s*"
                         r"([a-z][a-z0 ]*?)\s*/\s*(\d{2})\b", re.IGNORECASE)
# Longest first, so 'diciassette' is not read as 'dici' + ...; elided forms ('vent', 'trent',
# 'cent') come from 'ventuno', 'trentotto', 'centottanta'.
_NUMBER_WORDS = {
    "diciassette": 17, "diciannove": 19, "quattordici": 14, "cinquanta": 50, "sessanta": 60,
    "settanta": 70, "quaranta": 40, "novanta": 90, "ottanta": 80, "quindici": 15,
    "tredici": 13, "diciotto": 18, "quattro": 4, "undici": 11, "dodici": 12, "sedici": 16,
    "cinque": 5, "trenta": 30, "quarant": 40, "cinquant": 50, "sessant": 60, "settant": 70,
    "ottant": 80, "novant": 90, "dieci": 10, "venti": 20, "trent": 30, "vent": 20,
    "sette": 7, "cento": 100, "cent": 100, "mille": 1000, "mila": 1000, "otto": 8,
    "nove": 9, "zero": 0, "uno": 1, "due": 2, "tre": 3, "sei": 6, "un": 1,
}
def words_to_number(words: str) -> int | None:
    """'milleduecentotrentaquattro' -> 1234 (0..999999); None unless every letter is used."""
    words = re.sub(r"\s+", "", words.lower())
    if not words or len(words) > 80:
        return None
    for tokens in _tokenisations(words, 0):
        value = _evaluate(tokens)
        if value is not None:
            return value
    return None


def _tokenisations(words: str, position: int) -> list[list[int]]:
    """Every way to cut ``words[position:]`` into number words (elisions make it ambiguous:
    'centottanta' is 'cent' + 'ottanta', not 'cento' + ...)."""
    if position == len(words):
        return [[]]
    found = []
    for word, value in _NUMBER_WORDS.items():
        if words.startswith(word, position):
            found += [[value] + rest for rest in _tokenisations(words, position + len(word))]
    return found


def _evaluate(tokens: list[int]) -> int | None:
    total = current = 0
    for value in tokens:
        if value == 100:
            if current >= 10:
                return None
            current = (current or 1) * 100
        elif value == 1000:
            if total:
                return None
            total, current = (current or 1) * 1000, 0
        else:
            if current % 100 and (value >= 10 or current % 10):
                return None  # 'tre' + 'venti' is no number
            current += value
    return total + current


_WORDS_WITH_CURRENCY = re.compile(
    r"(?:\b(?:euro|eur)\s+(?P<w1>[a-z]+(?:\s[a-z]+)*?)\s*(?:/|,|\s+e\s+|\s+virgola\s+)\s*"
    r"(?P<c1>\d{2}|[a-z]+)\b)"
    r"|(?:\b(?P<w2>[a-z]+(?:\s[a-z]+)*?)\s+euro\s+(?:e\s+)?(?P<c2>\d{1,2}|[a-z]+)"
    r"(?:\s+(?:centesimi|cent)\b|(?=\s*$|\s*[).,;]|\s+per\b))"
    r"|(?:lettere\s*[:\-]?\s*(?P<w3>[a-z]+(?:\s[a-z]+)*?)\s+(?:euro|eur)\b(?!\s+e\b)(?!\s*\d)))",
    re.IGNORECASE)


def find_amount_in_words(lines: list[str]) -> tuple[Decimal, Evidence] | None:
    """An amount written in words: 'in lettere: dieci/89', 'euro dieci/89', 'dieci euro e
    ottantanove (centesimi)', 'dieci euro e 89', 'in lettere: dieci euro'. Only runs of whole
    number words count, and none labelled as fees or totals ('due euro e cinquanta di
    commissioni' is not the amount). Accents are folded first: 'ventitré', 'ventitre'' (as
    typed without an accented key) are 'ventitre'."""
    for index, line in enumerate(lines):
        line = _fold_accents(line)
        match = _WORD_LABEL.search(line)
        if match:
            euros = words_to_number(match.group(1).replace("0", "o"))
            if euros is not None:
                value = Decimal(euros) + Decimal(match.group(2)) / 100
                return value.quantize(Decimal("0.01")), _evidence(lines, index, 0.9)
        for match in _WORDS_WITH_CURRENCY.finditer(line):
            value = _words_amount(match)
            context = _context(lines, index, _before(line, match.start()), above=0)
            if value is not None and _nearest(context, _AMOUNT_LABELS) not in (
                    "fee", "balance", "total_debit"):
                return value, _evidence(lines, index, 0.9)
    return None


_APOSTROPHE_ACCENT = re.compile(r"(?<=[A-Za-z])['’`](?![A-Za-z])")


def _fold_accents(line: str) -> str:
    """'quarantatré' -> 'quarantatre', 'ventitre'' -> 'ventitre' (the number words' only
    accent is a final one, which people type as an apostrophe); other letters unchanged."""
    if line.isascii() and "'" not in line and "`" not in line:
        return line
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", line)
                     if not unicodedata.combining(ch))
    return _APOSTROPHE_ACCENT.sub("", folded)


def _words_amount(match: re.Match[str]) -> Decimal | None:
    words = match.group("w1") or match.group("w2") or match.group("w3")
    cents_raw = match.group("c1") or match.group("c2") or "0"
    euros = _trailing_number(words, from_right=match.group("w1") is None)
    if euros is None:
        return None
    if cents_raw.isdigit():
        cents: int | None = int(cents_raw)
    else:
        cents = words_to_number(cents_raw)
    if cents is None or cents > 99:
        return None
    return (Decimal(euros) + Decimal(cents) / 100).quantize(Decimal("0.01"))


def _trailing_number(words: str, from_right: bool) -> int | None:
    """The longest run of whole number words next to the currency word: 'pagato dieci' ->
    10 (the run ends at 'euro' when it stands before it, starts after it otherwise)."""
    tokens = words.split()
    spans = [tokens[k:] for k in range(len(tokens))] if from_right \
        else [tokens[:k] for k in range(len(tokens), 0, -1)]
    for span in spans:
        value = words_to_number("".join(span))
        if value is not None and not (len(span) == 1 and span[0].lower() in _NOT_ALONE):
            return value
    return None


# Number words that are also ordinary words: never an amount on their own ('un euro' is).
_NOT_ALONE = {"e", "un", "uno"}


# --- IBAN --------------------------------------------------------------------------------

_IBAN_START = re.compile(r"(?<![A-Z0-9])([A-Z]{2}) ?(\d) ?(\d)")
_IBAN_LABELS = {
    "beneficiary": re.compile(r"beneficiari|a\s*.?avore\s+d|destinatari|accredit|intestat[oa]\s+a|"
                              r"creditore|payee|intestatario\s+c/c|c/c\s+intestato"),
    "payer": re.compile(r"ordinante|addebit|dal\s+conto|mittente|pagatore|debitore|"
                        r"eseguito\s+da|tuo\s+conto|tuo\s+iban|conto\s+di\s+prelievo"),
}


_IT_MISREAD = re.compile(r"(?<![A-Z0-9])[\[|1L!]T(?= ?\d ?\d ?[A-Z])")


def find_ibans(lines: list[str]) -> list[tuple[str, int, str]]:
    """Valid IBANs (checksum verified) as ``(iban, line, label_group)``."""
    found = []
    for index, line in enumerate(lines):
        # OCR reads the I of 'IT' as [ | 1 l !: the checksum still decides below
        upper = _IT_MISREAD.sub("IT", line.upper())
        on_line = []
        for match in _IBAN_START.finditer(upper):
            iban = _iban_at(upper, match.start())
            if iban:
                context = _context(lines, index, _before(line, match.start()))
                on_line.append((iban, index, _nearest(context, _IBAN_LABELS) or ""))
        columns = _iban_columns(lines, index, len(on_line)) if len(on_line) > 1 else None
        if columns:  # two columns, 'ORDINANTE  BENEFICIARIO' above: left to right
            on_line = [(iban, i, group) for (iban, i, _), group in zip(on_line, columns)]
        found += on_line
    return found


def _iban_columns(lines: list[str], index: int, count: int) -> list[str] | None:
    """The labels of a two-column layout's header, left to right, from the nearest of the
    five lines above that names exactly ``count`` parties."""
    for above in range(index - 1, max(-1, index - 6), -1):
        text = lines[above].lower()
        spans = sorted((m.start(), group) for group, pattern in _IBAN_LABELS.items()
                       for m in pattern.finditer(text))
        if len(spans) == count and len({group for _, group in spans}) == count:
            return [group for _, group in spans]
    return None


def _iban_at(text: str, start: int) -> str | None:
    compact = ""
    for char in text[start:start + 50]:
        if char.isalnum():
            compact += char
        elif char not in " -.,:;'":  # OCR reads speckles between groups as . , : '
            break
    for length in range(min(len(compact), 34), 14, -1):
        try:
            return str(IBAN(compact[:length]).compact)
        except SchwiftyException:
            continue
    return None


def find_beneficiary_iban(lines: list[str]) -> tuple[str, Evidence] | None:
    ibans = find_ibans(lines)
    for wanted in ("beneficiary", ""):
        for iban, index, group in ibans:
            if group == wanted:
                return iban, _evidence(lines, index, 0.95 if wanted else 0.6)
    return None


# --- CRO / TRN and other references --------------------------------------------------------

# between a reference's label and its value: '(TRN):', "dell'operazione è", 'n.'
# ('CRO ........ 640077': a fixed-width layout's leader dots)
_LEADER = r"(?:[:.\-,_…](?:[ :.\-_…]{0,60}))"
_REF_GAP = rf"\)?\s*(?:del[a-z' ]{{0,16}}?\s)?\s*(?:è|e'|{_LEADER})?\s*(?:n(?:r|o)?\.?\s*)?"
_REFERENCES = [
    (re.compile(r"\bTRN\b" + _REF_GAP + r"([A-Z0-9]{11,35})", re.I), 1.0),
    (re.compile(r"\bC\.?\s?R\.?\s?[O0]{1,2}?\.?(?![A-Z])" + _REF_GAP + r"(\d{8,16})(?![A-Z0-9])",
                re.I), 1.0),
    # customers call any reference a CRO, a TRN too ('Il CRO dell'operazione è 0306...IT')
    (re.compile(r"\bC\.?\s?R\.?\s?[O0]{1,2}?\.?(?![A-Z])" + _REF_GAP +
                r"(\d{17,33}[A-Z]{0,2})(?![A-Z0-9])", re.I), 0.95),
    (re.compile(r"(?:riferimento|identificativo|codice|numero|\bid|n\.)\s+"
                r"(?:dell[ae]?\s*|del\s+)?(?:operazione|transazione|movimento|disposizione|bonifico|"
                r"pagamento|versamento|ordine\s+di\s+bonifico)" + _REF_GAP +
                r"([A-Z0-9][A-Z0-9\-/]{5,39})", re.I), 0.85),
    (re.compile(r"(?:codice|numero|n\.)\s+(?:di\s+)?riferimento\s*" + _LEADER + r"?\s*"
                r"([A-Z0-9][A-Z0-9\-/]{5,39})", re.I), 0.8),
    (re.compile(r"end\s*to\s*end\s*(?:id)?\s*" + _LEADER + r"?\s*"
                r"([A-Z0-9][A-Z0-9\-/]{5,39})", re.I), 0.8),
    # a cheque's number: 'assegno bancario n° ...', 'N. assegno: ...', 'numero dell'assegno'
    (re.compile(r"(?:assegno|cheque)(?:\s+(?:bancario|circolare|postale|non\s+trasferibile))?"
                r"\s*(?:n(?:r|o|umero)?\.?\s*°?|#)\s*[:.]?\s*([0-9\-]{6,20})",
                re.I), 0.85),
    (re.compile(r"(?:\bn(?:r|o|umero)?\.?\s*°?|\bnumero)\s+(?:dell.\s*|del\s+)?"
                r"(?:assegno|cheque)(?:\s+(?:bancario|circolare|postale))?\s*[:.]?\s*"
                r"([0-9\-]{6,20})", re.I), 0.85),
    (re.compile(r"\b(VCY[A-Z]?\s*\d{3,})", re.I), 0.8),
]


def find_transfer_ref(lines: list[str]) -> tuple[str, Evidence] | None:
    """The strongest reference printed (TRN, then CRO, then the bank's own numbering); a
    label that ends its line takes its value from the next line, as label-over-value
    layouts print it."""
    for pattern, confidence in _REFERENCES:
        for index, line in enumerate(lines):
            texts = [line]
            if index + 1 < len(lines):
                texts.append(line + " " + lines[index + 1])
            for text in texts:
                found = _reference_in(pattern, text, len(line))
                if found:
                    value, joined = found
                    return value, _evidence(lines, index, confidence - 0.1 * joined)
    return _cheque_code_line(lines)


# An Italian cheque's code line: cheque number, ABI, CAB, account ('5829493472 05696 29212
# 1032853'), its magnetic-ink marks read by OCR as punctuation
_CHEQUE_CODE_LINE = re.compile(r"^\W*(\d{7,12})\W+\d{5}\W+\d{5}\W+\d{4,14}\W*$")
_CHEQUE = re.compile(r"\bassegn[oi]\b|\bcheque", re.IGNORECASE)


def _cheque_code_line(lines: list[str]) -> tuple[str, Evidence] | None:
    """The number of a cheque printed without a label, on its code line."""
    if not any(_CHEQUE.search(line) for line in lines):
        return None
    for index, line in enumerate(lines):
        match = _CHEQUE_CODE_LINE.match(line)
        if match:
            return match.group(1), _evidence(lines, index, 0.6)
    return None


def _reference_in(pattern: re.Pattern[str], text: str, own: int) -> tuple[str, bool] | None:
    for match in pattern.finditer(text):
        if len(text) > own and match.start(1) < own:
            continue  # the line's own value: found on the line alone
        value = re.sub(r"\s", "", match.group(1)).upper()
        if sum(ch.isdigit() for ch in value) >= 4 and not value.startswith("RLM"):
            return _split_digits(value, text[match.end():])
    return None


_TAIL_DIGITS = re.compile(r"^ (\d{2,})\s*[.,;]?\s*$")


def _split_digits(value: str, rest: str) -> tuple[str, bool]:
    """A numeric reference that OCR broke with a space ('15825488931 24831') at the end of
    its line: the two runs are one number."""
    tail = _TAIL_DIGITS.match(rest)
    if value.isdigit() and tail and len(value) + len(tail.group(1)) <= 35:
        return value + tail.group(1), True
    return value, False


# --- dates -------------------------------------------------------------------------------

_MONTHS = {"gen": 1, "feb": 2, "mar": 3, "apr": 4, "mag": 5, "giu": 6, "lug": 7, "ago": 8,
           "set": 9, "ott": 10, "nov": 11, "dic": 12}
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?!\d)")
_DATE_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_DATE_WORDS = re.compile(
    r"(?<!\d)(\d{1,2})\s+(gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic)[a-z]*\.?\s+(\d{4})",
    re.I)
_DATE_LABELS = {
    "execution": re.compile(r"data\s*(?:di\s+|dell.)?(?:esecuzione|operazione|pagamento|"
                            r"disposizione|accettazione|addebito|ordine|invio|emissione|"
                            r"versamento|transazione)|eseguit[oa]\s+il|pagat[oa]\s+il|"
                            r"effettuat[oa]\s+il|in\s+data|disposto\s+il"),
    "value": re.compile(r"valuta|contabile|data\b|date\b|del\b|il\b"),
    "other": re.compile(r"scadenza|nascita|stampa|generat|rilascio|aggiornat|validit"),
}
_DATE_SCORES = {"execution": 3.0, "value": 1.0, "other": -2.0}


def _make_date(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return value if 2000 <= value.year <= 2100 else None


def find_payment_date(lines: list[str]) -> tuple[date, Evidence] | None:
    candidates: list[tuple[float, int, date]] = []
    for index, line in enumerate(lines):
        for pattern, order in ((_DATE_ISO, "ymd"), (_DATE_NUMERIC, "dmy"), (_DATE_WORDS, "dMy")):
            for match in pattern.finditer(line):
                a, b, c = match.groups()
                if order == "ymd":
                    value = _make_date(int(a), int(b), int(c))
                elif order == "dmy":
                    value = _make_date(int(c), int(b), int(a))
                else:
                    value = _make_date(int(c), _MONTHS[b.lower()[:3]], int(a))
                if value is None:
                    continue
                prefix = _before(line, match.start())
                above = 0 if re.search(r"[A-Za-z]{3}", prefix) else 1
                nearest = _nearest(_context(lines, index, prefix, above), _DATE_LABELS)
                candidates.append((_DATE_SCORES.get(nearest or "", 0.0), index, value))
    if not candidates:
        return None
    score, index, value = max(candidates, key=lambda c: (c[0], -c[1]))
    if score < 0:
        return None
    return value, _evidence(lines, index, 0.9 if score >= 3 else 0.6)


# --- payer -------------------------------------------------------------------------------

_PAYER_LABEL = re.compile(
    r"(?:^|\b)(?:nome\s+(?:e\s+cognome\s+)?(?:dell.)?ordinante|ordinante|eseguito\s+da|"
    r"versante|pagatore|debitore|intestatario\s+(?:del\s+)?conto(?:\s+di\s+addebito)?|"
    r"titolare(?:\s+(?:del\s+)?conto)?|intestatario|emittente|traente)\b\s*[:\-]?\s*(.*)$",
    re.IGNORECASE)
_NAME_STOP = re.compile(
    r"\s{2,}|\s(?:iban|c\.?f\.?|codice|indirizzo|via|conto|banca|beneficiario|importo|"
    r"data|n\.|nr\.?)\b.*$", re.IGNORECASE)


def _clean_name(raw: str) -> str | None:
    # OCR leaves table rules and speckles at a name's edges: "++ OTTAVIO CATTANEO |"
    name = _NAME_STOP.sub("", raw).strip(" :;,.-|+*=_~\"`«»()[]{}")
    if re.search(r"\d{3,}", name) or not re.search(r"[A-Za-zÀ-ÿ]{2}", name):
        return None
    if _NAME_IS_LABEL.match(name):  # 'ORDINANTE BENEFICIARIO': a header row, not a name
        return None
    words = _drop_speckles(name.split())
    if not 1 <= len(words) <= 8 or len(name) > 80:
        return None
    return " ".join(words)


def _drop_speckles(words: list[str]) -> list[str]:
    """OCR reads a form's rules and dots before an upper-case name as short junk words
    ('e NICOLÒ MORETTI', '2.3 ct ILARIA SANTORO', '<.-.c TIZIANO CONTI'): dropped, only
    when what follows is all upper case (so 'de Luca' keeps its 'de')."""
    start = 0
    while start < len(words) - 1 and (not re.search(r"[A-Za-zÀ-ÿ]{2}", words[start])
                                      or (len(words[start]) <= 2 and words[start].islower())):
        start += 1
    rest = words[start:]
    if start and len(rest) >= 2 and all(w.isupper() for w in rest):
        return rest
    return words


_NAME_IS_LABEL = re.compile(r"(?:beneficiari|ordinante|iban|importo|causale|data|indirizzo)"
                            r"\w*\b", re.IGNORECASE)
_CLOSING = re.compile(r"^(?:cordiali|distinti|i\s+migliori)?\s*salut[ie]|^in\s+fede|"
                      r"^con\s+osservanza", re.IGNORECASE)


# a bank's letter is signed by its branch, not by the payer
_INSTITUTION = re.compile(r"\b(?:banca|banco|filiale|servizio|ufficio|s\.?p\.?a\.?|"
                          r"poste\s+italiane|credit|bank)\b", re.IGNORECASE)


def find_payer(lines: list[str]) -> tuple[str, Evidence] | None:
    """A labelled payer ('Ordinante: ...', label over value too); else the signature under a
    letter's closing formula ('Distinti saluti' / name), as in cheque letters and emails."""
    for index, line in enumerate(lines):
        match = _PAYER_LABEL.search(line)
        if not match:
            continue
        name = _clean_name(match.group(1))
        if name is None and not match.group(1).strip() and index + 1 < len(lines):
            if _PAYER_LABEL.search(lines[index + 1]):
                continue  # a section heading ('Dati ordinante'): the label follows
            # the value line may carry its own label: 'Nome e cognome: Anna Verdi'
            name = _clean_name(re.sub(r"^[A-Za-zÀ-ÿ' ]{2,30}:\s*", "", lines[index + 1]))
        if name:
            return name, _evidence(lines, index, 0.8)
    addressee = _addressee(lines)
    if addressee:
        return addressee
    for index, line in enumerate(lines[:-1]):
        if _CLOSING.search(line):
            name = _clean_name(lines[index + 1])
            if name and len(name.split()) >= 2 and not re.search(r"[@:]", name) \
                    and not _INSTITUTION.search(name):
                return name, _evidence(lines, index + 1, 0.5)
    return None


# A bank's letter about a transfer its customer ordered is addressed to that customer
_SALUTATION = re.compile(r"^(?:spett(?:\.le|abile)|gent(?:\.(?:mo|ma|le)|ile|ilissim[oa])|"
                         r"egr(?:\.|egio)|alla\s+c\.?\s?a\.?|all.attenzione\s+di)\s*[:,]?\s*"
                         r"(?:(?:sig|sig\.ra|dott|avv|ing|geom|rag)\.?\s+)?(.+)$", re.IGNORECASE)
_ORDERED_BY_ADDRESSEE = re.compile(
    r"\bda\s+(?:lei|voi|te)\s+(?:disposto|ordinato|effettuato|eseguito|richiesto|inserito)\b"
    r"|\bsu\s+(?:sua|vostra)\s+(?:disposizione|richiesta|ordine)\b|\bper\s+(?:suo|vostro)\s+"
    r"conto\b|\bdal\s+(?:suo|vostro)\s+conto\b", re.IGNORECASE)


def _addressee(lines: list[str]) -> tuple[str, Evidence] | None:
    """The person a bank's letter is addressed to ('Spett.le ANNA NERI'), when the letter
    says the transfer was theirs ('il bonifico da lei disposto')."""
    if not any(_ORDERED_BY_ADDRESSEE.search(line) for line in lines):
        return None
    for index, line in enumerate(lines[:15]):
        match = _SALUTATION.match(line)
        if not match:
            continue
        name = _clean_name(match.group(1))
        if name and len(name.split()) >= 2 and not _INSTITUTION.search(name) \
                and not re.search(r"\bclient[ei]\b|[@:]", name, re.IGNORECASE):
            return name, _evidence(lines, index, 0.6)
    return None


# --- mailboxes (PEC addresses and userids) --------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# a PEC domain: 'pec' as a label or word part (pec.it, pec.avvocati.it, arubapec.it,
# legalmail.it, postacert..., cert.*) as Italian certified-mail providers name them
_PEC_DOMAIN = re.compile(r"(?:^|[.@-])(?:[a-z]*pec[a-z]*|legalmail|postacert[a-z]*|cert[a-z]*|"
                         r"sicurezzapostale|pecavvocati|mypec)(?:[.-]|$)", re.IGNORECASE)
_MAILBOX_WORDS = re.compile(r"\b(?:casella|pec|posta\s+(?:elettronica\s+)?certificata|"
                            r"rinnov\w*|indirizzo)\b", re.IGNORECASE)
_USERID = re.compile(r"\b(?:user\s*-?\s*id|userid|user\s+name|utenza|nome\s+utente|"
                     r"codice\s+utente)\b\s*[:.=]?\s*(?:pec\s*[:.]?\s*)?"
                     r"([A-Za-z0-9][A-Za-z0-9._-]{2,39})", re.IGNORECASE)
_NOT_USERID = re.compile(r"^(?:della|del|e|ed|pec|per|casella|indirizzo|non|the)$", re.I)
# the provider's own addresses are where customers write to, never the mailbox paid for
_OWN_DOMAINS = ("lextel.it",)
_OWN_LOCAL = re.compile(r"^(?:amministrazione|noreply|no-reply|info|supporto|assistenza|"
                        r"fatturazione)@", re.IGNORECASE)


_TAIL_TOKEN = re.compile(r"[\w.+@-]+$")
_HEAD_TOKEN = re.compile(r"^[\w.+@-]+")
# top-level domains of the addresses customers write (a cut domain ends in none of these)
_KNOWN_TLDS = {"it", "eu", "com", "net", "org", "info", "biz", "ch", "sm", "va", "de", "fr",
               "es", "at", "uk", "be", "nl", "pro", "legal", "email", "cloud", "online", "io",
               "studio", "me", "co", "us", "lu", "si", "hr", "pl", "ro", "pt", "gr", "ie"}
# a line cut at its column is long; a line people end where they like may be short
_CUT_LINE_CHARS = 40


def _tld(address: str) -> str:
    domain = address.rsplit("@", 1)[-1]
    return domain.rsplit(".", 1)[-1].lower() if "." in domain else ""


def _cut_inside_token(line: str, following: str, cut_words: bool) -> bool:
    """Whether a mailbox was cut where ``line`` ends and goes on at the start of
    ``following``: a fixed-width causale cut at its column ('... CASELLA IMARCHETTI@GEOPE' /
    'C.IT', '... CASELLA IGENTI' / 'LE@GEOPEC.IT', '... USERI' / 'D FPALUMBO85')."""
    tail, head = _TAIL_TOKEN.search(line), _HEAD_TOKEN.match(following)
    if not tail or not head:
        return False
    tail_text, head_text = tail.group(0), head.group(0)
    joined = tail_text + head_text
    if "@" in tail_text:  # the domain cut: 'MARIO@GEOPE' + 'C.IT'
        whole = _EMAIL.fullmatch(joined.rstrip(".-"))
        return bool(whole) and _tld(tail_text) not in _KNOWN_TLDS \
            and _tld(joined.rstrip(".-")) in _KNOWN_TLDS
    if "@" in head_text:  # the local part cut: 'IGENTI' + 'LE@GEOPEC.IT'
        return cut_words and len(line) >= _CUT_LINE_CHARS and tail_text.isalnum() \
            and not _MAILBOX_WORDS.fullmatch(tail_text)
    # a userid's label cut: 'USERI' + 'D FPALUMBO85'
    return cut_words and len(line) >= _CUT_LINE_CHARS \
        and bool(_USERID.search(tail_text + following)) and not _USERID.search(following)


def _unwrap_mailboxes(lines: list[str], cut_words: bool) -> list[str]:
    """The lines with every mailbox cut by a line end joined again (for mailboxes only)."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        while index + 1 < len(lines) and _cut_inside_token(line, lines[index + 1], cut_words):
            index += 1
            line += lines[index]
        out.append(line)
        index += 1
    return out


def find_mailboxes(lines: list[str], cut_words: bool = True) -> list[str]:
    """PEC addresses (a certified-mail domain, or named as the mailbox: 'Rinnovo casella
    ...') and labelled userids ('userid: KVIS1234'), lower-cased, in order of appearance.
    A mailbox a fixed-width layout cut at a line end is read whole; ``cut_words=False``
    (what people type, which wraps between words) joins only a cut domain."""
    found: list[str] = []
    for line in _unwrap_mailboxes(lines, cut_words):
        for match in _EMAIL.finditer(line):
            address = match.group(1).rstrip(".-").lower()
            # an app cuts a causale with an ellipsis that OCR may not read: at the line's end
            cut = _ELLIPSIS.match(line, match.end()) or line.startswith("..", match.end() - 1) \
                or not line[match.end():].strip(" .…,;:'\"`")
            if cut and _tld(address) not in _KNOWN_TLDS:
                continue  # 'mario@pec.a…': an app cut the causale; a fragment is no mailbox
            domain = address.split("@", 1)[1]
            if any(domain == d or domain.endswith("." + d) for d in _OWN_DOMAINS) \
                    or _OWN_LOCAL.match(address):
                continue
            if _PEC_DOMAIN.search(domain) or _MAILBOX_WORDS.search(line[:match.start()]):
                found.append(address)
        for match in _USERID.finditer(line):
            userid = match.group(1).rstrip("._-").lower()
            if "@" in line[match.start(1):match.end(1) + 1] or _NOT_USERID.match(userid):
                continue
            if sum(ch.isalnum() for ch in userid) >= 3:
                found.append(userid)
    return list(dict.fromkeys(found))


# --- method ------------------------------------------------------------------------------

_METHODS = {
    "bollettino": re.compile(r"bollettin|conto\s+corrente\s+postale|c/c\s+postale|\bccp\b|"
                             r"bancoposta|poste\s+italiane|postagiro", re.I),
    "assegno": re.compile(r"\bassegn[oi]\b|cheque", re.I),
    "bonifico": re.compile(r"bonific|sepa\s+credit\s+transfer|\bsct\b|giroconto|\btrn\b|"
                           r"\bcro\b", re.I),
    "carta": re.compile(r"carta\s+di\s+(?:credito|debito)|\bvisa\b|mastercard|maestro|"
                        r"american\s+express|\bamex\b", re.I),
}


def find_method(lines: list[str]) -> str:
    """The method named most often; ties go to the more specific (slip, cheque, transfer)."""
    text = "\n".join(lines)
    counts = {name: len(pattern.findall(text)) for name, pattern in _METHODS.items()}
    best = max(counts, key=lambda name: counts[name])
    return best if counts[best] else "unknown"
