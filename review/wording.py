"""The review UI speaks Italian; the reasons the pipeline records are English (they are read
in logs, JSON and the audit trail too). This module renders a recorded reason in Italian for
the accounting staff, fragment by fragment.

A reason is a chain of sentences joined by "; " (the decision's lead, then what each candidate
order showed). Each fragment is matched whole against a table of the sentences the pipeline
writes; the values (codes, amounts, names, quotes) are carried over as they are. A fragment the
table does not know is kept in English: a reviewer loses nothing, and
``untranslated`` lets a test name the sentences still missing.
"""
from __future__ import annotations

import re

_V = r"(?P<{}>(?:(?!; ).)+?)"  # a value carried over (never across a sentence's end)


def _p(pattern: str) -> re.Pattern[str]:
    """``{name}`` in a pattern is a value carried over as it is."""
    return re.compile(re.sub(r"\{(\w+)\}", lambda m: _V.format(m.group(1)), pattern))


# (English sentence, Italian sentence): longest and most specific first where two could fit
_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple((_p(en), it) for en, it in (
    # the decision's lead (matching.decide)
    (r"no bank document: only the customer's own text says it was paid; the bank's "
     r"confirmation is needed",
     "nessun documento della banca: solo il testo scritto dal cliente dice che è stato "
     "pagato; serve la conferma della banca"),
    (r"no bank document: a written claim pays only from the customer's registered address "
     r"with a CRO/TRN \(no CRO/TRN quoted\)",
     "nessun documento della banca: una dichiarazione scritta paga solo se arriva "
     "dall'indirizzo registrato del cliente e cita un CRO/TRN (nessun CRO/TRN citato)"),
    (r"no bank document: a written claim pays only from the customer's registered address "
     r"with a CRO/TRN \(the sender is not the registered address of {codes}\)",
     "nessun documento della banca: una dichiarazione scritta paga solo se arriva "
     "dall'indirizzo registrato del cliente e cita un CRO/TRN (il mittente non è "
     "l'indirizzo registrato di {codes})"),
    (r"never paid automatically", "mai pagato in automatico"),
    (r"amount {amount} is not a payment", "l'importo {amount} non è un pagamento"),
    (r"paid to IBAN {iban}, which is not ours", "pagato all'IBAN {iban}, che non è nostro"),
    (r"no amount found", "nessun importo trovato"),
    (r"neither an order code \(RLM\.\.\.\) nor an amount found",
     "né un codice ordine (RLM...) né un importo trovati"),
    (r"amount in {currency}, not EUR", "importo in {currency}, non in euro"),
    (r"possible double payment: order {code} is already {status}",
     "possibile doppio pagamento: l'ordine {code} è già {status}"),
    (r"order {code} is already {status}", "l'ordine {code} è già {status}"),
    (r"code {code} and mailbox {mailbox} \(order {other}\) name different orders",
     "il codice {code} e la casella {mailbox} (ordine {other}) indicano ordini diversi"),
    (r"code {code} may be misread and the amount is not equal",
     "il codice {code} potrebbe essere letto male e l'importo non corrisponde"),
    (r"code {code} may be misread and the amount was read with too little confidence to "
     r"confirm it",
     "il codice {code} potrebbe essere letto male e l'importo è letto con troppa poca "
     "sicurezza per confermarlo"),
    (r"code {code} may be misread: pending order\(s\) {rivals} are one character away and "
     r"amount plus sender or payer do not single one out",
     "il codice {code} potrebbe essere letto male: gli ordini in attesa {rivals} sono a un "
     "carattere di distanza e importo, mittente od ordinante non ne indicano uno solo"),
    (r"code {code} may be misread: another pending order is one character away",
     "il codice {code} potrebbe essere letto male: un altro ordine in attesa è a un "
     "carattere di distanza"),
    (r"code {code} could be a one-character slip for pending order\(s\) {alike} of {amount} "
     r"\(amount included\), and neither sender nor payer singles out one of them",
     "il codice {code} potrebbe essere un errore di un carattere per gli ordini in attesa "
     "{alike} da {amount} (importo compreso), e né il mittente né l'ordinante ne indicano "
     "uno solo"),
    (r"code {code} could be a one-character slip for pending order\(s\) {alike} of the same "
     r"price, and neither sender nor payer singles it out",
     "il codice {code} potrebbe essere un errore di un carattere per gli ordini in attesa "
     "{alike} dello stesso prezzo, e né il mittente né l'ordinante lo indicano"),
    (r"code {code} names another customer's order: the sender or payer is the customer of "
     r"{other}, one character away, of the same amount",
     "il codice {code} indica l'ordine di un altro cliente: il mittente o l'ordinante è il "
     "cliente di {other}, a un carattere di distanza, dello stesso importo"),
    (r"codes {codes} found; amount {amount} matches neither one of them nor their sum "
     r"{total}",
     "codici {codes} trovati; l'importo {amount} non corrisponde né a uno di essi né alla "
     "loro somma {total}"),
    (r"code\(s\) {codes} found, no such order", "codici {codes} trovati, nessun ordine così"),
    (r"several orders one character away fit",
     "più ordini a un carattere di distanza corrispondono"),
    (r"code\(s\) {codes} found", "codici {codes} trovati"),
    (r"no such order", "nessun ordine così"),
    (r"no order code \(RLM\.\.\.\) found, and the sender is not a known customer",
     "nessun codice ordine (RLM...) trovato, e il mittente non è un cliente conosciuto"),
    (r"no order code found", "nessun codice ordine trovato"),
    (r"the amount {amount} was read with too little confidence to single out the sender's "
     r"order",
     "l'importo {amount} è letto con troppa poca sicurezza per indicare l'ordine del mittente"),
    (r"the sender's address belongs to {n} customers",
     "l'indirizzo del mittente appartiene a {n} clienti"),
    (r"the sender has {n} pending orders of {amount}: {codes}",
     "il mittente ha {n} ordini in attesa da {amount}: {codes}"),
    (r"none of the sender's pending orders is for {amount}",
     "nessuno degli ordini in attesa del mittente è da {amount}"),
    (r"mailbox\(es\) {written} name {n} different mailboxes",
     "le caselle {written} indicano {n} caselle diverse"),
    (r"mailbox {written} has {n} pending orders of {amount}: {codes}",
     "la casella {written} ha {n} ordini in attesa da {amount}: {codes}"),
    (r"possible double payment: mailbox {written} has no pending order of {amount}; order "
     r"{code} is already {status}",
     "possibile doppio pagamento: la casella {written} non ha ordini in attesa da {amount}; "
     "l'ordine {code} è già {status}"),
    (r"mailbox {written} has no pending order of {amount}",
     "la casella {written} non ha ordini in attesa da {amount}"),
    (r"mailbox {written} found", "casella {written} trovata"),
    (r"none of its pending orders is for {amount}",
     "nessuno dei suoi ordini in attesa è da {amount}"),
    (r"mailbox {written} names order {code}, but the amount {amount} was read with too "
     r"little confidence to single it out",
     "la casella {written} indica l'ordine {code}, ma l'importo {amount} è letto con troppa "
     "poca sicurezza per indicarlo"),
    (r"userid {userid} read by OCR names order {code}; a misread userid could name another "
     r"mailbox, and neither sender nor payer confirms it",
     "lo userid {userid} letto da OCR indica l'ordine {code}; uno userid letto male potrebbe "
     "indicare un'altra casella, e né il mittente né l'ordinante lo confermano"),
    (r"payment dated {paid} is in the future \(today is {today}\): a scheduled transfer or "
     r"a misread date", "il pagamento è datato {paid}, nel futuro (oggi è {today}): un "
     "bonifico programmato o una data letta male"),
    (r"payment dated {paid} is before order {code} was placed \({ordered}\)",
     "il pagamento del {paid} è precedente all'ordine {code} ({ordered})"),
    (r"waits for the bank's statement line \(paid_on = statement\): {rest}",
     "attende il movimento dell'estratto conto (paid_on = statement): {rest}"),
    # the lead of a decision that paid (matching.decide)
    (r"no code found", "nessun codice trovato"),
    (r"the sender's only pending order of {amount} is {code}",
     "l'unico ordine in attesa del mittente da {amount} è {code}"),
    (r"one payment of {amount} for orders {codes} \(sum {total}\)",
     "un solo pagamento di {amount} per gli ordini {codes} (somma {total})"),
    (r"no order has code {read}", "nessun ordine ha il codice {read}"),
    (r"order {code} is one character away and amount plus sender or payer single it out",
     "l'ordine {code} è a un carattere di distanza e importo più mittente od ordinante lo "
     "indicano"),
    (r"code\(s\) {codes} name no order", "i codici {codes} non indicano alcun ordine"),
    (r"mailbox {written} names order {code} of {amount}",
     "la casella {written} indica l'ordine {code} da {amount}"),
    (r"paid {paid} for {codes} costing {total}: {gap} over",
     "pagati {paid} per {codes} che costano {total}: {gap} in più"),
    (r"paid {paid} for {codes} costing {total}: {gap} short, within the tolerance for bank "
     r"fees", "pagati {paid} per {codes} che costano {total}: mancano {gap}, entro la "
     "tolleranza per le commissioni"),
    (r"matched by {who}: {note}", "abbinata da {who}: {note}"),
    (r"matched by {who}", "abbinata da {who}"),
    # duplicates (store.duplicates, matching.decide)
    (r"same receipt as #{id} \({why}\)", "stessa ricevuta della #{id} ({why})"),
    (r"same payment as bank statement line #{id} \({why}\)",
     "stesso pagamento del movimento bancario #{id} ({why})"),
    # what each candidate order showed (matching.signals)
    (r"code {code} is one character away from {read} found",
     "codice {code} a un carattere dal codice letto {read}"),
    (r"code {code} found \(OCR-repaired from {raw}\)",
     "codice {code} trovato (corretto dopo l'OCR da {raw})"),
    (r"code {code} found \(read by OCR from {raw}\)",
     "codice {code} trovato (letto da OCR da {raw})"),
    (r"code {code} found \(read with confidence {c} from {raw}\)",
     "codice {code} trovato (letto con confidenza {c} da {raw})"),
    (r"code {code} found", "codice {code} trovato"),
    (r"no code names order {code}; found by its mailbox written on the receipt",
     "nessun codice indica l'ordine {code}; trovato dalla casella scritta sulla ricevuta"),
    (r"no code names order {code}; found by the sender's email",
     "nessun codice indica l'ordine {code}; trovato dall'indirizzo del mittente"),
    (r"no amount to compare with {due}", "nessun importo da confrontare con {due}"),
    (r"amount {paid} matches", "importo {paid} corrispondente"),
    (r"amount {paid} is {gap} more than {due}", "importo {paid}: {gap} più di {due}"),
    (r"amount {paid} is {gap} short of {due} \(within the tolerance for bank fees\)",
     "importo {paid}: mancano {gap} su {due} (entro la tolleranza per le commissioni)"),
    (r"amount {paid} is {gap} short of {due}", "importo {paid}: mancano {gap} su {due}"),
    (r"the order is {status}, not pending", "l'ordine è {status}, non in attesa"),
    (r"the sender is the customer's email address",
     "il mittente è l'indirizzo del cliente"),
    (r"the receipt names the order's mailbox \({pec} / userid {userid}\)",
     "la ricevuta indica la casella dell'ordine ({pec} / userid {userid})"),
    (r"payer {payer} matches customer {customer}",
     "ordinante {payer} corrisponde al cliente {customer}"),
    (r"payer {payer} is not customer {customer}",
     "ordinante {payer} non è il cliente {customer}"),
    (r"paid on {paid}, before the order of {ordered}",
     "pagato il {paid}, prima dell'ordine del {ordered}"),
    # what the documents say of themselves (intake.fields, intake.reading, intake.confidence)
    (r"negative amount {amount}: a reversal or a debit, never a payment",
     "importo negativo {amount}: uno storno o un addebito, mai un pagamento"),
    (r"a reversal or cancellation: the document says {words} \(line {n}: {line}\)",
     "uno storno o un annullamento: il documento dice {words} (riga {n}: {line})"),
    (r"a refused transfer: the document says {words} \(line {n}: {line}\)",
     "un bonifico rifiutato: il documento dice {words} (riga {n}: {line})"),
    (r"a transfer not executed yet: the document says {words} \(line {n}: {line}\)",
     "un bonifico non ancora eseguito: il documento dice {words} (riga {n}: {line})"),
    (r"the amount in figures \({figures}\) and in words \({words}\) disagree",
     "l'importo in cifre ({figures}) e in lettere ({words}) non coincidono"),
    (r"the amount is printed with different values: {values}",
     "l'importo è stampato con valori diversi: {values}"),
    (r"the total {total} does not give the amount {amount}",
     "il totale {total} non dà l'importo {amount}"),
    (r"the documents show different amounts: {values}",
     "i documenti mostrano importi diversi: {values}"),
    (r"the two OCR engines read the amount differently: {a} \(Tesseract\), {b} \(PP-OCR\)",
     "i due motori OCR leggono l'importo in modo diverso: {a} (Tesseract), {b} (PP-OCR)"),
    (r"{file}: payment instructions, not a bank receipt: it says {words}",
     "{file}: istruzioni di pagamento, non una ricevuta della banca: dice {words}"),
    (r"{file}: no readable text \(OCR found no words\)",
     "{file}: nessun testo leggibile (l'OCR non ha trovato parole)"),
    (r"{file}: no readable text", "{file}: nessun testo leggibile"),
    (r"no readable document", "nessun documento leggibile"),
    (r"also: {rest}", "inoltre: {rest}"),
    (r"internal error in {stage}: {error}", "errore interno in {stage}: {error}"),
    # routed to sales support (matching.renewal)
    (r"routed to sales support: {code}: userid {userid} starts with {prefix}: it cannot be "
     r"renewed online",
     "inviato all'assistenza commerciale: {code}: lo userid {userid} inizia con {prefix}: "
     "non si può rinnovare online"),
    (r"userid {userid} starts with {prefix}: it cannot be renewed online",
     "lo userid {userid} inizia con {prefix}: non si può rinnovare online"),
    (r"routed to sales support: {code}: mailbox expired on {expiry}, more than {months} "
     r"months before the payment on {on} \(online renewal closed on {limit}\)",
     "inviato all'assistenza commerciale: {code}: casella scaduta il {expiry}, più di "
     "{months} mesi prima del pagamento del {on} (rinnovo online chiuso il {limit})"),
    (r"mailbox expired on {expiry}, more than {months} months before the payment on {on} "
     r"\(online renewal closed on {limit}\)",
     "casella scaduta il {expiry}, più di {months} mesi prima del pagamento del {on} "
     "(rinnovo online chiuso il {limit})"),
    (r"sales support must renew it", "deve rinnovarla l'assistenza commerciale"),
))


# the order statuses of core.status as the UI names them
_STATUS = {"pending": "in attesa", "paid": "pagato", "renewed": "rinnovato",
           "support": "all'assistenza commerciale", "renewal_failed": "rinnovo non riuscito"}


def _sentence(fragment: str) -> str | None:
    for pattern, italian_text in _SENTENCES:
        found = pattern.fullmatch(fragment)
        if found:
            values = {k: _STATUS.get(v, v) if k == "status" else v
                      for k, v in found.groupdict().items()}
            for name in ("rest",):  # a nested reason is itself translated
                if name in values:
                    values[name] = italian(values[name]) or values[name]
            return italian_text.format(**values)
    return None


def _render(reason: str) -> list[tuple[str, str | None]]:
    """Each sentence of ``reason`` with its Italian rendering (None where the table lacks
    it). A sentence may itself hold "; " (the no-bank-document lead): two parts are tried
    together first."""
    parts = [part for part in reason.split("; ") if part]
    out: list[tuple[str, str | None]] = []
    index = 0
    while index < len(parts):
        if index + 1 < len(parts):
            pair = f"{parts[index]}; {parts[index + 1]}"
            joined = _sentence(pair)
            if joined is not None:
                out.append((pair, joined))
                index += 2
                continue
        out.append((parts[index], _sentence(parts[index])))
        index += 1
    return out


def italian(reason: str | None) -> str | None:
    """The reason as the review UI shows it; a fragment the table lacks stays as written."""
    if not reason:
        return reason
    return "; ".join(it if it is not None else en for en, it in _render(reason))


def untranslated(reason: str | None) -> list[str]:
    """The fragments of ``reason`` the table does not know (what a test asks to be empty)."""
    if not reason:
        return []
    return [en for en, it in _render(reason) if it is None]
