"""Polite, bounded fetching of article pages: robots.txt, per-host limits, HTML only."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from tracker.errors import FeedGone, FetchError, PageError
from tracker.fetch import (
    PAGE_ACCEPT,
    Fetcher,
    FetchResult,
    PrivateAddressRefused,
    UnexpectedContentType,
    Validators,
)
from tracker.fulltext._hosts import HostLimiter
from tracker.fulltext._robots import RobotRules, RobotsCache, rules_for_status, rules_from_body

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ROBOTS_ACCEPT = "text/plain,*/*;q=0.5"
# How far into a body without a Content-Type to look for the start of an HTML document.
_SNIFF = 1024


@dataclass(frozen=True)
class Page:
    """A fetched article page, or the news that it has not changed (status 304)."""

    url: str  # the final URL after redirects
    status: int  # 200 (or another 2xx), or 304 when the validators matched (then body is None)
    body: bytes | None
    content_type: str | None  # the Content-Type header as sent (charset included)
    validators: Validators  # for the next conditional GET
    elapsed: float  # seconds spent fetching the page itself (not waiting for a turn)


class PageFetcher:
    """Polite, bounded page fetching for full text. Thread-safe (the poller calls it
    from several threads).

    Per host name: at most `per_host` requests at once (robots.txt included) and at
    least `min_delay` seconds (or the host's robots.txt Crawl-delay, up to 30 s)
    between the starts of two requests. robots.txt is read once per origin and kept
    `robots_ttl` seconds. Links and redirects that reach private, loopback or
    link-local addresses are refused unless `allow_private_networks`.

    The politeness rules hold for the link's own host; a redirect to another host is
    followed within the same fetch (and its address vetted) without a turn of its own.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        per_host: int = 2,
        min_delay: float = 1.0,
        robots_ttl: float = 3600.0,
        allow_private_networks: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self.min_delay = min_delay
        self.allow_private_networks = allow_private_networks
        self._monotonic = monotonic
        self._hosts = HostLimiter(per_host, sleep, monotonic)
        self._robots = RobotsCache(robots_ttl, monotonic)

    def fetch(
        self,
        url: str,
        validators: Validators = Validators(),
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Page:
        """Fetch the article page at `url`, conditionally when `validators` are given.

        `timeout` bounds each network operation (the Fetcher's by default); `deadline`
        the whole call, waiting for a turn at the host and robots.txt included.

        Raises PageError with a one-line message for every refusal: scheme not
        http/https; robots.txt disallows; private/loopback/link-local address (the
        link's own host and any redirect) unless allow_private_networks; not HTML by
        content type; HTTP errors (410 included), size cap, timeouts.
        """
        started = self._monotonic()
        budget = deadline if deadline is not None else self._fetcher.deadline
        until = started + budget
        parts = urllib.parse.urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            shown = f"{scheme!r} " if scheme else ""
            raise PageError(f"refused {shown}link (only http and https pages are fetched): {_short(url) or '(empty)'}")
        host = (parts.hostname or "").lower()
        if not host:
            raise PageError(f"invalid link, no host: {_short(url)}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise PageError(f"invalid link, bad port: {_short(url)}") from exc
        origin = f"{scheme}://{_bracketed(host)}:{port}"
        agent = self._fetcher.user_agent

        rules = self._robots.get(
            origin,
            lambda: self._load_robots(origin, host, timeout, until),
            wait=until - self._monotonic(),
        )
        if not rules.allows(url, agent):
            why = f" ({rules.reason})" if rules.reason else ""
            raise PageError(f"robots.txt of {origin} disallows {_short(url)}{why}")

        delay = max(self.min_delay, rules.crawl_delay(agent))
        with self._hosts.slot(host, delay=delay, until=until):
            result = self._get(url, validators, timeout, until, accept=PAGE_ACCEPT, html_only=True)
        content_type = result.headers.get("content-type")
        if result.status != 304:
            _require_html(content_type, result.body or b"", url)
        return Page(
            url=result.url,
            status=result.status,
            body=result.body if result.status != 304 else None,
            content_type=content_type,
            validators=result.validators,
            elapsed=result.elapsed,
        )

    def _load_robots(self, origin: str, host: str, timeout: float | None, until: float) -> tuple[RobotRules, bool]:
        """Fetch and judge the robots.txt of `origin` (-> rules, lasting); runs at most
        once at a time per origin (RobotsCache)."""
        with self._hosts.slot(host, delay=self.min_delay, until=until):
            try:
                result = self._get(f"{origin}/robots.txt", Validators(), timeout, until, accept=_ROBOTS_ACCEPT)
            except PageError as exc:
                cause = exc.__cause__
                if isinstance(cause, PrivateAddressRefused) and not cause.redirect:
                    raise  # the page itself would be refused the same way: say so
                return rules_for_status(exc.status)
        return rules_from_body(result.body or b""), True

    def _get(
        self,
        url: str,
        validators: Validators,
        timeout: float | None,
        until: float,
        *,
        accept: str,
        html_only: bool = False,
    ) -> FetchResult:
        left = until - self._monotonic()
        if left <= 0:
            raise PageError(f"gave up before fetching {_short(url)}: the deadline has passed")
        try:
            return self._fetcher.fetch(
                url,
                validators,
                timeout=timeout,
                deadline=left,
                accept=accept,
                vet_origin=not self.allow_private_networks,
                allow_private_networks=self.allow_private_networks,
                content_types=HTML_TYPES if html_only else None,
            )
        except UnexpectedContentType as exc:
            raise PageError(f"not an HTML page ({exc.content_type}): {_short(url)}") from exc
        except FeedGone as exc:
            raise PageError(f"HTTP 410 Gone: {_short(url)}", status=410) from exc
        except FetchError as exc:
            raise PageError(_one_line(str(exc)), status=exc.status, retry_after=exc.retry_after) from exc


def _require_html(content_type: str | None, body: bytes, url: str) -> None:
    """PageError unless the page is HTML: by its declared type (Fetcher checked it before
    reading the body), or, when none was sent, by how the body starts."""
    if content_type:
        return
    head = body[:_SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<head" in head or b"<body" in head:
        return
    raise PageError(f"not an HTML page (no content type): {_short(url)}")


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short(url: str, limit: int = 300) -> str:
    """`url` for a message: on one line, without user:password@, not endless."""
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    url = _one_line(url)
    return url if len(url) <= limit else url[: limit - 1] + "…"
