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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stemme.errors import ConfigurationError
from stemme.understanding.district import EXCLUDED_ENTITY_TYPES, find_district
from stemme.understanding.language import detect_language, detect_languages
from stemme.understanding.triage import TriageResult, triage_many

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


def _privacy(detector: str = "detect") -> tuple[Callable[..., Any], Callable[..., str]]:
    """privacy's ``detector`` (detect or detect_many) and redact, imported when first needed."""
    from stemme import privacy

    detect: Any = getattr(privacy, detector, None)
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
    return analyze_many([text], [context or AnalysisContext()])[0]


def analyze_many(
    texts: Sequence[str], contexts: Sequence[AnalysisContext] | None = None
) -> list[Analysis]:
    """:func:`analyze` of each text (``contexts``: one per text, default none).

    The stages run one after the other over the whole batch rather than message by message:
    each stage's tables (lingua's models, the patterns, the triage weights) then stay in the
    CPU caches, which makes a batch of a few hundred messages about a quarter faster.
    """
    contexts = contexts or [AnalysisContext()] * len(texts)
    detect_many, redact = _privacy("detect_many")
    languages = detect_languages(texts)
    entities = detect_many(texts, [language.code for language in languages])
    redacted = [
        redact(text, spans=spans, operator="tag")
        for text, spans in zip(texts, entities, strict=True)
    ]
    triaged = _triage_many(redacted, [lang.code for lang in languages], contexts)
    results = []
    for text, context, language, spans, clean, triaged_one in zip(
        texts, contexts, languages, entities, redacted, triaged, strict=True
    ):
        excluded = [(s.start, s.end) for s in spans if s.type in EXCLUDED_ENTITY_TYPES]
        district = find_district(text, excluded, context.channel_district)
        results.append(
            Analysis(
                lang=language.code,
                lang_confidence=language.confidence,
                entities=spans,
                redacted=clean,
                category=triaged_one.category,
                urgent=triaged_one.urgent,
                reasons=list(triaged_one.reasons),
                category_scores=triaged_one.scores,
                district=district.district,
                district_source=district.source,
                place=district.place,
            )
        )
    return results


def _triage_many(
    redacted: list[str], langs: list[str], contexts: Sequence[AnalysisContext]
) -> list[TriageResult]:
    """Triage of each text, with the model for the contexts that want it."""
    results: dict[int, TriageResult] = {}
    for use_model in (True, False):
        chosen = [i for i, context in enumerate(contexts) if context.use_model is use_model]
        if chosen:
            triaged = triage_many(
                [redacted[i] for i in chosen], [langs[i] for i in chosen], use_model
            )
            results.update(zip(chosen, triaged, strict=True))
    return [results[i] for i in range(len(redacted))]
