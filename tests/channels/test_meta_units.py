"""Framework-free parts of the Meta adapter that HTTP tests cannot reach."""

from __future__ import annotations

import logging

import pytest

from stemme.channels import meta
from stemme.channels.meta import MAX_BODY_BYTES, MetaWebhook, PayloadTooLargeError, sign
from tests.channels.conftest import APP_SECRET, Intake, make_settings


def test_handle_refuses_oversized_bodies_itself() -> None:
    intake = Intake()
    body = b" " * (MAX_BODY_BYTES + 1)
    with pytest.raises(PayloadTooLargeError):
        MetaWebhook(make_settings(), intake).handle(body, sign(APP_SECRET, body))
    assert intake.calls == []


def test_signature_header_may_carry_whitespace() -> None:
    body = b'{"object": "page", "entry": []}'
    assert meta.signature_valid(APP_SECRET, body, f"  {sign(APP_SECRET, body)} ")
    assert not meta.signature_valid(APP_SECRET, body, None)
    assert not meta.signature_valid("", body, sign("", body))


@pytest.mark.parametrize(
    ("msg", "args", "shown"),
    [
        ("HTTP Request: %s %s", ("POST", "https://g/1/messages?access_token=EAAx&x=1"), "EAAx"),
        ("GET https://g/1/messages?access_token=EAAy", (), "EAAy"),
        ("keep %(a)s", {"a": "access_token=EAAz"}, None),
        ("no token %s", (3,), None),
    ],
)
def test_token_filter_redacts_urls(msg: str, args: object, shown: str | None) -> None:
    record = logging.makeLogRecord({"name": "httpx", "msg": msg, "args": args})
    assert meta.RedactAccessToken().filter(record)
    if shown is not None:
        assert shown not in record.getMessage()
        assert "access_token=***" in record.getMessage()


def test_token_filter_is_installed_once() -> None:
    meta._install_token_filter()
    meta._install_token_filter()
    filters = logging.getLogger("httpx").filters
    assert sum(isinstance(f, meta.RedactAccessToken) for f in filters) == 1


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, None), ("2", 2.0), (" 0.5 ", 0.5), ("-3", 0.0), ("soon", None)]
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert meta._retry_after(value) == seconds


def test_a_page_with_a_district_routes_its_messages_there() -> None:
    import json as _json

    from stemme.channels.meta import parse_delivery

    event = {"sender": {"id": "42"}, "timestamp": 1, "message": {"mid": "m1", "text": "Hei"}}
    body = _json.dumps({"object": "page", "entry": [{"id": "P1", "messaging": [event]}]}).encode()
    [routed] = parse_delivery(body, {"P1": "token"}, {"P1": "Troms"})
    assert routed.channel_district == "Troms"
    [unrouted] = parse_delivery(body, {"P1": "token"})
    assert unrouted.channel_district is None
