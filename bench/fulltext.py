"""Full text for summary-only feeds: Date-F1 with page fetching off and on, and the cost per page.

Usage: python bench/fulltext.py [--data DIR] [--topics haiti,mj | all] [--workdir DIR] [--sample 200]

The Timeline17 articles of each topic (read in place, as bench/timeline_eval.py reads them)
are served on a loopback HTTP server: per outlet folder an RSS feed, and per article a page
(text/html; charset=utf-8) that wraps the article's text in an outlet's boilerplate built
here: cookie banner, site navigation, breadcrumbs, byline, share bar, advertisement slots,
related and most-read links (to the outlet's other articles), a comments block, a footer,
and <meta property="article:published_time">; robots.txt allows everything. The real
`tracker poll` runs three times per topic, each in its own folder and database:

  1. full feed: each item carries the whole text (content:encoded, as timeline_eval
     writes it) and links to its page; full_text: never. The baseline.
  2. summary only, full text off: each item carries a teaser (the first sentence, at most
     40 words, ending in "…", some outlets adding "Read more") and the link; full_text: never.
  3. summary only, full text on: the same feed, full_text: auto. tracker reads a bounded
     number of pages per poll (the rest wait for the next, as in the daemon's queue), so
     this run polls again while `tracker feeds` says pages are waiting; its time is the sum.

Every config sets allow_private_networks (the pages are on 127.0.0.1) and pages {per_host:
8, delay: 0s}: the politeness delay is off, since the bench measures extraction, not waiting.

Printed: per topic and overall, entries and events stored and macro Date-F1 (timeline_eval's
protocol and ranking) of each run, and the target |F1(3) - F1(1)| <= 0.02; pages requested
and failed (the server's log, and `tracker feeds` where it counts them); the wall time of each
poll; and the cost per page, measured in this process with tracker.fulltext's PageFetcher
and extract_page over --sample pages of the same server (median ms of fetch, extraction and
both), against feedparser.parse's time per entry on the full feed document (median of
several parses), the baseline in the same process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _loopback import FeedHandler, start, stop  # noqa: E402
from _t17 import TOPICS, Article, article_html, feeds_yaml, load_articles, load_gold, load_keywords, topic_folders  # noqa: E402
from timeline_eval import DB_NAME, DEFAULT_DATA, TopicRun, run_tracker, say, score_timeline  # noqa: E402

PER_HOST = 8
TEASER_WORDS = 40
TARGET = 0.02
PARSES = 7  # feedparser runs per feed; the median counts
# tracker reads a bounded number of pages per poll and leaves the rest waiting for the next
# one (as the daemon's queue would): run 3 polls again while pages wait, up to this often.
MAX_POLLS = 12
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
RUNS = (
    ("full", "full", "never", "full feed"),
    ("off", "summary", "never", "summary, full text off"),
    ("on", "summary", "auto", "summary, full text on"),
)

# --------------------------------------------------------------------------- outlets' page furniture


@dataclass(frozen=True)
class Outlet:
    """How one outlet's article pages look: the boilerplate around the text, written here."""

    site: str
    lang: str
    nav: tuple[str, ...]
    cookie: str
    cookie_buttons: tuple[str, ...]
    related: str  # heading of the related-links block
    most_read: str
    comments: str
    footer: tuple[str, ...]
    dateline: str  # strftime-like with {day}; noon UTC
    body_class: str  # the container of the text
    ad_every: int  # an advertisement slot after every N paragraphs (0: none)
    inline_related: bool  # a "Read more" link inside the text
    json_ld: bool
    read_more: str  # after the teaser in the feed ("" for none)
    promo: str  # newsletter or subscription box below the text


OUTLETS: dict[str, Outlet] = {
    "bbc": Outlet(
        "BBC News", "en-GB", ("Home", "UK", "World", "Business", "Politics", "Health", "Education", "Science", "Technology", "Entertainment"),
        "Let us know you agree to cookies. We use cookies to give you the best online experience. "
        "Please let us know if you agree to all of these cookies.", ("Yes, I agree", "No, take me to settings"),
        "Related Internet links", "Most popular stories now", "Have your say",
        ("Terms of Use", "About the BBC", "Privacy Policy", "Cookies", "Accessibility Help", "Parental Guidance", "Contact the BBC"),
        "Page last updated at 12:00 GMT, %A, {day} %B %Y", "story-body", 0, False, False, "",
        "The BBC is not responsible for the content of external internet sites.",
    ),
    "guardian": Outlet(
        "The Guardian", "en-GB", ("News", "Opinion", "Sport", "Culture", "Lifestyle", "Environment", "Business", "Money"),
        "Your privacy. We and our partners use cookies and similar technologies to store or access information on your "
        "device, for example to show you personalised advertising and to measure how you use our site.",
        ("Yes, I'm happy", "Manage my cookies"),
        "More on this story", "Most viewed", "Comments",
        ("About us", "Contact us", "Complaints & corrections", "Work for us", "Privacy policy", "Cookie policy", "Terms & conditions"),
        "%a {day} %b %Y 12.00 GMT", "content__article-body", 6, True, True, "Continue reading...",
        "Sign up to First Edition, our free daily newsletter: every weekday morning at 7am BST.",
    ),
    "reuters": Outlet(
        "Reuters", "en-US", ("Business", "Markets", "World", "Politics", "Technology", "Breakingviews", "Sports"),
        "We use cookies to provide you with a better experience. By continuing to browse this site you agree to our use of cookies.",
        ("Accept", "Learn more"),
        "Related News", "Most Read", "Discussion",
        ("Reuters News Agency", "Brand Attribution Guidelines", "Careers", "Privacy", "Terms of Use", "Advertise With Us"),
        "%a %b {day}, %Y 7:00am EST", "StandardArticleBody_body", 4, False, False, "",
        "All quotes delayed a minimum of 15 minutes. See here for a complete list of exchanges and delays.",
    ),
    "foxnews": Outlet(
        "Fox News", "en-US", ("U.S.", "World", "Opinion", "Politics", "Entertainment", "Business", "Lifestyle", "Science", "Health"),
        "This website uses cookies to enhance user experience and to analyze performance and traffic on our website.",
        ("Accept all", "Do Not Sell My Personal Information"),
        "Related Articles", "Trending in U.S.", "Conversation",
        ("New Terms of Use", "Privacy Policy", "Closed Captioning Policy", "Help", "Contact Us", "Accessibility Statement"),
        "Published %B {day}, %Y", "article-body", 3, True, True, "Read more",
        "CLICK HERE TO GET THE FOX NEWS APP",
    ),
    "washingtonpost": Outlet(
        "The Washington Post", "en-US", ("Politics", "Opinions", "World", "Nation", "Business", "Tech", "Local", "Sports", "Lifestyle"),
        "We care about your privacy. We and our vendors use cookies and similar technologies to deliver our services, "
        "personalize content and ads, and analyze our traffic.", ("Accept all", "Manage preferences"),
        "Read more on this story", "Most Read", "Comments",
        ("About The Post", "Newsroom Policies & Standards", "Diversity & Inclusion", "Careers", "Ethics Policy", "Terms of Service"),
        "%A, %B {day}, %Y; 7:00 AM", "article-body", 5, False, True, "",
        "Subscribe to comment and get the full experience. Choose your plan.",
    ),
    "cnn": Outlet(
        "CNN", "en-US", ("World", "US Politics", "Business", "Health", "Entertainment", "Style", "Travel", "Sports", "Video"),
        "By using this site, you agree to our Privacy Policy and our Terms of Use. We use cookies for analytics and ads.",
        ("Agree", "Manage settings"),
        "Paid content and related stories", "Most watched", "Comments",
        ("Terms of Use", "Privacy Policy", "Ad Choices", "Accessibility & CC", "About", "Newsletters", "Transcripts"),
        "updated 7:00 a.m. EST, %a %B {day}, %Y", "zn-body__paragraph", 4, True, False, "Read more",
        "Get our free Five Things newsletter. Sign up now.",
    ),
}

_FIRST = ("Maria", "James", "Aisha", "Tom", "Ines", "Rahul", "Claire", "Daniel", "Yuki", "Peter", "Sofia", "Kwame")
_LAST = ("Haddad", "Morgan", "Okafor", "Lindqvist", "Brennan", "Castillo", "Whitfield", "Novak", "Mensah", "Duarte")
_HANDLES = ("bluewater", "old_timer_59", "jpk", "northern_light", "truthseeker", "madeleineR", "dc_reader", "Grumpy", "quietcat")
_COMMENTS = (
    "Thoughts are with everyone caught up in this.",
    "Why is nobody asking who pays for all of this?",
    "Good reporting, thank you for keeping us informed.",
    "I have read three different versions of this story today and they do not agree.",
    "The photos in the gallery say more than any article could.",
    "Same story every time. Nothing will change.",
    "Can someone explain what the government is actually doing?",
    "This comment has been removed by a moderator. Replies may also be deleted.",
    "Great piece, but the headline is misleading.",
    "Where can I donate? A link would help.",
    "I disagree with the previous commenter entirely.",
    "Recommend if you agree.",
)


def brand(outlet_folder: str) -> Outlet:
    return OUTLETS[outlet_folder.rsplit("_", 1)[-1].lower()]


def published(a: Article) -> datetime:
    return datetime(a.day.year, a.day.month, a.day.day, 12, 0, tzinfo=timezone.utc)


def page_path(a: Article) -> str:
    """The article's page path on the loopback server: the path of its Timeline17 link."""
    return urllib.parse.urlsplit(a.link).path


def teaser(a: Article) -> str:
    """The first sentence, at most TEASER_WORDS words, ending in an ellipsis."""
    words = a.sentences[0].split()[:TEASER_WORDS]
    return " ".join(words).rstrip(".,;:!?") + "…"


def page_html(a: Article, outlet: Outlet, neighbours: Sequence[Article], rng: random.Random) -> str:
    """The article's page: its text (article_html, as the full feed carries it) inside the outlet's boilerplate."""
    def e(text: str) -> str:
        return escape(text, quote=True)

    def link(b: Article) -> str:
        return f'<a href="{e(page_path(b))}">{e(b.title(12))}</a>'

    when = published(a)
    title = a.title()
    shown = when.strftime(outlet.dateline.replace("{day}", str(when.day)))
    author = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    section = rng.choice(outlet.nav[1:4])
    related, most_read = list(neighbours[:4]), rng.sample(list(neighbours), min(5, len(neighbours)))

    paragraphs = article_html(a).split("\n")
    body: list[str] = []
    for i, p in enumerate(paragraphs, 1):
        body.append(p)
        if outlet.ad_every and i % outlet.ad_every == 0 and i < len(paragraphs):
            body.append(f'<div class="ad-slot ad-slot--inline" data-slot="mpu-{i}"><span class="ad-label">Advertisement</span></div>')
        if outlet.inline_related and i == 3 and related and i < len(paragraphs):
            body.append(f'<aside class="inline-related"><strong>Read more:</strong> {link(related[-1])}</aside>')

    comments = []
    for _ in range(rng.randint(0, 6)):
        at = when + timedelta(minutes=rng.randint(20, 36 * 60))
        comments.append(
            f'<li class="comment"><div class="comment__meta"><span class="comment__user">{e(rng.choice(_HANDLES))}</span> '
            f'<time datetime="{at.isoformat()}">{at:%d %b %Y %H:%M}</time></div>'
            f'<p class="comment__body">{e(rng.choice(_COMMENTS))}</p>'
            f'<div class="comment__actions"><a href="#">Reply</a> <a href="#">Report</a> <span>{rng.randint(0, 240)} recommends</span></div></li>'
        )
    comment_block = (
        f'<ol class="comments__list">{"".join(comments)}</ol><a class="comments__more" href="#">Show more comments</a>'
        if comments else "<p>Comments are closed for this article.</p>"
    )
    ld = ""
    if outlet.json_ld:
        ld = ('<script type="application/ld+json">' + json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "datePublished": when.isoformat(),
            "author": {"@type": "Person", "name": author}, "publisher": {"@type": "Organization", "name": outlet.site},
        }) + "</script>")
    nav = "".join(f'<li><a href="/{s.lower().replace(" ", "-")}">{e(s)}</a></li>' for s in outlet.nav)
    return f"""<!DOCTYPE html>
<html lang="{outlet.lang}">
<head>
<meta charset="utf-8">
<title>{e(title)} | {e(outlet.site)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{e(teaser(a))}">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(title)}">
<meta property="og:site_name" content="{e(outlet.site)}">
<meta property="article:published_time" content="{when.isoformat()}">
<meta property="article:section" content="{e(section)}">
<link rel="canonical" href="{e(page_path(a))}">
<link rel="stylesheet" href="/static/site.css">
{ld}
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"pageType": "article", "section": {json.dumps(section)}}});</script>
</head>
<body class="page page--article">
<div id="cookie-banner" class="cookie-banner" role="dialog" aria-label="Cookies">
<p>{e(outlet.cookie)}</p>
{"".join(f'<button type="button">{e(b)}</button>' for b in outlet.cookie_buttons)}
</div>
<header class="site-header">
<a class="skip-link" href="#main">Skip to content</a>
<a class="logo" href="/">{e(outlet.site)}</a>
<nav class="site-nav" aria-label="Sections"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input type="search" name="q" placeholder="Search"><button>Search</button></form>
<a class="account" href="/signin">Sign in</a>
</header>
<main id="main">
<nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/{section.lower()}">{e(section)}</a></nav>
<article class="article">
<header class="article__header">
<h1 class="article__headline">{e(title)}</h1>
<p class="byline">By <a rel="author" href="/profile/{author.lower().replace(" ", "-")}">{e(author)}</a>, {e(outlet.site)}</p>
<p class="dateline"><time datetime="{when.isoformat()}">{e(shown)}</time></p>
<ul class="share"><li><a href="#">Share on Facebook</a></li><li><a href="#">Share on X</a></li><li><a href="#">Email this story</a></li><li><a href="#">Print</a></li></ul>
</header>
<div class="{outlet.body_class}">
{chr(10).join(body)}
</div>
<div class="promo">{e(outlet.promo)}</div>
</article>
<section class="related"><h2>{e(outlet.related)}</h2><ul>{"".join(f"<li>{link(b)}</li>" for b in related)}</ul></section>
<section class="comments" id="comments"><h2>{e(outlet.comments)} ({len(comments)})</h2>{comment_block}</section>
<aside class="most-read"><h2>{e(outlet.most_read)}</h2><ol>{"".join(f"<li>{link(b)}</li>" for b in most_read)}</ol></aside>
</main>
<footer class="site-footer">
<ul>{"".join(f'<li><a href="/{e(f.lower().replace(" ", "-"))}">{e(f)}</a></li>' for f in outlet.footer)}</ul>
<p class="copyright">Copyright &copy; {when.year} {e(outlet.site)}. All rights reserved.</p>
</footer>
</body>
</html>
"""


def feed_document(outlet_folder: str, articles: Sequence[Article], base: str, full: bool) -> bytes:
    """An RSS 2.0 feed, newest first: the whole text as content:encoded (full), else a teaser as description."""
    outlet = brand(outlet_folder)
    ET.register_namespace("content", CONTENT_NS)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    for tag, text in (("title", f"{outlet.site}: {outlet_folder}"), ("link", f"{base}/"), ("description", f"Timeline17 {outlet_folder}")):
        ET.SubElement(channel, tag).text = text
    for a in sorted(articles, key=lambda a: (a.day, a.id.zfill(12)), reverse=True):
        item = ET.SubElement(channel, "item")
        link = base + page_path(a)
        for tag, text in (("title", a.title()), ("link", link), ("guid", a.guid), ("pubDate", format_datetime(published(a)))):
            ET.SubElement(item, tag).text = text
        item.find("guid").set("isPermaLink", "false")  # type: ignore[union-attr]
        if full:
            ET.SubElement(item, f"{{{CONTENT_NS}}}encoded").text = article_html(a)
        else:
            more = f' <a href="{escape(link)}">{escape(outlet.read_more)}</a>' if outlet.read_more else ""
            ET.SubElement(item, "description").text = f"<p>{escape(teaser(a), quote=False)}{more}</p>"
    document: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return document


# --------------------------------------------------------------------------- the server


@dataclass
class Site:
    """What the loopback server serves, and the log of what it was asked."""

    feeds: dict[str, bytes] = field(default_factory=dict)  # path -> RSS
    pages: dict[str, bytes] = field(default_factory=dict)  # path -> HTML
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (phase, kind, status)
    phase: str = "setup"

    def requests(self, phase: str) -> Counter[tuple[str, int]]:
        return Counter((kind, status) for ph, kind, status in list(self.log) if ph == phase)


ROBOTS = b"User-agent: *\nAllow: /\n\nSitemap: /sitemap.xml\n"


def serve(site: Site) -> ThreadingHTTPServer:
    class Handler(FeedHandler):
        # Headers and body go out in two writes: with Nagle's algorithm the body would wait
        # for the client's delayed ACK (40 ms on Linux), a cost of this server, not of tracker.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = urllib.parse.urlsplit(self.path).path
            if path in site.feeds:
                site.log.append((site.phase, "feed", 200))
                self.send_feed('"' + hashlib.sha1(site.feeds[path]).hexdigest()[:16] + '"', lambda: site.feeds[path])
            elif path == "/robots.txt":
                site.log.append((site.phase, "robots", 200))
                self.answer(200, "text/plain; charset=utf-8", ROBOTS)
            elif path in site.pages:
                body = site.pages[path]
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                status = 304 if self.headers.get("If-None-Match") == etag else 200
                site.log.append((site.phase, "page", status))
                self.answer(status, "text/html; charset=utf-8", b"" if status == 304 else body, etag)
            else:
                site.log.append((site.phase, "other", 404))
                self.answer(404, "text/html; charset=utf-8", b"<html><body><h1>Page not found</h1></body></html>")

        def answer(self, status: int, content_type: str, body: bytes, etag: str | None = None) -> None:
            headers = {"Content-Type": content_type, "Content-Length": str(len(body)),
                       "Last-Modified": "Mon, 01 Feb 2010 12:00:00 GMT", "Cache-Control": "max-age=300"}
            if etag:
                headers["ETag"] = etag
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return start(Handler)


# --------------------------------------------------------------------------- runs


@dataclass
class Run:
    """One `tracker poll` of one topic's feeds in one of the three ways."""

    key: str
    label: str
    result: TopicRun
    feeds: list[dict[str, Any]]
    requests: Counter[tuple[str, int]]
    stderr: str = ""
    polls: int = 0
    f1: dict[str, float] = field(default_factory=dict)  # timeline -> Date-F1
    timeline_read: bool = False

    @property
    def ok(self) -> bool:
        """The poll stored entries and the timeline was read: its scores mean something."""
        return self.timeline_read and sum(self.result.entries.values()) > 0

    def origins(self) -> Counter[str]:
        """The events' mentions by where their quote was read ("from": feed or page), when the JSON says."""
        return Counter(str(m["from"]) for ev in self.result.events for m in ev.get("mentions") or [] if "from" in m)


def config_text(topic: str, keywords: list[str], feeds: dict[str, str], full_text: str) -> str:
    """timeline_eval's feeds.yaml for these feed URLs, with full_text, allow_private_networks and pages."""
    config = yaml.safe_load(feeds_yaml(topic, keywords, feeds, DB_NAME))
    config["defaults"]["full_text"] = full_text
    config["allow_private_networks"] = True
    config["pages"] = {"per_host": PER_HOST, "delay": "0s"}
    return f"# Timeline17 topic {topic}, written by bench/fulltext.py\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def poll(site: Site, folder: Path, base: TopicRun, key: str, label: str, config: str) -> Run:
    """`tracker poll` in a fresh folder (again while pages wait), then its feeds and timeline as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        (folder / (DB_NAME + suffix)).unlink(missing_ok=True)
    path = folder / "feeds.yaml"
    path.write_text(config, encoding="utf-8")
    result = TopicRun(base.topic, base.keywords, base.folders, base.articles, base.empty)
    run = Run(key, label, result, [], Counter())
    phase = f"{base.topic}/{key}"
    result.poll_seconds, result.poll_rc, done, waiting = 0.0, 0, -1, 0
    while run.polls < MAX_POLLS:
        say(f"{base.topic}: polling ({label}){f', again: {waiting} pages waiting' if run.polls else ''} ...")
        site.phase = phase
        t0 = time.perf_counter()
        proc = run_tracker(path, "poll")
        result.poll_seconds += time.perf_counter() - t0
        site.phase = "idle"
        run.polls += 1
        result.poll_rc = max(result.poll_rc, proc.returncode)
        result.poll_lines += [ln for ln in proc.stdout.splitlines() if ln.strip()]
        run.stderr += proc.stderr.strip()
        if not (folder / DB_NAME).exists():
            say(f"{base.topic} ({label}): no database after the poll (exit {proc.returncode}):\n{proc.stderr.strip()}")
            return run
        feeds = run_tracker(path, "feeds", "--format", "json")
        if feeds.returncode != 0:
            run.stderr += f"\ntracker feeds exited {feeds.returncode}: {feeds.stderr.strip()}"
            break
        run.feeds = json.loads(feeds.stdout)
        counts = page_counts(run.feeds)
        waiting = counts.get("pages_waiting", 0)
        progress = sum(v for k, v in counts.items() if k != "pages_waiting")
        if not waiting or progress == done:
            break
        done = progress
    run.requests = site.requests(phase)
    result.entries = {f["name"]: int(f["entries"]) for f in run.feeds}
    timeline = run_tracker(path, "timeline", "--format", "json")
    if timeline.returncode == 0:
        result.events = json.loads(timeline.stdout)
        run.timeline_read = True
    else:
        run.stderr += f"\ntracker timeline exited {timeline.returncode}: {timeline.stderr.strip()}"
    return run


def page_counts(feeds: list[dict[str, Any]]) -> dict[str, int]:
    """Whatever `tracker feeds --format json` says about pages (keys naming page or full text), summed over feeds."""
    out: Counter[str] = Counter()
    for feed in feeds:
        for key, value in feed.items():
            if "page" not in key and "full" not in key:
                continue
            items = value.items() if isinstance(value, dict) else [(key, value)]
            for name, v in items:
                if isinstance(v, int) and not isinstance(v, bool):
                    out[name] += v
    return dict(out)


# --------------------------------------------------------------------------- cost per page


def words(text: str) -> Counter[str]:
    return Counter(w.strip(".,;:!?\"'()[]“”‘’").lower() for w in text.split())


@dataclass
class Cost:
    """One sampled page: its topic, milliseconds, and how much of the article came out."""

    topic: str
    fetch: float
    extract: float
    recall: float  # share of the article's words in the extracted text
    extra: float  # share of the extracted words that are not the article's
    dated: bool  # the extracted publication date is the article's day

    @property
    def total(self) -> float:
        return self.fetch + self.extract


def page_cost(base: str, sample: list[tuple[str, Article]]) -> tuple[list[Cost], int] | str:
    """Fetch and extract each sampled page in this process, one after another; (costs, failures)."""
    try:
        from tracker.fetch import Fetcher
        from tracker.fulltext import PageFetcher, extract_page
    except ImportError as exc:
        return f"skipped: {exc}"
    costs: list[Cost] = []
    failed = 0
    with Fetcher(allow_private_networks=True) as fetcher:
        pages = PageFetcher(fetcher, per_host=PER_HOST, min_delay=0.0, allow_private_networks=True)
        # Warm up: robots.txt, the connection, trafilatura's first call; not counted.
        for _, a in sample[:3]:
            warm = pages.fetch(base + page_path(a))
            if warm.body:
                extract_page(warm.body, url=warm.url, content_type=warm.content_type)
        for topic, a in sample:
            t0 = time.perf_counter()
            try:
                page = pages.fetch(base + page_path(a))
            except Exception as exc:  # noqa: BLE001 - a failed page is counted, whatever it was
                say(f"page {page_path(a)}: {type(exc).__name__}: {exc}")
                failed += 1
                continue
            t1 = time.perf_counter()
            if not page.body:
                failed += 1
                continue
            got = extract_page(page.body, url=page.url, content_type=page.content_type)
            t2 = time.perf_counter()
            want, have = words(" ".join(a.sentences)), words(got.text or "")
            pub = got.published
            costs.append(Cost(
                topic, 1000 * (t1 - t0), 1000 * (t2 - t1),
                sum((want & have).values()) / max(1, sum(want.values())),
                sum((have - want).values()) / max(1, sum(have.values())),
                pub is not None and (pub.date() if isinstance(pub, datetime) else pub) == a.day,
            ))
    return costs, failed


def feedparser_ms_per_entry(documents: Sequence[bytes]) -> float:
    import feedparser

    per_doc: list[tuple[float, int]] = []
    for doc in documents:
        times, entries = [], 0
        for _ in range(PARSES):
            t0 = time.perf_counter()
            entries = len(feedparser.parse(doc).entries)
            times.append(time.perf_counter() - t0)
        per_doc.append((statistics.median(times), entries))
    return 1000 * sum(t for t, _ in per_doc) / max(1, sum(n for _, n in per_doc))


# --------------------------------------------------------------------------- main


def macro(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder holding t17/ (default ../shared/data)")
    ap.add_argument("--topics", default="haiti,mj", help=f"comma-separated, of {', '.join(TOPICS)}, or all (default haiti,mj: the smallest)")
    ap.add_argument("--workdir", type=Path, help="keep configs and databases here (DIR/<topic>/<run>/) instead of a temporary folder")
    ap.add_argument("--sample", type=int, default=200, help="pages fetched and extracted in-process for the cost per page (default 200)")
    args = ap.parse_args(argv)
    t17 = args.data / "t17"
    if not t17.is_dir():
        ap.error(f"no t17 folder under {args.data}")
    topics = list(TOPICS) if args.topics.strip() == "all" else [t.strip() for t in args.topics.split(",") if t.strip()]
    if not topics or any(t not in TOPICS for t in topics):
        ap.error(f"--topics: choose from {', '.join(TOPICS)} or all")

    tmp = None if args.workdir else tempfile.TemporaryDirectory(prefix="fulltext-")
    workdir = args.workdir.resolve() if args.workdir else Path(tmp.name)  # type: ignore[union-attr]
    site = Site()
    bases: list[TopicRun] = []
    for topic in topics:
        folders = topic_folders(t17, topic)
        base = TopicRun(topic, load_keywords(t17, topic), [p.name for p in folders], [], {})
        for folder in folders:
            loaded = load_articles(folder)
            kept = [a for a in loaded if a.sentences]
            base.empty[folder.name] = len(loaded) - len(kept)
            base.articles += kept
            for i, a in enumerate(kept):
                rng = random.Random(a.guid)
                neighbours = [kept[j] for j in (i - 3, i - 2, i - 1, i + 1, i + 2, i + 3, i + 7, i - 7) if 0 <= j < len(kept)]
                site.pages[page_path(a)] = page_html(a, brand(folder.name), neighbours, rng).encode("utf-8")
        bases.append(base)
    server = serve(site)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    full_docs: dict[str, list[bytes]] = {}
    for base in bases:
        for outlet in base.folders:
            mine = [a for a in base.articles if a.outlet == outlet]
            for kind in ("full", "summary"):
                site.feeds[f"/feeds/{kind}/{outlet}.xml"] = feed_document(outlet, mine, origin, kind == "full")
            full_docs.setdefault(base.topic, []).append(site.feeds[f"/feeds/full/{outlet}.xml"])

    runs: dict[str, dict[str, Run]] = {}
    try:
        for base in bases:
            keywords = base.keywords
            for key, kind, mode, label in RUNS:
                feeds = {outlet: f"{origin}/feeds/{kind}/{outlet}.xml" for outlet in base.folders}
                text = config_text(base.topic, keywords, feeds, mode)
                runs.setdefault(base.topic, {})[key] = poll(site, workdir / base.topic / key, base, key, label, text)
        rng = random.Random(13)
        everything = [(base.topic, a) for base in bases for a in base.articles]
        sample = rng.sample(everything, min(args.sample, len(everything)))
        site.phase = "cost"
        say(f"cost per page: fetching and extracting {len(sample)} pages in-process ...")
        cost = page_cost(origin, sample)
        parse_ms = {topic: feedparser_ms_per_entry(docs) for topic, docs in full_docs.items()}
        parse_all = feedparser_ms_per_entry([d for docs in full_docs.values() for d in docs])
    finally:
        stop(server)
        if tmp is not None:
            tmp.cleanup()

    # Rank as timeline_eval's --rank-by auto does, one choice for every run.
    all_events = [ev for per in runs.values() for r in per.values() for ev in r.result.events]
    rank_by = "score" if all_events and all("score" in ev for ev in all_events) else "sources"
    golds = [(base, load_gold(p, folder)) for base in bases for folder in base.folders
             for p in sorted((t17 / folder / "timelines").glob("*.txt"))]
    for base, gold in golds:
        for run in runs[base.topic].values():
            run.f1[f"{gold.outlet}/{gold.name}"] = score_timeline(run.result, gold, rank_by, "max", "all")[0].tracker.f1

    teasers = [len(teaser(a).split()) for b in bases for a in b.articles]
    lengths = [sum(len(s.split()) for s in a.sentences) for b in bases for a in b.articles]
    print(f"Full text on summary-only feeds: Timeline17 {', '.join(topics)} on loopback {origin}; "
          f"Date-F1 as bench/timeline_eval.py (rank days by max of event {rank_by})")
    print(f"pages: per_host {PER_HOST}, delay 0s: the politeness delay is off for the bench (it measures extraction, not waiting)")
    print(f"runs: 1 = full feed (whole text in the item), full_text: never; 2 = summary only, full_text: never; "
          f"3 = summary only, full_text: auto")
    print(f"teasers: median {statistics.median(teasers):.0f} words, articles median {statistics.median(lengths):.0f} words")

    print("\ntopic   articles | run 1: entries events  F1   | run 2: entries events  F1   | run 3: entries events  F1   | F1(3)-F1(1)")
    for base in bases:
        per = runs[base.topic]
        cells = []
        for key, *_ in RUNS:
            r = per[key]
            cells.append(f"{sum(r.result.entries.values()):13d} {len(r.result.events):6d} {macro(list(r.f1.values())):.3f}")
        d = macro(list(per["on"].f1.values())) - macro(list(per["full"].f1.values()))
        print(f"{base.topic:<7} {len(base.articles):8d} | " + " | ".join(cells) + f" | {d:+.3f}")
    print(f"{'timeline':<45} run 1   run 2   run 3")
    for base, gold in golds:
        name = f"{gold.outlet}/{gold.name}"
        print(f"  {base.topic:<6} {name:<36} " + "   ".join(f"{runs[base.topic][k].f1[name]:.3f}" for k, *_ in RUNS))
    f1 = {k: macro([runs[b.topic][k].f1[f"{g.outlet}/{g.name}"] for b, g in golds]) for k, *_ in RUNS}
    gap = f1["on"] - f1["full"]
    print(f"macro Date-F1 over {len(golds)} timelines: run 1 {f1['full']:.3f}, run 2 {f1['off']:.3f}, run 3 {f1['on']:.3f}")
    broken = [f"{t} run {i}" for t, per in runs.items() for i, (k, *_) in enumerate(RUNS, 1) if not per[k].ok]
    verdict = "PASS" if abs(gap) <= TARGET else "FAIL"
    if broken:
        verdict += f" (not meaningful: no entries or no timeline in {', '.join(broken)}; see below)"
    print(f"target |F1(3) - F1(1)| <= {TARGET}: {abs(gap):.3f} {verdict}")
    origins: Counter[str] = Counter()
    for per in runs.values():
        origins += per["on"].origins()
    if origins:
        print("run 3 event mentions by where the quote was read: " + ", ".join(f"{k} {v}" for k, v in origins.most_common()))

    print("\npages during the polls (server log: requests by status; tracker feeds where it counts pages):")
    for base in bases:
        for key, _, _, label in RUNS:
            r = runs[base.topic][key]
            req = r.requests
            pages = {s: n for (kind, s), n in req.items() if kind == "page"}
            fetched, failed = pages.get(200, 0) + pages.get(304, 0), sum(n for s, n in pages.items() if s not in (200, 304))
            told = page_counts(r.feeds)
            print(f"  {base.topic:<6} {label:<24} {fetched:5d} fetched, {failed} failed, robots.txt {sum(n for (k, _), n in req.items() if k == 'robots')}, "
                  f"other {sum(n for (k, _), n in req.items() if k == 'other')}; tracker: "
                  + (", ".join(f"{k} {v}" for k, v in sorted(told.items())) or "no page counts in `tracker feeds --format json`"))
            for line in r.result.poll_lines:
                if "full text" in line:
                    print(f"         poll: {line}")
            if r.result.poll_rc != 0 or not r.ok:
                print(f"         poll exit {r.result.poll_rc}: {' | '.join(r.result.poll_lines)[:300]} {r.stderr[-300:]}")

    print(f"\nwall time of `tracker poll` (cold, new database; run 3 polls again while pages wait, tracker reading a bounded "
          f"number per poll):")
    for base in bases:
        secs = {k: runs[base.topic][k].result.poll_seconds or float("nan") for k, *_ in RUNS}
        n, polls = len(base.articles), runs[base.topic]["on"].polls
        print(f"  {base.topic:<6} run 1 {secs['full']:5.1f} s, run 2 {secs['off']:5.1f} s, "
              f"run 3 {secs['on']:5.1f} s{f' ({polls} polls)' if polls > 1 else ''}; per article: "
              f"run 3 - run 2 {1000 * (secs['on'] - secs['off']) / n:.1f} ms (pages and their extraction), "
              f"run 3 - run 1 {1000 * (secs['on'] - secs['full']) / n:.1f} ms (pages vs the text in the feed)")

    print("\ncost per page, in-process (tracker.fulltext: PageFetcher.fetch + extract_page, one page at a time), "
          f"median ms; baseline: feedparser.parse of the topic's full feed documents, time per entry (median of {PARSES} parses):")
    if isinstance(cost, str):
        print(f"  {cost}")
    else:
        costs, failed = cost
        groups = [(t, [c for c in costs if c.topic == t], parse_ms[t]) for t in topics] + [("all", costs, parse_all)]
        for name, group, per_entry in groups:
            if not group:
                print(f"  {name:<6} no page fetched")
                continue
            med = {k: statistics.median(getattr(c, k) for c in group) for k in ("fetch", "extract", "total")}
            print(f"  {name:<6} {len(group):4d} pages: fetch {med['fetch']:6.2f} + extraction {med['extract']:6.2f} = {med['total']:6.2f} ms; "
                  f"feedparser {per_entry:.3f} ms/entry; ratio {med['total'] / per_entry:5.0f}x")
        if costs:
            print(f"  {failed} of {len(sample)} sampled pages failed; extracted text: median "
                  f"{100 * statistics.median(c.recall for c in costs):.1f}% of the article's words, "
                  f"{100 * statistics.median(c.extra for c in costs):.1f}% words not the article's (mean {100 * statistics.fmean(c.extra for c in costs):.1f}%, "
                  f"{sum(c.extra > 0 for c in costs)} pages with any); "
                  f"published date = article day on {sum(c.dated for c in costs)}/{len(costs)}")
    if tmp is None:
        print(f"\nfolders kept in {workdir}/<topic>/{{full,off,on}}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
