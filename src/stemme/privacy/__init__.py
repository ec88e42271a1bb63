"""Detection and anonymisation of personal data (recognizers -> spans -> operators).

This follows Presidio's split: recognizers return scored spans, operators transform them.

Public interface (the understanding pipeline, the inbox and imports rely on exactly this):

    detect(text, language=None) -> list[Span]    # sorted, non-overlapping, offsets into text
    detect_many(texts, languages) -> list[list[Span]]   # the same for a batch, faster
    Detection(texts).masked() / .finish(languages)    # detect_many in two steps (see there)
    redact(text, spans=None, operator="tag", pseudonymiser=None) -> str
    Pseudonymiser(key, scope)                    # consistent <PHONE_1> within one conversation

Recognizers are small functions ``(text, language) -> Iterable[Span]`` registered by name in
``RECOGNIZERS``; they use validated patterns (python-stdnum, phonenumbers, ipaddress), name lists
and context words, and no model or network. Operators: "tag" (``<PHONE>``), "mask" (every letter
and digit becomes ``*``) and "pseudonymise" (``<PHONE_1>``, keyed by HMAC-SHA256).
"""

from stemme.privacy.engine import Detection, detect, detect_many
from stemme.privacy.operators import OPERATORS, Pseudonymiser, redact
from stemme.privacy.registry import RECOGNIZERS, Recognizer
from stemme.privacy.types import ENTITY_TYPES, Span

__all__ = [
    "ENTITY_TYPES",
    "OPERATORS",
    "RECOGNIZERS",
    "Detection",
    "Pseudonymiser",
    "Recognizer",
    "Span",
    "detect",
    "detect_many",
    "redact",
]
