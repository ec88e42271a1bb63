"""detect(): run every recognizer, drop spans inside operator tags, resolve overlaps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
    if not text:
        return []
    tags = [m.span() for m in TAG_RE.finditer(text)] if "<" in text else []
    found: list[list[Span]] = []
    phones: list[Span] | None = None  # the phone recognizer runs last, its spans stay in place
    for recognizer in (recognizers or RECOGNIZERS).values():
        if recognizer.find is find_phones and phones is None:
            phones = []
            found.append(phones)
            continue
        found.append(_valid(recognizer.find(text, language), text, tags))
    if phones is not None:
        covered = [(s.start, s.end) for spans in found for s in spans if s.score > _OUTRANKS_PHONE]
        phones.extend(_valid(find_phones(text, language, covered), text, tags))
    return resolve(span for spans in found for span in spans)


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
