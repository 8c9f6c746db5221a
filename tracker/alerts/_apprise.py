"""Delivery through apprise: secrets from the environment, one URL at a time, the format the service takes, errors in words."""

from __future__ import annotations

import contextvars
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from tracker._terminal import one_line_cut, redact_url
from tracker.config import ALERT_URL_VARIABLE
from tracker.errors import ConfigError, TrackerError

log = logging.getLogger(__name__)

# The formats a message is stored in, named as apprise's NotifyFormat values.
MARKDOWN, HTML, TEXT = "markdown", "html", "text"
# How much of apprise's explanation an error keeps.
MAX_ERROR = 300


class AlertError(TrackerError):
    """An alert could not be built or delivered."""


class AlertNotSent(AlertError):
    """A service did not take a message (refused, unreachable, timed out); `reason` in words."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Outgoing:
    """One notification as stored in the outbox: a title and the body in each format."""

    title: str
    markdown: str
    text: str
    html: str

    def body(self, fmt: str) -> str:
        return {MARKDOWN: self.markdown, HTML: self.html}.get(fmt, self.text)


def resolve_url(template: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """The URL with each ${NAME} replaced by the environment variable NAME; a ConfigError
    naming the key when one is unset or empty."""
    env = os.environ if environ is None else environ

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        found = env.get(name)
        if not found:
            raise ConfigError(f"{where}: the environment variable {name} is not set (the URL takes ${{{name}}} from it)")
        return found

    return ALERT_URL_VARIABLE.sub(value, template)


def secrets_of(template: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values the template takes from the environment, as written and as a URL carries
    them (percent-encoded): never shown in errors or logs."""
    env = os.environ if environ is None else environ
    values = [v for v in (env.get(m.group(1)) for m in ALERT_URL_VARIABLE.finditer(template)) if v]
    forms = {f for v in values for f in (v, quote(v, safe=""), quote(v), quote_plus(v), quote(v, safe="/:"))}
    # Longest first: a value must not be half-masked by a shorter form of it.
    return sorted(forms, key=len, reverse=True)


def mask(text: str, secrets: Sequence[str]) -> str:
    """text with every secret shown as ***, and credentials in URLs too (redact_url)."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return redact_url(text)


# -- apprise's log, captured per call -----------------------------------------------------

# The list a delivery collects apprise's messages into. apprise runs a service in the
# calling thread or in its own pool with the caller's context copied (apprise >= 1.9), so a
# context variable follows the call where a thread id would not; concurrent deliveries to
# other channels never mix their messages.
_CAPTURED: contextvars.ContextVar[tuple[list[str], Sequence[str]] | None] = contextvars.ContextVar(
    "tracker_alerts_apprise_log", default=None
)
_setup_lock = threading.Lock()
_set_up = False


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        captured = _CAPTURED.get()
        if captured is None:
            return  # apprise used outside a delivery: nothing of tracker's
        sink, secrets = captured
        try:
            message = mask(record.getMessage(), secrets)
        except Exception:  # a malformed record must not break a delivery
            return
        # Warnings say what failed; the socket exception (debug) says why (a timeout, a refusal).
        if record.levelno >= logging.WARNING or message.startswith("Socket Exception"):
            sink.append(message)
        log.debug("apprise: %s", message)


def _apprise() -> Any:
    """The apprise module, its log captured rather than printed (tracker says what failed, in one line)."""
    global _set_up
    import apprise

    with _setup_lock:
        if not _set_up:
            logger = logging.getLogger("apprise")
            logger.addHandler(_Capture())
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            _set_up = True
    return apprise


def _formats(plugin: Any) -> tuple[str, ...]:
    value = getattr(plugin, "notify_format", None)
    values = value if isinstance(value, (tuple, list)) else (value,)
    return tuple(str(getattr(v, "value", v)).lower() for v in values if v is not None)


def choose_format(plugin: Any) -> str:
    """The body format a service gets: what its URL asks for (?format=), else markdown where
    it takes markdown, HTML where it takes HTML, text elsewhere. apprise then sends the
    body as it is, converting nothing (its markdown-to-HTML lets raw HTML through, so
    tracker escapes feed text for each format itself)."""
    override = getattr(plugin, "_format_override", None)  # a multi-format plugin's ?format=
    if override is not None:
        return str(getattr(override, "value", override)).lower()
    formats = _formats(plugin)
    if len(formats) == 1:
        return formats[0] if formats[0] in (MARKDOWN, HTML, TEXT) else TEXT
    for fmt in (MARKDOWN, HTML, TEXT):
        if fmt in formats:
            return fmt
    return TEXT


class Service:
    """One apprise URL, resolved and loaded: sends one notification at a time."""

    def __init__(self, template: str, *, where: str, timeout: float, environ: Mapping[str, str] | None = None) -> None:
        """Raises ConfigError when a ${NAME} is unset or apprise cannot use the URL."""
        apprise = _apprise()
        self.template = template
        url = resolve_url(template, where, environ)
        self._secrets = secrets_of(template, environ)
        asset = apprise.AppriseAsset(async_mode=False)
        captured: list[str] = []
        token = _CAPTURED.set((captured, self._secrets))
        try:
            plugin = apprise.Apprise.instantiate(url, asset=asset)
        finally:
            _CAPTURED.reset(token)
        if plugin is None:
            why = self._clean(captured[-1]) if captured else "unknown service or malformed URL"
            raise ConfigError(f"{where}: apprise cannot use this URL: {why}")
        # apprise's own defaults are 4 s; one value for connecting and for each read.
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        self.format = choose_format(plugin)
        try:
            self.shown = self._clean(str(plugin.url(privacy=True)))
        except Exception:
            self.shown = self._clean(template)
        self._apprise = apprise.Apprise(asset=asset)
        self._apprise.add(plugin)
        self._module = apprise

    def _clean(self, text: str) -> str:
        """Text from apprise or a URL, with the environment's secrets and credentials masked."""
        return one_line_cut(mask(text, self._secrets), MAX_ERROR)

    def send(self, message: Outgoing) -> None:
        """Deliver, or raise AlertNotSent saying why (apprise's words, secrets masked)."""
        captured: list[str] = []
        token = _CAPTURED.set((captured, self._secrets))
        try:
            ok = self._apprise.notify(
                body=message.body(self.format),
                title=message.title,
                body_format=self._module.NotifyFormat(self.format),
                notify_type=self._module.NotifyType.INFO,
            )
        except Exception as exc:  # a plugin that raises is a failed delivery, not a crash
            captured.append(f"{type(exc).__name__}: {exc}")
            ok = False
        finally:
            _CAPTURED.reset(token)
        if not ok:
            reason = self._clean("; ".join(dict.fromkeys(captured)) or "the service did not accept the notification")
            raise AlertNotSent(f"{self.shown}: {reason}", reason=reason)
