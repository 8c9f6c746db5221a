"""Feed text and feed URLs made safe to show: nothing drives the terminal, no credential shows."""

from __future__ import annotations

import re

# What a feed must never get to a terminal (or an XML document) as it is: C0 controls
# (ESC starts every CSI and OSC sequence), DEL, C1 controls (U+009B is an 8-bit CSI,
# U+009D an 8-bit OSC), lone surrogates (unencodable: printing one is a crash) and the
# two non-characters XML 1.0 refuses. \t and \n are layout and handled separately.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Bidi formatting that reorders what follows: embeddings and overrides (U+202A-U+202E),
# isolates (U+2066-U+2069), and the marks (LRM, RLM, ALM), which can still swap runs of
# digits: "10 20" after an RLM reads "20 10". Invisible by nature, so they are removed.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Line breaks of every kind, VT and FF too: a lone CR returns to the start of the line
# and lets a feed overwrite what was printed before it on that line.
_BREAKS = re.compile("\r\n?|[\x0b\x0c\u2028\u2029]")
_SPACES = re.compile(r"\s+")
REPLACEMENT = "\ufffd"

# user:password@ after a scheme; the user info runs to the last "@" before the path, as
# urlsplit reads it, so a password containing "@" is masked whole.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s@:]*):([^/?#\s]*)@")
# Query parameters that carry a secret, by name or by suffix ("access_token", "x-api-key",
# "client_secret", SAS "sig"); "key" alone is an API key often enough (Google's) to count.
_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:[\w.\-]*[_.\-])?(?:password|passwd|pwd|pass|secret|token|key|apikey|auth|signature|sig)=)"
    r"[^&#\s]+"
)
MASK = "***"

# What json.dumps(ensure_ascii=False) leaves raw though it is control: DEL, C1, the bidi
# formatting above and the line separators JavaScript splits on.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def safe_text(text: str, *, one_line: bool = False) -> str:
    """Text from a feed, inert on a terminal and valid in XML 1.0.

    Control characters (C0 but tab and newline, DEL, C1; ESC among them) become U+FFFD
    "\ufffd": visible rather than silently deleted, so a reader sees that something was
    there and what is left of a sequence ("\ufffd]0;title\ufffd") prints as text instead of
    acting. Bidi embeddings, overrides, isolates and marks are removed: they are invisible
    anyway, and without them the text shows in its plain order. CR and CR LF become LF.

    With one_line, the text is one line for a table cell or a single-line field: tabs and
    line breaks become spaces, runs of whitespace one space, the ends stripped.
    """
    text = _BIDI.sub("", _BREAKS.sub("\n", text))
    if one_line:
        return _SPACES.sub(" ", _CONTROL.sub(REPLACEMENT, text)).strip()
    return _CONTROL.sub(REPLACEMENT, text)


def redact_url(text: str, *, query: bool = True) -> str:
    """A URL, or free text quoting URLs (an error message, a log line), with credentials as ***.

    "scheme://user:password@host" becomes "scheme://user:***@host" (the user name stays:
    it says which account, not how to get in), ":password@" becomes ":***@". A user name
    without a password is kept: nothing secret is in it.

    With query (the default, for feed URLs and text quoting them), the value of a query
    parameter named for a secret (password, secret, token, key, api_key, access_token,
    auth, sig, ... and names ending in them after "_", "-" or ".") becomes *** too. An
    article's link passes query=False: a feed URL's password reaches it (a relative link
    resolved against the feed URL) but its query does not, and a link's own query (a gift
    link's token) is the article's address, for readers to follow.
    """
    if "://" not in text and (not query or "=" not in text):
        return text
    masked = _USERINFO.sub(lambda m: f"{m[1]}{m[2]}:{MASK}@" if m[3] else m[0], text)
    return _SECRET_PARAM.sub(lambda m: m[1] + MASK, masked) if query else masked


def inert_json(text: str) -> str:
    """JSON text with the characters json.dumps leaves raw but a terminal acts on (DEL, C1,
    bidi formatting, U+2028/U+2029) written as \\uXXXX escapes: the same data once parsed."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def one_line_cut(text: str, limit: int) -> str:
    """`text` with its whitespace runs made single spaces, cut to at most `limit`
    characters with an ellipsis: an error or note quoted in a one-line message."""
    # Only what can show is split: an error may quote a whole expanded value.
    head = " ".join(text[: limit * 4].split())
    if len(head) <= limit and len(text) <= limit * 4:
        return head
    return head[: limit - 1] + "\u2026"


def error_line(message: str) -> str:
    """The one style of every error tracker prints: one line, prefixed, no trailing period games.

    Messages quote feed content and URLs: controls and bidi are made inert (safe_text) and
    credentials shown as *** (redact_url).
    """
    return "tracker: error: " + safe_text(redact_url(message), one_line=True)
