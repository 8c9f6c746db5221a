"""What a matched expression means before it is resolved against a date (rules -> resolver)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Sem"]


@dataclass(frozen=True, slots=True)
class Sem:
    """The unresolved meaning of one expression.

    kind:
      "cal"      calendar fields, some possibly unknown (year None: infer from context);
      "weekday"  a named weekday, with an optional explicit direction;
      "rel"      unit + offset from an anchor ("pub" = publication, "text" = latest
                 earlier date in the text), e.g. last year, two days later;
      "holiday"  a named holiday, year known or inferred;
      "ref"      PRESENT_REF / PAST_REF / FUTURE_REF;
      "duration" / "set": the value is final already.
    """

    kind: str
    type: str = "DATE"
    value: str | None = None
    mod: str | None = None
    # calendar fields ("cal")
    year: int | None = None
    month: int | None = None
    day: int | None = None
    quarter: int | None = None
    half: int | None = None
    season: str | None = None
    decade: int | None = None
    century: int | None = None
    # year relative to the anchor's year ("June last year" -> -1) when year is None
    year_rel: int | None = None
    # explicit direction for inference: "last" | "next" | "this" | None
    direction: str | None = None
    weekday: int | None = None
    holiday: str | None = None
    # "rel"
    unit: str | None = None
    offset: int | None = None
    anchor: str = "pub"
    # shift the offset by this much when the sentence is in the past tense ("the quarter")
    past_shift: int = 0
    # time of day: clock time or a TIMEX3 part of day (MO, AF, EV, NI)
    hour: int | None = None
    minute: int | None = None
    tod: str | None = None
    # "earlier this month" covers the period up to the anchor ("before"), "later" after it
    partial: str | None = None
    # "a year earlier": shift the period mentioned before at its own precision
    keep_precision: bool = False
