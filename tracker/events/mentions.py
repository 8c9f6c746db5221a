"""Find event mentions: topical sentences carrying a temporal expression that dates them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from tracker.events.sentences import Sentence, split_sentences
from tracker.events.text import fingerprint, is_anaphoric, make_quote, make_summary, proper_names, term_tokens
from tracker.events.topics import TopicMatcher

if TYPE_CHECKING:
    from tracker.temporal import Clause

__all__ = ["EventMention", "Extractor", "TemporalLike", "dropped_because", "find_mentions", "is_calendar_mention"]


class TemporalLike(Protocol):
    """What find_mentions reads from a tracker.temporal.TemporalMention."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def mod(self) -> str | None: ...
    @property
    def granularity(self) -> str | None: ...
    @property
    def interval(self) -> tuple[date, date] | None: ...


Extractor = Callable[[str, "date | datetime | None"], Sequence[TemporalLike]]

# With topics configured, a happening that ended more than this long before the article is
# the story's background (a charity's founding, an earlier trial), not the story the topic follows.
BACKGROUND_DAYS = 3 * 365 + 1
# A decade or a century is no date for a happening on a timeline.
_TOO_VAGUE = frozenset({"decade", "century"})
# "said on Monday", "told Reuters on Friday", "declined to comment on Monday": the date of the
# statement, not of the happening it reports.
_STATEMENT_BEFORE = re.compile(
    r"""\b(?:said|says|say|told|tells|reported|reports|wrote|writes|added|adds|noted|commented|comment|
    confirmed|according\s+to)
    (?:\s+(?:in|at|to|during|an?|the|his|her|its|their|interview|statement|conference|call|briefing|
    post|blog|email|e-mail|press|release|news|reporters|him|her|them|us|me|[A-Z][\w.'’&-]*)){0,5}
    \s+(?:on\s+|late\s+|early\s+|earlier\s+)?$""",
    re.VERBOSE,
)
# "Speaking to a local radio station on Friday, ...": an interview's date (not "speaking at
# the summit", where the speech may be the news).
_SPEAKING_TO_BEFORE = re.compile(r"\b[Ss]peaking\s+(?:to|with)\s+(?:[\w'’.&-]+\s+){0,6}(?:on\s+|late\s+|early\s+)?$")
# "OpenAI on Monday said ...": the same, with the date before the verb.
_STATEMENT_AFTER = re.compile(r"^[\s,]*(?:said|says|told|tells|reported|wrote|writes|added|adds|noted|confirmed)\b")
# The same, read from the verb that governs the date wherever it stands ("On Monday, the
# company said it would ...", "according to a report Saturday", "told CNN on Tuesday").
_REPORTING_VERBS = frozenset(
    """said says say told tells reported reports wrote writes added adds noted notes stated states
    commented comments confirmed confirms explained explains insisted insists argued argues claimed
    claims warned warns according acknowledged admitted""".split()
)
# Announcing is news when a thing is announced ("announced a new chief executive on Friday"),
# a statement when a clause is ("announced on Friday that it would close the plant").
_ANNOUNCING_VERBS = frozenset("announced announces disclosed discloses revealed reveals".split())
# The date of a report, an interview or a statement: "in a statement Friday", "an interview
# published Thursday", "Friday's statement". Only the report's date, unless the statement is
# itself what happened ("apologized in a statement on Friday").
_REPORT_NOUN = (
    r"(?:reports?|statements?|interviews?|letters?|filings?|memos?|remarks|speech|testimony|briefing|"
    r"(?:news|press)\s+conference|conference\s+call|press\s+release|blog(?:\s+post)?|tweets?|podcast|"
    r"op-ed|column|e-?mails?|study|survey|poll)"
)
_REPORT_NOUN_BEFORE = re.compile(
    rf"\b{_REPORT_NOUN}\s+(?:on\s+|late\s+|early\s+|earlier\s+)?$", re.IGNORECASE
)
# "an interview published Thursday", "a report released Friday": the date of publishing it
_REPORT_PUBLISHED_BEFORE = re.compile(
    rf"\b{_REPORT_NOUN}(?:,)?\s+(?:published|released|issued|posted|aired|broadcast|dated|televised|sent|filed)"
    r"\s+(?:on\s+|late\s+|early\s+|earlier\s+)?$",
    re.IGNORECASE,
)
_REPORT_NOUN_AFTER = re.compile(
    r"^['’]s?\s+(?:\w+\s+)?(?:report|statement|interview|letter|filing|remarks|speech|testimony|briefing"
    r"|(?:news|press) conference|study|survey|poll)\b",
    re.IGNORECASE,
)
# What a report does with its findings: "Friday's report showed that ..." dates the report.
_FINDING_VERBS = frozenset("showed shows found finds suggested suggests indicated indicates".split())
# Bounds, not periods: "more than a week ago", "less than a year ago".
_NO_PERIOD_MODS = frozenset({"MORE_THAN", "LESS_THAN", "EQUAL_OR_MORE", "EQUAL_OR_LESS"})
# Bare words that taggers sometimes read as months ("studios may ...", "they march ...").
_AMBIGUOUS_WORDS = frozenset({"may", "march", "sun", "wed", "sat"})


# "from May to September 2023", "between 2020 and 2022", "July 14-November 9": one span.
_RANGE_OPEN = re.compile(r"\b(?:from|between)\s+$", re.IGNORECASE)
_RANGE_JOIN = re.compile(r"^\s*(?:to|until|till|through|thru|and|-|–|—)\s*$", re.IGNORECASE)
_RANGE_DASH = re.compile(r"^\s*[-–—]\s*$")
_HAS_YEAR = re.compile(r"\b\d{4}\b|['’]\d{2}\b")
RANGE = "range"


@dataclass(frozen=True)
class _Range:
    """Two dates joined as a span ("from May to September 2023"): one happening that lasted."""

    start: int
    end: int
    text: str
    type: str
    value: str
    mod: str | None
    granularity: str | None
    interval: tuple[date, date] | None


@dataclass(frozen=True)
class EventMention:
    """One dated sentence about a topic, ready to be merged into an event."""

    sentence_index: int
    quote: str
    expression: str
    expr_start: int
    expr_end: int
    value: str
    mod: str | None
    granularity: str
    start: date
    end: date
    topics: frozenset[str]
    terms: frozenset[str]
    summary: str
    fingerprint: str
    # True when the topics came from the title or a neighbour, not from the sentence itself;
    # such a sentence ("It was unveiled ...") makes a poorer event summary.
    context_topics: bool = False
    # Subsets of `terms`: words of proper names (who, not what happened) and words that
    # matched a topic keyword (every mention of the topic has them). Merging weighs them.
    names: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    # The content words next to the expression: "unveiled ... in mid-February", "strikes last
    # year"; they say what the date is the date of, so merging weighs them more.
    focus: frozenset[str] = frozenset()


def is_calendar_mention(tm: TemporalLike) -> bool:
    """DATE or TIME naming a period on the calendar; no *_REF, durations, sets or eras."""
    if tm.type not in ("DATE", "TIME") or tm.interval is None:
        return False
    if tm.value.endswith("_REF") or tm.granularity in _TOO_VAGUE:
        return False
    if tm.mod in _NO_PERIOD_MODS:
        # "more than a week ago" names no week: only a bound
        return False
    if "X" in tm.value.split("T")[0][:4]:
        # An unknown year ("XXXX-03-25") cannot be placed on the timeline.
        return False
    return tm.text.strip() not in _AMBIGUOUS_WORDS


def _default_extractor() -> Extractor:
    # Imported late: the tagger is a sibling package and tests may inject their own.
    from tracker.temporal import extract

    return extract


def find_mentions(
    *,
    title: str,
    text: str,
    published: datetime,
    matcher: TopicMatcher,
    feed_topics: Collection[str] | None = None,
    extractor: Extractor | None = None,
) -> list[EventMention]:
    """The event mentions of one article, in text order; the same input always gives the same output.

    Topics: a sentence's own topics; failing those, and only when the sentence refers back
    ("It was unveiled ...", "The company ..."), the previous sentence's, then the title's,
    then the next sentence's in the same paragraph. With no topics configured every dated
    sentence counts with empty topics; `feed_topics` restricts the topics an article can have.
    Dates in the title, bylines, datelines and boilerplate are ignored, and so are dates
    of statements ("..., Bloomberg reported on Friday"), which date the report, not the news,
    and denied or hypothetical dates ("it's not April Fool's Day", "if it were Christmas").
    """
    extract = extractor if extractor is not None else _default_extractor()
    sentences = split_sentences(text)
    if not sentences:
        return []
    found = list(extract(text, published))
    temporals = [tm for tm in found if is_calendar_mention(tm)] + _offsets_from_dates(text, found)
    temporals.sort(key=lambda tm: (tm.start, tm.end))
    allowed = None if feed_topics is None else frozenset(feed_topics)
    title_topics = matcher.match(title) if title else frozenset()
    own = [frozenset() if s.boilerplate else matcher.match(s.text) for s in sentences]

    by_sentence: dict[int, list[TemporalLike]] = {}
    starts = [s.start for s in sentences]
    placed = [(tm, _sentence_at(starts, sentences, tm.start)) for tm in temporals]
    placed = [(tm, index) for tm, index in placed if index is not None and not sentences[index].boilerplate]
    facts = _clauses(text, [(tm.start, tm.end) for tm, _ in placed])
    horizon = published.date() - timedelta(days=BACKGROUND_DAYS)
    for (tm, index), clause in zip(placed, facts):
        assert index is not None
        if dropped_because(text, sentences[index], tm, clause) is None:
            by_sentence.setdefault(index, []).append(tm)
    for index in list(by_sentence):
        if _states_nothing(sentences[index], found):
            del by_sentence[index]
    for index, tms in list(by_sentence.items()):
        joined = _join_ranges(text, sentences[index].start, _without_cells(text, tms))
        joined = _without_name_years(text, sentences[index], joined)
        if matcher:
            # a topic follows a story: what ended years before the article is its background,
            # and so is a person's past told in a relative clause ("X, who joined in 1998")
            joined = [
                tm for tm in joined
                if tm.interval is not None and tm.interval[1] >= horizon
                and not _past_in_aside(text, sentences[index], tm, published)
            ]
        if joined:
            by_sentence[index] = joined
        else:
            del by_sentence[index]

    names = proper_names(s.text for s in sentences if not s.boilerplate)
    mentions: list[EventMention] = []
    seen: set[str] = set()
    for index in sorted(by_sentence):
        sentence = sentences[index]
        topics, from_context = _topics_for(index, sentences, own, title_topics)
        if allowed is not None:
            topics &= allowed
        if matcher and not topics:
            continue
        for tm in _distinct_happenings(by_sentence[index]):
            mention = _mention(index, sentence, tm, topics, from_context, by_sentence[index], names, matcher)
            # The same sentence twice in one article (a pull quote) is one mention.
            if mention.fingerprint not in seen:
                seen.add(mention.fingerprint)
                mentions.append(mention)
    return mentions


def _without_cells(text: str, tms: list[TemporalLike]) -> list[TemporalLike]:
    """Two full dates side by side with nothing between ("June 1, 2016 June 15, 2016 - Last day
    for ...") are cells of a table's row: the text goes with the date next to it, not the first."""
    ordered = sorted(tms, key=lambda tm: tm.start)
    return [
        tm for tm, nxt in zip(ordered, [*ordered[1:], None])
        if nxt is None or not (
            tm.granularity == "day" and nxt.granularity == "day" and _HAS_YEAR.search(tm.text)
            and _HAS_YEAR.search(nxt.text) and not text[tm.end : nxt.start].strip()
        )
    ]


# "the 2022 calendar", "2022 wall calendar": a bare year right before a lower-case word, at
# the start of its sentence or after a determiner, modifies a noun.
_NAME_YEAR_BEFORE = re.compile(r"(?:^|\b(?:the|a|an|its|his|her|their|our|my|your|this|that)\s+)$", re.IGNORECASE)
_NAME_YEAR_AFTER = re.compile(r"^\s+[^\W\d_A-Z]")


def _without_name_years(text: str, sentence: Sentence, tms: list[TemporalLike]) -> list[TemporalLike]:
    """A year that names a thing ("the 2022 calendar is out today", "2023 models arrive this
    week") when another date of the sentence, outside that year, dates what happens: the
    year is part of the name, the other date is the happening's."""
    out = []
    for tm in tms:
        if tm.granularity == "year" and tm.interval is not None and re.fullmatch(r"\d{4}", tm.text.strip()):
            lo, hi = tm.interval
            before = text[sentence.start : tm.start].lstrip(" \t\"“'‘([")
            if (
                _NAME_YEAR_BEFORE.search(before)
                and _NAME_YEAR_AFTER.match(text[tm.end : min(sentence.end, tm.end + 20)])
                and any(
                    o is not tm and o.interval is not None and (o.interval[1] < lo or o.interval[0] > hi)
                    for o in tms
                )
            ):
                continue
        out.append(tm)
    return out


# ", who joined the company in 1998", ", for which he had worked ... in 2007": a relative
# clause about a person or (with a preposition) a thing, which tells background. A bare
# ", which began on May 2" often dates the story's own happening: not this.
_PAST_ASIDE = re.compile(
    r",\s+(?:who|whom|whose|(?:for|in|at|with|of|by|under|from|to)\s+(?:which|whom))\s[^,;:()\[\]\"“”—–]*$",
    re.IGNORECASE,
)
# An aside dates background only when its date is this long before the article.
ASIDE_PAST_DAYS = 365


def _past_in_aside(text: str, sentence: Sentence, tm: TemporalLike, published: datetime) -> bool:
    """The date is in a relative clause about someone's or something's past, a year or more
    before the article: "Jane Doe, who joined the agency in 2007, said ..." (with topics,
    background, not the story)."""
    if tm.interval is None or tm.interval[1] > published.date() - timedelta(days=ASIDE_PAST_DAYS):
        return False
    return _PAST_ASIDE.search(text[sentence.start : tm.start]) is not None


def _states_nothing(sentence: Sentence, found: Sequence[TemporalLike]) -> bool:
    """A sentence with no content word besides its dates ("November.", "That was 18 November.")
    states no happening: it is a fragment or a bare anaphor."""
    plain = sentence.text
    for tm in found:
        s, e = max(tm.start, sentence.start) - sentence.start, min(tm.end, sentence.end) - sentence.start
        if s < e:
            plain = plain[:s] + " " * (e - s) + plain[e:]
    return all(word.lower() in _EMPTY_WORDS for word in re.findall(r"[^\W\d_]+", plain))


# Words that state nothing by themselves: "That was 18 November.", "It is May."
_EMPTY_WORDS = frozenset(
    """that this it its there was is were are be been being the a an then so and or but on in at of by until
    till from to since as for now here""".split()
)


# An aside between two dashes: "the head of the agency, Jane Doe - the official in charge of
# the clean-up - said ...". Read around it, the subject reaches its verb.
_DASH_ASIDE = re.compile(r"(?P<dash>\s-{1,2}\s|\s?[\u2014\u2013]\s?)[^\u2014\u2013.;:!?\n\"\u201c\u201d]{2,150}?(?P=dash)")


def _clauses(text: str, spans: list[tuple[int, int]]) -> list[Clause]:
    # Imported late, like the default extractor: the tagger is a sibling package.
    from tracker.temporal import clauses

    asides = [(m.start(), m.end()) for m in _DASH_ASIDE.finditer(text)]
    if not asides:
        return clauses(text, spans)
    # Each date is read with the asides it is not in blanked (same offsets): the verb it
    # belongs to is the one of the sentence around the aside.
    by_text: dict[tuple[int, ...], list[int]] = {}
    for index, (start, end) in enumerate(spans):
        inside = tuple(k for k, (a, b) in enumerate(asides) if a <= start and end <= b)
        by_text.setdefault(inside, []).append(index)
    out: list[Clause | None] = [None] * len(spans)
    for inside, indexes in by_text.items():
        plain = text
        for k, (a, b) in enumerate(asides):
            if k not in inside:
                plain = plain[:a] + " " * (b - a) + plain[b:]
        for index, clause in zip(indexes, clauses(plain, [spans[i] for i in indexes])):
            out[index] = clause
    return [c for c in out if c is not None]


def dropped_because(text: str, sentence: Sentence, tm: TemporalLike, clause: Clause) -> str | None:
    """Why a date in a sentence dates no happening, or None when it does.

    "statement": the date of a statement or report about something else ("said on Monday",
    "according to a report Saturday", "announced Friday that ..."); "negated": the date itself
    is denied ("it's not April Fool's Day"; "did not sail on Tuesday" is a cancellation, which
    is news); "conditional": "if it were Christmas".
    """
    before = text[max(sentence.start, tm.start - 120) : tm.start]
    after = text[tm.end : min(sentence.end, tm.end + 40)]
    verb = clause.verb
    if _STATEMENT_BEFORE.search(before) or _STATEMENT_AFTER.match(after) or _SPEAKING_TO_BEFORE.search(before[-80:]):
        return "statement"
    if verb in _REPORTING_VERBS and clause.reported:
        return "statement"
    if verb in _ANNOUNCING_VERBS and clause.clause_follows:
        return "statement"
    if _REPORT_PUBLISHED_BEFORE.search(before[-70:]):
        return "statement"
    if _REPORT_NOUN_BEFORE.search(before[-60:]) or _REPORT_NOUN_AFTER.match(after):
        # "said in a statement Friday", "Friday's report showed that ...": the report's date;
        # "apologized in a statement Friday", "issued a statement Friday": the statement happened
        if verb is None or verb in _ANNOUNCING_VERBS or verb in _FINDING_VERBS or clause.clause_follows:
            return "statement"
    if _STATEMENT_VERB_NEAR.search(before[-70:]) and _THAT_AFTER.match(after):
        # "told congressional investigators on Tuesday that ...": the date sits between the
        # verb of saying and what was said, so it is the date of the saying
        return "statement"
    if verb in _CONVERSATION_VERBS and _ADDRESSED_TALK.search(sentence.text):
        # "you spoke with the minister on Friday about the budget": an interviewer recalls
        # the interviewee's own earlier interview, the date of what was said
        return "statement"
    if clause.negated:
        return "negated"
    if clause.conditional:
        return "conditional"
    if verb in ("is", "are") and _now_description(text, sentence, tm, before, after):
        return "figurative"
    if verb is None and _caption(sentence, tm):
        return "not-a-happening"
    return _not_a_happening(text, sentence, tm, before, after)


# "talked with ... about": a conversation, the date of the saying when the interviewee is
# addressed ("you talked with ... about ..."); "we talk about" on a show is its episode.
_CONVERSATION_VERBS = frozenset("talked spoke spoken chatted".split())
_ADDRESSED_TALK = re.compile(
    r"\byou\s+(?:have\s+|had\s+)?(?:talked|spoken|spoke|chatted)\s+(?:with|to)\b[^;:!?]{1,160}?\babout\b",
    re.IGNORECASE,
)
# "The Xs today are ...", "our project today is a ...": "today" after a noun, in a present
# copular clause, is "nowadays" or a description of the present, not the date of a happening.
_NOW_WORDS = frozenset({"today", "nowadays"})
_NOUN_BEFORE = re.compile(r"(?<![,;:])\b([A-Za-z][\w'’-]*)\s+$")
_NOT_NOUN = frozenset(
    """a an the and or but nor so yet that which what who whom whose where when why how if as than because
    is are was were be been being am do does did done have has had will would shall should can could may might must
    not also just only even still now then here there i you he she it we they me him us them this these those
    in on at by for from of to with about into over under after before since until during through""".split()
)
_COPULA_DESCRIPTION_AFTER = re.compile(
    r"^\s+(?:is|are)\s+(?!(?:expected|set|scheduled|due|going|about|to|being|not|likely|planned|slated|poised|"
    r"supposed|meant|getting|also|still)\b)(?![a-z]+(?:ed|ing)\b)",
    re.IGNORECASE,
)


# A caption or a label: a short line with no verb and no closing stop, naming a thing "in" a
# year or month at its end ("The old harbour crane in 1962", "Our first logo in March 2009").
_CAPTION_MAX_WORDS = 8
_CAPTION_GRANULARITIES = frozenset({"year", "month", "season", "quarter"})
_CAPTION_IN = re.compile(r"\bin\s+$", re.IGNORECASE)
_CAPTION_VERBAL = frozenset(
    """i we you he she they it is are was were be been being am has have had do does did will would shall
    should can could may might must there here""".split()
)


def _caption(sentence: Sentence, tm: TemporalLike) -> bool:
    """The date ends a short verbless line ("Our first shop front in 1998"): a caption or label
    describing a picture or a thing, which states no happening. A line that ends in a stop, or
    has a pronoun or an auxiliary, is a sentence ("We opened in 1998.")."""
    line = sentence.text.strip()
    if tm.granularity not in _CAPTION_GRANULARITIES or re.search(r"[.!?:;\"”')\]]$", line):
        return False
    rel_start, rel_end = tm.start - sentence.start, tm.end - sentence.start
    if sentence.text[rel_end:].strip() or not _CAPTION_IN.search(sentence.text[:rel_start]):
        return False
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", sentence.text[:rel_start])]
    if not words or len(words) > _CAPTION_MAX_WORDS or any(w in _CAPTION_VERBAL for w in words):
        return False
    # a past participle or a past verb would be the happening ("Shop opened in 1998")
    return not any(w.endswith("ed") for w in words)


def _now_description(text: str, sentence: Sentence, tm: TemporalLike, before: str, after: str) -> bool:
    """"Americans today are deeply divided", "the first step of our plan today is a sketch":
    "today" right after its clause's subject noun, before a present "is"/"are" describing it.
    "Today is launch day" (today itself the subject), "What we decided today is ..." (its own
    verb) and "the vote today is expected to pass" (a happening due today) are not this."""
    if tm.text.strip().lower() not in _NOW_WORDS:
        return False
    noun = _NOUN_BEFORE.search(before)
    if noun is None or noun.group(1).lower() in _NOT_NOUN or noun.group(1).lower().endswith("ed"):
        return False
    return _COPULA_DESCRIPTION_AFTER.match(after) is not None


# --- dates that date no happening, read from the words around them ------------------------

_STATEMENT_VERB_NEAR = re.compile(
    r"\b(?:said|says|told|tells|wrote|writes|stated|states|reported|reports|announced|announces|disclosed|"
    r"discloses|confirmed|confirms|explained|explains|acknowledged|admitted)(?:\s+[\w'’.-]+){0,5}"
    r"\s+(?:on\s+|late\s+|early\s+|earlier\s+)?$",
    re.IGNORECASE,
)
_THAT_AFTER = re.compile(r"^\s*,?\s*that\b", re.IGNORECASE)
# "On Mon, Nov 12, 2012 at 06:17PM, Jane Doe wrote:", "At 08:53 22nd Jun 2010, jdoe wrote:":
# the quoted message's attribution.
_WROTE_AFTER = re.compile(r"^[\w:.+\s-]{0,24},?\s+[^,;:!?]{1,40}?\s+(?:wrote|writes)\s*:", re.IGNORECASE)
# "Date: Tue Sep 23 20:18:09 2008", "Posted: ...": a header field
_FIELD_BEFORE = re.compile(
    r"(?:^|[\s|(\[])(?:date|sent|posted|updated|published|created|modified|timestamp|last\s+modified)\s*:\s*"
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+"
    r"|\d{1,2}(?::\d\d){0,2}\s*(?:[ap]m)?,?\s+){0,5}$",
    re.IGNORECASE,
)
# "... Monitoring The Future, January 2017. http://bit.ly/...": a reference with its link
_URL_AFTER = re.compile(r"^[\s.,;:)\]]{0,4}(?:https?://|www\.|bit\.ly/)", re.IGNORECASE)
# "“Title,” Outlet, August 2016": a cited title and its outlet
_CITED_BEFORE = re.compile(r"[”\"]\s*,?\s+(?:[^,“”\"]{1,60},\s*)?$")
# "more than in 2014", "compared with last year": the standard of a comparison
_COMPARISON_BEFORE = re.compile(
    r"\b(?:(?<!later\s)(?<!earlier\s)(?<!sooner\s)(?<!rather\s)than|compared\s+(?:with|to)|versus|vs\.?)\s+(?:(?:in|on|during|at|by|for|over)\s+)?(?:the\s+|a\s+)?$",
    re.IGNORECASE,
)
# "as of June 3", "the cost through June 3 was $800 million": a cut-off date of a figure
_CUTOFF_BEFORE = re.compile(r"\b(?:as\s+of|to\s+date\s+(?:on|in))\s+$", re.IGNORECASE)
# A lower-case word right after the date, not a preposition or conjunction: the date
# qualifies a noun ("the April 20 explosion", "last week's quake").
_DATES_A_NOUN_AFTER = re.compile(
    r"^(?:['’]s)?\s+(?!(?:on|in|at|as|and|or|but|when|while|after|before|amid|to|for|with|which|that|than|"
    r"by|from|of|until|since|so|yet|the|a|an)\b)[a-z]"
)
# "for the first time since May last year", "its lowest level since 2009": the date a
# figure is measured against, not a happening.
_RECORD_SINCE_BEFORE = re.compile(
    r"\b(?:(?:first|only)\s+time|(?:high|low|bigg|larg|small|great|strong|weak|wor|be|fast|slow)est"
    r"(?:\s+[\w'’-]+){0,3}|most|least)\s+since\s+(?:the\s+)?(?:start\s+of\s+|end\s+of\s+)?$",
    re.IGNORECASE,
)
_RUNNING_TOTAL_BEFORE = re.compile(r"\b(?:through|thru|up\s+to|until|till)\s+(?:the\s+end\s+of\s+)?$", re.IGNORECASE)
_STATE_VERB_AFTER = re.compile(
    r"^\s*,?\s*(?:was|were|is|are|stood|stands|totall?ed|totals|amounted|came\s+to|reached|had\s+reached)\b",
    re.IGNORECASE,
)
# A present-perfect state (remaining, coming to nothing) over the period a date names.
_PERIOD_BEFORE = re.compile(r"\b(?:in|during|over|throughout|so\s+far\s+in)\s+$", re.IGNORECASE)
_PERFECT_STATE = re.compile(
    r"\b(?:has|have)\s+(?:\w+ly\s+)?(?:remained|stayed|come\s+to\s+(?:nothing|naught|little)|gone\s+nowhere|"
    r"led\s+nowhere|amounted\s+to\s+(?:nothing|little|naught))\b",
    re.IGNORECASE,
)
# Between the date and that state: another clause ("In 2023 the firm went bankrupt, and its
# plans have come to nothing" dates the bankruptcy)
_CLAUSE_BREAK = re.compile(r"[,;:]\s*(?:and|but|while|so|yet|which|who)\b|;|\band\b|\bbut\b", re.IGNORECASE)


def _perfect_state(text: str, sentence: Sentence, tm: TemporalLike, before: str) -> bool:
    """The date opens or frames a present-perfect state of its own clause: "In 2018, the plan
    has come to nothing", "This year prices have remained flat"."""
    at_start = not text[sentence.start : tm.start].strip(" \t\"“'‘([")
    if not at_start and not _PERIOD_BEFORE.search(before[-20:]):
        return False
    state = _PERFECT_STATE.search(text, tm.end, sentence.end)
    return state is not None and not _CLAUSE_BREAK.search(text, tm.end, state.start())


# "we are hoping to send aid in this week", "what I'd like to do in 2009": only wished for.
_WISH_BEFORE = re.compile(
    r"\b(?:hop(?:e|es|ed|ing)|wish(?:es|ed|ing)?|(?:would|['’]d)\s+(?:\w+ly\s+)?(?:like|love|prefer)|dream(?:s|ed|ing)?\s+of)"
    r"\s+(?:that\s+|to\s+)[^.;:!?,\"“”]*$",
    re.IGNORECASE,
)
# "Sometimes in the summer, we organize ...": a habit, not a happening
_HABITUAL = r"(?:sometimes|usually|often|always|typically|generally|normally|occasionally|rarely|seldom|frequently|habitually|traditionally)"
_HABITUAL_BEFORE = re.compile(rf"\b{_HABITUAL}\s+(?:[\w'’-]+\s+){{0,3}}$", re.IGNORECASE)
_HABITUAL_AFTER = re.compile(rf"^[\s,]*(?:[\w'’-]+\s+){{0,2}}{_HABITUAL}\b", re.IGNORECASE)
# "celebrating the weekend with ...", "welcome Friday": a day greeted as such, the day itself
# the object of the verb, not the time of a happening ("celebrated on Friday" stays)
_GREETED_DAY = re.compile(
    r"\b(?:celebrat(?:e|es|ed|ing)|welcom(?:e|es|ed|ing)|toast(?:s|ed|ing)?|kick(?:s|ed|ing)?\s+off|"
    r"ring(?:s|ing)?\s+in|rang\s+in)\s+$",
    re.IGNORECASE,
)
_WEEKDAY_OR_WEEKEND = re.compile(
    r"(?:the\s+|this\s+)?(?:weekend|(?:mon|tues|wednes|thurs|fri|satur|sun)day)", re.IGNORECASE
)
# "(vintage 2006)", "(born 1950)": a year describing something inside brackets
_BRACKETED_YEAR = re.compile(r"^\(\s*(?:[A-Za-z-]+\s+){0,2}(?:1[5-9]|2[0-2])\d\d\s*\)$")
_MONTH_WORD = re.compile(
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?",
    re.IGNORECASE,
)
_TIME_OF_DAY_WORD = re.compile(r"(?:midnight|tonight|today|tomorrow|yesterday|morning|evening|noon|dawn|dusk)", re.IGNORECASE)
_WORD_BEFORE = re.compile(r"([A-Za-z][\w'’.-]*)[\s\"“]*$")
_WORDS_AFTER = re.compile(r"^[\s\"”]*([A-Za-z][\w'’.-]*)(?:\s+([A-Za-z][\w'’.-]*))?")
# Words before a bare month that make it a time: "in August", "last August", "by mid-August"
_TIME_LEAD = frozenset(
    """in on at by since until till through during before after from to of between around about early late mid
    last next this that each every the until following previous coming past since and or""".split()
)
# A bare four-digit number before this is no year of a news timeline.
_FIRST_YEAR = 1500
# A sentence that opens with an HHMM stamp: "2012 Jane Doe, the leader of ..." (live pages)
_CLOCK_YEAR = re.compile(r"^(?:[01]\d|2[0-3])[0-5]\d$")


# "CAIRO | Wed Sep 14, 2011 2:06 pm EDT", "Page last updated at 15:47 GMT, Friday, 22 January 2010"
_STAMP_BEFORE = re.compile(
    r"(?:\s\|\s*|\blast\s+updated\s+(?:at|on)\s+(?:\d{1,2}[:.]\d\d\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,4})?,?\s*)?)$",
    re.IGNORECASE,
)
_ENTRY_STAMP_AFTER = re.compile(r"\s(?:[A-Z]{1,3}T|GMT|UTC)\b|\sin\s+[A-Z][a-z]+\s+[A-Z]")
# What an entry heading of clock times is made of: "12:34 a.m. Monday ET, "
_STAMP_WORDS = re.compile(
    r"\d{1,2}(?:[:.]\d\d)?\s*(?:[ap]\.?m\.?)?|\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b"
    r"|\b(?:[A-Z]{1,3}T|GMT|UTC)\b",
    re.IGNORECASE,
)


# "2020 was a great year for the project", "Last week was a busy week": the period judged
# as a whole, no happening in it ("2008 was the year the bank failed" dates the failure).
_JUDGED_PERIOD_AFTER = re.compile(
    r"^\s+(?:was|is|has\s+been|had\s+been|will\s+be)\s+(?:a|an|another|one)\s+(?:[\w'’-]+\s+){1,3}"
    r"(?:year|month|week|weekend|season|time|summer|winter|spring|autumn|day)s?\s*(?:[,.!;:]|for\b|of\b|and\b|$)",
    re.IGNORECASE,
)
# "post-11-September rhetoric", "pre-2008 levels": the date qualifies a noun.
_PREFIXED_BEFORE = re.compile(r"\b(?:post|pre|anti)-(?:\d{1,2}[-/ ])?$", re.IGNORECASE)
# "the biggest resurrection of the week", "Most Disappointing Game of 2012", "best seller of
# the year": a ranking among the period's things, no happening dated by it.
_SUPERLATIVE_OF_BEFORE = re.compile(r"\b([A-Za-z]+)\b(?:\s+[\w'’-]+){0,2}\s+of\s+(?:the\s+)?$")
_SUPERLATIVE_WORDS = frozenset("best worst most least top favorite favourite".split())
_NOT_SUPERLATIVE = frozenset(
    """interest forest request protest contest suggest honest modest harvest test west quest guest rest arrest
    invest digest manifest conquest inquest unrest behest chest nest pest vest zest crest lest jest attest
    detest infest molest divest earnest bequest midwest northwest southwest everest""".split()
)
_PERIOD_GRANULARITIES = frozenset({"week", "month", "season", "quarter", "half", "year", "decade"})
# A four-digit number before a time zone or "hours" is a clock time: "at 1653 (2153 GMT)".
_CLOCK_AFTER = re.compile(
    r"^\s*(?:GMT|UTC|Z|BST|CET|CEST|EET|EEST|WET|EST|EDT|CST|CDT|MST|MDT|PST|PDT|IST|JST|AEST|AEDT|hrs|hours|h|local\s+time)\b"
)


def _superlative_of(tm: TemporalLike, before: str) -> bool:
    """A ranking among the things of a period: "the biggest upset of the year" (see _SUPERLATIVE_OF_BEFORE)."""
    if tm.granularity not in _PERIOD_GRANULARITIES:
        return False
    m = _SUPERLATIVE_OF_BEFORE.search(before[-60:])
    if m is None:
        return False
    # The superlative may open the phrase or sit inside it ("Most Disappointing Game of").
    words = re.findall(r"[A-Za-z]+", before[-60:][m.start() :])[:-1]
    for word in (w.lower() for w in words):
        if word in _SUPERLATIVE_WORDS:
            return True
        if len(word) > 4 and word.endswith("est") and word not in _NOT_SUPERLATIVE:
            return True
    return False


def _not_a_happening(text: str, sentence: Sentence, tm: TemporalLike, before: str, after: str) -> str | None:
    """Why the words around a date make it no happening's date, or None (see dropped_because)."""
    if _WROTE_AFTER.match(text[tm.end : min(sentence.end, tm.end + 90)]) or _FIELD_BEFORE.search(before[-40:]):
        return "citation"
    if _URL_AFTER.match(text[tm.end : tm.end + 12]) or _CITED_BEFORE.search(before[-90:]):
        return "citation"
    if _timestamp_aside(text, sentence, tm) or _STAMP_BEFORE.search(before[-40:]) or _bracketed_attribution(text, sentence, tm):
        return "citation"
    at_start = not _STAMP_WORDS.sub("", text[sentence.start : tm.start]).strip(" \t\"“'‘([,")
    if at_start and tm.type == "TIME" and _ENTRY_STAMP_AFTER.match(text, tm.end):
        # "12:34 a.m. Monday ET, 6:34 a.m. Monday in Libya A coalition ...": a live page's
        # stamp in two time zones ("4.22 pm: Jane Doe tells the hearing ..." dates the entry)
        return "citation"
    if _COMPARISON_BEFORE.search(before[-40:]) or _CUTOFF_BEFORE.search(before[-20:]):
        return "not-a-happening"
    if _RECORD_SINCE_BEFORE.search(before[-60:]) and not _DATES_A_NOUN_AFTER.match(after):
        # ("... for the first time since the April 20 explosion": the explosion is dated)
        return "not-a-happening"
    if _RUNNING_TOTAL_BEFORE.search(before[-30:]) and _STATE_VERB_AFTER.match(after):
        return "not-a-happening"
    if _perfect_state(text, sentence, tm, before):
        # "In 2018, the plan has come to nothing", "This year prices have stayed flat": a state
        # that holds through the period, no happening in it
        return "not-a-happening"
    if _WISH_BEFORE.search(before[-100:]):
        return "hypothetical"
    if _GREETED_DAY.search(before[-30:]) and _WEEKDAY_OR_WEEKEND.fullmatch(tm.text.strip()):
        return "figurative"
    if _HABITUAL_BEFORE.search(before[-40:]) or _HABITUAL_AFTER.match(after):
        return "habitual"
    if _is_question(text, sentence, tm):
        return "question"
    if _superlative_of(tm, before):
        return "figurative"
    if _JUDGED_PERIOD_AFTER.match(after):
        return "not-a-happening"
    if _PREFIXED_BEFORE.search(before[-10:]):
        return "not-a-happening"
    return _name_or_number(text, sentence, tm, before)


def _is_question(text: str, sentence: Sentence, tm: TemporalLike) -> bool:
    """The date is asked about: its sentence (or the quoted question around it) ends in "?"."""
    rest = text[tm.end : sentence.end]
    stop = re.search(r"[.!?]", rest)
    return stop is not None and stop.group() == "?"


_ASIDE_NOISE = re.compile(
    r"\b\d{1,2}\s*(?:[:.h]\s*\d{2})?\s*(?:[ap]\.?m\.?)?|\b(?:[A-Z]{1,4}T|GMT|UTC)\b|\b(?:in|at|local|time|on)\b"
    r"|\b[A-Z][a-z]+\b|[\W_]",
)


# A quotation's attribution before a bracketed date: '... range." --Jane Roe (Monday, ...)'.
_ATTRIBUTION_BEFORE = re.compile(r"(?:--|[\u2014\u2013])\s*[^\s\"“”()][^()\"“”]{0,60}$")


def _bracketed_attribution(text: str, sentence: Sentence, tm: TemporalLike) -> bool:
    """A date alone in brackets closing a quotation's attribution: when the quoted words were
    said or written, not a happening. (A bracketed date after a release or a book dates it:
    "Tails 4.9 (July 28)" stays.)"""
    open_at = text.rfind("(", sentence.start, tm.start)
    if open_at < 0 or ")" in text[open_at : tm.start]:
        return False
    close_at = text.find(")", tm.end, sentence.end)
    if close_at < 0 or re.search(r"[A-Za-z]", text[open_at + 1 : tm.start] + text[tm.end : close_at]):
        return False
    if text[close_at + 1 : sentence.end].strip(" \t.!?\"”'’"):
        return False
    return _ATTRIBUTION_BEFORE.search(text[max(sentence.start, open_at - 70) : open_at]) is not None


def _timestamp_aside(text: str, sentence: Sentence, tm: TemporalLike) -> bool:
    """A date in brackets with a clock time and nothing else: "(5:25 p.m. Monday ET, 11:25 p.m.
    Monday in Libya)", "(09/24/2018 - 19h22)": a live page's time stamp."""
    open_at = text.rfind("(", sentence.start, tm.start)
    if open_at < 0 or ")" in text[open_at : tm.start]:
        return False
    close_at = text.find(")", tm.end, sentence.end)
    if close_at < 0:
        return False
    inside = text[open_at + 1 : close_at]
    if not re.search(r"\d{1,2}\s*(?:[:h]\s*\d{2}|[ap]\.?m\b)", inside, re.IGNORECASE):
        return False
    rest = inside.replace(tm.text, " ")
    rest = _MONTH_WORD.sub(" ", rest)
    return not re.search(r"[a-z]{3,}", _ASIDE_NOISE.sub(" ", rest))


def _name_or_number(text: str, sentence: Sentence, tm: TemporalLike, before: str) -> str | None:
    """A month, time word, quarter or year that is part of a name, or a number that is no year."""
    word = tm.text.strip()
    prev_m = _WORD_BEFORE.search(before[-40:])
    prev = prev_m.group(1) if prev_m else ""
    nxt_m = _WORDS_AFTER.match(text[tm.end : min(sentence.end, tm.end + 60)])
    nxt = nxt_m.group(1) if nxt_m else ""
    nxt2 = (nxt_m.group(2) or "") if nxt_m else ""
    at_start = not text[sentence.start : tm.start].strip(" \t\"“'‘([")
    lead = prev.lower().rstrip(".") in _TIME_LEAD
    capital_next = nxt[:1].isupper() and not _MONTH_WORD.fullmatch(nxt) and nxt.lower() not in _TIME_LEAD
    if _MONTH_WORD.fullmatch(word) and tm.granularity == "month" and not lead and capital_next:
        # "WP: August Bebel", "a song by June Carter": a name, not a month
        if not re.match(r"^[\s,]*\d", text[tm.end : tm.end + 4]):
            return "name"
    if _TIME_OF_DAY_WORD.fullmatch(word) and word[:1].isupper() and not at_start and capital_next:
        return "name"  # "frontman for Midnight Shine"
    if re.fullmatch(r"Q[1-4]", word) and prev[:1].isupper() and prev.lower() not in _TIME_LEAD:
        return "name"  # "the Audi Q1"
    if re.fullmatch(r"\d{4}", word) and tm.granularity == "year":
        if int(word) < _FIRST_YEAR:
            return "number"  # "between 1040 and 1050": clock times or counts, not years
        colon = before.rstrip().endswith(":")  # "Year Built: 1972 Sq Footage": a field's value
        if not lead and not colon and prev.lower() not in ("a", "an", "its", "his", "her", "their", "our") and nxt[:1].isupper() and nxt2[:1].isupper():
            return "name"  # "Solvit Products | 2012 Global Pet Expo Exhibitor"
        if at_start and _CLOCK_YEAR.fullmatch(word) and re.match(r"^ [A-Z][a-z]", text[tm.end : tm.end + 3]):
            return "number"  # "2012 Jane Doe, the leader of ...": a clock time heading a live entry
        if _CLOCK_YEAR.fullmatch(word) and _CLOCK_AFTER.match(text[tm.end : tm.end + 12]):
            return "number"  # "(2153 GMT)", "at 1830 hours": a clock time
    if re.search(r"\(\s*(?:[A-Za-z-]+\s+){0,2}$", before) and _BRACKETED_YEAR.match(
        text[text.rfind("(", sentence.start, tm.start) : text.find(")", tm.end, sentence.end) + 1]
    ):
        return "not-a-happening"
    return None


def _sentence_at(starts: list[int], sentences: list[Sentence], offset: int) -> int | None:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    index = lo - 1
    if index >= 0 and sentences[index].start <= offset < sentences[index].end:
        return index
    return None


def _topics_for(
    index: int,
    sentences: list[Sentence],
    own: list[frozenset[str]],
    title_topics: frozenset[str],
) -> tuple[frozenset[str], bool]:
    if own[index]:
        return own[index], False
    if not is_anaphoric(sentences[index].text):
        # "Shares of Netflix rose on Tuesday" in a strikes story is not about the strikes.
        return frozenset(), True
    paragraph = sentences[index].paragraph
    prev = index - 1
    if prev >= 0 and not sentences[prev].boilerplate and own[prev]:
        return own[prev], True
    if title_topics:
        return title_topics, True
    nxt = index + 1
    if nxt < len(sentences) and sentences[nxt].paragraph == paragraph and own[nxt]:
        return own[nxt], True
    return frozenset(), True


def _join_ranges(text: str, floor: int, tms: list[TemporalLike]) -> list[TemporalLike]:
    """Dates written as a span ("from May to September 2023") become one mention of the span.

    A timeline reader wants the strike that ran from July to November as one happening,
    not a "July" and a "November" event with half a sentence each.
    """
    ordered = sorted(tms, key=lambda tm: tm.start)
    out: list[TemporalLike] = []
    i = 0
    while i < len(ordered):
        first = ordered[i]
        run = _day_list(text, ordered, i)
        if run > i + 1:
            last = ordered[run]
            assert first.interval is not None and last.interval is not None
            out.append(_Range(
                start=first.start, end=last.end, text=text[first.start : last.end], type="DATE",
                value=f"{first.value.split('T')[0]}/{last.value.split('T')[0]}", mod=None, granularity=RANGE,
                interval=(first.interval[0], last.interval[1]),
            ))
            i = run + 1
            continue
        if i + 1 < len(ordered):
            second = ordered[i + 1]
            joined = _as_range(text, floor, first, second)
            if joined is not None:
                out.append(joined)
                i += 2
                continue
        out.append(first)
        i += 1
    return out


# "Saturday, Sunday, Monday", "May 3, 4 and 5": the items of a list of days.
_LIST_GAP = re.compile(r"^\s*(?:,|,?\s+(?:and|&))\s*$", re.IGNORECASE)


def _day_list(text: str, ordered: Sequence[TemporalLike], i: int) -> int:
    """The index of the last of three or more consecutive days listed from ordered[i] on
    ("Saturday, Sunday, Monday - it took all of that": one happening over the three days),
    else i."""
    j = i
    while j + 1 < len(ordered):
        a, b = ordered[j], ordered[j + 1]
        if not (a.type == b.type == "DATE" and a.granularity == b.granularity == "day"):
            break
        if a.interval is None or b.interval is None or b.interval[0] != a.interval[1] + timedelta(days=1):
            break
        if not _LIST_GAP.match(text[a.end : b.start]):
            break
        j += 1
    return j if j - i >= 2 else i


def _as_range(text: str, floor: int, first: TemporalLike, second: TemporalLike) -> TemporalLike | None:
    between = text[first.end : second.start]
    opened = _RANGE_OPEN.search(text[max(floor, first.start - 12) : first.start])
    if not _RANGE_JOIN.match(between) or not (opened or _RANGE_DASH.match(between)):
        return None
    if first.interval is None or second.interval is None or first.granularity in _TOO_VAGUE:
        return None
    if "TIME" in (first.type, second.type):
        return None  # "from 9 a.m. to 5 p.m.": hours of one day, not a span of days
    lo, hi = first.interval[0], second.interval[1]
    value = first.value
    if first.granularity in ("day", "month") and not _HAS_YEAR.search(first.text) and _HAS_YEAR.search(second.text):
        # "from May to September 2023": the first end takes the year written at the second.
        moved = _in_year(lo, second.interval[0].year)
        if moved is not None and moved > second.interval[0]:
            moved = _in_year(lo, second.interval[0].year - 1)
        if moved is not None and value[:4].isdigit():
            value = f"{moved.year:04d}{value[4:]}"
            lo = moved
    if lo >= hi or hi - lo > timedelta(days=3660):
        return None  # "from 9 a.m. to 5 p.m." is a day, not a span; a backwards pair is no span
    first_value = value.split("T")[0]
    last_value = second.value.split("T")[0]
    return _Range(
        start=first.start,
        end=second.end,
        text=text[first.start : second.end],
        type="DATE",
        # ISO 8601 interval notation: TIMEX3 has no single value for a span.
        value=f"{first_value}/{last_value}",
        mod=None,
        granularity=RANGE,
        interval=(lo, hi),
    )


# "on Sunday, a day before OpenAI begins its meetings": the clause after "before" happens
# a day after Sunday. Only days and weeks; "a year before" is rarely meant to the day.
_OFFSET = re.compile(r"^P(\d{1,2})([DW])$")
_OFFSET_GAP = re.compile(r"^\s*,\s*$")
_OFFSET_WORD = re.compile(r"\s+(before|after)\s+(?=[A-Za-z])")


def _offsets_from_dates(text: str, found: Sequence[TemporalLike]) -> list[TemporalLike]:
    """Dates of the clauses that "a day before"/"two days after" place against a dated anchor."""
    out: list[TemporalLike] = []
    for anchor, offset in zip(found, found[1:]):
        if anchor.granularity != "day" or anchor.interval is None or not is_calendar_mention(anchor):
            continue
        size = _OFFSET.match(offset.value) if offset.type == "DURATION" else None
        word = _OFFSET_WORD.match(text, offset.end)
        if size is None or word is None or not _OFFSET_GAP.match(text[anchor.end : offset.start]):
            continue
        days = int(size[1]) * (7 if size[2] == "W" else 1)
        # "X on Sunday, a day before Y": Y is a day later; "a day after Y": a day earlier.
        day = anchor.interval[0] + timedelta(days=days if word[1] == "before" else -days)
        end = offset.end + len(word[0].rstrip())
        out.append(_Range(offset.start, end, text[offset.start : end], "DATE", day.isoformat(), None, "day", (day, day)))
    return out


def _in_year(d: date, year: int) -> date | None:
    try:
        return d.replace(year=year)
    except ValueError:
        return None  # 29 February


def _length(tm: TemporalLike) -> int:
    assert tm.interval is not None
    return (tm.interval[1] - tm.interval[0]).days


def _distinct_happenings(tms: list[TemporalLike]) -> list[TemporalLike]:
    """One mention per happening: nested or overlapping dates in a sentence name one happening.

    "On Monday, March 25, OpenAI met ..." gives one mention (the most precise date);
    "... meetings next week, after earlier meetings in February" gives two, since the
    intervals are disjoint.
    """
    ordered = sorted(tms, key=lambda tm: (_length(tm), tm.start, tm.end, tm.value))
    kept: list[TemporalLike] = []
    for tm in ordered:
        assert tm.interval is not None
        lo, hi = tm.interval
        # A span and a date inside it are two happenings ("the strike, which began on
        # May 2, ... and the one that ran from July 14 to November 9"); spans compare with spans.
        # Two spans are one only when one lies inside the other ("from May to September;
        # the actors from July to November" are two strikes).
        span = tm.granularity == RANGE
        if any(_same_happening(k, lo, hi, span) for k in kept):
            continue
        kept.append(tm)
    return sorted(kept, key=lambda tm: (tm.start, tm.end))


def _same_happening(kept: TemporalLike, lo: date, hi: date, span: bool) -> bool:
    if kept.interval is None or (kept.granularity == RANGE) != span:
        return False
    k_lo, k_hi = kept.interval
    if span:
        return (k_lo <= lo and hi <= k_hi) or (lo <= k_lo and k_hi <= hi)
    return lo <= k_hi and k_lo <= hi


def _mention(
    index: int,
    sentence: Sentence,
    tm: TemporalLike,
    topics: frozenset[str],
    from_context: bool,
    all_in_sentence: list[TemporalLike],
    names: frozenset[str],
    matcher: TopicMatcher,
) -> EventMention:
    assert tm.interval is not None
    rel_start, rel_end = tm.start - sentence.start, min(tm.end, sentence.end) - sentence.start
    # Every date in the sentence is removed from the terms: dates are compared as intervals.
    plain = sentence.text
    for other in sorted(all_in_sentence, key=lambda t: t.start, reverse=True):
        s, e = other.start - sentence.start, min(other.end, sentence.end) - sentence.start
        plain = plain[:s] + " " * (e - s) + plain[e:]
    tokens = term_tokens(plain)
    spans = matcher.spans(plain)
    hits = [(s, e) for s, e, _ in spans]
    near = _near(tokens, rel_start, rel_end, plain)
    # "OpenAI's executives spent the week pitching Sora to an industry bruised by the strikes
    # of last year": with two dates in a sentence, a topic word next to each says which
    # topic that date is the date of. One date keeps the whole sentence's topics.
    focused = frozenset(t for hs, he, t in spans if any(hs <= s and e <= he for s, e in near)) & topics
    if focused and len(all_in_sentence) > 1:
        topics = focused
    return EventMention(
        sentence_index=index,
        quote=make_quote(sentence.text, rel_start, rel_end),
        expression=tm.text,
        expr_start=tm.start,
        expr_end=tm.end,
        value=tm.value,
        mod=tm.mod,
        granularity=tm.granularity or "day",
        start=tm.interval[0],
        end=tm.interval[1],
        topics=topics,
        terms=frozenset(stem for _, stem, _, _ in tokens),
        summary=make_summary(sentence.text, rel_start, rel_end),
        fingerprint=fingerprint(tm.value, sentence.text),
        context_topics=from_context,
        names=frozenset(stem for word, stem, _, _ in tokens if word in names),
        keywords=frozenset(stem for _, stem, s, e in tokens if any(hs <= s and e <= he for hs, he in hits)),
        focus=frozenset(stem for _, stem, s, e in tokens if (s, e) in near),
    )


FOCUS_WORDS = 3


# After the date, "and has since held meetings" or ", showing clips" says something else.
_FOCUS_STOP = re.compile(r"\s(?:and|but|while|whereas)\s|[,;:]|\s[—–]\s")


def _near(tokens: list[tuple[str, str, int, int]], start: int, end: int, plain: str) -> set[tuple[int, int]]:
    """Offsets of the content words next to the expression: up to three before, three after."""
    before = [(s, e) for _, _, s, e in tokens if e <= start][-FOCUS_WORDS:]
    stop = _FOCUS_STOP.search(plain, end)
    limit = stop.start() if stop else len(plain)
    after = [(s, e) for _, _, s, e in tokens if end <= s < limit][:FOCUS_WORDS]
    return set(before + after)
