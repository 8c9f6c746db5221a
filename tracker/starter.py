"""The commented starter feeds.yaml that `tracker init` writes."""

from __future__ import annotations

STARTER_CONFIG = """\
# tracker configuration: what the timeline is about and where to read about it.
# Every command explains itself: tracker --help, tracker COMMAND --help.
# Durations are written 45s, 15m, 2h or 1d.

# Where events and articles are stored: sqlite:///PATH or postgresql://... A relative SQLite path is
# relative to this file's folder; the environment variable TRACKER_DATABASE_URL overrides it.
database: sqlite:///tracker.db

# Settings for every feed; each feed below may override them.
defaults:
  interval: 30m                  # how often a feed is polled (servers may ask for less often)
  timeout: 20s                   # how long one fetch may take

# Topics: what the timeline follows. A sentence that mentions one of a topic's keywords
# and carries a date ("next week", "mid-February", "on Saturday") becomes an event.
# Keywords match whole words, case-insensitively; a phrase matches as a phrase; a
# trailing * matches any ending ("summit*": summit, summits). Topic names use letters,
# digits, '.', '_' and '-'. After changing topics, `tracker reprocess` applies them to
# the articles already stored.
topics:
  climate-talks:
    title: Climate talks         # optional display name
    keywords: ["climate summit*", "climate talks", "emissions target*", UNFCCC]
  # space:
  #   keywords: [NASA, "rocket launch*", spacecraft]

# Feeds: RSS or Atom, over http(s) or from a local file. Only `url` is needed; `name`
# (letters, digits, '.', '_', '-') defaults to one made from the URL. Add the feeds of a
# feed reader's OPML export with `tracker feeds import subscriptions.opml`.
feeds:
  - name: bbc-science
    url: https://feeds.bbci.co.uk/news/science_and_environment/rss.xml
  # - name: my-paper
  #   url: https://example.com/feed.xml
  #   interval: 15m                # optional: overrides defaults.interval
  #   timeout: 10s                 # optional: overrides defaults.timeout
  #   topics: [climate-talks]      # optional: only these topics for this feed
  # - url: saved/archive.xml       # a local file (relative to this file's folder) or file:// URL

# Digest (optional): email the new developments, at most once per min_interval, while
# `tracker daemon` runs (or now: `tracker digest send`). Uncomment and fill in to use it.
# digest:
#   to: [newsroom@example.com]
#   from: tracker@example.com
#   topics: [climate-talks]        # optional: only these topics
#   min_interval: 1h
#   smtp:
#     host: smtp.example.com
#     port: 587
#     security: starttls           # none | starttls | ssl
#     username: tracker            # optional
#     password_env: TRACKER_SMTP_PASSWORD   # the password comes from this environment variable

# Alerts (optional): new developments to the channels you live in, through apprise URLs
# (ntfy, Slack, Matrix, Telegram, webhooks, ...), while `tracker daemon` runs (or now:
# `tracker alerts send`). Try a target with `tracker alerts test NAME`.
# alerts:
#   - name: phone
#     urls: ["ntfys://ntfy.sh/${NTFY_TOPIC}"]   # ${NAME}: the environment variable NAME
#     key_only: true               # optional: only key developments
#     min_outlets: 2               # optional: only events this many outlets report
"""
