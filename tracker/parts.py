"""The parts a poll works with, wired once: config, clock, store, fetchers, worker processes, extraction."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from tracker.clock import Clock
from tracker.config import Config, FeedConfig
from tracker.events import EventMention, TopicMatcher
from tracker.extraction import (
    Article,
    ExtractFn,
    Extracted,
    TopicPrefilter,
    extract_articles,
    extract_mentions,
)
from tracker.fetch import Fetcher
from tracker.fulltext import PageFetcher
from tracker.store import Store
from tracker.workers import Job, LoneWorker, WorkerCrashed, WorkerPool, WorkersUnavailable

log = logging.getLogger(__name__)

# New and changed articles read (extracted and merged) per feed and poll, newest first; the
# rest are stored at once and read by the next polls. Bounds a poll of a feed with a huge
# archive (50,000 entries) in time and memory; real feeds carry far fewer.
ARTICLES_PER_POLL = 1000
# Articles per worker task: enough to amortize pickling, few enough to spread the work.
ARTICLES_PER_TASK = 25
# Articles extracted one by one in a fresh process after a crash: past this many crashes
# the remaining ones are left for a later run (each crash costs a process start).
CRASHES_PER_BATCH = 3


class Parts:
    """Everything the pipeline's stages (poll, pages, merge_step, digest) work with.

    Built once by app.make_tracker; the stages take it as their first argument and never
    import the app, so a poll reads one way: fetch -> parse -> extract -> store and merge.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock,
        store: Store,
        fetcher: Fetcher,
        page_fetcher: PageFetcher | None = None,
        processes: int | None = None,
        prefilter: bool = True,
        extract: ExtractFn = extract_mentions,
        articles_per_poll: int | None = None,
    ) -> None:
        """`processes`: worker processes for parsing and extraction in a poll of many feeds
        (None: one per core when there are two or more; 0: never). `prefilter`: skip the
        tagger for articles that name no topic keyword (results are the same either way).
        `extract`: the mentions of one article, extract_mentions (tests give their own; it
        must be a module-level function, as worker processes import it by name).
        `articles_per_poll`: new articles read per feed and poll, the rest left for the next
        (None: ARTICLES_PER_POLL)."""
        self.config = config
        self.articles_per_poll = articles_per_poll if articles_per_poll is not None else ARTICLES_PER_POLL
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self.page_fetcher = page_fetcher if page_fetcher is not None else page_fetcher_for(fetcher, config)
        self.extract = extract
        self.matcher = TopicMatcher(config.topics)
        self.use_prefilter = prefilter
        self.prefilter = TopicPrefilter(config.topics)
        cores = os.cpu_count() or 1
        self.processes = processes if processes is not None else (cores if cores >= 2 else 0)
        self.workers = WorkerPool(self.processes)

    @property
    def _pool(self) -> ProcessPoolExecutor | None:
        # What tests and benches look at: the worker processes, if started.
        return self.workers.executor

    def close(self) -> None:
        self.close_pool()
        self.fetcher.close()
        self.store.close()

    def close_pool(self) -> None:
        """Stop the worker processes (if started); a later poll starts them again."""
        self.workers.close()

    def feeds(self, names: Sequence[str] = ()) -> list[FeedConfig]:
        """The configured feeds, or the named ones, each once (unknown names are a ConfigError)."""
        if not names:
            return list(self.config.feeds)
        return [self.config.feed(n) for n in dict.fromkeys(names)]

    def use_config(self, config: Config) -> None:
        """Derived state for a reloaded config (the daemon's SIGHUP)."""
        self.matcher = TopicMatcher(config.topics)
        # The prefilter must know new keywords too, or it would skip their articles.
        self.prefilter = TopicPrefilter(config.topics)
        if (config.pages, config.allow_private_networks) != (self.config.pages, self.config.allow_private_networks):
            self.page_fetcher = page_fetcher_for(self.fetcher, config)
        self.config = config

    # -- extraction ------------------------------------------------------------------------

    def screened_mentions(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """mentions_of, skipping the tagger for articles the topic prefilter rules out."""
        if self.use_prefilter and not self.prefilter.could_mention(title, text, feed.topics):
            return []
        return self.mentions_of(feed, title, text, published)

    def mentions_of(self, feed: FeedConfig, title: str, text: str, published: datetime) -> list[EventMention]:
        """The event mentions of one article (pure: no database)."""
        return self.extract(self.matcher, feed, title, text, published)

    def task_args(self) -> tuple[TopicMatcher, TopicPrefilter | None, ExtractFn]:
        """What a worker task needs to extract as this tracker does."""
        return self.matcher, (self.prefilter if self.use_prefilter else None), self.extract

    def extract_articles(self, items: Sequence[tuple[FeedConfig, Article]], *, use_workers: bool) -> list[Extracted]:
        """Each article's mentions or error, in order; never raises for one article.

        In worker processes (several tasks at once) when `use_workers`, else in this thread.
        The articles of a task that a worker crash took down are extracted again in a
        process of their own (extract_alone), so the article at fault costs only itself.
        """
        args = self.task_args()
        if not use_workers or self.processes <= 0:
            return extract_articles(items, *args)
        parts = [items[i : i + ARTICLES_PER_TASK] for i in range(0, len(items), ARTICLES_PER_TASK)]
        jobs: list[Job[list[Extracted]] | None] = []
        for part in parts:
            try:
                jobs.append(self.workers.submit(extract_articles, part, *args))
            except WorkersUnavailable:
                jobs.append(None)
        out: list[Extracted] = []
        for part, job in zip(parts, jobs):
            if job is None:
                out.extend(extract_articles(part, *args))
                continue
            try:
                results: list[Extracted] = self.workers.result(job)
                out.extend(results)
            except WorkersUnavailable:
                out.extend(extract_articles(part, *args))
            except WorkerCrashed:
                with self.workers.alone() as worker:
                    out.extend(self.extract_alone(worker, part))
        return out

    def extract_alone(
        self, worker: LoneWorker, items: Sequence[tuple[FeedConfig, Article]], *, whole_first: bool = True
    ) -> list[Extracted]:
        """Suspects of a worker crash, in `worker` and never in this process (an article that
        kills a worker would kill the tracker): all in one task (most are bystanders of
        another task's crash), then if that dies too (or not `whole_first`) one article per
        task. The ones left after CRASHES_PER_BATCH crashes stay pending with an error."""
        args = self.task_args()
        if whole_first and len(items) > 1:
            try:
                whole: list[Extracted] = worker.run(extract_articles, items, *args)
                return whole
            except WorkerCrashed:
                pass
            except WorkersUnavailable as exc:
                return [Extracted(a.content_hash, error=f"no worker process to extract it alone: {exc}") for _, a in items]
        out: list[Extracted] = []
        crashes = 0
        for feed, article in items:
            if crashes >= CRASHES_PER_BATCH:
                out.append(Extracted(article.content_hash, error=f"left for later: {crashes} worker processes died on its batch"))
                continue
            try:
                out.append(worker.run(extract_articles, [(feed, article)], *args)[0])
            except WorkerCrashed:
                # Logged with the feed's other failures when the batch is merged.
                crashes += 1
                out.append(Extracted(article.content_hash, error="its worker process died (killed, or out of memory)"))
            except WorkersUnavailable as exc:
                out.append(Extracted(article.content_hash, error=f"no worker process to extract it alone: {exc}"))
        return out


def page_fetcher_for(fetcher: Fetcher, config: Config) -> PageFetcher:
    """Article pages go through the feeds' fetcher (its limits and client), politely."""
    return PageFetcher(
        fetcher,
        per_host=config.pages.per_host,
        min_delay=config.pages.delay.total_seconds(),
        allow_private_networks=config.allow_private_networks,
    )
