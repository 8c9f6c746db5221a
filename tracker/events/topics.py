"""Match configured topics in text: case-insensitive keywords, phrases and trailing-* prefixes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tracker.config import Topic

__all__ = ["TopicMatcher", "keyword_pattern"]

# Word characters for boundaries: letters and digits; an apostrophe or hyphen ends a word,
# so "Hollywood's" and "pre-strike" still match.
_WORD = r"[^\W_]"


def keyword_pattern(keyword: str) -> str:
    """The regex for one keyword: a phrase as a phrase, `*` at the end for any word ending."""
    keyword = keyword.strip()
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
            (name, re.compile("|".join(f"(?:{keyword_pattern(k)})" for k in topic.keywords), re.IGNORECASE))
            for name, topic in sorted(topics.items())
            if topic.keywords
        )
        self.names: frozenset[str] = frozenset(topics)

    def __bool__(self) -> bool:
        return bool(self.names)

    def match(self, text: str) -> frozenset[str]:
        """Names of the topics with at least one keyword in `text`."""
        return frozenset(name for name, pattern in self._patterns if pattern.search(text))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Every keyword hit as (start, end, topic), for highlighting and debugging."""
        return sorted(
            (m.start(), m.end(), name) for name, pattern in self._patterns for m in pattern.finditer(text)
        )
