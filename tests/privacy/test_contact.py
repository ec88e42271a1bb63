"""E-mail, IP addresses and handles."""

from __future__ import annotations

import pytest

from stemme.privacy import RECOGNIZERS, detect
from stemme.privacy.contact import looks_like_handle


def found(name: str, text: str) -> list[str]:
    return sorted({text[s.start : s.end] for s in RECOGNIZERS[name](text)})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skriv til kari.nordmann@example.no.", ["kari.nordmann@example.no"]),
        ("e-post: ola+politi@sub.domain.com", ["ola+politi@sub.domain.com"]),
        ("mail meg (per_99@hotmail.com)", ["per_99@hotmail.com"]),
        ("ingen epost @ her", []),
        ("@ola er ikke en adresse", []),
    ],
)
def test_emails(text: str, expected: list[str]) -> None:
    assert found("email", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IP-en var 84.210.55.172, sa han", ["84.210.55.172"]),
        ("fra 192.168.1.25", ["192.168.1.25"]),
        ("adresse 2001:db8::8a2e:370:7334", ["2001:db8::8a2e:370:7334"]),
        ("ipv6 2001:4643:e1c2:0:b4f1:92ff:fe3c:17a0.", ["2001:4643:e1c2:0:b4f1:92ff:fe3c:17a0"]),
        ("ugyldig 999.1.1.1", []),
        ("versjon 10.0.0.1 krasjer", []),
        ("klokka 12:30:45", []),
        ("dato 24.11.2026", []),
    ],
)
def test_ip_addresses(text: str, expected: list[str]) -> None:
    assert found("ip_address", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("følg @ola_99 på insta", ["@ola_99"]),
        ("snap: kulgutt2009", ["kulgutt2009"]),
        ("insta: kari.nordmann", ["kari.nordmann"]),
        ("han la meg til på snap kulgutt2009", ["kulgutt2009"]),
        ("discord: shadow#1234", ["shadow#1234"]),
        ("legg til Ghost#0420 på discord", ["Ghost#0420"]),
        ("profil facebook.com/kari.nordmann.", ["facebook.com/kari.nordmann"]),
        ("https://www.instagram.com/ola_99/ er han", ["https://www.instagram.com/ola_99/"]),
        ("se tiktok.com/@partyboy", ["tiktok.com/@partyboy"]),
        ("a guy called xXdaddyMikeXx on minecraft", ["xXdaddyMikeXx"]),
        ("brukernavnet hans er bigboy_77", ["bigboy_77"]),
        ("han kaller seg darkwolf88 på discord", ["darkwolf88"]),
        ("han het lurendreier_1 på steam", ["lurendreier_1"]),
        ("en fyr selger på snap, hemmelig_butikk, hver dag", ["hemmelig_butikk"]),
        ("admin på serveren er ninja2010", ["ninja2010"]),
        ("snapen hans er kulgutt og han er 30", ["kulgutt"]),
        ("brukernavnet er tigeren", ["tigeren"]),
        ("en som kaller seg 'jokerboy' på Snapchat", ["jokerboy"]),
        ("en fyr på fortnite (XxSniperKingxX) truer meg", ["XxSniperKingxX"]),
        ("han heter ola og har snap olabolla. si det ikke", ["olabolla"]),
    ],
)
def test_usernames(text: str, expected: list[str]) -> None:
    assert found("username", text)
    assert [text[s.start : s.end] for s in detect(text) if s.type == "USERNAME"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "han la meg til på snap. hva gjør jeg",
        "jeg så det på tiktok i går",
        "gutten er 16-åringer på discord",
        "E18 var stengt, sa de på snap",
        "han er sint og skriver på insta",
        "facebook.com/ er nede",
        "kode ps5 og 4G på game",
        "snap er dritt",
        "snapen hans er privat",
        "jeg har snap men ikke insta",
        "kontoen min er tømt",
        "han sendte en melding på YouTube og TikTok fra iPhone",
    ],
)
def test_username_negatives(text: str) -> None:
    assert [s for s in detect(text) if s.type == "USERNAME"] == []


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("kulgutt2009", True),
        ("xXdaddyMikeXx", True),
        ("ellie.x.08", True),
        ("name#1234", True),
        ("hello", False),
        ("12345", False),
        ("ab", False),
        ("16-åring", False),
        ("E18", False),
        ("Kari", False),
    ],
)
def test_looks_like_handle(word: str, expected: bool) -> None:
    assert looks_like_handle(word) is expected
