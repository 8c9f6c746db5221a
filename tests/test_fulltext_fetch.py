"""tracker.fulltext.PageFetcher on real loopback servers: robots.txt, private addresses,
HTML only, HTTP errors, size cap, timeouts, conditional GET, per-host limits and delays.

The test servers listen on loopback, which a page link may not reach by default: tests
of ordinary fetching pass allow_private_networks=True, and the address tests make
127.0.0.1 play a public host where they need one.
"""

from __future__ import annotations

import itertools
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer

import pytest

import tracker.fetch
from feedserver import FeedServer, Reply, Request, _make_handler
from tracker.errors import FeedGone, FetchError, PageError
from tracker.fetch import PAGE_ACCEPT, Fetcher, Validators
from tracker.fulltext import Page, PageFetcher, extract_page

ARTICLE = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Night buses return</title></head>
<body><nav><a href="/">Home</a> <a href="/traffic">Traffic</a></nav>
<article><h1>Night buses return</h1>
<p>Night buses will run again on the three busiest routes from the first weekend of May, the
transport authority said, after a winter in which the last service left the centre at midnight.</p>
<p>Drivers agreed to the new rota on Tuesday, ending a dispute over breaks that had kept the
night network closed since November, and the first buses will leave the central square at one.</p>
</article><footer>City Transport Weekly</footer></body></html>"""
HTML = "text/html; charset=utf-8"


class FakeClock:
    """A monotonic clock that only moves when slept on (or told to)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(round(seconds, 6))
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class FeedServerOn(FeedServer):
    """FeedServer on another loopback address than 127.0.0.1 (which FeedServer binds)."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self._server.server_close()
        self._server = ThreadingHTTPServer((host, 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=2, deadline=5) as own:
        yield own


def pages(fetcher: Fetcher, **options: object) -> PageFetcher:
    """A PageFetcher allowed to reach the loopback test servers, without delays unless asked."""
    settings: dict[str, object] = {"allow_private_networks": True, "min_delay": 0.0, **options}
    return PageFetcher(fetcher, **settings)  # type: ignore[arg-type]


def within(seconds: float, call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run `call` in a thread; (its exception or None, seconds taken). Fails past `seconds`,
    so a fetch that hangs fails the test instead of stalling the suite."""
    outcome: list[BaseException | None] = []
    started = time.monotonic()

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds}s"
    return outcome[0], time.monotonic() - started


def page_error(exc: BaseException | None) -> str:
    """The one-line message of a PageError."""
    assert isinstance(exc, PageError), repr(exc)
    message = str(exc)
    assert "\n" not in message and message == message.strip()
    return message


def refusal(call: Callable[[], object], seconds: float = 5.0) -> PageError:
    exc, _ = within(seconds, call)
    page_error(exc)
    assert isinstance(exc, PageError)
    return exc


# --- an ordinary page --------------------------------------------------------------------


def test_fetches_an_html_page_with_a_clear_user_agent(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/news/buses", Reply(body=ARTICLE, content_type=HTML, etag='"v1"'))
    page = pages(fetcher).fetch(url)
    assert page == Page(
        url=url, status=200, body=ARTICLE, content_type=HTML,
        validators=Validators(etag='"v1"'), elapsed=page.elapsed,
    )
    assert 0 < page.elapsed < 5
    [request] = feed_server.requests_to("/news/buses")
    assert request.headers["user-agent"] == fetcher.user_agent
    assert request.headers["user-agent"].startswith("tracker/")
    assert request.headers["accept"] == PAGE_ACCEPT == "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
    # robots.txt first (absent here: 404, everything allowed), with the same agent.
    assert [r.path for r in feed_server.requests] == ["/robots.txt", "/news/buses"]
    assert feed_server.requests[0].headers["user-agent"] == fetcher.user_agent
    assert "Night buses will run again" in extract_page(page.body or b"", url=page.url, content_type=page.content_type).text


def test_feeds_keep_their_accept_header(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.feed("/feed.xml", b"<rss/>")
    fetcher.fetch(url)
    assert feed_server.requests_to("/feed.xml")[0].headers["accept"].startswith("application/rss+xml")


def test_xhtml_is_html(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/x", Reply(body=ARTICLE, content_type="application/xhtml+xml"))
    assert pages(fetcher).fetch(url).body == ARTICLE


def test_final_url_after_redirects(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.route("/story-2", Reply(body=ARTICLE, content_type=HTML))
    link = feed_server.redirect("/s/2", "/story-2", 301)
    assert pages(fetcher).fetch(link).url == feed_server.url("/story-2")


def test_conditional_get_answers_304_without_a_body(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route(
        "/a", Reply(body=ARTICLE, content_type=HTML, etag='"rev-7"', last_modified="Tue, 04 Mar 2025 10:00:00 GMT")
    )
    polite = pages(fetcher)
    first = polite.fetch(url)
    second = polite.fetch(url, first.validators)
    assert second.status == 304
    assert second.body is None
    assert second.validators == first.validators == Validators('"rev-7"', "Tue, 04 Mar 2025 10:00:00 GMT")
    conditional = feed_server.requests_to("/a")[1].headers
    assert conditional["if-none-match"] == '"rev-7"'
    assert conditional["if-modified-since"] == "Tue, 04 Mar 2025 10:00:00 GMT"
    assert "if-none-match" not in feed_server.requests_to("/a")[0].headers


def test_changed_page_answers_200_with_the_new_validators(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML, etag='"one"'))
    polite = pages(fetcher)
    first = polite.fetch(url)
    feed_server.route("/a", Reply(body=ARTICLE + b"<!-- edited -->", content_type=HTML, etag='"two"'))
    second = polite.fetch(url, first.validators)
    assert (second.status, second.validators.etag) == (200, '"two"')
    assert second.body is not None and second.body.endswith(b"<!-- edited -->")


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    ["ftp://example.com/a.html", "file:///etc/passwd", "javascript:alert(1)", "mailto:desk@example.com", "/news/a", ""],
)
def test_only_http_and_https_links(link: str, fetcher: Fetcher) -> None:
    exc = refusal(lambda: pages(fetcher).fetch(link))
    assert "only http and https" in str(exc)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/pdf", b"%PDF-1.7\n"), ("image/png", b"\x89PNG\r\n\x1a\n"), ("text/plain; charset=utf-8", b"hello")],
)
def test_non_html_is_refused_naming_its_type_before_the_body_is_read(
    feed_server: FeedServer, fetcher: Fetcher, content_type: str, body: bytes
) -> None:
    # An endless body: only a refusal on the headers alone ends quickly.
    url = feed_server.route("/file", Reply(content_type=content_type, stream=lambda: itertools.repeat(body)))
    exc = refusal(lambda: pages(fetcher).fetch(url), seconds=3)
    assert str(exc) == f"not an HTML page ({content_type.split(';')[0]}): {url}"


def test_page_without_content_type_is_judged_by_its_start(feed_server: FeedServer, fetcher: Fetcher) -> None:
    html = feed_server.route("/untyped", Reply(body=b"\n  " + ARTICLE, content_type=None))
    pdf = feed_server.route("/untyped.pdf", Reply(body=b"%PDF-1.7\n%\xe2\xe3", content_type=None))
    polite = pages(fetcher)
    assert polite.fetch(html).body == b"\n  " + ARTICLE
    assert str(refusal(lambda: polite.fetch(pdf))) == f"not an HTML page (no content type): {pdf}"


def test_404_after_200(feed_server: FeedServer, fetcher: Fetcher) -> None:
    answers = iter([Reply(body=ARTICLE, content_type=HTML), Reply(status=404, body=b"gone", content_type="text/html")])
    url = feed_server.route("/moving", lambda request: next(answers))
    polite = pages(fetcher)
    assert polite.fetch(url).status == 200
    exc = refusal(lambda: polite.fetch(url))
    assert str(exc) == "HTTP 404 Not Found"
    assert exc.status == 404


def test_410_is_a_page_error_not_a_gone_feed(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/removed", Reply(status=410, body=b"", content_type="text/html"))
    exc = refusal(lambda: pages(fetcher).fetch(url))
    assert not isinstance(exc, FeedGone)
    assert isinstance(exc, FetchError)
    assert exc.status == 410
    assert str(exc) == f"HTTP 410 Gone: {url}"


def test_server_errors_keep_their_status_and_retry_after(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/busy", Reply(status=503, headers={"Retry-After": "120"}, content_type="text/html"))
    exc = refusal(lambda: pages(fetcher).fetch(url))
    assert (exc.status, exc.retry_after) == (503, 120.0)
    assert str(exc) == "HTTP 503 Service Unavailable (retry after 120s)"


# --- size and time --------------------------------------------------------------------------


def test_ten_megabyte_page_is_refused_by_its_declared_length(feed_server: FeedServer) -> None:
    url = feed_server.route("/huge", Reply(body=b"<p>" + b"x" * (10 * 2**20), content_type=HTML))
    with Fetcher(timeout=2, deadline=5, max_bytes=2**20) as small:
        exc = refusal(lambda: pages(small).fetch(url))
    assert str(exc) == f"response larger than 1 MiB from {url}"


def test_ten_megabyte_stream_is_cut_at_the_cap_in_bounded_memory(feed_server: FeedServer) -> None:
    chunk = b"<p>" + b"y" * (64 * 1024 - 7) + b"</p>\n"
    url = feed_server.route("/endless", Reply(content_type=HTML, stream=lambda: itertools.repeat(chunk, 160)))
    with Fetcher(timeout=2, deadline=5, max_bytes=2**20) as small:
        polite = pages(small)
        tracemalloc.start()
        try:
            exc, _ = within(5, lambda: polite.fetch(url))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert page_error(exc) == f"response larger than 1 MiB from {url}"
    assert peak < 3 * 2**20


def test_default_cap_is_the_feeds_cap(fetcher: Fetcher) -> None:
    assert fetcher.max_bytes == 15 * 2**20


def test_slow_page_times_out(feed_server: FeedServer) -> None:
    url = feed_server.route("/slow", Reply(body=ARTICLE, content_type=HTML, delay=10))
    with Fetcher(timeout=0.5, deadline=5) as quick:
        exc, took = within(3, lambda: pages(quick).fetch(url))
    assert page_error(exc) == f"timed out after 0.5s waiting for {url.split('/')[2].split(':')[0]}"
    assert took < 2


def test_trickling_page_stops_at_the_deadline(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/trickle", Reply(content_type=HTML, stream=lambda: itertools.repeat(b"<p>a</p>"), chunk_delay=0.1))
    exc, took = within(4, lambda: pages(fetcher).fetch(url, deadline=1.0))
    assert "(deadline)" in page_error(exc)
    assert took < 1.6


def test_a_slow_robots_txt_counts_against_the_deadline(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.route("/robots.txt", Reply(body=b"", content_type="text/plain", delay=10))
    url = feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML))
    exc, took = within(4, lambda: pages(fetcher).fetch(url, deadline=1.0))
    assert page_error(exc).startswith("robots.txt of http://127.0.0.1:")
    assert took < 1.6
    assert feed_server.requests_to("/a") == []


# --- robots.txt ----------------------------------------------------------------------------------


def test_robots_txt_disallows_and_is_fetched_once(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.route(
        "/robots.txt",
        Reply(body=b"User-agent: *\nDisallow: /members/\nDisallow: /search\n", content_type="text/plain"),
    )
    first = feed_server.route("/members/one.html", Reply(body=ARTICLE, content_type=HTML))
    second = feed_server.route("/members/two.html", Reply(body=ARTICLE, content_type=HTML))
    allowed = feed_server.route("/news/three.html", Reply(body=ARTICLE, content_type=HTML))
    polite = pages(fetcher)
    origin = feed_server.base_url
    assert str(refusal(lambda: polite.fetch(first))) == f"robots.txt of {origin} disallows {first}"
    assert str(refusal(lambda: polite.fetch(second))) == f"robots.txt of {origin} disallows {second}"
    assert polite.fetch(allowed).status == 200
    assert len(feed_server.requests_to("/robots.txt")) == 1
    assert feed_server.requests_to("/members/one.html") == feed_server.requests_to("/members/two.html") == []
    assert feed_server.requests_to("/robots.txt")[0].headers["accept"].startswith("text/plain")


def test_robots_txt_rules_for_our_user_agent(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.route(
        "/robots.txt",
        Reply(body=b"User-agent: othercrawler\nDisallow:\n\nUser-agent: tracker\nDisallow: /\n", content_type="text/plain"),
    )
    url = feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML))
    assert "disallows" in str(refusal(lambda: pages(fetcher).fetch(url)))


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (410, True), (401, False), (403, False)])
def test_robots_txt_status_conventions(feed_server: FeedServer, fetcher: Fetcher, status: int, allowed: bool) -> None:
    feed_server.route("/robots.txt", Reply(status=status, body=b"nope", content_type="text/plain"))
    url = feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML))
    polite = pages(fetcher)
    if allowed:
        assert polite.fetch(url).status == 200
    else:
        assert str(refusal(lambda: polite.fetch(url))).endswith(f"(robots.txt answered HTTP {status})")
        refusal(lambda: polite.fetch(url))
    if allowed:
        polite.fetch(url)
    assert len(feed_server.requests_to("/robots.txt")) == 1


def test_unreachable_robots_txt_disallows_for_five_minutes_only(feed_server: FeedServer, fetcher: Fetcher) -> None:
    clock = FakeClock()
    feed_server.route("/robots.txt", Reply(status=503, body=b"down", content_type="text/plain"))
    url = feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML))
    polite = pages(fetcher, robots_ttl=3600, sleep=clock.sleep, monotonic=clock.monotonic)
    assert str(refusal(lambda: polite.fetch(url))).endswith("(robots.txt HTTP 503)")
    clock.advance(200)
    refusal(lambda: polite.fetch(url))
    assert len(feed_server.requests_to("/robots.txt")) == 1
    feed_server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private\n", content_type="text/plain"))
    clock.advance(101)
    assert polite.fetch(url).status == 200
    assert len(feed_server.requests_to("/robots.txt")) == 2


def test_robots_txt_is_kept_for_its_lifetime(feed_server: FeedServer, fetcher: Fetcher) -> None:
    clock = FakeClock()
    url = feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML))
    polite = pages(fetcher, robots_ttl=3600, sleep=clock.sleep, monotonic=clock.monotonic)
    polite.fetch(url)
    feed_server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    clock.advance(3599)
    assert polite.fetch(url).status == 200
    clock.advance(2)
    assert "disallows" in str(refusal(lambda: polite.fetch(url)))
    assert len(feed_server.requests_to("/robots.txt")) == 2


def test_huge_robots_txt_is_cut_at_500_kib(feed_server: FeedServer, fetcher: Fetcher) -> None:
    filler = b"".join(b"# line %06d of a very long robots file\n" % i for i in range(16_000))
    assert 500 * 1024 < len(filler) < 700 * 1024
    body = b"User-agent: *\nDisallow: /early/\n" + filler + b"Disallow: /late/\n"
    feed_server.route("/robots.txt", Reply(body=body, content_type="text/plain"))
    early = feed_server.route("/early/a", Reply(body=ARTICLE, content_type=HTML))
    late = feed_server.route("/late/a", Reply(body=ARTICLE, content_type=HTML))
    polite = pages(fetcher)
    assert "disallows" in str(refusal(lambda: polite.fetch(early)))
    assert polite.fetch(late).status == 200


def test_robots_txt_is_fetched_once_by_threads_that_arrive_together(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /x\n", content_type="text/plain", delay=0.3))
    urls = [feed_server.route(f"/p{i}", Reply(body=ARTICLE, content_type=HTML)) for i in range(4)]
    polite = pages(fetcher, per_host=4)
    results = run_together([lambda u=u: polite.fetch(u) for u in urls])
    assert all(isinstance(r, Page) and r.status == 200 for r in results)
    assert len(feed_server.requests_to("/robots.txt")) == 1


# --- private addresses -------------------------------------------------------------------------


@pytest.fixture
def loopback_plays_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 (the test server) counts as a public address; every other private one stays private."""
    judged = tracker.fetch._is_private_address
    monkeypatch.setattr(tracker.fetch, "_is_private_address", lambda address: address != "127.0.0.1" and judged(address))


@pytest.fixture
def inside() -> Iterator[FeedServer]:
    """A server on 127.0.0.2: a private address, as an internal service would have."""
    with FeedServerOn("127.0.0.2") as server:
        server.route("/admin", Reply(body=ARTICLE, content_type=HTML))
        yield server


def test_redirect_to_127_0_0_2_is_refused_by_default(
    loopback_plays_public: None, feed_server: FeedServer, inside: FeedServer, fetcher: Fetcher
) -> None:
    link = feed_server.redirect("/story", inside.url("/admin"), 302)
    exc = refusal(lambda: PageFetcher(fetcher, min_delay=0).fetch(link))
    assert str(exc) == "refused redirect to private address 127.0.0.2: set allow_private_networks: true to allow"
    assert inside.requests == []
    assert inside.connections == 0
    # The link's own host was asked: robots.txt, then the link.
    assert [r.path for r in feed_server.requests] == ["/robots.txt", "/story"]


def test_redirect_to_127_0_0_2_is_followed_with_allow_private_networks(
    loopback_plays_public: None, feed_server: FeedServer, inside: FeedServer, fetcher: Fetcher
) -> None:
    link = feed_server.redirect("/story", inside.url("/admin"), 302)
    page = PageFetcher(fetcher, min_delay=0, allow_private_networks=True).fetch(link)
    assert (page.url, page.body) == (inside.url("/admin"), ARTICLE)


def test_the_fetchers_own_setting_does_not_open_private_networks_to_pages(
    loopback_plays_public: None, feed_server: FeedServer, inside: FeedServer
) -> None:
    link = feed_server.redirect("/story", inside.url("/admin"), 302)
    with Fetcher(timeout=2, deadline=5, allow_private_networks=True) as open_fetcher:
        refusal(lambda: PageFetcher(open_fetcher, min_delay=0).fetch(link))
    assert inside.requests == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_link_to_a_private_host_is_refused_without_a_request(feed_server: FeedServer, fetcher: Fetcher, host: str) -> None:
    feed_server.route("/a", Reply(body=ARTICLE, content_type=HTML))
    link = feed_server.url("/a").replace("127.0.0.1", host)
    exc = refusal(lambda: PageFetcher(fetcher, min_delay=0).fetch(link))
    assert str(exc).startswith("refused private address ")
    assert str(exc).endswith(": set allow_private_networks: true to allow")
    assert feed_server.requests == []
    assert feed_server.connections == 0
    # The same link with private networks allowed.
    assert PageFetcher(fetcher, min_delay=0, allow_private_networks=True).fetch(link).body == ARTICLE


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "169.254.169.254", "[::1]", "[fe80::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "192.168.0.1"]
)
def test_links_to_private_addresses_are_refused_before_connecting(fetcher: Fetcher, address: str) -> None:
    exc = refusal(lambda: PageFetcher(fetcher, min_delay=0).fetch(f"http://{address}/latest/meta-data/"), seconds=3)
    assert str(exc) == (
        f"refused private address {address.strip('[]')}: set allow_private_networks: true to allow"
    )


# --- politeness ------------------------------------------------------------------------------


def run_together(calls: list[Callable[[], object]], seconds: float = 20) -> list[object]:
    """Run `calls` in threads started at once; their results (or exceptions), in order."""
    results: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds)
        assert not thread.is_alive()
    return results


class Tally:
    """A route that holds each request `hold` seconds and records, per host header, how
    many were in progress at once and when each started (server clock)."""

    def __init__(self, hold: float, body: bytes = ARTICLE, content_type: str = HTML) -> None:
        self.hold = hold
        self.body = body
        self.content_type = content_type
        self.active: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.in_progress = 0
        self.peak = 0  # the most requests in progress at once, all hosts together
        self.starts: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        host = request.headers.get("host", "").rsplit(":", 1)[0]
        with self._lock:
            self.starts.append(time.monotonic())
            self.active[host] = self.active.get(host, 0) + 1
            self.most[host] = max(self.most.get(host, 0), self.active[host])
            self.in_progress += 1
            self.peak = max(self.peak, self.in_progress)
        time.sleep(self.hold)
        with self._lock:
            self.active[host] -= 1
            self.in_progress -= 1
        return Reply(body=self.body, content_type=self.content_type)


def test_at_most_two_requests_at_once_per_host(feed_server: FeedServer, fetcher: Fetcher) -> None:
    tally = Tally(hold=0.2)
    # robots.txt too takes one of the two slots (its HTML body holds no rules).
    feed_server.route("/robots.txt", tally)
    urls = [feed_server.route(f"/story/{i}", tally) for i in range(8)]
    polite = pages(fetcher, per_host=2)
    results = run_together([lambda u=u: polite.fetch(u) for u in urls])
    assert all(isinstance(r, Page) for r in results), results
    # Two at once, never more; and not one at a time either.
    assert tally.most == {"127.0.0.1": 2}


def test_the_limit_is_per_host(feed_server: FeedServer, fetcher: Fetcher) -> None:
    # Two host names for one server: each has its own single slot.
    tally = Tally(hold=0.3)
    urls = [feed_server.route(f"/story/{i}", tally) for i in range(3)]
    other = [u.replace("127.0.0.1", "localhost") for u in urls]
    polite = pages(fetcher, per_host=1)
    results = run_together([lambda u=u: polite.fetch(u) for u in urls + other])
    assert all(isinstance(r, Page) for r in results), results
    assert tally.most == {"127.0.0.1": 1, "localhost": 1}
    # The two hosts were served side by side.
    assert tally.peak == 2


def test_minimum_delay_between_request_starts_to_one_host(feed_server: FeedServer, fetcher: Fetcher) -> None:
    tally = Tally(hold=0.0)
    feed_server.route("/robots.txt", tally)
    urls = [feed_server.route(f"/story/{i}", tally) for i in range(4)]
    polite = pages(fetcher, per_host=4, min_delay=0.3)
    results = run_together([lambda u=u: polite.fetch(u) for u in urls])
    assert all(isinstance(r, Page) for r in results), results
    starts = sorted(tally.starts)
    assert len(starts) == 5  # robots.txt and four pages
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) > 0.25, gaps


def test_delays_are_slept_on_the_injected_clock(feed_server: FeedServer, fetcher: Fetcher) -> None:
    clock = FakeClock()
    urls = [feed_server.route(f"/story/{i}", Reply(body=ARTICLE, content_type=HTML)) for i in range(3)]
    polite = pages(fetcher, min_delay=1.5, sleep=clock.sleep, monotonic=clock.monotonic)
    for url in urls:
        polite.fetch(url)
    # robots.txt at once, then each page 1.5 s after the previous start.
    assert clock.sleeps == [1.5, 1.5, 1.5]
    clock.advance(10)
    polite.fetch(urls[0])
    assert clock.sleeps == [1.5, 1.5, 1.5]


def test_crawl_delay_of_robots_txt_is_honoured(feed_server: FeedServer, fetcher: Fetcher) -> None:
    clock = FakeClock()
    feed_server.route("/robots.txt", Reply(body=b"User-agent: *\nCrawl-delay: 4\n", content_type="text/plain"))
    urls = [feed_server.route(f"/story/{i}", Reply(body=ARTICLE, content_type=HTML)) for i in range(3)]
    polite = pages(fetcher, min_delay=1.0, sleep=clock.sleep, monotonic=clock.monotonic)
    for url in urls:
        polite.fetch(url)
    # robots.txt itself waits for no Crawl-delay (unknown then): 1 s; then 4 s apart.
    assert clock.sleeps == [1.0, 4.0, 4.0]


def test_a_turn_after_the_deadline_is_refused_at_once(feed_server: FeedServer, fetcher: Fetcher) -> None:
    clock = FakeClock()
    urls = [feed_server.route(f"/story/{i}", Reply(body=ARTICLE, content_type=HTML)) for i in range(2)]
    polite = pages(fetcher, min_delay=30, sleep=clock.sleep, monotonic=clock.monotonic)
    polite.fetch(urls[0], deadline=60)
    exc = refusal(lambda: polite.fetch(urls[1], deadline=10))
    assert "after the deadline" in str(exc)
    assert clock.sleeps == [30.0]
    assert feed_server.requests_to("/story/1") == []


def test_per_host_must_be_positive(fetcher: Fetcher) -> None:
    with pytest.raises(ValueError, match="per_host"):
        PageFetcher(fetcher, per_host=0)
