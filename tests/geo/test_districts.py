"""Police districts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stemme.errors import NotFoundError
from stemme.geo import (
    POLICE_DISTRICTS,
    UnknownDistrictError,
    UnknownKommuneError,
    all_kommuner,
    district_of,
    district_population,
    kommuner_in_district,
    normalise_district,
)

KOMMUNER_PER_DISTRICT = {
    "Innlandet": 47,
    "Sør-Øst": 42,
    "Nordland": 41,
    "Trøndelag": 39,
    "Vest": 38,
    "Sør-Vest": 29,
    "Øst": 29,
    "Møre og Romsdal": 27,
    "Agder": 24,
    "Troms": 20,
    "Finnmark": 18,
    "Oslo": 3,
}


def test_police_districts_north_to_south() -> None:
    assert POLICE_DISTRICTS == (
        "Finnmark",
        "Troms",
        "Nordland",
        "Trøndelag",
        "Møre og Romsdal",
        "Vest",
        "Sør-Vest",
        "Agder",
        "Sør-Øst",
        "Øst",
        "Oslo",
        "Innlandet",
    )


def test_districts_match_the_data() -> None:
    assert {kommune.district for kommune in all_kommuner()} == set(POLICE_DISTRICTS)


@pytest.mark.parametrize(("district", "count"), sorted(KOMMUNER_PER_DISTRICT.items()))
def test_kommuner_in_district(district: str, count: int) -> None:
    kommuner = kommuner_in_district(district)
    assert len(kommuner) == count >= 1
    assert all(kommune.district == district for kommune in kommuner)
    assert [k.number for k in kommuner] == sorted(k.number for k in kommuner)


def test_districts_partition_the_kommuner() -> None:
    numbers = [k.number for district in POLICE_DISTRICTS for k in kommuner_in_district(district)]
    assert sorted(numbers) == [kommune.number for kommune in all_kommuner()]


def test_district_populations_sum_to_national_total() -> None:
    assert sum(district_population(district) for district in POLICE_DISTRICTS) == 5_550_203


@pytest.mark.parametrize(
    ("district", "population"),
    [
        ("Oslo", 717_710 + 130_921 + 98_815),  # Oslo, Bærum, Asker
        ("oslo politidistrikt", 947_446),
    ],
)
def test_district_population(district: str, population: int) -> None:
    assert district_population(district) == population


def test_kommuner_in_district_accepts_any_spelling() -> None:
    assert kommuner_in_district("sor-ost") == kommuner_in_district("Sør-Øst")
    assert [k.name for k in kommuner_in_district("OSLO")] == ["Oslo", "Bærum", "Asker"]


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("oslo", "Oslo"),
        ("Oslo", "Oslo"),
        (" OSLO ", "Oslo"),
        ("Oslo politidistrikt", "Oslo"),
        ("Oslo politidistriktet", "Oslo"),
        ("Oslo PD", "Oslo"),
        ("Sør-Øst politidistrikt", "Sør-Øst"),
        ("sor-ost", "Sør-Øst"),
        ("Sor Ost", "Sør-Øst"),
        ("sørøst", "Sør-Øst"),
        ("Soer-Oest", "Sør-Øst"),
        ("Øst", "Øst"),
        ("ost", "Øst"),
        ("Oest", "Øst"),
        ("Sør-Vest", "Sør-Vest"),
        ("sorvest", "Sør-Vest"),
        ("Vest", "Vest"),
        ("Møre og Romsdal", "Møre og Romsdal"),
        ("more og romsdal", "Møre og Romsdal"),
        ("Møre og Romsdal politidistrikt", "Møre og Romsdal"),
        ("Trøndelag", "Trøndelag"),
        ("trondelag", "Trøndelag"),
        ("Troendelag", "Trøndelag"),
        ("Finnmark", "Finnmark"),
        ("troms", "Troms"),
        ("Nordland", "Nordland"),
        ("agder", "Agder"),
        ("Innlandet politidistrikt", "Innlandet"),
    ],
)
def test_normalise_district(name: str, canonical: str) -> None:
    assert normalise_district(name) == canonical


@pytest.mark.parametrize(
    "name",
    ["", "politidistrikt", "Hordaland", "Sør", "Nord", "Vestfold", "Troms og Finnmark", "Øst-Vest"],
)
def test_normalise_district_rejects(name: str) -> None:
    with pytest.raises(UnknownDistrictError) as caught:
        normalise_district(name)
    assert str(caught.value) == f"Ukjent politidistrikt: {name.strip()}"
    assert isinstance(caught.value, NotFoundError)


@pytest.mark.parametrize("call", [kommuner_in_district, district_population])
def test_district_functions_reject_unknown_names(call: Callable[[str], object]) -> None:
    with pytest.raises(UnknownDistrictError):
        call("Atlantis")


@pytest.mark.parametrize(
    ("number", "district"),
    [
        ("0301", "Oslo"),
        ("3201", "Oslo"),
        ("301", "Oslo"),
        ("3234", "Innlandet"),
        ("5516", "Nordland"),
        ("5503", "Troms"),  # Harstad: Troms politidistrikt in the SSB table
        ("1811", "Trøndelag"),
        ("4601", "Vest"),
        ("4614", "Sør-Vest"),
    ],
)
def test_district_of(number: str, district: str) -> None:
    assert district_of(number) == district


@pytest.mark.parametrize("number", ["x", "9999", ""])
def test_district_of_unknown_kommune(number: str) -> None:
    with pytest.raises(UnknownKommuneError):
        district_of(number)
