"""Webhook signatures: what a receiver checks, including a replay of an old request."""

from __future__ import annotations

import hashlib
import hmac

from llmledger.alerts.signing import signature_header, verify

SECRET = "whsec_test_0123456789abcdef"
BODY = b'{"version":1,"event":"alert.fired"}'
T = 1_796_000_000


def test_a_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = signature_header(SECRET, T, BODY)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"


def test_verify_accepts_the_request_as_sent() -> None:
    assert verify(SECRET, BODY, signature_header(SECRET, T, BODY), now=T + 10)


def test_verify_refuses_a_changed_body_a_wrong_secret_or_a_moved_timestamp() -> None:
    header = signature_header(SECRET, T, BODY)
    assert not verify(SECRET, BODY + b" ", header, now=T)
    assert not verify("another-secret", BODY, header, now=T)
    moved = header.replace(f"t={T}", f"t={T + 60}")
    assert not verify(SECRET, BODY, moved, now=T + 60)


def test_verify_refuses_a_replay_outside_the_tolerance() -> None:
    header = signature_header(SECRET, T, BODY)
    assert verify(SECRET, BODY, header, now=T + 300)
    assert not verify(SECRET, BODY, header, now=T + 301)
    assert not verify(SECRET, BODY, header, now=T - 301)
    assert verify(SECRET, BODY, header, now=T + 3600, tolerance_seconds=3600)


def test_verify_refuses_malformed_headers_and_accepts_one_of_several_signatures() -> None:
    for header in ("", "t=abc,v1=00", f"t={T}", "v1=00", "garbage"):
        assert not verify(SECRET, BODY, header, now=T)
    good = signature_header(SECRET, T, BODY).split(",v1=")[1]
    assert verify(SECRET, BODY, f"t={T},v1={'0' * 64},v1={good}", now=T)
