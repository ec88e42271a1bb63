"""detect(): run every recognizer, drop spans inside operator tags, resolve overlaps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from stemme.privacy._text import TAG_RE
from stemme.privacy.phone import find_phones
from stemme.privacy.registry import RECOGNIZERS, Recognizer
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
    """:func:`detect` of each text (``languages``: the language of each).

    One recognizer after the other runs over all the texts, rather than text by text: each
    recognizer's patterns and tables then stay in the CPU caches while it works through
    the batch (about 5 % faster on a batch of a few hundred messages).
    """
    chosen = list((recognizers or RECOGNIZERS).values())
    tags = [[m.span() for m in TAG_RE.finditer(text)] if "<" in text else [] for text in texts]
    found: list[list[list[Span]]] = [[] for _ in texts]
    phones_at: int | None = None  # the phone recognizer runs last, its spans stay in place
    for position, recognizer in enumerate(chosen):
        if recognizer.find is find_phones:
            phones_at = position
            continue
        find = recognizer.find
        for text, language, spans, text_tags in zip(texts, languages, found, tags, strict=True):
            spans.append(_valid(find(text, language), text, text_tags) if text else [])
    results: list[list[Span]] = []
    for text, language, spans, text_tags in zip(texts, languages, found, tags, strict=True):
        if phones_at is not None:
            covered = [
                (s.start, s.end) for part in spans for s in part if s.score > _OUTRANKS_PHONE
            ]
            phones = _valid(find_phones(text, language, covered), text, text_tags) if text else []
            spans.insert(phones_at, phones)
        results.append(resolve(span for part in spans for span in part))
    return results


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
