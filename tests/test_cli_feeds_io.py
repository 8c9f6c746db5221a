"""`tracker init`, `tracker feeds import` and `tracker feeds export`: real files, the real CLI."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tracker.cli import cli
from tracker.config import load_config
from tracker.errors import ConfigError
from tracker.feedsfile import replace_atomically

ROOT = Path(__file__).resolve().parents[1]

OPML = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Tech">
      <outline text="The Verge \u2014 AI" type="rss" xmlUrl="https://www.theverge.com/rss/ai-artificial-intelligence/index.xml"/>
      <outline text="Ars &amp; Technica" xmlUrl="https://feeds.arstechnica.com/arstechnica/index?a=1&amp;b=2"/>
      <outline text="Deeper">
        <outline title="Deep one" xmlUrl="http://deep.example.org/rss"/>
      </outline>
    </outline>
    <outline text="Known again" xmlUrl="https://KNOWN.example.com/feed.xml"/>
    <outline text="Gopher" xmlUrl="gopher://old.example/feed"/>
    <outline text="known" xmlUrl="https://other.example.com/feed.xml"/>
    <outline text="" xmlUrl="https://www.nameless.example.net/x.rss"/>
  </body>
</opml>
"""

CONFIG = """\
# My feeds.
database: sqlite:///tracker.db   # beside this file

topics:
  sora: {title: OpenAI Sora, keywords: [Sora]}

feeds:
  # The one I started with.
  - name: known
    url: https://known.example.com/feed.xml   # keep this comment
    topics: [sora]

# digest:
#   to: [me@example.com]
"""


def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def only_insertions(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`; fails if any line of `before` changed or moved."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(keepends=True), b=after.splitlines(keepends=True), autojunk=False)
    added: list[str] = []
    for op, _a0, _a1, b0, b1 in matcher.get_opcodes():
        assert op in ("equal", "insert"), (op, before, after)
        if op == "insert":
            added += after.splitlines()[b0:b1]
    return added


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def opml(tmp_path: Path) -> Path:
    path = tmp_path / "subs.opml"
    path.write_text(OPML, encoding="utf-8")
    return path


# --- tracker init ---------------------------------------------------------------------


def test_init_writes_a_commented_starter_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    result = run("--config", str(path), "init")
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.stdout
    assert "tracker poll" in result.stdout and "tracker timeline" in result.stdout
    assert "--config" not in result.stdout  # the file is the one tracker reads anyway

    config = load_config(path)
    assert config.database_url == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert config.feeds and config.topics and config.topics[next(iter(config.topics))].keywords
    assert config.digest is None
    text = path.read_text(encoding="utf-8")
    for explained in ("# Where events", "# Settings for every feed", "# Topics:", "Keywords match", "# Feeds:", "# Digest", "# Alerts"):
        assert explained in text
    assert "\n# digest:\n" in text and "#   smtp:\n" in text


def test_init_commented_examples_are_valid_once_uncommented(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    assert run("--config", str(path), "init").exit_code == 0
    text = path.read_text(encoding="utf-8")
    # Uncomment the digest section and the example feed: the file must still load.
    text = re.sub(r"(?m)^(\s*)# (\s*(?:- |[a-z_]+:))", r"\1\2", text)
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.digest is not None and config.digest.smtp.password_env == "TRACKER_SMTP_PASSWORD"
    assert [f.name for f in config.feeds][1:] == ["my-paper", "archive"]
    assert "space" in config.topics
    assert [(t.name, t.key_only, t.min_outlets) for t in config.alerts] == [("phone", True, 2)]


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\n", encoding="utf-8")
    result = run("--config", str(path), "init")
    assert result.exit_code == 2
    assert result.stderr == f"tracker: error: {path}: already exists, left unchanged (use --force to overwrite it)\n"
    assert path.read_text(encoding="utf-8") == "feeds: []\n"

    result = run("--config", str(path), "init", "--force")
    assert result.exit_code == 0, result.output
    assert load_config(path).feeds
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]  # no temporary file left


def test_init_default_path_follows_tracker_config_and_explicit_path_is_shown(tmp_path: Path) -> None:
    env_path = tmp_path / "from-env" / "feeds.yaml"
    result = run("init", env={"TRACKER_CONFIG": str(env_path)})
    assert result.exit_code == 0, result.output
    assert env_path.is_file()

    other = tmp_path / "other.yaml"
    result = run("init", str(other), env={"TRACKER_CONFIG": str(env_path)})
    assert result.exit_code == 0, result.output
    assert other.is_file()
    # Not the file tracker reads by default, so the next steps name it.
    assert f"tracker --config {other} poll" in result.stdout


# --- tracker feeds (health) still works as a group ------------------------------------------


def test_feeds_without_subcommand_is_still_the_health_report(config: Path) -> None:
    assert run("--config", str(config), "db", "upgrade").exit_code == 0
    result = run("--config", str(config), "feeds", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [f["name"] for f in json.loads(result.stdout)] == ["known"]
    table = run("--config", str(config), "feeds")
    assert table.exit_code == 0 and table.stdout.startswith("NAME") and "never polled" in table.stdout

    misplaced = run("--config", str(config), "feeds", "--format", "json", "export")
    assert misplaced.exit_code == 2 and misplaced.stderr.startswith("tracker: error: --format applies")


# --- tracker feeds import ---------------------------------------------------------------------


def test_import_adds_new_feeds_and_keeps_every_existing_byte(config: Path, opml: Path) -> None:
    result = run("--config", str(config), "feeds", "import", str(opml))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "added the-verge-ai: https://www.theverge.com/rss/ai-artificial-intelligence/index.xml",
        "added ars-technica: https://feeds.arstechnica.com/arstechnica/index?a=1&b=2",
        "added deep-one: http://deep.example.org/rss",
        "added known-2: https://other.example.com/feed.xml",
        "added nameless-example-net: https://www.nameless.example.net/x.rss",
        "skipped https://KNOWN.example.com/feed.xml: already configured as known",
        "added 5 feeds, skipped 1 (already configured), 1 invalid",
    ]
    assert result.stderr == "invalid gopher://old.example/feed (Gopher): only http and https feeds are imported\n"

    after = config.read_text(encoding="utf-8")
    added = only_insertions(CONFIG, after)
    assert added[:2] == [
        "  - name: the-verge-ai  # Tech",
        "    url: https://www.theverge.com/rss/ai-artificial-intelligence/index.xml",
    ]
    assert "  - name: deep-one  # Tech / Deeper" in added
    # Appended after the last feed, before the commented-out digest that follows the list.
    assert after.index("known-2") < after.index("# digest:")
    loaded = load_config(config)
    assert [(f.name, f.url) for f in loaded.feeds] == [
        ("known", "https://known.example.com/feed.xml"),
        ("the-verge-ai", "https://www.theverge.com/rss/ai-artificial-intelligence/index.xml"),
        ("ars-technica", "https://feeds.arstechnica.com/arstechnica/index?a=1&b=2"),
        ("deep-one", "http://deep.example.org/rss"),
        ("known-2", "https://other.example.com/feed.xml"),
        ("nameless-example-net", "https://www.nameless.example.net/x.rss"),
    ]
    assert loaded.feeds[0].topics == ("sora",)

    again = run("--config", str(config), "feeds", "import", str(opml))
    assert again.exit_code == 0
    assert again.stdout.splitlines()[-1] == "added 0 feeds, skipped 6 (already configured), 1 invalid"
    assert config.read_text(encoding="utf-8") == after


def test_import_dry_run_changes_nothing(config: Path, opml: Path) -> None:
    result = run("--config", str(config), "feeds", "import", "--dry-run", str(opml))
    assert result.exit_code == 0, result.output
    assert "would add the-verge-ai: https://www.theverge.com/rss/ai-artificial-intelligence/index.xml" in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"would add 5 feeds, skip 1 (already configured), 1 invalid; {config} not changed (--dry-run)"
    )
    assert config.read_text(encoding="utf-8") == CONFIG


def test_import_from_stdin_into_the_shipped_feeds_yaml(tmp_path: Path) -> None:
    shipped = (ROOT / "feeds.yaml").read_text(encoding="utf-8")
    config = tmp_path / "feeds.yaml"
    config.write_text(shipped, encoding="utf-8")
    subs = '<opml version="2.0"><body><outline text="BBC Science" xmlUrl="https://feeds.bbci.co.uk/news/science_and_environment/rss.xml"/></body></opml>'
    result = run("--config", str(config), "feeds", "import", "-", input=subs)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "added 1 feed, skipped 0 (already configured), 0 invalid"
    after = config.read_text(encoding="utf-8")
    assert only_insertions(shipped, after) == [
        "  - name: bbc-science",
        "    url: https://feeds.bbci.co.uk/news/science_and_environment/rss.xml",
    ]
    # The new feed closes the list, above the commented-out digest example.
    assert after.index("bbc-science") > after.index("frame-rate.atom") and after.index("bbc-science") < after.index("# digest:")
    assert load_config(config).feeds[-1].name == "bbc-science"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "feeds: []   # nothing yet\n",
            "feeds:    # nothing yet\n  - name: a\n    url: https://a.example/rss\n",
        ),
        (
            "feeds: [x.xml, {url: y.xml}]\n",
            "feeds: [x.xml, {url: y.xml}, {name: a, url: 'https://a.example/rss'}]\n",
        ),
        (
            "feeds:\n- url: x.xml\n  # about x\n# the end\n",
            "feeds:\n- url: x.xml\n  # about x\n- name: a\n  url: https://a.example/rss\n# the end\n",
        ),
        (
            "feeds:\r\n    -   url: x.xml\r\n",
            "feeds:\r\n    -   url: x.xml\r\n    -   name: a\r\n        url: https://a.example/rss\r\n",
        ),
        ("feeds:\n  - url: x.xml", "feeds:\n  - url: x.xml\n  - name: a\n    url: https://a.example/rss\n"),
    ],
    ids=["empty-flow", "flow", "indentless", "crlf-wide", "no-final-newline"],
)
def test_import_follows_the_file_s_own_layout(tmp_path: Path, before: str, after: str) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_bytes(before.encode("utf-8"))
    subs = '<opml version="2.0"><body><outline text="a" xmlUrl="https://a.example/rss"/></body></opml>'
    result = run("--config", str(config), "feeds", "import", "-", input=subs)
    assert result.exit_code == 0, result.output
    assert config.read_bytes().decode("utf-8") == after
    assert load_config(config).feeds[-1].url == "https://a.example/rss"


def test_import_refuses_entity_declarations_and_non_opml(config: Path, tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/&b;"/></body></opml>'
    )
    result = run("--config", str(config), "feeds", "import", "-", input=bomb)
    assert result.exit_code == 1
    assert result.stderr == "tracker: error: standard input: refusing a document that declares XML entities (<!ENTITY>)\n"

    unbalanced = '<opml version="2.0"><body><outline text="a"></outline></outline></body></opml>'
    result = run("--config", str(config), "feeds", "import", "-", input=unbalanced)
    assert result.exit_code == 1
    assert result.stderr == "tracker: error: standard input: not a well-formed OPML document\n"

    rss = tmp_path / "news.xml"
    rss.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>', encoding="utf-8")
    result = run("--config", str(config), "feeds", "import", str(rss))
    assert result.exit_code == 1
    assert result.stderr == f"tracker: error: {rss}: not an OPML document\n"
    assert config.read_text(encoding="utf-8") == CONFIG


def test_import_reads_the_declared_encoding(config: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin.opml"
    latin.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?><opml version="2.0"><body>'
        b'<outline text="Caf\xe9 Monde" xmlUrl="https://cafe.example/rss"/></body></opml>'
    )
    result = run("--config", str(config), "feeds", "import", str(latin))
    assert result.exit_code == 0, result.output
    assert "added cafe-monde: https://cafe.example/rss" in result.stdout


def test_import_needs_an_existing_config(tmp_path: Path, opml: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = run("--config", str(missing), "feeds", "import", str(opml))
    assert result.exit_code == 2
    assert result.stderr == (
        f"tracker: error: {missing}: no such file (create one with `tracker init`, or pass --config PATH)\n"
    )


def test_a_failed_check_leaves_the_file_and_no_temporary(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError):
        replace_atomically(config, "feeds: [unclosed\n", load_config)
    assert config.read_text(encoding="utf-8") == CONFIG
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]


# --- tracker feeds export and the round trip -------------------------------------------------


def test_export_writes_escaped_opml_and_leaves_out_local_files(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds:\n"
        "  - {name: Verge_AI, url: 'https://www.theverge.com/rss/index.xml?a=1&b=\"2\"<'}\n"
        "  - {name: plain, url: 'http://plain.example/feed'}\n"
        "  - {name: local, url: saved/local.xml}\n"
        "  - {name: archive, url: 'file:///srv/archive.xml'}\n",
        encoding="utf-8",
    )
    result = run("--config", str(config), "feeds", "export")
    assert result.exit_code == 0, result.output
    assert result.stderr == "tracker: note: not exported, local file feeds: local, archive\n"
    assert "&amp;b=&quot;2&quot;&lt;" in result.stdout
    root = ET.fromstring(result.stdout.encode("utf-8"))
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("./body/outline")
    assert [(o.get("text"), o.get("title"), o.get("type"), o.get("xmlUrl")) for o in outlines] == [
        ("Verge_AI", "Verge_AI", "rss", 'https://www.theverge.com/rss/index.xml?a=1&b="2"<'),
        ("plain", "plain", "rss", "http://plain.example/feed"),
    ]

    out = tmp_path / "out.opml"
    result = run("--config", str(config), "feeds", "export", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_bytes().decode("utf-8") == run("--config", str(config), "feeds", "export").stdout


def test_export_then_import_into_a_fresh_config_adds_the_same_feeds(tmp_path: Path) -> None:
    source = tmp_path / "old" / "feeds.yaml"
    source.parent.mkdir()
    shutil.copy(ROOT / "feeds.yaml", source)
    exported = run("--config", str(source), "feeds", "export")
    assert exported.exit_code == 0, exported.output

    fresh = tmp_path / "new" / "feeds.yaml"
    assert run("--config", str(fresh), "init").exit_code == 0
    starter = [(f.name, f.url) for f in load_config(fresh).feeds]
    result = run("--config", str(fresh), "feeds", "import", "-", input=exported.stdout)
    assert result.exit_code == 0, result.output

    remote = [(f.name, f.url) for f in load_config(source).feeds if not f.is_local]
    assert len(remote) == 7
    assert [(f.name, f.url) for f in load_config(fresh).feeds] == starter + remote
    assert result.stdout.splitlines()[-1] == "added 7 feeds, skipped 0 (already configured), 0 invalid"
