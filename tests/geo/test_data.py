"""Package data, name lists and error types."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

import pytest

from stemme.errors import InvalidInputError, NotFoundError, StemmeError
from stemme.geo import (
    AmbiguousKommuneError,
    UnknownDistrictError,
    UnknownKommuneError,
    UnknownPostcodeError,
    first_names,
    last_names,
)


@pytest.mark.parametrize(
    "name",
    [
        "kommuner.csv",
        "postnummer.csv",
        "first_names.txt",
        "last_names.txt",
        "SOURCES.md",
        "README.md",
    ],
)
def test_data_file_is_packaged(name: str) -> None:
    assert (files("stemme.geo") / "data" / name).is_file()


@pytest.mark.parametrize(
    ("loader", "size", "examples"),
    [
        (first_names, 1881, ["Anne", "Jan", "Bjørn", "Mohammad", "Fatima"]),
        (last_names, 3313, ["Hansen", "Johansen", "Olsen", "Nguyen", "Abdullahi"]),
    ],
)
def test_name_lists(loader: Callable[[], frozenset[str]], size: int, examples: list[str]) -> None:
    names = loader()
    assert isinstance(names, frozenset)
    assert len(names) == size
    assert all(name in names for name in examples)
    assert all(name == name.strip() and name for name in names)
    assert loader() is names


@pytest.mark.parametrize(
    ("error", "base", "status"),
    [
        (UnknownKommuneError, NotFoundError, 404),
        (UnknownPostcodeError, NotFoundError, 404),
        (UnknownDistrictError, NotFoundError, 404),
        (AmbiguousKommuneError, InvalidInputError, 422),
    ],
)
def test_error_hierarchy(error: type[StemmeError], base: type[StemmeError], status: int) -> None:
    assert issubclass(error, base)
    assert error.status == status


def test_errors_keep_msgid_and_params_for_translation() -> None:
    error = UnknownKommuneError("Ukjent kommunenummer: %(number)s", number="9999")
    assert error.message == "Ukjent kommunenummer: %(number)s"
    assert error.render(lambda msgid: msgid.replace("Ukjent", "Unknown")) == (
        "Unknown kommunenummer: 9999"
    )
