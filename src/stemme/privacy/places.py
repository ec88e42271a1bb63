"""Recognizers for street addresses (with a house number) and vehicle registration plates."""

from __future__ import annotations

import re
from collections.abc import Iterator

from stemme.privacy._data import place_names, postcodes
from stemme.privacy._text import before, longest_digit_run
from stemme.privacy.prefilter import may_match
from stemme.privacy.types import Span

_UP = "A-ZÆØÅÄÖÜÉ"
_LO = "a-zæøåäöüéèáóíú"
# Suffixes glued to a street name ("Storgata", "Kirkeveien", "Drottninggatan", "Vesterbrogade").
_GLUED = (
    r"gate|gata|gaten|gt\.|gtn\.|veien|vegen|vei|veg|vn\.|v\.|plass|plassen|allé|alléen|alle|"
    r"alleen|bakken|bakke|stien|stig|stigen|sti|brygge|bryggen|brygga|kaia|kaien|kai|torget|torg|"
    r"ringen|løkka|løkken|svingen|tunet|lia|lien|haugen|haug|jordet|åsen|kroken|krysset|"
    r"terrasse|terrassen|parken|hagen|myra|myren|skogen|feltet|grenda|tråkket|vollen|"
    r"gatan|vägen|väg|gränd|gränden|backen|stråket|leden|"
    r"smauet|smuget|almenningen|allmenningen|kleiva|sletta|engen|tangen|lunden|toppen|dalen|"
    r"vika|moen|bakkane|haugane|grenda|leira|leiret|berget|kollen|odden|neset|holmen|stranda|"
    r"sundet|marka|veita|heia|bråten|"
    r"gade|vej|vænget|stræde|boulevard"
)
# Street words written apart after capitalised words ("Kongens gate 5", "Carl Berners plass 3").
_APART = (
    r"gate|gata|gt\.|vei|veg|veien|vegen|plass|allé|alle|bakke|brygge|kai|torg|terrasse|"
    r"gade|vej|plads|allé|väg|gata|street|st\.|road|rd\.|avenue|ave\.|lane|drive|way"
)
# Capital-letter street names ("STORGATA 5").
_UPPER_SUFFIXES = "GATE|GATA|GATEN|VEIEN|VEGEN|VEI|VEG|GATAN|VÄGEN|GADE|VEJ|PLASS|ALLÉ"
# Words that may stand before a glued street name ("Øvre Slottsgate", "Lille Grensen").
_PREFIX = (
    r"Øvre|Nedre|Søndre|Nordre|Vestre|Østre|Store|Lille|Gamle|Nye|Indre|Ytre|Midtre|Sankt|St\.|"
    r"Kong|Dronning|Prinsens|Kongens|Dronningens|Norra|Södra|Västra|Östra|Stora|Lilla|Gamla|Nya|"
    r"Nørre|Søndre|Gammel|Ny"
)
_MONTH_AFTER = r"\.\s?(?i:jan|feb|mar|apr|mai|may|jun|jul|aug|sep|okt|oct|nov|des|dec)[a-zæøå]*\b"
_HOUSE = r"\d{1,4}(?:(?:[A-Za-z]|\s[A-Z])(?![\w]))?(?:\s?-\s?\d{1,4})?"
# A flat's number ("Storgata 31B, H0302"): H (or U, K, L for basement, cellar, loft) + 4 digits.
_FLAT = (
    r"(?:,?\s(?:[HUKLhukl]\d{4}|(?i:leil\.?|leilighet|leilegheit|lgh\.?|apt\.?|flat|apartment)"
    r"\s?(?:(?i:nr)\.?\s?)?\d{1,4}[A-Za-z]?)(?!\d))?"
)
_POSTAL = rf"(?:,?\s+\d{{4}}\s+[{_UP}][{_LO}{_UP}-]+(?:\s(?:i|på|[{_UP}])[{_LO}{_UP}-]*)?)?"
_ADDRESS_RE = re.compile(
    rf"(?<![\w])(?:"
    rf"(?:[{_UP}][{_LO}{_UP}.'-]*[ \t]){{1,3}}(?:{_APART})"
    rf"|(?:(?:{_PREFIX})\s)?[{_UP}{_LO}][{_LO}-]*?[{_LO}](?:{_GLUED})"
    rf"|[{_UP}]{{2,}}(?:{_UPPER_SUFFIXES})"
    rf")(?<=[\w.])\s?({_HOUSE})(?![^\W\d_]|[\d,.:]\d|\s?(?:%|kr\b|år\b|km\b|min\b)|{_MONTH_AFTER})"
    + _FLAT
    + _POSTAL,
)
# Any capitalised name + number when a real postcode and place follow ("Smedasundet 54, 5528 X"),
# the name on one line ("Ragnhild Bjørnstad\nLia 7, 2680 Vågå": the line before is a signature).
_POSTCODE_ADDRESS_RE = re.compile(
    rf"(?<![\w])[{_UP}][{_LO}{_UP}-]+(?:[ \t][{_UP}{_LO}][{_LO}{_UP}-]+){{0,2}}[ \t]({_HOUSE}),?\s+"
    rf"(\d{{4}})\s+[{_UP}][{_LO}{_UP}-]+"
)
# A capitalised name + number after "bor i/på", "adressen er", "lives at" …
_RESIDENCE_RE = re.compile(
    rf"\b(?i:bor|bur|bo|bodde|budde|adressen?(?:\s+\w+)?\s+er|adressa(?:\s+\w+)?\s+er|"
    rf"adresse:|address:|address is|lives at|live at|bor på|boende på|wohnt in|mieszka)"
    rf"\s+(?i:i|på|at|in|on)?\s*"
    rf"([{_UP}][{_LO}{_UP}-]+(?:\s[{_UP}][{_LO}{_UP}-]+){{0,2}}\s{_HOUSE})(?![^\W\d_]|[\d,.:]\d)",
)
# English order: "221B Baker Street".
_ENGLISH_ADDRESS_RE = re.compile(
    r"(?<![\w])\d{1,5}[A-Za-z]?\s(?:[A-Z][a-z]+\s){1,3}"
    r"(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive|Way|Boulevard|Place|Court|Crescent)"
)
_PLACE_AFTER_RE = re.compile(rf",\s?([{_UP}][{_LO}]+(?:[ -][{_UP}][{_LO}]+)?)(?![\w-])")
_NUMBER_HINT_RE = re.compile(r"[^\W\d_][.]?\s?\d")
# Every _ADDRESS_RE match has one of these right before ``\s?`` and the house number.
_STREET_ENDINGS = tuple(
    sorted({word.replace("\\.", ".") for word in f"{_GLUED}|{_APART}|{_UPPER_SUFFIXES}".split("|")})
)
# Every _RESIDENCE_RE match begins with a match of this (its cue, shortened).
_RESIDENCE_CUE_RE = re.compile(r"\b(?i:bo|bu|adress|address|live|wohnt|mieszka)")
_NOT_AFTER_NUMBER_RE = re.compile(
    r"^\s*(?:ganger|gonger|dager|timer|minutter|år|personer|stk|meter|mennesker|barn)\b"
)
_STREET_COMMON = frozenset(
    {"vei", "veg", "gate", "gata", "alle", "sti", "kai", "torg", "plass"}
    # road numbers: "riksvei 170", "fylkesveg 55"
    | {
        f"{kind}{word}"
        for kind in ("riks", "fylkes", "europa", "kommunal", "kommune", "privat")
        for word in ("vei", "veg", "veien", "vegen")
    }
)

# Norwegian plates: two letters and 4-5 digits; Swedish: three letters and 2 digits + digit/letter.
_NO_PLATE_RE = re.compile(r"(?<![\w<-])([A-Za-z]{2})[ -]?(\d{4,5}|\d{2} \d{3})(?![\w]|[.,]\d|\s\d)")
_SE_PLATE_RE = re.compile(r"(?<![\w<-])([A-Za-z]{3})[ -]?(\d{2}[A-Za-z0-9])(?![\w]|[.,]\d)")
_PLATE_CUE_RE = re.compile(
    r"(?:skilt|reg\.?\s?nr|regnr|registrering\w*|kjennemerke\w*|bilnummer|nummerplat\w*|"
    r"plate|plates|registration|licen[cs]e|reg\b|bil\b|bilen|vogn|kjøretøy\w*|regnummer|"
    r"registreringsskylt|nummerskilt\w*|nummerplade|auto|kennzeichen|car\b|vehicle|"
    r"nummerplåt|bilnr|kjører|køyrer|kører|kör|kjørte|køyrde|drives|driving)"
)
_HARD_NOT_LETTERS = frozenset(
    {"KL", "KR", "NR", "ID", "OK", "KM", "KG", "MM", "CM", "AM", "PM", "ÅR", "TV", "PS", "EU"}
)
_PLATE_NOT_LETTERS = frozenset(
    {
        "KL",
        "KR",
        "NR",
        "NO",
        "ID",
        "OK",
        "PK",
        "TV",
        "CA",
        "CM",
        "KM",
        "KG",
        "MM",
        "EU",
        "FM",
        "AM",
        "PM",
        "ST",
        "SE",
        "DK",
        "US",
        "UK",
        "GB",
        "NA",
        "DA",
        "NB",
        "NN",
        "EN",
        "SV",
        "VG",
        "PS",
        "BC",
        "AD",
        "KB",
        "MB",
        "HK",
        "JA",
        "NEI",
        "ÅR",
        "CO",
        "BY",
        "OG",
        "PÅ",
        "ER",
    }
)
_SE_NOT_LETTERS = frozenset(
    {
        "NOK",
        "SEK",
        "DKK",
        "EUR",
        "USD",
        "GBP",
        "AMK",
        "SMS",
        "MMS",
        "PIN",
        "KID",
        "CPR",
        "MVA",
        "NRK",
        "TLF",
        "FNR",
        "TEL",
        "NUM",
        "NRO",
        "KLS",
        "CAN",
        "VOL",
        "MAX",
        "MIN",
        "TOP",
        "AND",
        "THE",
        "FOR",
        "OCH",
        "MED",
        "SOM",
        "DET",
        "DEN",
        "HAR",
        "VAR",
        "TIL",
        "FRA",
        "MEN",
        "ALL",
        "JAN",
        "FEB",
        "MAR",
        "APR",
        "MAI",
        "MAY",
        "JUN",
        "JUL",
        "AUG",
        "SEP",
        "OKT",
        "OCT",
        "NOV",
        "DES",
        "DEC",
        "SAK",
        "REF",
        "KAP",
        "NRS",
        "PKT",
        "MOB",
        "ORG",
    }
)
_SE_LETTERS_RE = re.compile(r"[A-HJ-PR-UW-Z]{3}")
# Other countries' plates ("WX 4821K", "PO 7K312"): only after a plate cue.
_FOREIGN_PLATE_RE = re.compile(r"(?<![\w<-])([A-Z]{1,3})[ -]?([A-Z0-9]{3,5})(?![\w]|[.,]\d)")
# German-style plates ("M-KW 4412", "B-AB 123E"): district, hyphen, letters, digits.
_GERMAN_PLATE_RE = re.compile(r"(?<![\w<-])[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} ?\d{1,4}[EH]?(?![\w]|[.,]\d)")
_OFFICIAL = frozenset({"112", "113", "110"})
# Airlines flying to and within Norway, whose flight numbers look like old four-digit plates
_AIRLINES = frozenset(
    {"SK", "DY", "D8", "WF", "BA", "LH", "KL", "AY", "FR", "U2", "W6", "TK", "QR", "EK", "LX"}
)
# Flight and route numbers look like plates ("flight home is DY 1302")
_NOT_PLATE_CUE_RE = re.compile(
    r"(?:flight|fly|flyet|flyvning|flyavgang|flightnr|flight no\.?|flight number|rute|avgang|"
    r"departure|buss|bus|train)\W*(?:\w+\W+){0,2}$"
)


def find_addresses(text: str, language: str | None = None) -> Iterator[Span]:
    """A street name with a house number, optional letter and optional postcode + place."""
    if not _NUMBER_HINT_RE.search(text):
        return
    streets = _ADDRESS_RE.finditer(text) if _street_before_number(text) else ()
    for match in streets:
        start, end = match.span()
        if _NOT_AFTER_NUMBER_RE.search(text[match.end(1) : match.end(1) + 15].casefold()):
            continue
        street = text[start : match.start(1)].strip().casefold()
        if street in _STREET_COMMON:
            continue
        while end > start and text[end - 1] in ",. ":
            end -= 1
        place = _PLACE_AFTER_RE.match(text, end)
        if place is not None and place.group(1).casefold() in place_names():
            end = place.end()  # "Madlaveien 212, Stavanger"
        yield Span(start, end, "STREET_ADDRESS", 0.9, "street_address")
    english = _ENGLISH_ADDRESS_RE.finditer(text) if may_match(_ENGLISH_ADDRESS_RE, text) else ()
    for match in english:
        yield Span(*match.span(), "STREET_ADDRESS", 0.9, "street_address")
    codes = postcodes()
    # A postcode is four digits in a row.
    with_postcode = _POSTCODE_ADDRESS_RE.finditer(text) if longest_digit_run(text) >= 4 else ()
    for match in with_postcode:
        if match.group(2) in codes:
            yield Span(*match.span(), "STREET_ADDRESS", 0.85, "street_address")
    residences = _RESIDENCE_RE.finditer(text) if may_match(_RESIDENCE_CUE_RE, text) else ()
    for match in residences:
        start, end = match.span(1)
        if text[start].isupper() and not _NOT_AFTER_NUMBER_RE.search(text[end : end + 15]):
            yield Span(start, end, "STREET_ADDRESS", 0.8, "street_address")


def _street_before_number(text: str) -> bool:
    """Whether a street suffix ends right before a number (one white-space character at
    most between them). Every _ADDRESS_RE match has one: without, it need not run."""
    for hint in _NUMBER_HINT_RE.finditer(text):  # a hint ends at every such number
        end = hint.end() - 1
        if text[end - 1].isspace():  # ``\s`` of re is str.isspace
            end -= 1
        if text.endswith(_STREET_ENDINGS, 0, end):
            return True
    return False


def find_license_plates(text: str, language: str | None = None) -> Iterator[Span]:
    """Norwegian ("AB 12345", "EL 12345") and Swedish ("ABC 123", "ABC 12A") plates."""
    if not longest_digit_run(text):
        return  # every plate pattern needs a digit (foreign ones are kept only with two)
    seen: set[tuple[int, int]] = set()
    for span in _nordic_plates(text):
        seen.add((span.start, span.end))
        yield span
    for match in _GERMAN_PLATE_RE.finditer(text):
        yield Span(*match.span(), "LICENSE_PLATE", 0.92, "foreign_plate")
    for match in _FOREIGN_PLATE_RE.finditer(text):
        letters, tail = match.groups()
        start, end = match.span()
        if (start, end) in seen or sum(ch.isdigit() for ch in tail) < 2 or tail in _OFFICIAL:
            continue
        if letters in _PLATE_NOT_LETTERS or letters in _SE_NOT_LETTERS:
            continue
        if _NOT_PLATE_CUE_RE.search(before(text, start, 30)):
            continue
        if _PLATE_CUE_RE.search(before(text, start, 40)):
            yield Span(start, end, "LICENSE_PLATE", 0.65, "foreign_plate")


def _nordic_plates(text: str) -> Iterator[Span]:
    for match in _NO_PLATE_RE.finditer(text):
        letters, number = match.groups()
        number = number.replace(" ", "")
        start, end = match.span()
        if _NOT_PLATE_CUE_RE.search(before(text, start, 30)):
            continue
        cue = _PLATE_CUE_RE.search(before(text, start, 40)) is not None
        upper = letters.isupper()
        # Words and units ("kl 1530") never; country codes ("DK", "SE") only right after
        # "reg.nr" / "skilt", or with five digits after a plate cue ("Toyota, SV 20488"),
        # where they are real prefixes.
        if letters.upper() in _PLATE_NOT_LETTERS and (
            letters.upper() in _HARD_NOT_LETTERS
            or not (
                _PLATE_CUE_RE.search(before(text, start, 14))
                or (cue and upper and len(number) == 5)
            )
        ):
            continue
        if not upper and not cue:
            continue
        year_like = len(number) == 4 and number[:2] in ("19", "20")
        if len(number) == 4 and letters.upper() in _AIRLINES and not cue:
            continue  # "SK 4416", "DY 1302": flights
        if len(number) == 4 and (year_like or not cue) and not (upper and not year_like):
            continue
        score = 0.9 if cue else (0.8 if len(number) == 5 else 0.6)
        yield Span(start, end, "LICENSE_PLATE", score, "no_plate")
    for match in _SE_PLATE_RE.finditer(text):
        letters, tail = match.groups()
        start, end = match.span()
        cue = _PLATE_CUE_RE.search(before(text, start, 40)) is not None
        if tail in _OFFICIAL or letters.upper() in _SE_NOT_LETTERS:
            continue
        if not _SE_LETTERS_RE.fullmatch(letters.upper()) or tail[-1] in "Oo":
            continue
        if not (letters.isupper() or cue) or (not tail[-1].isdigit() and not tail[-1].isupper()):
            continue
        yield Span(start, end, "LICENSE_PLATE", 0.9 if cue else 0.7, "se_plate")
