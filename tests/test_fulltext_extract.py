"""tracker.fulltext: main text, title and date of realistic article pages; charsets;
pages that yield nothing; which feed texts look like teasers."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tracker.fulltext import ExtractedPage, extract_page, looks_truncated

# --- the pages: fresh text written for these tests ---------------------------------------

BRIDGE_PARAGRAPHS = [
    "The Kestrel Street harbour bridge reopened to traffic on Thursday morning, eight months after "
    "engineers closed it when inspectors found corroded cables beneath the eastern span.",
    "Crews from the regional transport office replaced forty-two steel cables and resurfaced the deck "
    "during the winter, working through two storms that halted the job for nine days in January.",
    "The mayor, Ines Calloway, cut a ribbon at the western approach shortly after seven o'clock and said "
    "the closure had cost shopkeepers on both sides of the water a great deal of trade.",
    "Ferry operators, who carried an extra three thousand passengers a day while the crossing was shut, "
    "will return to their usual timetable on Monday, the port authority said.",
    "The transport office expects a second phase of work, on the lighting and the pedestrian railings, "
    "to begin in the autumn and to last about six weeks, with one lane kept open throughout.",
]
# Everything around the article: none of it may reach the extracted text.
BRIDGE_CHROME = [
    "We use cookies to improve your experience",
    "Accept all cookies",
    "Business and markets",
    "Weather forecast",
    "Related stories",
    "Ferry company doubles sailings during bridge closure",
    "Inspectors warn of rust on older river crossings",
    "Took them long enough, my commute doubled all winter",
    "they were nearly out of business by February",
    "All rights reserved",
    "Contact the newsroom",
]


def bridge_page(*, head: str = '<meta charset="utf-8">', extra_paragraph: str = "") -> str:
    paragraphs = "\n".join(f"  <p>{p}</p>" for p in BRIDGE_PARAGRAPHS)
    if extra_paragraph:
        paragraphs += f"\n  <p>{extra_paragraph}</p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
{head}
<title>Harbour bridge reopens after eight months of repairs | The Coastal Ledger</title>
<meta property="og:title" content="Harbour bridge reopens after eight months of repairs">
<meta property="article:published_time" content="2025-03-14T09:30:00+02:00">
<link rel="canonical" href="https://ledger.example/news/2025/harbour-bridge-reopens">
</head>
<body>
<div id="cookie-banner" class="cookie-consent">
  <p>We use cookies to improve your experience on our site. By continuing to browse you accept our
  cookie policy and the sharing of data with our advertising partners.</p>
  <button>Accept all cookies</button> <button>Manage preferences</button>
</div>
<header class="site-header">
  <nav class="main-nav">
    <ul>
      <li><a href="/">Home</a></li><li><a href="/local">Local news</a></li>
      <li><a href="/business">Business and markets</a></li><li><a href="/sport">Sport results</a></li>
      <li><a href="/weather">Weather forecast</a></li><li><a href="/subscribe">Subscribe today</a></li>
    </ul>
  </nav>
</header>
<main>
<article class="story">
  <h1>Harbour bridge reopens after eight months of repairs</h1>
  <p class="byline">By Marta Oyelaran</p>
{paragraphs}
</article>
<aside class="related">
  <h2>Related stories</h2>
  <ul>
    <li><a href="/news/ferry-timetable">Ferry company doubles sailings during bridge closure</a></li>
    <li><a href="/news/cable-inspection">Inspectors warn of rust on older river crossings</a></li>
    <li><a href="/news/shop-survey">Riverside traders count the cost of a quiet winter</a></li>
  </ul>
</aside>
<section id="comments" class="comments">
  <h3>Comments</h3>
  <div class="comment"><p class="comment-author">harbourwatcher</p>
    <p>Took them long enough, my commute doubled all winter and nobody apologised.</p></div>
  <div class="comment"><p class="comment-author">gullfan</p>
    <p>Great news for the bakery on the corner, they were nearly out of business by February.</p></div>
</section>
</main>
<footer class="site-footer">
  <p>Copyright 2025 The Coastal Ledger Media Group. All rights reserved.</p>
  <p><a href="/privacy">Privacy notice</a> | <a href="/terms">Terms of use</a> |
  <a href="/contact">Contact the newsroom</a></p>
</footer>
</body>
</html>
"""


ORCHARD_PARAGRAPHS = [
    "Apple growers in the Tarn valley began picking a week earlier than usual this year, after a dry "
    "and unusually warm September ripened the early varieties ahead of the cooperative's schedule.",
    "The cooperative's director, Paul Ferrand, said on Tuesday that the harvest would be about a fifth "
    "smaller than last year's because a late frost in April killed many of the blossoms on the slopes.",
    "Prices at the wholesale market in Toulouse rose by eleven percent over the past fortnight, and "
    "buyers from two supermarket chains have asked for contracts to be renegotiated before December.",
    "Seasonal workers arrived from Portugal and Romania at the end of August, and the cooperative plans "
    "to keep about forty of them on until the last late-ripening varieties are in, early in November.",
]
ORCHARD_CHROME = [
    "Sign up for our morning briefing",
    "Most read this week",
    "Council votes to close the swimming pool",
    "Share on social media",
    "Continue reading with a subscription",
    "I have bought from this cooperative for years",
    "Advertisement",
]
ORCHARD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Early harvest in the Tarn valley - Southern Farm Weekly</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Early harvest in the Tarn valley",
 "datePublished": "2024-09-24T22:15:00-04:00",
 "dateModified": "2024-09-26T08:00:00-04:00",
 "author": {"@type": "Person", "name": "Claire Mazet"}}
</script>
</head>
<body>
<div class="top-bar"><a href="/">Southern Farm Weekly</a> <a href="/login">Log in</a></div>
<div class="menu"><a href="/crops">Crops</a> <a href="/livestock">Livestock</a> <a href="/machinery">Machinery</a></div>
<div class="page">
  <div class="content">
    <h1>Early harvest in the Tarn valley</h1>
    <div class="share-buttons"><a href="#">Share on social media</a></div>
    <div class="article-body">
      <p>{0}</p>
      <div class="ad-slot"><span>Advertisement</span></div>
      <p>{1}</p>
      <p>{2}</p>
      <p>{3}</p>
    </div>
    <div class="newsletter-signup"><p>Sign up for our morning briefing and get the market prices in your
      inbox before seven.</p><form><input type="email"><button>Sign up</button></form></div>
  </div>
  <div class="sidebar">
    <h3>Most read this week</h3>
    <ol><li><a href="/a">Council votes to close the swimming pool</a></li>
        <li><a href="/b">Tractor prices climb for a third year</a></li></ol>
  </div>
  <div id="comments">
    <ol class="commentlist">
      <li class="comment"><p>I have bought from this cooperative for years and the apples never
        disappoint, whatever the weather did to them.</p></li>
    </ol>
  </div>
</div>
<div class="footer">Southern Farm Weekly, 12 rue des Vergers, Albi</div>
</body></html>
""".replace("{0}", ORCHARD_PARAGRAPHS[0]).replace("{1}", ORCHARD_PARAGRAPHS[1]).replace(
    "{2}", ORCHARD_PARAGRAPHS[2]
).replace("{3}", ORCHARD_PARAGRAPHS[3])

PAYWALL_LEAD = [
    "The city's tram operator will run its first driverless test journey on the airport line in "
    "the spring, the operator's chief executive told a transport conference in Lyon on Wednesday.",
    "The trial, which the regional government approved last month, will cover the six stops between "
    "the central station and the terminal, and passengers will not be carried until safety checks end.",
]
PAYWALL_PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Driverless trams to be tested on airport line</title>
<meta name="date" content="2025-01-22">
</head><body>
<nav><a href="/">Front page</a> <a href="/city">City</a> <a href="/jobs">Jobs and careers</a></nav>
<article>
  <h1>Driverless trams to be tested on airport line</h1>
  <p>{PAYWALL_LEAD[0]}</p>
  <p>{PAYWALL_LEAD[1]}</p>
  <div class="premium-wall" id="premium">
    <h2>This article is for subscribers</h2>
    <p>Continue reading with a subscription: your first three months for the price of one coffee.</p>
    <a href="/subscribe">Subscribe now</a> <a href="/login">Already a subscriber? Log in</a>
  </div>
</article>
<footer><p>Metro Courier, all rights reserved.</p></footer>
</body></html>
"""


def paragraphs_of(page: ExtractedPage) -> list[str]:
    return page.text.split("\n\n")


# --- main text -------------------------------------------------------------------------------


def test_news_article_keeps_its_paragraphs_and_drops_the_page_around_them() -> None:
    page = extract_page(bridge_page().encode("utf-8"), url="https://ledger.example/news/x", content_type="text/html")
    paragraphs = paragraphs_of(page)
    # Every article paragraph, whole, in order, each a paragraph of its own.
    positions = [paragraphs.index(p) for p in BRIDGE_PARAGRAPHS]
    assert positions == sorted(positions)
    for chrome in BRIDGE_CHROME:
        assert chrome not in page.text
    assert "\n\n\n" not in page.text and page.text == page.text.strip()
    assert page.title == "Harbour bridge reopens after eight months of repairs"


def test_article_among_ads_newsletter_sidebar_and_comments() -> None:
    page = extract_page(ORCHARD_PAGE.encode("utf-8"), url="https://farm.example/tarn", content_type="text/html")
    paragraphs = paragraphs_of(page)
    positions = [paragraphs.index(p) for p in ORCHARD_PARAGRAPHS]
    assert positions == sorted(positions)
    for chrome in ORCHARD_CHROME:
        assert chrome not in page.text
    assert page.title == "Early harvest in the Tarn valley"


def test_paywalled_article_gives_its_visible_lead_without_the_subscription_pitch() -> None:
    page = extract_page(PAYWALL_PAGE.encode("utf-8"), url="https://courier.example/trams", content_type="text/html")
    assert paragraphs_of(page)[-2:] == PAYWALL_LEAD
    for chrome in ("Continue reading with a subscription", "Subscribe now", "Jobs and careers", "all rights reserved"):
        assert chrome not in page.text
    # What the page shows is itself a teaser: the caller can tell.
    assert looks_truncated(page.text)


# --- dates and titles --------------------------------------------------------------------------


def test_published_time_from_open_graph_meta_is_aware_utc() -> None:
    page = extract_page(bridge_page().encode("utf-8"), url="https://ledger.example/news/x", content_type="text/html")
    assert page.published == datetime(2025, 3, 14, 7, 30, tzinfo=timezone.utc)
    assert page.published is not None and page.published.utcoffset() is not None


def test_published_time_from_json_ld_is_the_publication_not_the_update() -> None:
    page = extract_page(ORCHARD_PAGE.encode("utf-8"), url="https://farm.example/tarn", content_type="text/html")
    # 22:15 at UTC-4 is the next day in UTC.
    assert page.published == datetime(2024, 9, 25, 2, 15, tzinfo=timezone.utc)


def test_date_without_a_time_is_midnight_utc() -> None:
    page = extract_page(PAYWALL_PAGE.encode("utf-8"), url="https://courier.example/trams", content_type="text/html")
    assert page.published == datetime(2025, 1, 22, tzinfo=timezone.utc)


def test_page_without_any_date_metadata_has_none() -> None:
    html = bridge_page().replace('<meta property="article:published_time" content="2025-03-14T09:30:00+02:00">', "")
    html = html.replace("/2025/", "/")
    page = extract_page(html.encode("utf-8"), url="https://ledger.example/news/x", content_type="text/html")
    assert page.published is None
    assert BRIDGE_PARAGRAPHS[0] in page.text


def test_page_without_main_text_still_gives_title_and_date() -> None:
    html = (
        '<html><head><title>Photo gallery: the storm in pictures</title>'
        '<meta property="article:published_time" content="2025-02-03T18:00:00Z"></head>'
        '<body><nav><a href="/">Home</a></nav><img src="/1.jpg"><img src="/2.jpg"></body></html>'
    )
    page = extract_page(html.encode(), url="https://x.example/gallery", content_type="text/html")
    assert page.text == ""
    assert page.title == "Photo gallery: the storm in pictures"
    assert page.published == datetime(2025, 2, 3, 18, 0, tzinfo=timezone.utc)


# --- charsets --------------------------------------------------------------------------------------

CP1252_PARAGRAPH = (
    "The baker’s “summer café” on the quay – open since the reopening – sold crème brûlée and "
    "naïve little marzipan gulls to the first drivers across, and the queue reached the ferry ramp."
)
LATIN1_PARAGRAPH = (
    "Le maire a inauguré vendredi la nouvelle navette fluviale ; la traversée ne dure plus que "
    "douze minutes, et les vélos montent à bord sans supplément, même à Noël. Naïve ou pas, "
    "l'idée plaît : « c'est plus rapide que le pont », dit Agnès, pâtissière à Saint-Émilion."
)
SJIS_PARAGRAPHS = [
    "港の橋は八か月にわたる修理の後、木曜日の朝に再開通した。東側の径間の下で腐食したケーブルが"
    "見つかったため、技術者たちが昨年の夏に通行を止めていた。",
    "地域の交通局の作業員は冬の間に四十二本の鋼製ケーブルを交換し、路面を舗装し直した。"
    "一月には二度の嵐で工事が九日間中断した。",
    "市長は西側のたもとでテープカットを行い、閉鎖によって両岸の商店が大きな損失を受けたと述べた。"
    "フェリー会社は月曜日から通常の時刻表に戻るという。",
]


def test_windows_1252_declared_only_in_the_http_header() -> None:
    html = bridge_page(head="", extra_paragraph=CP1252_PARAGRAPH)
    body = html.encode("cp1252")
    page = extract_page(body, url="https://ledger.example/x", content_type="text/html; charset=windows-1252")
    assert CP1252_PARAGRAPH in paragraphs_of(page)


def test_header_charset_wins_over_a_wrong_meta_declaration() -> None:
    html = bridge_page(head='<meta charset="utf-8">', extra_paragraph=CP1252_PARAGRAPH)
    page = extract_page(html.encode("cp1252"), url="https://x.example/", content_type="text/html;charset=Windows-1252")
    assert CP1252_PARAGRAPH in paragraphs_of(page)


def test_iso_8859_1_declared_only_in_meta_charset() -> None:
    html = bridge_page(head='<meta charset="ISO-8859-1">', extra_paragraph=LATIN1_PARAGRAPH)
    page = extract_page(html.encode("iso-8859-1"), url="https://x.example/", content_type="text/html")
    assert LATIN1_PARAGRAPH in paragraphs_of(page)


def test_iso_8859_1_label_reads_windows_1252_quotes_as_browsers_do() -> None:
    html = bridge_page(head='<meta charset="iso-8859-1">', extra_paragraph=CP1252_PARAGRAPH)
    page = extract_page(html.encode("cp1252"), url="https://x.example/", content_type=None)
    assert CP1252_PARAGRAPH in paragraphs_of(page)


def test_shift_jis_declared_only_in_meta_http_equiv() -> None:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in SJIS_PARAGRAPHS)
    html = f"""<html lang="ja"><head>
<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
<title>港の橋が再開通</title></head>
<body><ul class="menu"><li><a href="/">ホーム</a></li><li><a href="/sports">スポーツ</a></li></ul>
<article><h1>港の橋が再開通</h1>
{paragraphs}
</article>
<div class="footer">著作権 海岸新聞社</div></body></html>"""
    body = html.encode("shift_jis")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    page = extract_page(body, url="https://umi.example/bridge", content_type="text/html")
    assert [p for p in paragraphs_of(page) if p in SJIS_PARAGRAPHS] == SJIS_PARAGRAPHS
    assert page.title == "港の橋が再開通"
    assert "著作権" not in page.text


def test_byte_order_mark_is_decisive() -> None:
    html = bridge_page(head="", extra_paragraph=CP1252_PARAGRAPH)
    body = b"\xef\xbb\xbf" + html.encode("utf-8")
    page = extract_page(body, url="https://x.example/", content_type="text/html; charset=iso-8859-1")
    assert CP1252_PARAGRAPH in paragraphs_of(page)


def test_unknown_charset_label_falls_back_to_detection() -> None:
    html = bridge_page(head='<meta charset="x-no-such-charset">', extra_paragraph=CP1252_PARAGRAPH)
    page = extract_page(html.encode("utf-8"), url="https://x.example/", content_type="text/html; charset=bogus")
    assert CP1252_PARAGRAPH in paragraphs_of(page)


# --- pages that yield nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"\x00\x01\x02\xff\xfe garbage \x89PNG\r\n\x1a\n",
        b"<html>",
        b"<html><body></body></html>",
        b"<" * 10_000,
        b"<div>" * 20_000 + b"deep" + b"</div>" * 20_000,
        b"<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
    ],
    ids=["empty", "blank", "binary", "open-tag", "empty-body", "angles", "deep", "xml-decl"],
)
def test_bad_html_never_raises(body: bytes) -> None:
    page = extract_page(body, url="https://x.example/", content_type="text/html")
    assert isinstance(page, ExtractedPage)
    assert isinstance(page.text, str)
    assert "\x00" not in page.text


def test_a_page_of_a_hundred_thousand_paragraphs_costs_bounded_time() -> None:
    # Unbounded, trafilatura would take most of a minute on this (its time grows with
    # the square of the tree); the page is read up to its first tags instead.
    filler = "<p>Filler paragraph of a page built to be slow to extract, one of many.</p>\n" * 100_000
    html = bridge_page().replace("</article>", filler + "</article>")
    assert len(html) > 7 * 2**20
    started = time.monotonic()
    page = extract_page(html.encode("utf-8"), url="https://x.example/", content_type="text/html")
    assert time.monotonic() - started < 10
    assert BRIDGE_PARAGRAPHS[0] in page.text
    assert page.published == datetime(2025, 3, 14, 7, 30, tzinfo=timezone.utc)


def test_a_third_party_error_is_translated_to_empty_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("lxml fell over")

    monkeypatch.setattr(trafilatura, "bare_extraction", broken)
    page = extract_page(bridge_page().encode(), url="https://x.example/", content_type="text/html")
    assert page == ExtractedPage(text="", title=None, published=None)


# --- looks_truncated -------------------------------------------------------------------------------

FULL_TEXT = "\n\n".join(BRIDGE_PARAGRAPHS + ORCHARD_PARAGRAPHS)


def test_full_article_text_is_not_truncated() -> None:
    assert len(FULL_TEXT.split()) > 200
    assert not looks_truncated(FULL_TEXT)
    assert not looks_truncated(FULL_TEXT, title="Harbour bridge reopens")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        BRIDGE_PARAGRAPHS[0],
        "\n\n".join(BRIDGE_PARAGRAPHS[:3]),
    ],
    ids=["empty", "blank", "one-paragraph", "three-paragraphs"],
)
def test_short_texts_are_teasers(text: str) -> None:
    assert looks_truncated(text)


def test_japanese_is_counted_without_spaces() -> None:
    teaser = SJIS_PARAGRAPHS[0]
    assert looks_truncated(teaser)
    # About 700 characters: a short article, not a teaser.
    article = "\n\n".join(SJIS_PARAGRAPHS * 3)
    assert 500 < len(article) < 1000
    assert not looks_truncated(article)


def test_the_title_repeated_in_front_does_not_count_as_text() -> None:
    title = " ".join(["Word"] * 30)
    body = " ".join(["text"] * 60)
    assert not looks_truncated(title + " " + body + " " + " ".join(["more"] * 30))
    assert looks_truncated(title + "\n\n" + body + " " + " ".join(["more"] * 30), title=title)


@pytest.mark.parametrize("ending", ["...", "…", " […]", " [...]", " (…)", '…"', "… »", "[&hellip;]".replace("&hellip;", "…")])
def test_long_text_ending_in_an_ellipsis_is_a_teaser(ending: str) -> None:
    assert looks_truncated(FULL_TEXT.rstrip(".") + ending)


@pytest.mark.parametrize(
    "last_line",
    [
        "Read more",
        "Read more »",
        "[Read more...]",
        "Read More at The Coastal Ledger",
        "Continue reading →",
        "Continue reading Harbour bridge reopens after eight months of repairs",
        "Keep reading",
        "Read the full story",
        "Read the full article on ledger.example.",
        "Read the rest of this entry »",
        "Weiterlesen",
        "Lire la suite »",
        "Leer más",
    ],
)
def test_long_text_ending_in_a_link_line_is_a_teaser(last_line: str) -> None:
    assert looks_truncated(FULL_TEXT + "\n\n" + last_line)


@pytest.mark.parametrize(
    "footer",
    [
        "The post Harbour bridge reopens after eight months of repairs appeared first on The Coastal Ledger.",
        "The post Early harvest in the Tarn valley first appeared on Southern Farm Weekly",
    ],
)
def test_the_wordpress_footer_is_judged_by_what_comes_before_it(footer: str) -> None:
    # WordPress puts it under whole posts and excerpts alike.
    assert not looks_truncated(FULL_TEXT + "\n\n" + footer)
    assert looks_truncated(FULL_TEXT + " […]\n\n" + footer)
    assert looks_truncated(FULL_TEXT + "\n\nContinue reading →\n\n" + footer)
    assert looks_truncated("A short excerpt of the story. […]\n\n" + footer)
    assert looks_truncated(footer)


def test_link_phrase_at_the_end_of_the_same_paragraph() -> None:
    assert looks_truncated(FULL_TEXT + " Read more")
    assert looks_truncated(FULL_TEXT + " Continue reading...")


@pytest.mark.parametrize(
    "closing",
    [
        "Teachers in the district read more than any other profession, the survey found.",
        "Residents said they would keep reading the council's notices with care.",
        "The full story of the repairs, the engineers said, would be told in a report next year.",
        "Ellipses... appear in quotes too, but not at the end.",
    ],
)
def test_ordinary_closing_sentences_are_not_link_lines(closing: str) -> None:
    assert not looks_truncated(FULL_TEXT + "\n\n" + closing)
