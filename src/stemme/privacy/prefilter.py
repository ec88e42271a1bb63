"""An exact pre-filter for regular expressions: short strings every match must contain.

The recognizers' and the triage rules' patterns are long alternations; Python's ``re``
tries every alternative at every position, so a search costs microseconds even when
nothing matches, which is almost always. :func:`required_grams` reads a compiled pattern's
syntax tree once and derives a set of short strings such that every match contains at
least one of them (:func:`required_all`: several such sets, all of which a match meets).
:class:`Finder` tells which of many such strings a text holds, in one pass
(:func:`may_match`, the rule index). The filter never changes a result: when it says no,
the pattern cannot match; when it is unsure (a class such as ``\\w`` at every position of
an alternative, a back-reference) it says yes.

Two alphabets compare patterns with texts. :data:`PLAIN`: lower-cased characters, strings
of up to three. :data:`WORDS`: *shaped* texts (:func:`shape`: every character ``\\w`` does
not match becomes a space, every decimal digit "0", and the text is padded with a space at
both ends) and strings of up to four. In shaped texts ``\\s``, ``\\W`` and ``\\d`` are
fixed characters, and a word edge (``(?<!\\w)``, ``(?!\\w)``, ``\\b`` before a letter,
``^``, ``$``) is a space, so "(?<!\\w)son(?!\\w)" needs " son", which "<PERSON>"
(" person ") does not contain.

Case: every literal is compared lower-cased (``str.lower`` is ``re``'s case-insensitive
comparison for all but a few characters: those of ``re._casefix``, their capitals and
"İ"); a text that holds any of those characters is not filtered at all.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import ahocorasick

from stemme.privacy._text import PerText

# re's own parser, opcodes and case-folding table (CPython 3.11+; no public interface).
_parser: Any = importlib.import_module("re._parser")
_casefix: Any = importlib.import_module("re._casefix")
sre: Any = importlib.import_module("re._constants")

WIDTH = 3
"""The longest string of the plain alphabet (three characters: selective, few substrings)."""

_MAX_SET = 4096
_MAX_CLASS = 256
_MAX_REPEAT_EXPAND = 3
_MAX_SHAPES = 20_000


@dataclass(frozen=True, slots=True)
class Alphabet:
    """How patterns and texts are compared: strings of up to ``width`` characters, of the
    lower-cased text or (``shaped``) of its :func:`shape`."""

    width: int = WIDTH
    shaped: bool = False


PLAIN = Alphabet()
WORDS = Alphabet(width=4, shaped=True)


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


# --- shaped texts ----------------------------------------------------------------------------


def _shape_char(ch: str) -> str:
    """One lower-cased character as the shaped alphabet writes it (``re``'s own \\w and \\d:
    ``str.isalnum`` or "_", and ``str.isdecimal``)."""
    if not (ch.isalnum() or ch == "_"):
        return " "
    return "0" if ch.isdecimal() else ch


class _ShapeTable(dict[int, str]):
    """``str.translate`` table: a character -> its lower-case form, shaped (filled on use)."""

    def __missing__(self, code: int) -> str:
        value = "".join(map(_shape_char, chr(code).lower()))
        if len(self) < _MAX_SHAPES:
            self[code] = value
        return value


_SHAPES = _ShapeTable()


def shape(text: str) -> str:
    """``text`` lower-cased, with " " for every character ``\\w`` does not match, "0" for every
    decimal digit, and one space before and after (a word edge is then a space)."""
    return " " + text.translate(_SHAPES) + " "


# --- deriving required strings from a pattern ------------------------------------------------


def _is_word_class(items: Any) -> bool:
    return list(items) == [(sre.IN, [(sre.CATEGORY, sre.CATEGORY_WORD)])]


def _edge_before(item: Any) -> bool:
    """``(?<!\\w)``, ``^``, ``\\A``: in a shaped text the character before is a space."""
    op, av = item
    if op is sre.AT:
        return av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING)
    return op is sre.ASSERT_NOT and av[0] == -1 and _is_word_class(av[1])


def _edge_after(item: Any) -> bool:
    """``(?!\\w)``, ``$``, ``\\Z``: in a shaped text the character after is a space."""
    op, av = item
    if op is sre.AT:
        return av in (sre.AT_END, sre.AT_END_STRING)
    return op is sre.ASSERT_NOT and av[0] == 1 and _is_word_class(av[1])


def _word_boundary(item: Any) -> bool:
    """``\\b``: a space before what follows, if that is a word character."""
    return item[0] is sre.AT and item[1] is sre.AT_BOUNDARY


# Flags under which \w and \d are not re's Unicode classes (shaped texts assume them).
_UNSHAPED_FLAGS = sre.SRE_FLAG_ASCII | sre.SRE_FLAG_LOCALE
# Classes that are one character of a shaped text.
_SHAPED_CATEGORIES: dict[Any, str] = {
    sre.CATEGORY_DIGIT: "0",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_WORD: " ",
}


class _Deriver:
    """Required strings of one alphabet, derived from ``re``'s syntax trees."""

    def __init__(self, alphabet: Alphabet, frequencies: Frequencies) -> None:
        self.width = alphabet.width
        self.shaped = alphabet.shaped
        self.frequencies = frequencies

    def char(self, code: int) -> str | None:
        """A pattern character as the alphabet writes it (None: no single character)."""
        lowered = chr(code).lower()
        if len(lowered) != 1:
            return None
        return _shape_char(lowered) if self.shaped else lowered

    def concat(self, left: _Strings, right: _Strings) -> _Strings | None:
        """Prefixes (at most ``width`` long) of every string of ``left`` followed by one of
        ``right``. A string of ``width`` characters may be cut short: nothing is appended."""
        out: set[str] = set()
        width = self.width
        for head in left:
            if len(head) >= width:
                out.add(head)
                continue
            for tail in right:
                out.add((head + tail)[:width])
            if len(out) > _MAX_SET:
                return None
        return frozenset(out)

    def exact_sequence(self, items: Sequence[Any]) -> _Strings | None:
        strings: _Strings | None = frozenset({""})
        for item in items:
            part = self.exact(item)
            if part is None or strings is None:
                return None
            strings = self.concat(strings, part)
        return strings

    def class_members(self, av: Any) -> _Strings | None:
        chars: set[str] = set()
        for op, value in av:
            if op is sre.LITERAL:
                chars.add(chr(value))
            elif op is sre.RANGE and value[1] - value[0] < _MAX_CLASS:
                chars.update(chr(c) for c in range(value[0], value[1] + 1))
            elif op is sre.CATEGORY and self.shaped and value in _SHAPED_CATEGORIES:
                chars.add(_SHAPED_CATEGORIES[value])
            else:  # NEGATE, another CATEGORY, a wide range
                return None
            if len(chars) > _MAX_CLASS:
                return None
        members = set()
        for ch in chars:
            written = self.char(ord(ch)) if len(ch) == 1 else None
            if written is None:
                return None
            members.add(written)
        return frozenset(members)

    def exact(self, item: Any) -> _Strings | None:
        """Every string (cut to ``width``) one syntax item can match, or None if unbounded."""
        op, av = item
        if op is sre.LITERAL:
            written = self.char(av)
            return frozenset({written}) if written is not None else None
        if op is sre.IN:
            return self.class_members(av)
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            return frozenset({""})  # zero width
        if op is sre.SUBPATTERN:
            return None if self.unshaped(av) else self.exact_sequence(av[-1])
        if op is sre.BRANCH:
            union: set[str] = set()
            for alternative in av[1]:
                strings = self.exact_sequence(alternative)
                if strings is None:
                    return None
                union |= strings
            return frozenset(union)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = av
            if high > _MAX_REPEAT_EXPAND:
                return None
            once = self.exact_sequence(body)
            if once is None:
                return None
            union = set()
            repeated: _Strings | None = frozenset({""})
            for count in range(high + 1):
                if repeated is None:
                    return None
                if count >= low:
                    union |= repeated
                repeated = self.concat(repeated, once)
            return frozenset(union)
        return None

    def unshaped(self, av: Any) -> bool:
        """Whether a group switches to ASCII or locale classes (shaped texts assume Unicode)."""
        return self.shaped and bool(av[1] & _UNSHAPED_FLAGS)

    def leading(self, items: Sequence[Any]) -> _Strings:
        """Strings one of which begins every match of the sequence ``items`` (each at most
        ``width`` long, shorter where an unbounded item follows; never extended further)."""
        strings: _Strings | None = frozenset({""})
        for item in items:
            part = self.exact(item)
            if part is None:
                lead = self.leading_item(item)
                strings = self.concat(strings, lead) if strings is not None else None
                break
            strings = self.concat(strings, part) if strings is not None else None
            if strings is None or min(map(len, strings)) >= self.width:
                break
        return strings if strings is not None else frozenset({""})

    def leading_item(self, item: Any) -> _Strings:
        op, av = item
        if op is sre.SUBPATTERN and not self.unshaped(av):
            return self.leading(av[-1])
        if op is sre.BRANCH:
            return frozenset().union(*(self.leading(alternative) for alternative in av[1]))
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            return self.leading(av[2])
        return frozenset({""})

    def window(self, items: Sequence[Any], exact: list[_Strings | None], start: int) -> Any:
        """The strings a match of ``items[start:]`` begins with, read as far as they are fixed
        (in a shaped text after a leading word edge: a space first)."""
        strings: _Strings | None = frozenset({""})
        if self.shaped and _word_boundary(items[start]) and start + 1 < len(items):
            rest = self.window(items, exact, start + 1)
            if rest and all(s and s[0] != " " for s in rest):  # a word starts here
                return self.concat(frozenset({" "}), rest)
            return rest
        if self.shaped and _edge_before(items[start]):
            strings = frozenset({" "})
        for index in range(start, len(items)):
            part = exact[index]
            if strings is None or min(map(len, strings)) >= self.width:
                break
            if self.shaped and index > start and _edge_after(items[index]):
                strings = self.concat(strings, frozenset({" "}))
                break
            if part is None:
                strings = self.concat(strings, self.leading_item(items[index]))
                break
            strings = self.concat(strings, part)
        return strings

    def candidates(self, items: Sequence[Any]) -> list[_Strings]:
        """Sets of strings each of which a match of the sequence ``items`` must meet (contain
        one of its strings): one per window of consecutive fixed items, and those inside
        groups."""
        exact = [self.exact(item) for item in items]
        found: list[_Strings] = []
        for start, first in enumerate(exact):
            op, av = items[start]
            if op is sre.SUBPATTERN:
                if not self.unshaped(av):
                    found.extend(self.candidates(av[-1]))
            elif first is None:
                inner = self.required_item(items[start])
                if inner is not None:
                    found.append(inner)
            if first is None:
                continue
            strings = self.window(items, exact, start)
            if strings is not None and "" not in strings:
                found.append(strings)
        return found

    def required_sequence(self, items: Sequence[Any]) -> _Strings | None:
        """Strings one of which every match of the sequence ``items`` contains, or None."""
        best: _Strings | None = None
        for strings in self.candidates(items):
            if best is None or self.frequencies.cost(strings) < self.frequencies.cost(best):
                best = strings
        return best

    def required_item(self, item: Any) -> _Strings | None:
        op, av = item
        if op is sre.SUBPATTERN:
            return None if self.unshaped(av) else self.required_sequence(av[-1])
        if op is sre.BRANCH:
            union: set[str] = set()
            for alternative in av[1]:
                strings = self.required_sequence(alternative)
                if strings is None:
                    return None
                union |= strings
            return frozenset(union)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            return self.required_sequence(av[2])
        return None


class Frequencies:
    """How common each short string is in a sample of messages: picks the rarest strings.

    Only speed depends on it (a rarer required string rules out more texts); which texts
    match never does.
    """

    def __init__(self, sample: Iterable[str], alphabet: Alphabet = PLAIN) -> None:
        counts: Counter[str] = Counter()
        total = 1
        width = alphabet.width
        for text in sample:
            written = shape(text) if alphabet.shaped else text.lower()
            counts.update(
                {
                    written[i : i + n]
                    for n in range(1, width + 1)
                    for i in range(len(written) - n + 1)
                }
            )
            total += 1
        self._share = {gram: count / total for gram, count in counts.items()}
        self._unseen = 1.0 / total

    def cost(self, strings: _Strings) -> float:
        """The estimated chance that a text contains one of ``strings`` (lower is better)."""
        return sum(self._share.get(s, self._unseen) for s in strings)


@cache
def common_word_frequencies(alphabet: Alphabet = PLAIN) -> Frequencies:
    """Frequencies from the privacy package's list of common words (one short text each).

    The shaped alphabet also counts its made-up sample messages: its strings hold digits,
    spaces and punctuation, which no single word shows.
    """
    from stemme.privacy._data import common_words, sample_messages

    texts = [f" {word} " for word in sorted(common_words())]
    if alphabet.shaped:
        texts += sample_messages()
    return Frequencies(texts, alphabet)


def _tree(pattern: re.Pattern[str], alphabet: Alphabet) -> list[Any] | None:
    """The syntax tree of ``pattern``, or None if the alphabet cannot read the pattern."""
    if not isinstance(pattern.pattern, str) or pattern.flags & re.LOCALE:
        return None
    if alphabet.shaped and pattern.flags & re.ASCII:
        return None
    return list(_parser.parse(pattern.pattern, pattern.flags))


def required_grams(
    pattern: re.Pattern[str], frequencies: Frequencies | None = None, alphabet: Alphabet = PLAIN
) -> _Strings | None:
    """Strings of the alphabet (1 to ``width`` characters): every match contains one.

    Of the sets that qualify, the one least common in ``frequencies``' sample is chosen.
    None when no such set can be derived: the pattern must then always be run.
    """
    tree = _tree(pattern, alphabet)
    if tree is None:
        return None
    deriver = _Deriver(alphabet, frequencies or common_word_frequencies(alphabet))
    return deriver.required_sequence(tree)


def required_all(
    pattern: re.Pattern[str],
    frequencies: Frequencies | None = None,
    limit: int = 4,
    alphabet: Alphabet = PLAIN,
) -> tuple[_Strings, ...]:
    """Up to ``limit`` sets of strings, rarest first: a match contains one of each set.

    A stronger test than :func:`required_grams` alone (every set must be met), for
    patterns that are worth searching only when all of their fixed parts occur.
    """
    tree = _tree(pattern, alphabet)
    if tree is None:
        return ()
    frequencies = frequencies or common_word_frequencies(alphabet)
    found = set(_Deriver(alphabet, frequencies).candidates(tree))
    ranked = sorted(found, key=lambda strings: (frequencies.cost(strings), sorted(strings)))
    return tuple(ranked[:limit])


def is_safe(text: str) -> bool:
    """Whether ``str.lower`` compares every character of ``text`` as ``re`` does."""
    return text.isascii() or UNSAFE.isdisjoint(text)


class Finder:
    """Which of a fixed set of strings occur in a text, in one pass over it.

    An Aho–Corasick automaton (pyahocorasick) over all the strings: finding which of a few
    hundred short strings a message holds costs about as much as one ``in`` test, where
    making the set of the message's substrings costs ten times that.
    """

    __slots__ = ("_automaton",)

    def __init__(self, strings: Iterable[str]) -> None:
        self._automaton: Any = None
        unique = set(strings)
        if unique:
            automaton = ahocorasick.Automaton()
            for string in unique:
                automaton.add_word(string, string)
            automaton.make_automaton()
            self._automaton = automaton

    def present(self, text: str) -> set[str]:
        """The strings that occur in ``text``."""
        if self._automaton is None:
            return set()
        return {string for _, string in self._automaton.iter(text)}


class _PatternFilter:
    """:func:`may_match` for every pattern asked about so far: their required strings in one
    :class:`Finder`, and the strings present in each of the texts asked about lately (the
    recognizers all ask about the same texts)."""

    def __init__(self) -> None:
        self._required: dict[int, tuple[re.Pattern[str], _Strings | None]] = {}
        # the strings of the patterns so far, found in a text (None: unsafe, test nothing);
        # None until needed, made again when a pattern is added
        self._present: PerText[set[str] | None] | None = None
        self._lock = threading.Lock()  # patterns are added by whichever thread meets them first

    def required_of(self, pattern: re.Pattern[str]) -> _Strings | None:
        entry = self._required.get(id(pattern))
        if entry is None or entry[0] is not pattern:
            required = required_grams(pattern, common_word_frequencies(WORDS), WORDS)
            with self._lock:
                entry = self._required[id(pattern)] = (pattern, required)
                self._present = None
        return entry[1]

    def present(self, text: str) -> set[str] | None:
        """The required strings in ``text`` shaped (None: an unsafe text, test nothing)."""
        present = self._present
        if present is None:
            with self._lock:
                finder = Finder(
                    s for _, required in self._required.values() for s in required or ()
                )
                present = self._present = PerText(
                    lambda text: finder.present(shape(text)) if is_safe(text) else None
                )
        return present(text)


_FILTER = _PatternFilter()


def may_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only if ``pattern`` cannot match anywhere in ``text`` (a cheap exact test).

    The pattern's required strings (shaped alphabet) are looked up among the strings the
    text holds, found once per text for all patterns. They are kept per pattern object (by
    id: hashing a compiled pattern hashes its whole code), so ``pattern`` should be a
    module-level constant.
    """
    required = _FILTER.required_of(pattern)
    if required is None:
        return True
    present = _FILTER.present(text)
    return present is None or not required.isdisjoint(present)
