"""Temporal tagger: find TIMEX3 expressions in news text and resolve them to calendar periods."""

from ._extract import clauses, extract
from ._tense import Clause
from ._types import TemporalMention

__all__ = ["Clause", "TemporalMention", "clauses", "extract"]
