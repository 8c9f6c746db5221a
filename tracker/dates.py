"""Small date helpers shared by the CLI: partial ISO dates as the first or last day."""

from __future__ import annotations

import calendar
import re
from datetime import date

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_cli_date(text: str, *, end: bool = False) -> date:
    """'2024-03-25', '2024-03' or '2024' as a date; a partial date is its first (or last) day."""
    m = _PARTIAL.match(text.strip())
    if not m:
        raise ValueError(text)
    year = int(m.group(1))
    if m.group(2) is None:
        return date(year, 12, 31) if end else date(year, 1, 1)
    month = int(m.group(2))
    if m.group(3) is None:
        if not 1 <= month <= 12:
            raise ValueError(text)
        return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
    return date(year, month, int(m.group(3)))
