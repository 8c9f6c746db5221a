"""Full text of summary-only feed entries: whether a text is a teaser, polite fetching
of the article page, and its main text, title and date via trafilatura."""

from __future__ import annotations

from tracker.fulltext._extract import ExtractedPage, extract_page
from tracker.fulltext._pages import HTML_TYPES, Page, PageFetcher
from tracker.fulltext._truncation import looks_truncated

__all__ = ["HTML_TYPES", "ExtractedPage", "Page", "PageFetcher", "extract_page", "looks_truncated"]
