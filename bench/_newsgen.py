"""Deterministic generated news feeds: realistic paragraphs with relative dates and topic words."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from tracker.config import Topic

# The story the bench follows, as in samples/demo.yaml.
TOPICS: dict[str, Topic] = {
    "sora": Topic(name="sora", title="OpenAI Sora", keywords=("Sora", "text-to-video")),
    "hollywood-meetings": Topic(
        name="hollywood-meetings", title="Hollywood meetings", keywords=("Hollywood", "studio*", "meeting*")
    ),
    "strikes": Topic(name="strikes", title="Writers' and actors' strikes", keywords=("strike*", "SAG-AFTRA", "Writers Guild")),
}

_DATES = (
    "last week", "on Tuesday", "in mid-February", "next month", "on March 25", "earlier this year",
    "two days later", "in the third quarter", "by the end of the year", "yesterday", "in 2023",
    "next spring", "on Friday", "last month", "in early January", "next week", "this summer",
    "on Feb. 15", "late last year", "within two weeks",
)
_ON_TOPIC = (
    "OpenAI showed its text-to-video model Sora to Hollywood studio executives {d}.",
    "The studios held a first round of meetings with the company {d}, people familiar with the plans said.",
    "Writers and actors went on strike {d}, in part to win protections against artificial intelligence.",
    "SAG-AFTRA leaders plan to meet members {d} to discuss the new contract terms.",
    "The Writers Guild said {d} that it would review how Sora clips are used in production.",
    "Several Hollywood producers expect the first commercial Sora projects {d}.",
    "It was unveiled {d} with photorealistic clips of up to a minute.",
    "The company plans more meetings with talent agencies in Los Angeles {d}.",
)
_OFF_TOPIC = (
    "The city council approved the new budget {d} after a long debate about transit funding.",
    "Shares of regional banks rose {d} as investors weighed the latest inflation report.",
    "The home team won its third straight game {d}, moving into second place in the league.",
    "Forecasters expect heavy rain along the coast {d}, with flooding possible in low areas.",
    "The retailer said sales in its stores grew {d}, helped by strong demand for groceries.",
    "A new phone from Pixelon is expected to go on sale {d} at a higher price than last year's model.",
    "Officials said the bridge repairs would be finished {d}, ahead of the original schedule.",
    "The museum will open an exhibition of early photography {d}, its curator said.",
    "Airline passengers faced long delays {d} after a software fault grounded several flights.",
    "The university announced {d} that tuition would stay flat for a second year.",
)
_FILLER = (
    "Analysts said the move reflected a broader shift in the industry.",
    "\u201cWe are watching this closely,\u201d said Dana Whitlock, an analyst at Harbor Lane Research.",
    "The details could still change, and the company did not respond to a request for comment.",
    "Critics warned that costs could rise and that smaller firms would struggle to keep up.",
    "The plan has drawn support from local groups as well as from several larger companies.",
    "Representatives for the parties declined to say how long the talks would take.",
)
_TITLES_ON = ("OpenAI Brings Sora to Hollywood", "Studios Weigh Sora After Strikes", "Hollywood Meetings Continue")
_TITLES_OFF = ("Council Passes Budget", "Banks Rally on Data", "Home Team Wins Again", "Storm Warning Issued",
               "Retail Sales Climb", "Pixelon Phone Leak", "Bridge Repairs Ahead of Schedule")


def article(rng: random.Random, on_topic: bool) -> tuple[str, str]:
    """(title, HTML body) of one article: 4-7 paragraphs of 2-4 sentences, most with a date."""
    pool = _ON_TOPIC if on_topic else _OFF_TOPIC
    paragraphs = []
    for _ in range(rng.randint(4, 7)):
        sentences = []
        for _ in range(rng.randint(2, 4)):
            if rng.random() < 0.6:
                # On-topic articles still carry context sentences about other things.
                source = pool if not on_topic or rng.random() < 0.5 else _OFF_TOPIC
                template = source[rng.randrange(len(source))]
                sentences.append(template.format(d=rng.choice(_DATES)))
            else:
                sentences.append(rng.choice(_FILLER))
        paragraphs.append("<p>" + escape(" ".join(sentences)) + "</p>")
    titles = _TITLES_ON if on_topic else _TITLES_OFF
    return rng.choice(titles), "\n".join(paragraphs)


def feed_document(index: int, articles: int, *, on_topic_share: float = 0.3, seed: int = 7, skip: int = 0) -> bytes:
    """One RSS 2.0 feed of `articles` items with content:encoded, dated over early 2024.

    `skip` drops that many of the first items: (articles=20, skip=1) is the (20, 0) feed
    with its first item gone and one more at the end, as a feed rolls on.
    """
    rng = random.Random(seed * 100_003 + index)
    base = datetime(2024, 3, 23, 10, 0, tzinfo=timezone.utc)
    items = []
    for n in range(articles + skip):
        title, body = article(rng, rng.random() < on_topic_share)
        published = base - timedelta(hours=rng.randint(1, 24 * 80), minutes=rng.randint(0, 59))
        link = f"https://outlet{index}.example.test/2024/{n:04d}/"
        summary = body.split("</p>", 1)[0] + "</p>"
        items.append(
            f"<item><title>{escape(title)}</title><link>{link}</link>"
            f"<guid isPermaLink=\"false\">outlet{index}-{n}</guid>"
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<dc:creator>Staff Writer {n % 7}</dc:creator>"
            f"<description><![CDATA[{summary}]]></description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    items = items[skip:]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {index}</title><link>https://outlet{index}.example.test/</link>"
        f"<description>Generated news feed {index}</description>\n" + "\n".join(items) + "\n</channel></rss>\n"
    ).encode("utf-8")


def write_feeds(folder: Path, feeds: int, articles: int, *, on_topic_share: float = 0.3, seed: int = 7) -> list[Path]:
    """Write `feeds` generated documents into `folder`; the same arguments give the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(feeds):
        path = folder / f"gen{i:04d}.xml"
        path.write_bytes(feed_document(i, articles, on_topic_share=on_topic_share, seed=seed))
        paths.append(path)
    return paths
