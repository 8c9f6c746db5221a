"""Digests end to end through the CLI and a real loopback SMTP server: content, new-only, preview, escaping."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from test_digest_support import (  # noqa: F401  (fixtures)
    FakeClock,
    SmtpServer,
    add_event,
    add_source,
    change_date,
    open_tracker,
    smtp,
    story,
    write_config,
)
from tracker.cli import cli
from tracker.digest import header_text
from tracker.store.models import Digest, DigestItem, DigestMark


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def counts(config: Path) -> tuple[int, int, int]:
    tracker = open_tracker(config)
    with tracker.store.read() as s:
        out = (
            s.scalar(select(func.count()).select_from(Digest)) or 0,
            s.scalar(select(func.count()).select_from(DigestItem)) or 0,
            s.scalar(select(func.count()).select_from(DigestMark)) or 0,
        )
    tracker.close()
    return out


def seeded(tmp_path: Path, port: int, **options: object) -> Path:
    """A config (write_config: options, database=...) and a database holding story()."""
    config = write_config(tmp_path, port, **options)  # type: ignore[arg-type]
    tracker = open_tracker(config)
    story(tracker)
    tracker.close()
    return config


def test_first_digest_content_parts_headers_grouping(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = seeded(tmp_path, smtp.port, database=database_url)
    code, out, err = run(config, "digest", "send")
    assert code == 0, err
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received.mail_from == "tracker@news.example.org"
    assert sorted(received.rcpt_tos) == ["editor@example.com", "newsroom@example.com"]
    msg = received.message
    assert msg["Subject"] == "3 new developments: OpenAI Sora, Hollywood meetings, strikes"
    assert msg["To"] == "newsroom@example.com, editor@example.com"
    assert msg["From"] == "Tracker <tracker@news.example.org>"
    assert msg["Date"] and msg["Date"].datetime is not None
    assert re.fullmatch(r"<[^<>@\s]+@news\.example\.org>", msg["Message-ID"])
    assert msg["Message-ID"] in out and "sent" in out
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]

    # Grouped by topic in config order; an event of two topics is under both, cross-referenced.
    assert text.index("OpenAI Sora\n===") < text.index("Hollywood meetings\n===") < text.index("strikes\n===")
    sora = text[text.index("OpenAI Sora\n"):text.index("Hollywood meetings\n===")]
    meetings = text[text.index("Hollywood meetings\n==="):text.index("strikes\n===")]
    # Ordered by event date, each at its precision, with kind, summary and sources.
    assert sora.index("mid-February 2024: NEW") < sora.index("week of 25 March 2024: NEW")
    assert "  OpenAI unveils Sora, a text-to-video model" in sora
    assert "  Also under: Hollywood meetings" in sora
    assert "  - techwire: OpenAI shows Sora\n    https://techwire.example/sora" in sora
    assert "  - screenbeat: Sora stuns studios" in sora
    assert "week of 25 March 2024: NEW\n  OpenAI meets Hollywood studios in Los Angeles\n  Sources: see OpenAI Sora above." in meetings
    assert "mid-February" not in meetings
    assert "* 2023: NEW" in text
    assert "2 sources:" in text
    for needle in ("mid-February 2024", "week of 25 March 2024", ">2023<", "OpenAI Sora</h2>", "NEW</span>",
                   '<a href="https://techwire.example/sora">OpenAI shows Sora</a>', "techwire: "):
        assert needle in html, needle
    assert "<img" not in html and "<style" not in html and "<script" not in html

    # Marked sent: nothing new now.
    assert counts(config) == (1, 3, 3)
    code, out, _ = run(config, "digest", "send")
    assert code == 0 and "nothing to send" in out
    assert len(smtp.messages) == 1


def test_nothing_pending_sends_nothing_exit_0(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, smtp.port, database=database_url)
    code, out, _ = run(config, "digest", "send")
    assert (code, smtp.messages) == (0, [])
    assert "nothing to send" in out
    code, out, _ = run(config, "digest", "preview")
    assert code == 0 and "nothing to send" in out
    assert counts(config) == (0, 0, 0)


def test_next_digest_holds_only_what_is_new(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = seeded(tmp_path, smtp.port, database=database_url)
    assert run(config, "digest", "send")[0] == 0
    tracker = open_tracker(config)
    add_source(tracker, "ev-meet", "screenbeat", "Studios line up to meet OpenAI", "https://screenbeat.example/meet")
    change_date(tracker, "ev-unveil", value="2024-02-15", granularity="day", start=date(2024, 2, 15), end=date(2024, 2, 15))
    add_event(tracker, "ev-new", summary="Sora opens to filmmakers", topics=["sora"], value="2024-Q2",
              granularity="quarter", start=date(2024, 4, 1), end=date(2024, 6, 30),
              sources=[("techwire", "Sora for filmmakers", "https://techwire.example/q2")])
    tracker.close()
    code, _, err = run(config, "digest", "send")
    assert code == 0, err
    assert len(smtp.messages) == 2
    msg = smtp.messages[1].message
    assert msg["Subject"] == "1 new, 2 updated developments: OpenAI Sora, Hollywood meetings"
    assert msg["Message-ID"] != smtp.messages[0].message["Message-ID"]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "strike" not in text.lower()
    assert "* 15 February 2024: UPDATED (date changed, was mid-February 2024)" in text
    assert "* week of 25 March 2024: UPDATED (1 new source)" in text
    assert "* Q2 2024: NEW" in text
    # Date order within the topic.
    sora = text[: text.index("Hollywood meetings\n===")]
    assert sora.index("15 February") < sora.index("week of 25 March") < sora.index("Q2 2024")
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "UPDATED</span>" in html and "1 new source" in html
    assert run(config, "digest", "send")[1].startswith("nothing to send")


def test_preview_prints_what_send_sends_and_changes_nothing(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = seeded(tmp_path, smtp.port, database=database_url)
    code, preview, _ = run(config, "digest", "preview")
    assert code == 0
    assert counts(config) == (0, 0, 0)
    assert run(config, "digest", "preview")[1] == preview
    assert smtp.messages == []
    head, _, body = preview.partition("\n\n")
    assert head.splitlines() == [
        "Subject: 3 new developments: OpenAI Sora, Hollywood meetings, strikes",
        "From: Tracker <tracker@news.example.org>",
        "To: newsroom@example.com, editor@example.com",
    ]
    run(config, "digest", "send")
    sent = smtp.messages[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert body == sent
    code, html, err = run(config, "digest", "preview", "--html")
    assert code == 0 and html == "" and "nothing to send" in err  # stdout is for HTML only


def test_hostile_feed_text_cannot_inject_headers_or_markup(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, smtp.port, database=database_url)
    tracker = open_tracker(config)
    evil = "Sora\r\nBcc: victim@evil.example\r\n\r\n<script>alert(1)</script> & <b>bold</b>"
    add_event(tracker, "ev-evil", summary=evil, topics=["sora"], value="2024-03-25", granularity="day",
              start=date(2024, 3, 25), end=date(2024, 3, 25),
              sources=[("techwire", evil, "javascript:alert(1)"),
                       ("screenbeat", "ok <img src=x onerror=alert(1)>", 'https://x.example/"><script>')])
    tracker.close()
    code, _, err = run(config, "digest", "send")
    assert code == 0, err
    received = smtp.messages[0]
    assert "victim@evil.example" not in received.rcpt_tos
    msg = received.message
    assert msg["Bcc"] is None
    assert sorted(k.lower() for k in msg.keys()) == sorted(
        ["subject", "from", "to", "date", "message-id", "auto-submitted", "content-type", "mime-version"]
    )
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script" not in html and "<img" not in html and "javascript:alert" not in html.replace("(javascript:alert(1))", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="javascript' not in html and "(javascript:alert(1))" in html
    assert 'href="https://x.example' not in html
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "  Sora Bcc: victim@evil.example <script>alert(1)</script> & <b>bold</b>" in text
    assert "(link not shown as a link: javascript:alert(1))" in text


def test_header_text_strips_controls() -> None:
    assert header_text("a\r\nBcc: x\x00\x85\u2028b\tc") == "a Bcc: x b c"


def test_topic_filter_and_missing_digest_section(smtp: SmtpServer, tmp_path: Path, database_url: str) -> None:
    config = seeded(tmp_path, smtp.port, topics_filter=["strikes"], database=database_url)
    code, out, _ = run(config, "digest", "preview")
    assert code == 0 and out.startswith("Subject: 1 new development: strikes\n")
    assert "Sora" not in out
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"database: sqlite:///{tmp_path / 'p.db'}\nfeeds: [x.xml]\n", encoding="utf-8")
    for command in ("send", "preview"):
        code, _, err = run(plain, "digest", command)
        assert code == 2
        assert err.strip() == "tracker: error: plain.yaml: digest: missing: add a 'digest' section with to, from and smtp (see `tracker digest --help`)"
