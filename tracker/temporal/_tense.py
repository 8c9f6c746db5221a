"""The tense of the clause around an expression, read from its verb group.

A bare month or weekday takes its direction from the verb that governs it: "showed Sora in
mid-February" (past), "will meet in March" (future), "is valid until November" (a
deadline: future). The verb is found by walking from the expression to the nearest verbal
word of its clause, then reading the auxiliaries before that word across adverbs
("was quietly scheduled", "has already shipped", "would have released", "had been set").
There is no part-of-speech tagger: verbal words are recognised by closed classes
(auxiliaries, modals), irregular past forms, regular "-ed" forms that are not adjectives
("a still unspecified date"), and plan words ("plans to", "is set to", "expected").
Present-tense main verbs are mostly invisible; a clause without a recognised verb has
no tense, and the nearest reading is used.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

__all__ = ["Clause", "TenseReader"]

# Words, hyphenated words and contractions; and the punctuation that separates clauses.
_TOKEN = re.compile(r"[A-Za-z]+(?:[-'\u2019][A-Za-z]+)*|[,;:()\[\]\"\u201c\u201d\u2014\u2013]|--|[!?]")

_FUTURE_AUX = frozenset(("will", "shall", "won't", "shan't", "wo"))
_MODALS = frozenset(
    "would could should might may must can cannot ought wouldn't couldn't shouldn't mightn't mustn't can't".split()
)
_BE_PRES = frozenset("is are am isn't aren't".split())
_BE_PAST = frozenset("was were wasn't weren't".split())
_BE_NF = frozenset(("be", "been", "being"))
_HAVE_PRES = frozenset("has have hasn't haven't".split())
_HAVE_PAST = frozenset(("had", "hadn't"))
_DO_PRES = frozenset("do does don't doesn't".split())
_DO_PAST = frozenset(("did", "didn't"))
_PRONOUNS = frozenset("it he she they we i you there here that what who".split())

_IRREGULAR_PAST = frozenset(
    """said told went came took made met held began gave saw left rose fell won lost sold bought paid
    sent spent got found thought knew became brought ran wrote spoke chose drew grew fled struck led
    stood felt kept heard meant broke shook threw forgot sought taught caught fought built dealt hung
    laid sat slept stole swore swept swam tore understood woke wore froze flew fed dug drove drank ate
    blew bore bred clung crept dove flung forgave hid knelt leapt lit overcame overtook rang rode sang
    sank shone shot shrank slid spat sprang stank stung strode strove swung wept withdrew undertook
    arose awoke lent bent spun stuck foresaw oversaw upheld withheld overthrew mistook forbade sped
    bled wove""".split()
)
_IRREGULAR_PARTICIPLES = frozenset(
    """done gone taken given seen known shown written spoken chosen drawn grown flown thrown broken
    forgotten eaten fallen risen driven ridden begun sung sunk hidden stolen frozen worn torn sworn
    beaten bitten blown withdrawn undertaken overtaken mistaken shaken forbidden proven gotten
    forgiven overseen overthrown woken arisen stricken sewn sown swollen""".split()
)
# The same form in the present and the past: a verb only after an auxiliary or a pronoun.
_AMBIGUOUS_FORMS = frozenset(
    "put set cut hit let read shut quit cost spread hurt bet bid cast broadcast forecast upset beat split burst".split()
)
# Words in -ed that are not verbs, and participles that name a plan rather than a past event.
_NOT_ED_VERBS = frozenset(
    """need speed feed seed breed bleed proceed succeed exceed bed red shed hundred indeed naked wicked
    sacred beloved rugged wretched crooked jagged ragged hatred kindred creed greed steed weed tweed reed
    deed sled shred embed united based related limited concerned interested advanced detailed supposed
    listed required needed aged""".split()
)
_PLAN_WORDS = frozenset(
    """plan plans planned planning intend intends intended intending aim aims aimed aiming hope hopes
    hoped hoping expect expects expected expecting want wants wanted seek seeks prepare prepares
    prepared preparing set due scheduled slated poised likely unlikely supposed proposed propose proposes
    promise promises promised vow vows vowed pledge pledges pledged upcoming forthcoming expire expires
    expiring""".split()
)
# Plan verbs in the present (also nouns: "took aim", "plans for June" after a determiner).
_PLAN_BASE = frozenset("plan plans aim aims hope hopes promise promises vow vows pledge pledges".split())
# Plans in the past tense do not fix the date of what was planned: "had been set to expire Nov. 6".
_PLAN_PAST = frozenset("planned intended aimed hoped expected wanted prepared promised vowed pledged proposed".split())
# Verbs that move a date: after them "to"/"until" names the new date, which may lie ahead.
_RESCHEDULE = frozenset(
    "postponed delayed deferred extended pushed moved rescheduled adjourned shifted bumped".split()
)
_REPORTING = frozenset(
    """said says say told tells reported reports announced announces added adds noted notes wrote writes
    stated states confirmed confirms explained explains warned warns claimed claims argued argues
    insisted insists testified revealed reveals disclosed discloses acknowledged admitted according""".split()
)
# Verbs of saying and thinking whose object is a clause: "said the festival takes place in June".
_SPEECH = frozenset(
    """said says say told tells stated states claimed claims argued argues insisted insists warned warns
    believes believed thinks thought estimated estimates expected predicted predicts projected""".split()
)
# What may stand between a reporting verb and the date of the report: "said in a statement on",
# "told reporters at a briefing", "told CNN on".
_REPORT_GAP = frozenset(
    """in at to on during with from via after before for late early earlier a an the his her its their
    interview statement conference call briefing post blog email e-mail press release news reporters
    journalists letter filing report speech hearing appearance video tweet message meeting session
    him them us me telephone phone televised broadcast radio television tv published over by through
    around amid throughout""".split()
)
_DETERMINERS = frozenset("a an the this these those its his her their our my your some any no every each another such".split())
_ADVERBS = frozenset(
    """not never also already still just first once again even ever yet only then now soon later earlier
    since long often always sometimes well too so all both""".split()
)
_NOT_ADVERBS = frozenset(
    """july italy family supply apply reply rely fly ally holy ugly daily weekly monthly quarterly yearly
    hourly nightly early likely unlikely lily bully belly jelly rally tally assembly anomaly""".split()
)
# Capitalised mid-sentence, these begin a new sentence that lost its full stop.
_OPENERS = frozenset("a an the it he she they we this these those there".split())
_SUBORDINATORS = frozenset("that which who whom whose where when whenever because although though whereas if unless whether".split())
_HARD = frozenset((";", ":", "\u2014", "\u2013", "--", "!", "?"))
# An aside in brackets is skipped: "the Libyan National Army (LNA) in June 1998".
_OPEN = frozenset(("(", "["))
_CLOSE_BRACKET = frozenset((")", "]"))
_QUOTES = frozenset(('"', "\u201c", "\u201d"))
# A date right after these ends something or begins it: a deadline points ahead unless the
# clause is in the past ("lasted until November").
_DEADLINE_BEFORE = re.compile(
    r"\b(?:until|till|til|by|through|thru|to|effective|payable|starting|beginning|ahead\s+of)\s+(?:the\s+)?(?:end\s+of\s+|start\s+of\s+)?$",
    re.IGNORECASE,
)
# "during the summer rehearsals" is a time adverbial even though a noun follows the date.
_TEMPORAL_PREP_BEFORE = re.compile(
    r"\b(?:in|on|during|since|until|till|by|at|before|after|through|throughout|over)\s+(?:the\s+)?$", re.IGNORECASE
)
_FUNCTION_WORDS = frozenset(
    """to and or as when while after before for with by at on in of from that which who the a an its his
    her their our last this next but because if than so amid despite until since through during into over
    under against about around there then is are was were will would also already still just again
    ago earlier later local time""".split()
)
# "will not close until March": it closes in March
_NOT_UNTIL_BEFORE = re.compile(r"\b(?:until|till|before)\s+(?:the\s+)?$", re.IGNORECASE)
_CONDITIONAL = frozenset(("if", "unless"))
# A new clause inside an "if" clause: "if BP is found negligent in drilling the well that
# exploded on April 20" (the explosion is real).
_CLAUSE_OPENERS = frozenset(
    "that which who whom whose where when whenever because although though whereas while whether before after".split()
)
# Nouns in -ing, and words before "if" that make it an indirect question ("see if", "decide if").
_ING_NOUNS = frozenset(
    """morning evening during meeting building spring nothing something anything everything thing king ring
    string wedding hearing briefing funding opening closing ending beginning ceiling""".split()
)
_IF_QUESTION = frozenset("as see ask asked asks decide decided wonder wondered know knew sure unclear clear check".split())
_SINCE_BEFORE = re.compile(r"\bsince\s+(?:the\s+)?$", re.IGNORECASE)
_UPCOMING_BEFORE = re.compile(r"\b(?:upcoming|forthcoming)\s+(?:\w+\s+)?$", re.IGNORECASE)
_POSSESSIVE_AFTER = re.compile(r"['\u2019]s?\b")
_NEAR_SUBJECT = 12  # words (commas too): "On Monday, the head of the county fire service, Jane Doe, said": a subject before its verb
_REACH = 14  # words: a verb further away than this says nothing about the expression
_CLOSE = 12  # words: a verb this near, in the same stretch between commas, is strong evidence


@dataclass(frozen=True, slots=True)
class _Tok:
    start: int
    end: int
    low: str
    cap: bool  # capitalised where a sentence or quotation does not begin: a name
    sentence_start: bool


@dataclass(frozen=True, slots=True)
class _Found:
    """A verb group found near an expression."""

    tense: str | None
    weak: bool  # a plan in the past, a moved date, an infinitive after a past verb
    words: int  # words between it and the expression
    comma: bool  # a comma lies between them
    head: str  # its last word, lower case
    index: int = -1  # the token index of that word
    left: bool = True  # found before the expression


@dataclass(frozen=True, slots=True)
class Clause:
    """The verb that governs a temporal expression, and what its clause says about it.

    verb: the governing verb's last word in lower case ("said", "unveiled", "according", or
    a participle right before the date: "starting"), or None when no verb was found; tense:
    "past", "future" or None; negated: the date itself is denied ("it's not April Fool's
    Day", "on Tuesday, not on Monday"; "did not sail on Tuesday" is a cancellation, not a
    denial of the day); conditional: inside an "if"/"unless" clause (not in a relative clause
    within it); clause_follows: a clause begins right after the expression ("announced
    Friday that ..."; for a verb after the date, a clause after that verb).
    """

    verb: str | None
    tense: str | None
    negated: bool
    conditional: bool
    clause_follows: bool
    # the date is the date of the verb's act of reporting: "said on Monday", "told CNN on
    # Tuesday", "On Monday, the company said" (not "reported a loss on Monday": an object
    # stands between them, so the report is the happening)
    reported: bool = False


class TenseReader:
    """Tokens of one text, and the tense of the clause around any span of it."""

    def __init__(self, text: str, sentence_starts: list[int]) -> None:
        self._text = text
        toks: list[_Tok] = []
        k = 0
        for m in _TOKEN.finditer(text):
            s = m.start()
            while k + 1 < len(sentence_starts) and sentence_starts[k + 1] <= s:
                k += 1
            word = m.group()
            first = not toks or toks[-1].start < sentence_starts[k]
            opening = first or toks[-1].low in _HARD or toks[-1].low in _QUOTES
            # Title case marks a name mid-sentence ("Will Smith"); all capitals are only shouting
            cap = word[:1].isupper() and not (len(word) > 1 and word.isupper())
            low = word.lower().replace("\u2019", "'")
            if cap and not opening and low in _OPENERS:
                first = opening = True  # "... kill indiscriminately A hail of rockets": a run-in headline
            toks.append(_Tok(s, m.end(), low, cap and not opening, first))
        self._toks = toks
        self._starts = [t.start for t in toks]

    # --- word classes ------------------------------------------------------------------

    def _low(self, i: int) -> str:
        return self._toks[i].low if 0 <= i < len(self._toks) else ""

    def _is_adverb(self, i: int) -> bool:
        if not 0 <= i < len(self._toks):
            return False
        w = self._toks[i].low
        if w in _ADVERBS:
            return True
        return len(w) > 4 and w.endswith("ly") and w not in _NOT_ADVERBS and not self._toks[i].cap

    def _aux(self, i: int) -> str | None:
        """The class of an auxiliary word ("fut", "modal", "be", "was", "be_nf", "have",
        "had", "do", "did"), or None."""
        if not 0 <= i < len(self._toks):
            return None
        t = self._toks[i]
        w = t.low
        if t.cap and w != "i":
            return None  # "Will Smith", "May Day"
        if w.endswith("'ll"):
            return "fut"
        if w.endswith("'d"):
            return "had" if self._next_is_participle(i) else "modal"
        if w.endswith("'ve"):
            return "have"
        if w.endswith("'re") or w.endswith("'m"):
            return "be"
        if w.endswith("'s"):
            return "be" if w[:-2] in _PRONOUNS else None
        if w in _FUTURE_AUX:
            return "fut"
        if w in _MODALS:
            return "modal"
        if w in _BE_PRES:
            return "be"
        if w in _BE_PAST:
            return "was"
        if w in _BE_NF:
            return "be_nf"
        if w in _HAVE_PRES or w == "having":
            return "have"
        if w in _HAVE_PAST:
            return "had"
        if w in _DO_PRES:
            return "do"
        if w in _DO_PAST:
            return "did"
        return None

    def _next_is_participle(self, i: int) -> bool:
        j = i + 1
        while self._is_adverb(j):
            j += 1
        w = self._low(j)
        return w == "been" or w in _IRREGULAR_PARTICIPLES or (w.endswith("ed") and w not in _NOT_ED_VERBS)

    def _aux_before(self, i: int) -> int | None:
        """Index of the auxiliary right before word i, across adverbs, or None."""
        j = i - 1
        while self._is_adverb(j):
            j -= 1
        return j if self._aux(j) is not None else None

    def _after_determiner(self, i: int) -> bool:
        j = i - 1
        while self._is_adverb(j):
            j -= 1
        w = self._low(j)
        return w in _DETERMINERS or (w.endswith("'s") and w[:-2] not in _PRONOUNS)

    def _verbal(self, i: int) -> bool:
        """Whether token i is a verb or an auxiliary: part of a verb group."""
        t = self._toks[i]
        w = t.low
        if w in _HARD or w == ",":
            return False
        if self._aux(i) is not None:
            return True
        if t.cap:
            return False  # names: "United", "Reed", "Will"
        aux = self._aux_before(i)
        if w == "due":
            return self._due_is_plan(i)
        if w == "according":
            return self._low(i + 1) == "to"
        if w in ("going", "about"):
            return self._low(i + 1) == "to" and aux is not None
        if w in _AMBIGUOUS_FORMS:
            # "set" is a plan in "set to", "set for"; the others only with an auxiliary or a subject
            subject = i > 0 and (self._low(i - 1) in _PRONOUNS or self._toks[i - 1].cap)
            if aux is not None or subject or (w == "set" and self._low(i + 1) in ("to", "for")):
                return True
            # a participle after its noun: "the record high set on Aug. 6"
            return not self._after_determiner(i) and self._low(i + 1) in ("on", "in", "at", "during", "last", "earlier")
        if w in _PLAN_WORDS:
            if self._after_determiner(i):
                # "its plans to", "the plan for June" still look ahead; "the plan Aug. 21" does not
                return w.startswith("plan") and self._low(i + 1) in ("to", "for")
            if w in _PLAN_BASE:
                # "aims to", "hope to", "they plan": verbs; "took aim at", "gave hope": nouns
                return self._low(i + 1) == "to" or aux is not None or self._low(i - 1) in _PRONOUNS
            return True
        if w.endswith("ing") and len(w) > 4:
            return aux is not None and self._aux(aux) in ("be", "was", "be_nf", "fut", "modal")
        if "-" in w:
            last = w.rsplit("-", 1)[-1]
            return aux is not None and (last.endswith("ed") or last in _IRREGULAR_PARTICIPLES)
        if w in _IRREGULAR_PAST or w in _IRREGULAR_PARTICIPLES or (
            len(w) > 3 and w.endswith("ed") and w not in _NOT_ED_VERBS
        ):
            # "a still unspecified date", "the alleged victim": adjectives after a determiner
            return aux is not None or not self._after_determiner(i)
        if w in _REPORTING:
            if w in ("says", "tells"):
                return True
            # "reports", "notes", "claims" are nouns too: a verb only after its subject
            prev = self._toks[i - 1] if i > 0 else None
            return prev is not None and (prev.low in _PRONOUNS or prev.cap)
        return False

    def _due_is_plan(self, i: int) -> bool:
        nxt = self._low(i + 1)
        if nxt != "to":
            return nxt in ("in", "on", "for", "by", "back", "out", "at", "next", "this", "")
        return self._low(i + 2) in (
            "be", "begin", "start", "open", "close", "end", "meet", "vote", "arrive", "launch", "release",
            "expire", "take", "report", "hold", "finish", "return", "resume", "come", "go", "get",
        )  # fmt: skip

    # --- verb groups -------------------------------------------------------------------

    def _group(self, head: int, depth: int = 0) -> tuple[str | None, bool]:
        """The tense of the verb group ending at token `head`, and whether it is weak evidence."""
        chain: list[str] = []
        j = head - 1
        while j >= 0:
            if self._is_adverb(j):
                j -= 1
                continue
            a = self._aux(j)
            if a is None:
                break
            chain.insert(0, a)
            j -= 1
        w = self._low(head)
        a = self._aux(head)
        if a is not None:
            chain.append(a)
        nxt = self._toks[head + 1] if head + 1 < len(self._toks) else None
        # "set" plans only when a date or "to"/"for" follows: "set Nov. 10 as the deadline"
        set_date = w == "set" and nxt is not None and (nxt.low in ("to", "for") or nxt.cap)
        plan = (w in _PLAN_WORDS and w != "set") or w in ("going", "about") or set_date
        moved = w in _RESCHEDULE
        if (not chain or chain[0] == "be_nf") and self._low(j) == "to" and depth < 2:
            # an infinitive ("to be completed by", "to expire Friday") depends on the verb before
            gov = self._left_head(j, limit=6)
            if gov is None:
                return "future", True
            tense, weak = self._group(gov, depth + 1)
            if tense == "past":
                return "past", True  # "agreed to pay by March": may still lie ahead
            return "future", weak
        if not chain:
            if w in _PLAN_PAST:
                return "past", True
            if plan:
                # "plans to", "expires"; "concerts scheduled for July" may be plans of the past
                return "future", w in ("scheduled", "slated", "set", "planned")
            if moved:
                return "past", True
            if w in _REPORTING and w.endswith("s"):
                return None, False  # "says"
            if w in _AMBIGUOUS_FORMS:
                # "they cut jobs" is present or past; "the record set on Aug. 6" is past
                if self._low(head + 1) in ("on", "in", "at", "during", "last", "earlier"):
                    return "past", False
                return "past", True  # without an -s after its subject, more often the past
            return "past", False
        first = chain[0]
        if "fut" in chain:
            return "future", False
        if first == "modal":
            if "have" in chain[1:]:
                return "past", False  # "would have released", "may have met"
            first_aux = self._first_aux(head)
            if self._low(first_aux).startswith("could") and (
                self._low(first_aux).endswith("n't") or self._low(first_aux + 1) in ("not", "never")
            ):
                return None, False  # "could not attend": also the past of "can"
            return "future", False
        if a is not None and self._low(head + 1) == "to":
            if a == "have":
                return "future", False  # "have to stop"
            if a == "be":
                return "future", False  # "is to resume"
            if a in ("had", "was"):
                return "past", a == "was"  # "had to leave"; "was to open" may still lie ahead
        if first == "had":
            return "past", plan or moved
        if a == "have":
            return None, False  # "we have a treat", "has a meeting in March": possession, now
        if first == "have":
            if plan or moved:
                return "future", False  # "has been set for March", "has been postponed until May"
            return "past", False
        if first == "was":
            return "past", plan or moved
        if first == "be":
            if len(chain) == 1 and a is not None:
                return None, False  # "is valid until", "is in Paris"
            if plan or w.endswith("ing"):
                return "future", False  # "is set to", "is meeting studios next week"
            return None, False  # "is held in June": habitual or present
        if first == "did":
            return "past", False
        return None, False

    def _first_aux(self, head: int) -> int:
        j = head
        k = head - 1
        while k >= 0 and (self._is_adverb(k) or self._aux(k) is not None):
            if self._aux(k) is not None:
                j = k
            k -= 1
        return j

    def _left_head(self, i: int, limit: int) -> int | None:
        """The nearest verbal token before token i in its clause, within `limit` words."""
        j = i - 1
        n = 0
        while j >= 0 and n <= limit:
            t = self._toks[j]
            if t.low in _HARD or (t.low in _SUBORDINATORS and not t.cap):
                return None
            if self._verbal(j):
                return j
            if t.sentence_start:
                return None
            j -= 1
            n += 1
        return None

    # --- the walk ----------------------------------------------------------------------

    def tense(self, s0: int, start: int, end: int) -> tuple[str | None, bool]:
        """The tense governing the expression [start, end) of the sentence starting at s0,
        and whether the evidence is strong (a verb close by, in the same stretch of clause)."""
        before = self._text[max(s0, start - 40) : start]
        if _SINCE_BEFORE.search(before):
            return "past", True
        if _UPCOMING_BEFORE.search(before):
            return "future", True
        attributive = self._attributive(end) and not _TEMPORAL_PREP_BEFORE.search(before)
        deadline = _DEADLINE_BEFORE.search(before) is not None and not attributive
        found = self._find(s0, start, end)
        if found is not None and found.left and found.words > 2 and attributive:
            found = None  # "under a June agreement", "for April delivery": a date inside a noun phrase
        if found is None or found.tense is None:
            return ("future", True) if deadline else (None, False)
        # a comma before a fronted adjunct's verb ("In January, the firm brought ...") is no doubt
        strong = not found.weak and found.words <= _CLOSE and not (found.left and found.comma)
        return found.tense, strong

    def _find(self, s0: int, start: int, end: int) -> _Found | None:
        first = bisect_left(self._starts, s0)
        left = self._walk_left(first, bisect_left(self._starts, start) - 1)
        if left is None or left.comma:
            right = self._walk_right(bisect_left(self._starts, end))
            # a fronted adjunct takes the verb after it ("In June, the company will ..."); a
            # date after a comma, the verb of its own stretch ("Although sales fell, in June the
            # company will ...")
            if right is not None and (left is None or not right.comma):
                return right
        return left

    def clause(self, s0: int, start: int, end: int) -> Clause:
        """What the clause around the expression says about it (see Clause)."""
        found = self._find(s0, start, end)
        first = bisect_left(self._starts, s0)
        i = bisect_left(self._starts, start) - 1
        after = bisect_left(self._starts, end)
        conditional = self._conditional(first, i)
        negated = self._negated(i, first)
        participle = self._participle_before(i, first)
        if participle is not None:
            # "hearings starting on Tuesday": the participle is the date's verb
            return Clause(participle, found.tense if found else None, negated, conditional, self._clause_follows(after))
        if found is None:
            return Clause(None, None, negated, conditional, self._clause_follows(after))
        if found.left:
            follows = self._clause_follows(after)
            reported = found.head in _REPORTING and self._report_governs(found.index, i) and not self._passive(found.index)
        else:
            follows = self._clause_follows(found.index + 1)
            reported = (
                found.head in _REPORTING and found.words <= _NEAR_SUBJECT and not self._passive(found.index)
                and self._low(found.index + 1) != "for"  # "In 2003, Clinton reported for jury duty"
                and not _POSSESSIVE_AFTER.match(self._text, end)  # "a co-chair of Wednesday's meeting, said"
            )
        return Clause(found.head, found.tense, negated, conditional, follows, reported)

    def _negated(self, i: int, first: int) -> bool:
        """Whether "not" or "never" stands right before the date ("it's not April Fool's Day",
        "not on Monday but on Tuesday"); "not until June" and "not only in June" are no denial."""
        j = i
        if j >= first and self._low(j) in ("on", "in", "at", "during", "the", "a", "an", "exactly", "even", "yet"):
            j -= 1
        return j >= first and (self._low(j) in ("not", "never") or self._low(j).endswith("n't"))

    def _participle_before(self, i: int, first: int) -> str | None:
        j = i
        if j >= first and self._low(j) in ("on", "in", "at", "from", "until", "through"):
            j -= 1
        w = self._low(j) if j >= first else ""
        if len(w) > 5 and w.endswith("ing") and w not in _ING_NOUNS and not self._toks[j].cap and self._low(j - 1) != "of":
            return w
        return None

    def _conditional(self, first: int, i: int) -> bool:
        """Whether the expression lies in an "if"/"unless" clause: "if it were Christmas"."""
        j = i
        while j >= first:
            w = self._low(j)
            if w in _CONDITIONAL and not self._toks[j].cap:
                # "as if", "see if", "decide if": no condition; "if not inaccurate": a concession
                return self._low(j - 1) not in _IF_QUESTION and self._low(j + 1) not in ("not", "any", "ever")
            if w in _HARD or w == "," or w in _CLAUSE_OPENERS:
                return False
            j -= 1
        return False

    def _clause_follows(self, k: int) -> bool:
        """Whether a clause follows at token k ("... Friday that it would close", "... Friday it will")."""
        if k >= len(self._toks) or self._toks[k].sentence_start:
            return False
        w = self._low(k)
        if w == ",":
            k += 1
            if k >= len(self._toks) or self._toks[k].sentence_start:
                return False
            w = self._low(k)
        if w == "that":
            return True
        if w in _PRONOUNS or w in ("the", "a", "an") or self._toks[k].cap:
            # a subject, then an auxiliary within a few words: "Friday the company would close"
            for m in range(k + 1, min(k + 4, len(self._toks))):
                if self._toks[m].sentence_start or self._verbal(m) and self._aux(m) is None:
                    return False
                if self._aux(m) is not None:
                    return True
        return False

    def _attributive(self, end: int) -> bool:
        """Whether the expression ending at `end` modifies the noun after it ("a June agreement")."""
        k = bisect_left(self._starts, end)
        if k >= len(self._toks) or self._toks[k].start - end > 1:
            return False
        t = self._toks[k]
        w = t.low
        if t.cap or not w.isalpha() or w in _FUNCTION_WORDS or self._aux(k) is not None:
            return False
        return not (w.endswith("ed") or w.endswith("ing") or w.endswith("ly"))

    def _infinitive_at(self, j: int, i: int) -> bool:
        """Whether "to" at token j introduces an infinitive before the expression (token i is
        the last token before it): "asked it to respond by Oct. 31"."""
        if j >= i or self._low(j) != "to":
            return False
        nxt = self._toks[j + 1]
        return nxt.low.isalpha() and not nxt.cap and nxt.low not in _DETERMINERS

    def _walk_left(self, first: int, i: int) -> _Found | None:
        """The verb group before token i in the expression's clause."""
        words = 0
        comma = False
        infinitive = False
        j = i
        while j >= first and words <= _REACH:
            t = self._toks[j]
            if t.low in _CLOSE_BRACKET:
                j = self._bracket_start(j, first) - 1
                continue
            if t.low in _HARD or t.low in _OPEN or (t.low in _SUBORDINATORS and not t.cap):
                return None
            if t.low == ",":
                comma = True
                j -= 1
                continue
            if t.low == "since" and not t.cap:
                return _Found("past", False, words, comma, t.low, j, True)  # "since the superstar's death on Thursday"
            if self._verbal(j):
                if t.low in _SPEECH and not self._passive(j) and not self._report_governs(j, i):
                    return None  # "said the festival takes place in June": the complement's tense
                tense, weak = self._group(j)
                if infinitive:
                    # what an infinitive names comes after the verb it depends on
                    tense, weak = ("past", True) if tense == "past" else ("future", weak)
                return _Found(tense, weak or t.low in _RESCHEDULE, words, comma, t.low, j, True)
            if self._infinitive_at(j, i):
                infinitive = True
            if t.low.endswith("ing") and self._low(j - 1) == ",":
                # a participle clause (", rising to a high in June") takes the main verb's tense
                words = 0
                comma = True
            j -= 1
            words += 1
        return None

    def _bracket_start(self, j: int, first: int) -> int:
        """The index of the bracket that opens the aside closing at token j (or j itself)."""
        k = j - 1
        while k >= first and k > j - 40:
            if self._low(k) in _OPEN:
                return k
            k -= 1
        return j

    def _bracket_end(self, j: int) -> int:
        k = j + 1
        while k < len(self._toks) and k < j + 40:
            if self._low(k) in _CLOSE_BRACKET:
                return k
            k += 1
        return j

    def _passive(self, i: int) -> bool:
        aux = self._aux_before(i)
        return aux is not None and self._aux(aux) in ("be", "was", "be_nf")

    def _report_governs(self, head: int, i: int) -> bool:
        """Whether the words between a reporting verb and the date are adjuncts of the report."""
        for k in range(head + 1, i + 1):
            t = self._toks[k]
            if t.low in _REPORT_GAP or t.low == "," or t.cap or self._text[t.start : t.end].isupper():
                continue
            if t.low.endswith("'s") and t.low[:-2] not in _PRONOUNS:
                continue
            return False
        return True

    def _walk_right(self, i: int) -> _Found | None:
        """The first verb group after token i in its clause."""
        words = 0
        comma = False
        j = i
        n = len(self._toks)
        while j < n and words <= _REACH:
            t = self._toks[j]
            if t.low in _OPEN:
                j = self._bracket_end(j) + 1
                continue
            if t.low in _HARD or t.low in _QUOTES or t.low in _CLOSE_BRACKET or t.sentence_start:
                return None  # a closing quote ends what the speaker said: '... in August," he said'
            if t.low == ",":
                comma = True
            if t.low in _SUBORDINATORS and not t.cap:
                # skip an embedded clause: "In June, the company, which was founded in 1998, will ..."
                k = j + 1
                while k < n and self._toks[k].low != "," and self._toks[k].low not in _HARD:
                    k += 1
                if k >= n or self._toks[k].low != ",":
                    return None
                j = k + 1
                continue
            if t.low != "," and self._verbal(j):
                # the group runs on to its last verbal word: "had been set", "will probably meet"
                k = j
                while True:
                    m = k + 1
                    while self._is_adverb(m):
                        m += 1
                    if m < n and self._aux(k) is not None and self._verbal(m):
                        k = m
                    else:
                        break
                if self._low(k) in _REPORTING and (
                    k + 1 >= n or self._low(k + 1) in (",", "") or self._toks[k + 1].sentence_start
                    or self._low(k + 1) in _QUOTES
                ):
                    # an attribution, not the verb of the date: "In June, the company said, it
                    # will open a plant"; "... this week to pitch Sora, people familiar said."
                    j = k + 2
                    words += 1
                    continue
                tense, weak = self._group(k)
                if tense == "future" and self._low(k).endswith("ing") and self._aux(k) is None:
                    tense = None  # "the February ousting ... is proving": a state now, not a plan
                return _Found(tense, weak, words, comma, self._toks[k].low, k, False)
            j += 1
            words += 1
        return None
