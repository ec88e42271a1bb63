"""The Meta webhook over real HTTP: handshake, signature, limits, parsing, delivery to intake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from stemme.channels.meta import MAX_BODY_BYTES, sign
from stemme.inbox.types import InboundMessage
from tests.channels import meta_payloads as p
from tests.channels.conftest import (
    APP_SECRET,
    IG_ACCOUNT_ID,
    PAGE_ID,
    VERIFY_TOKEN,
    Intake,
    Served,
    make_settings,
    webhook_app,
)

URL = "/channels/meta/webhook"


def post(http: httpx.Client, payload: Any, **kwargs: Any) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else p.encode(payload)
    headers = kwargs.pop("headers", None)
    return http.post(URL, content=body, headers=headers or p.signed_headers(body), **kwargs)


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["instance"] == URL


# --- verification handshake -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, 200),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong"}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + "x"}, 403),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN}, 403),
        ({"hub.verify_token": VERIFY_TOKEN}, 403),
        ({"hub.mode": "subscribe"}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": ""}, 403),
    ],
)
def test_handshake(webhook: httpx.Client, params: dict[str, str], status: int) -> None:
    response = webhook.get(URL, params={**params, "hub.challenge": "1158201444"})
    assert response.status_code == status
    if status == 200:
        assert response.text == "1158201444"
        assert response.headers["content-type"].startswith("text/plain")
    else:
        assert_problem(response, status)
        assert "1158201444" not in response.text


def test_handshake_without_challenge_is_bad_request(webhook: httpx.Client) -> None:
    response = webhook.get(URL, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN})
    assert_problem(response, 400)


@pytest.mark.parametrize("token", ["", "anything"])
def test_handshake_refused_when_no_token_is_configured(token: str) -> None:
    app = webhook_app(make_settings(meta_verify_token=""), Intake())
    with Served(app) as served:
        params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}
        response = httpx.get(served.url + URL, params=params)
    assert response.status_code == 403


# --- signature, size, shape -------------------------------------------------------------------

BODY = p.encode(p.MESSENGER_TEXT)


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("missing", {"Content-Type": "application/json"}),
        ("wrong secret", {"X-Hub-Signature-256": sign("another-secret", BODY)}),
        ("sha1 scheme", {"X-Hub-Signature-256": sign(APP_SECRET, BODY).replace("sha256", "sha1")}),
        ("bare hex", {"X-Hub-Signature-256": sign(APP_SECRET, BODY).removeprefix("sha256=")}),
        ("empty", {"X-Hub-Signature-256": ""}),
        ("garbage", {"X-Hub-Signature-256": "sha256=zzzz"}),
        ("of other body", {"X-Hub-Signature-256": sign(APP_SECRET, BODY + b" ")}),
        ("old header only", {"X-Hub-Signature": "sha1=" + "0" * 40}),
    ],
)
def test_bad_signature_is_refused(
    webhook: httpx.Client, intake: Intake, name: str, headers: dict[str, str]
) -> None:
    response = webhook.post(URL, content=BODY, headers=headers)
    assert_problem(response, 401)
    assert intake.calls == []


def test_signature_over_raw_bytes_not_reserialised_json(
    webhook: httpx.Client, intake: Intake
) -> None:
    body = b'{"object": "page",\n  "entry": [' + p.encode(p.MESSENGER_TEXT["entry"][0]) + b"]}"
    response = post(webhook, body)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "received": 1}
    assert len(intake.messages) == 1


def test_empty_app_secret_refuses_everything() -> None:
    intake = Intake()
    with Served(webhook_app(make_settings(meta_app_secret=""), intake)) as served:
        headers = p.signed_headers(BODY, secret="")
        response = httpx.post(served.url + URL, content=BODY, headers=headers)
    assert response.status_code == 401
    assert intake.calls == []


def test_oversized_by_content_length(webhook: httpx.Client, intake: Intake) -> None:
    body = b'{"object":"page","entry":[],"pad":"' + b"x" * MAX_BODY_BYTES + b'"}'
    response = post(webhook, body)
    assert_problem(response, 413)
    assert intake.calls == []


def test_oversized_streamed_without_content_length(webhook: httpx.Client, intake: Intake) -> None:
    body = b'{"object":"page","entry":[],"pad":"' + b"x" * MAX_BODY_BYTES + b'"}'

    def chunks() -> Any:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    response = webhook.post(URL, content=chunks(), headers=p.signed_headers(body))
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)
    assert intake.calls == []


def test_body_at_the_limit_is_accepted(webhook: httpx.Client, intake: Intake) -> None:
    prefix = b'{"object":"page","entry":[],"pad":"'
    body = prefix + b"x" * (MAX_BODY_BYTES - len(prefix) - 2) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    response = post(webhook, body)
    assert response.json() == {"status": "ok", "received": 0}


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("not json", b"{object: page", 400),
        ("not utf-8", b"\xff\xfe\x00", 400),
        ("empty", b"", 400),
        ("array", b"[]", 400),
        ("no object", b'{"entry": []}', 400),
        ("unknown object", b'{"object": "whatsapp_business_account", "entry": []}', 400),
        ("object not string", b'{"object": 1, "entry": []}', 400),
        ("entry not list", b'{"object": "page", "entry": {}}', 400),
        ("entry item not object", b'{"object": "page", "entry": [1]}', 400),
        ("entry without id", b'{"object": "page", "entry": [{"messaging": []}]}', 400),
        ("entry id bool", b'{"object": "page", "entry": [{"id": true}]}', 400),
        (
            "messaging not list",
            b'{"object": "page", "entry": [{"id": "%s", "messaging": {}}]}' % PAGE_ID.encode(),
            400,
        ),
        (
            "event not object",
            b'{"object": "page", "entry": [{"id": "%s", "messaging": ["x"]}]}' % PAGE_ID.encode(),
            400,
        ),
        ("message not object", p.encode(p.messenger(p.event(p.PSID, PAGE_ID, message="hi"))), 400),
        ("postback not object", p.encode(p.messenger(p.event(p.PSID, PAGE_ID, postback=[]))), 400),
        (
            "message without mid",
            p.encode(p.messenger(p.event(p.PSID, PAGE_ID, message={"text": "hei"}))),
            400,
        ),
        (
            "no sender",
            p.encode(p.messenger({"timestamp": p.TS, "message": {"mid": "m_1", "text": "x"}})),
            400,
        ),
        (
            "timestamp as text",
            p.encode(p.messenger(p.text("m_1", "hei", ts="1764070000123"))),  # type: ignore[arg-type]
            400,
        ),
        (
            "attachments not list",
            p.encode(
                p.messenger(p.event(p.PSID, PAGE_ID, message={"mid": "m", "attachments": {}}))
            ),
            400,
        ),
        (
            "attachment not object",
            p.encode(
                p.messenger(p.event(p.PSID, PAGE_ID, message={"mid": "m", "attachments": [1]}))
            ),
            400,
        ),
    ],
)
def test_malformed_delivery(
    webhook: httpx.Client, intake: Intake, name: str, body: bytes, status: int
) -> None:
    response = post(webhook, body)
    assert_problem(response, status)
    assert intake.calls == []


@pytest.mark.parametrize(
    "payload",
    [
        p.delivery("page", p.entry("999999999999999", p.text("m_x", "hei"))),
        p.delivery("instagram", p.entry("17849999999999999", p.text("m_y", "hei"))),
        # one unknown entry refuses the whole delivery: nothing of it is stored
        p.delivery("page", p.entry(PAGE_ID, p.text("m_ok", "hei")), p.entry("1", p.text("m", "x"))),
    ],
)
def test_unknown_page_is_refused(webhook: httpx.Client, intake: Intake, payload: Any) -> None:
    response = post(webhook, payload)
    assert_problem(response, 403)
    assert intake.calls == []


def test_without_intake_answers_503() -> None:
    with Served(webhook_app(make_settings(), None)) as served:
        response = httpx.post(served.url + URL, content=BODY, headers=p.signed_headers(BODY))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "intake not configured"


def test_failing_intake_answers_500_so_meta_retries(webhook: httpx.Client, intake: Intake) -> None:
    intake.fail = True
    response = post(webhook, p.MESSENGER_TEXT)
    assert_problem(response, 500)
    assert "database" not in response.text


# --- parsing -------------------------------------------------------------------------------

SENT_AT = datetime(2025, 11, 25, 11, 26, 40, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        (
            "messenger text",
            p.MESSENGER_TEXT,
            [
                InboundMessage(
                    channel="messenger",
                    thread_key=f"{PAGE_ID}:{p.PSID}",
                    channel_message_id=p.MESSENGER_TEXT["entry"][0]["messaging"][0]["message"][
                        "mid"
                    ],
                    text="Hei! Det er mye råkjøring i Storgata om kvelden.",
                    sent_at=SENT_AT,
                )
            ],
        ),
        (
            "instagram text",
            p.INSTAGRAM_TEXT,
            [
                InboundMessage(
                    channel="instagram",
                    thread_key=f"{IG_ACCOUNT_ID}:{p.IGSID}",
                    channel_message_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMTIzNDU2Nzg5",
                    text="Hvem kan jeg snakke med om nabolaget?",
                    sent_at=SENT_AT,
                )
            ],
        ),
        (
            "attachments",
            p.ATTACHMENTS,
            [
                InboundMessage(
                    channel="messenger",
                    thread_key=f"{PAGE_ID}:{p.PSID}",
                    channel_message_id="m_attach_1",
                    text="",
                    sent_at=SENT_AT,
                    attachments=(
                        f"image:{p.IMAGE_URL}",
                        f"audio:{p.AUDIO_URL}",
                        f"file:{p.FILE_URL}",
                        f"image:{p.IMAGE_URL}",
                        "location",
                    ),
                )
            ],
        ),
        (
            "instagram share",
            p.INSTAGRAM_SHARE,
            [
                InboundMessage(
                    channel="instagram",
                    thread_key=f"{IG_ACCOUNT_ID}:{p.IGSID}",
                    channel_message_id="aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA-share",
                    text="",
                    sent_at=SENT_AT,
                    attachments=(f"share:{p.SHARE_URL}",),
                )
            ],
        ),
        (
            "postback",
            p.POSTBACK,
            [
                InboundMessage(
                    channel="messenger",
                    thread_key=f"{PAGE_ID}:{p.PSID}",
                    channel_message_id="m_postback_1",
                    text="Kontakt politiet",
                    sent_at=SENT_AT,
                )
            ],
        ),
        (
            "quick reply",
            p.QUICK_REPLY,
            [
                InboundMessage(
                    channel="messenger",
                    thread_key=f"{PAGE_ID}:{p.PSID}",
                    channel_message_id="m_qr_1",
                    text="Ja",
                    sent_at=SENT_AT,
                )
            ],
        ),
        ("echo of our own reply", p.ECHO, []),
        ("read, delivery and reaction", p.RECEIPTS, []),
        ("no entries", p.delivery("page"), []),
        ("entry without messaging", p.delivery("instagram", {"id": IG_ACCOUNT_ID, "time": 1}), []),
    ],
)
def test_parsing(
    webhook: httpx.Client,
    intake: Intake,
    name: str,
    payload: Any,
    expected: list[InboundMessage],
) -> None:
    response = post(webhook, payload)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "received": len(expected)}
    assert intake.messages == expected
    assert len(intake.calls) == (1 if expected else 0)


def test_multiple_entries_and_messages_in_one_delivery(
    webhook: httpx.Client, intake: Intake
) -> None:
    response = post(webhook, p.MULTIPLE)
    assert response.json() == {"status": "ok", "received": 3}
    assert len(intake.calls) == 1  # deliver is called once per delivery
    got = [(m.channel_message_id, m.thread_key, m.text) for m in intake.messages]
    assert got == [
        ("m_multi_1", f"{PAGE_ID}:{p.PSID}", "Første melding"),
        ("m_multi_2", f"{PAGE_ID}:7000000000000001", "Andre melding"),
        ("m_multi_3", f"{PAGE_ID}:{p.PSID}", "Tredje melding"),
    ]
    assert [m.sent_at.timestamp() for m in intake.messages] == [
        p.TS / 1000,
        (p.TS + 1000) / 1000,
        (p.TS + 2000) / 1000,
    ]
    assert all(m.channel_district is None for m in intake.messages)


@pytest.mark.parametrize("payload", [p.MESSENGER_TEXT, p.POSTBACK_WITHOUT_MID, p.ATTACHMENTS])
def test_duplicate_delivery_has_the_same_ids(
    webhook: httpx.Client, intake: Intake, payload: Any
) -> None:
    first = post(webhook, payload)
    second = post(webhook, payload)
    assert first.status_code == second.status_code == 200
    assert len(intake.calls) == 2
    assert intake.calls[0] == intake.calls[1]


def test_postback_without_mid_gets_a_stable_distinct_id(
    webhook: httpx.Client, intake: Intake
) -> None:
    other_payload = p.messenger(
        p.event(p.PSID, PAGE_ID, postback={"title": "Kom i gang", "payload": "OTHER"})
    )
    later = p.messenger(
        p.event(p.PSID, PAGE_ID, p.TS + 1, postback={"title": "Kom i gang", "payload": "OTHER"})
    )
    for payload in (p.POSTBACK_WITHOUT_MID, other_payload, later):
        assert post(webhook, payload).status_code == 200
    ids = [m.channel_message_id for m in intake.messages]
    assert all(i.startswith("postback:") for i in ids)
    assert len(set(ids)) == 3
    assert intake.messages[0].text == "Kom i gang"


def test_events_without_text_fall_back_to_payloads(webhook: httpx.Client, intake: Intake) -> None:
    payload = p.messenger(
        p.event(p.PSID, PAGE_ID, postback={"mid": "m_pb", "payload": "GET_STARTED"}),
        p.event(p.PSID, PAGE_ID, message={"mid": "m_qr", "quick_reply": {"payload": "YES"}}),
        p.event(p.PSID, PAGE_ID, message={"mid": "m_att", "attachments": [{"payload": {}}]}),
    )
    assert post(webhook, payload).json()["received"] == 3
    assert [(m.text, m.attachments) for m in intake.messages] == [
        ("GET_STARTED", ()),
        ("YES", ()),
        ("", ("unknown",)),
    ]


@pytest.mark.parametrize(
    "event",
    [
        # an echo without the flag (sender is the page itself)
        p.event(PAGE_ID, p.PSID, message={"mid": "m_self", "text": "Svar fra siden"}),
        # Instagram: the citizen deleted the message, or sent something unsupported
        p.event(p.PSID, PAGE_ID, message={"mid": "m_del", "is_deleted": True}),
        p.event(p.PSID, PAGE_ID, message={"mid": "m_uns", "is_unsupported": True}),
        # referral and opt-in events carry no message
        p.event(p.PSID, PAGE_ID, referral={"ref": "qr-oslo", "source": "SHORTLINK"}),
    ],
)
def test_other_events_are_ignored(
    webhook: httpx.Client, intake: Intake, event: dict[str, Any]
) -> None:
    assert post(webhook, p.messenger(event)).json() == {"status": "ok", "received": 0}
    assert intake.calls == []


def test_numeric_ids_are_accepted(webhook: httpx.Client, intake: Intake) -> None:
    payload = p.delivery(
        "page",
        {
            "id": int(PAGE_ID),
            "time": p.TS,
            "messaging": [
                {
                    "sender": {"id": int(p.PSID)},
                    "recipient": {"id": int(PAGE_ID)},
                    "timestamp": p.TS,
                    "message": {"mid": "m_num", "text": "hei"},
                }
            ],
        },
    )
    assert post(webhook, payload).json()["received"] == 1
    assert intake.messages[0].thread_key == f"{PAGE_ID}:{p.PSID}"
