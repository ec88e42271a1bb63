"""District from places named in the text."""

from __future__ import annotations

import pytest

from stemme.understanding.district import find_district, gazetteer

CASES = [
    # kommuner, in any case, with and without preposition
    ("Noen stjal sykkelen min i Bergen i går", "Vest", "Bergen"),
    # a place that is also a surname, after a Polish or German preposition
    ("Mój syn chodzi do szkoły w Sandnes", "Sør-Vest", "Sandnes"),
    ("Wir waren bei Preikestolen und jetzt ist er weg", "Sør-Vest", "Preikestolen"),
    # the largest towns in Arabic and Cyrillic script (the Russian locative too)
    ("أنا أعيش في بيرغن منذ سنتين", "Vest", "بيرغن"),
    ("В Киркенесе продают водку из машины", "Finnmark", "Киркенесе"),
    ("bor i trondheim", "Trøndelag", "Trondheim"),
    ("Tromsø er fin om vinteren", "Troms", "Tromsø"),
    ("I live in Stavanger", "Sør-Vest", "Stavanger"),
    ("Vi har hytte i Hemsedal", "Sør-Øst", "Hemsedal"),
    # Sami names
    ("Dát dáhpáhuvai Guovdageaidnu guovllus", "Finnmark", "Kautokeino"),
    ("Eg budde i Tråante før", "Trøndelag", "Trondheim"),
    # postcodes
    ("Adressen er Storgata 1, 0155 Oslo", "Oslo", "0155 Oslo"),
    ("postnummer 5003", "Vest", "5003 Bergen"),
    ("Postnr: 9008", "Troms", "9008 Tromsø"),
    # poststeder (need a preposition and a capital)
    ("Eg bur i Førde", "Vest", "Førde"),
    ("Det skjedde i Mo i Rana", "Nordland", "Mo i Rana"),
    # gazetteer areas
    ("Det selges hasj på Grünerløkka", "Oslo", "Grünerløkka"),
    ("Innbrudd på Stovner i natt", "Oslo", "Stovner"),
    ("Slåsskamp på Åsane senter", "Vest", "Åsane"),
    ("Bilen ble stjålet på Heimdal", "Trøndelag", "Heimdal"),
    ("Sandvika storsenter", "Oslo", "Sandvika"),
    # ambiguous names: the most populous candidate
    ("Det skjedde på Herøy", "Møre og Romsdal", "Herøy"),
    # names that are common words: need capital + preposition
    ("Vi bor i Time", "Sør-Vest", "Time"),
    ("Jeg har hytte på Hole", "Sør-Øst", "Hole"),
    ("Vi var i Moss", "Øst", "Moss"),
]

NULL = [
    "Hva koster et nytt pass?",
    "Time for a change",
    "Det er et hole i gjerdet",
    "Heim er best",
    "moss på taket",
    "Vi var på ferie i Malmö",
    "Jeg heter Eirik Hovden",
    "Ring meg, Ola Strand",
    "Jeg er 12 år og har 1234 kroner",
    "I'm at home now",
]


@pytest.mark.parametrize(("text", "district", "place"), CASES)
def test_district_from_text(text: str, district: str, place: str) -> None:
    result = find_district(text)
    assert (result.district, result.place, result.source) == (district, place, "text")


@pytest.mark.parametrize("text", NULL)
def test_no_place_no_district(text: str) -> None:
    assert find_district(text).district is None


def test_excluded_spans_are_not_places() -> None:
    text = "Skriv til Bergen"
    assert find_district(text).district == "Vest"
    assert find_district(text, excluded=[(10, 16)]).district is None
    # a capitalised first name before a place name makes it a surname
    assert find_district("Hilsen Kari Bergen").district is None


def test_channel_district_is_only_a_fallback() -> None:
    assert find_district("Hei", channel_district="oslo").district == "Oslo"
    assert find_district("Hei", channel_district="oslo").source == "channel"
    assert find_district("Jeg bor i Bodø", channel_district="Oslo").district == "Nordland"


def test_postcode_with_place_beats_a_later_name() -> None:
    result = find_district("Bor på 7030 Trondheim, men jobber i Oslo")
    assert result.district == "Trøndelag"


def test_gazetteer_districts_are_valid() -> None:
    from stemme.geo.service import POLICE_DISTRICTS

    assert gazetteer()
    assert {district for _, district in gazetteer()} <= set(POLICE_DISTRICTS)
