"""The understanding pipeline: personal data and language → redaction → triage → district.

Order and why:

1. **personal data and language** together (``stemme.privacy.Detection``): the
   recognizers that need no language first, then the language of the text without what
   they found, then the phone numbers, read by the countries of the language;
2. **redaction** (``redact``) next: everything after it reads the redacted text, so
   personal data never reaches the triage model or its reasons;
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
from stemme.understanding.language import LanguageResult, detect_languages
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


def _privacy() -> tuple[Callable[..., Any], Callable[..., str]]:
    """privacy.Detection and privacy.redact, imported when first needed."""
    from stemme import privacy

    detection: Any = getattr(privacy, "Detection", None)
    redact: Any = getattr(privacy, "redact", None)
    if detection is None or redact is None:
        raise PrivacyUnavailableError("stemme.privacy mangler Detection og redact()")
    return detection, redact


def _language_and_personal_data(
    texts: Sequence[str], detection_of: Callable[..., Any]
) -> tuple[list[LanguageResult], list[list[Span]]]:
    """The language of each text and the personal data in it.

    The recognizers that need no language run first; lingua then reads each text without
    the personal data they found (a name or an e-mail address says nothing about the
    language: "Mvh Gry Sellæg" read Danish), and the phone numbers are read last, by the
    countries of the language.
    """
    detection = detection_of(texts)
    languages = detect_languages(detection.masked())
    return languages, detection.finish([language.code for language in languages])


def redact_text(text: str) -> str:
    """Only the redaction stage (with language detection first): the redacted text."""
    detection_of, redact = _privacy()
    _, (spans,) = _language_and_personal_data([text], detection_of)
    return redact(text, spans=spans, operator="tag")


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
    detection_of, redact = _privacy()
    languages, entities = _language_and_personal_data(texts, detection_of)
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
