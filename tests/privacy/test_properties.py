"""Invariants under random surrounding text (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stemme.privacy import detect, redact
from tests.privacy.generators import account_numbers, card_numbers, national_ids

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
surrounding = st.text(max_size=40)
words = st.lists(
    st.sampled_from(
        [
            "Hei",
            "jeg",
            "heter",
            "Kari",
            "Per",
            "og",
            "ring",
            "917 45 302",
            "kr 4 500",
            "24.11.2026",
            "@ola_99",
            "snap:",
            "Storgata",
            "12B",
            "<PERSON>",
            "<PHONE_1>",
            "***",
            "ola@example.no",
            "AB 12345",
            "Hansen",
            "min sønn",
            "Oslo",
            "112",
            "fnr",
            "konto",
            "\n",
            ",",
            ".",
            "mvh",
            "Liv",
            "i dag",
            "0153",
            "kulgutt2009",
            "Eirik Hovden",
        ]
    ),
    max_size=25,
).map(" ".join)


def _survives(number: str, redacted: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    squeezed = "".join(ch for ch in redacted if ch.isdigit())
    return digits in squeezed


@SETTINGS
@given(prefix=surrounding, number=national_ids(), suffix=surrounding)
def test_no_national_id_survives(prefix: str, number: str, suffix: str) -> None:
    text = f"{prefix} {number} {suffix}"
    assert number not in redact(text)
    assert number not in redact(text, operator="mask")


@SETTINGS
@given(prefix=surrounding, number=national_ids(), suffix=surrounding)
def test_no_spaced_national_id_survives(prefix: str, number: str, suffix: str) -> None:
    spaced = f"{number[:6]} {number[6:]}"
    redacted = redact(f"{prefix} {spaced} {suffix}")
    assert spaced not in redacted


@SETTINGS
@given(prefix=surrounding, number=account_numbers(), suffix=surrounding)
def test_no_account_number_survives(prefix: str, number: str, suffix: str) -> None:
    assert number not in redact(f"{prefix} {number} {suffix}")


@SETTINGS
@given(prefix=surrounding, number=card_numbers(), suffix=surrounding)
def test_no_card_number_survives(prefix: str, number: str, suffix: str) -> None:
    assert number not in redact(f"{prefix} {number} {suffix}")


@SETTINGS
@given(text=st.one_of(st.text(max_size=120), words))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    masked = redact(text, operator="mask")
    assert redact(masked, operator="mask") == masked


@SETTINGS
@given(text=st.one_of(st.text(max_size=120), words), language=st.sampled_from([None, "nb", "sv"]))
def test_spans_index_the_original_text(text: str, language: str | None) -> None:
    spans = detect(text, language)
    previous_end = 0
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.start >= previous_end
        previous_end = span.end


def test_survives_helper() -> None:
    assert _survives("123", "a 1 2 3")
    assert not _survives("123", "a <X>")
