"""Street addresses and licence plates."""

from __future__ import annotations

import pytest

from stemme.privacy import RECOGNIZERS, detect, places
from stemme.privacy.prefilter import may_match


def found(name: str, text: str) -> list[str]:
    return [text[s.start : s.end] for s in detect(text) if s.recognizer.endswith(name)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jeg bor i Storgata 12B, 0153 Oslo.", ["Storgata 12B, 0153 Oslo"]),
        ("adresse Kongens gate 5, 0153 Oslo", ["Kongens gate 5, 0153 Oslo"]),
        ("møt meg ved Carl Berners plass 3", ["Carl Berners plass 3"]),
        ("han bor i Thorvald Meyers gate 12 nå", ["Thorvald Meyers gate 12"]),
        ("det skjedde i Kirkeveien 4", ["Kirkeveien 4"]),
        ("eg bur i Fjellvegen 12, 6800 Førde", ["Fjellvegen 12, 6800 Førde"]),
        ("levering til Storgt. 5", ["Storgt. 5"]),
        ("vi bor i Nyveien 9B i Vennesla", ["Nyveien 9B"]),
        ("Solbakken 3 A", ["Solbakken 3 A"]),
        ("Drottninggatan 12, Stockholm", ["Drottninggatan 12"]),
        ("Vesterbrogade 4, 1620 København", ["Vesterbrogade 4, 1620 København"]),
        ("Strandvej 101", ["Strandvej 101"]),
        ("FESTEN ER I SKOVVEIEN 8 NÅ", ["SKOVVEIEN 8"]),
        ("butikken ligger i Smedasundet 54, 5528 Haugesund.", ["Smedasundet 54, 5528 Haugesund"]),
        ("hun bor på Hovdegården 3.", ["Hovdegården 3"]),
        ("ved Øvre Slottsgate 5", ["Øvre Slottsgate 5"]),
        ("we stayed at 221B Baker Street", ["221B Baker Street"]),
        ("Mvh\nKari Nordmann\nLia 7, 2680 Vågå", ["Lia 7, 2680 Vågå"]),
        ("det selges hasj fra Storgata 31B, H0302 i Lillestrøm", ["Storgata 31B, H0302"]),
        ("adressen er Madlaveien 212, Stavanger", ["Madlaveien 212, Stavanger"]),
        ("han bor alene i Rønvikleira 14 i Bodø", ["Rønvikleira 14"]),
        ("Leiligheten er Holmliaveien 14, leil. 407", ["Holmliaveien 14, leil. 407"]),
        ("Kåre Jensen\nHaakon VIIs gate 29, 7041 Oslo", ["Haakon VIIs gate 29, 7041 Oslo"]),
    ],
)
def test_addresses(text: str, expected: list[str]) -> None:
    assert found("street_address", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Det var mye folk i Storgata i går.",
        "Han løp over gata 5 ganger.",
        "Trafikken i Kongens gate er ille.",
        "postnummer 0153",
        "i 2024 i veien",
        "Vi bor i Oslo 2 år til",
        "Storgata kl 12.30",
        "we're at grünerløkka 4th floor",
        "Bor i Storgata 4th floor",
        "far forsvann frå hytta i Tisleidalen 2. november",
        "jeg ble stoppet i kontroll på riksvei 170 i går",
    ],
)
def test_address_negatives(text: str) -> None:
    assert [s for s in detect(text) if s.type == "STREET_ADDRESS"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bilen hadde skilt RF 48213.", ["RF 48213"]),
        ("Bilen var ein raud Golf, SV 20911.", ["SV 20911"]),
        ("AB12345 kjørte for fort", ["AB12345"]),
        ("en elbil EL 12345", ["EL 12345"]),
        ("reg.nr ab 12345", ["ab 12345"]),
        ("mopeden hadde skilt AB 1234", ["AB 1234"]),
        ("svensk bil ABC 123", ["ABC 123"]),
        ("registreringsnummer ABC 12A", ["ABC 12A"]),
        ("en polsk bil, WX 4821K, sto der", ["WX 4821K"]),
        ("dansk bil AB 12 345", ["AB 12 345"]),
        ("mein Auto (M-KW 4412) wurde aufgebrochen", ["M-KW 4412"]),
        ("vil si at bilen med reg.nr. DK 38211 står der", ["DK 38211"]),
    ],
)
def test_plates(text: str, expected: list[str]) -> None:
    assert [text[s.start : s.end] for s in RECOGNIZERS["license_plate"](text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "møtet er kl 15",
        "kl 1530 på skiltet",
        "EU 2024 regler",
        "NOK 500",
        "ring AMK 113",
        "i år 2024",
        "ab 12345 er bare tall",
        "TV 2024",
        "SMS 112",
        "Han er 17 år.",
        "kr 12 345",
        "My flight home is DY 1302 on Friday",
        "We are landing in Tromsø with SK 4416 on Monday",
        "bussen, rute AB 1234, var sein",
    ],
)
def test_plate_negatives(text: str) -> None:
    assert list(RECOGNIZERS["license_plate"](text)) == []


# The cheap gates in front of the address patterns: never False where the pattern matches.
GATE_TEXTS = [
    ("Storgata 12", True),
    ("Storgata\u00a012", True),  # any white space re's \s matches
    ("Storgt.5", True),
    ("levering til Storgt. 5", True),
    ("SKOVVEIEN 8", True),
    ("Carl Berners plass 3", True),
    ("Storgata  12", False),  # two spaces: the pattern allows one
    ("Storgata, 12", False),
    ("storgatan", False),
    ("ring 91234567", False),
    ("", False),
    ("12 Storgata", False),
]


@pytest.mark.parametrize(("text", "expected"), GATE_TEXTS)
def test_street_before_number(text: str, expected: bool) -> None:
    assert places._street_before_number(text) is expected
    if places._ADDRESS_RE.search(text):
        assert expected


@pytest.mark.parametrize(
    "text",
    [
        "Jeg bor i Storgata 12B",
        "eg bur på Nyveien 3",
        "adressen min er Kirkeveien 4",
        "ADRESSA HANS ER Fjellvegen 12",
        "address: Baker Street 221",
        "she lives at Main Road 5",
        "er wohnt in Hauptweg 3",
        "on mieszka Dluga 7",
        "(bodde Parkveien 2)",
    ],
)
def test_residence_cue_gate(text: str) -> None:
    assert places._RESIDENCE_RE.search(text)
    assert may_match(places._RESIDENCE_CUE_RE, text)
    assert not may_match(places._RESIDENCE_CUE_RE, "Storgata 12 ringte")
