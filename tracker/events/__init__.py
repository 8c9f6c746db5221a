"""Pure event extraction: sentences, topic matching, dated mentions and merging into events."""

from __future__ import annotations

from tracker.events.merge import (
    KeyedMention,
    MentionDiff,
    MentionKey,
    MergedEvent,
    assign_ids,
    diff_mentions,
    merge,
    same_event,
    similarity,
)
from tracker.events.mentions import EventMention, Extractor, TemporalLike, find_mentions, is_calendar_mention
from tracker.events.sentences import Sentence, is_boilerplate, split_sentences
from tracker.events.topics import TopicMatcher

__all__ = [
    "EventMention",
    "Extractor",
    "KeyedMention",
    "MentionDiff",
    "MentionKey",
    "MergedEvent",
    "Sentence",
    "TemporalLike",
    "TopicMatcher",
    "assign_ids",
    "diff_mentions",
    "find_mentions",
    "is_boilerplate",
    "is_calendar_mention",
    "merge",
    "same_event",
    "similarity",
    "split_sentences",
]
