"""Fetching against a real loopback HTTP server and real files: limits, redirects, conditional GET."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from feedserver import FeedServer, Reply, endless, gzip_bomb
from tracker import __version__
from tracker.errors import FeedGone, FetchError
from tracker.fetch import Fetcher, FetchResult, Validators, _max_age, _retry_after

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Sample</title><link>https://example.com/</link>
<item><title>One</title><link>https://example.com/1</link></item>
</channel></rss>"""
LAST_MODIFIED = "Sat, 23 Mar 2024 09:30:00 GMT"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One client for the module: building a TLS context per test costs 0.1 s each.
    with httpx.Client() as client:
        yield client


@pytest.fixture
def fetcher(http: httpx.Client) -> Iterator[Fetcher]:
    # Short limits keep the slow-server tests fast.
    with Fetcher(http, timeout=2.0, deadline=5.0) as f:
        yield f


def test_plain_get_returns_body_headers_and_validators(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.feed("/feed.xml", RSS, etag='"v1"', last_modified=LAST_MODIFIED)

    result = fetcher.fetch(url)

    assert result.status == 200
    assert not result.not_modified
    assert result.body == RSS
    assert result.url == url
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(key == key.lower() for key in result.headers)
    assert result.validators == Validators(etag='"v1"', last_modified=LAST_MODIFIED)
    assert result.permanent_redirect is None
    assert result.max_age is None
    assert 0 <= result.elapsed < 2
    # Relative links in the document resolve against where it was fetched from.
    assert result.headers["content-location"] == url


def test_user_agent_names_tracker_and_version(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.feed("/feed.xml", RSS)
    fetcher.fetch(url)
    (request,) = feed_server.requests_to("/feed.xml")
    assert f"tracker/{__version__}" in request.headers["user-agent"]
    assert "application/rss+xml" in request.headers["accept"]
    assert "gzip" in request.headers["accept-encoding"]
    assert "if-none-match" not in request.headers


def test_conditional_get_with_etag_answers_304(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.feed("/feed.xml", RSS, etag='"abc"')
    first = fetcher.fetch(url)

    second = fetcher.fetch(url, first.validators)

    assert second.status == 304
    assert second.not_modified
    assert second.body is None
    assert second.validators.etag == '"abc"'
    assert feed_server.requests_to("/feed.xml")[1].headers["if-none-match"] == '"abc"'


def test_conditional_get_with_last_modified_keeps_old_validators(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = feed_server.feed("/feed.xml", RSS, last_modified=LAST_MODIFIED)
    old = Validators(etag=None, last_modified=LAST_MODIFIED)

    result = fetcher.fetch(url, old)

    assert result.not_modified
    # The 304 carried no validators of its own; the ones we had still apply.
    assert result.validators == old
    assert feed_server.requests_to("/feed.xml")[0].headers["if-modified-since"] == LAST_MODIFIED


def test_changed_etag_gets_the_new_document(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.feed("/feed.xml", RSS, etag='"v2"')
    result = fetcher.fetch(url, Validators(etag='"v1"'))
    assert result.status == 200
    assert result.body == RSS
    assert result.validators.etag == '"v2"'


def test_permanent_redirect_is_reported(feed_server: FeedServer, fetcher: Fetcher) -> None:
    final = feed_server.feed("/new.xml", RSS)
    start = feed_server.redirect("/old.xml", "/new.xml", 301)

    result = fetcher.fetch(start)

    assert result.status == 200
    assert result.body == RSS
    assert result.url == final
    assert result.permanent_redirect == final
    assert result.redirects == ((301, final),)


def test_308_is_permanent_and_302_is_not(feed_server: FeedServer, fetcher: Fetcher) -> None:
    final = feed_server.feed("/new.xml", RSS)
    feed_server.redirect("/perm.xml", "/new.xml", 308)
    feed_server.redirect("/temp.xml", "/new.xml", 302)

    assert fetcher.fetch(feed_server.url("/perm.xml")).permanent_redirect == final
    temp = fetcher.fetch(feed_server.url("/temp.xml"))
    assert temp.url == final
    assert temp.permanent_redirect is None


def test_permanent_then_temporary_redirect_points_at_the_permanent_target(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    final = feed_server.feed("/today.xml", RSS)
    moved = feed_server.redirect("/moved.xml", "/today.xml", 302)
    feed_server.redirect("/old.xml", "/moved.xml", 301)

    result = fetcher.fetch(feed_server.url("/old.xml"))

    assert result.url == final
    assert result.permanent_redirect == moved


def test_ten_redirects_are_followed_eleven_are_not(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.feed("/r10", RSS)
    for i in range(10):
        feed_server.redirect(f"/r{i}", f"/r{i + 1}", 302)
    assert fetcher.fetch(feed_server.url("/r0")).body == RSS

    feed_server.redirect("/r10", "/r11", 302)
    feed_server.feed("/r11", RSS)
    with pytest.raises(FetchError, match="too many redirects"):
        fetcher.fetch(feed_server.url("/r0"))


def test_redirect_loop_stops_at_the_limit(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.redirect("/loop", "/loop", 302)
    with Fetcher(http, max_redirects=3, timeout=2, deadline=5) as fetcher:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            fetcher.fetch(feed_server.url("/loop"))
    assert len(feed_server.requests_to("/loop")) == 4


def test_redirect_to_a_local_file_is_refused(feed_server: FeedServer, fetcher: Fetcher, tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    feed_server.redirect("/sneaky", secret.as_uri(), 302)
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(feed_server.url("/sneaky"))
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


def test_redirect_without_location_is_an_error(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/bare", Reply(status=302, content_type=None))
    with pytest.raises(FetchError, match="HTTP 302 Found without a Location header"):
        fetcher.fetch(url)


def test_404_is_a_fetch_error_in_words(feed_server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(feed_server.url("/missing.xml"))
    assert str(caught.value) == "HTTP 404 Not Found"
    assert caught.value.status == 404
    assert caught.value.retry_after is None
    assert not isinstance(caught.value, FeedGone)


def test_410_means_gone(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/gone.xml", Reply(status=410, body=b"gone"))
    with pytest.raises(FeedGone) as caught:
        fetcher.fetch(url)
    assert caught.value.status == 410
    assert isinstance(caught.value, FetchError)


def test_500_is_a_fetch_error(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/broken.xml", Reply(status=500, body=b"oops"))
    with pytest.raises(FetchError, match="HTTP 500 Internal Server Error") as caught:
        fetcher.fetch(url)
    assert caught.value.status == 500


def test_429_retry_after_in_seconds(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/busy.xml", Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.status == 429
    assert caught.value.retry_after == 3600
    assert "HTTP 429 Too Many Requests" in str(caught.value)


def test_503_retry_after_as_http_date(feed_server: FeedServer, fetcher: Fetcher) -> None:
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    url = feed_server.route(
        "/down.xml", Reply(status=503, headers={"Retry-After": format_datetime(later, usegmt=True)})
    )
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.status == 503
    assert caught.value.retry_after is not None
    assert 7200 - 5 <= caught.value.retry_after <= 7200 + 5


def test_unparseable_retry_after_is_ignored(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/busy.xml", Reply(status=429, headers={"Retry-After": "soon"}))
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.retry_after is None


def test_slow_server_times_out(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/slow.xml", Reply(body=RSS, delay=3.0))
    with Fetcher(http, timeout=0.3, deadline=5) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(url)
    assert time.monotonic() - started < 1.5
    assert str(caught.value) == "timed out after 0.3s waiting for 127.0.0.1"
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_per_fetch_timeout_overrides_the_default(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/slow.xml", Reply(body=RSS, delay=0.5))
    with Fetcher(http, timeout=0.2, deadline=5) as fetcher:
        assert fetcher.fetch(url, timeout=2.0).body == RSS


def test_trickling_server_is_cut_off_at_the_deadline(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/trickle.xml", Reply(stream=endless(b"<"), chunk_delay=0.02))
    with Fetcher(http, timeout=0.5, deadline=1.0) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"gave up after 1s \(deadline\)"):
            fetcher.fetch(url)
    assert time.monotonic() - started < 1.6


def test_deadline_interrupts_a_read_already_waiting(feed_server: FeedServer, http: httpx.Client) -> None:
    # Each byte arrives just inside the read timeout, so no read ever times out; the
    # read that is waiting when the deadline passes must be cut short.
    # Bytes at 0 s and 0.9 s pass the per-chunk check; the next would come at 1.8 s.
    url = feed_server.route("/stall.xml", Reply(stream=endless(b"<"), chunk_delay=0.9))
    with Fetcher(http, timeout=1.0, deadline=1.0) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"gave up after 1s \(deadline\)"):
            fetcher.fetch(url)
    assert time.monotonic() - started < 1.4
    # The shared client still works afterwards.
    assert fetcher.fetch(feed_server.feed("/ok.xml", RSS)).body == RSS


def test_deadline_counts_across_redirects(feed_server: FeedServer, http: httpx.Client) -> None:
    feed_server.route("/slow.xml", Reply(body=RSS, delay=3.0))
    feed_server.redirect("/start", "/slow.xml", 302)
    with Fetcher(http, timeout=2.0, deadline=0.5) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            fetcher.fetch(feed_server.url("/start"))
    assert time.monotonic() - started < 1.2


def test_oversized_body_with_content_length_is_refused(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/big.xml", Reply(body=b"x" * (2 * 2**20)))
    with Fetcher(http, max_bytes=2**20, timeout=2, deadline=5) as fetcher:
        with pytest.raises(FetchError, match=r"response larger than 1 MiB"):
            fetcher.fetch(url)


def test_endless_body_without_length_is_cut_at_the_cap(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/endless.xml", Reply(stream=endless(b"x" * 65536)))
    with Fetcher(http, max_bytes=2**20, timeout=2, deadline=5) as fetcher:
        with pytest.raises(FetchError, match=r"response larger than 1 MiB"):
            fetcher.fetch(url)


def test_body_exactly_at_the_cap_is_accepted(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/exact.xml", Reply(body=b"x" * 2**20))
    with Fetcher(http, max_bytes=2**20, timeout=2, deadline=5) as fetcher:
        assert len(fetcher.fetch(url).body or b"") == 2**20


def test_gzip_is_decoded(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/feed.xml", Reply(body=RSS, gzip=True))
    result = fetcher.fetch(url)
    assert result.body == RSS
    assert result.headers["content-encoding"] == "gzip"


def test_corrupt_gzip_is_a_fetch_error(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/bad.xml", Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="could not decode the gzip response from 127.0.0.1") as caught:
        fetcher.fetch(url)
    assert isinstance(caught.value.__cause__, zlib.error)


@pytest.mark.parametrize("wrap", [zlib.compress, lambda data: zlib.compress(data)[2:-4]], ids=["zlib", "raw"])
def test_deflate_with_and_without_zlib_header(
    feed_server: FeedServer, fetcher: Fetcher, wrap: Callable[[bytes], bytes]
) -> None:
    url = feed_server.route("/feed.xml", Reply(body=wrap(RSS * 50), headers={"Content-Encoding": "deflate"}))
    assert fetcher.fetch(url).body == RSS * 50


def test_concatenated_gzip_members(feed_server: FeedServer, fetcher: Fetcher) -> None:
    body = gzip.compress(RSS[:50]) + gzip.compress(RSS[50:])
    url = feed_server.route("/feed.xml", Reply(body=body, headers={"Content-Encoding": "gzip"}))
    assert fetcher.fetch(url).body == RSS


def test_gzip_bomb_is_capped_after_decompression_without_blowing_memory(feed_server: FeedServer, http: httpx.Client) -> None:
    bomb = gzip_bomb(10 * 2**20)
    assert len(bomb) < 100 * 2**10
    url = feed_server.route("/bomb.xml", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with Fetcher(http, max_bytes=2**20, timeout=2, deadline=5) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match=r"response larger than 1 MiB"):
                fetcher.fetch(url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Decoding goes in small slices: a little over the cap, never the 10 MiB whole.
    assert peak < 8 * 2**20


def test_huge_gzip_bomb_stays_within_memory(feed_server: FeedServer, http: httpx.Client) -> None:
    # 100 MiB of zeros in ~100 KiB: one 64 KiB network chunk would inflate to ~64 MiB at once.
    url = feed_server.route("/bomb.xml", Reply(body=gzip_bomb(100 * 2**20), headers={"Content-Encoding": "gzip"}))
    with Fetcher(http, timeout=2, deadline=5) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match=r"response larger than 15 MiB"):
                fetcher.fetch(url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 40 * 2**20


def test_gzip_under_the_cap_is_measured_decompressed(feed_server: FeedServer, http: httpx.Client) -> None:
    url = feed_server.route("/zeros.xml", Reply(body=gzip_bomb(10 * 2**20), headers={"Content-Encoding": "gzip"}))
    with Fetcher(http, max_bytes=11 * 2**20, timeout=2, deadline=5) as fetcher:
        assert len(fetcher.fetch(url).body or b"") == 10 * 2**20


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "public, max-age=600"}, 600.0),
        ({"Cache-Control": "s-maxage=120"}, 120.0),
        ({"Cache-Control": "no-cache, max-age=600"}, None),
        ({"Cache-Control": "no-store"}, None),
        ({"Expires": "0"}, 0.0),
        ({}, None),
    ],
)
def test_max_age_from_cache_headers(
    feed_server: FeedServer, fetcher: Fetcher, headers: dict[str, str], expected: float | None
) -> None:
    url = feed_server.route("/feed.xml", Reply(body=RSS, headers=headers))
    assert fetcher.fetch(url).max_age == expected


def test_max_age_from_expires_minus_date(feed_server: FeedServer, fetcher: Fetcher) -> None:
    # The server's Date header is now; Expires is an hour after it.
    expires = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    url = feed_server.route("/feed.xml", Reply(body=RSS, headers={"Expires": expires}))
    max_age = fetcher.fetch(url).max_age
    assert max_age is not None and 3600 - 5 <= max_age <= 3600 + 5


def test_max_age_is_reported_on_304(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/feed.xml", Reply(body=RSS, etag='"e"', headers={"Cache-Control": "max-age=900"}))
    assert fetcher.fetch(url, Validators(etag='"e"')).max_age == 900


def test_relative_content_location_is_made_absolute(feed_server: FeedServer, fetcher: Fetcher) -> None:
    url = feed_server.route("/a/feed.xml", Reply(body=RSS, headers={"Content-Location": "../b/feed.xml"}))
    assert fetcher.fetch(url).headers["content-location"] == feed_server.url("/b/feed.xml")


def test_connection_refused_is_a_fetch_error(http: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Fetcher(http, timeout=1, deadline=2) as fetcher:
        with pytest.raises(FetchError, match=f"could not connect to 127.0.0.1") as caught:
            fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize("url", ["ftp://example.com/feed.xml", "gopher://x/"])
def test_unsupported_scheme(url: str, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="unsupported URL scheme"):
        fetcher.fetch(url)


def test_invalid_url_is_a_fetch_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError):
        fetcher.fetch("http://")


def test_concurrent_fetches_share_one_client(feed_server: FeedServer) -> None:
    for i in range(16):
        feed_server.feed(f"/f{i}.xml", RSS + str(i).encode(), delay=0.05)
    results: dict[int, FetchResult] = {}
    errors: list[BaseException] = []
    with httpx.Client(headers={"User-Agent": "someone-else/1.0"}) as client:
        fetcher = Fetcher(client, timeout=2, deadline=5)

        def work(i: int) -> None:
            try:
                results[i] = fetcher.fetch(feed_server.url(f"/f{i}.xml"))
            except BaseException as exc:  # collected for the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        fetcher.close()
        # An injected client belongs to the caller: close() leaves it usable.
        assert not client.is_closed
    assert not errors
    assert {i: r.body for i, r in results.items()} == {i: RSS + str(i).encode() for i in range(16)}
    assert all(r.headers["user-agent"].startswith("tracker/") for r in feed_server.requests)


def test_own_client_is_closed() -> None:
    fetcher = Fetcher()
    fetcher.close()
    assert fetcher._client.is_closed


# --- local files -----------------------------------------------------------------


def test_file_url(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "saved.xml"
    path.write_bytes(RSS)
    result = fetcher.fetch(path.as_uri())
    assert result.status == 200
    assert result.body == RSS
    assert result.validators.etag is not None and result.validators.etag.startswith('"file-')
    assert result.headers["content-location"] == path.as_uri()
    assert result.headers["content-type"] == "application/xml"
    assert result.permanent_redirect is None and result.max_age is None
    # Unchanged file: "not modified", no body to parse, as a 304 would be.
    again = fetcher.fetch(path.as_uri(), result.validators)
    assert again.not_modified and again.body is None
    path.write_bytes(RSS + b"\n")
    changed = fetcher.fetch(path.as_uri(), result.validators)
    assert changed.status == 200 and changed.body == RSS + b"\n" and changed.validators != result.validators


def test_plain_path_relative_to_base_dir(tmp_path: Path, http: httpx.Client) -> None:
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "feed.xml").write_bytes(RSS)
    with Fetcher(http, base_dir=tmp_path) as fetcher:
        assert fetcher.fetch("samples/feed.xml").body == RSS
        assert fetcher.fetch(str(tmp_path / "samples" / "feed.xml")).body == RSS


def test_missing_file_is_a_fetch_error(tmp_path: Path, http: httpx.Client) -> None:
    with Fetcher(http, base_dir=tmp_path) as fetcher:
        with pytest.raises(FetchError, match="file not found") as caught:
            fetcher.fetch("nope.xml")
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_directory_is_a_fetch_error(tmp_path: Path, http: httpx.Client) -> None:
    with Fetcher(http, base_dir=tmp_path) as fetcher:
        with pytest.raises(FetchError, match="is a directory"):
            fetcher.fetch(tmp_path.as_uri())


def test_file_over_the_cap_is_refused(tmp_path: Path, http: httpx.Client) -> None:
    (tmp_path / "big.xml").write_bytes(b"x" * (2**20 + 1))
    with Fetcher(http, base_dir=tmp_path, max_bytes=2**20) as fetcher:
        with pytest.raises(FetchError, match=r"file larger than 1 MiB"):
            fetcher.fetch("big.xml")


def test_file_url_for_another_host_is_refused(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="another host"):
        fetcher.fetch("file://fileserver/share/feed.xml")


def test_retry_after_date_without_server_date_uses_the_clock() -> None:
    now = datetime(2024, 3, 25, 12, 0, tzinfo=timezone.utc)
    headers = {"retry-after": "Mon, 25 Mar 2024 12:30:00 GMT"}
    assert _retry_after(headers, lambda: now) == 1800
    assert _retry_after({"retry-after": "Mon, 25 Mar 2024 11:00:00 GMT"}, lambda: now) == 0
    assert _max_age({"expires": "Mon, 25 Mar 2024 13:00:00 GMT"}, lambda: now) == 3600
