"""detect(): run every recognizer, drop spans inside operator tags, resolve overlaps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stemme.privacy._text import TAG_RE
from stemme.privacy.registry import RECOGNIZERS, Recognizer
from stemme.privacy.types import Span


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
    found: list[Span] = []
    for recognizer in (recognizers or RECOGNIZERS).values():
        for span in recognizer.find(text, language):
            if not 0 <= span.start < span.end <= len(text):
                continue
            if tags and any(s < span.end and span.start < e for s, e in tags):
                continue
            found.append(span)
    return resolve(found)
