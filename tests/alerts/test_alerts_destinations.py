"""Where alerts may go: https only, no private or local hosts (literal, by name, or resolved at
send time), one bare email address per entry."""

from __future__ import annotations

import socket

import httpcore
import pytest

from llmledger.alerts.destinations import (
    GuardedBackend,
    check_destination,
    validate_email,
    validate_emails,
    validate_webhook_url,
)


def dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A DNS of the test's own: name → addresses (an unknown name does not resolve)."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


PUBLIC = dns({"hooks.example.com": ["93.184.215.14"], "v6.example.com": ["2606:4700::1"]})


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/services/T000/B000/XXXX",
        "https://v6.example.com:8443/hook?x=1",
        "https://93.184.215.14/hook",
        "  https://hooks.example.com/a  ",
        "https://not-resolvable-now.example/hook",  # the DNS is down: checked again at send
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert validate_webhook_url(url, allow_private=False, resolver=PUBLIC) == url.strip()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://hooks.example.com/hook", "must be https"),
        ("ftp://hooks.example.com/hook", "must be https"),
        ("hooks.example.com/hook", "must be https"),
        ("", "empty"),
        ("https://", "no host"),
        ("https://user:pw@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com/a b", "space"),
        ("https://hooks.example.com/\nX-Injected: 1", "space or a control"),
        ("https://hooks.example.com:99999/", "cannot be parsed"),
        ("https://localhost/hook", "local name"),
        ("https://LOCALHOST./hook", "local name"),
        ("https://api.localhost/hook", "local name"),
        ("https://printer.local/hook", "local name"),
        ("https://metadata.google.internal/computeMetadata/v1/", "local name"),
        ("https://127.0.0.1/hook", "non-public"),
        ("https://127.1/hook", "non-public"),  # the C library reads it as 127.0.0.1
        ("https://2130706433/hook", "non-public"),  # 127.0.0.1 as one number
        ("https://0x7f000001/hook", "non-public"),
        ("https://10.1.2.3/hook", "non-public"),
        ("https://172.16.0.1/hook", "non-public"),
        ("https://192.168.1.1/hook", "non-public"),
        ("https://100.64.0.1/hook", "non-public"),  # carrier-grade NAT
        ("https://169.254.169.254/latest/meta-data/", "non-public"),  # cloud metadata
        ("https://0.0.0.0/hook", "non-public"),
        ("https://224.0.0.1/hook", "non-public"),
        ("https://[::1]/hook", "non-public"),
        ("https://[::]/hook", "non-public"),
        ("https://[fe80::1]/hook", "non-public"),
        ("https://[fd00::1]/hook", "non-public"),
        ("https://[ff02::1]/hook", "non-public"),
        ("https://[::ffff:127.0.0.1]/hook", "non-public"),  # IPv4-mapped
        ("https://[64:ff9b::a00:1]/hook", "non-public"),  # NAT64 of 10.0.0.1
        ("https://[2002:c0a8:101::1]/hook", "non-public"),  # 6to4 of 192.168.1.1
    ],
)
def test_refused_urls_say_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        validate_webhook_url(url, allow_private=False, resolver=PUBLIC)


def test_a_name_resolving_inside_is_refused_when_saved() -> None:
    resolver = dns({"sneaky.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(ValueError, match=r"resolves to 10\.0\.0\.7"):
        validate_webhook_url("https://sneaky.example.com/x", allow_private=False, resolver=resolver)


def test_a_real_name_of_this_machine_is_refused() -> None:
    """The system's own DNS (no resolver given): this machine's name points at itself."""
    name = socket.gethostname()
    try:
        socket.getaddrinfo(name, 443)
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    with pytest.raises(ValueError, match="non-public"):
        check_destination(f"https://{name}/hook", allow_private=False)


def test_a_name_that_later_points_inside_is_refused_at_send_time() -> None:
    table = {"hooks.example.com": ["93.184.215.14"]}
    resolver = dns(table)
    url = "https://hooks.example.com/hook"
    assert validate_webhook_url(url, allow_private=False, resolver=resolver) == url
    assert check_destination(url, allow_private=False, resolver=resolver) == ["93.184.215.14"]
    table["hooks.example.com"] = ["127.0.0.1"]
    with pytest.raises(ValueError, match=r"resolves to 127\.0\.0\.1"):
        check_destination(url, allow_private=False, resolver=resolver)


def test_a_name_that_does_not_resolve_is_refused_at_send_time() -> None:
    with pytest.raises(ValueError, match="cannot be resolved"):
        check_destination("https://gone.example.com/x", allow_private=False, resolver=PUBLIC)


def test_the_connection_itself_goes_only_to_checked_addresses() -> None:
    """DNS rebinding: even when the URL was checked a moment before, the connection resolves,
    checks and connects in one step, so a name turned inside is refused there."""
    backend = GuardedBackend(allow_private=False, resolver=dns({"h.example.com": ["127.0.0.1"]}))
    with pytest.raises(ValueError, match="non-public"):
        backend.connect_tcp("h.example.com", 443, timeout=5)


def test_the_guarded_backend_connects_when_private_is_allowed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        backend = GuardedBackend(allow_private=True, resolver=dns({"h.test": ["127.0.0.1"]}))
        stream = backend.connect_tcp("h.test", port, timeout=5)
        stream.close()
        backend = GuardedBackend(allow_private=True, resolver=dns({"h.test": ["127.0.0.1"]}))
        with pytest.raises(httpcore.ConnectError):
            with socket.create_server(("127.0.0.1", 0)) as closed:
                dead = closed.getsockname()[1]
            backend.connect_tcp("h.test", dead, timeout=5)


def test_allow_private_allows_local_http_receivers() -> None:
    for url in ("http://127.0.0.1:8025/hook", "https://localhost/x", "http://10.0.0.1/"):
        assert validate_webhook_url(url, allow_private=True) == url
        assert check_destination(url, allow_private=True, resolver=dns({"localhost": ["::1"]}))
    with pytest.raises(ValueError, match="must be https"):
        validate_webhook_url("ftp://127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(
    "entry", ["ops@example.com", " finance@sub.example.co.uk ", "a.b+alerts@example.org"]
)
def test_one_bare_address_per_entry_is_accepted(entry: str) -> None:
    assert validate_email(entry) == entry.strip()


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("ops@example.com\nBcc: all@example.com", "line break"),
        ("ops@example.com\r", "line break"),
        ("a@example.com, b@example.com", "more than one address"),
        ("a@example.com;b@example.com", "more than one address"),
        ("a@example.com b@example.com", "more than one address"),
        ("a@b@example.com", "more than one address"),
        ("Ops <ops@example.com>", "display name"),
        ("<ops@example.com>", "display name"),
        ("", "empty"),
        ("ops", "not an email address"),
        ("ops@", "not an email address"),
        ("@example.com", "not an email address"),
        ("ops@-example.com", "not an email address"),
        ("ops@example..com", "not an email address"),
    ],
)
def test_bad_email_entries_say_why(entry: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        validate_email(entry)


def test_validate_emails_keeps_order_and_drops_repeats() -> None:
    assert validate_emails(["b@x.io", "a@x.io", " b@x.io"]) == ["b@x.io", "a@x.io"]
    with pytest.raises(ValueError, match="line break"):
        validate_emails(["a@x.io", "b@x.io\n"])
