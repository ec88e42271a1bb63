"""Kommune data, numbers and display names."""

from __future__ import annotations

import pytest

from stemme.geo import (
    POLICE_DISTRICTS,
    Kommune,
    UnknownKommuneError,
    all_kommuner,
    kommune_by_number,
)

TOTAL_POPULATION_2025 = 5_550_203

FYLKE_DEFAULT_DISTRICT = {
    "Oslo": "Oslo",
    "Rogaland": "Sør-Vest",
    "Møre og Romsdal": "Møre og Romsdal",
    "Nordland": "Nordland",
    "Østfold": "Øst",
    "Akershus": "Øst",
    "Buskerud": "Sør-Øst",
    "Vestfold": "Sør-Øst",
    "Telemark": "Sør-Øst",
    "Innlandet": "Innlandet",
    "Agder": "Agder",
    "Vestland": "Vest",
    "Trøndelag": "Trøndelag",
    "Troms": "Troms",
    "Finnmark": "Finnmark",
}

# The 12 kommuner whose police district differs from their fylke's default (SOURCES.md 1c).
DISTRICT_EXCEPTIONS = [
    ("3201", "Bærum", "Akershus", "Oslo"),
    ("3203", "Asker", "Akershus", "Oslo"),
    ("3234", "Lunner", "Akershus", "Innlandet"),
    ("3236", "Jevnaker", "Akershus", "Sør-Øst"),
    ("4228", "Sirdal", "Agder", "Sør-Vest"),
    ("4611", "Etne", "Vestland", "Sør-Vest"),
    ("4612", "Sveio", "Vestland", "Sør-Vest"),
    ("4613", "Bømlo", "Vestland", "Sør-Vest"),
    ("4614", "Stord", "Vestland", "Sør-Vest"),
    ("4615", "Fitjar", "Vestland", "Sør-Vest"),
    ("1811", "Bindal", "Nordland", "Trøndelag"),
    ("5516", "Gratangen", "Troms", "Nordland"),
]
EXCEPTION_NUMBERS = {number for number, *_ in DISTRICT_EXCEPTIONS}


def test_there_are_357_kommuner() -> None:
    assert len(all_kommuner()) == 357


def test_numbers_are_unique_four_digits_and_sorted() -> None:
    numbers = [kommune.number for kommune in all_kommuner()]
    assert numbers == sorted(set(numbers))
    assert all(len(number) == 4 and number.isdigit() for number in numbers)


def test_total_population_is_ssb_2025_figure() -> None:
    assert sum(kommune.population for kommune in all_kommuner()) == TOTAL_POPULATION_2025


def test_every_kommune_has_a_known_district_and_fylke() -> None:
    for kommune in all_kommuner():
        assert kommune.district in POLICE_DISTRICTS
        assert kommune.fylke in FYLKE_DEFAULT_DISTRICT
        assert kommune.population > 0


def test_data_is_loaded_once() -> None:
    assert all_kommuner() is all_kommuner()


@pytest.mark.parametrize(("number", "name", "fylke", "district"), DISTRICT_EXCEPTIONS)
def test_district_exceptions(number: str, name: str, fylke: str, district: str) -> None:
    kommune = kommune_by_number(number)
    assert (kommune.name, kommune.fylke, kommune.district) == (name, fylke, district)
    assert district != FYLKE_DEFAULT_DISTRICT[fylke]


def test_all_other_kommuner_follow_their_fylke() -> None:
    mismatches = [
        kommune.number
        for kommune in all_kommuner()
        if kommune.number not in EXCEPTION_NUMBERS
        and kommune.district != FYLKE_DEFAULT_DISTRICT[kommune.fylke]
    ]
    assert mismatches == []


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("0301", "Oslo"),
        ("301", "Oslo"),
        ("  0301 ", "Oslo"),
        ("\t301\n", "Oslo"),
        ("4601", "Bergen"),
        ("5001", "Trondheim"),
        ("5501", "Tromsø"),
        ("1804", "Bodø"),
        ("1103", "Stavanger"),
        ("4204", "Kristiansand"),
        ("5612", "Kautokeino"),
    ],
)
def test_kommune_by_number(number: str, expected: str) -> None:
    assert kommune_by_number(number).name == expected


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "Ugyldig kommunenummer: "),
        ("   ", "Ugyldig kommunenummer: "),
        ("abcd", "Ugyldig kommunenummer: abcd"),
        ("03 01", "Ugyldig kommunenummer: 03 01"),
        ("0301a", "Ugyldig kommunenummer: 0301a"),
        ("-301", "Ugyldig kommunenummer: -301"),
        ("1", "Ugyldig kommunenummer: 1"),
        ("30", "Ugyldig kommunenummer: 30"),
        ("03010", "Ugyldig kommunenummer: 03010"),
        ("٠٣٠١", "Ugyldig kommunenummer: ٠٣٠١"),  # Arabic-Indic digits are not accepted
        ("0000", "Ukjent kommunenummer: 0000"),
        ("9999", "Ukjent kommunenummer: 9999"),
        ("0219", "Ukjent kommunenummer: 0219"),  # Bærum's number before 2020
        ("5401", "Ukjent kommunenummer: 5401"),  # Tromsø's number 2020-2023
    ],
)
def test_kommune_by_number_rejects(number: str, message: str) -> None:
    with pytest.raises(UnknownKommuneError) as caught:
        kommune_by_number(number)
    assert str(caught.value) == message
    assert caught.value.params == {"number": number.strip()}


@pytest.mark.parametrize(
    ("number", "sami_names"),
    [
        ("0301", ("Oslove",)),
        ("5536", ("Ivgu", "Yykeä")),
        ("5622", ("Porsáŋgu", "Porsanki")),
        ("5612", ("Guovdageaidnu",)),
        ("5501", ()),
        ("4601", ()),
    ],
)
def test_sami_names_are_split(number: str, sami_names: tuple[str, ...]) -> None:
    assert kommune_by_number(number).sami_names == sami_names


def test_29_kommuner_have_sami_or_kven_names() -> None:
    assert sum(1 for kommune in all_kommuner() if kommune.sami_names) == 29


@pytest.mark.parametrize(
    ("number", "display_name"),
    [
        ("1515", "Herøy (Møre og Romsdal)"),
        ("1818", "Herøy (Nordland)"),
        ("3114", "Våler (Østfold)"),
        ("3419", "Våler (Innlandet)"),
        ("0301", "Oslo"),
        ("3201", "Bærum"),
    ],
)
def test_display_name(number: str, display_name: str) -> None:
    assert kommune_by_number(number).display_name == display_name


def test_display_names_are_unique() -> None:
    names = [kommune.display_name for kommune in all_kommuner()]
    assert len(set(names)) == len(names)


def test_kommune_is_frozen() -> None:
    kommune = kommune_by_number("0301")
    with pytest.raises(AttributeError):
        kommune.name = "Christiania"  # type: ignore[misc]
    assert isinstance(kommune, Kommune)
    assert hash(kommune) == hash(kommune_by_number("301"))
