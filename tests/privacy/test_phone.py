"""Phone numbers: Norwegian groupings, foreign numbers and the hard negatives."""

from __future__ import annotations

import pytest

from stemme.privacy import RECOGNIZERS

PHONE = RECOGNIZERS["phone"]


def found(text: str, language: str | None = None) -> list[str]:
    return [text[s.start : s.end] for s in PHONE(text, language)]


@pytest.mark.parametrize(
    ("text", "expected", "language"),
    [
        ("tlf 917 45 302", ["917 45 302"], None),
        ("ring meg på 91745302", ["91745302"], None),
        ("+47 917 45 302", ["+47 917 45 302"], None),
        ("0047 917 45 302", ["0047 917 45 302"], None),
        ("nr: +4791745302.", ["+4791745302"], None),
        ("sentralbord 22 33 44 55", ["22 33 44 55"], None),
        ("mobil 4123 4567", ["4123 4567"], None),
        ("telefon 97-12-43-80", ["97-12-43-80"], None),
        ("ring +46 70 123 45 67", ["+46 70 123 45 67"], None),
        ("mobil 070-123 45 67", ["070-123 45 67"], "sv"),
        ("mobil 070-123 45 67", ["070-123 45 67"], None),
        ("ring +45 32 12 34 56", ["+45 32 12 34 56"], "da"),
        ("Numărul lui este +40 744 218 903.", ["+40 744 218 903"], None),
        ("call +44 20 7946 0958", ["+44 20 7946 0958"], "en"),
        ("nummer 4791745302", ["4791745302"], None),
        ("nummer 47 917 45 302", ["47 917 45 302"], None),
        # possible but not in phonenumbers' valid ranges: still a number written to be called
        ("his phone is +44 7700 900461", ["+44 7700 900461"], "en"),
    ],
)
def test_finds_phones(text: str, expected: list[str], language: str | None) -> None:
    assert found(text, language) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ring 112 ved fare",
        "ring 113 eller 110",
        "Ring 02800 til politiet",
        "Alarmtelefonen for barn og unge 116 111",
        "legevakt 116 117",
        "dato 24.11.2026",
        "klokka 15.30",
        "kr 4 500",
        "det kostet 45 000 000 kr",
        "saksnummer 24-123456",
        "referanse 2024/5566",
        "org.nr 923 609 016",
        "KID 12345678",
        "ordrenummer 91745302",
        "rammenummer 41234567",
        "i 2024 og 2025",
        "postnummer 0153 Oslo",
        "ingen sifre her",
    ],
)
def test_phone_negatives(text: str) -> None:
    assert found(text) == []


def test_official_number_next_to_a_phone_number() -> None:
    from stemme.privacy.phone import find_phones

    text = "Ring 02800 eller 22 22 22 22"
    assert [text[s.start : s.end] for s in find_phones(text, "nb")] == ["22 22 22 22"]
    assert list(find_phones("fax 22 33/44 55 66", "nb")) == []


def test_covered_ranges_are_not_scanned() -> None:
    from stemme.privacy.phone import find_phones

    text = "Ring 917 45 302 eller 22 22 22 22"
    start = text.index("22 22")
    assert [text[s.start : s.end] for s in find_phones(text, "nb")] == [
        "917 45 302",
        "22 22 22 22",
    ]
    covered = [(start, len(text))]
    assert [text[s.start : s.end] for s in find_phones(text, "nb", covered)] == ["917 45 302"]


def test_phone_next_to_numbers_that_outrank_it() -> None:
    from stemme.privacy import detect

    text = "Kortet 4224 7045 5853 0431 ble brukt, ip 23.13.181.122. Ring meg på 917 45 302."
    types = {text[s.start : s.end]: s.type for s in detect(text, language="en")}
    assert types["4224 7045 5853 0431"] == "PAYMENT_CARD"
    assert types["23.13.181.122"] == "IP_ADDRESS"
    assert types["917 45 302"] == "PHONE"
