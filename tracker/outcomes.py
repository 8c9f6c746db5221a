"""What a poll and a merge did, per feed: the values the pipeline's stages hand each other and report."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from tracker._terminal import one_line_cut

# Error texts quoted in a poll's warning line are cut to this length.
NOTE_CHARS = 200


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did, for the one-line summary and the scheduler."""

    feed: str
    status: str  # ok | not-modified | error | gone
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    warning: str | None = None
    duration: float = 0.0
    events_changed: int = 0
    next_due: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("error", "gone")

    def line(self) -> str:
        """The one-line summary `tracker poll` prints."""
        took = f"({self.duration:.1f}s)"
        if self.status == "ok":
            text = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"
            if self.events_changed:
                text += f", {self.events_changed} events changed"
            if self.warning:
                text += f"; warning: {self.warning}"
            return f"{self.feed}: ok, {text} {took}"
        if self.status == "not-modified":
            # Articles an earlier run left unextracted may still fail here.
            note = f"; warning: {self.warning}" if self.warning else ""
            return f"{self.feed}: not modified{note} {took}"
        return f"{self.feed}: {self.status}: {self.error} {took}"


@dataclass
class MergeOutcome:
    """What extracting and merging stored entries did, per feed: events changed, or the
    articles left pending (still marked for extraction) and why."""

    changed: dict[str, int] = field(default_factory=dict)
    # Events created, updated or deleted in all (an event counts once per transaction).
    events: int = 0
    # Entries done: merged, or found to have no mention.
    merged: int = 0
    unextracted: dict[str, list[str]] = field(default_factory=dict)
    unmerged: dict[str, list[str]] = field(default_factory=dict)

    def update(self, other: MergeOutcome) -> None:
        for name, count in other.changed.items():
            self.changed[name] = self.changed.get(name, 0) + count
        self.events += other.events
        self.merged += other.merged
        for mine, theirs in ((self.unextracted, other.unextracted), (self.unmerged, other.unmerged)):
            for name, errors in theirs.items():
                mine.setdefault(name, []).extend(errors)

    def not_extracted(self, feed: str, error: str) -> None:
        self.unextracted.setdefault(feed, []).append(error)

    def not_merged(self, feed: str, error: str) -> None:
        self.unmerged.setdefault(feed, []).append(error)

    @property
    def failed(self) -> int:
        """Entries left pending."""
        return sum(map(len, self.unextracted.values())) + sum(map(len, self.unmerged.values()))

    def warning(self, feed: str) -> str | None:
        """The feed's share of the failures, for its poll line (None: none)."""
        notes = []
        if errors := self.unextracted.get(feed):
            notes.append(f"{articles(len(errors))} not extracted: {_cut(errors[0])}")
        if errors := self.unmerged.get(feed):
            notes.append(f"events not merged for {articles(len(errors))}: {_cut(errors[0])}")
        return "; ".join(notes) or None

    def settle(self, result: PollResult) -> PollResult:
        """The result with its feed's share of the merge."""
        if result.status not in ("ok", "not-modified"):
            return result
        warning = "; ".join(filter(None, [result.warning, self.warning(result.feed)])) or None
        return replace(
            result, warning=warning, events_changed=result.events_changed + self.changed.get(result.feed, 0)
        )


def articles(n: int) -> str:
    return f"{n} article" if n == 1 else f"{n} articles"


def _cut(text: str) -> str:
    return one_line_cut(text, NOTE_CHARS)
