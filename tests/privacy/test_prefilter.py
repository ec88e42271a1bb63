"""The regex pre-filter never rules out a text that the pattern matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stemme.privacy import contact, names, numbers, phone, places
from stemme.privacy.prefilter import (
    PLAIN,
    WORDS,
    Alphabet,
    Finder,
    Frequencies,
    is_safe,
    may_match,
    required_all,
    required_grams,
    shape,
)
from stemme.understanding import rules


class TextGrams:
    """One text as an alphabet writes it, to test a pattern's required strings against
    directly (the reference for the product's Finder)."""

    def __init__(self, text: str, alphabet: Alphabet = PLAIN) -> None:
        self.lowered = shape(text) if alphabet.shaped else text.lower()
        self.safe = is_safe(text)

    def has_any(self, strings: frozenset[str]) -> bool:
        return any(s in self.lowered for s in strings)

    def may_match(self, required: frozenset[str] | None) -> bool:
        return required is None or not self.safe or self.has_any(required)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _patterns() -> list[re.Pattern[str]]:
    found: list[re.Pattern[str]] = []
    for module in (contact, names, numbers, phone, places, rules):
        found.extend(v for v in vars(module).values() if isinstance(v, re.Pattern))
    found.extend(cue.pattern for cue in rules._all_cues())
    for _, alternatives in rules._ALTERNATIVES.values():
        found.extend(alternatives)
    return found


PATTERNS = _patterns()
TEXTS = [
    "Hei, jeg heter Kari Nordmann og vil anmelde at sykkelen min ble stjålet i Oslo.",
    "Han står utenfor døra mi med kniv nå! Ring 917 45 302",
    "HJELP",
    "Eg vil ikkje leve lenger",
    "I don't want to live anymore, my 14 year old son",
    "Snap: xXdaddyMikeXx, insta @ola_99, discord jokerboy#1234",
    "Kontonummer 1234.56.78903, kort 4111 1111 1111 1111, fnr 01019012345",
    "Storgata 12B, 0155 Oslo. Bilen har skilt EL 12345",
    "<PERSON> sa: «hjelp!» – på E6 nå, 14-åring, ٣ år, x_y, tab\tny\nlinje",
    "ſelvmord ſkal İstanbul Σίσυφος KELVIN K",  # characters re folds specially
    "",
]
PIECES = [
    "hei",
    "Hjelp",
    "jeg",
    "heter",
    "nå",
    "kniv",
    "ſ",
    "ı",
    "K",
    "İ",
    "ς",
    "selvmord",
    "ta livet mitt",
    "i går",
    "snap",
    "@",
    "12",
    "på 14",
    "!",
    "\n",
    "Storgata 5",
    "min sønn",
    "mvh",
    "Kari",
    "takk",
]


def _assert_sound(pattern: re.Pattern[str], text: str) -> None:
    if pattern.search(text) is not None:
        for alphabet in (PLAIN, WORDS):
            grams = TextGrams(text, alphabet)
            required = required_grams(pattern, alphabet=alphabet)
            assert grams.may_match(required), (pattern.pattern[:80], text, alphabet)
            for strings in required_all(pattern, alphabet=alphabet):
                assert not grams.safe or grams.has_any(strings), (pattern.pattern, text)
        assert may_match(pattern, text), (pattern.pattern[:80], text)


@pytest.mark.parametrize("text", TEXTS)
def test_required_strings_of_every_pattern_are_in_every_match(text: str) -> None:
    for pattern in PATTERNS:
        _assert_sound(pattern, text)
        _assert_sound(pattern, text.upper())
        _assert_sound(pattern, text.lower())


@SETTINGS
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=12))
def test_required_strings_hold_for_random_texts(parts: list[str]) -> None:
    text = " ".join(parts)
    for pattern in PATTERNS:
        _assert_sound(pattern, text)


def test_required_grams_of_simple_patterns() -> None:
    hjelp = required_grams(re.compile("hjelp", re.IGNORECASE))
    assert hjelp is not None
    assert len(hjelp) == 1
    assert next(iter(hjelp)) in {"hje", "jel", "elp"}
    assert required_grams(re.compile(r"(?:ab|cd)ee")) in ({"abe", "cde"}, {"bee", "dee"}, {"ee"})
    assert required_grams(re.compile(r"a?b")) is not None
    assert required_grams(re.compile(r"\w+")) is None
    assert required_grams(re.compile(r"(a)\1")) == frozenset({"a"})
    assert required_grams(re.compile(r"[^a]bc")) == frozenset({"bc"})
    assert required_grams(re.compile(r"(?:x[a-c]){2}")) is not None
    assert required_grams(re.compile(r"(?:xy)+z")) is not None
    assert required_grams(re.compile(r"x{0,9}")) is None
    assert required_grams(re.compile(rb"abc")) is None  # type: ignore[arg-type]
    assert required_all(re.compile(rb"abc")) == ()  # type: ignore[arg-type]
    assert required_grams(re.compile(r"[\u0100-\u0400]x")) == frozenset({"x"})
    assert required_grams(re.compile("\u0130")) is None  # lower-cases to two characters
    assert required_grams(re.compile("[\u0130]")) is None


def test_every_set_of_required_all_is_needed() -> None:
    pattern = re.compile(r"(?<!\w)(?:bevisstløs[\w'’-]*)(?!\w)", re.IGNORECASE)
    sets = required_all(pattern)
    assert len(sets) > 1
    assert all(len(s) == 1 for s in sets)
    assert TextGrams("han er bevisstløs").may_match(sets[0])


def test_unsafe_text_is_never_filtered() -> None:
    pattern = re.compile("selvmord", re.IGNORECASE)
    assert pattern.search("ſelvmord") is not None
    grams = TextGrams("ſelvmord")
    assert not grams.safe
    assert grams.may_match(frozenset({"zzz"}))
    assert TextGrams("plain text").may_match(None)
    assert not TextGrams("plain text").may_match(frozenset({"zzz"}))


def test_may_match_and_one_slot_cache() -> None:
    text = "ring meg på snap"
    assert may_match(contact._PLATFORM_CUE_RE, text)
    assert may_match(contact._PLATFORM_CUE_RE, text)  # the same text again
    assert not may_match(contact._PLATFORM_CUE_RE, "ingenting her")
    assert may_match(contact._PLATFORM_CUE_RE, "ſnap")  # not filtered: re folds ſ to s
    fresh = re.compile("zq+x")
    assert not may_match(fresh, text)
    assert may_match(fresh, "zqqx")  # a pattern met after the finder was made is looked for
    assert may_match(contact._PLATFORM_CUE_RE, text)  # and the earlier ones still are
    assert may_match(re.compile(r"\w+"), text)  # nothing required: always searched


def test_finder_finds_every_string_present_once() -> None:
    finder = Finder(["på ", "!", "zzz", " hei", "ei p"])
    assert finder.present(" hei på deg! hei!") == {"på ", "!", " hei", "ei p"}
    assert finder.present("") == set()
    assert Finder([]).present("hei") == set()


def test_text_grams_short_and_long_strings() -> None:
    grams = TextGrams("Hei på deg!")
    assert grams.has_any(frozenset({"!", "zzz"}))
    assert grams.has_any(frozenset({"på ", "zz"}))
    assert not grams.has_any(frozenset({"zz", "zzz"}))


def test_frequencies_prefer_rare_strings() -> None:
    frequencies = Frequencies(["det er en test", "er det", "test"])
    assert frequencies.cost(frozenset({"er "})) > frequencies.cost(frozenset({"xyz"}))


def test_final_sigma_is_not_filtered() -> None:
    pattern = re.compile("σ", re.IGNORECASE)
    assert pattern.search("ΟΔΟΣ") is not None
    assert "ΟΔΟΣ".lower().endswith("ς")  # str.lower writes a final sigma, re does not
    assert TextGrams("ΟΔΟΣ").may_match(required_grams(pattern))
    assert may_match(pattern, "ΟΔΟΣ")


def test_shaped_texts() -> None:
    assert shape("Hei, Ola-99!") == " hei  ola 00  "
    assert shape("") == "  "
    assert shape("x_y ٣²") == " x_y 0² "  # "_" and "²" are \w, "٣" is a decimal digit


def test_word_edges_are_spaces_in_shaped_texts() -> None:
    son = re.compile(r"(?<![\w])(?:son)(?![\w])", re.IGNORECASE)
    required = required_grams(son, alphabet=WORDS)
    assert required in ({" son"}, {"son "})
    assert not TextGrams("Ring <PERSON> nå", WORDS).may_match(required)
    assert TextGrams("Min SON er borte", WORDS).may_match(required)
    spaced = required_all(re.compile(r"kom\s\d"), limit=10, alphabet=WORDS)
    assert frozenset({"om 0"}) in spaced  # \s is a space and \d a "0" in a shaped text
    assert all(TextGrams("kom\t12", WORDS).has_any(strings) for strings in spaced)
    assert not all(TextGrams("kom hit", WORDS).has_any(strings) for strings in spaced)


def test_ascii_classes_are_not_shaped() -> None:
    assert required_grams(re.compile(r"(?<!\w)ab", re.ASCII), alphabet=WORDS) is None
    inline = re.compile(r"ø(?a:(?<!\w)ab)")  # "ø" is not \w inside the group
    assert inline.search("øab") is not None
    assert TextGrams("øab", WORDS).may_match(required_grams(inline, alphabet=WORDS))
