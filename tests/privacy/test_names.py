"""Person names: lists, capitalisation, cues, and the words that only look like names."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import pytest

from stemme.privacy import detect, names


def persons(text: str) -> list[str]:
    return [text[s.start : s.end] for s in detect(text) if s.type == "PERSON"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eg heiter Eirik Hovden, tlf 917 45 302", ["Eirik Hovden"]),
        ("Hun heter Mia og går i 5. klasse.", ["Mia"]),
        ("Mvh Trine Skaug", ["Trine Skaug"]),
        ("My name is Lucas Ferreira.", ["Lucas Ferreira"]),
        ("Jeg heter Per.", ["Per"]),
        ("Per Hansen ringte i går", ["Per Hansen"]),
        ("min sønn Stein er borte", ["Stein"]),
        ("naboen Liv sa det", ["Liv"]),
        ("jeg heter kari nordmann", ["kari nordmann"]),
        ("broren min jonas ble slått", ["jonas"]),
        ("vi var meg og lars og ida på hytta", ["lars", "ida"]),
        ("Hei, det er Dag her", ["Dag"]),
        ("Kari og Ola var der", ["Kari", "Ola"]),
        ("Jeg traff Anne-Lise Bakken", ["Anne-Lise Bakken"]),
        ("Naboen min Tor Ivar Dahl slo meg", ["Tor Ivar Dahl"]),
        ("Jag heter Anna Svensson", ["Anna Svensson"]),
        ("Jeg hedder Mette Jensen", ["Mette Jensen"]),
        ("Mvh Ahmed Hassan", ["Ahmed Hassan"]),
        ("Kva gjer eg no? Randi Tveit, 906 31 847", ["Randi Tveit"]),
        ("Що мені робити? Олена Коваленко", ["Олена Коваленко"]),
        ("Xin chào, tôi là Nguyễn Thị Lan.", ["Nguyễn Thị Lan"]),
        ("sjefen vår, Ionuț Marin, tar passene", ["Ionuț Marin"]),
        ("Han heter Jan van der Berg", ["Jan van der Berg"]),
        ("Hilsen\nIngvild", ["Ingvild"]),
        ("fru Hansen i andre etasje", ["Hansen"]),
        ("jeg er kari og er 15", ["kari"]),
        ("mvh ola n.", ["ola n."]),
        ("Jeg og Per skal på hytta. Per kommer kl 18, 100 kr per time.", ["Per", "Per"]),
        ("Ring Siv på telefon", ["Siv"]),
        ("Tor og jeg var ute", ["Tor"]),
        ("Frank sa at han ville drepe meg", ["Frank"]),
        ("kari sa at hun ville komme", ["kari"]),
        ("noen sender meldinger til lillesøstra mi hanna (11)", ["hanna"]),
        ("hei det er per igjen, fikk dere bildene?", ["per"]),
        ("sjefen vår, Dragan Petrovic, tar passene", ["Dragan Petrovic"]),
        ("JEG HETER KARI NORDMANN OG BROREN MIN JONAS ER SAVNET", ["KARI NORDMANN", "JONAS"]),
        ("Han het visstnok Olsen.", ["Olsen"]),
        ("Jeg heter Jonas Berg, og min venninne Mai var med", ["Jonas Berg", "Mai"]),
        # a name never runs over a line break into the signature's next line
        ("Helsing\nKari Nordmann\nStorgata 5, 0155 Oslo", ["Kari Nordmann"]),
        # a parenthesis between the person and the name in apposition
        ("ein gut i klassen til søstera mi (7. trinn), oskar, blir plaga", ["oskar"]),
        ("si hei til emma fra meg", ["emma"]),
        ("det var mathias og ingrid som sendte den", ["mathias", "ingrid"]),
        ("eg veit kven det er, oskar b frå 8c", ["oskar b"]),
        ("vi var på kino med gjengen til Tor i går", ["Tor"]),
        ("Tusen takk til Siv på lensmannskontoret", ["Siv"]),
        ("ابني اسمه محمد العلي وعمره ١٤", ["محمد العلي"]),
        ("ein ven av meg (jonas, 14) får meldingar frå ein vaksen", ["jonas"]),
        # an initial and a surname, without a cue
        ("navnet på døra er K. Yilmaz, han bor over oss", ["K. Yilmaz"]),
        ("Mvh vekter A. Rashidi", ["A. Rashidi"]),
        ("Hilsen\nBjørn Inge Rasmussen", ["Bjørn Inge Rasmussen"]),
        ("når kan jeg hente den? jonas 4796 0318", ["jonas"]),
        # one unknown word signs the text after a dash or a slash
        ("Kan jeg melde det her? – Maricel", ["Maricel"]),
        ("Den står rett foran meg nå. /Micke +46 70 482 19 63", ["Micke"]),
        # sign-offs in German, Polish and Spanish; a full name joined to a name
        ("Mit freundlichen Grüßen\nClaudia und Jörg Wendt", ["Claudia", "Jörg Wendt"]),
        ("Pozdrawiam, Tomasz Nowak", ["Tomasz Nowak"]),
        # nicknames in quotes after calling someone something or calling out
        ("Han kalles «Tuppen» av elevene og står ved senteret", ["Tuppen"]),
        ("dei kallar han «Bamsen». Han er nok 17", ["Bamsen"]),
        ("Den ene ropte «Kimmi» til den andre da de løp", ["Kimmi"]),
        ("Viele Grüße aus Köln, Familie Brenner", ["Brenner"]),
        ("¿Dónde puedo denunciarlo? Gracias. Begoña", ["Begoña"]),
        ('Säljaren kallar sig "Kalle Berg" på Blocket', ["Kalle Berg"]),
        # the title line of an e-mail signature is no name
        ("Kind regards,\nDaniel Okafor\nSoftware Engineer\n+47 917 45 302", ["Daniel Okafor"]),
        ("Mit freundlichen Grüßen, Klaus und Anna Becker", ["Klaus", "Anna Becker"]),
    ],
)
def test_finds_names(text: str, expected: list[str]) -> None:
    assert persons(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Per i dag har vi ingen svar.",
        "Liv og helse er viktig.",
        "Dag 2 var verre enn dag 1.",
        "Hans bil ble stjålet.",
        "Stein ble kastet mot vinduet.",
        "Politiet i Bergen var flinke.",
        "Takk til Oslo politidistrikt og Vest politidistrikt!",
        "Vi var i Trondheim og Tromsø.",
        "Mandag 12. mai kom to politibiler.",
        "I August drar vi til Spania.",
        "Jeg handlet på Kiwi og Rema.",
        "Det er en side som heter «Billige Moped Deler».",
        "Takk for hjelpen!",
        "Hilsen fra Oslo",
        "Jeg bor på Lena i Østre Toten",
        "kr 500 per time",
        "<PERSON> sa hei",
        "he said and said again",
        "Mvh Politiet",
        "jeg er lei av dette",
        "We watched Game of Thrones and Breaking Bad last night.",
        "Jeg jobber på Ullevål Sykehus og var på Rikshospitalet i går.",
        "Han så på Paradise Hotel og Farmen.",
        "Jeg fikk brev fra Statens Vegvesen og Skatteetaten.",
        "Han spilte Grand Theft Auto hele natta.",
        "NOEN MÅ KOMME TIL FESTEN PÅ MAJORSTUEN NÅ",
        "Han ble slått ned på Karl Johan i natt.",
        "det er per i dag ingen svar",
        "Vi har mistet hunden vår, en svart labrador som heter Bella.",
        "i'm so tired of this",
        "Vi har vært i Sol og varme hele uka",
        "Han bor i Mo i Rana nå",
        "Det skjedde i slutten av August",
        "jeg og mamma og pappa var hjemme",
        "ola i 9c er grei",
        "Vi tok taxi frå Ole Bulls plass til Kyrkjevegen",
        "Se punkt A. Deretter fyller du ut skjemaet",
        "hun skal sove hos kjæresten i helga sier hun",
        "Can the embassy issue a new passport? I'm Canadian.",
        "Bilen har stått der i tre dagar no. Grå Caddy.",
        "Jeg og mamma ringte Vest politidistrikt og Oslo Politidistrikt",
        "Своё имя я называть не хочу.",
        "Filmen heter «Titanic» og appen kalles «Wizz»",
        "Noen ropte «Stopp» og «Brann» i gangen",
        "Takk for hjelpen i går. Kjempebra",
        "Bonjour, je suis une mère française",
        "Proszę o kontakt. Dziękuję",
    ],
)
def test_name_negatives(text: str) -> None:
    assert persons(text) == []


def test_unshout_only_lowercases_shouting() -> None:
    from stemme.privacy.names import _unshout

    assert _unshout("JEG HETER KARI NORDMANN") == "jeg heter kari nordmann"
    assert _unshout("Hei Kari") == "Hei Kari"  # too few capitals to be shouting
    mixed = "ABCDEFGHIJ abcdefghijklmnop"  # ten capitals, but most letters are small
    assert _unshout(mixed) == mixed
    assert _unshout("ⒶⒷⒸⒹⒺⒻⒼⒽⒾⒿ") == "ⒶⒷⒸⒹⒺⒻⒼⒽⒾⒿ"  # upper case, but not letters


# A surname that is also a farm or village name still belongs to the name before it; a
# kommune name that is no surname does not.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hilsen Ingrid Tjørhom", "Ingrid Tjørhom"),
        ("Mvh Eivind Hovden", "Eivind Hovden"),
        ("Hilsen Eivind Kristiansand", "Eivind"),
    ],
)
def test_surnames_that_are_also_small_places(text: str, expected: str) -> None:
    names = [text[s.start : s.end] for s in detect(text) if s.type == "PERSON"]
    assert names == [expected]


@pytest.mark.parametrize(
    "text",
    ["Kan du hente meg etter trening? Mobilen er nesten tom. /Sara", "Ring meg i kveld - Sara"],
)
def test_signature_after_a_slash_or_dash(text: str) -> None:
    names = [text[s.start : s.end] for s in detect(text) if s.type == "PERSON"]
    assert names == ["Sara"]


# --- fast paths against the plain regular expressions ------------------------------------------

_DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "messages-dev.jsonl"
_TRICKY = [
    "Hilsen fra Kari",
    "mvh,\nOla",
    "hilsenfra Kari",
    "lillebror min Jonas",
    "min lille-bror heter visstnok Jonas",
    "name's Bob",
    "navnet mitt er egentlig Per",
    "Kontakt: Lise",
    "Eu chamo-me Ana",
    "моє ім'я Олена",
    "Ring meg. Randi Tveit, 906 31 847!",
    "Hva gjør jeg?\n  Randi Tveit (+47) 906-31-847.",
    "Takk for hjelpen!!! Mvh. Ola",
    "Er dette riktig? …",
    "12345 678",
    "",
]


def _samples() -> list[str]:
    texts = list(_TRICKY)
    shipped = files("stemme.privacy") / "data" / "sample_messages.txt"
    texts += [line for line in shipped.read_text("utf-8").splitlines() if line.strip()]
    if _DEV.is_file():
        texts += [json.loads(line)["text"] for line in _DEV.read_text("utf-8").splitlines()]
    return texts + [t.upper() for t in texts] + [t.lower() for t in texts]


@pytest.mark.parametrize("text", _samples())
def test_strong_cue_and_signature_fast_paths(text: str) -> None:
    for start in [m.start() for m in re.finditer(r"\w+", text)] + [len(text)]:
        window = text[max(0, start - 40) : start].casefold()
        plain = bool(window) and names._STRONG_CUE_RE.search(window) is not None
        assert names._strong_cue(text, start) is plain, (text, start)
    tail = text[-90:].rstrip()
    fast, plain = names._signature_match(tail), names._SIGNATURE_RE.search(tail)
    assert (fast is None) is (plain is None), text
    if fast is not None and plain is not None:
        assert (fast.span(1), fast.span(2)) == (plain.span(1), plain.span(2)), text


@pytest.mark.parametrize(
    ("gap", "linked"),
    [
        *[(gap, True) for gap in (" ", "-", "\t", "\u00a0")],
        *[(gap, False) for gap in ("", "\n", "\r", "\u2028", " \n", "-\n", "\n\n", "  ", "--")],
        *[(gap, False) for gap in ("x", " -", "\n ")],
    ],
)
def test_words_of_one_name_are_linked_on_one_line(gap: str, linked: bool) -> None:
    assert names._linked(gap) is linked
