"""Small date helpers shared by the CLI: partial ISO dates as the first or last day."""

from __future__ import annotations

import calendar
import re
from datetime import date

from tracker.errors import DateRangeError

_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")

# The dates the command line accepts. Python's calendar starts at year 1, but the timeline
# query reaches up to a century before --since (an event may span 100 years), which falls
# off the calendar there: OverflowError. Nothing on a news timeline lies before year 1000
# (the extractor reads four-digit years from 1000 on), so that is where dates begin.
FIRST_DATE = date(1000, 1, 1)
LAST_DATE = date(9999, 12, 31)


def parse_cli_date(text: str, *, end: bool = False) -> date:
    """'2024-03-25', '2024-03' or '2024' as a date; a partial date is its first (or last) day.

    ValueError when the text is not such a date; DateRangeError (a usage error, exit 2,
    not a ValueError) when it is one outside FIRST_DATE..LAST_DATE.
    """
    m = _PARTIAL.match(text.strip())
    if not m:
        raise ValueError(text)
    year = int(m.group(1))
    if m.group(2) is None:
        day = date(year, 12, 31) if end else date(year, 1, 1)
    else:
        month = int(m.group(2))
        if m.group(3) is None:
            if not 1 <= month <= 12:
                raise ValueError(text)
            day = date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        else:
            day = date(year, month, int(m.group(3)))
    if not FIRST_DATE <= day <= LAST_DATE:
        raise DateRangeError(
            f"{text.strip()!r} is outside the dates tracker reads ({FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()})"
        )
    return day
