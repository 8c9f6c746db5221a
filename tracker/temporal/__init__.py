"""Temporal tagger: find TIMEX3 expressions in news text and resolve them to calendar periods."""

from ._extract import extract
from ._types import TemporalMention

__all__ = ["TemporalMention", "extract"]
