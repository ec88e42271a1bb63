"""Postcodes: kommune and poststed."""

from __future__ import annotations

import csv
import io
from importlib.resources import files

import pytest

from stemme.errors import NotFoundError
from stemme.geo import (
    UnknownPostcodeError,
    all_kommuner,
    kommune_by_postcode,
    postcode_place,
)
from stemme.geo.service import _title_place


def _rows() -> list[dict[str, str]]:
    text = (files("stemme.geo") / "data" / "postnummer.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_register_has_5114_postcodes() -> None:
    assert len(_rows()) == 5114


def test_every_postcode_resolves_to_its_kommune() -> None:
    for row in _rows():
        assert kommune_by_postcode(row["postnummer"]).number == row["kommunenummer"]
        assert postcode_place(row["postnummer"]).upper() == row["poststed"]


def test_every_kommune_has_a_postcode() -> None:
    covered = {row["kommunenummer"] for row in _rows()}
    assert covered == {kommune.number for kommune in all_kommuner()}


@pytest.mark.parametrize(
    ("postcode", "kommune", "place"),
    [
        ("0150", "Oslo", "Oslo"),
        (" 0150 ", "Oslo", "Oslo"),
        ("0001", "Oslo", "Oslo"),
        ("1338", "Bærum", "Sandvika"),
        ("5003", "Bergen", "Bergen"),
        ("7010", "Trondheim", "Trondheim"),
        ("9008", "Tromsø", "Tromsø"),
        ("8601", "Rana", "Mo i Rana"),
        ("2350", "Ringsaker", "Nes på Hedmarken"),
        ("3800", "Midt-Telemark", "Bø i Telemark"),
        ("4604", "Kristiansand", "Kristiansand S"),
        ("4420", "Flekkefjord", "Åna-Sira"),
    ],
)
def test_postcode_lookup(postcode: str, kommune: str, place: str) -> None:
    assert kommune_by_postcode(postcode).name == kommune
    assert postcode_place(postcode) == place


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("OSLO", "Oslo"),
        ("MO I RANA", "Mo i Rana"),
        ("NES PÅ HEDMARKEN", "Nes på Hedmarken"),
        ("BYGD OG BY", "Bygd og By"),
        ("I BYEN", "I Byen"),  # a small word first is still capitalised
        ("SØR-FRON", "Sør-Fron"),
        ("KRISTIANSUND N", "Kristiansund N"),
        ("ØVRE  ERVIK", "Øvre Ervik"),
    ],
)
def test_title_place(raw: str, title: str) -> None:
    assert _title_place(raw) == title


@pytest.mark.parametrize(
    ("postcode", "message"),
    [
        ("", "Ugyldig postnummer: "),
        ("150", "Ugyldig postnummer: 150"),
        ("01500", "Ugyldig postnummer: 01500"),
        ("01 50", "Ugyldig postnummer: 01 50"),
        ("NO-0150", "Ugyldig postnummer: NO-0150"),
        ("abcd", "Ugyldig postnummer: abcd"),
        ("٠١٥٠", "Ugyldig postnummer: ٠١٥٠"),
        ("0000", "Ukjent postnummer: 0000"),
        ("9170", "Ukjent postnummer: 9170"),  # Longyearbyen, Svalbard: not a kommune
        ("8099", "Ukjent postnummer: 8099"),  # Jan Mayen
    ],
)
def test_bad_postcodes(postcode: str, message: str) -> None:
    for call in (kommune_by_postcode, postcode_place):
        with pytest.raises(UnknownPostcodeError) as caught:
            call(postcode)
        assert str(caught.value) == message
        assert caught.value.params == {"postcode": postcode.strip()}
        assert isinstance(caught.value, NotFoundError)
