"""The three ways an alert goes out: email over SMTP, a Slack incoming webhook, a signed webhook.

Each sender returns a ``Result`` and never raises over the channel: an unreachable server, a
refusal, a timeout or a refused destination is a result with ``ok=False`` and a ``detail`` the
history shows. Slack and webhook requests go through ``guarded_client``: no proxy from the
environment, no redirects followed, and connections only to addresses the SSRF policy allows
(``alerts.destinations``).
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpcore
import httpx
import orjson

from llmledger.alerts.destinations import GuardedBackend, Resolver, check_destination
from llmledger.alerts.rules import mask
from llmledger.alerts.signing import HEADER, signature_header
from llmledger.settings import Settings

__all__ = ["Result", "guarded_client", "send_email", "send_slack", "send_webhook"]

USER_AGENT = "llmledger-alerts/1"
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}
#: how much of a receiver's answer the history keeps
DETAIL_CHARS = 300


@dataclass(frozen=True)
class Result:
    """How one message to one channel went."""

    channel: str  # email | slack | webhook
    target: str  # the addresses, or the URL masked to its last four characters (``mask``)
    ok: bool
    detail: str  # the SMTP or HTTP answer, or the error


# -- email -------------------------------------------------------------------------------------


def send_email(
    settings: Settings, recipients: list[str], subject: str, text: str, html: str
) -> Result:
    """Send one email (plain text with an HTML alternative) to ``recipients``."""
    target = ", ".join(recipients)
    if not settings.smtp_host:
        return Result("email", target, False, "LLMLEDGER_SMTP_HOST is not set")
    if not recipients:
        return Result("email", target, False, "no recipients")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = target
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2])
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    try:
        refused = _smtp_send(settings, message, recipients)
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else exc.smtp_error
        )
        return Result("email", target, False, f"SMTP {exc.smtp_code}: {reply}"[:DETAIL_CHARS])
    except smtplib.SMTPRecipientsRefused as exc:
        return Result(
            "email", target, False, f"every recipient refused: {_refusals(exc.recipients)}"
        )
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return Result("email", target, False, _error(exc))
    if refused:
        return Result("email", target, True, f"sent; refused: {_refusals(refused)}")
    return Result("email", target, True, "sent")


def _smtp_send(
    settings: Settings, message: EmailMessage, recipients: list[str]
) -> dict[str, tuple[int, bytes]]:
    host = settings.smtp_host or ""
    port = settings.smtp_port or SMTP_PORTS[settings.smtp_security]
    timeout = settings.smtp_timeout_seconds
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            # refused when the server does not offer it: never fall back to plain text
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        return smtp.send_message(message, settings.smtp_from, recipients)


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({code})" for addr, (code, _) in refused.items())[:DETAIL_CHARS]


# -- Slack and webhooks ------------------------------------------------------------------------


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over ``GuardedBackend``: it connects only where the policy allows."""

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend of its own; its pool does (the one seam there is)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=10,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )


def guarded_client(settings: Settings, *, resolver: Resolver | None = None) -> httpx.Client:
    """The HTTP client alerts are posted with."""
    return httpx.Client(
        transport=GuardedTransport(
            allow_private=settings.allow_private_webhooks, resolver=resolver
        ),
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,  # a redirect could point anywhere, inside included
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def send_slack(
    settings: Settings, url: str, payload: dict[str, object], *, resolver: Resolver | None = None
) -> Result:
    """Post a message to a Slack incoming webhook."""
    return _post("slack", settings, url, orjson.dumps(payload), {}, resolver)


def send_webhook(
    settings: Settings,
    url: str,
    body: bytes,
    *,
    secret: str,
    delivery_id: int | None,
    event: str,
    now: float | None = None,
    resolver: Resolver | None = None,
) -> Result:
    """Post a signed webhook body (``alerts.signing``)."""
    if not secret:
        return Result("webhook", mask(url), False, "the rule has no webhook signing secret")
    timestamp = int(time.time() if now is None else now)
    headers = {
        HEADER: signature_header(secret, timestamp, body),
        "X-LLMLedger-Event": event,
    }
    if delivery_id is not None:  # the same on every retry: receivers can drop repeats
        headers["X-LLMLedger-Delivery"] = str(delivery_id)
    return _post("webhook", settings, url, body, headers, resolver)


def _post(
    channel: str,
    settings: Settings,
    url: str,
    body: bytes,
    headers: dict[str, str],
    resolver: Resolver | None,
) -> Result:
    target = mask(url)
    try:
        check_destination(url, allow_private=settings.allow_private_webhooks, resolver=resolver)
        with guarded_client(settings, resolver=resolver) as client:
            response = client.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
    except ValueError as exc:  # the destination is refused (also when connecting)
        return Result(channel, target, False, f"refused: {exc}"[:DETAIL_CHARS])
    except httpx.HTTPError as exc:
        return Result(channel, target, False, _error(exc))
    answer = " ".join(response.text.split())[:120]
    detail = f"HTTP {response.status_code}" + (f": {answer}" if answer else "")
    if response.is_redirect:
        detail += " (redirects are not followed)"
    return Result(channel, target, response.is_success, detail[:DETAIL_CHARS])


def _error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:DETAIL_CHARS]
