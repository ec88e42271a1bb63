"""Word and name lists, read once from package data (``stemme/privacy/data``) and stemme.geo."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib.resources import files

from stemme.geo import all_kommuner, first_names, last_names


def _lines(name: str) -> list[str]:
    """The non-blank, non-comment lines of a data file (words split on white space)."""
    text = (files("stemme.privacy") / "data" / name).read_text(encoding="utf-8")
    words: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.extend(line.split())
    return words


@cache
def common_words() -> frozenset[str]:
    """Frequent words (casefolded) that never start or extend a name."""
    return frozenset(word.casefold() for word in _lines("common_words.txt"))


@cache
def sample_messages() -> list[str]:
    """Made-up messages, one per line (how common short strings are, for the pre-filter)."""
    text = (files("stemme.privacy") / "data" / "sample_messages.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def ambiguous_names() -> frozenset[str]:
    """First names that are also common words: they need a cue or a surname."""
    return frozenset(_lines("ambiguous_names.txt"))


@cache
def organisations() -> frozenset[str]:
    """Organisations, brands and places that look like names (casefolded)."""
    return frozenset(word.casefold() for word in _lines("organisations.txt"))


@cache
def given_names() -> frozenset[str]:
    """First names: SSB's Norwegian list plus the shipped Nordic/English/immigrant list."""
    return first_names() | frozenset(_lines("first_names_extra.txt"))


@cache
def given_names_folded() -> frozenset[str]:
    """Casefolded first names, for lower-case names after a cue."""
    return frozenset(name.casefold() for name in given_names())


@cache
def surnames() -> frozenset[str]:
    """Common Norwegian surnames (SSB)."""
    return last_names()


@cache
def surnames_folded() -> frozenset[str]:
    """Casefolded surnames."""
    return frozenset(name.casefold() for name in last_names())


@cache
def postcodes() -> frozenset[str]:
    """The four-digit Norwegian postcodes in use."""
    raw = (files("stemme.geo") / "data" / "postnummer.csv").read_text(encoding="utf-8")
    return frozenset(row["postnummer"] for row in csv.DictReader(io.StringIO(raw)))


@cache
def kommune_names() -> frozenset[str]:
    """Casefolded kommune names (with Sami names): places, never the second half of a name.

    Postcode places are left out on purpose: many are farm names that are also surnames
    ("Hovden", "Tjørhom").
    """
    names: set[str] = set()
    for kommune in all_kommuner():
        names.add(kommune.name.casefold())
        names.update(sami.casefold() for sami in kommune.sami_names)
    return frozenset(names)


@cache
def place_names() -> frozenset[str]:
    """Casefolded kommune names (with Sami names) and postcode places."""
    names: set[str] = set(kommune_names())
    raw = (files("stemme.geo") / "data" / "postnummer.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(io.StringIO(raw)):
        names.add(row["poststed"].casefold())
    for place in list(names):
        names.update(part for part in place.split() if len(part) > 2)
    return frozenset(names)
