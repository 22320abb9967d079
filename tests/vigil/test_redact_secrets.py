"""Redaction never leaves a piece of a camera password behind, whatever characters the password holds."""
from __future__ import annotations

import pytest

from vigil.redact import redact_text, redact_url

PASSWORDS = ["hunter2", "p@ss", "s3cr@t/pw#x", "a?b@c", "x:y@z"]


@pytest.mark.parametrize("pw", PASSWORDS)
def test_redact_url_hides_the_whole_password(pw):
    url = f"rtsp://admin:{pw}@10.0.0.7:554/Streaming/Channels/101"
    shown = redact_url(url)
    assert shown == "rtsp://admin:***@10.0.0.7:554/Streaming/Channels/101"


@pytest.mark.parametrize("pw", PASSWORDS)
def test_redact_text_hides_the_whole_password(pw):
    url = f"rtsp://admin:{pw}@127.0.0.1:9/x"
    msg = f"could not open {url}: [Errno 5] Input/output error: '{url}'"
    out = redact_text(msg)
    assert out == ("could not open rtsp://admin:***@127.0.0.1:9/x: [Errno 5] Input/output error: "
                   "'rtsp://admin:***@127.0.0.1:9/x'")


def test_listed_secrets_are_replaced_before_patterns_cut_them():
    # a message already holding a half-redacted URL still loses the listed secret's every piece
    secret = "s3cr@t/pw#x"
    msg = f"rtsp://admin:{secret}@127.0.0.1:9/x failed; password was {secret}"
    out = redact_text(msg, (secret,))
    assert "s3cr" not in out and "pw#x" not in out and "t/pw" not in out
    assert out == "rtsp://admin:***@127.0.0.1:9/x failed; password was ***"


def test_urls_without_passwords_are_unchanged():
    for url in ("rtsp://cam.local:554/live", "rtsp://viewer@cam/x", "https://hooks.example.com/a"):
        assert redact_url(url) == url
        assert redact_text(f"POST {url} failed") == f"POST {url} failed"
    assert redact_text("mail bob@example.com") == "mail bob@example.com"
    assert redact_url("http://h/x?token=abc&a=1") == "http://h/x?token=***&a=1"
