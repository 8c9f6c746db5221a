"""SMTP delivery: none/STARTTLS/SSL with verified certificates, login, timeouts, and error translation."""

from __future__ import annotations

import email.policy
import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol

from tracker.config import SmtpConfig
from tracker.errors import ConfigError, DigestError


class SmtpError(DigestError):
    """Delivery failed. `maybe_delivered`: the server may have accepted the message anyway."""

    retry = True

    def __init__(self, message: str, *, code: int | None = None, reply: str | None = None,
                 maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.reply = reply
        self.maybe_delivered = maybe_delivered


class SmtpTemporaryError(SmtpError):
    """A 4xx reply: the server asks us to try again later."""


class SmtpPermanentError(SmtpError):
    """A 5xx reply: the server refuses; retrying the same message will not help."""

    retry = False


class SmtpConnectionError(SmtpError):
    """No usable conversation: refused, timed out, dropped, or TLS failed."""


class MailSender(Protocol):
    """What the outbox needs from a mail transport (tests may wrap the real one)."""

    def send(self, message: EmailMessage, *, sender: str, recipients: Sequence[str]) -> None: ...


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _reply_error(code: int, reply: bytes | str, what: str, where: str) -> SmtpError:
    text = _reply_text(reply)
    if 400 <= code < 500:
        return SmtpTemporaryError(
            f"temporary failure from {where} ({what}): {code} {text}; the digest stays pending and will be retried",
            code=code, reply=f"{code} {text}",
        )
    return SmtpPermanentError(
        f"{where} rejected the digest permanently ({what}): {code} {text}",
        code=code, reply=f"{code} {text}",
    )


class SmtpSender:
    """Sends one message per connection over smtplib, as the digest config says.

    ssl_context: the CA trust to verify the server with. Default: the system's
    (ssl.create_default_context()); tests pass a context that trusts their own CA.
    Verification is never switched off.
    """

    def __init__(self, config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context
        self.where = f"mail server {config.host}:{config.port}"

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()

    def _password(self) -> str | None:
        if self.config.username is None:
            return None
        password = self.config.password()
        if password is None:
            env = self.config.password_env
            hint = f"set ${env}" if env else "set digest.smtp.password_env and that variable"
            raise DigestError(f"digest.smtp.username is set but no password is available ({hint})")
        return password

    def send(self, message: EmailMessage, *, sender: str, recipients: Sequence[str]) -> None:
        """Deliver message, or raise an SmtpError saying 4xx / 5xx / connection in one line."""
        password = self._password()
        timeout = self.config.timeout.total_seconds()
        envelope_from = parseaddr(sender)[1] or sender
        # Bytes with CRLF line ends, exactly as they go on the wire.
        data = message.as_bytes(policy=email.policy.SMTP)
        step = "connecting"
        in_data = False
        smtp: smtplib.SMTP | None = None
        try:
            # smtplib applies `timeout` to the connect and to every later socket read and write.
            if self.config.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.config.host, self.config.port, timeout=timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=timeout)
            step = "EHLO"
            smtp.ehlo()
            if self.config.security == "starttls":
                step = "STARTTLS"
                if not smtp.has_extn("starttls"):
                    raise SmtpConnectionError(
                        f"{self.where} does not offer STARTTLS (set digest.smtp.security to ssl or none if that is intended)"
                    )
                code, reply = smtp.starttls(context=self._context())
                if code != 220:
                    raise _reply_error(code, reply, "STARTTLS", self.where)
                smtp.ehlo()
            if password is not None and self.config.username is not None:
                step = "login"
                smtp.login(self.config.username, password)
            step = "MAIL FROM"
            code, reply = smtp.mail(envelope_from)
            if code != 250:
                raise _reply_error(code, reply, "MAIL FROM", self.where)
            step = "RCPT TO"
            for rcpt in recipients:
                code, reply = smtp.rcpt(rcpt)
                # One refused recipient fails the whole message: a partial delivery
                # would be re-sent to everyone on retry.
                if code not in (250, 251):
                    raise _reply_error(code, reply, f"RCPT TO {rcpt}", self.where)
            step = "DATA"
            in_data = True
            code, reply = smtp.data(data)
            in_data = False
            if code != 250:
                raise _reply_error(code, reply, "DATA", self.where)
        except SmtpError:
            self._abort(smtp)
            raise
        except smtplib.SMTPResponseException as exc:
            # A reply with a code: definite, so the message was not accepted.
            self._abort(smtp)
            raise _reply_error(exc.smtp_code, exc.smtp_error, step, self.where) from exc
        except ssl.SSLCertVerificationError as exc:
            self._abort(smtp)
            raise SmtpConnectionError(
                f"TLS certificate of {self.where} not trusted: {exc.verify_message or exc.reason}"
                " (check digest.smtp.host matches the certificate and that its CA is trusted)"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Timeouts, resets, refused connections, TLS failures. Lost during DATA, the
            # server may have taken the message before the connection died: say so.
            self._abort(smtp)
            raise SmtpConnectionError(
                f"{self.where}: {self._describe(exc)} (during {step}); the digest stays pending",
                maybe_delivered=in_data,
            ) from exc
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # The message was accepted; a rude goodbye changes nothing.

    def _describe(self, exc: BaseException) -> str:
        # smtplib reports a read timeout as SMTPServerDisconnected, the timeout as its context.
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return f"no answer within {self.config.timeout.total_seconds():g}s"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused (is the server running and the port right?)"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve host {self.config.host!r}"
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"connection closed unexpectedly ({exc})" if str(exc) else "connection closed unexpectedly"
        if isinstance(exc, ssl.SSLError):
            return f"TLS failed: {exc.reason or exc}"
        text = " ".join(str(exc).split()) or exc.__class__.__name__
        return f"{exc.__class__.__name__}: {text}" if text != exc.__class__.__name__ else text

    @staticmethod
    def _abort(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        try:
            smtp.close()
        except OSError:
            pass


def make_sender(config: SmtpConfig, *, ssl_context: ssl.SSLContext | None = None) -> SmtpSender:
    """The SMTP transport for config; ssl_context replaces the system CA trust (tests).

    A missing password is a configuration error (ConfigError, exit 2), found here before
    any attempt is recorded, not a delivery failure to retry.
    """
    if config.username is not None and config.password() is None:
        if config.password_env is None:
            raise ConfigError("digest.smtp.username is set but digest.smtp.password_env is not: name the "
                              "environment variable that holds the password")
        raise ConfigError(
            f"digest.smtp.password_env: the environment variable {config.password_env} is not set "
            "(it holds the password for digest.smtp.username)"
        )
    return SmtpSender(config, ssl_context=ssl_context)
