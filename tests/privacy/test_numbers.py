"""National ids, bank accounts, IBAN and payment cards: positives and hard negatives."""

from __future__ import annotations

import re

import pytest

from stemme.privacy import RECOGNIZERS, detect
from stemme.privacy.numbers import is_fodselsnummer
from tests.privacy.generators import _K1, _K2, fodselsnummer, luhn_complete, mod11

FNR = fodselsnummer(15, 10, 86, 123, d_number=False)
DNR = fodselsnummer(15, 10, 86, 123, d_number=True)
assert FNR is not None
assert DNR is not None


def _h_number() -> str:
    """A valid H-nummer (month + 40)."""
    for individual in range(100, 500):
        base = f"1550{86}{individual:03d}"
        k1 = mod11(base, _K1)
        if k1 is None:
            continue
        k2 = mod11(base + str(k1), _K2)
        if k2 is not None:
            return f"{base}{k1}{k2}"
    raise AssertionError("no H-nummer")


HNR = _h_number()
CARD = luhn_complete("411111111111111")


def found(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.type) for s in detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"fnr {FNR}", [(FNR, "NATIONAL_ID")]),
        (
            f"Fødselsnummeret mitt er {FNR[:6]} {FNR[6:]}.",
            [(f"{FNR[:6]} {FNR[6:]}", "NATIONAL_ID")],
        ),
        (f"f.nr. {FNR[:6]}.{FNR[6:]}", [(f"{FNR[:6]}.{FNR[6:]}", "NATIONAL_ID")]),
        (f"D-nummer {DNR}", [(DNR, "NATIONAL_ID")]),
        (f"H-nummer {HNR}", [(HNR, "NATIONAL_ID")]),
        (f"{FNR}", [(FNR, "NATIONAL_ID")]),
        ("personnummer 811228-9874", [("811228-9874", "NATIONAL_ID")]),
        ("pnr 19811228-9874 tack", [("19811228-9874", "NATIONAL_ID")]),
        ("han är 811228+9874", [("811228+9874", "NATIONAL_ID")]),
        ("personnummer 8112289874", [("8112289874", "NATIONAL_ID")]),
        ("CPR 211062-5629", [("211062-5629", "NATIONAL_ID")]),
        ("mit cpr-nummer er 2110625629", [("2110625629", "NATIONAL_ID")]),
        ("kontonummer 8601.11.17947", [("8601.11.17947", "BANK_ACCOUNT")]),
        ("overfør til 8601 11 17947", [("8601 11 17947", "BANK_ACCOUNT")]),
        ("kontonr 86011117947", [("86011117947", "BANK_ACCOUNT")]),
        ("IBAN NO93 8601 1117 947", [("NO93 8601 1117 947", "BANK_ACCOUNT")]),
        ("iban: NO9386011117947.", [("NO9386011117947", "BANK_ACCOUNT")]),
        (
            "DE89 3704 0044 0532 0130 00 er kontoen",
            [("DE89 3704 0044 0532 0130 00", "BANK_ACCOUNT")],
        ),
        (f"kortet {CARD} ble brukt", [(CARD, "PAYMENT_CARD")]),
        ("kort 5500 0000 0000 0004", [("5500 0000 0000 0004", "PAYMENT_CARD")]),
        ("amex 3782-822463-10005", [("3782-822463-10005", "PAYMENT_CARD")]),
        ("4111 1111 1111 1111 123 kr", [("4111 1111 1111 1111", "PAYMENT_CARD")]),
    ],
)
def test_finds_numbers(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_valid_id_with_account_context_is_still_redacted() -> None:
    # Every valid fødselsnummer passes the account check: with account words it may be typed
    # BANK_ACCOUNT, but it is never left out.
    assert found(f"konto {FNR}") in ([(FNR, "BANK_ACCOUNT")], [(FNR, "NATIONAL_ID")])


@pytest.mark.parametrize(
    "text",
    [
        "Møtet er 24.11.2026 kl 15:30.",
        "født 01.01.90",
        "saksnummer 24-123456",
        "referanse 2024/5566",
        "org.nr 923 609 016",
        "organisasjonsnummer 923609016",
        "KID 1234567890123",
        "I 2024 og 2025",
        "postnummer 0153",
        "kr 4 500",
        "15108695089",  # wrong check digits
        "8601.11.17948 er feil",
        "IBAN NO93 8601 1117 948",
        "4111 1111 1111 1112",
        "kontaktnummer 12345678901234",
        "211362-5629",  # no 13th month
    ],
)
def test_number_negatives(text: str) -> None:
    assert found(text) == []


def _new_scheme_number() -> str:
    """Valid check digits, but an individual number outside stdnum's century rules."""
    for individual in range(750, 900):
        number = fodselsnummer(3, 4, 85, individual, d_number=False)
        if number is not None:
            return number
    raise AssertionError("none")


def test_check_digits_decide_not_the_century_rule() -> None:
    number = _new_scheme_number()
    assert is_fodselsnummer(number)
    assert found(f"fødselsnummer {number}") == [(number, "NATIONAL_ID")]
    assert not is_fodselsnummer(number[:-1] + str((int(number[-1]) + 1) % 10))
    assert not is_fodselsnummer("32128512345")
    assert not is_fodselsnummer("1234")


def test_mistyped_account_with_account_words_is_still_redacted() -> None:
    assert found("kontonummeret hans er 1234 56 78901") == [("1234 56 78901", "BANK_ACCOUNT")]
    assert found("tallene 1234 56 78901") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("personnummer 850312-2384", [("850312-2384", "NATIONAL_ID")]),
        ("kortnummeret 4716 2210 3345 9876", [("4716 2210 3345 9876", "PAYMENT_CARD")]),
    ],
)
def test_mistyped_numbers_after_a_cue_are_still_redacted(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", ["koden 850312-2384", "ordre 4716 2210 3345 9876"])
def test_mistyped_numbers_without_a_cue_are_left(text: str) -> None:
    assert found(text) == []


def test_kid_that_passes_mod11_is_not_an_account() -> None:
    kid = "86011117947"
    assert found(f"KID {kid}") == []


def test_registry_has_number_recognizers() -> None:
    assert {"no_fodselsnummer", "no_kontonr", "iban", "nordic_id", "payment_card"} <= set(
        RECOGNIZERS
    )
    spans = RECOGNIZERS["no_fodselsnummer"](f"fnr {FNR}")
    assert [s.recognizer for s in spans] == ["no_fodselsnummer"]


@pytest.mark.parametrize(
    "text", ["", "abc", "12 345", "1234.56.78903", "tlf 41234567", "٣٤٥٦ 12", "1 2 3", "x9y99z"]
)
def test_longest_digit_run_answers_the_digit_patterns(text: str) -> None:
    from stemme.privacy._text import digit_count, longest_digit_run

    for n in range(1, 11):
        assert (longest_digit_run(text) >= n) is (re.search(rf"\d{{{n}}}", text) is not None)
    assert digit_count(text) == len(re.findall(r"\d", text))


def test_per_text_values_are_remembered_for_recent_texts_only() -> None:
    from stemme.privacy._text import PerText

    calls: list[str] = []

    def length(text: str) -> int:
        calls.append(text)
        return len(text)

    per_text = PerText(length, size=2)
    first, second, third = "en", "to tre", "fire fem seks"
    assert [per_text(t) for t in (first, second, first, second)] == [2, 6, 2, 6]
    assert calls == [first, second]  # each text once
    per_text(third)  # a third text: the memory is full and starts over
    per_text(first)
    assert calls == [first, second, third, first]
    equal = "".join(["e", "n"])  # equal to the first text, but another object
    assert per_text(equal) == 2
    assert calls[-1] is equal
