"""Text helpers for events: content terms, light stemming, quotes, summaries and fingerprints."""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable

import snowballstemmer

__all__ = [
    "clean", "content_terms", "date_heads", "deletion_keys", "fingerprint", "is_anaphoric", "make_quote",
    "make_summary", "normalize", "one_edit_apart", "proper_names", "stem", "term_tokens",
]

_STOPWORDS = frozenset(
    """a about above after again against all almost along already also although always am among an and
    another any anyone anything are around as at away back be became because become been before being
    below between both but by can cannot could did do does doing done down during each either else enough
    even ever every few for from further get gets getting got had has have having he her here hers herself
    him himself his how however i if in into is it its itself just least less like likely made make makes
    many may me might more most much must my myself near nearly neither no nor not now of off often on once
    one only onto or other others otherwise our ours ourselves out over own per perhaps quite rather really
    same several she should since so some such than that the their theirs them themselves then there these
    they this those though through thus to too toward towards under until up upon us very via was we well
    were what whatever when where whether which while who whom whose why will with within without would yet
    you your yours yourself also said says say saying told tell tells according reported reports report
    added adds noted notes stated statement statements asked explained wrote writes write
    including include includes included new first second third former latter mr mrs ms dr inc corp co ltd
    company companies firm people thing things way lot lots part going goes went come came comes take took
    taken use used using want wants wanted see seen still yet around amid across behind beyond despite
    whose let lets s t re ve ll d m don doesn didn isn aren wasn weren won wouldn couldn shouldn""".split()
)
# Date words carry the interval, not the happening; they must not make two events look alike.
_DATE_WORDS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday
    sunday mon tue tues wed thu thurs fri sat sun today tonight yesterday tomorrow day days week weeks
    weekend weekends month months year years decade decades century quarter quarters season seasons
    spring summer autumn fall winter morning mornings afternoon evening night nights noon midnight
    last next this past coming previous earlier later early late mid middle beginning end ago recently
    recent soon currently current time times date dates hour hours minute minutes period annual
    weekly monthly yearly daily am pm""".split()
)
_TOKEN = re.compile(r"[^\W\d_](?:[^\W_]|['’](?=[^\W\d_]))*")
_LEADING = re.compile(
    r"""^(?:(?:but|and|so|yet|or|also|still|however|meanwhile|moreover|furthermore|indeed|now|then|
    in\ fact|in\ addition|additionally|instead|similarly|likewise|separately|elsewhere|earlier|later|
    for\ its\ part|at\ the\ same\ time|as\ a\ result|in\ turn|notably|importantly)\b[,;:]?\s+
    |according\ to\ [^,;]{1,80},\s+)+""",
    re.IGNORECASE | re.VERBOSE,
)
# ", he said", ", Altman said on Monday", ", according to Reuters", ", said Jane Doe, a spokesperson".
_SPEECH = r"(?:said|says|told\s+[\w\s.'’-]{1,40}?|added|adds|noted|explained|wrote|writes|reported|reports|announced|confirmed|stated|claimed|insisted|argued)"
_ATTRIBUTION = re.compile(
    rf"""(?:\s*[,;]\s*["”’']?|["”’']\s*[,;]?)\s*(?:
        according\ to\ [^,;]{{1,80}}
      | (?:[\w.'’-]+\s+){{0,6}}{_SPEECH}(?:\s+(?:on|in|at|during|last|this|earlier)\b[^,;]{{0,40}})?
      | {_SPEECH}\s+[^,;]{{1,60}}(?:,\s+[^,;]{{1,60}})?
    )\s*[.!?]?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_CLAUSE_BREAK = re.compile(r"\s*(?:;|:\s|\s[—–]\s|\s--\s|—)\s*")
_PREPOSITION_BEFORE = re.compile(
    r"(?:\b(?:in|on|at|during|around|as\s+of|by|from|over|earlier|later|sometime|since|until|through)\s+)?$",
    re.IGNORECASE,
)
_PRONOUN_START = re.compile(
    r"^(?:it|its|they|their|he|she|his|her|this|that|these|those|we|i|"
    r"the\s+(?:company|firm|startup|group|tool|model|outlet|move|deal|report|event))\b",
    re.IGNORECASE,
)
# Where a long summary may stop and still read as a clause.
_CUTS = (
    re.compile(r",\s+(?:which|who|whom|when|while|where|as|after|before|because|although|though|according|"
               r"in part|including|amid|with|[a-z]+ing\b)"),
    re.compile(r",\s|\s[—–]\s|\s--\s|\s\("),
    re.compile(r"\s(?:to|as|when|while|which|who|after|because|but|with|and)\s"),
)

QUOTE_LIMIT = 300
SUMMARY_LIMIT = 120


_PLAIN = str.maketrans("‘’“”–—\u00a0", "''\"\"-- ")


def normalize(text: str) -> str:
    """Unicode-normalised text with straight quotes, plain dashes and single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_PLAIN)
    return re.sub(r"\s+", " ", text).strip()


def clean(text: str) -> str:
    """Whitespace collapsed, nothing else changed: what a quote shows."""
    return re.sub(r"\s+", " ", text).strip()


# Irregular verb forms (past tense, participles) and plurals that no suffix rule reaches,
# so "met" and "meetings", "struck" and "strikes", "fought" and "fighting" agree.
_IRREGULAR = {
    word: base
    for base, forms in {
        "arise": "arose arisen", "bear": "bore borne", "beat": "beaten", "begin": "began begun",
        "bend": "bent", "bite": "bitten", "bleed": "bled", "blow": "blew blown",
        "break": "broke broken", "breed": "bred", "bring": "brought", "build": "built", "burn": "burnt",
        "buy": "bought", "catch": "caught", "choose": "chose chosen", "cling": "clung", "creep": "crept",
        "deal": "dealt", "dig": "dug", "draw": "drew drawn", "drink": "drank drunk", "drive": "drove driven",
        "eat": "ate eaten", "fall": "fell fallen", "feed": "fed", "feel": "felt", "fight": "fought",
        "find": "found", "flee": "fled", "fly": "flew flown", "forbid": "forbade forbidden",
        "forget": "forgot forgotten", "forgive": "forgave forgiven", "freeze": "froze frozen",
        "give": "gave given", "grow": "grew grown", "hang": "hung", "hide": "hid hidden", "hold": "held",
        "keep": "kept", "know": "knew known", "lay": "laid", "lead": "led", "leave": "left", "lend": "lent",
        "lose": "lost", "mean": "meant", "meet": "met", "overthrow": "overthrew overthrown", "pay": "paid",
        "ride": "rode ridden", "ring": "rang rung", "rise": "rose risen", "run": "ran", "seek": "sought",
        "sell": "sold", "send": "sent", "shake": "shook shaken", "shoot": "shot", "show": "shown",
        "shrink": "shrank shrunk", "sing": "sang sung", "sink": "sank sunk", "sit": "sat", "sleep": "slept",
        "slide": "slid", "speak": "spoke spoken", "spend": "spent", "spin": "spun", "stand": "stood",
        "steal": "stole stolen", "stick": "stuck", "sting": "stung", "strike": "struck stricken",
        "swear": "swore sworn", "sweep": "swept", "swim": "swam swum", "swing": "swung", "teach": "taught",
        "tear": "tore torn", "think": "thought", "throw": "threw thrown", "understand": "understood",
        "undertake": "undertook undertaken", "wake": "woke woken", "wear": "wore worn", "weep": "wept",
        "win": "won", "withdraw": "withdrew withdrawn", "write": "wrote written",
        "child": "children", "man": "men", "woman": "women", "mouse": "mice", "foot": "feet", "tooth": "teeth",
    }.items()
    for word in forms.split()
}
# Words the stemmer would cut to something else ("news" is no plural of "new").
_KEEP = frozenset({"news", "series", "species", "politics", "economics", "physics"})
_STEMMERS = threading.local()


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The English stem (Snowball's Porter2) of a word, irregular forms first:
    "meetings", "meeting", "meets" and "met" all give "meet"; "writers'" gives "writer"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    w = _IRREGULAR.get(w, w)
    if w in _KEEP:
        return w
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        # A stemmer object keeps the word it works on: one per thread (the daemon's jobs run in threads).
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(w))


def term_tokens(text: str) -> list[tuple[str, str, int, int]]:
    """Content words as (lower-cased word, stem, start, end): no stopwords, date words or
    numbers, nor units written on a number ("$30bn", "11m", "5km")."""
    out: list[tuple[str, str, int, int]] = []
    for m in _TOKEN.finditer(text):
        word = m.group().lower().replace("’", "'").removesuffix("'s").strip("'")
        if len(word) < 2 or word in _STOPWORDS or word in _DATE_WORDS:
            continue
        if m.start() and text[m.start() - 1].isdigit():
            continue
        s = stem(word)
        if s and s not in _STOPWORDS and s not in _DATE_WORDS:
            out.append((word, s, m.start(), m.end()))
    return out


def content_terms(text: str) -> frozenset[str]:
    """Stemmed, lower-cased content words of `text`: no stopwords, date words or numbers."""
    return frozenset(s for _, s, _, _ in term_tokens(text))


def one_edit_apart(a: str, b: str, *, substitute: bool = True) -> bool:
    """Whether two different words are one edit apart: a letter added or dropped, two
    neighbours swapped ("wirter"/"writer", "dokworker"/"dockworker"), or, with `substitute`,
    one letter changed (the edit that most often turns a word into another word:
    "concert"/"concern")."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return swapped or (substitute and a[i + 1 :] == b[i + 1 :])


def deletion_keys(word: str) -> tuple[str, ...]:
    """The word and the word with each one letter dropped: two words one edit apart share a key."""
    return (word, *(word[:k] + word[k + 1 :] for k in range(len(word))))


# Where the words a date is attached to stop: clause punctuation, quotes, brackets, dashes.
_HEAD_BREAK = re.compile(r"""[,;:()\[\]"“”…]|\s[-—–]{1,2}\s|—""")
# After the date, these start another clause ("in 2023 as strikes halted ..."): not its words.
_HEAD_STOP = re.compile(
    r"\b(?:which|who|whom|that|when|while|whereas|as|after|before|because|since|until|but|though|although|if|to)\b",
    re.IGNORECASE,
)
# "the 1989 Exxon Valdez spill", "its 2023 strike": a date inside a noun phrase dates what follows.
_DETERMINER_END = re.compile(r"\b(?:the|a|an|its|their|his|her|our|this|that|these|those)\s*$", re.IGNORECASE)
HEAD_WORDS_AFTER = 4
HEAD_REACH = 100


@functools.lru_cache(maxsize=1 << 15)
def date_heads(
    quote: str, expression: str, names: frozenset[str] = frozenset(), *, pass_names: bool = False
) -> frozenset[str]:
    """Stems of the words a date is attached to: what the sentence says happened then.

    The nearest word before the date ("went on strike last year", "the strikes of last year",
    "a leak in 2007"), and, when the date opens its clause ("Last year, writers and actors
    went on strike"), is possessive ("last year's actors' and writers' strike") or sits in a
    noun phrase ("the 1989 Exxon Valdez spill"), the first words after it, up to the next
    clause ("..., which", "to ..."); there words in `names` (stems) are passed over, as they
    say who. A name right before the date is its head ("Acme in 2023"), unless `pass_names`
    (then the word before the names is). Empty when the expression is not in the quote.
    """
    text = quote.replace("’", "'")
    expr = clean(expression).replace("’", "'")
    found = re.search(rf"(?<!\w){re.escape(expr)}(?!\w)", text, re.IGNORECASE) if expr else None
    if found is None:
        return frozenset()
    at, end = found.span()
    # Only the words near the date matter: a window keeps this cheap for long sentences.
    lo = max(0, at - HEAD_REACH)
    for m in _HEAD_BREAK.finditer(text, lo, at):
        lo = m.end()
    if lo == at - HEAD_REACH and lo > 0:
        lo = text.find(" ", lo, at) + 1 or at  # not half a word
    # A name right before the date is what it dates ("the Philippines in 2006", "the oil
    # company Amoco in 1979"): it stays the head, unless `pass_names` looks past it.
    before = [t for _, t, _, _ in term_tokens(text[lo:at]) if not (pass_names and t in names)]
    heads: set[str] = set(before[-1:])
    tail = text[end : end + HEAD_REACH]
    possessive = tail.startswith("'s")
    opening = not before
    if possessive or opening or _DETERMINER_END.search(text, lo, at):
        if opening and tail.lstrip().startswith(","):
            tail = tail.lstrip()[1:]  # "Last year, writers and actors went on strike"
        stop = _HEAD_BREAK.search(tail)
        clause = tail[: stop.start()] if stop else tail
        cut = _HEAD_STOP.search(clause)
        clause = clause[: cut.start()] if cut else clause
        heads.update([t for _, t, _, _ in term_tokens(clause) if t not in names][:HEAD_WORDS_AFTER])
    return frozenset(heads)


# After a colon or an opening quote or bracket, a capital starts a new sentence.
_SENTENCE_OPENING = re.compile(r"""[:"“‘(\[]\s*$""")


def proper_names(sentences: Iterable[str]) -> frozenset[str]:
    """Lower-cased words written capitalised inside sentences and never in lower case.

    Names ("OpenAI", "Sora", "Los Angeles") say who, not what happened; sentence-initial
    words are not evidence either way.
    """
    capital: set[str] = set()
    lower: set[str] = set()
    for sentence in sentences:
        for number, m in enumerate(_TOKEN.finditer(sentence)):
            word = m.group()
            key = word.lower().replace("’", "'").removesuffix("'s").strip("'")
            if any(c.isupper() for c in word[1:]):
                capital.add(key)  # "OpenAI", "SAG", "iPhone": a name wherever it stands
                continue
            if number == 0 or _SENTENCE_OPENING.search(sentence[max(0, m.start() - 3) : m.start()]):
                continue
            (capital if word[0].isupper() else lower).add(key)
    return frozenset(capital - lower)


def fingerprint(value: str, sentence: str) -> str:
    """A stable identity for a mention: its TIMEX3 value and its normalised sentence."""
    # Pull quotes and re-wrapped copies of a sentence are the same sentence.
    body = normalize(sentence).lower().strip(" '\"()[]")
    key = f"{value}\x1f{body}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def make_quote(sentence: str, expr_start: int, expr_end: int, limit: int = QUOTE_LIMIT) -> str:
    """The sentence, cleaned; a long one is cut to about `limit` characters around the expression."""
    return _window(sentence, expr_start, expr_end, limit)


def _window(text: str, start: int, end: int, limit: int) -> str:
    """`text` cleaned and cut at word boundaries to at most `limit` characters around [start, end)."""
    if len(clean(text)) <= limit:
        return clean(text)
    room = max(limit - (end - start), 0)
    left = max(start - room // 2, 0)
    right = min(left + limit, len(text))
    left = max(min(left, right - limit), 0)
    if left > 0:
        space = text.find(" ", left, start) if left < start else -1
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    body = clean(text[left:right]).strip(" ,;:")
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


def make_summary(sentence: str, expr_start: int, expr_end: int, limit: int = SUMMARY_LIMIT) -> str:
    """The clause around the expression, cleaned for a timeline: no date words, no attribution.

    `expr_start`/`expr_end` are offsets into `sentence`.
    """
    if _OFFSET_END.search(sentence, 0, expr_end) and expr_end < len(sentence):
        # "..., a day before OpenAI begins its meetings": the date is the date of what follows.
        stop = _CLAUSE_BREAK.search(sentence, expr_end)
        after = clean(sentence[expr_end : stop.start() if stop else len(sentence)]).rstrip(" .!?;,")
        if len(after.split()) >= 3:
            return _shorten(after, limit) if len(after) > limit else after[0].upper() + after[1:]
    relative = _relative_clause(sentence, expr_start, expr_end)
    if relative is not None:
        return relative
    # The clause that holds the expression, widened when it is too short to read alone.
    cuts = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(sentence)]
    bounds = [0] + [e for _, e in cuts]
    ends = [s for s, _ in cuts] + [len(sentence)]
    clauses = list(zip(bounds, ends))
    index = next((i for i, (s, e) in enumerate(clauses) if s <= expr_start < e), 0)
    lo = hi = index
    while len(sentence[clauses[lo][0] : clauses[hi][1]].split()) < WIDEN_BELOW and (lo > 0 or hi < len(clauses) - 1):
        if hi < len(clauses) - 1:
            hi += 1
        else:
            lo -= 1
    c_start, c_end = clauses[lo][0], clauses[hi][1]
    offset = _OFFSET_CLAUSE.search(sentence, expr_end, c_end)
    if offset:
        # "... on Sunday, a day before OpenAI begins its meetings": what follows is another happening.
        c_end = offset.start()
    clause = sentence[c_start:c_end]
    e_start, e_end = expr_start - c_start, expr_end - c_start

    # The date is shown beside the summary; "next week" would be wrong once the week is over.
    # A date with its year never goes wrong, and after "until" or "since" it is the point
    # of the clause ("the strike lasted until November"): those stay.
    if 0 <= e_start < e_end <= len(clause) and not _keeps_date(clause, e_start, e_end):
        head = clause[:e_start]
        tail = clause[e_end:]
        if tail[:2] in ("'s", "’s"):
            # "from last year's strikes" -> "from the strikes"
            tail = tail[2:]
            head = head + "the"
        else:
            prep = _PREPOSITION_BEFORE.search(head)
            if prep:
                head = head[: prep.start()]
        clause = head.rstrip() + (" " if head.strip() and not tail[:1] in ",.;:!?" else "") + tail.lstrip()
        e_start = e_end = len(head.rstrip())
    text = clean(clause)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",\s*,", ",", text)
    text = re.sub(r"^[\s,;:\"“”'‘’(]+", "", text)
    for _ in range(2):
        text = _ATTRIBUTION.sub("", text).strip()
        text = _LEADING.sub("", text).strip()
    text = text.strip(" ,;:-—–\"“”'‘’")
    text = re.sub(r"[.!]+$", "", text).strip(" ,;:\"“”'‘’")
    # Unbalanced quotes or brackets left by the cut read badly.
    for open_, close in (("(", ")"), ("“", "”")):
        if text.count(open_) != text.count(close):
            text = text.replace(open_, "").replace(close, "")
    if text.count('"') % 2:
        text = text.replace('"', "")
    if len(text) > limit:
        text = _shorten(text, limit)
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    return text


_RELATIVE = re.compile(r",\s+(?:which|who)\s+")
_DETERMINER = re.compile(r"\b(?:the|a|an|its|their|his|her)\s", re.IGNORECASE)
_RELATIVE_END = re.compile(r",\s|;|:\s|\s[—–]\s|\s--\s")
_YEAR = re.compile(r"\b\d{4}\b")
_SPAN_PREPOSITION = re.compile(r"\b(?:until|till|since|through)\s+$", re.IGNORECASE)
RELATIVE_REACH = 80
_OFFSET_END = re.compile(r"\b(?:before|after)$")
_OFFSET_CLAUSE = re.compile(
    r",\s+(?:a|an|one|two|three|four|five|six|seven|\d{1,2})\s+(?:days?|weeks?)\s+(?:before|after)\s", re.IGNORECASE
)
# A clause of fewer words ("the talks resumed") borrows its neighbour to read alone;
# "SAG-AFTRA's strike lasted until November" already does.
WIDEN_BELOW = 5


def _keeps_date(clause: str, start: int, end: int) -> bool:
    """Whether the expression stays in the summary: it has its year, or it ends a span."""
    return bool(_YEAR.search(clause[start:end]) or _SPAN_PREPOSITION.search(clause[:start]))


def _relative_clause(sentence: str, expr_start: int, expr_end: int) -> str | None:
    """"..., and the SAG-AFTRA strike, which ran from July 14 to November 9, 2023" ->
    "The SAG-AFTRA strike ran from July 14 to November 9, 2023": the date belongs to the
    antecedent of its relative clause, not to the sentence's subject."""
    rel = None
    for m in _RELATIVE.finditer(sentence, 0, expr_start):
        rel = m
    if rel is None or expr_start - rel.end() > RELATIVE_REACH or _CLAUSE_BREAK.search(sentence, rel.end(), expr_start):
        return None
    lead = sentence[max(0, rel.start() - 60) : rel.start()]
    lead = re.split(r"[,;:]", lead)[-1]
    det = None
    for det in _DETERMINER.finditer(lead):
        pass
    if det is None or len(lead[det.start() :].split()) > 8:
        return None
    stop = _RELATIVE_END.search(sentence, expr_end)
    body = sentence[rel.end() : stop.start() if stop else len(sentence)]
    text = clean(f"{lead[det.start():]} {body}").rstrip(" .!?;,")
    if not 25 <= len(text) <= SUMMARY_LIMIT:
        return None
    return text[0].upper() + text[1:]


_ANAPHOR = re.compile(
    r"\b(?:it|its|they|them|their|he|she|him|his|her|this|that|these|those|the\s+(?!(?:"
    + "|".join(sorted(_DATE_WORDS))
    + r")\b)[a-z][\w'’-]*)\b",
    re.IGNORECASE,
)


def is_anaphoric(text: str, words: int = 8) -> bool:
    """Whether the opening words refer back ("It was unveiled", "The company said"), so context applies."""
    head = " ".join(text.split()[:words])
    for m in _ANAPHOR.finditer(head):
        word = m.group()
        # "The Writers Guild" names something; "the company" points back to it.
        if not word.lower().startswith("the") or word.split()[-1][:1].islower():
            return True
    return False


def _shorten(text: str, limit: int) -> str:
    """Cut a long summary where a clause ends, keeping its subject; "…" only as a last resort."""
    floor = min(35, limit // 2)
    # A clause end late enough to keep most of the story; else the latest word that fits.
    for patterns in (_CUTS[:2], _CUTS):
        cuts = [m.start() for p in patterns for m in p.finditer(text) if floor <= m.start() <= limit]
        if cuts and (patterns is _CUTS or max(cuts) >= limit * 0.6):
            return text[: max(cuts)].rstrip(" ,;:-—–")
    space = text.rfind(" ", floor, limit)
    return text[: space if space != -1 else limit - 1].rstrip(" ,;:-—–") + "…"


def starts_with_pronoun(text: str) -> bool:
    """Summaries that open with a pronoun need their context to be understood."""
    return bool(_PRONOUN_START.match(text))
