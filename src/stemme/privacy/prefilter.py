"""An exact pre-filter for regular expressions: short strings every match must contain.

The recognizers' and the triage rules' patterns are long alternations; Python's ``re``
tries every alternative at every position, so a search costs microseconds even when
nothing matches, which is almost always. :func:`required_grams` reads a compiled pattern's
syntax tree once and derives a set of lower-cased strings of at most three characters such
that every match contains at least one of them (:func:`required_all`: several such sets,
all of which a match meets). :func:`may_match` looks for those strings in the lower-cased
text with one alternation of plain literals, which ``re`` scans fast; :class:`TextGrams`
holds the three-character substrings of one text for set look-ups (the rule index). The
filter never changes a result: when it says no, the pattern cannot match; when it is
unsure (a class such as ``\\w`` at every position of an alternative, a back-reference) it
says yes.

Case: every literal is compared lower-cased (``str.lower`` is ``re``'s case-insensitive
comparison for all but a few characters: those of ``re._casefix``, their capitals and
"İ"); a text that holds any of those characters is not filtered at all.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

# re's own parser, opcodes and case-folding table (CPython 3.11+; no public interface).
_parser: Any = importlib.import_module("re._parser")
_casefix: Any = importlib.import_module("re._casefix")
sre: Any = importlib.import_module("re._constants")

WIDTH = 3
"""The longest string the filter works with (three characters: selective, few substrings)."""

_MAX_SET = 4096
_MAX_CLASS = 256
_MAX_REPEAT_EXPAND = 3


def _unsafe_characters() -> frozenset[str]:
    """Characters for which ``str.lower`` is not ``re``'s case-insensitive comparison."""
    chars = {"\u0130"}  # İ lower-cases to two characters
    for key, values in _casefix._EXTRA_CASES.items():
        chars.update(chr(c) for c in (key, *values) if c > 0x7F)
    for ch in list(chars):  # and their capitals ("Σ" lower-cases to "σ" or, last, "ς")
        chars.update(c for c in (ch.upper(), ch.title()) if len(c) == 1 and c > "\x7f")
    return frozenset(chars)


UNSAFE = _unsafe_characters()

_Strings = frozenset[str]


def _concat(left: _Strings, right: _Strings) -> _Strings | None:
    """Prefixes (at most WIDTH long) of every string of ``left`` followed by one of ``right``.

    A string of exactly WIDTH characters may be cut short: nothing is appended to it.
    """
    out: set[str] = set()
    for head in left:
        if len(head) >= WIDTH:
            out.add(head)
            continue
        for tail in right:
            out.add((head + tail)[:WIDTH])
        if len(out) > _MAX_SET:
            return None
    return frozenset(out)


def _exact_sequence(items: Sequence[Any]) -> _Strings | None:
    strings: _Strings | None = frozenset({""})
    for item in items:
        part = _exact(item)
        if part is None or strings is None:
            return None
        strings = _concat(strings, part)
    return strings


def _class_members(av: Any) -> _Strings | None:
    chars: set[str] = set()
    for op, value in av:
        if op is sre.LITERAL:
            chars.add(chr(value))
        elif op is sre.RANGE and value[1] - value[0] < _MAX_CLASS:
            chars.update(chr(c) for c in range(value[0], value[1] + 1))
        else:  # NEGATE, CATEGORY, a wide range
            return None
        if len(chars) > _MAX_CLASS:
            return None
    lowered = {ch.lower() for ch in chars}
    if any(len(ch) != 1 for ch in lowered):
        return None
    return frozenset(lowered)


def _exact(item: Any) -> _Strings | None:
    """Every string (cut to WIDTH) that one syntax item can match, or None if unbounded."""
    op, av = item
    if op is sre.LITERAL:
        lowered = chr(av).lower()
        return frozenset({lowered}) if len(lowered) == 1 else None
    if op is sre.IN:
        return _class_members(av)
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset({""})  # zero width
    if op is sre.SUBPATTERN:
        return _exact_sequence(av[-1])
    if op is sre.BRANCH:
        union: set[str] = set()
        for alternative in av[1]:
            strings = _exact_sequence(alternative)
            if strings is None:
                return None
            union |= strings
        return frozenset(union)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, body = av
        if high > _MAX_REPEAT_EXPAND:
            return None
        once = _exact_sequence(body)
        if once is None:
            return None
        union = set()
        repeated: _Strings | None = frozenset({""})
        for count in range(high + 1):
            if repeated is None:
                return None
            if count >= low:
                union |= repeated
            repeated = _concat(repeated, once)
        return frozenset(union)
    return None


class Frequencies:
    """How common each short string is in a sample of messages: picks the rarest strings.

    Only speed depends on it (a rarer required string rules out more texts); which texts
    match never does.
    """

    def __init__(self, sample: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        total = 1
        for text in sample:
            lowered = text.lower()
            counts.update(
                {
                    lowered[i : i + n]
                    for n in range(1, WIDTH + 1)
                    for i in range(len(lowered) - n + 1)
                }
            )
            total += 1
        self._share = {gram: count / total for gram, count in counts.items()}
        self._unseen = 1.0 / total

    def cost(self, strings: _Strings) -> float:
        """The estimated chance that a text contains one of ``strings`` (lower is better)."""
        return sum(self._share.get(s, self._unseen) for s in strings)


@cache
def common_word_frequencies() -> Frequencies:
    """Frequencies from the privacy package's list of common words (one short text each)."""
    from stemme.privacy._data import common_words

    return Frequencies(f" {word} " for word in sorted(common_words()))


def _better(candidate: _Strings, best: _Strings | None, frequencies: Frequencies) -> bool:
    """Whether ``candidate`` is rarer in messages than ``best``, so filters out more texts."""
    return best is None or frequencies.cost(candidate) < frequencies.cost(best)


def _candidates(items: Sequence[Any], frequencies: Frequencies) -> list[_Strings]:
    """Sets of strings each of which a match of the sequence ``items`` must meet (contain one
    of its strings): one per window of consecutive fixed items, and those inside groups."""
    exact = [_exact(item) for item in items]
    found: list[_Strings] = []
    for start, first in enumerate(exact):
        op, av = items[start]
        if op is sre.SUBPATTERN:
            found.extend(_candidates(av[-1], frequencies))
        elif first is None:
            inner = _required_item(items[start], frequencies)
            if inner is not None:
                found.append(inner)
        if first is None:
            continue
        strings: _Strings | None = frozenset({""})
        for part in exact[start:]:
            if part is None or strings is None:
                break
            strings = _concat(strings, part)
        if strings is not None and "" not in strings:
            found.append(strings)
    return found


def _required_sequence(items: Sequence[Any], frequencies: Frequencies) -> _Strings | None:
    """Strings one of which every match of the sequence ``items`` contains, or None."""
    best: _Strings | None = None
    for strings in _candidates(items, frequencies):
        if _better(strings, best, frequencies):
            best = strings
    return best


def _required_item(item: Any, frequencies: Frequencies) -> _Strings | None:
    op, av = item
    if op is sre.SUBPATTERN:
        return _required_sequence(av[-1], frequencies)
    if op is sre.BRANCH:
        union: set[str] = set()
        for alternative in av[1]:
            strings = _required_sequence(alternative, frequencies)
            if strings is None:
                return None
            union |= strings
        return frozenset(union)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
        return _required_sequence(av[2], frequencies)
    return None


def required_grams(
    pattern: re.Pattern[str], frequencies: Frequencies | None = None
) -> _Strings | None:
    """Lower-cased strings (1 to WIDTH characters): every match of ``pattern`` contains one.

    Of the sets that qualify, the one least common in ``frequencies``' sample is chosen.
    None when no such set can be derived: the pattern must then always be run.
    """
    if not isinstance(pattern.pattern, str) or pattern.flags & re.LOCALE:
        return None
    tree = _parser.parse(pattern.pattern, pattern.flags)
    return _required_sequence(list(tree), frequencies or common_word_frequencies())


def required_all(
    pattern: re.Pattern[str], frequencies: Frequencies | None = None, limit: int = 4
) -> tuple[_Strings, ...]:
    """Up to ``limit`` sets of strings, rarest first: a match contains one of each set.

    A stronger test than :func:`required_grams` alone (every set must be met), for
    patterns that are worth searching only when all of their fixed parts occur.
    """
    if not isinstance(pattern.pattern, str) or pattern.flags & re.LOCALE:
        return ()
    frequencies = frequencies or common_word_frequencies()
    found = set(_candidates(list(_parser.parse(pattern.pattern, pattern.flags)), frequencies))
    return tuple(sorted(found, key=lambda strings: (frequencies.cost(strings), sorted(strings))))[
        :limit
    ]


class TextGrams:
    """The short lower-cased substrings of one text, to test ``required_grams`` against.

    ``safe`` is False for a text with a character whose case-insensitive matching
    ``str.lower`` does not reproduce: such a text must always be searched.
    """

    __slots__ = ("_trigrams", "lowered", "safe")

    def __init__(self, text: str) -> None:
        self.lowered = text.lower()
        self.safe = text.isascii() or UNSAFE.isdisjoint(text)
        self._trigrams: frozenset[str] | None = None

    def trigrams(self) -> frozenset[str]:
        """Every substring of WIDTH characters of the lower-cased text."""
        if self._trigrams is None:
            text = self.lowered
            self._trigrams = frozenset([text[i : i + WIDTH] for i in range(len(text) - WIDTH + 1)])
        return self._trigrams

    def has_any(self, strings: _Strings) -> bool:
        """Whether the lower-cased text contains one of ``strings``."""
        shorter, full = _split(strings)
        if full and not full.isdisjoint(self.trigrams()):
            return True
        lowered = self.lowered
        return any(s in lowered for s in shorter)

    def may_match(self, required: _Strings | None) -> bool:
        """False only if a pattern whose ``required_grams`` are ``required`` cannot match."""
        return required is None or not self.safe or self.has_any(required)


_SPLIT: dict[int, tuple[_Strings, tuple[str, ...], _Strings]] = {}


def _split(strings: _Strings) -> tuple[tuple[str, ...], _Strings]:
    """``strings`` shorter than WIDTH, and those of WIDTH characters (kept by id)."""
    entry = _SPLIT.get(id(strings))
    if entry is None or entry[0] is not strings:
        shorter = tuple(sorted(s for s in strings if len(s) < WIDTH))
        entry = _SPLIT[id(strings)] = (
            strings,
            shorter,
            frozenset(s for s in strings if len(s) == WIDTH),
        )
    return entry[1], entry[2]


_last: tuple[str, str, bool] | None = None


def _lowered(text: str) -> tuple[str, bool]:
    """``text`` lower-cased and whether it is safe to filter, kept for the last text."""
    global _last
    last = _last
    if last is not None and last[0] is text:
        return last[1], last[2]
    lowered, safe = text.lower(), text.isascii() or UNSAFE.isdisjoint(text)
    _last = (text, lowered, safe)
    return lowered, safe


_LITERALS: dict[int, tuple[re.Pattern[str], re.Pattern[str] | None]] = {}


def may_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only if ``pattern`` cannot match anywhere in ``text`` (a cheap exact test).

    The required strings are searched for as one alternation of plain lower-case literals
    (fast in ``re``). It is kept per pattern object (by id: hashing a compiled pattern
    hashes its whole code), so ``pattern`` should be a module-level constant.
    """
    entry = _LITERALS.get(id(pattern))
    if entry is None or entry[0] is not pattern:
        required = required_grams(pattern)
        literals = None
        if required is not None:
            ordered = sorted(required, key=lambda s: (-len(s), s))
            literals = re.compile("|".join(map(re.escape, ordered)))
        entry = _LITERALS[id(pattern)] = (pattern, literals)
    literals = entry[1]
    if literals is None:
        return True
    lowered, safe = _lowered(text)
    return not safe or literals.search(lowered) is not None
