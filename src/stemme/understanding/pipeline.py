"""The understanding pipeline: language → redaction → triage → district, one call.

Order and why:

1. **language** first, so the privacy recognizers can pick the right national patterns;
2. **redaction** (``stemme.privacy.detect`` + ``redact``) next: everything after it reads
   the redacted text, so personal data never reaches the triage model or its reasons;
3. **triage** on the redacted text. Names are not needed for triage (the rules key on
   situations, not on who is involved), and the redaction tags are folded to one token per
   type so "<PERSON_1>" and "<PERSON>" look alike to the model;
4. **district** on the original text with the detected person names, e-mail addresses and
   user names masked out (so "Eirik Hovden" is not read as the place Hovden), falling back
   to the district of the channel only when the caller supplies one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stemme.errors import ConfigurationError
from stemme.understanding.district import EXCLUDED_ENTITY_TYPES, find_district
from stemme.understanding.language import detect_language
from stemme.understanding.triage import triage

if TYPE_CHECKING:
    from stemme.privacy.types import Span


class PrivacyUnavailableError(ConfigurationError):
    """stemme.privacy does not (yet) provide detect() and redact()."""


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    """What the caller knows about the message besides its text."""

    channel: str | None = None
    channel_district: str | None = None
    conversation_id: str | None = None
    use_model: bool = True


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the pipeline found out about one message."""

    lang: str
    lang_confidence: float
    entities: list[Span]
    redacted: str
    category: str
    urgent: bool
    reasons: list[str]
    category_scores: dict[str, float] = field(default_factory=dict)
    district: str | None = None
    district_source: str | None = None
    place: str | None = None


def _privacy() -> tuple[Callable[..., list[Span]], Callable[..., str]]:
    """privacy.detect and privacy.redact, imported when first needed."""
    from stemme import privacy

    detect: Any = getattr(privacy, "detect", None)
    redact: Any = getattr(privacy, "redact", None)
    if detect is None or redact is None:
        raise PrivacyUnavailableError("stemme.privacy mangler detect() og redact()")
    return detect, redact


def redact_text(text: str) -> str:
    """Only the redaction stage (with language detection first): the redacted text."""
    detect, redact = _privacy()
    language = detect_language(text)
    return redact(text, spans=list(detect(text, language=language.code)), operator="tag")


def analyze(text: str, context: AnalysisContext | None = None) -> Analysis:
    """Language, personal data, redacted text, triage and district of one message."""
    context = context or AnalysisContext()
    language = detect_language(text)
    detect, redact = _privacy()
    entities = list(detect(text, language=language.code))
    redacted = redact(text, spans=entities, operator="tag")
    result = triage(redacted, use_model=context.use_model, lang=language.code)
    excluded = [(s.start, s.end) for s in entities if s.type in EXCLUDED_ENTITY_TYPES]
    district = find_district(text, excluded, context.channel_district)
    return Analysis(
        lang=language.code,
        lang_confidence=language.confidence,
        entities=entities,
        redacted=redacted,
        category=result.category,
        urgent=result.urgent,
        reasons=list(result.reasons),
        category_scores=result.scores,
        district=district.district,
        district_source=district.source,
        place=district.place,
    )
