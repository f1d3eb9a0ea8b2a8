"""Where alerts may be sent: webhook and Slack URLs, and email addresses.

A webhook URL is a way into the network llmledger runs in: whoever may save a rule could make
the server call its own admin ports, a cloud metadata address or a database on the private
network (server-side request forgery). So a URL must be ``https`` and its host must be a public
address, checked twice: when the rule is saved (``validate_webhook_url``), and again when each
message is sent, after resolving the name (``check_destination``, and the connection itself:
``GuardedBackend`` connects only to the addresses it has just checked, so a name that points
inside later, or between the check and the connection, is still refused).

``allow_private`` (``LLMLEDGER_ALLOW_PRIVATE_WEBHOOKS``) lifts both rules, private addresses and
``https``, for receivers on a private network and for tests; see docs/alerts.md, "SSRF policy".
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

import httpcore

__all__ = [
    "GuardedBackend",
    "Resolver",
    "check_destination",
    "is_public_address",
    "validate_email",
    "validate_emails",
    "validate_webhook_url",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses``: ``socket.getaddrinfo`` by default; tests give their own DNS
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048
#: names that mean this machine or its local network whatever the DNS says
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: how long saving a rule waits for the DNS before leaving the name to the send-time check
SAVE_RESOLVE_SECONDS = 3.0


def validate_webhook_url(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> str:
    """The URL, stripped, if alerts may be sent to it; else ``ValueError`` saying why.

    Refused: a scheme but ``https`` (``http`` too when ``allow_private``), credentials in the
    URL, and a host that is, or resolves to, a private, loopback, link-local, unspecified,
    multicast or otherwise non-public address. A name that does not resolve now is accepted:
    the DNS may be down, and every send checks again."""
    text = _parse_checks(url, allow_private=allow_private)
    if not allow_private:
        host, port = _host_port(text)
        try:
            addresses = _resolve_within(host, port, resolver, SAVE_RESOLVE_SECONDS)
        except ValueError:
            addresses = []  # not resolvable now: the send-time check decides
        _refuse_internal(host, addresses)
    return text


def check_destination(
    url: str, *, allow_private: bool, resolver: Resolver | None = None
) -> list[str]:
    """At send time: the addresses the URL's host resolves to, all public (unless
    ``allow_private``); else ``ValueError`` saying why (including a name that does not
    resolve)."""
    text = _parse_checks(url, allow_private=allow_private)
    host, port = _host_port(text)
    addresses = _resolve(host, port, resolver)
    if not allow_private:
        _refuse_internal(host, addresses)
    return addresses


def is_public_address(address: str) -> bool:
    """Whether ``address`` (an IPv4 or IPv6 literal) is one alerts may be sent to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return _is_public(ip)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses ``check_destination`` allows.

    httpx resolves the host again when it connects, so a check made before the request could
    pass for one address and the connection go to another (DNS rebinding). This backend
    resolves once, checks what it got and connects to exactly that; TLS still verifies the
    certificate against the host name of the URL."""

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _resolve(host, port, self.resolver)
        if not self.allow_private:
            _refuse_internal(host, addresses)
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the host's next address
                error = exc
        raise error or httpcore.ConnectError(f"{host} has no address")


# -- email -------------------------------------------------------------------------------------

#: one bare address: no display name, no list, no spaces or control characters
_ADDRESS = re.compile(
    r"^[^@\s\x00-\x1f\x7f<>()\[\],;:\\\"]{1,64}"
    r"@(?=.{1,253}$)[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*$"
)


def validate_email(entry: str) -> str:
    """The address of one entry of ``notificationEmails``, stripped; else ``ValueError``.

    An entry is exactly one bare address (``ops@example.com``): newlines, which could add mail
    headers, lists (``a@x, b@y``) and display names (``Ops <ops@x>``) are refused."""
    if not isinstance(entry, str):
        raise ValueError("an email address must be text")
    if any(c in entry for c in "\r\n\x00"):
        raise ValueError("an email address must not hold a line break")
    text = entry.strip()
    if not text:
        raise ValueError("an email address is empty")
    if "<" in text or ">" in text:
        raise ValueError(f"{text!r} is not a bare address: give name@domain, no display name")
    if text.count("@") > 1 or any(c in text for c in ",; "):
        raise ValueError(f"{text!r} holds more than one address: give one address per entry")
    if not _ADDRESS.match(text):
        raise ValueError(f"{text!r} is not an email address (name@domain)")
    return text


def validate_emails(entries: Iterable[str]) -> list[str]:
    """Every entry checked by ``validate_email``; duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for entry in entries:
        seen.setdefault(validate_email(entry), None)
    return list(seen)


# -- the checks --------------------------------------------------------------------------------


def _parse_checks(url: str, *, allow_private: bool) -> str:
    if not isinstance(url, str):
        raise ValueError("a webhook URL must be text")
    text = url.strip()
    if not text:
        raise ValueError("the webhook URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"the webhook URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("the webhook URL holds a space or a control character")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"the webhook URL cannot be parsed ({exc})") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        shown = parts.scheme or "no scheme"
        raise ValueError(
            f"the webhook URL must be https:// (it has {shown}); plain http is allowed only "
            "with LLMLEDGER_ALLOW_PRIVATE_WEBHOOKS"
        )
    if "@" in parts.netloc:
        raise ValueError("the webhook URL must not hold a user name or password")
    if not parts.hostname:
        raise ValueError("the webhook URL has no host")
    if not allow_private:
        _refuse_local_name(parts.hostname)
    return text


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host, parts.port or (443 if parts.scheme.lower() == "https" else 80)


def _refuse_local_name(host: str) -> None:
    name = host.rstrip(".").lower()
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        raise ValueError(f"the webhook host {host!r} is a local name; give a public host")
    literal = _literal_address(name)
    if literal is not None and not _is_public(literal):
        raise ValueError(
            f"the webhook host {host!r} is a private, loopback, link-local or other "
            "non-public address"
        )


def _literal_address(host: str) -> Address | None:
    """The address a host written as an IP means, in any of the forms the C library reads
    (``127.1``, ``0x7f000001``, ``2130706433`` all mean 127.0.0.1), else ``None``."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _is_public(ip: Address) -> bool:
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local:
        return False
    if not ip.is_global:  # private, shared (100.64/10), reserved, documentation ranges
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: Address | None = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.teredo is not None:
            return False
        if embedded is not None:
            return _is_public(embedded)
    return True


def _refuse_internal(host: str, addresses: list[str]) -> None:
    for address in addresses:
        if not is_public_address(address):
            raise ValueError(
                f"the webhook host {host!r} resolves to {address}, a private, loopback, "
                "link-local or other non-public address"
            )


def _resolve(host: str, port: int, resolver: Resolver | None) -> list[str]:
    literal = _literal_address(host)
    if literal is not None:
        return [str(literal)]
    try:
        addresses = (resolver or _getaddrinfo)(host, port)
    except OSError as exc:
        raise ValueError(f"the webhook host {host!r} cannot be resolved ({exc})") from None
    if not addresses:
        raise ValueError(f"the webhook host {host!r} has no address")
    return addresses


def _resolve_within(host: str, port: int, resolver: Resolver | None, seconds: float) -> list[str]:
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(_resolve, host, port, resolver).result(timeout=seconds)
    except FutureTimeout:
        raise ValueError(f"the webhook host {host!r} did not resolve in time") from None
    finally:
        pool.shutdown(wait=False)


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
