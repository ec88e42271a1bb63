"""Police district from the places a message names.

Three sources of place names, strongest first:

* a postcode next to its poststed ("0557 Oslo") or after "postnummer";
* kommune names (with Sami/Kven names) from :mod:`stemme.geo` and a small gazetteer of
  well-known areas and towns (``data/places.csv``: Oslo bydeler, Bergen areas, …);
* poststed names from ``geo/data/postnummer.csv``.

Many Norwegian place names are also ordinary words or surnames ("Hole", "Lier", "Moss",
"Strand", "Heim"). Such names, and every name known only as a poststed, count only when
capitalised and right after a preposition ("i", "på", "fra", "ved", "in", "near", …). Words
inside a detected person name, e-mail address or user name are never read as places.
A name shared by kommuner in different districts resolves to the most populous candidate.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from stemme.geo import service as geo
from stemme.privacy._text import longest_digit_run

# Names that are also common words (nb/nn/sv/da/en) or common surnames.
COMMON_WORD_NAMES: frozenset[str] = frozenset(
    [
        "alver",
        "aure",
        "bø",
        "fjord",
        "flå",
        "gol",
        "gran",
        "grane",
        "grue",
        "heim",
        "hol",
        "hole",
        "hå",
        "kinn",
        "leka",
        "lier",
        "lom",
        "lund",
        "marker",
        "moss",
        "nes",
        "nome",
        "os",
        "osen",
        "rana",
        "sande",
        "sel",
        "sola",
        "stad",
        "strand",
        "sula",
        "time",
        "tinn",
        "tana",
        "valle",
        "vang",
        "vega",
        "vik",
        "ål",
        "ås",
        "åmot",
        "haram",
        "hvaler",
        "øyer",
        "loppa",
        "stange",
        "kvam",
        "klepp",
        "luster",
        "bamble",
        "frogn",
        "modum",
        "alta",
        "heim",
        "ski",
        "tasta",
        "kampen",
        "bryn",
        "storo",
        "sogn",
        "straume",
        "hinna",
        "lakselv",
        "otta",
        "sandviken",
        "bryggen",
        "grønland",
        "askim",
        "eid",
        "vinje",
        "dovre",
        "røst",
        "meløy",
        "senja",
        "rauma",
        "fana",
        "arna",
        "alna",
        "lade",
        "sentrum",
        "bjerke",
        "ryen",
        "kolstad",
        "tiller",
        "bakken",
        "berg",
        "dal",
        "moen",
        "haugen",
        "råde",
        "stokke",
    ]
)
PREPOSITIONS: frozenset[str] = frozenset(
    [
        "i",
        "på",
        "fra",
        "frå",
        "til",
        "ved",
        "utenfor",
        "utanfor",
        "nær",
        "rundt",
        "mot",
        "gjennom",
        "hos",
        "in",
        "at",
        "from",
        "to",
        "near",
        "outside",
        "around",
        "på",
        "vid",
        "från",
        "till",
        "utanför",
        "nära",
        "ved",
        "udenfor",
        "fra",
        "til",
        "omkring",
        "mellom",
        "between",
        "forbi",
        "langs",
        "along",
        "via",
        # the prepositions of place of the languages most common among residents after ours
        "w",
        "we",
        "koło",
        "bei",
        "nach",
        "в",
        "у",
    ]
)
EXCLUDED_ENTITY_TYPES = frozenset({"PERSON", "EMAIL", "USERNAME", "IP_ADDRESS"})

_TOKEN_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_POSTCODE_PLACE_RE = re.compile(r"(?<!\d)(\d{4})\s+([^\W\d_]+(?:[ -][^\W\d_]+){0,2})")
_POSTCODE_WORD_RE = re.compile(
    r"(?:post\s*(?:nummer|nr\.?|kode)|postal\s*code|zip(?:\s*code)?)\s*:?\s*(\d{4})(?!\d)",
    re.IGNORECASE,
)
_MAX_WORDS = 4
_KIND_RANK = {"area": 3, "kommune": 2, "poststed": 1}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One district a place name can mean."""

    district: str
    population: int
    kind: str  # "area", "kommune" or "poststed"
    name: str


@dataclass(frozen=True, slots=True)
class DistrictResult:
    """The police district (or None), the place that decided it and where it came from."""

    district: str | None
    place: str | None
    source: str | None  # "text", "channel" or None


def _key(name: str) -> str:
    return " ".join(token.casefold() for token in _TOKEN_RE.findall(name))


def _title(place: str) -> str:
    small = {"i", "på", "og"}
    words = place.split()
    return " ".join(
        w.lower() if i and w.lower() in small else "-".join(p.capitalize() for p in w.split("-"))
        for i, w in enumerate(words)
    )


def _read_data(package: str, name: str) -> list[dict[str, str]]:
    text = (files(package) / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def gazetteer() -> tuple[tuple[str, str], ...]:
    """The (place, district) pairs of ``data/places.csv``."""
    rows = _read_data("stemme.understanding", "places.csv")
    return tuple((row["place"], row["district"]) for row in rows)


@cache
def _index() -> dict[str, tuple[Candidate, ...]]:
    """Folded place name → its candidates, best first (kind, then population)."""
    index: dict[str, list[Candidate]] = {}

    def add(name: str, candidate: Candidate) -> None:
        key = _key(name)
        if key and candidate not in index.setdefault(key, []):
            index[key].append(candidate)

    populations = {k.number: k.population for k in geo.all_kommuner()}
    for kommune in geo.all_kommuner():
        for name in (kommune.name, *kommune.sami_names):
            add(name, Candidate(kommune.district, kommune.population, "kommune", kommune.name))
    for place, district in gazetteer():
        add(place, Candidate(district, 10**7, "area", place))
    for row in _read_data("stemme.geo", "postnummer.csv"):
        number = row["kommunenummer"]
        if number not in populations:
            continue
        place = _title(row["poststed"])
        add(place, Candidate(geo.district_of(number), populations[number], "poststed", place))
    return {
        key: tuple(sorted(cands, key=lambda c: (-_KIND_RANK[c.kind], -c.population)))
        for key, cands in index.items()
    }


@cache
def _postcode_districts() -> dict[str, tuple[str, str]]:
    """Postcode → (district, poststed)."""
    result: dict[str, tuple[str, str]] = {}
    for row in _read_data("stemme.geo", "postnummer.csv"):
        try:
            district = geo.district_of(row["kommunenummer"])
        except geo.UnknownKommuneError:
            continue
        result[row["postnummer"]] = (district, _title(row["poststed"]))
    return result


@cache
def _first_words() -> frozenset[str]:
    """The first word of every indexed place name: no other word can start a place."""
    return frozenset(key.split(" ", 1)[0] for key in _index())


def _best(candidates: Sequence[Candidate]) -> Candidate:
    """The candidate of the strongest kind; among those, the most populous."""
    return candidates[0]


@dataclass(frozen=True, slots=True)
class _Match:
    strength: int
    start: int
    district: str
    place: str


def _inside(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _postcode_matches(text: str, blocked: list[tuple[int, int]]) -> list[_Match]:
    matches: list[_Match] = []
    if longest_digit_run(text) < 4:
        return matches  # both patterns need four digits in a row
    postcodes = _postcode_districts()
    for m in _POSTCODE_PLACE_RE.finditer(text):
        entry = postcodes.get(m.group(1))
        if entry and _key(m.group(2)).startswith(_key(entry[1])):
            matches.append(_Match(5, m.start(), entry[0], f"{m.group(1)} {entry[1]}"))
    for m in _POSTCODE_WORD_RE.finditer(text):
        entry = postcodes.get(m.group(1))
        if entry and not _inside(m.start(1), m.end(1), blocked):
            matches.append(_Match(4, m.start(1), entry[0], f"{m.group(1)} {entry[1]}"))
    return matches


def _name_matches(text: str, blocked: list[tuple[int, int]]) -> list[_Match]:
    index = _index()
    starts = _first_words()
    first_names = geo.first_names()
    last_names = geo.last_names()
    tokens = list(_TOKEN_RE.finditer(text))
    folded = [t.group().casefold() for t in tokens]
    matches: list[_Match] = []
    i = 0
    while i < len(tokens):
        if folded[i] not in starts:
            i += 1
            continue
        for n in range(min(_MAX_WORDS, len(tokens) - i), 0, -1):
            key = " ".join(folded[i : i + n])
            candidates = index.get(key)
            if not candidates:
                continue
            start, end = tokens[i].start(), tokens[i + n - 1].end()
            surface = text[start:end]
            if _inside(start, end, blocked):
                break
            prev = folded[i - 1] if i else ""
            after_preposition = prev in PREPOSITIONS
            capitalised = surface[:1].isupper()
            best = _best(candidates)
            # A capitalised first name before, or a surname after: part of a person's name.
            prev_raw = tokens[i - 1].group() if i else ""
            next_raw = tokens[i + n].group() if i + n < len(tokens) else ""
            if not after_preposition and (
                (prev_raw[:1].isupper() and prev_raw in first_names)
                or (next_raw[:1].isupper() and next_raw in last_names)
            ):
                break
            common = key in COMMON_WORD_NAMES or surface in last_names
            if best.kind == "poststed" or common:
                if not (capitalised and after_preposition):
                    break
                strength = 3 if best.kind != "poststed" else 2
            elif capitalised:
                strength = 3 if after_preposition else 2
            elif len(key) >= 4:
                strength = 1
            else:
                break
            matches.append(_Match(strength, start, best.district, best.name))
            i += n - 1
            break
        i += 1
    return matches


def find_district(
    text: str,
    excluded: Iterable[tuple[int, int]] = (),
    channel_district: str | None = None,
) -> DistrictResult:
    """The police district named by a place in ``text``.

    ``excluded`` are (start, end) spans never read as places (names, e-mail addresses).
    Without a place in the text, ``channel_district`` (the district that runs the channel)
    is the fallback, reported with source "channel".
    """
    blocked = list(excluded)
    matches = _postcode_matches(text, blocked) + _name_matches(text, blocked)
    if matches:
        best = max(matches, key=lambda m: (m.strength, -m.start))
        return DistrictResult(best.district, best.place, "text")
    if channel_district:
        return DistrictResult(geo.normalise_district(channel_district), None, "channel")
    return DistrictResult(None, None, None)
