"""Pure: whether a feed entry's text looks like a teaser of a longer article."""

from __future__ import annotations

import itertools
import re

# Fewer words than this and an entry is a summary, not an article: a news story runs to
# several hundred words, a lead paragraph to 30-80.
SHORT_WORDS = 120

# How much of the end of a text the endings are looked for in.
_TAIL = 600

# Chinese and Japanese run without spaces: two of their characters count as a word.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(f"[{_CJK}]{{1,2}}|[^\\W{_CJK}]+(?:[-'’][^\\W{_CJK}]+)*")
_SPACE = re.compile(r"\s+")

# "...", "…", "[…]", "[...]", "(…)", optionally closed by a quote: the feed cut the text.
_ELLIPSIS = re.compile(r"(?:\.\s?\.\s?\.|…)\s*[\])]?[\s\"'”’»›→]*$")

# A link line that points to the rest of the article, at the end of the last line: the
# phrase starts the line or a sentence (or sits in brackets), and at most a short tail
# follows ("Read more at The Example Times", "Continue reading The Title →"), so "who
# read more than twenty books" in a closing sentence is not one.
_LINK_PHRASES = (
    r"read\s+more",
    r"(?:continue|keep)\s+reading",
    r"read\s+(?:the\s+)?(?:full|whole|rest|complete|entire|original)\b",
    r"(?:full|whole|complete)\s+(?:story|article|post|text)",
    r"(?:click|tap)\s+here",
    r"more\s*(?:»|›|→|>>)",
    # A few other languages; the rule is general, the list is not meant to be.
    r"weiterlesen",
    r"mehr\s+lesen",
    r"lire\s+la\s+suite",
    r"leer\s+m[aá]s",
    r"seguir\s+leyendo",
    r"leggi\s+(?:tutto|di\s+pi[uù]|l'articolo)",
    r"lees\s+(?:meer|verder)",
    r"ler\s+mais",
    r"läs\s+mer",
    r"czytaj\s+dalej",
    r"подробнее",
    r"читать\s+далее",
    r"続きを読む",
)
_LINK_TAIL = re.compile(
    r"(?:^|[.!?…:|»›\]\)–—-]\s*|[\[(<]\s*)(?:" + "|".join(_LINK_PHRASES) + r")(?:[^\w\n][^\n]{0,100})?$",
    re.IGNORECASE,
)
# WordPress and Yoast: "The post <title> appeared first on <site>." - added under excerpts.
_APPEARED_FIRST = re.compile(
    r"^\s*the\s+(?:post|entry|article)\s+.{1,300}?\s+(?:appeared\s+first|first\s+appeared)\s+on\s+[^\n]{1,120}$",
    re.IGNORECASE,
)


def looks_truncated(text: str, *, title: str = "") -> bool:
    """Pure. True when a feed entry's plain text looks like a teaser: short (under ~120
    words), or ends in an ellipsis ('...', '…', '[…]', '[...]'), or ends with a 'Read
    more' / 'Continue reading' / 'Read the full story' style link line (a general rule,
    several languages not required); a WordPress 'The post X appeared first on Y' footer
    is looked past. Empty text -> True.

    `title`, when given, is not counted as words of the text when the text starts
    with it (some feeds repeat the headline in the summary). Deciding True costs one
    page fetch; deciding False loses the article's events, so doubtful cases are True.
    """
    body = text.strip()
    if not body:
        return True
    head = _SPACE.sub(" ", title).strip()
    skipped = 0
    if head and _SPACE.sub(" ", body[: len(head) * 2]).casefold().startswith(head.casefold()):
        skipped = len(_WORD.findall(head))
    # Counting stops once the text is known to be long enough.
    counted = sum(1 for _ in itertools.islice(_WORD.finditer(body), skipped + SHORT_WORDS))
    if counted - skipped < SHORT_WORDS:
        return True
    # Only the end matters: a huge text costs no more than a short one.
    tail = body[-_TAIL:]
    last_line = tail.rsplit("\n", 1)[-1].strip()
    if _APPEARED_FIRST.match(last_line) and "\n" in tail:
        # WordPress adds "The post X appeared first on Y" under excerpts and whole posts
        # alike: what comes before it tells which ("[…]" for an excerpt).
        tail = tail.rsplit("\n", 1)[0].rstrip()
        last_line = tail.rsplit("\n", 1)[-1].strip()
    elif _APPEARED_FIRST.match(last_line):
        return True
    if _LINK_TAIL.search(last_line):
        return True
    return bool(_ELLIPSIS.search(tail))
