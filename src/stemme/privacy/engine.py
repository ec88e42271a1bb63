"""detect(): run every recognizer, drop spans inside operator tags, resolve overlaps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from stemme.privacy._text import TAG_RE, blanked
from stemme.privacy.phone import find_phones
from stemme.privacy.registry import RECOGNIZERS, FindFunction, Recognizer
from stemme.privacy.types import Span

# A phone number (score at most 0.9) never wins against an overlapping span scored above
# this, so the phone recognizer (the costliest) runs last and skips the digits such spans
# already cover. Its spans keep their place in the list, so ties resolve as before.
_OUTRANKS_PHONE = 0.9


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans sorted by start: a higher score wins, then the longer span."""
    chosen: list[Span] = []
    taken: list[tuple[int, int]] = []
    ranked = sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start))
    for span in ranked:
        if span.end <= span.start:
            continue
        if any(start < span.end and span.start < end for start, end in taken):
            continue
        chosen.append(span)
        taken.append((span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


def detect(
    text: str,
    language: str | None = None,
    recognizers: Mapping[str, Recognizer] | None = None,
) -> list[Span]:
    """Personal data in ``text``: sorted, non-overlapping spans with offsets into ``text``."""
    return detect_many([text], [language], recognizers)[0]


def detect_many(
    texts: Sequence[str],
    languages: Sequence[str | None],
    recognizers: Mapping[str, Recognizer] | None = None,
) -> list[list[Span]]:
    """:func:`detect` of each text (``languages``: the language of each)."""
    return Detection(texts, recognizers).finish(languages)


class Detection:
    """:func:`detect_many` in two steps, for a caller that learns the language of each text
    best from the text without its personal data (names and addresses say nothing about the
    language, and an n-gram model pays for every letter it reads).

    First every recognizer that does not need the language runs (:meth:`masked` then gives
    each text with what they found blanked out, same length); then those that do (phone
    numbers, read by the countries of the language), and overlaps are resolved
    (:meth:`finish`). One recognizer after the other runs over all the texts, rather than
    text by text: each recognizer's patterns and tables then stay in the CPU caches while
    it works through the batch (about 5 % faster on a batch of a few hundred messages).
    """

    def __init__(
        self, texts: Sequence[str], recognizers: Mapping[str, Recognizer] | None = None
    ) -> None:
        self.texts = list(texts)
        chosen = list((recognizers or RECOGNIZERS).values())
        self._tags = [[m.span() for m in TAG_RE.finditer(t)] if "<" in t else [] for t in texts]
        # per text, per recognizer (in registry order, which breaks ties): its spans (most
        # find nothing: one shared empty tuple, not a list each)
        self._found: list[list[Sequence[Span]]] = [[()] * len(chosen) for _ in self.texts]
        self._later = [(i, r) for i, r in enumerate(chosen) if r.uses_language]
        for position, recognizer in enumerate(chosen):
            if not recognizer.uses_language:
                self._run(position, recognizer.find, [None] * len(self.texts))

    def _run(self, position: int, find: FindFunction, languages: Sequence[str | None]) -> None:
        rows = zip(self.texts, languages, self._found, self._tags, strict=True)
        for text, language, found, tags in rows:
            if text and (spans := _valid(find(text, language), text, tags)):
                found[position] = spans

    def masked(self) -> list[str]:
        """Each text with the personal data found so far replaced by spaces."""
        return [
            blanked(text, [(s.start, s.end) for spans in found for s in spans])
            for text, found in zip(self.texts, self._found, strict=True)
        ]

    def finish(self, languages: Sequence[str | None]) -> list[list[Span]]:
        """The personal data in each text (``languages``: the language of each): sorted,
        non-overlapping spans with offsets into the text."""
        for position, recognizer in self._later:
            if recognizer.find is find_phones:
                # the phone recognizer (the costliest) skips what outranks any phone number
                self._phones(position, languages)
            else:
                self._run(position, recognizer.find, languages)
        return [resolve(s for spans in found for s in spans) for found in self._found]

    def _phones(self, position: int, languages: Sequence[str | None]) -> None:
        rows = zip(self.texts, languages, self._found, self._tags, strict=True)
        for text, language, found, tags in rows:
            if text:
                covered = [(s.start, s.end) for f in found for s in f if s.score > _OUTRANKS_PHONE]
                if spans := _valid(find_phones(text, language, covered), text, tags):
                    found[position] = spans


def _valid(spans: Iterable[Span], text: str, tags: list[tuple[int, int]]) -> list[Span]:
    """The spans inside ``text`` that do not overlap an operator tag."""
    kept: list[Span] = []
    for span in spans:
        if not 0 <= span.start < span.end <= len(text):
            continue
        if tags and any(s < span.end and span.start < e for s, e in tags):
            continue
        kept.append(span)
    return kept
