"""Pure extraction of an article's event mentions, and the topic prefilter that skips hopeless articles."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tracker.config import FeedConfig, Topic
from tracker.events import EventMention, TopicMatcher, find_mentions
from tracker.events.topics import fold, keyword_pattern

# Error texts kept per article: an exception's text can quote a whole article.
ERROR_CHARS = 300

# The mentions of one article: (matcher, feed, title, text, published) -> mentions.
ExtractFn = Callable[[TopicMatcher, FeedConfig, str, str, datetime], list[EventMention]]


class TopicPrefilter:
    """A cheap test that an article cannot yield a mention, so the tagger can skip it.

    With topics configured, find_mentions keeps a sentence only when a keyword of an
    allowed topic occurs in it, its neighbours or the title, and sentences are slices of
    the text: no keyword anywhere in title and text means no mention. The patterns are the
    matcher's keyword patterns without their word-boundary lookarounds and word endings,
    run on the same folded text, so they match wherever the matcher's patterns match in
    any slice of the text.
    """

    def __init__(self, topics: Mapping[str, Topic]) -> None:
        self._active = bool(topics)
        self._patterns: dict[str, re.Pattern[str]] = {
            name: re.compile("|".join(f"(?:{_loose(k)})" for k in topic.keywords))
            for name, topic in topics.items()
            if topic.keywords
        }
        # One pass over the text for the usual case, a feed allowed every topic.
        self._any = re.compile("|".join(f"(?:{p.pattern})" for p in self._patterns.values())) if self._patterns else None

    def could_mention(self, title: str, text: str, feed_topics: Collection[str] | None) -> bool:
        """False only when find_mentions is certain to return nothing for this article."""
        if not self._active:
            # Without topics every dated sentence is a mention.
            return True
        folded_title, folded_text = fold(title), fold(text)
        if feed_topics is None:
            return self._any is not None and bool(self._any.search(folded_title) or self._any.search(folded_text))
        names = self._patterns.keys() & set(feed_topics)
        return any(self._patterns[n].search(folded_title) or self._patterns[n].search(folded_text) for n in names)


def _loose(keyword: str) -> str:
    # Only ever loosens the pattern: the boundary lookarounds and a trailing-* word ending
    # (which can match nothing) go, nothing else is touched.
    pattern = keyword_pattern(keyword).removeprefix(_NOT_AFTER_WORD)
    return pattern.removesuffix(_NOT_BEFORE_WORD).removesuffix(_ANY_ENDING)


_NOT_AFTER_WORD = r"(?<![^\W_])"
_NOT_BEFORE_WORD = r"(?![^\W_])"
_ANY_ENDING = r"[^\W_]*"


def extract_mentions(
    matcher: TopicMatcher, feed: FeedConfig, title: str, text: str, published: datetime
) -> list[EventMention]:
    """The event mentions of one article (pure); shared by the poller's worker processes."""
    return find_mentions(title=title, text=text, published=published, matcher=matcher, feed_topics=feed.topics)


@dataclass(frozen=True)
class Extracted:
    """An entry's mentions, found before the write transaction, for the content it had then."""

    content_hash: str
    mentions: tuple[EventMention, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Article:
    """What extraction needs of one entry, parsed or stored."""

    key: str
    title: str
    text: str
    # The entry's date, else when it was first seen: what the store gives it.
    published: datetime
    content_hash: str


def extract_articles(
    items: Sequence[tuple[FeedConfig, Article]],
    matcher: TopicMatcher,
    prefilter: TopicPrefilter | None,
    extract: ExtractFn,
) -> list[Extracted]:
    """Each article's mentions, or why there are none (pure; a worker task or in-thread).

    One article's failure, MemoryError and RecursionError included, is that article's
    error and never stops the others.
    """
    out = []
    for feed, article in items:
        if prefilter is not None and not prefilter.could_mention(article.title, article.text, feed.topics):
            out.append(Extracted(article.content_hash))
            continue
        try:
            mentions = extract(matcher, feed, article.title, article.text, article.published)
        except Exception as exc:  # noqa: BLE001 - recorded per entry: it stays pending
            out.append(Extracted(article.content_hash, error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]))
            continue
        out.append(Extracted(article.content_hash, tuple(mentions)))
    return out
