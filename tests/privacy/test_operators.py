"""Operators (tag, mask, pseudonymise), the Pseudonymiser and detect()'s span contract."""

from __future__ import annotations

import itertools

import pytest

from stemme.privacy import (
    ENTITY_TYPES,
    OPERATORS,
    RECOGNIZERS,
    Pseudonymiser,
    Span,
    detect,
    redact,
)
from stemme.privacy.engine import resolve
from stemme.privacy.operators import normalise

TEXT = "Jeg heter Eirik Hovden, tlf 917 45 302, e-post eirik@example.no."


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("tag", "Jeg heter <PERSON>, tlf <PHONE>, e-post <EMAIL>."),
        ("mask", "Jeg heter ***** ******, tlf *** ** ***, e-post *****@*******.**."),
    ],
)
def test_tag_and_mask(operator: str, expected: str) -> None:
    assert redact(TEXT, operator=operator) == expected


def test_pseudonymise_is_consistent_within_a_scope() -> None:
    pseudonymiser = Pseudonymiser(b"secret", "conversation-1")
    first = redact("Ring Kari på 917 45 302.", operator="pseudonymise", pseudonymiser=pseudonymiser)
    second = redact(
        "Kari har nå +47 917 45 302 og 22 33 44 55.",
        operator="pseudonymise",
        pseudonymiser=pseudonymiser,
    )
    assert first == "Ring <PERSON_1> på <PHONE_1>."
    assert second == "<PERSON_1> har nå <PHONE_1> og <PHONE_2>."


def test_pseudonymiser_normalises_values() -> None:
    pseudonymiser = Pseudonymiser(b"k", "s")
    assert pseudonymiser.pseudonym("PHONE", "917 45 302") == "<PHONE_1>"
    assert pseudonymiser.pseudonym("PHONE", "+47 91745302") == "<PHONE_1>"
    assert pseudonymiser.pseudonym("PHONE", "0047-917-45-302") == "<PHONE_1>"
    assert pseudonymiser.pseudonym("PERSON", "Kari  Nordmann") == "<PERSON_1>"
    assert pseudonymiser.pseudonym("PERSON", "KARI NORDMANN") == "<PERSON_1>"
    assert pseudonymiser.pseudonym("EMAIL", "Kari@Example.no") == "<EMAIL_1>"
    assert pseudonymiser.pseudonym("EMAIL", "kari@example.no") == "<EMAIL_1>"
    assert pseudonymiser.pseudonym("PERSON", "Ola") == "<PERSON_2>"


@pytest.mark.parametrize(
    ("entity_type", "value", "expected"),
    [
        ("PHONE", "+47 917 45 302", "91745302"),
        ("NATIONAL_ID", "010190 12345", "01019012345"),
        ("BANK_ACCOUNT", "NO93 8601 1117 947", "NO9386011117947"),
        ("BANK_ACCOUNT", "8601.11.17947", "86011117947"),
        ("USERNAME", "@Ola_99", "ola_99"),
        ("PERSON", " Kari\tNordmann ", "kari nordmann"),
    ],
)
def test_normalise(entity_type: str, value: str, expected: str) -> None:
    assert normalise(entity_type, value) == expected


def test_pseudonyms_depend_on_key_and_scope() -> None:
    a = Pseudonymiser(b"key-a", "scope")
    b = Pseudonymiser(b"key-b", "scope")
    c = Pseudonymiser(b"key-a", "other")
    digests = {p.digest("PHONE", "91745302") for p in (a, b, c)}
    assert len(digests) == 3
    assert a.digest("PHONE", "917 45 302") == Pseudonymiser(b"key-a", "scope").digest(
        "PHONE", "+47 917 45 302"
    )


def test_mapping_never_exposes_raw_values() -> None:
    pseudonymiser = Pseudonymiser(b"k", "s")
    redact(TEXT, operator="pseudonymise", pseudonymiser=pseudonymiser)
    mapping = pseudonymiser.mapping
    assert sorted(mapping.values()) == ["<EMAIL_1>", "<PERSON_1>", "<PHONE_1>"]
    dump = repr(mapping) + repr(pseudonymiser)
    for raw in ("Eirik", "Hovden", "91745302", "917 45 302", "eirik@example.no"):
        assert raw.casefold() not in dump.casefold()
    mapping.clear()
    assert pseudonymiser.mapping  # a copy


def test_pseudonymise_without_pseudonymiser_is_consistent_within_the_call() -> None:
    assert redact("Kari og Kari", operator="pseudonymise") == "<PERSON_1> og <PERSON_1>"


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        Pseudonymiser(b"", "s")


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        redact("x", operator="hash")
    assert set(OPERATORS) == {"tag", "mask", "pseudonymise"}


def test_redact_with_given_spans_uses_only_those() -> None:
    spans = [Span(4, 8, "PERSON", 1.0)]
    assert redact("Hei Kari, ring 917 45 302", spans) == "Hei <PERSON>, ring 917 45 302"
    assert redact("Hei Kari", [Span(4, 8, "PERSON", 1.0), Span(5, 7, "PERSON", 1.0)]) == (
        "Hei <PERSON>"
    )


@pytest.mark.parametrize("operator", ["tag", "mask", "pseudonymise"])
def test_redaction_is_idempotent(operator: str) -> None:
    pseudonymiser = Pseudonymiser(b"k", "s")
    once = redact(TEXT, operator=operator, pseudonymiser=pseudonymiser)
    assert redact(once, operator=operator, pseudonymiser=pseudonymiser) == once


@pytest.mark.parametrize("tag", [f"<{t}>" for t in ENTITY_TYPES] + ["<PHONE_1>", "<PERSON_12>"])
def test_tags_are_never_detected(tag: str) -> None:
    assert detect(f"ring {tag} eller skriv til {tag}, hilsen {tag}") == []


def test_detect_spans_are_sorted_non_overlapping_and_typed() -> None:
    text = (
        "Hei, jeg heter Sofie Lund (fnr 15108612322?), ring 48 12 34 56 eller sofie@lund.no. "
        "Kontonummer 1503.12.34567, bil EK 12345, bor i Storgata 5B, 0153 Oslo. snap: sofie_l99"
    )
    spans = detect(text, "nb")
    assert spans
    for left, right in itertools.pairwise(spans):
        assert left.end <= right.start
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.type in ENTITY_TYPES
        assert 0 < span.score <= 1
    assert detect("") == []


def test_resolve_prefers_score_then_length() -> None:
    spans = [
        Span(0, 5, "PERSON", 0.5),
        Span(0, 8, "USERNAME", 0.5),
        Span(6, 10, "PHONE", 0.9),
        Span(12, 12, "PHONE", 0.9),
    ]
    assert resolve(spans) == [Span(0, 5, "PERSON", 0.5), Span(6, 10, "PHONE", 0.9)]
    assert resolve([Span(0, 5, "PERSON", 0.5), Span(0, 8, "USERNAME", 0.5)]) == [
        Span(0, 8, "USERNAME", 0.5)
    ]


def test_registry_is_read_only_and_covers_every_type() -> None:
    covered = {entity for recognizer in RECOGNIZERS.values() for entity in recognizer.entities}
    assert covered == set(ENTITY_TYPES)
    with pytest.raises(TypeError):
        RECOGNIZERS["x"] = RECOGNIZERS["email"]  # type: ignore[index]


def test_detect_with_a_subset_of_recognizers() -> None:
    from stemme.privacy.engine import detect as engine_detect

    only_email = {"email": RECOGNIZERS["email"]}
    assert [s.type for s in engine_detect("Kari kari@x.no", recognizers=only_email)] == ["EMAIL"]


def test_detection_in_two_steps_masks_what_needs_no_language() -> None:
    from stemme.privacy import Detection, detect_many

    texts = ["Mvh Gry Sellæg, gry@sellaeg.no, ring 48 12 34 56", "", "Ingenting her"]
    detection = Detection(texts)
    masked = detection.masked()
    assert [len(m) for m in masked] == [len(t) for t in texts]  # offsets unchanged
    assert "Gry" not in masked[0]
    assert "gry@" not in masked[0]
    assert "48 12 34 56" in masked[0]  # phone numbers are read after the language
    assert masked[1:] == texts[1:]
    languages = ["nb", None, "nb"]
    assert detection.finish(languages) == detect_many(texts, languages)
    assert [s.type for s in detect_many(texts, languages)[0]] == ["PERSON", "EMAIL", "PHONE"]


def test_a_recognizer_that_uses_the_language_gets_it() -> None:
    from stemme.privacy import Recognizer, detect_many

    seen: list[str | None] = []

    def find(text: str, language: str | None = None) -> list[Span]:
        seen.append(language)
        return [Span(0, 3, "PERSON", 0.9)]

    chosen = {"x": Recognizer("x", ("PERSON",), find, uses_language=True)}
    assert detect_many(["Per og Kari"], ["nn"], chosen) == [[Span(0, 3, "PERSON", 0.9)]]
    assert seen == ["nn"]
