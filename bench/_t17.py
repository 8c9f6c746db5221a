"""Timeline17 reading for the benchmarks: articles, gold timelines, PTB detokenizing, RSS writing.

The data stays where it is (``../shared/data/t17``); nothing here copies it. Layout, from
the data folder's README: ``t17/<Topic_outlet>/InputDocs/<YYYY-MM-DD>/<id>.htm.txt`` (one
sentence a line, Penn-Treebank tokenized), ``t17/<Topic_outlet>/timelines/*.txt`` (gold
timelines: a date line, summary lines, a line of dashes) and ``t17/_keywords/<topic>.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import format_datetime
from html import escape as html_escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

__all__ = [
    "TOPICS",
    "Article",
    "article_html",
    "GoldTimeline",
    "detokenize",
    "feeds_yaml",
    "load_articles",
    "load_gold",
    "load_keywords",
    "rss_document",
    "topic_folders",
]

# Topic -> folder-name prefixes of its outlets (the keyword file is _keywords/<topic>.json).
TOPICS: dict[str, tuple[str, ...]] = {
    "bpoil": ("bpoil_",),
    "haiti": ("haiti_",),
    "mj": ("MJ_",),
    "libya": ("LibyaWar_",),
}

# --------------------------------------------------------------------------- detokenizing

# Token -> (text, glued to the next token, glued to the previous one). Anything else is a
# word, or punctuation when made of .,:;?!% only.
_SPECIAL: dict[str, tuple[str, bool, bool]] = {
    "``": ('"', True, False),
    "`": ("'", True, False),
    "''": ('"', False, True),
    # A closing single quote or a plural possessive ("countries '"): both glue left.
    "'": ("'", False, True),
    "-LRB-": ("(", True, False),
    "-RRB-": (")", False, True),
    "-LSB-": ("[", True, False),
    "-RSB-": ("]", False, True),
    "-LCB-": ("{", True, False),
    "-RCB-": ("}", False, True),
    "(": ("(", True, False),
    ")": (")", False, True),
    "[": ("[", True, False),
    "]": ("]", False, True),
    "$": ("$", True, False),
    "#": ("#", True, False),
}
for _clitic in ("'s", "'re", "'ve", "'m", "'ll", "'d", "n't"):
    for _form in (_clitic, _clitic.upper()):
        _SPECIAL[_form] = (_form, False, True)
_PUNCT_START = frozenset(".,:;?!%")
_PUNCT = re.compile(r"[.,:;?!%]+")
# PTB splits "gonna", "wanna", "gotta" in two.
_SPLIT_WORDS = {("gon", "na"), ("wan", "na"), ("got", "ta")}


def detokenize(line: str) -> str:
    """Undo Penn-Treebank tokenization of one sentence, as news text would read.

    Two backticks and two apostrophes become straight double quotes, a backtick and a lone
    apostrophe single ones; -LRB-/-RRB- (and -LSB-/-RSB-, -LCB-/-RCB-) become brackets. No
    space before punctuation, closing quotes and brackets, 's, n't and the other clitics;
    none after opening quotes and brackets, $ and #. ``\\/`` and ``\\*`` are unescaped,
    "gon na" becomes "gonna", and the doubled final period of "U.S. ." is dropped. "can not"
    stays (PTB also splits "cannot", but "can not" is English as well).

    >>> detokenize("BP pledged $ 500m -LRB- # 346m -RRB- to study the spill 's impact .")
    "BP pledged $500m (#346m) to study the spill's impact."
    >>> detokenize("`` We ca n't , '' he said : ` no . '")
    '"We can\\'t," he said: \\'no.\\''
    >>> detokenize("The U.S. -LSB- sic -RSB- wo n't go to the U.S. . They 're gon na 9\\/11")
    "The U.S. [sic] won't go to the U.S. They're gonna 9/11"
    """
    out: list[str] = []
    prev = ""
    glue_next = True  # nothing before the first token
    for tok in line.split():
        if "\\" in tok:
            tok = tok.replace("\\/", "/").replace("\\*", "*")
        special = _SPECIAL.get(tok)
        if special is not None:
            text, opener, closer = special
        elif tok[0] in _PUNCT_START and _PUNCT.fullmatch(tok):
            if tok == "." and prev.endswith("."):
                continue  # "U.S. ." at the end of a sentence
            text, opener, closer = tok, False, True
        elif (tok == "na" or tok == "ta") and (prev.lower(), tok) in _SPLIT_WORDS:
            text, opener, closer = tok, False, True
        else:
            text, opener, closer = tok, False, False
        out.append(text if glue_next or closer else " " + text)
        prev = text
        glue_next = opener
    return "".join(out).strip()


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class Article:
    """One Timeline17 article: its outlet folder, publication day, file id, and its lines
    as in the file (PTB tokens) and detokenized (`sentences`, blank lines dropped)."""

    outlet: str
    day: date
    id: str
    lines: tuple[str, ...]
    sentences: tuple[str, ...]

    @property
    def guid(self) -> str:
        """A stable identifier: outlet, day and file id."""
        return f"t17:{self.outlet}/{self.day.isoformat()}/{self.id}"

    @property
    def link(self) -> str:
        """A unique, never-resolvable URL (the .invalid TLD is reserved), so sources count per article."""
        return f"https://t17.invalid/{self.outlet}/{self.day.isoformat()}/{self.id}"

    def title(self, words: int = 15) -> str:
        """The first sentence, cut to `words` words (it often runs the headline into the lead)."""
        if not self.sentences:
            return ""
        parts = self.sentences[0].split()
        return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def _file_order(path: Path) -> tuple[int, str]:
    stem = path.name.split(".", 1)[0]
    return (int(stem) if stem.isdigit() else 1 << 62, path.name)


def load_articles(outlet_dir: Path) -> list[Article]:
    """Every article of one outlet folder, oldest day first, files in numeric order.

    Empty files are kept (with no sentences) so callers can count them; blank lines are dropped.
    """
    articles: list[Article] = []
    for day_dir in sorted(p for p in (outlet_dir / "InputDocs").iterdir() if p.is_dir()):
        day = date.fromisoformat(day_dir.name)
        for path in sorted((p for p in day_dir.iterdir() if p.is_file()), key=_file_order):
            text = path.read_text(encoding="utf-8", errors="replace")
            lines = tuple(line for line in text.splitlines() if line.strip())
            sentences = tuple(s for s in (detokenize(line) for line in lines) if s)
            articles.append(Article(outlet_dir.name, day, path.name.split(".", 1)[0], lines, sentences))
    return articles


def topic_folders(t17: Path, topic: str) -> list[Path]:
    """The outlet folders of a topic, sorted by name."""
    prefixes = TOPICS[topic]
    return sorted(p for p in t17.iterdir() if p.is_dir() and p.name.startswith(prefixes))


def load_keywords(t17: Path, topic: str) -> list[str]:
    """The topic's keywords from _keywords/<topic>.json (a JSON list of strings)."""
    value = json.loads((t17 / "_keywords" / f"{topic}.json").read_text(encoding="utf-8"))
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"_keywords/{topic}.json: expected a list of strings")
    return value


# --------------------------------------------------------------------------- gold timelines

_DATE_LINE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class GoldTimeline:
    """A gold timeline's dates (sorted, deduplicated) and what reading it noticed."""

    outlet: str
    name: str
    dates: tuple[date, ...]
    listed: int  # date lines in the file, duplicates included
    newest_first: bool  # the file lists its dates in descending order

    @property
    def first(self) -> date:
        return self.dates[0]

    @property
    def last(self) -> date:
        return self.dates[-1]


def load_gold(path: Path, outlet: str) -> GoldTimeline:
    """Read a gold timeline file: every line that is exactly a YYYY-MM-DD date opens a day."""
    listed: list[date] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _DATE_LINE.fullmatch(line.strip())
        if m:
            listed.append(date(int(m[1]), int(m[2]), int(m[3])))
    if not listed:
        raise ValueError(f"{path}: no date lines")
    descending = sum(1 for a, b in zip(listed, listed[1:]) if b < a)
    ascending = sum(1 for a, b in zip(listed, listed[1:]) if b > a)
    return GoldTimeline(outlet, path.name, tuple(sorted(set(listed))), len(listed), descending > ascending)


# --------------------------------------------------------------------------- feeds


def article_html(article: Article, layout: str = "lines") -> str:
    """The article as HTML: layout "lines" gives one <p> per line of the source (its sentence
    split kept); "article" detokenizes the whole text as one stream into a single <p> and
    leaves the sentence splitting to the reader (a line that begins with ", chairman ..."
    then joins the previous one)."""
    if layout == "article":
        return f"<p>{html_escape(detokenize(' '.join(article.lines)), quote=False)}</p>"
    if layout != "lines":
        raise ValueError(f"unknown layout {layout!r}")
    return "\n".join(f"<p>{html_escape(s, quote=False)}</p>" for s in article.sentences)


def rss_document(title: str, articles: list[Article], layout: str = "lines") -> bytes:
    """An RSS 2.0 document, newest first: per article a title, link, guid, pubDate at noon UTC
    and the text as content:encoded (see article_html for `layout`)."""
    items: list[str] = []
    for a in sorted(articles, key=lambda a: (a.day, _file_order(Path(a.id))), reverse=True):
        published = datetime(a.day.year, a.day.month, a.day.day, 12, 0, tzinfo=timezone.utc)
        body = article_html(a, layout)
        items.append(
            f"<item><title>{xml_escape(a.title())}</title><link>{xml_escape(a.link)}</link>"
            f'<guid isPermaLink="false">{xml_escape(a.guid)}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{xml_escape(title)}</title><link>https://t17.invalid/{xml_escape(title)}/</link>"
        f"<description>Timeline17 articles of {xml_escape(title)}</description>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    ).encode("utf-8")


def feeds_yaml(topic: str, keywords: list[str], feeds: dict[str, str], database: str = "tracker.db") -> str:
    """A tracker feeds.yaml: one topic with `keywords`, the given {name: relative path} feeds,
    a SQLite database beside the file. Strings are written as JSON, which YAML reads as is."""
    lines = [
        f"# Timeline17 topic {topic}, written by bench/timeline_eval.py",
        f"database: sqlite:///{database}",
        "defaults: {interval: 1d, timeout: 120s}",
        "topics:",
        f"  {json.dumps(topic)}: {{title: {json.dumps(topic)}, keywords: {json.dumps(keywords)}}}",
        "feeds:",
    ]
    lines += [f"  - {{name: {json.dumps(name)}, url: {json.dumps(path)}}}" for name, path in feeds.items()]
    return "\n".join(lines) + "\n"
