"""The public result type of the temporal tagger: one TIMEX3-style mention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["TemporalMention"]


@dataclass(frozen=True, slots=True)
class TemporalMention:
    """A temporal expression found in a text, normalized against the publication date."""

    start: int
    end: int
    text: str
    type: str
    value: str
    mod: str | None = None
    granularity: str | None = None
    interval: tuple[date, date] | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of interface.md; keys whose value is None are omitted."""
        out: dict[str, object] = {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "type": self.type,
            "value": self.value,
        }
        if self.mod is not None:
            out["mod"] = self.mod
        if self.granularity is not None:
            out["granularity"] = self.granularity
        if self.interval is not None:
            out["interval"] = [self.interval[0].isoformat(), self.interval[1].isoformat()]
        return out
