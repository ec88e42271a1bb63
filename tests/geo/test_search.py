"""Finding kommuner by Norwegian, Sami, Kven and display name."""

from __future__ import annotations

import pytest

from stemme.errors import InvalidInputError, NotFoundError
from stemme.geo import (
    AmbiguousKommuneError,
    UnknownKommuneError,
    all_kommuner,
    find_kommuner,
    kommune_by_name,
)


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        # case and diacritics
        ("Tromsø", ["5501"]),
        ("Tromso", ["5501"]),
        ("TROMSØ", ["5501"]),
        ("tromsö", ["5501"]),
        ("  tromsø  ", ["5501"]),
        ("Bærum", ["3201"]),
        ("BÆRUM", ["3201"]),
        ("Baerum", ["3201"]),
        ("Ålesund", ["1508"]),
        ("alesund", ["1508"]),
        # aa/ae/oe read as a/a/o only when nothing matches exactly
        ("Barum", ["3201"]),
        ("Bärum", ["3201"]),
        ("Aalesund", ["1508"]),
        ("Tromsoe", ["5501"]),
        ("Hoeyanger", ["4638"]),
        ("Raane", ["1833"]),  # exact Sami name containing "aa"
        ("Rane", ["1833"]),
        # punctuation and spacing
        ("Aurskog-Høland", ["3226"]),
        ("aurskog hoeland", ["3226"]),
        ("Sør-Fron", ["3438"]),
        ("sor fron", ["3438"]),
        ("Østre Toten", ["3442"]),
        # Sami and Kven names
        ("Romsa", ["5501"]),
        ("Tromssa", ["5501"]),
        ("guovdageaidnu", ["5612"]),
        ("Kárášjohka", ["5610"]),
        ("karasjohka", ["5610"]),
        ("Oslove", ["0301"]),
        ("Ivgu", ["5536"]),
        ("Yykeä", ["5536"]),
        ("yykea", ["5536"]),
        ("Porsáŋgu", ["5622"]),
        ("porsangu", ["5622"]),
        ("Porsanki", ["5622"]),
        ("Tråante", ["5001"]),
        ("Evenášši", ["1853"]),
        # names shared by two kommuner, and their display names
        ("herøy", ["1515", "1818"]),
        ("Heroy", ["1515", "1818"]),
        ("Herøy (Nordland)", ["1818"]),
        ("herøy (møre og romsdal)", ["1515"]),
        ("Heroy Nordland", ["1818"]),
        ("Våler", ["3114", "3419"]),
        ("Våler (Innlandet)", ["3419"]),
        ("Valer (Ostfold)", ["3114"]),
        # no match
        ("", []),
        ("   ", []),
        ("---", []),
        ("Atlantis", []),
        ("Tromsø kommune", []),
        ("Herøy (Troms)", []),
        ("Trom", []),
    ],
)
def test_find_kommuner(query: str, numbers: list[str]) -> None:
    assert [kommune.number for kommune in find_kommuner(query)] == numbers


def test_find_kommuner_returns_a_fresh_list() -> None:
    first = find_kommuner("herøy")
    first.clear()
    assert len(find_kommuner("herøy")) == 2


def test_sami_alias_is_searchable_but_not_a_sami_name() -> None:
    tromso = kommune_by_name("Romsa")
    assert tromso.name == "Tromsø"
    assert tromso.sami_names == ()


@pytest.mark.parametrize(
    ("query", "number"),
    [
        ("Oslo", "0301"),
        ("Tromso", "5501"),
        ("Baerum", "3201"),
        ("Guovdageaidnu", "5612"),
        ("Herøy (Nordland)", "1818"),
        ("Våler (Østfold)", "3114"),
    ],
)
def test_kommune_by_name(query: str, number: str) -> None:
    assert kommune_by_name(query).number == number


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Ukjent kommune: "),
        ("Atlantis", "Ukjent kommune: Atlantis"),
        (" Gotham ", "Ukjent kommune: Gotham"),
    ],
)
def test_kommune_by_name_unknown(query: str, message: str) -> None:
    with pytest.raises(UnknownKommuneError) as caught:
        kommune_by_name(query)
    assert str(caught.value) == message
    assert isinstance(caught.value, NotFoundError)
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "herøy",
            "Flere kommuner passer til herøy: Herøy (Møre og Romsdal), Herøy (Nordland)",
        ),
        ("VALER", "Flere kommuner passer til VALER: Våler (Østfold), Våler (Innlandet)"),
    ],
)
def test_kommune_by_name_ambiguous(query: str, message: str) -> None:
    with pytest.raises(AmbiguousKommuneError) as caught:
        kommune_by_name(query)
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidInputError)
    assert caught.value.status == 422


def test_every_name_of_every_kommune_finds_it() -> None:
    for kommune in all_kommuner():
        for name in (kommune.name, kommune.display_name, *kommune.sami_names):
            assert kommune in find_kommuner(name), name
        assert find_kommuner(kommune.display_name) == [kommune]
