"""Digests: email the new developments of the timeline, through an outbox that loses nothing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from tracker.digest._outbox import (
    Composed,
    DigestBusy,
    DigestNotSent,
    Outbox,
    SendResult,
    SentMessage,
    audience_key,
    backoff,
    outbox_for,
    require_digest,
)
from tracker.digest._render import NEW, UPDATED, Development, Rendered, Source, build_message, header_text, render
from tracker.digest._smtp import (
    MailSender,
    SmtpConnectionError,
    SmtpError,
    SmtpPermanentError,
    SmtpSender,
    SmtpTemporaryError,
    make_sender,
)
from tracker.errors import DigestError

if TYPE_CHECKING:
    from tracker.parts import Parts

log = logging.getLogger(__name__)


def outbox(tracker: Parts, sender: MailSender | None = None) -> Outbox:
    """The tracker's outbox; sender defaults to tracker.digest_sender, else SMTP from the config."""
    return outbox_for(
        tracker.store, tracker.config, clock=tracker.clock, sender=sender or getattr(tracker, "digest_sender", None)
    )


def preview(tracker: Parts) -> list[Composed]:
    """The message(s) `send` would send now; [] when nothing is pending. Changes nothing."""
    return outbox(tracker, sender=_NoSend()).preview()


def send(tracker: Parts, sender: MailSender | None = None) -> SendResult | None:
    """Send every pending development now (ignoring min_interval and retry backoff).

    None when nothing is pending; raises DigestError when sending failed (recorded first:
    nothing is lost).
    """
    return outbox(tracker, sender).send()


def maybe_send(tracker: Parts, sender: MailSender | None = None) -> SendResult | None:
    """The daemon's call after a poll: send if developments wait and min_interval allows.

    Respects min_interval (developments arriving meanwhile wait and go out together)
    and the retry backoff of a pending digest. Never raises for a delivery problem: it
    is recorded in the outbox and logged, and retried later. None when nothing went out.
    """
    if tracker.config.digest is None:
        return None
    try:
        return outbox(tracker, sender).send(automatic=True)
    except DigestError as exc:
        log.error("digest: %s", exc)
        return None


def next_due(tracker: Parts) -> datetime | None:
    """When maybe_send may next send something (a daemon timer); None when nothing waits."""
    if tracker.config.digest is None:
        return None
    return outbox(tracker, sender=_NoSend()).next_due()


class _NoSend:
    """The sender of a preview, which never sends."""

    def send(self, message: object, *, sender: str, recipients: object) -> None:
        raise AssertionError("preview must not send")


__all__ = [
    "NEW",
    "UPDATED",
    "Composed",
    "Development",
    "DigestBusy",
    "DigestError",
    "DigestNotSent",
    "MailSender",
    "Outbox",
    "Rendered",
    "SendResult",
    "SentMessage",
    "SmtpConnectionError",
    "SmtpError",
    "SmtpPermanentError",
    "SmtpSender",
    "SmtpTemporaryError",
    "Source",
    "audience_key",
    "backoff",
    "build_message",
    "header_text",
    "make_sender",
    "maybe_send",
    "next_due",
    "outbox",
    "preview",
    "render",
    "require_digest",
    "send",
]
