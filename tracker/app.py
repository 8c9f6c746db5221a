"""The factory that wires config, clock, HTTP client and store into one Tracker."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
from sqlalchemy.orm import Session

from tracker.clock import Clock, system_clock, to_aware_utc
from tracker.config import Config, FeedConfig
from tracker.fetch import Fetcher
from tracker.events import EventMention, TopicMatcher, find_mentions
from tracker.store import Entry, Store
from tracker.store.merging import apply_mentions

log = logging.getLogger(__name__)

# Polls are I/O bound; more threads than this mostly queue on the SQLite write lock.
MAX_CONCURRENT_POLLS = 16


class Tracker:
    """Everything a command needs, built once; tests build it with their own clock and client."""

    def __init__(self, config: Config, *, clock: Clock, store: Store, fetcher: Fetcher) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self.matcher = TopicMatcher(config.topics)
        self.store.sync_feeds(config.feeds, clock())

    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feeds(self, names: Sequence[str] = ()) -> list[FeedConfig]:
        """The configured feeds, or the named ones (unknown names are a ConfigError)."""
        if not names:
            return list(self.config.feeds)
        return [self.config.feed(n) for n in names]

    def poll(self, names: Sequence[str] = (), *, workers: int = MAX_CONCURRENT_POLLS) -> list[PollResult]:
        """Poll the feeds now, concurrently; results in configuration order."""
        from tracker.poll import poll_feed

        feeds = self.feeds(names)
        if not feeds:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(feeds))), thread_name_prefix="poll") as pool:
            return list(pool.map(lambda f: poll_feed(self, f), feeds))

    def after_entries(self, session: Session, feed: FeedConfig, entries: Sequence[Entry], now: datetime) -> int:
        """Called inside a poll's transaction with the new and changed entries; returns events changed."""
        updates = []
        for entry in entries:
            try:
                mentions = self.mentions_of(feed, entry.title, entry.text, to_aware_utc(entry.published))
            except Exception:
                # A bug in extraction must not cost the entry itself: it is stored and
                # stays marked for extraction, so a later run can retry it.
                log.exception("%s: event extraction failed for %s", feed.name, entry.link or entry.key)
                continue
            updates.append((entry, mentions))
        return apply_mentions(session, updates, now).changed if updates else 0

    def after_poll(self, results: list[PollResult]) -> None:
        """The daemon calls this after polls that changed events: the digest step.

        Sends a digest when developments are pending and min_interval (or a pending
        digest's retry backoff) allows; delivery problems are recorded and logged, not raised.
        """
        if self.config.digest is None:
            return
        from tracker.digest import maybe_send

        maybe_send(self)

    def reconfigure(self, config: Config) -> None:
        """Switch to a reloaded config (daemon SIGHUP): rows for new feeds, derived state rebuilt."""
        self.store.sync_feeds(config.feeds, self.clock())
        self.matcher = TopicMatcher(config.topics)
        self.config = config

    def mentions_of(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """The event mentions of one article (pure: no database)."""
        return find_mentions(
            title=title, text=text, published=published, matcher=self.matcher, feed_topics=feed.topics
        )


def make_tracker(
    config: Config,
    *,
    clock: Clock = system_clock,
    http_client: httpx.Client | None = None,
    database_url: str | None = None,
) -> Tracker:
    """Build a Tracker: the one place where dependencies are chosen."""
    store = Store(database_url or config.database_url)
    fetcher = Fetcher(http_client, timeout=config.default_timeout.total_seconds(), base_dir=config.base_dir)
    return Tracker(config, clock=clock, store=store, fetcher=fetcher)


from tracker.poll import PollResult  # noqa: E402  (poll imports app only for typing)
