"""Norwegian geography: kommuner, police districts, postcodes and name lists.

The reference data ships as package data in ``stemme/geo/data`` (see its README.md and
SOURCES.md). It is read on first use and cached for the life of the process.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from stemme.errors import InvalidInputError, NotFoundError

POLICE_DISTRICTS: tuple[str, ...] = (
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
"""The 12 police districts, north to south, named without the word "politidistrikt"."""

_NUMBER_RE = re.compile(r"[0-9]{3,4}")
_POSTCODE_RE = re.compile(r"[0-9]{4}")
_SEPARATORS_RE = re.compile(r"[\W_]+")
_DISTRICT_SUFFIX_RE = re.compile(r"\s*\b(?:politidistrikt(?:et)?|pd)$")
_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "đ": "d", "ŧ": "t", "ŋ": "n"})
_LOOSE_PAIRS = (("aa", "a"), ("ae", "a"), ("oe", "o"))
_SMALL_WORDS = frozenset({"i", "på", "og"})
_SAMI_SEPARATOR = " / "
_SEARCH_ALIASES: dict[str, tuple[str, ...]] = {
    # Sami and Kven names in common use that are not part of the official kommune name in
    # kommuner.csv: searchable, but deliberately not in Kommune.sami_names.
    "5501": ("Romsa", "Tromssa"),
}


class UnknownKommuneError(NotFoundError):
    """No kommune has this number or name."""


class AmbiguousKommuneError(InvalidInputError):
    """A kommune name matches more than one kommune."""


class UnknownPostcodeError(NotFoundError):
    """The postcode is malformed or not in the register."""


class UnknownDistrictError(NotFoundError):
    """The name is not one of the 12 police districts."""


@dataclass(frozen=True, slots=True)
class Kommune:
    """A kommune (2024 structure) with its police district and population (2025)."""

    number: str
    name: str
    sami_names: tuple[str, ...]
    fylke: str
    district: str
    population: int

    @property
    def display_name(self) -> str:
        """The name, qualified by fylke when several kommuner share it."""
        if self.name in _duplicate_names():
            return f"{self.name} ({self.fylke})"
        return self.name


# --- text normalisation -----------------------------------------------------------------


def _strict_key(text: str) -> str:
    """Fold case and diacritics (æ→ae, ø→o, å→a) and collapse punctuation to spaces."""
    folded = text.casefold().translate(_LETTERS)
    decomposed = unicodedata.normalize("NFKD", folded)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS_RE.sub(" ", bare).strip()


def _loose_key(strict: str) -> str:
    """Also treat aa/ae/oe as a/a/o and ignore word breaks (so "Barum" finds Bærum)."""
    for pair, single in _LOOSE_PAIRS:
        strict = strict.replace(pair, single)
    return strict.replace(" ", "")


def _title_place(place: str) -> str:
    """Title-case an upper-case poststed, keeping i/på/og lower case ("Mo i Rana")."""
    words = place.split()
    return " ".join(
        word.lower() if index and word.lower() in _SMALL_WORDS else _capitalise(word)
        for index, word in enumerate(words)
    )


def _capitalise(word: str) -> str:
    """Capitalise each hyphenated part ("SØR-FRON" → "Sør-Fron")."""
    return "-".join(part.capitalize() for part in word.split("-"))


# --- data loading -----------------------------------------------------------------------


def _read_data(name: str) -> str:
    """The text of a bundled data file."""
    return (files("stemme.geo") / "data" / name).read_text(encoding="utf-8")


def _read_csv(name: str) -> list[dict[str, str]]:
    """The rows of a bundled CSV file, keyed by header."""
    return list(csv.DictReader(io.StringIO(_read_data(name))))


def _read_lines(name: str) -> frozenset[str]:
    """The non-blank lines of a bundled text file."""
    return frozenset(line.strip() for line in _read_data(name).splitlines() if line.strip())


def _kommune_from_row(row: dict[str, str]) -> Kommune:
    """Build a Kommune from a ``kommuner.csv`` row."""
    sami = (part.strip() for part in row["sami_name"].split(_SAMI_SEPARATOR))
    return Kommune(
        number=row["kommunenummer"],
        name=row["name"],
        sami_names=tuple(part for part in sami if part),
        fylke=row["fylke"],
        district=row["politidistrikt"],
        population=int(row["population"]),
    )


@cache
def all_kommuner() -> tuple[Kommune, ...]:
    """All 357 kommuner, sorted by number."""
    kommuner = (_kommune_from_row(row) for row in _read_csv("kommuner.csv"))
    return tuple(sorted(kommuner, key=lambda kommune: kommune.number))


@cache
def _by_number() -> dict[str, Kommune]:
    return {kommune.number: kommune for kommune in all_kommuner()}


@cache
def _duplicate_names() -> frozenset[str]:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for kommune in all_kommuner():
        (duplicates if kommune.name in seen else seen).add(kommune.name)
    return frozenset(duplicates)


def _search_names(kommune: Kommune) -> tuple[str, ...]:
    """Every name a kommune can be looked up by."""
    aliases = _SEARCH_ALIASES.get(kommune.number, ())
    return (kommune.name, kommune.display_name, *kommune.sami_names, *aliases)


def _build_index(keys: Iterable[tuple[str, Kommune]]) -> dict[str, tuple[Kommune, ...]]:
    """Group kommuner by key, without repeats, keeping number order."""
    index: dict[str, list[Kommune]] = {}
    for key, kommune in keys:
        bucket = index.setdefault(key, [])
        if kommune not in bucket:
            bucket.append(kommune)
    return {key: tuple(bucket) for key, bucket in index.items()}


@cache
def _strict_index() -> dict[str, tuple[Kommune, ...]]:
    pairs = ((_strict_key(name), k) for k in all_kommuner() for name in _search_names(k))
    return _build_index(pairs)


@cache
def _loose_index() -> dict[str, tuple[Kommune, ...]]:
    return _build_index((_loose_key(key), k) for key, ks in _strict_index().items() for k in ks)


@cache
def _postcodes() -> dict[str, tuple[str, str]]:
    """Postcode → (poststed in upper case, kommunenummer)."""
    rows = _read_csv("postnummer.csv")
    return {row["postnummer"]: (row["poststed"], row["kommunenummer"]) for row in rows}


@cache
def _district_keys() -> dict[str, str]:
    """Strict and loose keys of every district → its canonical name."""
    keys = {_strict_key(name): name for name in POLICE_DISTRICTS}
    return keys | {_loose_key(key): name for key, name in keys.items()}


@cache
def _by_district() -> dict[str, tuple[Kommune, ...]]:
    return {
        name: tuple(k for k in all_kommuner() if k.district == name) for name in POLICE_DISTRICTS
    }


# --- kommuner ---------------------------------------------------------------------------


def kommune_by_number(number: str) -> Kommune:
    """The kommune with this number ("0301", "301" and " 0301 " all give Oslo)."""
    cleaned = number.strip()
    if not _NUMBER_RE.fullmatch(cleaned):
        raise UnknownKommuneError("Ugyldig kommunenummer: %(number)s", number=cleaned)
    kommune = _by_number().get(cleaned.zfill(4))
    if kommune is None:
        raise UnknownKommuneError("Ukjent kommunenummer: %(number)s", number=cleaned)
    return kommune


def find_kommuner(name: str) -> list[Kommune]:
    """Kommuner whose Norwegian, Sami/Kven or display name matches, ignoring case and accents.

    An exact folded match wins; only if there is none are aa/ae/oe read as a/a/o.
    """
    strict = _strict_key(name)
    if not strict:
        return []
    matches = _strict_index().get(strict) or _loose_index().get(_loose_key(strict), ())
    return list(matches)


def kommune_by_name(name: str) -> Kommune:
    """The one kommune matching ``name`` (see :func:`find_kommuner`)."""
    matches = find_kommuner(name)
    if not matches:
        raise UnknownKommuneError("Ukjent kommune: %(name)s", name=name.strip())
    if len(matches) > 1:
        raise AmbiguousKommuneError(
            "Flere kommuner passer til %(name)s: %(candidates)s",
            name=name.strip(),
            candidates=", ".join(kommune.display_name for kommune in matches),
        )
    return matches[0]


# --- police districts -------------------------------------------------------------------


def normalise_district(name: str) -> str:
    """The canonical district name for e.g. "oslo", "sor-ost" or "Vest politidistrikt"."""
    strict = _DISTRICT_SUFFIX_RE.sub("", _strict_key(name))
    keys = _district_keys()
    district = keys.get(strict) or keys.get(_loose_key(strict))
    if district is None:
        raise UnknownDistrictError("Ukjent politidistrikt: %(district)s", district=name.strip())
    return district


def district_of(kommune_number: str) -> str:
    """The police district of the kommune with this number."""
    return kommune_by_number(kommune_number).district


def kommuner_in_district(district: str) -> tuple[Kommune, ...]:
    """The kommuner in a police district (any spelling accepted by normalise_district)."""
    return _by_district()[normalise_district(district)]


def district_population(district: str) -> int:
    """The population (1 January 2025) of a police district."""
    return sum(kommune.population for kommune in kommuner_in_district(district))


# --- postcodes --------------------------------------------------------------------------


def _postcode_entry(postcode: str) -> tuple[str, str]:
    """(poststed, kommunenummer) of a four-digit postcode."""
    cleaned = postcode.strip()
    if not _POSTCODE_RE.fullmatch(cleaned):
        raise UnknownPostcodeError("Ugyldig postnummer: %(postcode)s", postcode=cleaned)
    entry = _postcodes().get(cleaned)
    if entry is None:
        raise UnknownPostcodeError("Ukjent postnummer: %(postcode)s", postcode=cleaned)
    return entry


def kommune_by_postcode(postcode: str) -> Kommune:
    """The kommune a postcode belongs to."""
    return kommune_by_number(_postcode_entry(postcode)[1])


def postcode_place(postcode: str) -> str:
    """The poststed of a postcode, title-cased ("0150" → "Oslo", "8601" → "Mo i Rana")."""
    return _title_place(_postcode_entry(postcode)[0])


# --- name lists -------------------------------------------------------------------------


@cache
def first_names() -> frozenset[str]:
    """Common Norwegian first names (SSB, 2020), as spelled in the source."""
    return _read_lines("first_names.txt")


@cache
def last_names() -> frozenset[str]:
    """Common Norwegian surnames (SSB, 2009 plus 2020 A–F), as spelled in the source."""
    return _read_lines("last_names.txt")
