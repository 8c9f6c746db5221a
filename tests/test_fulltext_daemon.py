"""The daemon's page queue: article pages are read in their own thread, so a slow page never
holds up a feed's poll, and their events reach the timeline."""

from __future__ import annotations

import json
import time

from feedserver import FeedServer, Reply
from test_daemon import DaemonProcess, Env, daemons, env, start, wait_for  # noqa: F401 - fixtures
from test_fulltext_poll import ARTICLE, HTML, PUB, SUMMARY, page, rss


def test_a_slow_page_never_delays_other_feeds_polls(
    feed_server: FeedServer, env: Env, daemons: list[DaemonProcess]  # noqa: F811
) -> None:
    page_started: list[float] = []

    def slow_page(_request: object) -> Reply:
        page_started.append(time.monotonic())
        return Reply(body=page(ARTICLE), content_type=HTML, delay=4.0)

    feed_server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
    feed_server.route("/news/bridge", slow_page)
    story = feed_server.feed("/story.xml", rss([("b1", feed_server.base_url + "/news/bridge", PUB, SUMMARY)]))
    fast_polls: list[float] = []
    fast_body = rss([("f1", "https://courier.test/f1", PUB, "Nothing about it.")]).encode()

    def fast_feed(_request: object) -> Reply:
        fast_polls.append(time.monotonic())
        return Reply(body=fast_body)

    fast = feed_server.route("/fast.xml", fast_feed)
    env.replace(
        f"database: {env.database_url}\n"
        "allow_private_networks: true\n"
        "pages: {delay: 0s}\n"
        "topics:\n  bridge: [bridge]\n"
        "feeds:\n"
        f"  - name: story\n    url: {story}\n    interval: 1h\n    timeout: 10s\n"
        f"  - name: fast\n    url: {fast}\n    interval: 1s\n    timeout: 3s\n    full_text: never\n"
    )
    d = start(daemons, env, "--check-config-every", "3600")
    wait_for(lambda: page_started, what="the page to be requested")
    began = page_started[0]
    wait_for(lambda: "story: full text: 1 page read" in d.log, what="the page to be read")
    # While the page took 4 s to answer, the fast feed kept its 1 s schedule.
    during = [t for t in fast_polls if began < t < began + 4.0]
    assert len(during) >= 3, (during, d.log)
    timeline = env.cli("timeline", "--format", "json")
    assert timeline.returncode == 0, timeline.stderr
    assert "2025-04-28" in {e["start"] for e in json.loads(timeline.stdout)}
    # The poll that stored the entry finished long before the page did.
    assert env.feed_row("story")["last_status"] == "ok"
    code, _ = d.stop()
    assert code == 0 and "Traceback" not in d.log
