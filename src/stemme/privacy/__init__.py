"""Detection and anonymisation of personal data (Presidio's split: recognizers -> spans -> operators).

Public interface (the understanding pipeline, the inbox and imports rely on exactly this):

    detect(text, language=None) -> list[Span]    # sorted, non-overlapping, offsets into text
    redact(text, spans=None, operator="tag", pseudonymiser=None) -> str
    Pseudonymiser(key, scope)                    # consistent <PHONE_1> within one conversation
"""

from stemme.privacy.types import ENTITY_TYPES, Span

__all__ = ["ENTITY_TYPES", "Span"]
