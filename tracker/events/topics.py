"""Match configured topics in text: case-insensitive keywords, phrases and trailing-* prefixes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tracker.config import Topic

__all__ = ["TopicMatcher", "fold", "keyword_pattern"]

# Word characters for boundaries: letters and digits; an apostrophe or hyphen ends a word,
# so "Hollywood's" and "pre-strike" still match.
_WORD = r"[^\W_]"


def fold(text: str) -> str:
    """Text as keywords are matched: Unicode full case folding, character by character.

    Matching folded text with patterns built from folded keywords is caseless matching as
    Unicode defines it, and several times faster than re.IGNORECASE. Folding maps each
    character on its own, so the fold of a slice is a slice of the fold: a keyword found
    in a sentence is found in the whole text, which TopicPrefilter relies on.
    """
    return text.casefold()


def keyword_pattern(keyword: str) -> str:
    """The regex for one keyword, to match folded text (see fold): a phrase as a phrase,
    `*` at the end for any word ending."""
    keyword = fold(keyword.strip())
    prefix = keyword.endswith("*")
    words = keyword.rstrip("*").split()
    parts = []
    for word in words:
        # Straight and curly apostrophes are the same letter to a reader.
        parts.append("".join("['’]" if c in "'’" else re.escape(c) for c in word))
    body = r"\s+".join(parts)
    head = rf"(?<!{_WORD})" if re.match(_WORD, keyword) else ""
    tail = rf"{_WORD}*" if prefix else (rf"(?!{_WORD})" if re.search(_WORD + "$", keyword.rstrip("*")) else "")
    return head + body + tail


class TopicMatcher:
    """Built once from the configured topics; `match` gives the topics a text is about."""

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._patterns: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
            (name, re.compile("|".join(f"(?:{keyword_pattern(k)})" for k in topic.keywords)))
            for name, topic in sorted(topics.items())
            if topic.keywords
        )
        self.names: frozenset[str] = frozenset(topics)

    def __bool__(self) -> bool:
        return bool(self.names)

    def match(self, text: str) -> frozenset[str]:
        """Names of the topics with at least one keyword in `text`."""
        folded = fold(text)
        return frozenset(name for name, pattern in self._patterns if pattern.search(folded))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Every keyword hit as (start, end, topic) in `text`, for highlighting and debugging."""
        folded = fold(text)
        hits = [(m.start(), m.end(), name) for name, pattern in self._patterns for m in pattern.finditer(folded)]
        if len(folded) != len(text):
            # A character folded to several ("ß" -> "ss"): offsets back into the original.
            origin = [i for i, c in enumerate(text) for _ in fold(c)] + [len(text)]
            hits = [(origin[s], origin[e - 1] + 1 if e > s else origin[s], name) for s, e, name in hits]
        return sorted(hits)
