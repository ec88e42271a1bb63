"""Small text helpers shared by the recognizers: context windows, dates, tags."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

TAG_RE = re.compile(r"<[A-Z][A-Z_]*(?:_\d+)?>")
"""A tag written by the "tag" or "pseudonymise" operator; never detected again."""

DATE_RE = re.compile(
    r"(?<![\d.])(?:(?:0?[1-9]|[12]\d|3[01])[./-](?:0?[1-9]|1[0-2])[./-](?:\d{4}|\d{2})"
    r"|(?:19|20)\d{2}[./-](?:0?[1-9]|1[0-2])[./-](?:0?[1-9]|[12]\d|3[01]))(?![\d])"
)
"""Dates such as 24.11.2026, 01.01.90, 2026-11-24."""

TIME_RE = re.compile(r"(?<![\d.:])(?:[01]?\d|2[0-3])[:.][0-5]\d(?:[:.][0-5]\d)?(?![\d:])")
"""Clock times such as 15:30, 08.00, 23:30:15."""


class PerText(Generic[T]):
    """``compute(text)``, remembered for the texts asked about lately (by identity: the text
    is kept, so its id stays its own). The recognizers each work through the same batch of
    texts, and several of them ask the same question of each text."""

    __slots__ = ("_compute", "_known", "_size")

    def __init__(self, compute: Callable[[str], T], size: int = 1024) -> None:
        self._compute = compute
        self._known: dict[int, tuple[str, T]] = {}
        self._size = size

    def __call__(self, text: str) -> T:
        known = self._known.get(id(text))
        if known is not None and known[0] is text:
            return known[1]
        value = self._compute(text)
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[id(text)] = (text, value)
        return value


_DIGIT_RUN_RE = re.compile(r"\d+")


def _digit_runs(text: str) -> tuple[int, int]:
    lengths = [len(run) for run in _DIGIT_RUN_RE.findall(text)]
    return max(lengths, default=0), sum(lengths)


_digit_runs_of = PerText(_digit_runs)


def longest_digit_run(text: str) -> int:
    """The length of the longest run of (Unicode) digits in ``text``: ``\\d{n}`` occurs in
    the text exactly when this is at least n."""
    return _digit_runs_of(text)[0]


def digit_count(text: str) -> int:
    """How many (Unicode) digits ``text`` holds: a number of n digits needs at least n."""
    return _digit_runs_of(text)[1]


def blanked(text: str, ranges: Iterable[tuple[int, int]]) -> str:
    """``text`` with the characters in ``ranges`` replaced by spaces (offsets unchanged)."""
    for start, end in sorted(ranges):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def before(text: str, start: int, width: int = 40) -> str:
    """The lower-cased text in the ``width`` characters before ``start``."""
    return text[max(0, start - width) : start].casefold()


def after(text: str, end: int, width: int = 20) -> str:
    """The lower-cased text in the ``width`` characters after ``end``."""
    return text[end : end + width].casefold()


def digits(value: str) -> str:
    """Only the ASCII digits of ``value``."""
    return "".join(ch for ch in value if "0" <= ch <= "9")


def spans_of(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """The (start, end) of every match of ``pattern`` in ``text``."""
    return [m.span() for m in pattern.finditer(text)]


def overlaps(start: int, end: int, ranges: list[tuple[int, int]]) -> bool:
    """Whether [start, end) overlaps any of ``ranges``."""
    return any(s < end and start < e for s, e in ranges)
