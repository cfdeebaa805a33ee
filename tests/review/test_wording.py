"""The review UI shows the recorded (English) reasons in Italian: every sentence the decision
writes has its Italian rendering, and the values (codes, amounts, names) come through intact."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.match_bench import corpus, load_orders, match
from review.wording import italian, untranslated

BOOK = 1000


@pytest.fixture(scope="module")
def decisions(tmp_path_factory: pytest.TempPathFactory) -> list:
    """GIVEN the match benchmark's generated receipts (correct, misread, typos, short, over,
    no code, foreign IBAN, two orders, already paid) decided against a real order book."""
    db, _ = load_orders(Path(tmp_path_factory.mktemp("book")) / "book.sqlite3", BOOK)
    return [match(db, case)[0] for case in corpus(400, BOOK, seed=11)]


def test_every_sentence_a_decision_writes_is_rendered_in_italian(decisions: list) -> None:
    reasons = {d.reason for d in decisions}
    assert len(reasons) > 50  # the corpus reaches many rules, not one
    missing = {fragment for reason in reasons for fragment in untranslated(reason)}
    assert missing == set()


def test_the_values_come_through_and_no_english_is_left(decisions: list) -> None:
    for decision in decisions:
        shown = italian(decision.reason)
        for code in decision.order_codes:
            assert code in shown
        for english in (" found", " matches", "short of", "never paid", "the sender"):
            assert english not in shown, shown


@pytest.mark.parametrize("english, expected", [
    ("code RLM95059 found; amount 9,89 is 1,00 short of 10,89",
     "codice RLM95059 trovato; importo 9,89: mancano 1,00 su 10,89"),
    ("paid to IBAN IT60X0542811101000000123456, which is not ours; never paid automatically",
     "pagato all'IBAN IT60X0542811101000000123456, che non è nostro; mai pagato in automatico"),
    ("possible double payment: order RLM1 is already paid",
     "possibile doppio pagamento: l'ordine RLM1 è già pagato"),
    ("no code names order RLM7; found by the sender's email",
     "nessun codice indica l'ordine RLM7; trovato dall'indirizzo del mittente"),
])
def test_known_sentences(english: str, expected: str) -> None:
    assert italian(english) == expected


def test_a_sentence_the_table_lacks_stays_as_written() -> None:
    reason = "code RLM1 found; something new the pipeline says"
    assert italian(reason) == "codice RLM1 trovato; something new the pipeline says"
    assert untranslated(reason) == ["something new the pipeline says"]
